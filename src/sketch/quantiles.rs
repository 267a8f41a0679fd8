//! Quantile estimates with a relative error of at most 1%: each value falls
//! in a bucket of values within 1% of one representative (buckets are
//! spaced by γ = 1.01 / 0.99 on a log scale, as in DDSketch), and the
//! sketch counts values per bucket. Merging adds counts, so it is exact
//! and order-free. Zero has a bucket of its own; negative values mirror
//! the positive ones.

/// The relative accuracy.
const ALPHA: f64 = 0.01;
/// Bucket indexes are clamped to ±MAX_INDEX (values beyond about 1e±300).
const MAX_INDEX: i32 = 40_000;

fn gamma_ln() -> f64 {
    ((1.0 + ALPHA) / (1.0 - ALPHA)).ln()
}

/// Counts per bucket index from `offset` on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Buckets {
    offset: i32,
    counts: Vec<u64>,
}

impl Buckets {
    fn add(&mut self, index: i32, count: u64) {
        if self.counts.is_empty() {
            self.offset = index;
        }
        if index < self.offset {
            let grow = (self.offset - index) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = index;
        }
        let at = (index - self.offset) as usize;
        if at >= self.counts.len() {
            self.counts.resize(at + 1, 0);
        }
        self.counts[at] += count;
    }

    fn merge(&mut self, other: &Buckets) {
        for (at, count) in other.counts.iter().enumerate() {
            if *count > 0 {
                self.add(other.offset + at as i32, *count);
            }
        }
    }

    fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, zigzag(self.offset));
        put_varint(out, self.counts.len() as u64);
        for count in &self.counts {
            put_varint(out, *count);
        }
    }

    fn decode(bytes: &[u8], at: &mut usize) -> Option<Buckets> {
        let offset = unzigzag(get_varint(bytes, at)?)?;
        let len = usize::try_from(get_varint(bytes, at)?).ok()?;
        if offset < -MAX_INDEX
            || len > 2 * MAX_INDEX as usize + 1
            || offset + len as i32 > MAX_INDEX + 1
        {
            return None;
        }
        let counts = (0..len)
            .map(|_| get_varint(bytes, at))
            .collect::<Option<Vec<u64>>>()?;
        Some(Buckets { offset, counts })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quantiles {
    zeros: u64,
    positive: Buckets,
    negative: Buckets,
}

impl Quantiles {
    fn index(magnitude: f64) -> i32 {
        let index = (magnitude.ln() / gamma_ln()).ceil();
        index.clamp(f64::from(-MAX_INDEX), f64::from(MAX_INDEX)) as i32
    }

    /// The value bucket `index` stands for: within 1% of all its values.
    fn representative(index: i32) -> f64 {
        let gamma_ln = gamma_ln();
        2.0 * (f64::from(index) * gamma_ln).exp() / (gamma_ln.exp() + 1.0)
    }

    pub fn insert(&mut self, value: f64) {
        if value.is_nan() {
            return;
        }
        if value == 0.0 {
            self.zeros += 1;
        } else if value > 0.0 {
            self.positive.add(Quantiles::index(value), 1);
        } else {
            self.negative.add(Quantiles::index(-value), 1);
        }
    }

    pub fn merge(&mut self, other: &Quantiles) {
        self.zeros += other.zeros;
        self.positive.merge(&other.positive);
        self.negative.merge(&other.negative);
    }

    pub fn count(&self) -> u64 {
        self.zeros + self.positive.total() + self.negative.total()
    }

    /// [`Quantiles::count`], or `None` past `u64::MAX` (a sketch decoded
    /// from untrusted bytes).
    pub fn checked_count(&self) -> Option<u64> {
        let mut total = self.zeros;
        for count in self.positive.counts.iter().chain(&self.negative.counts) {
            total = total.checked_add(*count)?;
        }
        Some(total)
    }

    /// The value at rank ⌊n · p / 100⌋ (Pinot's rule), within 1%; `None`
    /// when empty.
    pub fn quantile(&self, percent: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = ((n as f64 * percent / 100.0) as u64).min(n - 1);
        let mut seen = 0u64;
        // Most negative first: the largest negative magnitudes.
        for (at, count) in self.negative.counts.iter().enumerate().rev() {
            seen += count;
            if seen > rank {
                let index = self.negative.offset + at as i32;
                return Some(-Quantiles::representative(index));
            }
        }
        seen += self.zeros;
        if seen > rank {
            return Some(0.0);
        }
        for (at, count) in self.positive.counts.iter().enumerate() {
            seen += count;
            if seen > rank {
                let index = self.positive.offset + at as i32;
                return Some(Quantiles::representative(index));
            }
        }
        None
    }

    /// The compact form: the zero count, then both bucket ranges as
    /// varints.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, self.zeros);
        self.positive.encode(out);
        self.negative.encode(out);
    }

    /// Merges a compact form in; returns the bytes it took, or `None` if
    /// `bytes` does not start with one.
    pub fn merge_encoded(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut at = 0;
        let zeros = get_varint(bytes, &mut at)?;
        let positive = Buckets::decode(bytes, &mut at)?;
        let negative = Buckets::decode(bytes, &mut at)?;
        self.merge(&Quantiles {
            zeros,
            positive,
            negative,
        });
        Some(at)
    }
}

fn zigzag(value: i32) -> u64 {
    u64::from(((value << 1) ^ (value >> 31)) as u32)
}

fn unzigzag(value: u64) -> Option<i32> {
    let value = u32::try_from(value).ok()?;
    Some(((value >> 1) as i32) ^ -((value & 1) as i32))
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn get_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}
