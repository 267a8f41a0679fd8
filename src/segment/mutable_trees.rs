//! Star-trees of a consuming segment, so queries on fresh rows use them
//! too. A tree covers the segment's first `docs` rows; queries add the rows
//! after them by scanning. The first trees are built once the segment has
//! [`MIN_NEW_DOCS`] rows; they are rebuilt from the growing columns
//! (dictionary ids in arrival order) when the rows past them reach half the
//! rows covered (and at least [`MIN_NEW_DOCS`]), so the scanned tail stays
//! under a third of the segment, or, with any new rows, once
//! [`REBUILD_SPACING`] times the last build's duration has passed (half a
//! second at least): building takes about a twentieth of a core per segment
//! at most, and a segment that stops growing soon has trees over every row.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::error::BlockError;
use super::mutable::{Forward, MutableColumn, MutableSegment, Store};
use super::reader::SegmentTree;
use super::startree::TreeInputs;
use super::types::{Physical, Scalar};
use crate::sketch::{hash_bytes, hash_i64, hash_number};
use crate::sync::RecoverRw;

/// Fewest new rows that make a rebuild due.
pub const MIN_NEW_DOCS: usize = 4096;
/// A rebuild waits at least this many times the last build's duration
/// unless the new rows reach half of those covered.
pub const REBUILD_SPACING: u32 = 20;
/// Shortest wait between rebuilds.
const MIN_WAIT: Duration = Duration::from_millis(500);

/// A consuming segment's trees over its first `docs` rows.
#[derive(Debug)]
pub struct ConsumingTrees {
    pub docs: usize,
    pub trees: Vec<SegmentTree>,
    /// When the build finished, and how long it took.
    built: Instant,
    took: Duration,
}

impl ConsumingTrees {
    /// How long after this build a few new rows make a rebuild due:
    /// [`REBUILD_SPACING`] times its duration, half a second at least.
    pub fn spacing(&self) -> Duration {
        (self.took * REBUILD_SPACING).max(MIN_WAIT)
    }

    /// When a few new rows make a rebuild due.
    pub fn spaced_until(&self) -> Instant {
        self.built + self.spacing()
    }
}

fn f64_of(scalar: Scalar) -> f64 {
    match scalar {
        Scalar::I32(v) => f64::from(v),
        Scalar::I64(v) => v as f64,
        Scalar::F32(v) => f64::from(v),
        Scalar::F64(v) => v,
        Scalar::Str(_) | Scalar::Bytes(_) => 0.0,
    }
}

fn store_f64(store: &Store, docs: usize) -> Vec<f64> {
    match store {
        Store::I32(values) => (0..docs).map(|d| f64::from(*values.get(d))).collect(),
        Store::I64(values) => (0..docs).map(|d| *values.get(d) as f64).collect(),
        Store::F32(values) => (0..docs).map(|d| f64::from(*values.get(d))).collect(),
        Store::F64(values) => (0..docs).map(|d| *values.get(d)).collect(),
        Store::Var(_) => vec![0.0; docs],
    }
}

/// The distinct-count hash of a stored value (as `sketch::hash` defines it
/// for the query's values).
fn hash_of(scalar: &Scalar) -> u64 {
    match scalar {
        Scalar::I32(v) => hash_i64(i64::from(*v)),
        Scalar::I64(v) => hash_i64(*v),
        Scalar::F32(v) => hash_number(f64::from(*v)),
        Scalar::F64(v) => hash_number(*v),
        Scalar::Str(v) => hash_bytes(v.as_bytes()),
        Scalar::Bytes(v) => hash_bytes(v),
    }
}

/// A single-value column's first `docs` value hashes.
fn value_hashes(column: &MutableColumn, docs: usize) -> Option<Vec<u64>> {
    let physical: Physical = column.spec.physical;
    match (&column.forward, &column.dict) {
        (Forward::Raw(store), _) => Some(
            (0..docs)
                .map(|d| hash_of(&store.get(d, physical)))
                .collect(),
        ),
        (Forward::DictSv(ids), Some(dict)) => {
            let by_id: Vec<u64> = (0..dict.values.len())
                .map(|id| hash_of(&dict.values.get(id, physical)))
                .collect();
            Some((0..docs).map(|d| by_id[*ids.get(d) as usize]).collect())
        }
        _ => None,
    }
}

