//! The metastore for the nodes of one process (and for tests of the
//! cluster's logic without PostgreSQL): the state in memory behind one
//! async mutex, what outlives the process persisted as one JSON file in a
//! directory (`file.rs`), with the same rules and errors as
//! [`super::postgres`] (`state.rs`).
//!
//! Concurrency: every call takes the mutex, so calls are serialized like
//! transactions. A change to what the file keeps is made on a copy of the
//! state, written (on a blocking thread, so the async caller never waits
//! on an fsync) and only then installed: a failed write changes nothing.
//! Heartbeats and lease renewals and releases touch only what lives in
//! memory (nodes, expiry) and change the state in place.
//!
//! The directory's lock file makes this instance the only one over it in
//! any process, so [`Metastore::lead`] is always `true`: one process, one
//! leader. Leases and heartbeats expire on a monotonic clock.

mod file;
mod state;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::{watch, Mutex};

use super::{
    CatalogEntry, CatalogKind, Commit, ConnectorRecord, Error, Lease, Loaded, Metastore, Node,
    PartitionRouting, Result, Routing, SegmentRecord, SegmentState, StreamChange, StreamControl,
};
use crate::durable;
use state::State;

/// The metastore in a local directory.
pub struct LocalMetastore {
    path: PathBuf,
    _lock: durable::DirLock,
    state: Mutex<State>,
    changes: watch::Sender<u64>,
}

impl LocalMetastore {
    /// Opens the metastore in `dir` (creating it if needed), claiming the
    /// directory for this instance and removing temporary files a crash
    /// left.
    pub fn open(dir: &Path) -> Result<LocalMetastore> {
        let lock = durable::lock_dir(dir)?;
        let io = |source| Error::Io {
            path: dir.to_path_buf(),
            source,
        };
        durable::remove_temp_files(dir).map_err(io)?;
        let path = dir.join(file::FILE_NAME);
        let state = match std::fs::read(&path) {
            Ok(bytes) => file::decode(&path, &bytes, Instant::now())?,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(source) => return Err(Error::Io { path, source }),
        };
        let (changes, _) = watch::channel(0);
        Ok(LocalMetastore {
            path,
            _lock: lock,
            state: Mutex::new(state),
            changes,
        })
    }

    fn bump(&self) {
        self.changes
            .send_modify(|count| *count = count.wrapping_add(1));
    }

    /// Reads the state.
    async fn read<T>(&self, read: impl FnOnce(&State, Instant) -> T) -> T {
        let state = self.state.lock().await;
        read(&state, Instant::now())
    }

    /// Changes what lives in memory only, in place; `apply` says whether
    /// the change is one the other nodes should hear of.
    async fn touch<T>(&self, apply: impl FnOnce(&mut State, Instant) -> (T, bool)) -> T {
        let mut state = self.state.lock().await;
        let (value, changed) = apply(&mut state, Instant::now());
        if changed {
            self.bump();
        }
        value
    }

    /// Changes what the file keeps: on a copy, installed once it is on
    /// disk. `apply` says whether it changed anything.
    async fn change<T>(
        &self,
        apply: impl FnOnce(&mut State, Instant) -> Result<(T, bool)>,
    ) -> Result<T> {
        let mut state = self.state.lock().await;
        let mut next = state.clone();
        let (value, changed) = apply(&mut next, Instant::now())?;
        if !changed {
            return Ok(value);
        }
        let path = self.path.clone();
        let written = tokio::task::spawn_blocking(move || {
            let written =
                file::encode(&next).and_then(|bytes| durable::write_atomic(&path, &bytes));
            (next, written)
        })
        .await;
        let (next, written) = written.map_err(|err| Error::Io {
            path: self.path.clone(),
            source: std::io::Error::other(err.to_string()),
        })?;
        written.map_err(|source| Error::Io {
            path: self.path.clone(),
            source,
        })?;
        *state = next;
        self.bump();
        Ok(value)
    }
}

