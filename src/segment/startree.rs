//! A segment's star-trees: the dimension ids and metric values they need
//! are kept while the columns are written, then each tree is built and
//! written as one block, described in the footer.

use std::collections::{BTreeMap, BTreeSet};

use super::format::{ColumnMeta, Encoding, StarTreeMeta};
use super::spec::{
    SegmentSpec, TreeConfig, DEFAULT_MAX_LEAF_RECORDS, DEFAULT_TREE_MAX_CARDINALITY,
};
use super::values::Values;
use super::writer::{ColumnData, DocIds};
use crate::catalog::FieldRole;
use crate::index::startree::build::{build, BuildInput};
use crate::index::startree::{codec, MetricFunc, StarTree, TreeSpec};
use crate::sketch::{hash_bytes, hash_i64, hash_number};

/// Dimension ids, metric values and value hashes kept for the trees.
#[derive(Default)]
pub(crate) struct TreeInputs {
    dims: BTreeSet<usize>,
    metrics: BTreeSet<usize>,
    /// Columns a `DISTINCTCOUNTHLL` pair counts.
    hashed: BTreeSet<usize>,
    ids: BTreeMap<usize, Vec<u32>>,
    values: BTreeMap<usize, Vec<f64>>,
    hashes: BTreeMap<usize, Vec<u64>>,
}

/// The distinct-count hash of value `index` (as `sketch::hash` defines it
/// for the query's values).
fn hash_at(values: &Values, index: usize) -> u64 {
    match values {
        Values::I32(v) => hash_i64(i64::from(v[index])),
        Values::I64(v) => hash_i64(v[index]),
        Values::F32(v) => hash_number(f64::from(v[index])),
        Values::F64(v) => hash_number(v[index]),
        Values::Var(v) => hash_bytes(v.get(index)),
    }
}

fn f64_at(values: &Values, index: usize) -> f64 {
    match values {
        Values::I32(v) => f64::from(v[index]),
        Values::I64(v) => v[index] as f64,
        Values::F32(v) => f64::from(v[index]),
        Values::F64(v) => v[index],
        Values::Var(_) => 0.0,
    }
}

impl TreeInputs {
    /// What `spec`'s trees (and its default tree's candidates) read.
    pub fn new(spec: &SegmentSpec) -> TreeInputs {
        let mut inputs = TreeInputs::default();
        for tree in &spec.star_trees {
            inputs.dims.extend(&tree.dimensions);
            for (func, column) in &tree.metrics {
                match (func, column) {
                    (MetricFunc::Hll, Some(column)) => inputs.hashed.insert(*column),
                    (_, Some(column)) => inputs.metrics.insert(*column),
                    (_, None) => false,
                };
            }
        }
        if spec.default_star_tree {
            for (index, column) in spec.columns.iter().enumerate() {
                if column.single_value && column.dictionary && column.role != FieldRole::Metric {
                    inputs.dims.insert(index);
                }
            }
            for (index, column) in spec.columns.iter().enumerate() {
                if column.role == FieldRole::Metric
                    && column.single_value
                    && column.physical.width().is_some()
                {
                    inputs.metrics.insert(index);
                }
            }
        }
        inputs
    }

    /// Keeps what the trees need of column `index` before it is written.
    pub fn capture(&mut self, index: usize, data: &ColumnData) {
        if self.dims.contains(&index) {
            if let ColumnData::Dict {
                ids: DocIds::Single(ids),
                ..
            } = data
            {
                self.ids.insert(index, ids.clone());
            }
        }
        if self.hashed.contains(&index) {
            let hashes = match data {
                ColumnData::Dict {
                    dictionary,
                    ids: DocIds::Single(ids),
                } => {
                    let by_id: Vec<u64> = (0..dictionary.len())
                        .map(|id| hash_at(dictionary, id))
                        .collect();
                    ids.iter().map(|id| by_id[*id as usize]).collect()
                }
                ColumnData::Raw { values } => {
                    (0..values.len()).map(|i| hash_at(values, i)).collect()
                }
                ColumnData::Dict { .. } => return,
            };
            self.hashes.insert(index, hashes);
        }
        if self.metrics.contains(&index) {
            let values = match data {
                ColumnData::Dict {
                    dictionary,
                    ids: DocIds::Single(ids),
                } => ids
                    .iter()
                    .map(|id| f64_at(dictionary, *id as usize))
                    .collect(),
                ColumnData::Raw { values } => {
                    (0..values.len()).map(|i| f64_at(values, i)).collect()
                }
                ColumnData::Dict { .. } => return,
            };
            self.values.insert(index, values);
        }
    }

    /// Whether the trees take column `index` as a dimension.
    pub fn wants_dimension(&self, index: usize) -> bool {
        self.dims.contains(&index)
    }

    /// Whether the trees take column `index` as a metric.
    pub fn wants_metric(&self, index: usize) -> bool {
        self.metrics.contains(&index)
    }

    /// Whether the trees count column `index`'s distinct values.
    pub fn wants_hashes(&self, index: usize) -> bool {
        self.hashed.contains(&index)
    }

    /// Keeps a column's value hashes, one per doc.
    pub fn capture_hashes(&mut self, index: usize, hashes: Vec<u64>) {
        self.hashes.insert(index, hashes);
    }

