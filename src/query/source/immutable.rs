//! Sealed segments as query sources: reads straight from the mapped file,
//! decoding bit-packed ids a chunk at a time on range scans.

use std::ops::{Bound, Range};

use roaring::RoaringBitmap;

use super::{
    in_bounds, kind_of, scalar_for, sorted_range, vector_of, ColumnSource, Indexes, SegmentSource,
};
use crate::codec;
use crate::codec::bitpack::{self, CHUNK};
use crate::codec::chunked::VarReader;
use crate::codec::forpack::{self, ForPacked};
use crate::codec::var::Var;
use crate::expr::value::{Kind, Value, Vector};
use crate::index::range::Coverage;
use crate::query::docs::Docs;
use crate::segment::stored::{var_scalar, Dictionary, Fixed, Forward};
use crate::segment::{bloom_hash, ColumnView, DecodedDictionary, ImmutableSegment, Physical};

impl SegmentSource for ImmutableSegment {
    fn name(&self) -> &str {
        ImmutableSegment::name(self)
    }

    fn num_docs(&self) -> usize {
        ImmutableSegment::num_docs(self)
    }

    fn consuming_since(&self) -> Option<i64> {
        None
    }

    fn star_trees(&self) -> &[crate::segment::SegmentTree] {
        ImmutableSegment::star_trees(self)
    }

    fn cache_id(&self) -> Option<u64> {
        Some(self.load_id())
    }

    fn column(&self, name: &str) -> Option<Box<dyn ColumnSource + '_>> {
        let index = self.column_index(name)?;
        Some(Box::new(SealedColumn {
            segment: self,
            index,
            view: ImmutableSegment::column(self, index),
        }))
    }
}

struct SealedColumn<'a> {
    segment: &'a ImmutableSegment,
    index: usize,
    view: ColumnView<'a>,
}

fn json_value(json: &serde_json::Value) -> Option<Value> {
    Some(match json {
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(v) => Value::Long(v),
            None => Value::Double(n.as_f64()?),
        },
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Bool(b) => Value::Long(*b as i64),
        _ => return None,
    })
}

impl SealedColumn<'_> {
    fn physical(&self) -> Physical {
        self.view.meta.physical
    }

    fn decoded(&self) -> &DecodedDictionary {
        self.segment.decoded_dictionary(self.index)
    }

    /// Ids of single-value docs of the sorted column.
    fn sorted_ids(&self, docs: Docs<'_>, out: &mut Vec<u32>) {
        let Forward::Sorted(sorted) = self.view.forward else {
            return;
        };
        match docs {
            Docs::Range(start, end) if start < end => {
                let mut id = sorted.id_of(start);
                let mut id_end = sorted.docs(id, id).end;
                for doc in start..end {
                    while doc >= id_end {
                        id += 1;
                        id_end = sorted.docs(id, id).end;
                    }
                    out.push(id);
                }
            }
            _ => docs.for_each(|doc| out.push(sorted.id_of(doc))),
        }
    }
}

