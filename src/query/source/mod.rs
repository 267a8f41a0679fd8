//! What the query engine reads from a segment: [`SegmentSource`] and
//! [`ColumnSource`]. Sealed (`immutable.rs`) and consuming (`mutable.rs`)
//! segments both implement them, so every query runs the same way on
//! either; a column a segment lacks (added to the schema later) reads as
//! its default null value (`absent.rs`).

mod absent;
mod immutable;
mod mutable;
mod upsert;

use std::ops::{Bound, Range};
use std::sync::Arc;

use roaring::RoaringBitmap;

pub use absent::AbsentColumn;
pub use mutable::MutableSnapshot;

use super::docs::{DocSet, Docs};
use crate::codec::chunked::VarReader;
use crate::codec::var::Var;
use crate::expr::value::{Kind, Value, Vector};
use crate::segment::{Physical, Scalar, SegmentTree};
use crate::server::TableData;

/// Every segment of a table as one consistent snapshot: the sealed ones and
/// the consuming ones, each consuming segment fixed at its current rows. An
/// upsert or dedup table's segments see only the latest version of each
/// key, unless `every_version` (`skipUpsert=true`).
pub fn table_sources(data: &TableData, every_version: bool) -> Vec<Arc<dyn SegmentSource>> {
    if let Some(upsert) = data.upsert() {
        return upsert::upsert_sources(&upsert, every_version);
    }
    let live = data.live();
    let mut out: Vec<Arc<dyn SegmentSource>> =
        Vec::with_capacity(live.sealed.len() + live.consuming.len());
    for segment in live.sealed.iter() {
        out.push(segment.clone());
    }
    for consuming in live.consuming.iter() {
        out.push(Arc::new(MutableSnapshot::new(
            consuming.name.clone(),
            consuming.segment.clone(),
        )));
    }
    out
}

/// One segment as queries see it.
pub trait SegmentSource: Send + Sync {
    fn name(&self) -> &str;
    fn num_docs(&self) -> usize;
    /// For a consuming segment, when it last took a row (epoch millis).
    fn consuming_since(&self) -> Option<i64>;
    /// The column named `name`, if this segment stores it.
    fn column(&self, name: &str) -> Option<Box<dyn ColumnSource + '_>>;
    /// The segment's star-trees.
    fn star_trees(&self) -> &[SegmentTree] {
        &[]
    }
    /// How many of the first docs the star-trees cover: all of a sealed
    /// segment's; a prefix of a consuming segment's, the rest to scan.
    fn star_tree_docs(&self) -> usize {
        self.num_docs()
    }
    /// For a segment of an upsert or dedup table: the docs queries see.
    fn valid_docs(&self) -> Option<&RoaringBitmap> {
        None
    }
    /// For a segment whose docs a query sees never change (sealed, and
    /// not filtered by an upsert's latest versions): an identity no other
    /// segment shares, under which its answers may be kept.
    fn cache_id(&self) -> Option<u64> {
        None
    }
}

/// The docs of `segment` a query starts from: its valid docs, or all.
pub fn candidate_docs(segment: &dyn SegmentSource) -> DocSet {
    match segment.valid_docs() {
        Some(valid) if valid.len() < segment.num_docs() as u64 => {
            let mut docs = valid.clone();
            docs.remove_range(segment.num_docs() as u32..);
            DocSet::Bitmap(docs)
        }
        _ => DocSet::all(segment.num_docs()),
    }
}

/// Which indexes a column has.
#[derive(Debug, Default, Clone, Copy)]
pub struct Indexes {
    pub inverted: bool,
    /// The sorted index, or raw values stored in order.
    pub sorted: bool,
    pub range: bool,
}

/// One column of one segment.
pub trait ColumnSource {
    fn kind(&self) -> Kind;
    fn indexes(&self) -> Indexes {
        Indexes::default()
    }
    fn single_value(&self) -> bool;
    /// Smallest and largest value, when known.
    fn min_max(&self) -> Option<(Value, Value)>;

