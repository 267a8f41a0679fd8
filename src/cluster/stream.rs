//! A server's REALTIME partitions in a cluster: which it consumes (the
//! lead controller's partition assignment), the partition leases it holds
//! (acquired when free, renewed well inside `--lease-timeout`, released
//! when the partition goes elsewhere), where each partition's committed
//! segments end, and the commit itself: upload to the deep store, then
//! `commit_segment` under the lease. Implements the server's
//! [`StreamCoordinator`]; its answers come from a view refreshed by one
//! loop, so consumers may ask on every poll.
//!
//! The same loop applies the tables' consumption controls (Pinot's pause,
//! resume and force commit, kept in the metastore) to this server's
//! consumers: a paused table's consumers seal what they hold and stop,
//! and a force commit seals each partition's consuming segment at its
//! lease holder.
//!
//! Exactly once rests on the metastore: a commit takes effect only under
//! the current lease at its epoch and from the partition's checkpoint. The
//! view only decides who tries: a server that stalled past its lease finds
//! its lease gone here on its first look, and the metastore fences any
//! commit already under way.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use super::Cluster;
use crate::catalog::Catalog;
use crate::metastore::{Commit, Lease, SegmentRecord, SegmentState, StreamControl};
use crate::segment::ImmutableSegment;
use crate::server::realtime::{ConsumeFrom, Realtime};
use crate::server::{Error, StreamCommit, StreamCoordinator};
use crate::sync::RecoverRw;

/// (table with type, partition).
type Key = (String, i32);

#[derive(Default)]
struct View {
    /// The partitions assigned to this server.
    assigned: BTreeSet<Key>,
    /// Where each partition's committed segments end, and its next
    /// segment's number.
    checkpoints: BTreeMap<Key, (i64, u64)>,
    /// The leases held, each with the instant it lapses (counted from
    /// before the request that granted or renewed it).
    leases: BTreeMap<Key, (Lease, Instant)>,
    /// Each partition's committed segments (name, start, end), in offset
    /// order, read after its checkpoint.
    committed: BTreeMap<Key, Vec<(String, i64, i64)>>,
}

/// This server's partitions, leases and commits.
pub struct Streams {
    cluster: Arc<Cluster>,
    /// For the time column, whose range each record carries.
    catalog: Arc<Catalog>,
    view: RwLock<View>,
}

impl Streams {
    pub fn new(cluster: Arc<Cluster>, catalog: Arc<Catalog>) -> Arc<Streams> {
        Arc::new(Streams {
            cluster,
            catalog,
            view: RwLock::new(View::default()),
        })
    }

    /// Refreshes the view and the leases, and applies the consumption
    /// controls to `realtime`'s consumers, for as long as the cluster runs:
    /// on every change, and at least four times per lease timeout.
    pub fn follow(self: &Arc<Self>, realtime: Arc<Realtime>) {
        let me = self.clone();
        self.cluster.spawn(async move {
            let mut changes = me.cluster.metastore.changes();
            let tick = me.cluster.lease_timeout / 4;
            let mut applied = BTreeMap::new();
            loop {
                if let Err(err) = me.refresh().await {
                    tracing::warn!(error = %err, "cannot refresh this server's stream partitions; retrying");
                }
                if let Err(err) = me.apply_controls(&realtime, &mut applied).await {
                    tracing::warn!(error = %err, "cannot read the tables' consumption controls; retrying");
                }
                let _ = tokio::time::timeout(tick, changes.changed()).await;
            }
        });
    }

    /// Brings this server's consumers in line with the tables' controls:
    /// paused or not as the table is, and a force commit for each one
    /// asked since `applied` (what was applied last, by table; a table
    /// seen for the first time takes its counters as they are).
    async fn apply_controls(
        &self,
        realtime: &Realtime,
        applied: &mut BTreeMap<String, StreamControl>,
    ) -> Result<(), crate::metastore::Error> {
        let controls = self.cluster.metastore.stream_controls().await?;
        let tables: BTreeSet<String> = self
            .view
            .read_locked()
            .assigned
            .iter()
            .map(|(table, _)| table.clone())
            .collect();
        applied.retain(|table, _| tables.contains(table));
        for table in tables {
            // Until its consumers run here there is nothing to control.
            let Some(status) = realtime.status(&table) else {
                continue;
            };
            let control = controls.get(&table).cloned().unwrap_or_default();
            let seen = applied
                .entry(table.clone())
                .or_insert_with(|| control.clone());
            let resumed = control.resumes > seen.resumes;
            if control.paused && !status.paused {
                tracing::info!(table = %table, "pausing consumption");
                realtime.pause(&table);
            } else if !control.paused && (status.paused || resumed) {
                let from = control
                    .resume_from
                    .as_deref()
                    .and_then(|from| ConsumeFrom::parse(from).ok())
                    .unwrap_or(ConsumeFrom::LastConsumed);
                tracing::info!(table = %table, ?from, "resuming consumption");
                realtime.resume(&table, from);
            }
            if control.force_commits > seen.force_commits {
                tracing::info!(table = %table, "force commit");
                realtime.force_commit(&table);
            }
            *seen = control;
        }
        Ok(())
    }