impl ColumnSource for SealedColumn<'_> {
    fn kind(&self) -> Kind {
        kind_of(self.physical())
    }

    fn indexes(&self) -> Indexes {
        let meta = self.view.meta;
        Indexes {
            inverted: self.view.inverted.is_some(),
            sorted: self.view.sorted.is_some()
                || (meta.sorted
                    && meta.single_value
                    && matches!(self.view.forward, Forward::RawPacked { .. })),
            range: self.view.range.is_some(),
        }
    }

    fn single_value(&self) -> bool {
        self.view.meta.single_value
    }

    fn min_max(&self) -> Option<(Value, Value)> {
        let meta = self.view.meta;
        Some((
            json_value(meta.min.as_ref()?)?,
            json_value(meta.max.as_ref()?)?,
        ))
    }

    fn cardinality(&self) -> Option<usize> {
        self.view.dictionary.as_ref().map(Dictionary::len)
    }

    fn dict_sorted(&self) -> bool {
        true
    }

    fn dict_longs(&self) -> Option<&[i64]> {
        match self.decoded() {
            DecodedDictionary::Long(values) => Some(values),
            _ => None,
        }
    }

    fn every_id_present(&self) -> bool {
        self.view.meta.single_value
            && matches!(self.view.forward, Forward::DictSv(_) | Forward::Sorted(_))
    }

    fn dict_value(&self, id: u32) -> Value {
        match self.decoded() {
            DecodedDictionary::Long(values) => Value::Long(values[id as usize]),
            DecodedDictionary::Double(values) => Value::Double(values[id as usize]),
            DecodedDictionary::NotNumeric => match &self.view.dictionary {
                Some(dictionary) => Value::from_scalar(dictionary.get(id)),
                None => Value::Null,
            },
        }
    }

    fn id_of(&self, value: &Value) -> Option<u32> {
        let scalar = scalar_for(value, self.physical())?;
        self.view.dictionary.as_ref()?.index_of(&scalar).ok()
    }

    fn ids(&self, docs: Docs<'_>, out: &mut Vec<u32>) {
        out.clear();
        match self.view.forward {
            Forward::DictSv(ids) => match docs {
                Docs::Range(start, end) => {
                    let (start, end) = (start as usize, end as usize);
                    let mut chunk = [0u32; CHUNK];
                    let mut at = start;
                    while at < end {
                        let index = at / CHUNK;
                        bitpack::unpack_chunk(ids.words, ids.bits, index, &mut chunk);
                        let from = at - index * CHUNK;
                        let to = (end - index * CHUNK).min(CHUNK);
                        out.extend_from_slice(&chunk[from..to]);
                        at = index * CHUNK + to;
                    }
                }
                // Dense lists (an eighth of their span or more) unpack
                // whole chunks instead of one id at a time.
                Docs::List(list) if dense(list) => {
                    let mut chunk = [0u32; CHUNK];
                    for (index, run) in codec::runs_in_blocks(list, CHUNK) {
                        bitpack::unpack_chunk(ids.words, ids.bits, index, &mut chunk);
                        out.extend(run.iter().map(|doc| chunk[*doc as usize % CHUNK]));
                    }
                }
                Docs::List(list) => out.extend(list.iter().map(|doc| ids.get(*doc as usize))),
            },
            Forward::Sorted(_) => self.sorted_ids(docs, out),
            _ => {}
        }
    }

    fn doc_ids(&self, doc: u32, out: &mut Vec<u32>) {
        out.clear();
        match self.view.forward {
            Forward::DictMv { starts, ids } => {
                let (first, last) = (starts[doc as usize], starts[doc as usize + 1]);
                out.extend((first..last).map(|at| ids.get(at as usize)));
            }
            Forward::DictSv(_) | Forward::Sorted(_) => {
                let mut one = Vec::with_capacity(1);
                self.ids(Docs::List(&[doc]), &mut one);
                out.extend(one);
            }
            _ => {}
        }
    }

    fn values(&self, docs: Docs<'_>) -> Vector {
        let physical = self.physical();
        match self.view.forward {
            Forward::DictSv(_) | Forward::Sorted(_) => {
                let mut ids = Vec::with_capacity(docs.len());
                self.ids(docs, &mut ids);
                match self.decoded() {
                    DecodedDictionary::Long(values) => {
                        Vector::Long(ids.iter().map(|id| values[*id as usize]).collect())
                    }
                    DecodedDictionary::Double(values) => {
                        Vector::Double(ids.iter().map(|id| values[*id as usize]).collect())
                    }
                    DecodedDictionary::NotNumeric => match &self.view.dictionary {
                        Some(dictionary) => {
                            vector_of(physical, ids.iter().map(|id| dictionary.get(*id)))
                        }
                        None => Vector::Str(vec![String::new(); docs.len()]),
                    },
                }
            }
            Forward::DictMv { .. } => self.mv_values(docs),
            Forward::RawPacked { keys, codec } => {
                let mut out = Vec::with_capacity(docs.len());
                packed_keys(keys, docs, &mut out);
                match (codec.physical, codec.decimal_scale) {
                    (Physical::I32 | Physical::I64, _) => {
                        Vector::Long(out.into_iter().map(forpack::from_key_i64).collect())
                    }
                    (physical, Some(scale)) => {
                        Vector::Double(decimals(&out, scale, physical).collect())
                    }
                    (physical, None) => {
                        vector_of(physical, out.into_iter().map(|key| codec.scalar(key)))
                    }
                }
            }
            Forward::RawFixed(fixed) => match fixed {
                Fixed::F64(values) => Vector::Double(gather(values, docs)),
                Fixed::F32(values) => {
                    Vector::Double(gather(values, docs).into_iter().map(f64::from).collect())
                }
                Fixed::I64(values) => Vector::Long(gather(values, docs)),
                Fixed::I32(values) => {
                    Vector::Long(gather(values, docs).into_iter().map(i64::from).collect())
                }
            },
            Forward::RawVar(_) => {
                let mut out = Vec::with_capacity(docs.len());
                self.view.with_text(|reader| {
                    let text = reader.is_text();
                    docs.for_each(|doc| out.push(var_scalar(reader.get(doc as usize), text)));
                });
                vector_of(physical, out.into_iter())
            }
        }
    }

    fn raw_text(&self) -> Option<VarReader<'_>> {
        match self.view.forward {
            Forward::RawVar(block) if block.is_text() => Some(block.reader()),
            _ => None,
        }
    }

    fn dict_text(&self) -> Option<Var<'_>> {
        match &self.view.dictionary {
            Some(Dictionary::Var(var)) if var.is_text() => Some(*var),
            _ => None,
        }
    }

    fn f64_values(&self, docs: Docs<'_>, out: &mut Vec<f64>) {
        out.clear();
        match (self.view.forward, self.decoded()) {
            (Forward::DictSv(_) | Forward::Sorted(_), DecodedDictionary::Double(values)) => {
                let mut ids = Vec::with_capacity(docs.len());
                self.ids(docs, &mut ids);
                out.extend(ids.iter().map(|id| values[*id as usize]));
            }
            (Forward::DictSv(_) | Forward::Sorted(_), DecodedDictionary::Long(values)) => {
                let mut ids = Vec::with_capacity(docs.len());
                self.ids(docs, &mut ids);
                out.extend(ids.iter().map(|id| values[*id as usize] as f64));
            }
            (Forward::RawPacked { keys, codec }, _) if codec.decimal_scale.is_some() => {
                let scale = codec.decimal_scale.unwrap_or(0);
                packed_slices(keys, docs, |slice| {
                    out.extend(decimals(slice, scale, codec.physical))
                });
            }
            (Forward::RawFixed(Fixed::F64(values)), _) => match docs {
                Docs::Range(start, end) => {
                    out.extend_from_slice(&values[start as usize..end as usize])
                }
                Docs::List(list) => out.extend(list.iter().map(|doc| values[*doc as usize])),
            },
            _ => out.extend(self.values(docs).to_f64()),
        }
    }

    fn scaled_f64_values(&self, docs: Docs<'_>, out: &mut Vec<f64>) -> Option<u8> {
        let Forward::RawPacked { keys, codec } = self.view.forward else {
            return None;
        };
        let scale = codec
            .decimal_scale
            .filter(|_| codec.physical == Physical::F64)?;
        out.clear();
        packed_slices(keys, docs, |slice| {
            out.extend(slice.iter().map(|key| forpack::from_key_i64(*key) as f64))
        });
        Some(scale)
    }

    fn nulls(&self) -> Option<RoaringBitmap> {
        self.view.nulls.clone()
    }

    fn inverted(&self, ids: &[u32]) -> Option<RoaringBitmap> {
        let inverted = self.view.inverted.as_ref()?;
        let mut out = RoaringBitmap::new();
        // Runs of consecutive ids read as one union.
        let mut at = 0;
        while at < ids.len() {
            let mut end = at + 1;
            while end < ids.len() && ids[end] == ids[end - 1] + 1 {
                end += 1;
            }
            let docs = if end - at == 1 {
                inverted.docs(ids[at])
            } else {
                inverted.docs_in(ids[at], ids[end - 1])
            };
            out |= docs.ok()?;
            at = end;
        }
        Some(out)
    }

    fn sorted_docs(&self, ids: Range<u32>) -> Option<Range<u32>> {
        let sorted = self.view.sorted.as_ref()?;
        if ids.is_empty() {
            return Some(0..0);
        }
        Some(sorted.docs(ids.start, ids.end - 1))
    }

    fn raw_sorted_docs(&self, low: Bound<&Value>, high: Bound<&Value>) -> Option<Range<u32>> {
        let Forward::RawPacked { keys, codec } = self.view.forward else {
            return None;
        };
        if !self.view.meta.sorted || !self.view.meta.single_value {
            return None;
        }
        let docs = sorted_range(
            keys.len(),
            |doc| Value::from_scalar(codec.scalar(keys.get(doc))),
            low,
            high,
        );
        Some(docs.start as u32..docs.end as u32)
    }

    fn range_docs(
        &self,
        low: Bound<&Value>,
        high: Bound<&Value>,
    ) -> Option<(RoaringBitmap, RoaringBitmap)> {
        self.view.range.as_ref()?;
        let dictionary = self.view.dictionary.is_some();
        let bucket_value = |json: &serde_json::Value| -> Option<Value> {
            if dictionary {
                let id = json.as_u64()? as u32;
                Some(self.dict_value(id))
            } else {
                json_value(json)
            }
        };
        let index = self.segment.range_index(self.index, bucket_value)?;
        index
            .lookup(|lo, hi| {
                let all = in_bounds(lo, low, high) && in_bounds(hi, low, high);
                let none = match (low, high) {
                    (Bound::Included(v), _) if hi.total_cmp(v).is_lt() => true,
                    (Bound::Excluded(v), _) if hi.total_cmp(v).is_le() => true,
                    (_, Bound::Included(v)) if lo.total_cmp(v).is_gt() => true,
                    (_, Bound::Excluded(v)) if lo.total_cmp(v).is_ge() => true,
                    _ => false,
                };
                if all {
                    Coverage::Full
                } else if none {
                    Coverage::None
                } else {
                    Coverage::Partial
                }
            })
            .ok()
    }

    fn bloom_excludes(&self, value: &Value) -> bool {
        let Some(words) = self.view.bloom else {
            return false;
        };
        match scalar_for(value, self.physical()) {
            Some(scalar) => !crate::index::bloom::might_contain(words, bloom_hash(&scalar)),
            None => false,
        }
    }
}

