//! Sorted index: when a column's values never decrease in doc order, the docs
//! of dictionary id `i` are exactly `start[i]..start[i+1]`.

use std::ops::Range;

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
    starts
        .iter()
        .flat_map(|start| start.to_le_bytes())
        .collect()
}

/// A stored sorted index.
#[derive(Debug, Clone, Copy)]
pub struct SortedIndex<'a> {
    starts: &'a [u32],
}

impl<'a> SortedIndex<'a> {
    pub fn parse(
        block: &'a [u8],
        cardinality: usize,
        num_docs: usize,
    ) -> Result<SortedIndex<'a>, String> {
        let starts: &[u32] = bytemuck::try_cast_slice(block)
            .map_err(|err| format!("misaligned sorted index: {err}"))?;
        if starts.len() != cardinality + 1 {
            return Err(format!(
                "{} entries for {} dictionary ids",
                starts.len(),
                cardinality
            ));
        }
        if starts.last().copied() != Some(num_docs as u32) {
            return Err("doc ranges do not end at the doc count".into());
        }
        Ok(SortedIndex { starts })
    }

    /// The full check done once when a segment opens: ranges in order.
    pub fn validate(&self) -> Result<(), String> {
        if self.starts.windows(2).any(|pair| pair[0] > pair[1]) {
            return Err("doc ranges are out of order".into());
        }
        Ok(())
    }

    /// Docs holding ids `first..=last`.
    pub fn docs(&self, first: u32, last: u32) -> Range<u32> {
        self.starts[first as usize]..self.starts[last as usize + 1]
    }
}
