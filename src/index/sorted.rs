//! Sorted index: when a column's values never decrease in doc order, the docs
//! of dictionary id `i` are exactly `start[i]..start[i+1]`. The starts are
//! frame-of-reference packed, so a nearly unique sorted column (a timestamp)
//! costs a few bits per doc.

use std::ops::Range;

use super::error::{Error, Result};
use crate::codec::forpack::{self, ForPacked};

/// Builds the start table from ids in doc order; `None` if they decrease.
pub fn build(
    ids: impl IntoIterator<Item = u32>,
    cardinality: usize,
    num_docs: usize,
) -> Option<Vec<u32>> {
    let mut starts = vec![0u32; cardinality + 1];
    let mut previous = 0u32;
    let mut counts = vec![0u32; cardinality];
    for id in ids {
        if id < previous {
            return None;
        }
        previous = id;
        counts[id as usize] += 1;
    }
    let mut total = 0u32;
    for (id, count) in counts.iter().enumerate() {
        starts[id] = total;
        total += count;
    }
    starts[cardinality] = total;
    debug_assert_eq!(total as usize, num_docs);
    Some(starts)
}

pub fn encode(starts: &[u32]) -> Vec<u8> {
    let keys: Vec<u64> = starts.iter().map(|&start| start as u64).collect();
    forpack::encode(&keys)
}

/// A stored sorted index.
#[derive(Debug, Clone, Copy)]
pub struct SortedIndex<'a> {
    starts: ForPacked<'a>,
}

impl<'a> SortedIndex<'a> {
    pub fn parse(block: &'a [u8], cardinality: usize, num_docs: usize) -> Result<SortedIndex<'a>> {
        let len = cardinality.checked_add(1).ok_or_else(|| {
            Error::Malformed("the cardinality leaves no room for doc ranges".into())
        })?;
        let starts = ForPacked::parse(block, len)?;
        if starts.get(cardinality) != num_docs as u64 {
            return Err(Error::Malformed(
                "doc ranges do not end at the doc count".into(),
            ));
        }
        Ok(SortedIndex { starts })
    }

    /// The full check done once when a segment opens: ranges in order.
    pub fn validate(&self) -> Result<()> {
        self.starts.validate()?;
        let mut previous = 0u64;
        let mut ordered = true;
        self.starts.for_each_block(|_, block| {
            for &start in block {
                ordered &= start >= previous;
                previous = start;
            }
        });
        if ordered {
            Ok(())
        } else {
            Err(Error::Malformed("doc ranges are out of order".into()))
        }
    }

    /// Docs holding ids `first..=last`.
    pub fn docs(&self, first: u32, last: u32) -> Range<u32> {
        self.starts.get(first as usize) as u32..self.starts.get(last as usize + 1) as u32
    }

    /// The dictionary id of `doc`.
    pub fn id_of(&self, doc: u32) -> u32 {
        match self.starts.binary_search(doc as u64) {
            // Several ids could start at `doc` only if some were empty,
            // which never happens: every id comes from a doc.
            Ok(id) => id as u32,
            Err(insertion) => insertion.saturating_sub(1) as u32,
        }
    }
}
