//! Typed column data used while building segment files: fixed-width values
//! in plain vectors, variable-width ones in one byte arena with offsets.

use std::cmp::Ordering;

use super::types::{Physical, Scalar};

/// A fixed-width value type of the format.
pub trait Prim: bytemuck::Pod + Copy + Send + Sync + 'static {
    fn cmp_total(&self, other: &Self) -> Ordering;
    fn to_scalar(self) -> Scalar;
}

impl Prim for i32 {
    fn cmp_total(&self, other: &Self) -> Ordering {
        self.cmp(other)
    }
    fn to_scalar(self) -> Scalar {
        Scalar::I32(self)
    }
}

impl Prim for i64 {
    fn cmp_total(&self, other: &Self) -> Ordering {
        self.cmp(other)
    }
    fn to_scalar(self) -> Scalar {
        Scalar::I64(self)
    }
}

impl Prim for f32 {
    fn cmp_total(&self, other: &Self) -> Ordering {
        self.total_cmp(other)
    }
    fn to_scalar(self) -> Scalar {
        Scalar::F32(self)
    }
}

impl Prim for f64 {
    fn cmp_total(&self, other: &Self) -> Ordering {
        self.total_cmp(other)
    }
    fn to_scalar(self) -> Scalar {
        Scalar::F64(self)
    }
}

/// Variable-width values: value `i` is `bytes[offsets[i]..offsets[i+1]]`.
#[derive(Debug, Clone)]
pub struct VarValues {
    pub offsets: Vec<usize>,
    pub bytes: Vec<u8>,
    pub text: bool,
}

impl VarValues {
    pub fn new(text: bool) -> VarValues {
        VarValues {
            offsets: vec![0],
            bytes: Vec::new(),
            text,
        }
    }

    pub fn push(&mut self, value: &[u8]) {
        self.bytes.extend_from_slice(value);
        self.offsets.push(self.bytes.len());
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn get(&self, index: usize) -> &[u8] {
        &self.bytes[self.offsets[index]..self.offsets[index + 1]]
    }

    pub fn scalar(&self, index: usize) -> Scalar {
        let bytes = self.get(index);
        if self.text {
            Scalar::Str(String::from_utf8_lossy(bytes).into_owned())
        } else {
            Scalar::Bytes(bytes.to_vec())
        }
    }
}

/// A column's values, one physical type.
#[derive(Debug, Clone)]
pub enum Values {
    I32(Vec<i32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    Var(VarValues),
}

/// Runs `$body` with `$v` bound to the typed vector of a fixed-width
/// `Values`, or evaluates `$var` for the variable-width case.
macro_rules! dispatch {
    ($values:expr, $v:ident => $body:expr, $var:ident => $var_body:expr) => {
        match $values {
            Values::I32($v) => $body,
            Values::I64($v) => $body,
            Values::F32($v) => $body,
            Values::F64($v) => $body,
            Values::Var($var) => $var_body,
        }
    };
}
pub(crate) use dispatch;

impl Values {
    pub fn new(physical: Physical) -> Values {
        match physical {
            Physical::I32 => Values::I32(Vec::new()),
            Physical::I64 => Values::I64(Vec::new()),
            Physical::F32 => Values::F32(Vec::new()),
            Physical::F64 => Values::F64(Vec::new()),
            Physical::Str => Values::Var(VarValues::new(true)),
            Physical::Bytes => Values::Var(VarValues::new(false)),
        }
    }

