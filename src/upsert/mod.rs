//! Upsert and dedup tables: which version of each primary key queries see.
//!
//! [`keymap`] holds where the latest version of each key is, compactly and
//! off the allocator's heap; [`partition`] keeps, per stream partition,
//! the map and each segment's valid docs in step as records arrive, and
//! publishes them to queries; [`snapshot`] persists the valid docs with
//! each commit so a restart does not compare versions again. A table's
//! [`TableUpsert`] holds its partitions. Failures are [`Error`]s
//! (`error.rs`) and, for keys that no longer fit, [`GrowError`].
//!
//! Keys are kept per partition, as Pinot does: a topic of an upsert table
//! must be partitioned by its primary key (Kafka's default partitioner does
//! this when the message key is the primary key).

pub mod error;
pub mod key;
pub mod keymap;
pub mod partial;
pub mod partition;
pub mod snapshot;
pub mod spec;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub use error::{Error, Result};
pub use keymap::{hash_key, ExactKeyMap, GrowError, HashedKeyMap, KeyMap, Location};
pub use partition::{Admit, Applied, Form, PartitionUpsert, State, View, ViewSegment};
pub use spec::{Mode, Strategy, UpsertSpec};

use crate::segment::ImmutableSegment;
use crate::sync::Recover;

/// How a partition's state was rebuilt when the table opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rebuilt {
    /// From the snapshot: keys read from the valid docs only.
    Snapshot,
    /// By taking in every doc of its segments again (no usable snapshot).
    Replay,
}

/// The upsert state of one table.
pub struct TableUpsert {
    spec: Arc<UpsertSpec>,
    /// Where snapshots go.
    dir: PathBuf,
    partitions: Mutex<BTreeMap<i32, Arc<PartitionUpsert>>>,
    rebuilt: BTreeMap<i32, Rebuilt>,
}

impl TableUpsert {
    /// The state of a table whose committed segments are `sealed`, rebuilt
    /// per partition from its snapshot or, without a usable one, by replay.
    pub fn open(
        spec: UpsertSpec,
        table_dir: &Path,
        sealed: &[Arc<ImmutableSegment>],
    ) -> Result<TableUpsert, GrowError> {
        let spec = Arc::new(spec);
        let dir = table_dir.join("upsert");
        let mut by_partition: BTreeMap<i32, Vec<(i64, Arc<ImmutableSegment>)>> = BTreeMap::new();
        for segment in sealed {
            match &segment.meta().stream {
                Some(stream) => by_partition
                    .entry(stream.partition)
                    .or_default()
                    .push((stream.start_offset, segment.clone())),
                None => tracing::warn!(
                    segment = segment.name(),
                    "a segment not consumed from the stream is left out of the upsert state"
                ),
            }
        }
        let mut partitions = BTreeMap::new();
        let mut rebuilt = BTreeMap::new();
        for (partition, mut segments) in by_partition {
            segments.sort_by_key(|(start, _)| *start);
            let started = Instant::now();
            let mut state = State::new(spec.clone())?;
            let how = rebuild(&mut state, &dir, partition, &segments)?;
            state.expire();
            if how == Rebuilt::Replay {
                // The next start need not replay again.
                if let Some((_, newest)) = segments.last() {
                    let bitmaps = state.as_of_commit(newest.name());
                    let path = snapshot::path(&dir, partition);
                    if let Err(err) = snapshot::write(&path, &bitmaps) {
                        tracing::warn!(partition, error = %err, "upsert snapshot not written");
                    }
                }
            }
            tracing::info!(
                partition,
                segments = segments.len(),
                keys = state.keys(),
                how = ?how,
                millis = started.elapsed().as_millis() as u64,
                "upsert state rebuilt"
            );
            rebuilt.insert(partition, how);
            partitions.insert(partition, Arc::new(PartitionUpsert::new(state)));
        }
        Ok(TableUpsert {
            spec,
            dir,
            partitions: Mutex::new(partitions),
            rebuilt,
        })
    }

