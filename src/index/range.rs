//! Range index: docs grouped into buckets of adjacent values, one bitmap per
//! bucket. A range predicate takes the union of the buckets it covers fully
//! and checks only the docs of the (at most two) buckets it covers partly.
//!
//! Keys are dictionary ids for dictionary-encoded columns and the values
//! themselves for raw numeric columns. Bucket bounds are stored in the
//! segment footer; the block holds the bitmaps.

use std::cmp::Ordering;

use roaring::RoaringBitmap;

use super::bitmaps::{self, Bitmaps};
use super::error::Result;

/// Most buckets per column: the partly covered edge buckets then hold under
/// 1/64 of the docs each, while the bounds stay a small part of the footer.
pub const MAX_BUCKETS: usize = 128;

/// How a predicate's range meets a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    Full,
    Partial,
    None,
}

/// A built range index: bucket bounds and bitmaps.
pub struct RangeBuild<K> {
    pub bounds: Vec<(K, K)>,
    pub bitmaps: Vec<RoaringBitmap>,
}

impl<K> RangeBuild<K> {
    pub fn encode(&self) -> Result<Vec<u8>> {
        bitmaps::encode(&self.bitmaps)
    }
}

/// Builds over dictionary ids: `entries` yields (doc, id) in doc order.
pub fn build_dict(
    entries: impl IntoIterator<Item = (u32, u32)> + Clone,
    cardinality: usize,
) -> RangeBuild<u32> {
    let mut counts = vec![0u64; cardinality];
    let mut total = 0u64;
    for (_, id) in entries.clone() {
        counts[id as usize] += 1;
        total += 1;
    }
    let target = total.div_ceil(MAX_BUCKETS as u64).max(1);
    let mut bucket_of = vec![0u32; cardinality];
    let mut bounds: Vec<(u32, u32)> = Vec::new();
    let mut filled = 0u64;
    for (id, count) in counts.iter().enumerate() {
        let id = id as u32;
        match bounds.last_mut() {
            Some(last) if filled < target => last.1 = id,
            _ => {
                bounds.push((id, id));
                filled = 0;
            }
        }
        filled += count;
        bucket_of[id as usize] = (bounds.len() - 1) as u32;
    }
    let mut bitmaps = vec![RoaringBitmap::new(); bounds.len()];
    for (doc, id) in entries {
        bitmaps[bucket_of[id as usize] as usize].push(doc);
    }
    RangeBuild { bounds, bitmaps }
}

/// Builds over raw values in doc order, ordered by `cmp`.
pub fn build_values<K: Clone>(values: &[K], cmp: impl Fn(&K, &K) -> Ordering) -> RangeBuild<K> {
    let mut order: Vec<u32> = (0..values.len() as u32).collect();
    order.sort_by(|a, b| cmp(&values[*a as usize], &values[*b as usize]));
    let target = values.len().div_ceil(MAX_BUCKETS).max(1);
    let mut bounds: Vec<(K, K)> = Vec::new();
    let mut bitmaps: Vec<RoaringBitmap> = Vec::new();
    let mut filled = 0;
    for doc in order {
        let value = &values[doc as usize];
        let same_as_last = bounds
            .last()
            .is_some_and(|(_, hi)| cmp(hi, value) == Ordering::Equal);
        if bounds.is_empty() || (filled >= target && !same_as_last) {
            bounds.push((value.clone(), value.clone()));
            bitmaps.push(RoaringBitmap::new());
            filled = 0;
        }
        if let Some(last) = bounds.last_mut() {
            last.1 = value.clone();
        }
        if let Some(bitmap) = bitmaps.last_mut() {
            bitmap.insert(doc);
        }
        filled += 1;
    }
    RangeBuild { bounds, bitmaps }
}

/// A stored range index.
#[derive(Debug, Clone)]
pub struct RangeIndex<'a, K> {
    bounds: Vec<(K, K)>,
    bitmaps: Bitmaps<'a>,
}