/// The packed keys of `docs`.
fn packed_keys(keys: ForPacked<'_>, docs: Docs<'_>, out: &mut Vec<u64>) {
    packed_slices(keys, docs, |slice| out.extend_from_slice(slice));
}

/// Calls `visit` with the docs' packed keys, a decoded block at a time for
/// a range, all at once for a list.
fn packed_slices(keys: ForPacked<'_>, docs: Docs<'_>, mut visit: impl FnMut(&[u64])) {
    match docs {
        Docs::Range(start, end) => {
            let (start, end) = (start as usize, end as usize);
            keys.for_each_block_in(start, end, |first, block| {
                let from = start.saturating_sub(first);
                let to = (end - first).min(block.len());
                visit(&block[from..to]);
            });
        }
        Docs::List(list) => {
            let mut gathered = Vec::with_capacity(list.len());
            keys.gather(list, &mut gathered);
            visit(&gathered);
        }
    }
}

/// Decimal keys as doubles, exactly as `KeyCodec::scalar` decodes them
/// (FLOAT columns round through `f32`).
fn decimals(keys: &[u64], scale: u8, physical: Physical) -> impl Iterator<Item = f64> + '_ {
    let divisor = 10f64.powi(scale as i32);
    let float = physical == Physical::F32;
    keys.iter().map(move |key| {
        let value = forpack::from_key_i64(*key) as f64 / divisor;
        if float {
            value as f32 as f64
        } else {
            value
        }
    })
}

/// Whether an ascending doc list holds at least one doc in eight of its
/// span.
fn dense(list: &[u32]) -> bool {
    match (list.first(), list.last()) {
        (Some(first), Some(last)) if first <= last => {
            (list.len() as u64) * 8 > u64::from(last - first)
        }
        _ => false,
    }
}

fn gather<T: Copy>(values: &[T], docs: Docs<'_>) -> Vec<T> {
    match docs {
        Docs::Range(start, end) => values[start as usize..end as usize].to_vec(),
        Docs::List(list) => list.iter().map(|doc| values[*doc as usize]).collect(),
    }
}
