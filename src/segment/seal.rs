//! Sealing: a [`MutableSegment`] becomes an immutable segment file.
//!
//! Dictionaries are sorted and ids remapped; when the table has a sorted
//! column, docs are reordered by it (a stable counting sort on its ids). The
//! columns then go through `writer.rs` one at a time.
//!
//! Peak memory beyond the mutable segment itself: the doc order and its
//! inverse (8 bytes per doc, only with a sorted column), plus, for the one
//! column being written, a copy of its ids or values in doc order, its
//! dictionary and remap table, and its largest block.

use std::path::{Path, PathBuf};

use roaring::RoaringBitmap;

use super::error::{BlockError, Result};
use super::format::SegmentMeta;
use super::mutable::{Forward, MutableColumn, MutableSegment, Store};
use super::types::Physical;
use super::values::{Values, VarValues};
use super::writer::{write_segment, ColumnData, DocIds, SealInfo};
use crate::sync::{Recover, RecoverRw};

/// A doc permutation: `old_of_new[new] = old` and its inverse.
pub(crate) struct Order {
    pub old_of_new: Vec<u32>,
    pub new_of_old: Vec<u32>,
}

impl Order {
    /// Docs ordered by their ids (stable: ties keep arrival order).
    pub fn by_ids(ids: &[u32], cardinality: usize) -> Order {
        let mut next = vec![0u32; cardinality + 1];
        for &id in ids {
            next[id as usize + 1] += 1;
        }
        for i in 1..next.len() {
            next[i] += next[i - 1];
        }
        let mut old_of_new = vec![0u32; ids.len()];
        let mut new_of_old = vec![0u32; ids.len()];
        for (old, &id) in ids.iter().enumerate() {
            let slot = &mut next[id as usize];
            old_of_new[*slot as usize] = old as u32;
            new_of_old[old] = *slot;
            *slot += 1;
        }
        Order {
            old_of_new,
            new_of_old,
        }
    }

    /// `nulls` (old doc ids) in the new order.
    pub fn remap_docs(order: Option<&Order>, nulls: &RoaringBitmap) -> RoaringBitmap {
        match order {
            None => nulls.clone(),
            Some(order) => nulls
                .iter()
                .map(|doc| order.new_of_old[doc as usize])
                .collect(),
        }
    }
}

/// Copies the first `len` values of a store.
fn store_values(store: &Store, len: usize, physical: Physical) -> Values {
    match store {
        Store::I32(v) => Values::I32(v.to_vec(len)),
        Store::I64(v) => Values::I64(v.to_vec(len)),
        Store::F32(v) => Values::F32(v.to_vec(len)),
        Store::F64(v) => Values::F64(v.to_vec(len)),
        Store::Var(v) => {
            let mut out = VarValues::new(physical == Physical::Str);
            v.for_each_slice(len, |_, slice| {
                for value in slice {
                    out.push(value);
                }
            });
            Values::Var(out)
        }
    }
}

impl MutableSegment {
    /// Writes the segment to `dir/<segment_name>.seg` and returns its path
    /// and footer. Appends wait while sealing runs.
    pub fn seal(&self, dir: &Path, info: &SealInfo) -> Result<(PathBuf, SegmentMeta)> {
        let _writer = self.writer.locked();
        let num_docs = self.num_docs();
        let order = self.doc_order(num_docs);
        write_segment(
            dir,
            self.spec(),
            num_docs,
            self.created_millis(),
            info,
            |index| {
                let column = &self.columns[index];
                let nulls = {
                    let stored = column.nulls.read_locked();
                    let mut visible = stored.clone();
                    visible.remove_range(num_docs as u32..);
                    Order::remap_docs(order.as_ref(), &visible)
                };
                Ok((column_data(column, num_docs, order.as_ref())?, nulls))
            },
        )
    }

    fn doc_order(&self, num_docs: usize) -> Option<Order> {
        let column = &self.columns[self.spec().sorted_column?];
        let (Forward::DictSv(ids), Some(dict)) = (&column.forward, &column.dict) else {
            return None;
        };
        let dictionary = store_values(&dict.values, dict.values.len(), column.spec.physical);
        let (sorted, remap) = dictionary.dictionary_encode();
        let ids: Vec<u32> = ids
            .to_vec(num_docs)
            .into_iter()
            .map(|id| remap[id as usize])
            .collect();
        Some(Order::by_ids(&ids, sorted.len()))
    }
}

fn column_data(
    column: &MutableColumn,
    num_docs: usize,
    order: Option<&Order>,
) -> std::result::Result<ColumnData, BlockError> {
    let physical = column.spec.physical;
    let old = |new: usize| order.map_or(new, |order| order.old_of_new[new] as usize);
    match (&column.forward, &column.dict) {
        (Forward::Raw(store), _) => {
            let values = store_values(store, num_docs, physical);
            let values = match order {
                Some(order) => values.gather(&order.old_of_new),
                None => values,
            };
            if column.spec.dictionary {
                // Kept raw while consuming (see `raw_while_consuming`).
                let (dictionary, ids) = values.dictionary_encode();
                return Ok(ColumnData::Dict {
                    dictionary,
                    ids: DocIds::Single(ids),
                });
            }
            Ok(ColumnData::Raw { values })
        }
        (Forward::DictSv(ids), Some(dict)) => {
            let (dictionary, remap) =
                store_values(&dict.values, dict.values.len(), physical).dictionary_encode();
            let stored = ids.to_vec(num_docs);
            let ids = (0..num_docs)
                .map(|doc| remap[stored[old(doc)] as usize])
                .collect();
            Ok(ColumnData::Dict {
                dictionary,
                ids: DocIds::Single(ids),
            })
        }
        (Forward::DictMv { ends, ids }, Some(dict)) => {
            let (dictionary, remap) =
                store_values(&dict.values, dict.values.len(), physical).dictionary_encode();
            let ends = ends.to_vec(num_docs);
            let stored = ids.to_vec(ends.last().copied().unwrap_or(0) as usize);
            let mut starts = Vec::with_capacity(num_docs + 1);
            let mut flat = Vec::with_capacity(stored.len());
            starts.push(0u32);
            for doc in 0..num_docs {
                let source = old(doc);
                let begin = if source == 0 {
                    0
                } else {
                    ends[source - 1] as usize
                };
                flat.extend(
                    stored[begin..ends[source] as usize]
                        .iter()
                        .map(|&id| remap[id as usize]),
                );
                starts.push(flat.len() as u32);
            }
            Ok(ColumnData::Dict {
                dictionary,
                ids: DocIds::Multi { starts, ids: flat },
            })
        }
        _ => Err(BlockError::Inconsistent(
            "dictionary forward index without a dictionary",
        )),
    }
}
