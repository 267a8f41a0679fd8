//! Aggregation states: one [`Acc`] per aggregate, one state per group.
//!
//! ```text
//! acc          = 0 count varint*                  COUNT
//!              | 1 count f64* | 2 count f64* | 3 count f64*   SUM, MIN, MAX
//!              | 4 count f64* count varint*       AVG: sums, counts
//!              | 5 count f64* count f64*          MINMAXRANGE: minimums, maximums
//!              | 6 count distinct_set*            DISTINCTCOUNT
//!              | 7 id_bits:u8 count varint* sorted groups   dictionary ids (in a segment)
//!              | 8 cardinality groups count varint*         id bitsets (in a segment)
//!              | 9 count hll*                     DISTINCTCOUNTHLL
//!              | 10 count quantiles*              PERCENTILEEST
//!              | 11 count (count f64*)*           exact percentiles' values
//! distinct_set = count [zigzag(first) varint(step)*] count value*
//!                                                 integers ascending, then the rest
//! hll          = sketch::Hll::encode (sparse pairs or 256 registers)
//! quantiles    = sketch::Quantiles::encode (zero count, bucket ranges)
//! ```
//!
//! The sketches keep the compact forms star-tree records store them in.
//! Counts (COUNT, AVG's counts, a sketch's total) are refused past
//! [`MAX_COUNT`].

use super::buf::{Reader, Writer};
use super::error::WireError;
use super::value::{get_value, put_value};
use crate::expr::value::Value;
use crate::query::agg::{Acc, DistinctSet, IdBits, IdPairs};
use crate::sketch::{Hll, Quantiles};

/// Most docs one count may stand for: 2^48 is far past what any server
/// holds, and a broker adding up such counts from 65,536 servers still
/// cannot overflow.
pub const MAX_COUNT: u64 = 1 << 48;

pub fn put_acc(w: &mut Writer, acc: &Acc) {
    match acc {
        Acc::Count(counts) => {
            w.u8(0);
            w.list(counts, |w, count| w.varint(*count));
        }
        Acc::Sum(values) => put_f64s(w, 1, values),
        Acc::Min(values) => put_f64s(w, 2, values),
        Acc::Max(values) => put_f64s(w, 3, values),
        Acc::Avg(sums, counts) => {
            put_f64s(w, 4, sums);
            w.list(counts, |w, count| w.varint(*count));
        }
        Acc::MinMax(mins, maxes) => {
            put_f64s(w, 5, mins);
            w.list(maxes, |w, value| w.f64(*value));
        }
        Acc::Distinct(sets) => {
            w.u8(6);
            w.list(sets, put_distinct_set);
        }
        Acc::DistinctPairs(pairs) => {
            let (id_bits, keys, sorted, groups) = pairs.parts();
            w.u8(7);
            w.u8(id_bits as u8);
            w.list(&keys, |w, key| w.varint(*key));
            w.usize(sorted);
            w.usize(groups);
        }
        Acc::DistinctBits(bits) => {
            let (cardinality, groups, words) = bits.parts();
            w.u8(8);
            w.usize(cardinality);
            w.usize(groups);
            w.list(words, |w, word| w.varint(*word));
        }
        Acc::Hll(sketches) => {
            w.u8(9);
            w.list(sketches, |w, sketch| sketch.encode(w.out()));
        }
        Acc::Quantiles(sketches) => {
            w.u8(10);
            w.list(sketches, |w, sketch| sketch.encode(w.out()));
        }
        Acc::Values(lists) => {
            w.u8(11);
            w.list(lists, |w, values| w.list(values, |w, value| w.f64(*value)));
        }
    }
}

fn put_f64s(w: &mut Writer, tag: u8, values: &[f64]) {
    w.u8(tag);
    w.list(values, |w, value| w.f64(*value));
}

fn put_distinct_set(w: &mut Writer, set: &DistinctSet) {
    let longs: Vec<i64> = set.longs().collect();
    w.usize(longs.len());
    if let Some(first) = longs.first() {
        w.zigzag(*first);
        for pair in longs.windows(2) {
            w.varint(pair[1].wrapping_sub(pair[0]) as u64);
        }
    }
    // In value order, so equal sets encode to equal bytes.
    let mut others: Vec<&Value> = set.others().collect();
    others.sort_by(|a, b| a.total_cmp(b));
    w.list(&others, |w, value| put_value(w, value));
}

