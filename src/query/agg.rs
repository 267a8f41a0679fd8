//! Aggregate functions and their mergeable per-group states, stored one
//! array per aggregate ([`Acc`]) so a batch updates a column of states in
//! one tight loop. Segments build them; the broker merges them group by
//! group and finishes each into a value.

use std::collections::HashSet;

use roaring::RoaringTreemap;

use super::filter::Filter;
pub use super::idsets::{IdBits, IdPairs};
use super::scatter;
use crate::expr::value::{ColumnType, Value};
use crate::expr::Expr;
use crate::sketch::{hash_bytes, hash_i64, hash_number, Hll, Quantiles};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AggFunc {
    Count,
    Sum,
    Min,
    Max,
    Avg,
    MinMaxRange,
    DistinctCount,
    DistinctCountHll,
    Percentile(f64),
    PercentileEst(f64),
    PercentileTDigest(f64),
}

/// Every aggregate name the engine knows, for "did you mean" hints.
pub const NAMES: &[&str] = &[
    "count",
    "sum",
    "min",
    "max",
    "avg",
    "minmaxrange",
    "distinctcount",
    "distinctcounthll",
    "percentile",
    "percentileest",
    "percentiletdigest",
];

impl AggFunc {
    /// The aggregate called `name`; percentiles take their rank separately.
    pub fn lookup(name: &str) -> Option<AggFunc> {
        Some(match name.to_ascii_lowercase().as_str() {
            "count" => AggFunc::Count,
            "sum" => AggFunc::Sum,
            "min" => AggFunc::Min,
            "max" => AggFunc::Max,
            "avg" => AggFunc::Avg,
            "minmaxrange" => AggFunc::MinMaxRange,
            "distinctcount" => AggFunc::DistinctCount,
            "distinctcounthll" => AggFunc::DistinctCountHll,
            "percentile" => AggFunc::Percentile(50.0),
            "percentileest" => AggFunc::PercentileEst(50.0),
            "percentiletdigest" => AggFunc::PercentileTDigest(50.0),
            _ => return None,
        })
    }

    pub fn with_percentile(self, rank: f64) -> AggFunc {
        match self {
            AggFunc::Percentile(_) => AggFunc::Percentile(rank),
            AggFunc::PercentileEst(_) => AggFunc::PercentileEst(rank),
            AggFunc::PercentileTDigest(_) => AggFunc::PercentileTDigest(rank),
            other => other,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            AggFunc::Count => "count",
            AggFunc::Sum => "sum",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
            AggFunc::Avg => "avg",
            AggFunc::MinMaxRange => "minmaxrange",
            AggFunc::DistinctCount => "distinctcount",
            AggFunc::DistinctCountHll => "distinctcounthll",
            AggFunc::Percentile(_) => "percentile",
            AggFunc::PercentileEst(_) => "percentileest",
            AggFunc::PercentileTDigest(_) => "percentiletdigest",
        }
    }

    pub fn is_percentile(self) -> bool {
        matches!(
            self,
            AggFunc::Percentile(_) | AggFunc::PercentileEst(_) | AggFunc::PercentileTDigest(_)
        )
    }

    /// Whether the input must be numeric.
    pub fn numeric_input(self) -> bool {
        !matches!(
            self,
            AggFunc::Count | AggFunc::DistinctCount | AggFunc::DistinctCountHll
        )
    }

    /// Pinot's result type.
    pub fn result_type(self) -> ColumnType {
        match self {
            AggFunc::Count | AggFunc::DistinctCountHll | AggFunc::PercentileEst(_) => {
                ColumnType::Long
            }
            AggFunc::DistinctCount => ColumnType::Int,
            _ => ColumnType::Double,
        }
    }
}

/// One aggregate of a query.
#[derive(Debug, Clone)]
pub struct Aggregate {
    pub func: AggFunc,
    /// `None` for `COUNT(*)`.
    pub arg: Option<Expr>,
    /// `FILTER (WHERE ...)`.
    pub filter: Option<Filter>,
    pub name: String,
}