    /// How each partition's state was rebuilt when the table opened.
    pub fn rebuilt(&self) -> &BTreeMap<i32, Rebuilt> {
        &self.rebuilt
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<i32, Arc<PartitionUpsert>>> {
        self.partitions.locked()
    }

    /// The state of `partition`, empty if it has none yet.
    pub fn partition(&self, partition: i32) -> Result<Arc<PartitionUpsert>, GrowError> {
        let mut partitions = self.lock();
        if let Some(found) = partitions.get(&partition) {
            return Ok(found.clone());
        }
        let created = Arc::new(PartitionUpsert::new(State::new(self.spec.clone())?));
        partitions.insert(partition, created.clone());
        Ok(created)
    }

    /// Every partition's current view.
    pub fn views(&self) -> Vec<Arc<View>> {
        let partitions: Vec<Arc<PartitionUpsert>> = self.lock().values().cloned().collect();
        partitions
            .iter()
            .map(|partition| partition.view())
            .collect()
    }

    /// Writes `partition`'s snapshot as of the end of segment `name`, which
    /// is about to be committed.
    pub fn write_snapshot(&self, partition: i32, name: &str) -> std::io::Result<()> {
        let Some(state) = self.lock().get(&partition).cloned() else {
            return Ok(());
        };
        let bitmaps = state.read(|state| state.as_of_commit(name));
        if bitmaps.is_empty() {
            return Ok(());
        }
        snapshot::write(&snapshot::path(&self.dir, partition), &bitmaps)
    }

    /// Segment `name` of `partition` is committed, sealed as `sealed` (or
    /// dropped, with no docs); the TTLs are applied.
    pub fn committed(&self, partition: i32, name: &str, sealed: Option<Arc<ImmutableSegment>>) {
        if let Some(state) = self.lock().get(&partition).cloned() {
            state.change(|state| {
                state.committed(name, sealed);
                state.expire();
            });
        }
    }

    /// In a cluster, before a consumer of `partition` starts at the
    /// partition's checkpoint: drops every segment not committed (what this
    /// server consumed past the checkpoint, or sealed and had fenced) and
    /// takes in each of `committed` (the segments before the checkpoint,
    /// in offset order) it does not hold yet, as the committing server
    /// did. A snapshot follows, so a restart need not replay them. Returns
    /// how many segments were taken in.
    pub fn adopt(
        &self,
        partition: i32,
        committed: &[Arc<ImmutableSegment>],
    ) -> Result<usize, GrowError> {
        let state = self.partition(partition)?;
        let adopted = state.change(|state| -> Result<usize, GrowError> {
            let mut discarded = state.discard_uncommitted()?;
            // Segments are taken in in offset order: one missing before
            // one held (a load cut short) means starting over.
            let held: Vec<bool> = committed
                .iter()
                .map(|segment| state.holds(segment.name()))
                .collect();
            let gap = held.iter().position(|held| !held);
            if gap.is_some_and(|gap| held[gap..].iter().any(|held| *held)) {
                *state = State::new(self.spec.clone())?;
                discarded += held.iter().filter(|held| **held).count();
            }
            let mut adopted = 0;
            for segment in committed {
                if state.holds(segment.name()) {
                    continue;
                }
                state.replay(segment.name().to_string(), segment.clone())?;
                adopted += 1;
            }
            if adopted > 0 {
                state.expire();
            }
            if discarded + adopted > 0 {
                tracing::info!(
                    partition,
                    discarded,
                    adopted,
                    keys = state.keys(),
                    "upsert state follows the committed segments"
                );
            }
            Ok(adopted)
        })?;
        if adopted > 0 {
            if let Some(newest) = committed.last() {
                if let Err(err) = self.write_snapshot(partition, newest.name()) {
                    tracing::warn!(partition, error = %err, "upsert snapshot not written");
                }
            }
        }
        Ok(adopted)
    }

    /// Segment `name` left the table: its keys leave the map.
    pub fn removed(&self, name: &str) {
        let partitions: Vec<Arc<PartitionUpsert>> = self.lock().values().cloned().collect();
        for partition in partitions {
            partition.change(|state| state.remove(name));
        }
    }

    /// The docs of segment `name` that arrived older than their key's
    /// version (`None` for a segment the state does not hold).
    pub fn rejected(&self, name: &str) -> Option<roaring::RoaringBitmap> {
        let partitions: Vec<Arc<PartitionUpsert>> = self.lock().values().cloned().collect();
        partitions
            .iter()
            .find_map(|partition| partition.read(|state| state.rejected(name)))
    }

    /// Keys held, and the bytes of their maps, over all partitions.
    pub fn key_stats(&self) -> (usize, usize) {
        let partitions: Vec<Arc<PartitionUpsert>> = self.lock().values().cloned().collect();
        partitions.iter().fold((0, 0), |(keys, bytes), partition| {
            partition.read(|state| (keys + state.keys(), bytes + state.key_bytes()))
        })
    }
}

/// Rebuilds one partition's state from its snapshot when that matches the
/// committed segments, else by replaying them in offset order.
fn rebuild(
    state: &mut State,
    dir: &Path,
    partition: i32,
    segments: &[(i64, Arc<ImmutableSegment>)],
) -> Result<Rebuilt, GrowError> {
    let snapshot = match snapshot::read(&snapshot::path(dir, partition)) {
        Ok(snapshot) => snapshot,
        Err(err) => {
            tracing::warn!(partition, error = %err, "upsert snapshot unusable; replaying the segments");
            None
        }
    };
    if let Some(mut saved) = snapshot.filter(|saved| matches(saved, segments)) {
        for (_, segment) in segments {
            let Some(at) = saved.iter().position(|s| s.name == segment.name()) else {
                continue;
            };
            let bitmaps = saved.swap_remove(at);
            state.restore(segment.name().to_string(), segment.clone(), bitmaps)?;
        }
        return Ok(Rebuilt::Snapshot);
    }
    for (_, segment) in segments {
        state.replay(segment.name().to_string(), segment.clone())?;
    }
    Ok(Rebuilt::Replay)
}

/// Whether a snapshot describes `segments`: it ends with their newest and
/// holds each of them with the same number of docs (segments it has and
/// the table no longer does were deleted since, which it may).
fn matches(saved: &[partition::SegmentBitmaps], segments: &[(i64, Arc<ImmutableSegment>)]) -> bool {
    let newest_matches = match (saved.last(), segments.last()) {
        (Some(saved), Some((_, segment))) => saved.name == segment.name(),
        _ => false,
    };
    newest_matches
        && segments.iter().all(|(_, segment)| {
            saved
                .iter()
                .any(|s| s.name == segment.name() && s.docs as usize == segment.num_docs())
        })
}
