//! The metastore: what a cluster's nodes agree on, kept where every node
//! can reach it in transactions, behind the [`Metastore`] trait. It holds
//! the catalog (schemas and table configs as JSON), segment records
//! (table, partition, offsets, time range, rows, size, checksum,
//! deep-store URI, state), each partition's checkpoint, partition leases
//! with a fencing epoch, the live nodes (heartbeats), which servers hold
//! which sealed segments and consume which stream partitions, connectors'
//! configs and state, REALTIME tables' consumption controls, the
//! controllers' leadership, and a change counter that tells every node
//! when to re-read.
//!
//! The commit of a real-time segment is the heart of exactly-once across
//! machines: one transaction inserts the segment's record and moves the
//! partition's checkpoint from the segment's start offset to its end,
//! and takes effect only while the committing server holds the lease at
//! the epoch it was granted. A server that lost its lease (it stalled,
//! another took over) commits nothing.
//!
//! Implementations: [`postgres`] for a cluster (tokio-postgres; schema
//! created and migrated by Gamay, [`migrations`]; leadership a session
//! advisory lock; changes through LISTEN/NOTIFY), and [`local`] for the
//! nodes of one process and tests (memory plus one JSON file). Both keep
//! the same rules and answer the same errors; `conformance.rs` checks
//! them once for both. [`MetastoreCatalogStore`] keeps a `Catalog`'s
//! entries in a metastore (the catalog's store trait over this one; the
//! catalog never names the metastore).

mod catalog_store;
mod error;
pub mod local;
pub mod migrations;
pub mod postgres;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

pub use catalog_store::{MetastoreCatalogStore, CALL_TIMEOUT};
pub use error::{Error, Result};

/// A segment as the metastore records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRecord {
    /// The table's name with its type suffix (`trades_REALTIME`).
    pub table: String,
    pub segment: String,
    /// The stream partition, for a real-time segment.
    pub partition: Option<i32>,
    /// Offsets `[start, end)` of the messages it holds, for a real-time
    /// segment.
    pub offsets: Option<(i64, i64)>,
    /// The smallest and largest time column values, in epoch milliseconds.
    pub time_range: Option<(i64, i64)>,
    pub rows: i64,
    pub size_bytes: i64,
    /// The segment file's checksum.
    pub crc: i64,
    /// Where the file is in the deep store.
    pub uri: String,
    pub state: SegmentState,
}

/// Whether a recorded segment serves queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentState {
    Online,
    /// Being deleted: no longer served, its file not yet removed.
    Deleting,
}

impl SegmentState {
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentState::Online => "ONLINE",
            SegmentState::Deleting => "DELETING",
        }
    }

    pub fn parse(text: &str) -> Option<SegmentState> {
        match text {
            "ONLINE" => Some(SegmentState::Online),
            "DELETING" => Some(SegmentState::Deleting),
            _ => None,
        }
    }
}

/// The right to consume a stream partition and commit its segments,
/// granted to `owner` at `epoch`. Every grant to a new holder, or again
/// to the same one, raises the epoch, so an older holder's commits fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub table: String,
    pub partition: i32,
    pub owner: String,
    pub epoch: i64,
    /// How long the lease lasts from its grant or last renewal.
    pub ttl: Duration,
}

/// What a segment commit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// The record is in and the checkpoint is at the segment's end offset.
    Committed,
    /// The committer no longer holds the lease at its epoch: nothing
    /// changed, and the segment must be discarded.
    Fenced,
}

/// A node as it announces itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Stable across restarts (the node's name or host).
    pub id: String,
    /// Where other nodes reach its HTTP API.
    pub url: String,
    /// Its roles, as `--role` names them (`server`, `broker`, ...).
    pub roles: Vec<String>,
}

/// What a catalog entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CatalogKind {
    Schema,
    Table,
}

impl CatalogKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CatalogKind::Schema => "schema",
            CatalogKind::Table => "table",
        }
    }

    pub fn parse(text: &str) -> Option<CatalogKind> {
        match text {
            "schema" => Some(CatalogKind::Schema),
            "table" => Some(CatalogKind::Table),
            _ => None,
        }
    }
}