    /// Keeps a dimension's dictionary ids, one per doc.
    pub fn capture_ids(&mut self, index: usize, ids: Vec<u32>) {
        self.ids.insert(index, ids);
    }

    /// Keeps a metric's values, one per doc.
    pub fn capture_values(&mut self, index: usize, values: Vec<f64>) {
        self.values.insert(index, values);
    }

    /// Drops the ids of a column that was not stored with its dictionary.
    pub fn written(&mut self, index: usize, meta: &ColumnMeta) {
        if meta.encoding != Encoding::Dictionary {
            self.ids.remove(&index);
        }
    }

    /// The trees to build: the configured ones, then the default one, which
    /// takes dimensions of at most 10,000 values (`cardinality` of a column).
    fn configs(&self, spec: &SegmentSpec, cardinality: &dyn Fn(usize) -> usize) -> Vec<TreeConfig> {
        let mut configs = spec.star_trees.clone();
        if spec.default_star_tree {
            // Pinot's rule: dictionary dimensions of at most 10,000 values,
            // most distinct first, the time column last; COUNT(*) and the
            // SUM of every numeric metric.
            let small = |index: &usize| cardinality(*index) as u64 <= DEFAULT_TREE_MAX_CARDINALITY;
            let mut dimensions: Vec<usize> = self
                .ids
                .keys()
                .copied()
                .filter(|index| Some(*index) != spec.time_column && small(index))
                .collect();
            dimensions.sort_by_key(|index| std::cmp::Reverse(cardinality(*index)));
            if let Some(time) = spec.time_column.filter(|time| self.ids.contains_key(time)) {
                if small(&time) {
                    dimensions.push(time);
                }
            }
            let mut metrics = vec![(MetricFunc::Count, None)];
            metrics.extend(
                self.values
                    .keys()
                    .filter(|index| spec.columns[**index].role == FieldRole::Metric)
                    .map(|index| (MetricFunc::Sum, Some(*index))),
            );
            if !dimensions.is_empty() {
                configs.push(TreeConfig {
                    skip_star: vec![false; dimensions.len()],
                    dimensions,
                    metrics,
                    max_leaf_records: DEFAULT_MAX_LEAF_RECORDS,
                });
            }
        }
        configs
    }

    /// Builds every tree: (its footer entry, its block).
    pub fn build(
        &self,
        spec: &SegmentSpec,
        columns: &[ColumnMeta],
    ) -> Vec<(StarTreeMeta, Vec<u8>)> {
        let trees = self.build_trees(spec, &|index| columns[index].cardinality as usize);
        trees
            .into_iter()
            .map(|(meta, tree)| (meta, codec::encode(&tree)))
            .collect()
    }

    /// Builds every tree: (its footer entry, the tree).
    pub fn build_trees(
        &self,
        spec: &SegmentSpec,
        cardinality: &dyn Fn(usize) -> usize,
    ) -> Vec<(StarTreeMeta, StarTree)> {
        let mut out = Vec::new();
        for config in self.configs(spec, cardinality) {
            // Dimensions are kept dictionary-encoded; a tree whose column
            // is missing from this segment's input is left out.
            let Some(dims) = config
                .dimensions
                .iter()
                .map(|index| self.ids.get(index).map(Vec::as_slice))
                .collect::<Option<Vec<&[u32]>>>()
            else {
                continue;
            };
            // So is a tree whose metric column is (multi-valued columns
            // keep no values): per metric, its values and value hashes.
            let none: (&[f64], &[u64]) = (&[], &[]);
            let Some((metrics, hashes)) = config
                .metrics
                .iter()
                .map(|(func, column)| match (func, column) {
                    (_, None) => Some(none),
                    (MetricFunc::Hll, Some(index)) => {
                        self.hashes.get(index).map(|h| (none.0, h.as_slice()))
                    }
                    (_, Some(index)) => self.values.get(index).map(|v| (v.as_slice(), none.1)),
                })
                .collect::<Option<(Vec<&[f64]>, Vec<&[u64]>)>>()
            else {
                continue;
            };
            let tree_spec = TreeSpec {
                dimensions: config.dimensions.len(),
                skip_star: config.skip_star.clone(),
                metrics: config.metrics.iter().map(|(func, _)| *func).collect(),
                max_leaf_records: config.max_leaf_records,
            };
            // A tree that cannot be built is left out (queries read the
            // docs instead); the segment's rows are never refused for it.
            let tree = match build(
                &tree_spec,
                &BuildInput {
                    dims: &dims,
                    metrics: &metrics,
                    hashes: &hashes,
                },
            ) {
                Ok(tree) => tree,
                Err(err) => {
                    tracing::warn!(error = %err, "a star-tree was left out of the segment");
                    continue;
                }
            };
            let meta = StarTreeMeta {
                dimensions_split_order: config
                    .dimensions
                    .iter()
                    .map(|index| spec.columns[*index].name.clone())
                    .collect(),
                function_column_pairs: config.pair_names(&spec.columns),
                max_leaf_records: config.max_leaf_records as u64,
                records: tree.records() as u64,
                nodes: tree.nodes.len() as u64,
            };
            out.push((meta, tree));
        }
        out
    }
}
