//! Consuming segments as query sources. A query reads a snapshot: the rows
//! visible when it started (`MutableSnapshot::num_docs`), so rows arriving
//! during the query never show up in one column and not another. Its
//! star-trees cover a prefix of those rows.

use std::sync::Arc;

use roaring::RoaringBitmap;

use super::{kind_of, scalar_for, vector_of, ColumnSource, Indexes, SegmentSource};
use crate::expr::value::{Kind, Value, Vector};
use crate::query::docs::Docs;
use crate::segment::append_vec::AppendVec;
use crate::segment::mutable::{Forward, MutableColumn, Store};
use crate::segment::{ConsumingTrees, MutableSegment, SegmentTree};
use crate::sync::RecoverRw;

/// A consuming segment as of one moment, with the star-trees built by then.
pub struct MutableSnapshot {
    name: String,
    segment: Arc<MutableSegment>,
    num_docs: usize,
    trees: Option<Arc<ConsumingTrees>>,
}

impl MutableSnapshot {
    pub fn new(name: String, segment: Arc<MutableSegment>) -> MutableSnapshot {
        // Trees first: they cover rows that were visible before them, so
        // never more than the count taken after.
        let trees = segment.star_trees();
        let num_docs = segment.num_docs();
        MutableSnapshot {
            name,
            segment,
            num_docs,
            trees,
        }
    }
}

impl MutableSnapshot {
    /// The first `docs` rows, without star-trees.
    pub fn with_docs(name: String, segment: Arc<MutableSegment>, docs: usize) -> MutableSnapshot {
        MutableSnapshot {
            name,
            num_docs: docs.min(segment.num_docs()),
            segment,
            trees: None,
        }
    }
}

impl SegmentSource for MutableSnapshot {
    fn name(&self) -> &str {
        &self.name
    }

    fn num_docs(&self) -> usize {
        self.num_docs
    }

    fn consuming_since(&self) -> Option<i64> {
        Some(
            self.segment
                .last_append_millis()
                .unwrap_or(self.segment.created_millis()),
        )
    }

    fn star_trees(&self) -> &[SegmentTree] {
        self.trees
            .as_ref()
            .map_or(&[], |trees| trees.trees.as_slice())
    }

    fn star_tree_docs(&self) -> usize {
        self.trees
            .as_ref()
            .map_or(0, |trees| trees.docs.min(self.num_docs))
    }

    fn column(&self, name: &str) -> Option<Box<dyn ColumnSource + '_>> {
        let index = self.segment.spec().column_index(name)?;
        Some(Box::new(GrowingColumn {
            column: &self.segment.columns[index],
            num_docs: self.num_docs,
        }))
    }
}

/// `map` of the values of `docs` in `values`: whole runs for a range of
/// docs, one by one for a list.
fn gather<T: Copy, U>(values: &AppendVec<T>, docs: Docs<'_>, map: impl Fn(T) -> U) -> Vec<U> {
    let mut out = Vec::with_capacity(docs.len());
    gather_into(values, docs, &mut out, map);
    out
}

/// [`gather`], appending to `out`.
fn gather_into<T: Copy, U>(
    values: &AppendVec<T>,
    docs: Docs<'_>,
    out: &mut Vec<U>,
    map: impl Fn(T) -> U,
) {
    match docs {
        Docs::Range(start, end) => values.for_each_slice_in(start as usize..end as usize, |run| {
            out.extend(run.iter().map(|v| map(*v)))
        }),
        Docs::List(list) => out.extend(list.iter().map(|doc| map(*values.get(*doc as usize)))),
    }
}

struct GrowingColumn<'a> {
    column: &'a MutableColumn,
    num_docs: usize,
}

impl GrowingColumn<'_> {
    fn start_of(&self, ends: &crate::segment::append_vec::AppendVec<u32>, doc: usize) -> usize {
        if doc == 0 {
            0
        } else {
            *ends.get(doc - 1) as usize
        }
    }

    fn store_vector(&self, store: &Store, docs: Docs<'_>) -> Vector {
        match store {
            Store::I32(values) => return Vector::Long(gather(values, docs, |v| v as i64)),
            Store::I64(values) => return Vector::Long(gather(values, docs, |v| v)),
            Store::F32(values) => return Vector::Double(gather(values, docs, |v| v as f64)),
            Store::F64(values) => return Vector::Double(gather(values, docs, |v| v)),
            Store::Var(_) => {}
        }
        let physical = self.column.spec.physical;
        let mut scalars = Vec::with_capacity(docs.len());
        docs.for_each(|doc| scalars.push(store.get(doc as usize, physical)));
        vector_of(physical, scalars.into_iter())
    }
}