/// A schema or table config as the metastore holds it: the JSON the user
/// sent (secrets as the catalog stores them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    pub kind: CatalogKind,
    /// The schema's name, or the table's name with its type.
    pub name: String,
    pub json: String,
}

/// A connector's config and the state its job keeps, as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorRecord {
    pub name: String,
    pub config: String,
    /// `None` until the connector's job records any.
    pub state: Option<String>,
}

/// A REALTIME table's consumption controls, as Pinot's pause and force
/// commit set them: whether it is paused, and counters that move on every
/// resume and force commit (each server acts on a move it has not seen).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamControl {
    pub paused: bool,
    /// Where the last resume asked consumption to start (`smallest`,
    /// `largest`), `None` for where it left off.
    pub resume_from: Option<String>,
    pub resumes: i64,
    pub force_commits: i64,
    /// What the last force commit's caller recorded of it (opaque JSON:
    /// its job, for its status).
    pub force_commit_job: Option<String>,
}

/// A change of a table's [`StreamControl`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamChange {
    Pause,
    Resume { from: Option<String> },
    ForceCommit { job: String },
}

impl StreamControl {
    /// The control after `change`.
    pub fn changed(mut self, change: &StreamChange) -> StreamControl {
        match change {
            StreamChange::Pause => self.paused = true,
            StreamChange::Resume { from } => {
                self.paused = false;
                self.resume_from = from.clone();
                self.resumes += 1;
            }
            StreamChange::ForceCommit { job } => {
                self.force_commits += 1;
                self.force_commit_job = Some(job.clone());
            }
        }
        self
    }
}

/// Table (with type) → segment → the servers assigned to hold it.
pub type Routing = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// Table (with type) → stream partition → the servers assigned to consume
/// it (Pinot's `replicasPerPartition` of them), each list sorted.
pub type PartitionRouting = BTreeMap<String, BTreeMap<i32, Vec<String>>>;

/// Table (with type) → the segments one server reports loaded.
pub type Loaded = BTreeMap<String, Vec<String>>;

/// What the nodes of a cluster share. Every method that changes more than
/// one thing does it in one transaction, and a method that fails changed
/// nothing. Implementations: [`postgres`] for a cluster, [`local`] for
/// nodes of one process (and tests of the cluster's logic).
#[async_trait]
pub trait Metastore: Send + Sync {
    // ---- the catalog ----

    /// Every schema and table config.
    async fn catalog(&self) -> Result<Vec<CatalogEntry>>;
    /// Adds or replaces an entry.
    async fn put_catalog(&self, entry: &CatalogEntry) -> Result<()>;
    /// Removes an entry; removing an absent one is not an error.
    async fn remove_catalog(&self, kind: CatalogKind, name: &str) -> Result<()>;

    // ---- segments and checkpoints ----

    /// Records a segment that no stream partition orders (an OFFLINE
    /// table's upload or ingested file). A repeated name is
    /// [`Error::Duplicate`]; a record with offsets is [`Error::Offsets`].
    async fn record_segment(&self, record: &SegmentRecord) -> Result<()> {
        self.record_segments(std::slice::from_ref(record)).await
    }
    /// Records several such segments in one transaction: all of them, or
    /// (on any error) none.
    async fn record_segments(&self, records: &[SegmentRecord]) -> Result<()>;
    /// Records a real-time segment and moves its partition's checkpoint to
    /// its end offset, only while `lease` is current (see
    /// [`Commit::Fenced`]). Checked in this order: the record belongs under
    /// the lease ([`Error::NotRealtime`], [`Error::OtherLease`]), the
    /// lease is current (else `Fenced`), the segment starts at the
    /// checkpoint ([`Error::OutOfOrder`]), its name is new
    /// ([`Error::Duplicate`]).
    async fn commit_segment(&self, lease: &Lease, record: &SegmentRecord) -> Result<Commit>;
    /// Moves `lease`'s partition's checkpoint from `from` to `to` with no
    /// segment: offsets that will never be consumed (a resume from the
    /// latest offset, messages the broker no longer holds). Only while
    /// `lease` is current ([`Commit::Fenced`] otherwise), and only forward
    /// from the checkpoint ([`Error::BadSkip`]); a checkpoint already at
    /// `to` is a skip done. A partition with no checkpoint yet gets `to`.
    async fn skip_offsets(&self, lease: &Lease, from: i64, to: i64) -> Result<Commit>;
    /// Changes a recorded segment's state; `false` when it is not recorded.
    async fn set_segment_state(
        &self,
        table: &str,
        segment: &str,
        state: SegmentState,
    ) -> Result<bool>;
    /// Forgets a segment and its assignments; `false` when it was not
    /// recorded. The checkpoint stays.
    async fn remove_segment(&self, table: &str, segment: &str) -> Result<bool>;
    /// A table's segment records, in name order.
    async fn segments(&self, table: &str) -> Result<Vec<SegmentRecord>>;
    /// Every table's segment records, by table and name.
    async fn all_segments(&self) -> Result<Vec<SegmentRecord>>;
    /// The next offset a partition's consumption resumes from.
    async fn checkpoint(&self, table: &str, partition: i32) -> Result<Option<i64>>;
    /// Every partition's checkpoint of a table.
    async fn checkpoints(&self, table: &str) -> Result<BTreeMap<i32, i64>>;

