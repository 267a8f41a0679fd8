//! The star-tree index: records pre-aggregated by a list of dimensions
//! (Pinot's `dimensionsSplitOrder`), arranged as a tree that answers
//! filtered group-bys over those dimensions by reading a few aggregated
//! records instead of every doc.
//!
//! Records hold one dictionary id per dimension (or [`STAR`]: "any value")
//! and one aggregated value per function-column pair (`COUNT__*`,
//! `SUM__shares`, ...), or for `DISTINCTCOUNTHLL` and `PERCENTILEEST` pairs
//! a sketch in its compact byte form ([`crate::sketch`]). Node `n` at depth `d` covers records
//! `start..end`, all sharing the values of the first `d` dimensions on its
//! path; its children split on dimension `d`, one per value, plus a star
//! child whose records aggregate over every value of dimension `d` (unless
//! the dimension skips star nodes). Nodes with at most `maxLeafRecords`
//! records are leaves.
//!
//! - [`build`]: from per-doc dimension ids and metric inputs.
//! - [`query`]: which records answer a query, given per-dimension allowed
//!   ids and the grouped dimensions.
//! - [`codec`]: the tree as a segment block.

pub mod build;
pub mod codec;
pub mod query;
mod sketches;

pub use sketches::{RecordSketch, SketchColumn};
#[cfg(test)]
mod tests;

/// A record's dimension value meaning "every value".
pub const STAR: u32 = u32::MAX;
/// No such node.
pub const NONE: u32 = u32::MAX;

/// What one pre-aggregated metric holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricFunc {
    /// Docs aggregated into the record (`COUNT__*`).
    Count,
    Sum,
    Min,
    Max,
    /// HyperLogLog registers of the hashed values (`DISTINCTCOUNTHLL__c`).
    Hll,
    /// Log-bucket counts of the values (`PERCENTILEEST__c`).
    Quantiles,
}

impl MetricFunc {
    /// Pinot's name of the function in a `FUNCTION__column` pair.
    pub fn name(self) -> &'static str {
        match self {
            MetricFunc::Count => "COUNT",
            MetricFunc::Sum => "SUM",
            MetricFunc::Min => "MIN",
            MetricFunc::Max => "MAX",
            MetricFunc::Hll => "DISTINCTCOUNTHLL",
            MetricFunc::Quantiles => "PERCENTILEEST",
        }
    }

    /// Whether records hold a sketch (in [`StarTree::sketches`]) rather
    /// than a number.
    pub fn is_sketch(self) -> bool {
        matches!(self, MetricFunc::Hll | MetricFunc::Quantiles)
    }

    /// The identity of the aggregation.
    pub fn empty(self) -> f64 {
        match self {
            MetricFunc::Count | MetricFunc::Sum | MetricFunc::Hll | MetricFunc::Quantiles => 0.0,
            MetricFunc::Min => f64::INFINITY,
            MetricFunc::Max => f64::NEG_INFINITY,
        }
    }

    /// Folds `value` into `into`.
    #[inline]
    pub fn fold(self, into: &mut f64, value: f64) {
        match self {
            MetricFunc::Count | MetricFunc::Sum => *into += value,
            MetricFunc::Min => *into = into.min(value),
            MetricFunc::Max => *into = into.max(value),
            MetricFunc::Hll | MetricFunc::Quantiles => {}
        }
    }
}

/// How a tree is built.
#[derive(Debug, Clone)]
pub struct TreeSpec {
    /// Dimensions in split order (their positions in the build input).
    pub dimensions: usize,
    /// Per dimension: no star child for it.
    pub skip_star: Vec<bool>,
    pub metrics: Vec<MetricFunc>,
    pub max_leaf_records: usize,
}

/// One node of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// The value of the dimension this node was split on (its parent's
    /// level), or [`STAR`]; the root has [`STAR`].
    pub value: u32,
    /// Records `start..end`.
    pub start: u32,
    pub end: u32,
    /// Children `first_child..first_child + children` (non-star, in value
    /// order), and the star child; [`NONE`] when absent.
    pub first_child: u32,
    pub children: u32,
    pub star_child: u32,
}

impl Node {
    pub fn is_leaf(&self) -> bool {
        self.children == 0 && self.star_child == NONE
    }
}

/// A built tree: nodes (root first, each node's children contiguous) and
/// the records, column by column.
#[derive(Debug, Clone, Default)]
pub struct StarTree {
    pub nodes: Vec<Node>,
    /// Depth of each node (the dimension its children split on).
    pub depths: Vec<u32>,
    /// `dims[d][r]`: dimension `d` of record `r`.
    pub dims: Vec<Vec<u32>>,
    /// `metrics[m][r]`: metric `m` of record `r` (empty for sketches).
    pub metrics: Vec<Vec<f64>>,
    /// `sketches[m].get(r)`: the sketch of metric `m` for record `r`
    /// (empty for numbers).
    pub sketches: Vec<SketchColumn>,
    pub funcs: Vec<MetricFunc>,
    /// `totals[n * metrics + m]`: metric `m` folded over every record of
    /// leaf `n` (the identity for inner nodes and sketches), so a leaf
    /// whose records all answer a query in one group is read as one value.
    pub totals: Vec<f64>,
}

impl StarTree {
    pub fn records(&self) -> usize {
        self.dims.first().map_or(0, Vec::len)
    }

    /// Folds every leaf's records into [`StarTree::totals`].
    pub fn summarize(&mut self) {
        let metrics = self.funcs.len();
        let mut totals = vec![0.0; self.nodes.len() * metrics];
        for (n, node) in self.nodes.iter().enumerate() {
            for (m, func) in self.funcs.iter().enumerate() {
                let mut total = func.empty();
                if node.is_leaf() && !func.is_sketch() {
                    let values = self.metrics[m]
                        .get(node.start as usize..node.end as usize)
                        .unwrap_or_default();
                    values.iter().for_each(|v| func.fold(&mut total, *v));
                }
                totals[n * metrics + m] = total;
            }
        }
        self.totals = totals;
    }

    /// The totals of leaf `node`, one per metric.
    pub fn leaf_totals(&self, node: usize) -> &[f64] {
        let metrics = self.funcs.len();
        self.totals
            .get(node * metrics..(node + 1) * metrics)
            .unwrap_or_default()
    }
}