    /// Dictionary size, for dictionary-encoded columns.
    fn cardinality(&self) -> Option<usize>;
    /// Whether dictionary ids are in value order.
    fn dict_sorted(&self) -> bool;
    fn dict_value(&self, id: u32) -> Value;
    /// The dictionary of an integer column, decoded, indexed by id.
    fn dict_longs(&self) -> Option<&[i64]> {
        None
    }
    /// Whether every dictionary id is held by some doc (a sealed segment's
    /// dictionary lists exactly the values of its docs).
    fn every_id_present(&self) -> bool {
        false
    }
    /// The dictionary id of `value`.
    fn id_of(&self, value: &Value) -> Option<u32>;
    /// Dictionary ids of single-value docs.
    fn ids(&self, docs: Docs<'_>, out: &mut Vec<u32>);
    /// Dictionary ids of one multi-value doc.
    fn doc_ids(&self, doc: u32, out: &mut Vec<u32>);

    /// The docs' values.
    fn values(&self, docs: Docs<'_>) -> Vector;
    /// For a sealed text column stored without a dictionary: a reader of
    /// the stored values, doc by doc, read where they lie (a chunk
    /// decompressed at a time). Keep it while reading docs in order.
    fn raw_text(&self) -> Option<VarReader<'_>> {
        None
    }
    /// For a sealed text column with a dictionary: its entries, id by id.
    fn dict_text(&self) -> Option<Var<'_>> {
        None
    }
    /// The docs' values of a multi-value dictionary column, one array each.
    fn mv_values(&self, docs: Docs<'_>) -> Vector {
        let mut ids = Vec::new();
        let mut rows = Vec::with_capacity(docs.len());
        docs.for_each(|doc| {
            self.doc_ids(doc, &mut ids);
            rows.push(ids.iter().map(|id| self.dict_value(*id)).collect());
        });
        Vector::Array(rows)
    }
    /// The docs' values as doubles (single-value numeric columns).
    fn f64_values(&self, docs: Docs<'_>, out: &mut Vec<f64>) {
        out.clear();
        out.extend(self.values(docs).to_f64());
    }

    /// For a DOUBLE column stored as decimal integers: the docs' integer
    /// keys as doubles (value × 10^scale) and the scale. `None` otherwise.
    fn scaled_f64_values(&self, _docs: Docs<'_>, _out: &mut Vec<f64>) -> Option<u8> {
        None
    }

    /// Docs whose value is null.
    fn nulls(&self) -> Option<RoaringBitmap>;
    /// Docs holding any of the dictionary ids, from an inverted index.
    fn inverted(&self, _ids: &[u32]) -> Option<RoaringBitmap> {
        None
    }
    /// Docs holding ids `ids`, when the column is the sorted column.
    fn sorted_docs(&self, _ids: Range<u32>) -> Option<Range<u32>> {
        None
    }
    /// Docs with a value in the range, for a sorted raw column.
    fn raw_sorted_docs(&self, _low: Bound<&Value>, _high: Bound<&Value>) -> Option<Range<u32>> {
        None
    }
    /// From a range index: (docs that surely match, docs to check).
    fn range_docs(
        &self,
        _low: Bound<&Value>,
        _high: Bound<&Value>,
    ) -> Option<(RoaringBitmap, RoaringBitmap)> {
        None
    }
    /// True when a bloom filter proves no doc holds `value`.
    fn bloom_excludes(&self, _value: &Value) -> bool {
        false
    }
}