impl<'a, K> RangeIndex<'a, K> {
    pub fn parse(block: &'a [u8], bounds: Vec<(K, K)>) -> Result<RangeIndex<'a, K>> {
        let bitmaps = Bitmaps::parse(block, bounds.len())?;
        Ok(RangeIndex { bounds, bitmaps })
    }

    pub fn validate(&self) -> Result<()> {
        self.bitmaps.validate()
    }

    pub fn bounds(&self) -> &[(K, K)] {
        &self.bounds
    }

    /// Splits the docs by how `coverage(lo, hi)` says each bucket meets the
    /// predicate: (docs that surely match, docs that must be checked).
    pub fn lookup(
        &self,
        coverage: impl Fn(&K, &K) -> Coverage,
    ) -> Result<(RoaringBitmap, RoaringBitmap)> {
        let mut full = RoaringBitmap::new();
        let mut partial = RoaringBitmap::new();
        for (index, (lo, hi)) in self.bounds.iter().enumerate() {
            match coverage(lo, hi) {
                Coverage::Full => full |= self.bitmaps.get(index)?,
                Coverage::Partial => partial |= self.bitmaps.get(index)?,
                Coverage::None => {}
            }
        }
        Ok((full, partial))
    }
}

/// Coverage of bucket `[lo, hi]` by the inclusive range `[low, high]`
/// (either end open when `None`) under `cmp`.
pub fn coverage<K>(
    lo: &K,
    hi: &K,
    low: Option<&K>,
    high: Option<&K>,
    cmp: impl Fn(&K, &K) -> Ordering,
) -> Coverage {
    let below = high.is_some_and(|high| cmp(lo, high) == Ordering::Greater);
    let above = low.is_some_and(|low| cmp(hi, low) == Ordering::Less);
    if below || above {
        return Coverage::None;
    }
    let starts_inside = low.is_none_or(|low| cmp(lo, low) != Ordering::Less);
    let ends_inside = high.is_none_or(|high| cmp(hi, high) != Ordering::Greater);
    if starts_inside && ends_inside {
        Coverage::Full
    } else {
        Coverage::Partial
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn answer<K: Copy>(
        index: &RangeIndex<'_, K>,
        values: &[K],
        low: K,
        high: K,
        cmp: impl Fn(&K, &K) -> Ordering + Copy,
    ) -> Vec<u32> {
        let (full, partial) = index
            .lookup(|lo, hi| coverage(lo, hi, Some(&low), Some(&high), cmp))
            .unwrap();
        let mut result = full;
        for doc in partial {
            let value = &values[doc as usize];
            if cmp(value, &low) != Ordering::Less && cmp(value, &high) != Ordering::Greater {
                result.insert(doc);
            }
        }
        result.into_iter().collect()
    }

    proptest! {
        #[test]
        fn raw_values_match_a_scan(values in proptest::collection::vec(-50i64..50, 1..2000), a in -60i64..60, b in -60i64..60) {
            let (low, high) = (a.min(b), a.max(b));
            let built = build_values(&values, i64::cmp);
            let block = built.encode().unwrap();
            let index = RangeIndex::parse(&block, built.bounds.clone()).unwrap();
            let expected: Vec<u32> = (0..values.len() as u32).filter(|d| (low..=high).contains(&values[*d as usize])).collect();
            prop_assert_eq!(answer(&index, &values, low, high, i64::cmp), expected);
        }

        #[test]
        fn dict_ids_match_a_scan(ids in proptest::collection::vec(0u32..300, 1..3000), a in 0u32..300, b in 0u32..300) {
            let (low, high) = (a.min(b), a.max(b));
            let built = build_dict(ids.iter().enumerate().map(|(doc, id)| (doc as u32, *id)), 300);
            prop_assert!(built.bounds.len() <= MAX_BUCKETS);
            let block = built.encode().unwrap();
            let index = RangeIndex::parse(&block, built.bounds.clone()).unwrap();
            let expected: Vec<u32> = (0..ids.len() as u32).filter(|d| (low..=high).contains(&ids[*d as usize])).collect();
            prop_assert_eq!(answer(&index, &ids, low, high, u32::cmp), expected);
        }
    }
}
