//! Inverted index: for each dictionary id, the bitmap of docs holding it.

use roaring::RoaringBitmap;

use super::bitmaps::{self, Bitmaps};

/// Builds posting bitmaps; docs must be added in increasing order.
pub struct InvertedBuilder {
    postings: Vec<RoaringBitmap>,
}

impl InvertedBuilder {
    pub fn new(cardinality: usize) -> InvertedBuilder {
        InvertedBuilder {
            postings: vec![RoaringBitmap::new(); cardinality],
        }
    }

    /// Records that `doc` holds `id` (repeats within a doc are ignored).
    #[inline]
    pub fn add(&mut self, doc: u32, id: u32) {
        self.postings[id as usize].push(doc);
    }

    pub fn into_bitmaps(self) -> Vec<RoaringBitmap> {
        self.postings
    }

    pub fn encode(&self) -> Vec<u8> {
        bitmaps::encode(&self.postings)
    }
}

/// A stored inverted index.
#[derive(Debug, Clone, Copy)]
pub struct InvertedIndex<'a> {
    bitmaps: Bitmaps<'a>,
}

impl<'a> InvertedIndex<'a> {
    pub fn parse(block: &'a [u8], cardinality: usize) -> Result<InvertedIndex<'a>, String> {
        Ok(InvertedIndex {
            bitmaps: Bitmaps::parse(block, cardinality)?,
        })
    }

    pub fn validate(&self) -> Result<(), String> {
        self.bitmaps.validate()
    }

    /// Docs holding dictionary id `id`.
    pub fn docs(&self, id: u32) -> Result<RoaringBitmap, String> {
        self.bitmaps.get(id as usize)
    }

    /// Docs holding any id in `first..=last`.
    pub fn docs_in(&self, first: u32, last: u32) -> Result<RoaringBitmap, String> {
        self.bitmaps.union(first as usize, last as usize)
    }
}