    async fn refresh(&self) -> Result<(), crate::metastore::Error> {
        let metastore = &self.cluster.metastore;
        let me = self.cluster.node.id.as_str();
        let mut assigned: BTreeSet<Key> = BTreeSet::new();
        for (table, partitions) in metastore.partition_assignments().await? {
            for (partition, servers) in partitions {
                if servers.iter().any(|server| server == me) {
                    assigned.insert((table.clone(), partition));
                }
            }
        }
        let tables: BTreeSet<&String> = assigned.iter().map(|(table, _)| table).collect();
        let mut checkpoints = BTreeMap::new();
        let mut committed: BTreeMap<Key, Vec<(String, i64, i64)>> = BTreeMap::new();
        for table in tables {
            let offsets = metastore.checkpoints(table).await?;
            let mut sequences: BTreeMap<i32, u64> = BTreeMap::new();
            for record in metastore.segments(table).await? {
                let Some(partition) = record.partition else {
                    continue;
                };
                let next = sequence(&record.segment).map_or(0, |n| n + 1);
                let at = sequences.entry(partition).or_insert(0);
                *at = (*at).max(next);
                if let (SegmentState::Online, Some((start, end))) = (record.state, record.offsets) {
                    committed
                        .entry((table.clone(), partition))
                        .or_default()
                        .push((record.segment.clone(), start, end));
                }
            }
            for (partition, offset) in offsets {
                let next = sequences.get(&partition).copied().unwrap_or(0);
                checkpoints.insert((table.clone(), partition), (offset, next));
            }
        }
        let held: BTreeMap<Key, (Lease, Instant)> = self.view.read_locked().leases.clone();
        let ttl = self.cluster.lease_timeout;
        let mut leases = BTreeMap::new();
        for (key, (lease, until)) in &held {
            if !assigned.contains(key) {
                if let Err(err) = metastore.release_lease(lease).await {
                    tracing::warn!(table = %key.0, partition = key.1, error = %err, "cannot release a partition lease");
                }
                continue;
            }
            // Renewed when a quarter of it is gone.
            if until.saturating_duration_since(Instant::now()) > ttl * 3 / 4 {
                leases.insert(key.clone(), (lease.clone(), *until));
                continue;
            }
            let asked = Instant::now();
            match metastore.renew_lease(lease).await {
                Ok(true) => {
                    leases.insert(key.clone(), (lease.clone(), asked + ttl));
                }
                Ok(false) => {
                    tracing::warn!(table = %key.0, partition = key.1, epoch = lease.epoch, "partition lease lost");
                }
                Err(err) => {
                    tracing::warn!(table = %key.0, partition = key.1, error = %err, "cannot renew a partition lease");
                    if *until > Instant::now() {
                        leases.insert(key.clone(), (lease.clone(), *until));
                    }
                }
            }
        }
        for key in &assigned {
            if leases.contains_key(key) {
                continue;
            }
            let asked = Instant::now();
            if let Some(lease) = metastore.acquire_lease(&key.0, key.1, me, ttl).await? {
                tracing::info!(table = %key.0, partition = key.1, epoch = lease.epoch, "took the partition lease");
                leases.insert(key.clone(), (lease, asked + ttl));
            }
        }
        let mut view = self.view.write_locked();
        view.assigned = assigned;
        // A commit of this server's may have moved a checkpoint past what
        // was read: never go back.
        for (key, at) in checkpoints {
            let kept = view.checkpoints.get(&key).copied();
            let newest = match kept {
                Some(kept) if kept.0 > at.0 => kept,
                _ => at,
            };
            view.checkpoints.insert(key, newest);
        }
        view.leases = leases;
        for segments in committed.values_mut() {
            segments.sort_by_key(|(_, start, _)| *start);
        }
        view.committed = committed;
        Ok(())
    }

    fn lease(&self, table: &str, partition: i32) -> Option<Lease> {
        let view = self.view.read_locked();
        let (lease, until) = view.leases.get(&(table.to_string(), partition))?;
        (*until > Instant::now()).then(|| lease.clone())
    }

    fn forget_lease(&self, table: &str, partition: i32) {
        self.view
            .write_locked()
            .leases
            .remove(&(table.to_string(), partition));
    }
}

/// The sequence number in Pinot's segment name `table__partition__sequence__time`.
pub fn sequence(segment: &str) -> Option<u64> {
    segment.split("__").nth(2)?.parse().ok()
}

impl StreamCoordinator for Streams {
    fn consumes(&self, table: &str, partition: i32) -> bool {
        self.view
            .read_locked()
            .assigned
            .contains(&(table.to_string(), partition))
    }

    fn checkpoint(&self, table: &str, partition: i32) -> Option<(i64, u64)> {
        self.view
            .read_locked()
            .checkpoints
            .get(&(table.to_string(), partition))
            .copied()
    }