/// A single-value column's first `docs` values as doubles.
fn metric_values(column: &MutableColumn, docs: usize) -> Option<Vec<f64>> {
    match (&column.forward, &column.dict) {
        (Forward::Raw(store), _) => Some(store_f64(store, docs)),
        (Forward::DictSv(ids), Some(dict)) => {
            let physical: Physical = column.spec.physical;
            let values: Vec<f64> = (0..dict.values.len())
                .map(|id| f64_of(dict.values.get(id, physical)))
                .collect();
            Some((0..docs).map(|d| values[*ids.get(d) as usize]).collect())
        }
        _ => None,
    }
}

impl MutableSegment {
    /// The trees queries use now, if any were built.
    pub fn star_trees(&self) -> Option<Arc<ConsumingTrees>> {
        self.trees.read_locked().clone()
    }

    /// Whether the spec asks for trees and enough rows arrived since the
    /// last build.
    pub fn star_trees_due(&self) -> bool {
        self.star_trees_due_at(Instant::now())
    }

    /// [`MutableSegment::star_trees_due`] as of `now`.
    pub fn star_trees_due_at(&self, now: Instant) -> bool {
        let spec = self.spec();
        if spec.star_trees.is_empty() && !spec.default_star_tree {
            return false;
        }
        let trees = self.star_trees();
        let covered = trees.as_ref().map_or(0, |trees| trees.docs);
        let new = self.num_docs().saturating_sub(covered);
        match trees {
            None => new >= MIN_NEW_DOCS,
            Some(_) if new == 0 => false,
            Some(trees) => new >= MIN_NEW_DOCS.max(covered / 2) || now >= trees.spaced_until(),
        }
    }

    /// Claims the right to rebuild the trees: false while a build runs.
    pub fn start_tree_build(&self) -> bool {
        self.building_trees
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Releases the claim of [`MutableSegment::start_tree_build`] without
    /// building.
    pub fn abandon_tree_build(&self) {
        self.building_trees.store(false, Ordering::Release);
    }

    /// Builds the trees over the rows visible now and publishes them;
    /// releases the claim of [`MutableSegment::start_tree_build`].
    pub fn build_star_trees(&self) -> Result<(), BlockError> {
        let result = self.rebuild_trees();
        self.building_trees.store(false, Ordering::Release);
        result
    }

    fn rebuild_trees(&self) -> Result<(), BlockError> {
        let started = Instant::now();
        let docs = self.num_docs();
        let spec = self.spec().clone();
        let mut inputs = TreeInputs::new(&spec);
        for (index, column) in self.columns.iter().enumerate() {
            if inputs.wants_dimension(index) {
                if let Forward::DictSv(ids) = &column.forward {
                    inputs.capture_ids(index, (0..docs).map(|d| *ids.get(d)).collect());
                }
            }
            if inputs.wants_metric(index) {
                if let Some(values) = metric_values(column, docs) {
                    inputs.capture_values(index, values);
                }
            }
            if inputs.wants_hashes(index) {
                if let Some(hashes) = value_hashes(column, docs) {
                    inputs.capture_hashes(index, hashes);
                }
            }
        }
        let cardinality = |index: usize| {
            self.columns[index]
                .dict
                .as_ref()
                .map_or(usize::MAX, |dict| dict.values.len())
        };
        let mut trees = Vec::new();
        for (meta, tree) in inputs.build_trees(&spec, &cardinality) {
            trees.push(SegmentTree::resolve(meta, tree, &|name| {
                spec.column_index(name)
            })?);
        }
        *self.trees.write_locked() = Some(Arc::new(ConsumingTrees {
            docs,
            trees,
            built: Instant::now(),
            took: started.elapsed(),
        }));
        Ok(())
    }
}
