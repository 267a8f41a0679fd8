//! A block of doc-id sets: the variable-width layout of segment values
//! (`offset:u32{n+1} pad8 data`, see `codec::var::Var`), set `i` being
//! `data[offset[i]..offset[i+1]]` in whichever of two forms is smaller:
//!
//! ```text
//! set    := roaring                                  portable roaring bitmap (starts 0x3A or 0x3B)
//!         | 0xFF width:u8 count:u32 base:u32 bits*   sorted docs `base + offset`, offsets of
//!                                                    `width` bits packed LSB first
//! ```
//!
//! The packed form is for small sets spread over many docs (the postings
//! of a user id among millions of rows), where roaring spends about eight
//! bytes of container header per doc.

use roaring::RoaringBitmap;

use super::error::{Error, Result};
use crate::codec::var::{encode_var, Var};

/// Serializes `bitmaps` as one block.
pub fn encode(bitmaps: &[RoaringBitmap]) -> Result<Vec<u8>> {
    let mut writer = Writer::new(bitmaps.len());
    for bitmap in bitmaps {
        writer.push(bitmap);
    }
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sets_round_trip_in_either_form(sets in proptest::collection::vec(proptest::collection::btree_set(any::<u32>(), 0..200), 0..20), dense in 0u32..70_000) {
            let mut bitmaps: Vec<RoaringBitmap> = sets.iter().map(|set| set.iter().copied().collect()).collect();
            // A dense run, where roaring is smaller.
            bitmaps.push((0..dense).collect());
            let block = encode(&bitmaps).unwrap();
            let aligned: Vec<u64> = block.chunks(8).map(|c| { let mut w = [0u8; 8]; w[..c.len()].copy_from_slice(c); u64::from_le_bytes(w) }).collect();
            let bytes = &bytemuck::cast_slice::<u64, u8>(&aligned)[..block.len()];
            let read = Bitmaps::parse(bytes, bitmaps.len()).unwrap();
            read.validate().unwrap();
            for (index, bitmap) in bitmaps.iter().enumerate() {
                prop_assert_eq!(&read.get(index).unwrap(), bitmap);
            }
        }
    }

    #[test]
    fn sparse_sets_pack_smaller_than_roaring() {
        let sparse: RoaringBitmap = (0..22u32).map(|i| i * 227_000).collect();
        let block = encode(std::slice::from_ref(&sparse)).unwrap();
        assert!(
            block.len() < sparse.serialized_size() / 2,
            "{} vs {}",
            block.len(),
            sparse.serialized_size()
        );
    }
}

/// Serializes bitmaps one at a time into a block.
pub struct Writer {
    offsets: Vec<usize>,
    data: Vec<u8>,
}

impl Writer {
    pub fn new(count: usize) -> Writer {
        let mut offsets = Vec::with_capacity(count + 1);
        offsets.push(0);
        Writer {
            offsets,
            data: Vec::new(),
        }
    }

    pub fn push(&mut self, bitmap: &RoaringBitmap) {
        match (bitmap.min(), bitmap.max()) {
            (Some(min), Some(max))
                if packed_len(bitmap.len(), max - min) < bitmap.serialized_size() =>
            {
                write_packed(
                    bitmap,
                    min,
                    32 - (max - min).leading_zeros(),
                    &mut self.data,
                );
            }
            // Writing into a Vec cannot fail.
            _ => {
                let _ = bitmap.serialize_into(&mut self.data);
            }
        }
        self.offsets.push(self.data.len());
    }

    pub fn finish(self) -> Result<Vec<u8>> {
        Ok(encode_var(self.offsets.into_iter(), &self.data)?)
    }
}

const PACKED: u8 = 0xFF;
const PACKED_HEADER: usize = 10;

fn packed_len(count: u64, span: u32) -> usize {
    let width = (32 - span.leading_zeros()) as u64;
    PACKED_HEADER + (count * width).div_ceil(8) as usize
}

fn write_packed(bitmap: &RoaringBitmap, base: u32, width: u32, out: &mut Vec<u8>) {
    out.push(PACKED);
    out.push(width as u8);
    out.extend_from_slice(&(bitmap.len() as u32).to_le_bytes());
    out.extend_from_slice(&base.to_le_bytes());
    let start = out.len();
    out.resize(
        start + (bitmap.len() * width as u64).div_ceil(8) as usize,
        0,
    );
    let bits = &mut out[start..];
    for (index, doc) in bitmap.iter().enumerate() {
        let value = (doc - base) as u64;
        let first = index as u64 * width as u64;
        for bit in 0..width as u64 {
            if value >> bit & 1 == 1 {
                let position = first + bit;
                bits[(position / 8) as usize] |= 1 << (position % 8);
            }
        }
    }
}

/// The packed set `index` of a block.
fn read_packed(bytes: &[u8], index: usize) -> Result<RoaringBitmap> {
    let malformed = |reason: String| Error::Bitmap { index, reason };
    if bytes.len() < PACKED_HEADER {
        return Err(malformed("packed doc set shorter than its header".into()));
    }
    let width = bytes[1] as u32;
    let count = u32::from_le_bytes([bytes[2], bytes[3], bytes[4], bytes[5]]) as u64;
    let base = u32::from_le_bytes([bytes[6], bytes[7], bytes[8], bytes[9]]);
    let bits = &bytes[PACKED_HEADER..];
    if width > 32 || bits.len() as u64 != (count * width as u64).div_ceil(8) {
        return Err(malformed(format!(
            "packed doc set of {count} docs at {width} bits has {} bytes",
            bits.len()
        )));
    }
    let mut docs = Vec::with_capacity(count as usize);
    for index in 0..count {
        let position = index * width as u64;
        let mut window = [0u8; 8];
        let first = (position / 8) as usize;
        let available = bits.len().saturating_sub(first).min(8);
        window[..available].copy_from_slice(&bits[first..first + available]);
        let offset = (u64::from_le_bytes(window) >> (position % 8)) & ((1u64 << width) - 1);
        let doc = base
            .checked_add(offset as u32)
            .ok_or_else(|| malformed("packed doc id overflows".into()))?;
        docs.push(doc);
    }
    RoaringBitmap::from_sorted_iter(docs)
        .map_err(|_| malformed("packed doc ids are not in order".into()))
}

/// Reads bitmaps out of a block.
#[derive(Debug, Clone, Copy)]
pub struct Bitmaps<'a> {
    serialized: Var<'a>,
}

impl<'a> Bitmaps<'a> {
    /// Checks the block's size for `count` bitmaps (O(1)).
    pub fn parse(block: &'a [u8], count: usize) -> Result<Bitmaps<'a>> {
        Ok(Bitmaps {
            serialized: Var::parse(block, count, false)?,
        })
    }

    /// The full check done once when a segment opens: offsets in order.
    pub fn validate(&self) -> Result<()> {
        Ok(self.serialized.validate()?)
    }

    pub fn len(&self) -> usize {
        self.serialized.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Set `index` as a bitmap (validated while decoding).
    pub fn get(&self, index: usize) -> Result<RoaringBitmap> {
        let bytes = self.serialized.bytes_at(index);
        if bytes.first() == Some(&PACKED) {
            return read_packed(bytes, index);
        }
        RoaringBitmap::deserialize_from(bytes).map_err(|source| Error::Roaring { index, source })
    }

    /// The union of bitmaps `first..=last`.
    pub fn union(&self, first: usize, last: usize) -> Result<RoaringBitmap> {
        let mut out = RoaringBitmap::new();
        for index in first..=last {
            out |= self.get(index)?;
        }
        Ok(out)
    }
}