    // ---- partition leases ----

    /// Grants `owner` the partition's lease for `ttl` if no one else
    /// holds an unexpired one, at a higher epoch than every earlier grant.
    async fn acquire_lease(
        &self,
        table: &str,
        partition: i32,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>>;
    /// Extends a lease still held at its epoch by its ttl from now; `false`
    /// when it was lost (another grant came after it).
    async fn renew_lease(&self, lease: &Lease) -> Result<bool>;
    /// Gives a lease up (it expires at once); a lost lease is left alone.
    async fn release_lease(&self, lease: &Lease) -> Result<()>;
    /// The unexpired leases of a table, by partition.
    async fn leases(&self, table: &str) -> Result<Vec<Lease>>;

    // ---- nodes and assignments ----

    /// Announces `node` as alive now, registering it (or its new address
    /// or roles).
    async fn heartbeat(&self, node: &Node) -> Result<()>;
    /// The nodes heard from within `timeout`, by id.
    async fn live_nodes(&self, timeout: Duration) -> Result<Vec<Node>>;
    /// How long ago each node heard from within `timeout` last beat, by id.
    async fn heartbeat_ages(&self, timeout: Duration) -> Result<BTreeMap<String, Duration>>;
    /// Removes a node (a clean shutdown); an unknown id is not an error.
    async fn leave(&self, id: &str) -> Result<()>;
    /// Makes `servers` (duplicates ignored, none allowed) the holders of a
    /// recorded segment, replacing the earlier ones; an unrecorded segment
    /// is [`Error::Unrecorded`].
    async fn assign(&self, table: &str, segment: &str, servers: &[String]) -> Result<()>;
    /// Which servers hold each segment of every table, each list sorted;
    /// segments without holders are absent.
    async fn routing(&self) -> Result<Routing>;
    /// Makes `partitions` the consumers of `table`'s stream partitions,
    /// replacing every earlier assignment of the table (duplicates
    /// ignored; a partition with no servers, or an empty map, leaves none).
    async fn assign_partitions(
        &self,
        table: &str,
        partitions: &BTreeMap<i32, Vec<String>>,
    ) -> Result<()>;
    /// Which servers consume each stream partition of every table.
    async fn partition_assignments(&self) -> Result<PartitionRouting>;

    // ---- what servers really hold ----

    /// Records that `server` loaded `loaded` and dropped `dropped` of
    /// `table`'s segments (one incremental write; reporting what is
    /// already known, or dropping what was never reported, is no change).
    async fn report_loaded(
        &self,
        server: &str,
        table: &str,
        loaded: &[String],
        dropped: &[String],
    ) -> Result<()>;
    /// Makes `held` everything `server` reports loaded, replacing its
    /// earlier reports (a server's full report when it starts).
    async fn replace_loaded(&self, server: &str, held: &Loaded) -> Result<()>;
    /// Forgets the reports of every server not in `keep` (the leader's
    /// cleanup of dead servers); how many reports went.
    async fn prune_loaded(&self, keep: &[String]) -> Result<u64>;
    /// Which servers heard from within `timeout` report each segment of
    /// every table loaded, each list sorted, in one read: the external
    /// view. Reports of silent servers are left out.
    async fn external_view(&self, timeout: Duration) -> Result<Routing>;

    // ---- leadership ----

    /// Whether this process leads the controllers: takes the leader lock
    /// if it is free and keeps it for as long as this metastore lives.
    /// Controllers ask again before each round of leader's work: on
    /// PostgreSQL the lock goes with its connection, so leadership can be
    /// lost (and `false` is then the answer while another holds it).
    async fn lead(&self) -> Result<bool>;

    // ---- connectors ----

    /// Every connector, by name.
    async fn connectors(&self) -> Result<Vec<ConnectorRecord>>;
    /// Adds a connector or replaces its config, keeping its state.
    async fn put_connector(&self, name: &str, config: &str) -> Result<()>;
    /// Adds a connector unless one of that name is there; whether it was
    /// added.
    async fn create_connector(&self, name: &str, config: &str) -> Result<bool>;
    /// Forgets a connector and its state; `false` when it was not there.
    async fn remove_connector(&self, name: &str) -> Result<bool>;
    /// Replaces a connector's state; an unknown connector is
    /// [`Error::UnknownConnector`].
    async fn put_connector_state(&self, name: &str, state: &str) -> Result<()>;
    /// As [`Metastore::put_connector_state`], only while `lease` (the
    /// connector's) is current at its epoch: a job that lost its lease
    /// records nothing ([`Commit::Fenced`]).
    async fn put_connector_state_leased(
        &self,
        lease: &Lease,
        name: &str,
        state: &str,
    ) -> Result<Commit>;

    // ---- consumption controls ----

    /// Every REALTIME table's consumption controls that were ever changed,
    /// by table (with type).
    async fn stream_controls(&self) -> Result<BTreeMap<String, StreamControl>>;
    /// Applies `change` to `table`'s controls in one transaction and
    /// returns them as they now are.
    async fn control_stream(&self, table: &str, change: &StreamChange) -> Result<StreamControl>;

    // ---- changes ----

    /// A counter that moves (on every node) after any node's write changes
    /// what a read answers: the catalog, segments, checkpoints, lease
    /// grants and releases, nodes joining, changing or leaving,
    /// assignments, loaded-segment reports, connectors, consumption
    /// controls. Lease renewals and heartbeats of known nodes change no
    /// answer and do not move it; nor does time passing
    /// (expiry). The receiver starts at the current count, so `changed()`
    /// waits for the next change. Nodes re-read what they follow when it
    /// moves, and also now and then as a safety net.
    fn changes(&self) -> tokio::sync::watch::Receiver<u64>;
}

/// Where a skip of `lease`'s partition from `from` to `to` leaves the
/// checkpoint, given the one held: `None` when it is there already.
fn skip_position(lease: &Lease, held: Option<i64>, from: i64, to: i64) -> Result<Option<i64>> {
    let bad = |checkpoint: i64| Error::BadSkip {
        table: lease.table.clone(),
        partition: lease.partition,
        from,
        to,
        checkpoint,
    };
    match held {
        Some(checkpoint) if checkpoint == to => Ok(None),
        Some(checkpoint) if checkpoint != from || to < from => Err(bad(checkpoint)),
        None if to < from => Err(bad(from)),
        _ => Ok(Some(to)),
    }
}

/// The partition and offsets of a real-time `record` that may go under
/// `lease`: the checks every implementation makes before it looks at the
/// lease itself, so both refuse the same records the same way.
fn commit_position(lease: &Lease, record: &SegmentRecord) -> Result<(i32, i64, i64)> {
    let (Some(partition), Some((start, end))) = (record.partition, record.offsets) else {
        return Err(Error::NotRealtime(record.segment.clone()));
    };
    if partition != lease.partition || record.table != lease.table {
        return Err(Error::OtherLease {
            segment: record.segment.clone(),
            table: record.table.clone(),
            partition,
            lease_table: lease.table.clone(),
            lease_partition: lease.partition,
        });
    }
    Ok((partition, start, end))
}

/// Refuses a record with stream offsets outside a commit: its offsets
/// would bypass the checkpoint and the lease.
fn check_unordered(record: &SegmentRecord) -> Result<()> {
    if record.offsets.is_some() {
        return Err(Error::Offsets(record.segment.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod conformance;
#[cfg(test)]
mod tests;