/// Distinct values of one group: integers in a compressed bitmap, others
/// in a hash set.
#[derive(Debug, Clone, Default)]
pub struct DistinctSet {
    longs: RoaringTreemap,
    others: HashSet<Value>,
}

const SIGN: u64 = 1 << 63;

/// Bytes a value takes in a hash set or a list, estimated: its slot and
/// what it points to.
pub fn value_bytes(value: &Value) -> u64 {
    let heap = match value {
        Value::Str(text) => text.len() as u64,
        Value::Bytes(bytes) => bytes.len() as u64,
        Value::Array(values) => values.iter().map(value_bytes).sum(),
        Value::Null | Value::Long(_) | Value::Double(_) => 0,
    };
    std::mem::size_of::<Value>() as u64 + heap
}

/// Bytes of one integer in a [`DistinctSet`]'s bitmap, estimated: two in a
/// dense container, far more alone in a sparse one.
const DISTINCT_LONG_BYTES: u64 = 8;
/// Hash table overhead per value of a [`DistinctSet`].
const DISTINCT_SLOT_BYTES: u64 = 8;

impl DistinctSet {
    /// Adds `value`, returning the bytes it added (0 when already in).
    pub fn insert(&mut self, value: Value) -> u64 {
        let added = match value {
            Value::Long(v) => self.longs.insert(v as u64 ^ SIGN),
            Value::Double(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => {
                self.longs.insert(v as i64 as u64 ^ SIGN)
            }
            other => {
                let bytes = value_bytes(&other) + DISTINCT_SLOT_BYTES;
                return if self.others.insert(other) { bytes } else { 0 };
            }
        };
        if added {
            DISTINCT_LONG_BYTES
        } else {
            0
        }
    }

    /// Inserts integers already in ascending order (a sorted dictionary).
    pub fn extend_sorted_longs(&mut self, values: impl Iterator<Item = i64>) {
        let keys = values.map(|v| v as u64 ^ SIGN);
        if self.longs.is_empty() {
            if let Ok(set) = RoaringTreemap::from_sorted_iter(keys) {
                self.longs = set;
                return;
            }
            return;
        }
        self.longs.extend(keys);
    }

    /// The integers, ascending.
    pub fn longs(&self) -> impl Iterator<Item = i64> + '_ {
        self.longs.iter().map(|key| (key ^ SIGN) as i64)
    }

    /// The values other than integers, in no particular order.
    pub fn others(&self) -> impl Iterator<Item = &Value> {
        self.others.iter()
    }

    pub fn merge(&mut self, other: &DistinctSet) {
        self.longs |= &other.longs;
        self.others.extend(other.others.iter().cloned());
    }

