//! Readers for the column blocks of a sealed segment: dictionaries and
//! forward indexes, borrowed from the mapped file. Constructors check sizes
//! and offsets, so later accessors index without further checks failing.

use std::cmp::Ordering;

use super::error::BlockError;
use super::types::{Physical, Scalar};
use crate::codec::bitpack;
use crate::codec::chunked::VarBlock;
use crate::codec::forpack::{self, ForPacked};
use crate::codec::var::{split_offsets, Var};
use crate::index::sorted::SortedIndex;

fn cast<'a, T: bytemuck::Pod>(bytes: &'a [u8], what: &str) -> Result<&'a [T], BlockError> {
    bytemuck::try_cast_slice(bytes).map_err(|err| BlockError::Malformed(format!("{what}: {err}")))
}

/// A typed view of a fixed-width value array.
#[derive(Debug, Clone, Copy)]
pub enum Fixed<'a> {
    I32(&'a [i32]),
    I64(&'a [i64]),
    F32(&'a [f32]),
    F64(&'a [f64]),
}

impl<'a> Fixed<'a> {
    pub fn parse(
        physical: Physical,
        bytes: &'a [u8],
        count: usize,
    ) -> Result<Fixed<'a>, BlockError> {
        let not_fixed = || BlockError::Inconsistent("not a fixed-width type");
        let width = physical.width().ok_or_else(not_fixed)?;
        if count.checked_mul(width) != Some(bytes.len()) {
            return Err(BlockError::Malformed(format!(
                "{} bytes for {count} values of {width} bytes",
                bytes.len()
            )));
        }
        Ok(match physical {
            Physical::I32 => Fixed::I32(values(bytes)?),
            Physical::I64 => Fixed::I64(values(bytes)?),
            Physical::F32 => Fixed::F32(values(bytes)?),
            Physical::F64 => Fixed::F64(values(bytes)?),
            Physical::Str | Physical::Bytes => return Err(not_fixed()),
        })
    }

    pub fn len(&self) -> usize {
        match self {
            Fixed::I32(v) => v.len(),
            Fixed::I64(v) => v.len(),
            Fixed::F32(v) => v.len(),
            Fixed::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, index: usize) -> Scalar {
        match self {
            Fixed::I32(v) => Scalar::I32(v[index]),
            Fixed::I64(v) => Scalar::I64(v[index]),
            Fixed::F32(v) => Scalar::F32(v[index]),
            Fixed::F64(v) => Scalar::F64(v[index]),
        }
    }
}

/// A block of fixed-width values.
fn values<T: bytemuck::Pod>(bytes: &[u8]) -> Result<&[T], BlockError> {
    cast(bytes, "values")
}

/// Value `index` of a variable-width block, as text or bytes.
pub fn var_get(var: &Var<'_>, index: usize) -> Scalar {
    var_scalar(var.bytes_at(index), var.is_text())
}

/// A stored text (lossily, if not UTF-8) or bytes value.
pub fn var_scalar(bytes: &[u8], text: bool) -> Scalar {
    if text {
        Scalar::Str(String::from_utf8_lossy(bytes).into_owned())
    } else {
        Scalar::Bytes(bytes.to_vec())
    }
}

/// The order-preserving packed key of a fixed-width value.
pub fn key_of(value: &Scalar) -> Option<u64> {
    Some(match value {
        Scalar::I32(v) => forpack::key_i64(*v as i64),
        Scalar::I64(v) => forpack::key_i64(*v),
        Scalar::F32(v) => forpack::key_f64(*v as f64),
        Scalar::F64(v) => forpack::key_f64(*v),
        Scalar::Str(_) | Scalar::Bytes(_) => return None,
    })
}

/// The value of a packed key, for a column of `physical` type.
pub fn scalar_of(key: u64, physical: Physical) -> Scalar {
    match physical {
        Physical::I32 => Scalar::I32(forpack::from_key_i64(key) as i32),
        Physical::F32 => Scalar::F32(forpack::from_key_f64(key) as f32),
        Physical::F64 => Scalar::F64(forpack::from_key_f64(key)),
        _ => Scalar::I64(forpack::from_key_i64(key)),
    }
}

/// How the fixed-width values of a column map to packed keys: by their
/// order-preserving bits, or, for floats that are all decimals with few
/// digits (prices, amounts), as the integer `value × 10^scale`, which packs
/// far tighter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyCodec {
    pub physical: Physical,
    pub decimal_scale: Option<u8>,
}

impl KeyCodec {
    /// The key of `value`, if it has one under this codec.
    pub fn key(&self, value: &Scalar) -> Option<u64> {
        let Some(scale) = self.decimal_scale else {
            return key_of(value);
        };
        let float = match value {
            Scalar::F32(v) => *v as f64,
            Scalar::F64(v) => *v,
            _ => return None,
        };
        let scaled = (float * 10f64.powi(scale as i32)).round();
        // NaN and infinities have no integer; huge values would overflow.
        if scaled.is_nan() || scaled.abs() >= (1u64 << 62) as f64 {
            return None;
        }
        let key = forpack::key_i64(scaled as i64);
        (self.scalar(key) == *value).then_some(key)
    }

    /// The value of `key`.
    pub fn scalar(&self, key: u64) -> Scalar {
        let Some(scale) = self.decimal_scale else {
            return scalar_of(key, self.physical);
        };
        let value = forpack::from_key_i64(key) as f64 / 10f64.powi(scale as i32);
        match self.physical {
            Physical::F32 => Scalar::F32(value as f32),
            _ => Scalar::F64(value),
        }
    }
}

/// A sorted dictionary: id `i` is the `i`-th smallest distinct value.
/// Fixed-width values are frame-of-reference packed keys.
#[derive(Debug, Clone, Copy)]
pub enum Dictionary<'a> {
    Packed {
        keys: ForPacked<'a>,
        codec: KeyCodec,
    },
    Var(Var<'a>),
}

impl<'a> Dictionary<'a> {
    pub fn parse(
        codec: KeyCodec,
        bytes: &'a [u8],
        cardinality: usize,
    ) -> Result<Dictionary<'a>, BlockError> {
        let physical = codec.physical;
        match physical.width() {
            Some(_) => Ok(Dictionary::Packed {
                keys: ForPacked::parse(bytes, cardinality)?,
                codec,
            }),
            None => Ok(Dictionary::Var(Var::parse(
                bytes,
                cardinality,
                physical == Physical::Str,
            )?)),
        }
    }

    /// The full check done once when a segment opens.
    pub fn validate(&self) -> Result<(), BlockError> {
        Ok(match self {
            Dictionary::Packed { keys, .. } => keys.validate(),
            Dictionary::Var(var) => var.validate(),
        }?)
    }

    pub fn len(&self) -> usize {
        match self {
            Dictionary::Packed { keys, .. } => keys.len(),
            Dictionary::Var(var) => var.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, id: u32) -> Scalar {
        match self {
            Dictionary::Packed { keys, codec } => codec.scalar(keys.get(id as usize)),
            Dictionary::Var(var) => var_get(var, id as usize),
        }
    }

    /// `Ok(id)` of `value`, or `Err(insertion point)` when absent.
    pub fn index_of(&self, value: &Scalar) -> Result<u32, u32> {
        let found = match (self, value) {
            (Dictionary::Packed { keys, codec }, value) if value.physical() == codec.physical => {
                match codec.key(value) {
                    Some(key) => keys.binary_search(key),
                    // Not a value this dictionary could hold (more decimals
                    // than its scale): find where it would sort.
                    None => Err(insertion_point(keys, codec, value)),
                }
            }
            (Dictionary::Var(var), Scalar::Str(x)) => binary_search_var(var, x.as_bytes()),
            (Dictionary::Var(var), Scalar::Bytes(x)) => binary_search_var(var, x),
            _ => Err(0),
        };
        found.map(|id| id as u32).map_err(|at| at as u32)
    }
}

/// How many keys decode to values below `value`.
fn insertion_point(keys: &ForPacked<'_>, codec: &KeyCodec, value: &Scalar) -> usize {
    let (mut low, mut high) = (0usize, keys.len());
    while low < high {
        let mid = low + (high - low) / 2;
        if codec.scalar(keys.get(mid)).total_cmp(value) == Ordering::Less {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    low
}

fn binary_search_var(var: &Var<'_>, target: &[u8]) -> Result<usize, usize> {
    let (mut low, mut high) = (0usize, var.len());
    while low < high {
        let mid = (low + high) / 2;
        match var.bytes_at(mid).cmp(target) {
            Ordering::Less => low = mid + 1,
            Ordering::Greater => high = mid,
            Ordering::Equal => return Ok(mid),
        }
    }
    Err(low)
}

/// Bit-packed dictionary ids of a single-value column.
#[derive(Debug, Clone, Copy)]
pub struct PackedIds<'a> {
    pub words: &'a [u64],
    pub bits: u32,
    pub len: usize,
}

impl<'a> PackedIds<'a> {
    pub fn parse(bytes: &'a [u8], bits: u32, len: usize) -> Result<PackedIds<'a>, BlockError> {
        if !(1..=32).contains(&bits) {
            return Err(BlockError::Malformed(format!(
                "{bits} bits per id is outside 1..=32"
            )));
        }
        let words: &[u64] = cast(bytes, "packed ids")?;
        if words.len() != bitpack::words_for(len, bits) {
            return Err(BlockError::Malformed(format!(
                "{} words for {len} ids of {bits} bits",
                words.len()
            )));
        }
        Ok(PackedIds { words, bits, len })
    }

    #[inline]
    pub fn get(&self, doc: usize) -> u32 {
        bitpack::get(self.words, self.bits, doc)
    }

    /// Calls `visit(first_doc, ids)` over all ids, up to 64 at a time.
    #[inline]
    pub fn for_each_chunk(&self, visit: impl FnMut(usize, &[u32])) {
        bitpack::for_each_chunk(self.words, self.bits, self.len, visit)
    }
}

/// The forward index: each doc's value(s).
#[derive(Debug, Clone, Copy)]
pub enum Forward<'a> {
    DictSv(PackedIds<'a>),
    /// `starts[doc]..starts[doc+1]` index `ids`.
    DictMv {
        starts: &'a [u32],
        ids: PackedIds<'a>,
    },
    /// The sorted column: no per-doc ids; the sorted index maps docs to ids.
    Sorted(SortedIndex<'a>),
    /// Raw integers, or decimal floats as scaled integers (format v2),
    /// frame-of-reference packed keys.
    RawPacked {
        keys: ForPacked<'a>,
        codec: KeyCodec,
    },
    /// Raw floats.
    RawFixed(Fixed<'a>),
    /// Raw text or bytes, as written or compressed in chunks (v5).
    RawVar(VarBlock<'a>),
}

impl<'a> Forward<'a> {
    /// Parses a multi-value block: `start:u32{docs+1} pad8 words`.
    pub fn parse_mv(
        bytes: &'a [u8],
        bits: u32,
        docs: usize,
        total: usize,
    ) -> Result<Forward<'a>, BlockError> {
        let (starts, packed) = split_offsets(bytes, docs, "value starts")?;
        if starts[docs] as usize != total {
            return Err(BlockError::Malformed(
                "value starts do not end at the value count".into(),
            ));
        }
        let ids = PackedIds::parse(packed, bits, total)?;
        Ok(Forward::DictMv { starts, ids })
    }
}

impl Forward<'_> {
    /// The full check done once when a segment opens.
    pub fn validate(&self) -> Result<(), BlockError> {
        match self {
            Forward::DictMv { starts, .. } => {
                if starts[0] != 0 || starts.windows(2).any(|pair| pair[0] > pair[1]) {
                    return Err(BlockError::Malformed(
                        "value starts are out of order".into(),
                    ));
                }
                Ok(())
            }
            Forward::RawVar(var) => Ok(var.validate()?),
            Forward::RawPacked { keys, .. } => Ok(keys.validate()?),
            Forward::Sorted(sorted) => Ok(sorted.validate()?),
            Forward::DictSv(_) | Forward::RawFixed(_) => Ok(()),
        }
    }

    /// Checks, once when a segment opens, that every dictionary id is below
    /// `cardinality`, so lookups by id stay inside the dictionary.
    pub fn validate_ids(&self, cardinality: usize) -> Result<(), BlockError> {
        let ids = match self {
            Forward::DictSv(ids) | Forward::DictMv { ids, .. } => ids,
            // The sorted index yields ids below its own length, checked
            // against the cardinality when it is parsed.
            _ => return Ok(()),
        };
        let mut largest = 0u32;
        ids.for_each_chunk(|_, chunk| {
            largest = chunk.iter().fold(largest, |max, &id| max.max(id));
        });
        if ids.len > 0 && largest as usize >= cardinality {
            return Err(BlockError::Malformed(format!(
                "dictionary id {largest} is past the dictionary's {cardinality} values"
            )));
        }
        Ok(())
    }
}

/// Encodes a multi-value forward block.
pub fn encode_mv(starts: &[u32], words: &[u64]) -> Vec<u8> {
    let header = starts.len() * 4;
    let mut out = Vec::with_capacity(header.next_multiple_of(8) + words.len() * 8);
    for start in starts {
        out.extend_from_slice(&start.to_le_bytes());
    }
    out.resize(header.next_multiple_of(8), 0);
    out.extend_from_slice(bytemuck::cast_slice(words));
    out
}
