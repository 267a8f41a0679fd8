//! A block of roaring bitmaps: `offset:u32{n+1} pad8 bitmap*`, bitmap `i`
//! being the portable serialization in `data[offset[i]..offset[i+1]]`.

use roaring::RoaringBitmap;

/// Serializes `bitmaps` as one block.
pub fn encode(bitmaps: &[RoaringBitmap]) -> Vec<u8> {
    let mut writer = Writer::new(bitmaps.len());
    for bitmap in bitmaps {
        writer.push(bitmap);
    }
    writer.finish()
}

/// Serializes bitmaps one at a time into a block.
pub struct Writer {
    offsets: Vec<u32>,
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
        // Writing into a Vec cannot fail.
        let _ = bitmap.serialize_into(&mut self.data);
        self.offsets.push(self.data.len() as u32);
    }

    pub fn finish(self) -> Vec<u8> {
        let header = self.offsets.len() * 4;
        let mut out = Vec::with_capacity(header.next_multiple_of(8) + self.data.len());
        for offset in &self.offsets {
            out.extend_from_slice(&offset.to_le_bytes());
        }
        out.resize(header.next_multiple_of(8), 0);
        out.extend_from_slice(&self.data);
        out
    }
}

/// Reads bitmaps out of a block.
#[derive(Debug, Clone, Copy)]
pub struct Bitmaps<'a> {
    offsets: &'a [u32],
    data: &'a [u8],
}

impl<'a> Bitmaps<'a> {
    /// Checks the block's structure for `count` bitmaps.
    pub fn parse(block: &'a [u8], count: usize) -> Result<Bitmaps<'a>, String> {
        let header = (count + 1) * 4;
        let data_start = header.next_multiple_of(8);
        if block.len() < data_start {
            return Err(format!(
                "{} bytes cannot hold {count} bitmap offsets",
                block.len()
            ));
        }
        let offsets: &[u32] = bytemuck::try_cast_slice(&block[..header])
            .map_err(|err| format!("misaligned bitmap offsets: {err}"))?;
        let data = &block[data_start..];
        if offsets[count] as usize != data.len() {
            return Err("bitmap offsets do not end at the data length".into());
        }
        Ok(Bitmaps { offsets, data })
    }

    /// The full check done once when a segment opens: offsets in order.
    pub fn validate(&self) -> Result<(), String> {
        if self.offsets[0] != 0 || self.offsets.windows(2).any(|pair| pair[0] > pair[1]) {
            return Err("bitmap offsets are out of order".into());
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bitmap `index`, deserialized (and validated by the roaring crate).
    pub fn get(&self, index: usize) -> Result<RoaringBitmap, String> {
        let start = self.offsets[index] as usize;
        let end = self.offsets[index + 1] as usize;
        RoaringBitmap::deserialize_from(&self.data[start..end])
            .map_err(|err| format!("bitmap {index}: {err}"))
    }

    /// The union of bitmaps `first..=last`.
    pub fn union(&self, first: usize, last: usize) -> Result<RoaringBitmap, String> {
        let mut out = RoaringBitmap::new();
        for index in first..=last {
            out |= self.get(index)?;
        }
        Ok(out)
    }
}