    pub fn len(&self) -> usize {
        dispatch!(self, v => v.len(), var => var.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `value`, which has this column's physical type.
    pub fn push(&mut self, value: &Scalar) {
        match (self, value) {
            (Values::I32(v), Scalar::I32(x)) => v.push(*x),
            (Values::I64(v), Scalar::I64(x)) => v.push(*x),
            (Values::F32(v), Scalar::F32(x)) => v.push(*x),
            (Values::F64(v), Scalar::F64(x)) => v.push(*x),
            (Values::Var(v), Scalar::Str(x)) => v.push(x.as_bytes()),
            (Values::Var(v), Scalar::Bytes(x)) => v.push(x),
            _ => debug_assert!(false, "value of the wrong physical type"),
        }
    }

    pub fn scalar(&self, index: usize) -> Scalar {
        dispatch!(self, v => v[index].to_scalar(), var => var.scalar(index))
    }

    pub fn compare(&self, a: usize, b: usize) -> Ordering {
        dispatch!(self, v => v[a].cmp_total(&v[b]), var => var.get(a).cmp(var.get(b)))
    }

    /// The values at `order`, in that order.
    pub fn gather(&self, order: &[u32]) -> Values {
        match self {
            Values::I32(v) => Values::I32(order.iter().map(|&i| v[i as usize]).collect()),
            Values::I64(v) => Values::I64(order.iter().map(|&i| v[i as usize]).collect()),
            Values::F32(v) => Values::F32(order.iter().map(|&i| v[i as usize]).collect()),
            Values::F64(v) => Values::F64(order.iter().map(|&i| v[i as usize]).collect()),
            Values::Var(var) => {
                let mut out = VarValues::new(var.text);
                out.bytes.reserve(var.bytes.len());
                for &i in order {
                    out.push(var.get(i as usize));
                }
                Values::Var(out)
            }
        }
    }

    /// Values `range`, copied.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Values {
        match self {
            Values::I32(v) => Values::I32(v[range].to_vec()),
            Values::I64(v) => Values::I64(v[range].to_vec()),
            Values::F32(v) => Values::F32(v[range].to_vec()),
            Values::F64(v) => Values::F64(v[range].to_vec()),
            Values::Var(var) => {
                let mut out = VarValues::new(var.text);
                for index in range {
                    out.push(var.get(index));
                }
                Values::Var(out)
            }
        }
    }

    /// Appends all of `other` (same physical type).
    pub fn extend(&mut self, other: &Values) {
        match (self, other) {
            (Values::I32(a), Values::I32(b)) => a.extend_from_slice(b),
            (Values::I64(a), Values::I64(b)) => a.extend_from_slice(b),
            (Values::F32(a), Values::F32(b)) => a.extend_from_slice(b),
            (Values::F64(a), Values::F64(b)) => a.extend_from_slice(b),
            (Values::Var(a), Values::Var(b)) => {
                for index in 0..b.len() {
                    a.push(b.get(index));
                }
            }
            _ => debug_assert!(false, "values of different physical types"),
        }
    }

    /// Canonical bytes of value `index` (little-endian numbers), for hashing.
    pub fn canonical(&self, index: usize) -> &[u8] {
        dispatch!(self, v => bytemuck::bytes_of(&v[index]), var => var.get(index))
    }

    /// Sorted distinct values and, per input value, its id among them.
    pub fn dictionary_encode(&self) -> (Values, Vec<u32>) {
        match self {
            Values::I32(v) => typed_encode(v, Values::I32),
            Values::I64(v) => typed_encode(v, Values::I64),
            Values::F32(v) => typed_encode(v, Values::F32),
            Values::F64(v) => typed_encode(v, Values::F64),
            Values::Var(var) => var_encode(var),
        }
    }

    /// Whether values never decrease.
    pub fn is_sorted(&self) -> bool {
        dispatch!(self, v => v.windows(2).all(|pair| pair[0].cmp_total(&pair[1]) != Ordering::Greater),
            var => (1..var.len()).all(|i| var.get(i - 1) <= var.get(i)))
    }

    /// Number of distinct values.
    pub fn distinct_count(&self) -> usize {
        dispatch!(self, v => {
            let mut sorted = v.clone();
            sorted.sort_unstable_by(Prim::cmp_total);
            sorted.dedup_by(|a, b| a.cmp_total(b) == Ordering::Equal);
            sorted.len()
        }, var => {
            let distinct: std::collections::HashSet<&[u8], foldhash::fast::RandomState> =
                (0..var.len()).map(|i| var.get(i)).collect();
            distinct.len()
        })
    }

    /// Index of the smallest and largest value.
    pub fn min_max(&self) -> Option<(usize, usize)> {
        if self.is_empty() {
            return None;
        }
        let (mut min, mut max) = (0, 0);
        for i in 1..self.len() {
            if self.compare(i, min) == Ordering::Less {
                min = i;
            }
            if self.compare(i, max) == Ordering::Greater {
                max = i;
            }
        }
        Some((min, max))
    }
}

/// Sorts (value, position) pairs once: distinct values in order, and ids.
fn typed_encode<T: Prim>(values: &[T], wrap: fn(Vec<T>) -> Values) -> (Values, Vec<u32>) {
    let mut pairs: Vec<(T, u32)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (*v, i as u32))
        .collect();
    pairs.sort_unstable_by(|a, b| a.0.cmp_total(&b.0));
    let mut ids = vec![0u32; values.len()];
    let mut distinct: Vec<T> = Vec::new();
    for (value, position) in pairs {
        if distinct
            .last()
            .is_none_or(|last| last.cmp_total(&value) != Ordering::Equal)
        {
            distinct.push(value);
        }
        ids[position as usize] = (distinct.len() - 1) as u32;
    }
    (wrap(distinct), ids)
}

/// Hashes to first-seen ids (text columns repeat values a lot), then sorts
/// only the distinct values and remaps.
fn var_encode(var: &VarValues) -> (Values, Vec<u32>) {
    let mut first_seen: std::collections::HashMap<&[u8], u32, foldhash::fast::RandomState> =
        Default::default();
    let mut distinct: Vec<&[u8]> = Vec::new();
    let mut ids = Vec::with_capacity(var.len());
    for index in 0..var.len() {
        let value = var.get(index);
        let id = *first_seen.entry(value).or_insert_with(|| {
            distinct.push(value);
            (distinct.len() - 1) as u32
        });
        ids.push(id);
    }
    let mut order: Vec<u32> = (0..distinct.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| distinct[a as usize].cmp(distinct[b as usize]));
    let mut rank = vec![0u32; distinct.len()];
    let mut sorted = VarValues::new(var.text);
    for (position, &id) in order.iter().enumerate() {
        rank[id as usize] = position as u32;
        sorted.push(distinct[id as usize]);
    }
    for id in &mut ids {
        *id = rank[*id as usize];
    }
    (Values::Var(sorted), ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn dictionary_encoding_is_sorted_and_exact(raw in proptest::collection::vec(-20i64..20, 0..300)) {
            let values = Values::I64(raw.clone());
            let (dictionary, ids) = values.dictionary_encode();
            let Values::I64(dictionary) = dictionary else { unreachable!() };
            prop_assert!(dictionary.windows(2).all(|pair| pair[0] < pair[1]));
            for (value, id) in raw.iter().zip(&ids) {
                prop_assert_eq!(dictionary[*id as usize], *value);
            }
            prop_assert_eq!(values.distinct_count(), dictionary.len());
        }

        #[test]
        fn var_dictionary(raw in proptest::collection::vec("[a-c]{0,3}", 0..200)) {
            let mut var = VarValues::new(true);
            for value in &raw {
                var.push(value.as_bytes());
            }
            let values = Values::Var(var);
            let (dictionary, ids) = values.dictionary_encode();
            for (index, value) in raw.iter().enumerate() {
                prop_assert_eq!(dictionary.scalar(ids[index] as usize), Scalar::Str(value.clone()));
            }
        }
    }
}