pub fn get_acc(r: &mut Reader<'_>) -> Result<Acc, WireError> {
    let tag = r.tag("aggregation state")?;
    Ok(match tag.0 {
        0 => Acc::Count(get_counts(r)?),
        1 => Acc::Sum(get_f64s(r)?),
        2 => Acc::Min(get_f64s(r)?),
        3 => Acc::Max(get_f64s(r)?),
        4 => {
            let sums = get_f64s(r)?;
            let at = r.at();
            let counts = get_counts(r)?;
            same_len(r, at, sums.len(), counts.len())?;
            Acc::Avg(sums, counts)
        }
        5 => {
            let mins = get_f64s(r)?;
            let at = r.at();
            let maxes = get_f64s(r)?;
            same_len(r, at, mins.len(), maxes.len())?;
            Acc::MinMax(mins, maxes)
        }
        6 => Acc::Distinct(r.list("distinct sets", get_distinct_set)?),
        7 => {
            let at = r.at();
            let id_bits = u32::from(r.u8("id bits")?);
            let keys = r.list("id pairs", |r| r.varint("id pair"))?;
            let sorted = r.usize("sorted pairs")?;
            let groups = r.usize("groups")?;
            let pairs = IdPairs::from_parts(id_bits, keys, sorted, groups).ok_or_else(|| {
                r.invalid(
                    "id pairs",
                    at,
                    "id bits must be 1 to 32 and the sorted prefix must ascend",
                )
            })?;
            Acc::DistinctPairs(pairs)
        }
        8 => {
            let at = r.at();
            let cardinality = r.usize("cardinality")?;
            let groups = r.usize("groups")?;
            let words = r.list("id bitsets", |r| r.varint("id bitset"))?;
            let bits = IdBits::from_parts(cardinality, groups, words).ok_or_else(|| {
                r.invalid(
                    "id bitsets",
                    at,
                    "the words must hold one bitset of the cardinality's bits per group",
                )
            })?;
            Acc::DistinctBits(bits)
        }
        9 => Acc::Hll(r.list("HyperLogLog sketches", get_hll)?),
        10 => Acc::Quantiles(r.list("quantile sketches", get_quantiles)?),
        11 => Acc::Values(r.list("percentile values", get_f64s)?),
        _ => return Err(r.unknown("aggregation state", tag)),
    })
}

fn same_len(r: &Reader<'_>, at: usize, first: usize, second: usize) -> Result<(), WireError> {
    if first == second {
        return Ok(());
    }
    Err(r.invalid(
        "aggregation state",
        at,
        format!("its two lists hold {first} and {second} groups"),
    ))
}

fn get_f64s(r: &mut Reader<'_>) -> Result<Vec<f64>, WireError> {
    r.list("doubles", |r| r.f64("double"))
}

fn get_count(r: &mut Reader<'_>) -> Result<u64, WireError> {
    let at = r.at();
    let count = r.varint("count")?;
    if count > MAX_COUNT {
        return Err(r.invalid("count", at, format!("{count} is past 2^48")));
    }
    Ok(count)
}

fn get_counts(r: &mut Reader<'_>) -> Result<Vec<u64>, WireError> {
    r.list("counts", get_count)
}

fn get_distinct_set(r: &mut Reader<'_>) -> Result<DistinctSet, WireError> {
    let at = r.at();
    let len = r.len("distinct integers")?;
    let mut longs = Vec::with_capacity(len.min(super::buf::RESERVE));
    if len > 0 {
        let mut last = r.zigzag("distinct integer")?;
        longs.push(last);
        for _ in 1..len {
            let step = r.varint("distinct integer step")?;
            // Strictly ascending, within i64.
            let next = i64::try_from(i128::from(last) + i128::from(step))
                .ok()
                .filter(|_| step > 0)
                .ok_or_else(|| r.invalid("distinct integers", at, "they must ascend strictly"))?;
            longs.push(next);
            last = next;
        }
    }
    let mut set = DistinctSet::default();
    set.extend_sorted_longs(longs.into_iter());
    let others = r.list("distinct values", get_value)?;
    for value in others {
        set.insert(value);
    }
    Ok(set)
}

fn get_hll(r: &mut Reader<'_>) -> Result<Hll, WireError> {
    let at = r.at();
    let mut sketch = Hll::default();
    let Some(used) = sketch.merge_encoded(r.remaining()) else {
        return Err(r.invalid(
            "HyperLogLog sketch",
            at,
            "not a sparse or dense register form",
        ));
    };
    r.advance(used, "HyperLogLog sketch")?;
    Ok(sketch)
}

fn get_quantiles(r: &mut Reader<'_>) -> Result<Quantiles, WireError> {
    let at = r.at();
    let mut sketch = Quantiles::default();
    let Some(used) = sketch.merge_encoded(r.remaining()) else {
        return Err(r.invalid(
            "quantile sketch",
            at,
            "not a zero count and two bucket ranges",
        ));
    };
    r.advance(used, "quantile sketch")?;
    match sketch.checked_count() {
        Some(count) if count <= MAX_COUNT => Ok(sketch),
        _ => Err(r.invalid("quantile sketch", at, "its counts add up past 2^48")),
    }
}