#[async_trait]
impl Metastore for LocalMetastore {
    async fn catalog(&self) -> Result<Vec<CatalogEntry>> {
        Ok(self.read(|state, _| state.catalog()).await)
    }

    async fn put_catalog(&self, entry: &CatalogEntry) -> Result<()> {
        self.change(|state, _| Ok((state.put_catalog(entry), true)))
            .await
    }

    async fn remove_catalog(&self, kind: CatalogKind, name: &str) -> Result<()> {
        self.change(|state, _| Ok(((), state.remove_catalog(kind, name))))
            .await
    }

    async fn record_segments(&self, records: &[SegmentRecord]) -> Result<()> {
        // `change` works on a copy: an error leaves nothing recorded.
        self.change(|state, _| {
            for record in records {
                state.record_segment(record)?;
            }
            Ok(((), !records.is_empty()))
        })
        .await
    }

    async fn commit_segment(&self, lease: &Lease, record: &SegmentRecord) -> Result<Commit> {
        self.change(|state, _| {
            let commit = state.commit_segment(lease, record)?;
            Ok((commit, commit == Commit::Committed))
        })
        .await
    }

    async fn skip_offsets(&self, lease: &Lease, from: i64, to: i64) -> Result<Commit> {
        self.change(|state, _| {
            let skipped = state.skip_offsets(lease, from, to)?;
            Ok((skipped, skipped == Commit::Committed))
        })
        .await
    }

    async fn set_segment_state(
        &self,
        table: &str,
        segment: &str,
        state: SegmentState,
    ) -> Result<bool> {
        self.change(|held, _| {
            let changed = held.set_segment_state(table, segment, state);
            Ok((changed, changed))
        })
        .await
    }

    async fn remove_segment(&self, table: &str, segment: &str) -> Result<bool> {
        self.change(|state, _| {
            let removed = state.remove_segment(table, segment);
            Ok((removed, removed))
        })
        .await
    }

    async fn segments(&self, table: &str) -> Result<Vec<SegmentRecord>> {
        Ok(self.read(|state, _| state.segments(table)).await)
    }

    async fn all_segments(&self) -> Result<Vec<SegmentRecord>> {
        Ok(self
            .read(|state, _| state.segments.values().cloned().collect())
            .await)
    }

    async fn checkpoint(&self, table: &str, partition: i32) -> Result<Option<i64>> {
        Ok(self
            .read(|state, _| {
                state
                    .checkpoints
                    .get(&(table.to_string(), partition))
                    .copied()
            })
            .await)
    }

    async fn checkpoints(&self, table: &str) -> Result<BTreeMap<i32, i64>> {
        Ok(self.read(|state, _| state.checkpoints(table)).await)
    }

    async fn acquire_lease(
        &self,
        table: &str,
        partition: i32,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        self.change(|state, now| {
            let lease = state.acquire_lease(table, partition, owner, ttl, now);
            let granted = lease.is_some();
            Ok((lease, granted))
        })
        .await
    }

    async fn renew_lease(&self, lease: &Lease) -> Result<bool> {
        // The holder and epoch stay: no read's answer changes.
        Ok(self
            .touch(|state, now| (state.renew_lease(lease, now), false))
            .await)
    }

    async fn release_lease(&self, lease: &Lease) -> Result<()> {
        self.touch(|state, now| ((), state.release_lease(lease, now)))
            .await;
        Ok(())
    }

    async fn leases(&self, table: &str) -> Result<Vec<Lease>> {
        Ok(self.read(|state, now| state.leases(table, now)).await)
    }

    async fn heartbeat(&self, node: &Node) -> Result<()> {
        self.touch(|state, now| ((), state.heartbeat(node, now)))
            .await;
        Ok(())
    }

    async fn live_nodes(&self, timeout: Duration) -> Result<Vec<Node>> {
        Ok(self.read(|state, now| state.live_nodes(timeout, now)).await)
    }

