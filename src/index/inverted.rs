//! Inverted index: for each dictionary id, the bitmap of docs holding it.

use roaring::RoaringBitmap;

use super::bitmaps::{self, Bitmaps};
use super::error::Result;

/// Builds the block for `entries` ((doc, id) pairs in doc order): a counting
/// sort groups the docs of each id, then each group becomes one bitmap,
/// written as soon as it is built.
pub fn build<I>(entries: impl Fn() -> I, cardinality: usize) -> Result<Vec<u8>>
where
    I: Iterator<Item = (u32, u32)>,
{
    let mut next = vec![0u32; cardinality + 1];
    for (_, id) in entries() {
        next[id as usize + 1] += 1;
    }
    for i in 1..next.len() {
        next[i] += next[i - 1];
    }
    let bounds = next.clone();
    let mut docs = vec![0u32; bounds[cardinality] as usize];
    for (doc, id) in entries() {
        let slot = &mut next[id as usize];
        docs[*slot as usize] = doc;
        *slot += 1;
    }
    let mut out = bitmaps::Writer::new(cardinality);
    for id in 0..cardinality {
        let mut postings = docs[bounds[id] as usize..bounds[id + 1] as usize].to_vec();
        // A multi-value doc may hold an id twice.
        postings.dedup();
        let bitmap = RoaringBitmap::from_sorted_iter(postings).unwrap_or_default();
        out.push(&bitmap);
    }
    out.finish()
}

/// A stored inverted index.
#[derive(Debug, Clone, Copy)]
pub struct InvertedIndex<'a> {
    bitmaps: Bitmaps<'a>,
}

impl<'a> InvertedIndex<'a> {
    pub fn parse(block: &'a [u8], cardinality: usize) -> Result<InvertedIndex<'a>> {
        Ok(InvertedIndex {
            bitmaps: Bitmaps::parse(block, cardinality)?,
        })
    }

    pub fn validate(&self) -> Result<()> {
        self.bitmaps.validate()
    }

    /// Docs holding dictionary id `id`.
    pub fn docs(&self, id: u32) -> Result<RoaringBitmap> {
        self.bitmaps.get(id as usize)
    }

    /// Docs holding any id in `first..=last`.
    pub fn docs_in(&self, first: u32, last: u32) -> Result<RoaringBitmap> {
        self.bitmaps.union(first as usize, last as usize)
    }
}