/// Positions `0..len` of a non-decreasing sequence (`value_at`) whose
/// values fall in the range, by binary search.
pub fn sorted_range(
    len: usize,
    value_at: impl Fn(usize) -> Value,
    low: Bound<&Value>,
    high: Bound<&Value>,
) -> Range<usize> {
    let first_not = |keep: &dyn Fn(&Value) -> bool| {
        let (mut lo, mut hi) = (0usize, len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if keep(&value_at(mid)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    };
    let start = match low {
        Bound::Unbounded => 0,
        Bound::Included(v) => first_not(&|x| x.total_cmp(v).is_lt()),
        Bound::Excluded(v) => first_not(&|x| x.total_cmp(v).is_le()),
    };
    let end = match high {
        Bound::Unbounded => len,
        Bound::Included(v) => first_not(&|x| x.total_cmp(v).is_le()),
        Bound::Excluded(v) => first_not(&|x| x.total_cmp(v).is_lt()),
    };
    start..end.max(start)
}

/// Ids of a sorted dictionary whose values fall in the range.
pub fn sorted_id_range(
    column: &dyn ColumnSource,
    low: Bound<&Value>,
    high: Bound<&Value>,
) -> Range<u32> {
    let card = column.cardinality().unwrap_or(0);
    let ids = sorted_range(card, |id| column.dict_value(id as u32), low, high);
    ids.start as u32..ids.end as u32
}

/// Whether `value` lies within the bounds.
pub fn in_bounds(value: &Value, low: Bound<&Value>, high: Bound<&Value>) -> bool {
    let above = match low {
        Bound::Unbounded => true,
        Bound::Included(v) => value.total_cmp(v).is_ge(),
        Bound::Excluded(v) => value.total_cmp(v).is_gt(),
    };
    above
        && match high {
            Bound::Unbounded => true,
            Bound::Included(v) => value.total_cmp(v).is_le(),
            Bound::Excluded(v) => value.total_cmp(v).is_lt(),
        }
}

/// The stored form of `value` in a column of `physical` type, when it
/// holds that value exactly.
pub fn scalar_for(value: &Value, physical: Physical) -> Option<Scalar> {
    match (physical, value) {
        (Physical::I32, _) => value
            .as_i64()
            .and_then(|v| i32::try_from(v).ok())
            .filter(|v| value.as_f64() == Some(*v as f64))
            .map(Scalar::I32),
        (Physical::I64, Value::Long(v)) => Some(Scalar::I64(*v)),
        (Physical::I64, _) => value.as_i64().map(Scalar::I64),
        (Physical::F32, _) => value
            .as_f64()
            .filter(|v| (*v as f32) as f64 == *v)
            .map(|v| Scalar::F32(v as f32)),
        (Physical::F64, _) => value.as_f64().map(Scalar::F64),
        (Physical::Str, Value::Str(v)) => Some(Scalar::Str(v.clone())),
        (Physical::Bytes, Value::Bytes(v)) => Some(Scalar::Bytes(v.clone())),
        _ => None,
    }
}

/// The evaluation kind of a physical type (BOOLEAN is stored as INT).
pub fn kind_of(physical: Physical) -> Kind {
    match physical {
        Physical::I32 | Physical::I64 => Kind::Long,
        Physical::F32 | Physical::F64 => Kind::Double,
        Physical::Str => Kind::Str,
        Physical::Bytes => Kind::Bytes,
    }
}

/// Collects scalars of one physical type into a vector of its kind.
pub fn vector_of(physical: Physical, scalars: impl Iterator<Item = Scalar>) -> Vector {
    match kind_of(physical) {
        Kind::Long => Vector::Long(
            scalars
                .map(|s| match s {
                    Scalar::I32(v) => v as i64,
                    Scalar::I64(v) => v,
                    _ => 0,
                })
                .collect(),
        ),
        Kind::Double => Vector::Double(scalars.map(|s| s.as_f64().unwrap_or(0.0)).collect()),
        Kind::Bytes => Vector::Bytes(
            scalars
                .map(|s| match s {
                    Scalar::Bytes(v) => v,
                    _ => Vec::new(),
                })
                .collect(),
        ),
        _ => Vector::Str(
            scalars
                .map(|s| match s {
                    Scalar::Str(v) => v,
                    other => other.to_string(),
                })
                .collect(),
        ),
    }
}