impl ColumnSource for GrowingColumn<'_> {
    fn kind(&self) -> Kind {
        kind_of(self.column.spec.physical)
    }

    fn indexes(&self) -> Indexes {
        Indexes {
            inverted: self.column.inverted.is_some(),
            ..Indexes::default()
        }
    }

    fn single_value(&self) -> bool {
        self.column.spec.single_value
    }

    fn min_max(&self) -> Option<(Value, Value)> {
        None
    }

    fn cardinality(&self) -> Option<usize> {
        self.column.dict.as_ref().map(|dict| dict.values.len())
    }

    fn dict_sorted(&self) -> bool {
        false
    }

    fn dict_value(&self, id: u32) -> Value {
        match &self.column.dict {
            Some(dict) => {
                Value::from_scalar(dict.values.get(id as usize, self.column.spec.physical))
            }
            None => Value::Null,
        }
    }

    fn id_of(&self, value: &Value) -> Option<u32> {
        let scalar = scalar_for(value, self.column.spec.physical)?;
        self.column.dict.as_ref()?.id_of(&scalar)
    }

    fn ids(&self, docs: Docs<'_>, out: &mut Vec<u32>) {
        out.clear();
        if let Forward::DictSv(ids) = &self.column.forward {
            gather_into(ids, docs, out, |id| id);
        }
    }

    fn f64_values(&self, docs: Docs<'_>, out: &mut Vec<f64>) {
        out.clear();
        match (&self.column.forward, &self.column.dict) {
            (Forward::Raw(Store::I32(values)), _) => gather_into(values, docs, out, |v| v as f64),
            (Forward::Raw(Store::I64(values)), _) => gather_into(values, docs, out, |v| v as f64),
            (Forward::Raw(Store::F32(values)), _) => gather_into(values, docs, out, |v| v as f64),
            (Forward::Raw(Store::F64(values)), _) => gather_into(values, docs, out, |v| v),
            (Forward::DictSv(ids), Some(dict)) if !matches!(dict.values, Store::Var(_)) => {
                let mut batch = Vec::with_capacity(docs.len());
                gather_into(ids, docs, &mut batch, |id| id);
                out.extend(batch.iter().map(|id| match &dict.values {
                    Store::I32(values) => *values.get(*id as usize) as f64,
                    Store::I64(values) => *values.get(*id as usize) as f64,
                    Store::F32(values) => *values.get(*id as usize) as f64,
                    Store::F64(values) => *values.get(*id as usize),
                    Store::Var(_) => 0.0,
                }));
            }
            _ => out.extend(self.values(docs).to_f64()),
        }
    }

    fn doc_ids(&self, doc: u32, out: &mut Vec<u32>) {
        out.clear();
        match &self.column.forward {
            Forward::DictSv(ids) => out.push(*ids.get(doc as usize)),
            Forward::DictMv { ends, ids } => {
                let start = self.start_of(ends, doc as usize);
                let end = *ends.get(doc as usize) as usize;
                out.extend((start..end).map(|at| *ids.get(at)));
            }
            Forward::Raw(_) => {}
        }
    }

    fn values(&self, docs: Docs<'_>) -> Vector {
        match &self.column.forward {
            Forward::Raw(store) => self.store_vector(store, docs),
            Forward::DictSv(ids) => {
                let physical = self.column.spec.physical;
                let mut scalars = Vec::with_capacity(docs.len());
                if let Some(dict) = &self.column.dict {
                    docs.for_each(|doc| {
                        scalars.push(dict.values.get(*ids.get(doc as usize) as usize, physical))
                    });
                }
                vector_of(physical, scalars.into_iter())
            }
            Forward::DictMv { .. } => self.mv_values(docs),
        }
    }

    fn nulls(&self) -> Option<RoaringBitmap> {
        let mut nulls = self
            .column
            .nulls
            .read()
            .map(|nulls| nulls.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone());
        nulls.remove_range(self.num_docs as u32..);
        Some(nulls)
    }

    fn inverted(&self, ids: &[u32]) -> Option<RoaringBitmap> {
        let lock = self.column.inverted.as_ref()?;
        let postings = lock.read_locked();
        let mut out = RoaringBitmap::new();
        for id in ids {
            if let Some(docs) = postings.get(*id as usize) {
                out |= docs;
            }
        }
        out.remove_range(self.num_docs as u32..);
        Some(out)
    }
}