    async fn heartbeat_ages(&self, timeout: Duration) -> Result<BTreeMap<String, Duration>> {
        Ok(self
            .read(|state, now| {
                state
                    .nodes
                    .iter()
                    .map(|(id, (_, beat))| (id.clone(), now.duration_since(*beat)))
                    .filter(|(_, age)| *age < timeout)
                    .collect()
            })
            .await)
    }

    async fn leave(&self, id: &str) -> Result<()> {
        self.touch(|state, _| ((), state.leave(id))).await;
        Ok(())
    }

    async fn assign(&self, table: &str, segment: &str, servers: &[String]) -> Result<()> {
        self.change(|state, _| Ok((state.assign(table, segment, servers)?, true)))
            .await
    }

    async fn routing(&self) -> Result<Routing> {
        Ok(self.read(|state, _| state.routing()).await)
    }

    async fn assign_partitions(
        &self,
        table: &str,
        partitions: &BTreeMap<i32, Vec<String>>,
    ) -> Result<()> {
        self.change(|state, _| Ok(((), state.assign_partitions(table, partitions))))
            .await
    }

    async fn partition_assignments(&self) -> Result<PartitionRouting> {
        Ok(self.read(|state, _| state.partition_assignments()).await)
    }

    async fn report_loaded(
        &self,
        server: &str,
        table: &str,
        loaded: &[String],
        dropped: &[String],
    ) -> Result<()> {
        self.touch(|state, _| ((), state.report_loaded(server, table, loaded, dropped)))
            .await;
        Ok(())
    }

    async fn replace_loaded(&self, server: &str, held: &Loaded) -> Result<()> {
        self.touch(|state, _| ((), state.replace_loaded(server, held)))
            .await;
        Ok(())
    }

    async fn prune_loaded(&self, keep: &[String]) -> Result<u64> {
        Ok(self
            .touch(|state, _| {
                let pruned = state.prune_loaded(keep);
                (pruned, pruned > 0)
            })
            .await)
    }

    async fn external_view(&self, timeout: Duration) -> Result<Routing> {
        Ok(self
            .read(|state, now| state.external_view(timeout, now))
            .await)
    }

    async fn lead(&self) -> Result<bool> {
        Ok(true)
    }

    async fn connectors(&self) -> Result<Vec<ConnectorRecord>> {
        Ok(self.read(|state, _| state.connectors()).await)
    }

    async fn put_connector(&self, name: &str, config: &str) -> Result<()> {
        self.change(|state, _| Ok((state.put_connector(name, config), true)))
            .await
    }

    async fn create_connector(&self, name: &str, config: &str) -> Result<bool> {
        self.change(|state, _| {
            if state.connectors.contains_key(name) {
                return Ok((false, false));
            }
            state.put_connector(name, config);
            Ok((true, true))
        })
        .await
    }

    async fn remove_connector(&self, name: &str) -> Result<bool> {
        self.change(|state, _| {
            let removed = state.remove_connector(name);
            Ok((removed, removed))
        })
        .await
    }

    async fn put_connector_state(&self, name: &str, state: &str) -> Result<()> {
        self.change(|held, _| Ok((held.put_connector_state(name, state)?, true)))
            .await
    }

    async fn put_connector_state_leased(
        &self,
        lease: &Lease,
        name: &str,
        state: &str,
    ) -> Result<Commit> {
        self.change(|held, _| {
            if !held.holds(lease) {
                return Ok((Commit::Fenced, false));
            }
            held.put_connector_state(name, state)?;
            Ok((Commit::Committed, true))
        })
        .await
    }

    async fn stream_controls(&self) -> Result<BTreeMap<String, StreamControl>> {
        Ok(self.read(|state, _| state.stream_controls.clone()).await)
    }

    async fn control_stream(&self, table: &str, change: &StreamChange) -> Result<StreamControl> {
        self.change(|state, _| {
            let current = state.stream_controls.remove(table).unwrap_or_default();
            let next = current.changed(change);
            state
                .stream_controls
                .insert(table.to_string(), next.clone());
            Ok((next, true))
        })
        .await
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

#[cfg(test)]
mod tests;
