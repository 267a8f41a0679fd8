//! Sketch metrics of star-tree records: each record's sketch in its
//! compact byte form, one column per metric, and the sketch a record is
//! being aggregated into.

use super::MetricFunc;
use crate::sketch::{Hll, Quantiles};

/// Records' sketches: record `r` is `bytes[ends[r - 1]..ends[r]]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SketchColumn {
    pub ends: Vec<u32>,
    pub bytes: Vec<u8>,
}

impl SketchColumn {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Record `record`'s bytes.
    #[inline]
    pub fn get(&self, record: usize) -> &[u8] {
        let start = if record == 0 {
            0
        } else {
            self.ends[record - 1] as usize
        };
        &self.bytes[start..self.ends[record] as usize]
    }

    pub fn push(&mut self, sketch: &RecordSketch) {
        sketch.encode(&mut self.bytes);
        self.ends.push(self.bytes.len() as u32);
    }
}

/// The sketch one record aggregates into.
#[derive(Debug, Clone)]
pub enum RecordSketch {
    Hll(Hll),
    Quantiles(Quantiles),
}

impl RecordSketch {
    /// An empty sketch for `func`; `None` for numeric metrics.
    pub fn new(func: MetricFunc) -> Option<RecordSketch> {
        match func {
            MetricFunc::Hll => Some(RecordSketch::Hll(Hll::default())),
            MetricFunc::Quantiles => Some(RecordSketch::Quantiles(Quantiles::default())),
            _ => None,
        }
    }

    /// Adds one doc: its value's hash (HyperLogLog) or its value.
    pub fn insert(&mut self, hash: u64, value: f64) {
        match self {
            RecordSketch::Hll(hll) => hll.insert_hash(hash),
            RecordSketch::Quantiles(quantiles) => quantiles.insert(value),
        }
    }

    /// Merges a compact form in; `None` if `bytes` is not exactly one.
    pub fn merge_encoded(&mut self, bytes: &[u8]) -> Option<()> {
        let used = match self {
            RecordSketch::Hll(hll) => hll.merge_encoded(bytes)?,
            RecordSketch::Quantiles(quantiles) => quantiles.merge_encoded(bytes)?,
        };
        (used == bytes.len()).then_some(())
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            RecordSketch::Hll(hll) => hll.encode(out),
            RecordSketch::Quantiles(quantiles) => quantiles.encode(out),
        }
    }
}