    fn committed(&self, table: &str, partition: i32) -> Vec<(String, i64, i64)> {
        self.view
            .read_locked()
            .committed
            .get(&(table.to_string(), partition))
            .cloned()
            .unwrap_or_default()
    }

    fn holds_lease(&self, table: &str, partition: i32) -> bool {
        self.lease(table, partition).is_some()
    }

    fn commit(
        &self,
        table: &str,
        partition: i32,
        segment: &ImmutableSegment,
        path: &Path,
        offsets: (i64, i64),
    ) -> Result<StreamCommit, Error> {
        let name = segment.name().to_string();
        let Some(lease) = self.lease(table, partition) else {
            return Ok(StreamCommit::Fenced);
        };
        if self
            .checkpoint(table, partition)
            .is_some_and(|(offset, _)| offset != offsets.0)
        {
            return Ok(StreamCommit::Fenced);
        }
        let fail = |reason: String| Error::Publish {
            table: table.to_string(),
            segment: name.clone(),
            reason,
        };
        let (size, crc) = crate::deepstore::checksum(path).map_err(|err| Error::io(path, err))?;
        let cluster = &self.cluster;
        let record = SegmentRecord {
            table: table.to_string(),
            segment: name.clone(),
            partition: Some(partition),
            offsets: Some(offsets),
            time_range: super::publish::time_range(&self.catalog, table, segment),
            rows: segment.num_docs() as i64,
            size_bytes: size as i64,
            crc: i64::from(crc),
            uri: cluster
                .deep_store
                .uri(table, &name)
                .map_err(|err| fail(err.to_string()))?,
            state: SegmentState::Online,
        };
        let committed = cluster.block_on(async {
            match cluster.deep_store.upload(table, &name, path).await {
                Ok(_) => {}
                // Another server's segment of the same name: it committed
                // these offsets, or will.
                Err(crate::deepstore::Error::OtherContents { .. }) => return Ok(Commit::Fenced),
                Err(err) => return Err(fail(err.to_string())),
            }
            match cluster.metastore.commit_segment(&lease, &record).await {
                Ok(commit) => Ok(commit),
                Err(
                    crate::metastore::Error::OutOfOrder { .. }
                    | crate::metastore::Error::Duplicate { .. },
                ) => Ok(Commit::Fenced),
                Err(err) => Err(fail(err.to_string())),
            }
        })?;
        match committed {
            Commit::Committed => {
                let key = (table.to_string(), partition);
                let next = sequence(&name).map_or(0, |n| n + 1);
                let mut view = self.view.write_locked();
                let at = view.checkpoints.entry(key).or_insert((offsets.1, next));
                *at = (offsets.1.max(at.0), next.max(at.1));
                tracing::info!(table, partition, segment = %name, start = offsets.0, end = offsets.1, epoch = lease.epoch, "committed a segment to the cluster");
                Ok(StreamCommit::Committed)
            }
            Commit::Fenced => {
                tracing::warn!(table, partition, segment = %name, epoch = lease.epoch, "commit fenced: this server no longer holds the partition's lease");
                self.forget_lease(table, partition);
                Ok(StreamCommit::Fenced)
            }
        }
    }

    fn skip(&self, table: &str, partition: i32, from: i64, to: i64) -> Result<StreamCommit, Error> {
        self.skip_offsets(table, partition, from, to)
    }
}

impl Streams {
    /// [`StreamCoordinator::skip`]: the checkpoint moves only under the
    /// lease, from where this server's view has it.
    fn skip_offsets(
        &self,
        table: &str,
        partition: i32,
        from: i64,
        to: i64,
    ) -> Result<StreamCommit, Error> {
        let Some(lease) = self.lease(table, partition) else {
            return Ok(StreamCommit::Fenced);
        };
        let skipped = self
            .cluster
            .block_on(self.cluster.metastore.skip_offsets(&lease, from, to));
        match skipped {
            Ok(Commit::Committed) => {
                let key = (table.to_string(), partition);
                let mut view = self.view.write_locked();
                let at = view.checkpoints.entry(key).or_insert((to, 0));
                at.0 = at.0.max(to);
                tracing::warn!(
                    table,
                    partition,
                    from,
                    to,
                    epoch = lease.epoch,
                    "offsets skipped in the cluster's checkpoint"
                );
                Ok(StreamCommit::Committed)
            }
            Ok(Commit::Fenced) | Err(crate::metastore::Error::BadSkip { .. }) => {
                tracing::warn!(
                    table,
                    partition,
                    from,
                    to,
                    "skip fenced: the checkpoint or the lease moved on"
                );
                self.forget_lease(table, partition);
                Ok(StreamCommit::Fenced)
            }
            Err(err) => Err(Error::Publish {
                table: table.to_string(),
                segment: format!("(offsets {from}..{to} of partition {partition})"),
                reason: err.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_is_read_from_pinots_segment_name() {
        assert_eq!(sequence("trades__3__17__20261207T0431Z"), Some(17));
        assert_eq!(sequence("trades_OFFLINE_1790000000000_0"), None);
    }
}