    pub fn len(&self) -> u64 {
        self.longs.len() + self.others.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Per-group states of one aggregate.
#[derive(Debug, Clone)]
pub enum Acc {
    Count(Vec<u64>),
    Sum(Vec<f64>),
    Min(Vec<f64>),
    Max(Vec<f64>),
    Avg(Vec<f64>, Vec<u64>),
    MinMax(Vec<f64>, Vec<f64>),
    Distinct(Vec<DistinctSet>),
    /// Dictionary ids per group, inside one segment (see `exec/group.rs`).
    DistinctPairs(IdPairs),
    /// The same as one bitset per group, side by side (few groups).
    DistinctBits(IdBits),
    /// `DISTINCTCOUNTHLL`: HyperLogLog registers per group.
    Hll(Vec<Hll>),
    /// `PERCENTILEEST`: bucketed counts per group.
    Quantiles(Vec<Quantiles>),
    Values(Vec<Vec<f64>>),
}

/// The distinct-count hash of a value (see `sketch::hash`); `None` for
/// nulls. An array counts its elements.
pub fn value_hashes(value: &Value, out: &mut impl FnMut(u64)) {
    match value {
        Value::Null => {}
        Value::Long(v) => out(hash_i64(*v)),
        Value::Double(v) => out(hash_number(*v)),
        Value::Str(v) => out(hash_bytes(v.as_bytes())),
        Value::Bytes(v) => out(hash_bytes(v)),
        Value::Array(values) => values.iter().for_each(|v| value_hashes(v, out)),
    }
}

impl Acc {
    pub fn new(func: AggFunc) -> Acc {
        match func {
            AggFunc::Count => Acc::Count(Vec::new()),
            AggFunc::Sum => Acc::Sum(Vec::new()),
            AggFunc::Min => Acc::Min(Vec::new()),
            AggFunc::Max => Acc::Max(Vec::new()),
            AggFunc::Avg => Acc::Avg(Vec::new(), Vec::new()),
            AggFunc::MinMaxRange => Acc::MinMax(Vec::new(), Vec::new()),
            AggFunc::DistinctCount => Acc::Distinct(Vec::new()),
            AggFunc::DistinctCountHll => Acc::Hll(Vec::new()),
            AggFunc::PercentileEst(_) => Acc::Quantiles(Vec::new()),
            _ => Acc::Values(Vec::new()),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Acc::Count(v) => v.len(),
            Acc::Sum(v) | Acc::Min(v) | Acc::Max(v) | Acc::Avg(v, _) | Acc::MinMax(v, _) => v.len(),
            Acc::Distinct(v) => v.len(),
            Acc::DistinctPairs(pairs) => pairs.groups(),
            Acc::DistinctBits(bits) => bits.groups(),
            Acc::Hll(v) => v.len(),
            Acc::Quantiles(v) => v.len(),
            Acc::Values(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes room for `groups` groups.
    pub fn resize(&mut self, groups: usize) {
        match self {
            Acc::Count(v) => v.resize(groups, 0),
            Acc::Sum(v) => v.resize(groups, 0.0),
            Acc::Min(v) => v.resize(groups, f64::INFINITY),
            Acc::Max(v) => v.resize(groups, f64::NEG_INFINITY),
            Acc::Avg(sum, count) => {
                sum.resize(groups, 0.0);
                count.resize(groups, 0);
            }
            Acc::MinMax(min, max) => {
                min.resize(groups, f64::INFINITY);
                max.resize(groups, f64::NEG_INFINITY);
            }
            Acc::Distinct(v) => v.resize_with(groups, DistinctSet::default),
            Acc::DistinctPairs(pairs) => pairs.resize(groups),
            Acc::DistinctBits(bits) => bits.resize(groups),
            Acc::Hll(v) => v.resize_with(groups, Hll::default),
            Acc::Quantiles(v) => v.resize_with(groups, Quantiles::default),
            Acc::Values(v) => v.resize_with(groups, Vec::new),
        }
    }

    /// Counts one doc per entry of `groups`.
    #[inline]
    pub fn count(&mut self, groups: &[u32]) {
        if let Acc::Count(counts) = self {
            scatter::add(groups, counts, |_| 1);
        }
    }

    /// Bytes every group's state takes now, estimated the way
    /// [`Acc::bytes_per_group`] and [`DistinctSet::insert`] count them.
    pub fn bytes(&self) -> u64 {
        let fixed = self.len() as u64 * self.bytes_per_group() + self.buffer_bytes();
        let grown: u64 = match self {
            Acc::Distinct(sets) => sets
                .iter()
                .map(|set| {
                    set.longs.len() * DISTINCT_LONG_BYTES
                        + set
                            .others
                            .iter()
                            .map(|value| value_bytes(value) + DISTINCT_SLOT_BYTES)
                            .sum::<u64>()
                })
                .sum(),
            Acc::Values(lists) => lists.iter().map(|list| list.len() as u64 * 8).sum(),
            _ => 0,
        };
        fixed + grown
    }

    /// Bytes a group's state takes before it grows with its inputs
    /// (distinct values, exact percentiles' lists, dictionary id buffers
    /// grow; see [`Acc::update_f64`] and [`IdPairs::heap_bytes`]).
    pub fn bytes_per_group(&self) -> u64 {
        let bytes = match self {
            Acc::Count(_) | Acc::Sum(_) | Acc::Min(_) | Acc::Max(_) => 8,
            Acc::Avg(..) | Acc::MinMax(..) => 16,
            Acc::Distinct(_) => std::mem::size_of::<DistinctSet>(),
            Acc::DistinctPairs(_) | Acc::DistinctBits(_) => 0,
            // 256 one-byte registers behind a pointer.
            Acc::Hll(_) => std::mem::size_of::<Hll>() + 256,
            // Buckets spanning a few decades of values.
            Acc::Quantiles(_) => std::mem::size_of::<Quantiles>() + 512,
            Acc::Values(_) => std::mem::size_of::<Vec<f64>>(),
        };
        bytes as u64
    }

    /// Bytes held outside the per-group arrays, in buffers measured whole
    /// (dictionary ids collected for distinct counts).
    pub fn buffer_bytes(&self) -> u64 {
        match self {
            Acc::DistinctPairs(pairs) => pairs.heap_bytes() as u64,
            Acc::DistinctBits(bits) => bits.heap_bytes() as u64,
            _ => 0,
        }
    }

    /// Adds the numeric inputs of a batch, `values[i]` to `groups[i]`,
    /// returning the bytes the states grew by (distinct values and exact
    /// percentiles' lists grow; the others keep their size).
    #[inline]
    pub fn update_f64(&mut self, groups: &[u32], values: &[f64]) -> u64 {
        let groups = &groups[..groups.len().min(values.len())];
        let pairs = groups.iter().zip(values);
        match self {
            Acc::Distinct(sets) => {
                return pairs
                    .map(|(g, v)| sets[*g as usize].insert(Value::Double(*v)))
                    .sum()
            }
            Acc::Values(lists) => {
                pairs.for_each(|(g, v)| lists[*g as usize].push(*v));
                return groups.len() as u64 * 8;
            }
            _ => {}
        }
        match self {
            Acc::Count(counts) => scatter::add(groups, counts, |_| 1),
            Acc::Sum(sums) => scatter::add(groups, sums, |row| values[row]),
            Acc::Min(mins) => pairs.for_each(|(g, v)| {
                let slot = &mut mins[*g as usize];
                *slot = slot.min(*v);
            }),
            Acc::Max(maxes) => pairs.for_each(|(g, v)| {
                let slot = &mut maxes[*g as usize];
                *slot = slot.max(*v);
            }),
            Acc::Avg(sums, counts) => {
                scatter::add(groups, sums, |row| values[row]);
                scatter::add(groups, counts, |_| 1);
            }
            Acc::MinMax(mins, maxes) => pairs.for_each(|(g, v)| {
                let g = *g as usize;
                mins[g] = mins[g].min(*v);
                maxes[g] = maxes[g].max(*v);
            }),
            Acc::Distinct(_) | Acc::Values(_) | Acc::DistinctPairs(_) | Acc::DistinctBits(_) => {}
            Acc::Hll(sketches) => {
                pairs.for_each(|(g, v)| sketches[*g as usize].insert_hash(hash_number(*v)))
            }
            Acc::Quantiles(sketches) => pairs.for_each(|(g, v)| sketches[*g as usize].insert(*v)),
        }
        0
    }

    /// Whether the state holds only order-keeping functions of its inputs
    /// (sums, extremes), so inputs scaled by a power of ten can be scaled
    /// back once at the end: see [`Acc::unscale`].
    pub fn scalable(&self) -> bool {
        matches!(
            self,
            Acc::Sum(_) | Acc::Min(_) | Acc::Max(_) | Acc::Avg(..) | Acc::MinMax(..)
        )
    }

    /// Divides states built from inputs multiplied by `10^scale` (decimal
    /// columns read as their integer keys). Sums of such integers are exact
    /// below 2^53, and one correctly rounded division per group gives the
    /// same extremes as dividing every input.
    pub fn unscale(&mut self, scale: u8) {
        let divisor = 10f64.powi(i32::from(scale));
        let divide = |values: &mut Vec<f64>| values.iter_mut().for_each(|v| *v /= divisor);
        match self {
            Acc::Sum(v) | Acc::Min(v) | Acc::Max(v) | Acc::Avg(v, _) => divide(v),
            Acc::MinMax(min, max) => {
                divide(min);
                divide(max);
            }
            _ => {}
        }
    }

    /// Adds one value to a group (distinct counts of any type), returning
    /// the bytes the state grew by.
    pub fn update_value(&mut self, group: u32, value: Value) -> u64 {
        match self {
            Acc::Distinct(sets) => sets[group as usize].insert(value),
            Acc::Hll(sketches) => {
                let sketch = &mut sketches[group as usize];
                value_hashes(&value, &mut |hash| sketch.insert_hash(hash));
                0
            }
            Acc::Count(counts) => {
                counts[group as usize] += 1;
                0
            }
            other => match value.as_f64() {
                Some(number) => other.update_f64(&[group], &[number]),
                None => 0,
            },
        }
    }

    /// The states of groups `groups` (in that order), as a new state of
    /// aggregate `func`.
    pub fn select(&self, func: AggFunc, groups: &[usize]) -> Acc {
        let mut out = Acc::new(func);
        out.resize(groups.len());
        for (to, from) in groups.iter().enumerate() {
            out.merge(to, self, *from);
        }
        out
    }

    /// Folds group `from` of `other` (same aggregate) into group `into`.
    pub fn merge(&mut self, into: usize, other: &Acc, from: usize) {
        match (self, other) {
            (Acc::Count(a), Acc::Count(b)) => a[into] += b[from],
            (Acc::Sum(a), Acc::Sum(b)) => a[into] += b[from],
            (Acc::Min(a), Acc::Min(b)) => a[into] = a[into].min(b[from]),
            (Acc::Max(a), Acc::Max(b)) => a[into] = a[into].max(b[from]),
            (Acc::Avg(s, c), Acc::Avg(t, d)) => {
                s[into] += t[from];
                c[into] += d[from];
            }
            (Acc::MinMax(a, b), Acc::MinMax(c, d)) => {
                a[into] = a[into].min(c[from]);
                b[into] = b[into].max(d[from]);
            }
            (Acc::Distinct(a), Acc::Distinct(b)) => a[into].merge(&b[from]),
            (Acc::Hll(a), Acc::Hll(b)) => a[into].merge(&b[from]),
            (Acc::Quantiles(a), Acc::Quantiles(b)) => a[into].merge(&b[from]),
            (Acc::Values(a), Acc::Values(b)) => a[into].extend_from_slice(&b[from]),
            _ => {}
        }
    }

    /// The final value of group `group` as a number, for aggregates whose
    /// result is one (`None` for empty groups and for distinct sets and
    /// percentiles, which go through [`Acc::finish`]).
    pub fn finish_f64(&self, group: usize) -> Option<f64> {
        match self {
            Acc::Count(counts) => Some(counts[group] as f64),
            Acc::Sum(sums) => Some(sums[group]),
            Acc::Min(values) | Acc::Max(values) => Some(values[group]).filter(|v| !v.is_infinite()),
            Acc::Avg(sums, counts) => {
                (counts[group] > 0).then(|| sums[group] / counts[group] as f64)
            }
            Acc::MinMax(mins, maxes) => {
                (!mins[group].is_infinite()).then(|| maxes[group] - mins[group])
            }
            _ => None,
        }
    }

    /// Whether [`Acc::finish_f64`] answers for this aggregate.
    pub fn numeric(&self) -> bool {
        matches!(
            self,
            Acc::Count(_)
                | Acc::Sum(_)
                | Acc::Min(_)
                | Acc::Max(_)
                | Acc::Avg(..)
                | Acc::MinMax(..)
        )
    }

    /// The final value of group `group`.
    pub fn finish(&self, func: AggFunc, group: usize) -> Value {
        match self {
            Acc::Count(counts) => Value::Long(counts[group] as i64),
            Acc::Sum(sums) => Value::Double(sums[group]),
            Acc::Min(values) | Acc::Max(values) => {
                if values[group].is_infinite() {
                    Value::Null
                } else {
                    Value::Double(values[group])
                }
            }
            Acc::Avg(sums, counts) => {
                if counts[group] == 0 {
                    Value::Null
                } else {
                    Value::Double(sums[group] / counts[group] as f64)
                }
            }
            Acc::MinMax(mins, maxes) => {
                if mins[group].is_infinite() {
                    Value::Null
                } else {
                    Value::Double(maxes[group] - mins[group])
                }
            }
            Acc::Distinct(sets) => Value::Long(sets[group].len() as i64),
            Acc::DistinctPairs(pairs) => Value::Long(pairs.count(group) as i64),
            Acc::DistinctBits(bits) => Value::Long(bits.sorted(group).len() as i64),
            Acc::Hll(sketches) => Value::Long(sketches[group].estimate() as i64),
            Acc::Quantiles(sketches) => {
                let rank = match func {
                    AggFunc::PercentileEst(p) => p,
                    _ => 50.0,
                };
                // Rounded: the estimate of a whole number may fall short.
                match sketches[group].quantile(rank) {
                    Some(value) => Value::Long(value.round() as i64),
                    None => Value::Null,
                }
            }
            Acc::Values(lists) => {
                let rank = match func {
                    AggFunc::Percentile(p)
                    | AggFunc::PercentileEst(p)
                    | AggFunc::PercentileTDigest(p) => p,
                    _ => 50.0,
                };
                let mut values = lists[group].clone();
                if values.is_empty() {
                    return Value::Null;
                }
                values.sort_unstable_by(f64::total_cmp);
                // Pinot's rule: the value at index ⌊n · p / 100⌋, capped.
                let index = ((values.len() as f64 * rank / 100.0) as usize).min(values.len() - 1);
                let value = values[index];
                if matches!(func, AggFunc::PercentileEst(_)) {
                    Value::Long(value as i64)
                } else {
                    Value::Double(value)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_merge_like_one_pass() {
        let funcs = [
            AggFunc::Count,
            AggFunc::Sum,
            AggFunc::Min,
            AggFunc::Max,
            AggFunc::Avg,
            AggFunc::MinMaxRange,
            AggFunc::DistinctCount,
            AggFunc::Percentile(90.0),
        ];
        let values: Vec<f64> = (0..100).map(|i| ((i * 37) % 23) as f64).collect();
        let groups: Vec<u32> = (0..100).map(|i| (i % 3) as u32).collect();
        for func in funcs {
            let mut whole = Acc::new(func);
            whole.resize(3);
            whole.update_f64(&groups, &values);
            let mut left = Acc::new(func);
            left.resize(3);
            left.update_f64(&groups[..40], &values[..40]);
            let mut right = Acc::new(func);
            right.resize(3);
            right.update_f64(&groups[40..], &values[40..]);
            for group in 0..3 {
                left.merge(group, &right, group);
                assert_eq!(
                    left.finish(func, group),
                    whole.finish(func, group),
                    "{func:?}"
                );
            }
        }
    }

    #[test]
    fn empty_groups_finish_as_pinot_does() {
        for (func, expected) in [
            (AggFunc::Count, Value::Long(0)),
            (AggFunc::Sum, Value::Double(0.0)),
            (AggFunc::Min, Value::Null),
            (AggFunc::Avg, Value::Null),
            (AggFunc::Percentile(50.0), Value::Null),
        ] {
            let mut acc = Acc::new(func);
            acc.resize(1);
            assert_eq!(acc.finish(func, 0), expected, "{func:?}");
        }
    }
}
