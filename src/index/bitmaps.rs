//! A block of roaring bitmaps: the variable-width layout of segment values
//! (`offset:u32{n+1} pad8 data`, see `segment::stored::Var`), bitmap `i`
//! being the portable serialization in `data[offset[i]..offset[i+1]]`.

use roaring::RoaringBitmap;

use crate::segment::stored::{encode_var, Var};

/// Serializes `bitmaps` as one block.
pub fn encode(bitmaps: &[RoaringBitmap]) -> Result<Vec<u8>, String> {
    let mut writer = Writer::new(bitmaps.len());
    for bitmap in bitmaps {
        writer.push(bitmap);
    }
    writer.finish()
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
        // Writing into a Vec cannot fail.
        let _ = bitmap.serialize_into(&mut self.data);
        self.offsets.push(self.data.len());
    }

    pub fn finish(self) -> Result<Vec<u8>, String> {
        encode_var(self.offsets.into_iter(), &self.data)
    }
}

/// Reads bitmaps out of a block.
#[derive(Debug, Clone, Copy)]
pub struct Bitmaps<'a> {
    serialized: Var<'a>,
}

impl<'a> Bitmaps<'a> {
    /// Checks the block's size for `count` bitmaps (O(1)).
    pub fn parse(block: &'a [u8], count: usize) -> Result<Bitmaps<'a>, String> {
        Ok(Bitmaps {
            serialized: Var::parse(block, count, false)?,
        })
    }

    /// The full check done once when a segment opens: offsets in order.
    pub fn validate(&self) -> Result<(), String> {
        self.serialized.validate()
    }

    pub fn len(&self) -> usize {
        self.serialized.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bitmap `index`, deserialized (and validated by the roaring crate).
    pub fn get(&self, index: usize) -> Result<RoaringBitmap, String> {
        RoaringBitmap::deserialize_from(self.serialized.bytes_at(index))
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
