//! The metastore on PostgreSQL (tokio-postgres). Time is the database's
//! (`now()`), so lease and heartbeat expiry do not depend on the nodes'
//! clocks agreeing.
//!
//! Connections: a small fixed set per [`PgMetastore`], each with one job,
//! all opened by `connect::Connector`:
//! - *reader*: single statements (reads, lease renewals, heartbeats of
//!   known nodes). tokio-postgres pipelines concurrent statements on one
//!   connection, so many tasks read at once without a pool.
//! - *writer*: transactions, which need `&mut Client`, behind a
//!   `tokio::sync::Mutex`: a process's writes take turns (each is a few
//!   round trips, and a node writes seldom: commits, grants, assignments,
//!   catalog edits), and a read never waits for them. Each write that
//!   changes what a read returns notifies the other nodes in the same
//!   transaction (`listen.rs`).
//! - *leader*: opened by the first [`Metastore::lead`], holding the
//!   leader's session advisory lock for as long as it lives.
//! - *listener*: moves the change counter (`listen.rs`).
//!
//! A reader or writer connection that broke is replaced on the next call
//! (the call it broke under fails); the listener reconnects by itself.
//!
//! Lists come in byte order of their names (`COLLATE "C"`), as the local
//! metastore gives them, whatever the database's collation.

mod catalog;
mod cluster;
mod connect;
mod listen;
mod loaded;
mod segments;
pub mod tls;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{watch, Mutex, MutexGuard};
use tokio::task::JoinHandle;
use tokio_postgres::{Client, Transaction};

use super::migrations::{self, LOCK_KEY, STEPS};
use super::{
    check_unordered, CatalogEntry, CatalogKind, Commit, ConnectorRecord, Error, Lease, Loaded,
    Metastore, Node, PartitionRouting, Result, Routing, SegmentRecord, SegmentState, StreamChange,
    StreamControl,
};
use connect::Connector;
use listen::Listening;
pub use tls::Tls;

/// The leader lock's first key (`gldr` in ASCII); the second is the hash
/// of the metastore's schema, so clusters in two schemas of one database
/// each have a leader. Session locks on two `int4` keys never collide with
/// the migration's `bigint` [`LOCK_KEY`].
const LEADER_KEY: i32 = 0x67_6c_64_72;

/// The metastore in a PostgreSQL database (the schema its connections'
/// `search_path` names).
pub struct PgMetastore {
    connector: Connector,
    reader: Mutex<Arc<Client>>,
    writer: Mutex<Client>,
    leader: Mutex<Option<Leader>>,
    changes: Arc<watch::Sender<u64>>,
    listener: JoinHandle<()>,
}

/// The connection that holds, or tries for, the leader lock.
struct Leader {
    client: Client,
    holds: bool,
}

fn db(action: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Error {
    move |source| Error::Database { action, source }
}

impl PgMetastore {
    /// Connects to `url` (`postgres://user:password@host:port/database`)
    /// and brings the schema to this build's version.
    pub async fn connect(url: &str) -> Result<PgMetastore> {
        let (url, tls) = tls::from_url(url)?;
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|err: tokio_postgres::Error| Error::Url(err.to_string()))?;
        PgMetastore::connect_with(config, tls).await
    }

    /// As [`Self::connect`], with the connection's settings given. The
    /// metastore's connections live on the runtime this is called on.
    pub async fn connect_with(config: tokio_postgres::Config, tls: Tls) -> Result<PgMetastore> {
        let connector = Connector::new(config, tls);
        let mut writer = connector.client("writer").await?;
        migrate(&mut writer).await?;
        let reader = connector.client("reader").await?;
        let listening = Listening::open(&connector).await?;
        let (counter, _) = watch::channel(0);
        let changes = Arc::new(counter);
        let listener = connector.spawn(listen::listen(
            connector.clone(),
            listening,
            changes.clone(),
        ));
        Ok(PgMetastore {
            connector,
            reader: Mutex::new(Arc::new(reader)),
            writer: Mutex::new(writer),
            leader: Mutex::new(None),
            changes,
            listener,
        })
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<i32> {
        let row = self
            .reader()
            .await?
            .query_one("SELECT version FROM gamay_metastore_version", &[])
            .await
            .map_err(db("read the schema version"))?;
        Ok(row.get(0))
    }

    /// The connection for single statements, reopened if it broke.
    async fn reader(&self) -> Result<Arc<Client>> {
        let mut reader = self.reader.lock().await;
        if reader.is_closed() {
            *reader = Arc::new(self.connector.client("reader").await?);
        }
        Ok(reader.clone())
    }

    /// The connection for transactions, this caller's until dropped.
    async fn writer(&self) -> Result<MutexGuard<'_, Client>> {
        let mut writer = self.writer.lock().await;
        if writer.is_closed() {
            *writer = self.connector.client("writer").await?;
        }
        Ok(writer)
    }
}

impl Drop for PgMetastore {
    fn drop(&mut self) {
        // The other connections close with their clients; the listener's
        // task owns its own.
        self.listener.abort();
    }
}

async fn begin<'a>(client: &'a mut Client, action: &'static str) -> Result<Transaction<'a>> {
    client.transaction().await.map_err(db(action))
}

/// Commits `tx`, notifying the other nodes first if it `changed` anything.
async fn finish(tx: Transaction<'_>, changed: bool) -> Result<()> {
    if changed {
        listen::notify(&tx).await?;
    }
    tx.commit().await.map_err(db("commit a change"))
}

impl Leader {
    async fn connect(connector: &Connector) -> Result<Leader> {
        Ok(Leader {
            client: connector.client("leader").await?,
            holds: false,
        })
    }

    /// Whether its connection (and so its session and lock) is still there.
    async fn alive(&self) -> bool {
        !self.client.is_closed() && self.client.batch_execute("SELECT 1").await.is_ok()
    }
}

/// Applies the schema steps the database lacks, once, whichever node
/// gets there first.
async fn migrate(client: &mut Client) -> Result<()> {
    let tx = client
        .transaction()
        .await
        .map_err(db("start a migration"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .await
        .map_err(db("lock the schema for migration"))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS gamay_metastore_version (version INTEGER NOT NULL)",
    )
    .await
    .map_err(db("create the version table"))?;
    let found: Option<i32> = tx
        .query_opt("SELECT version FROM gamay_metastore_version", &[])
        .await
        .map_err(db("read the schema version"))?
        .map(|row| row.get(0));
    let found = match found {
        Some(version) => version,
        None => {
            tx.execute("INSERT INTO gamay_metastore_version VALUES (0)", &[])
                .await
                .map_err(db("record the schema version"))?;
            0
        }
    };
    let known = migrations::latest();
    if found > known {
        return Err(Error::NewerSchema { found, known });
    }
    for step in &STEPS[found as usize..] {
        tx.batch_execute(step)
            .await
            .map_err(db("migrate the schema"))?;
    }
    tx.execute("UPDATE gamay_metastore_version SET version = $1", &[&known])
        .await
        .map_err(db("record the schema version"))?;
    tx.commit().await.map_err(db("commit a migration"))
}

#[async_trait]
impl Metastore for PgMetastore {
    async fn catalog(&self) -> Result<Vec<CatalogEntry>> {
        catalog::entries(&*self.reader().await?).await
    }

    async fn put_catalog(&self, entry: &CatalogEntry) -> Result<()> {
        let mut writer = self.writer().await?;
        let tx = begin(&mut writer, "start a catalog change").await?;
        catalog::put(&tx, entry).await?;
        finish(tx, true).await
    }

    async fn remove_catalog(&self, kind: CatalogKind, name: &str) -> Result<()> {
        let mut writer = self.writer().await?;
        let tx = begin(&mut writer, "start a catalog change").await?;
        let removed = catalog::remove(&tx, kind, name).await?;
        finish(tx, removed).await
    }

    async fn record_segments(&self, records: &[SegmentRecord]) -> Result<()> {
        for record in records {
            check_unordered(record)?;
        }
        let mut writer = self.writer().await?;
        let tx = begin(&mut writer, "start recording segments").await?;
        for record in records {
            // An error drops the transaction: nothing is recorded.
            segments::insert(&tx, record).await?;
        }
        finish(tx, !records.is_empty()).await
    }

    async fn commit_segment(&self, lease: &Lease, record: &SegmentRecord) -> Result<Commit> {
        let mut writer = self.writer().await?;
        let tx = begin(&mut writer, "start a segment commit").await?;
        let commit = segments::commit(&tx, lease, record).await?;
        if commit == Commit::Committed {
            finish(tx, true).await?;
        }
        Ok(commit)
    }

    async fn skip_offsets(&self, lease: &Lease, from: i64, to: i64) -> Result<Commit> {
        let mut writer = self.writer().await?;
        let tx = begin(&mut writer, "start skipping offsets").await?;
        let skipped = segments::skip(&tx, lease, from, to).await?;
        if skipped == Commit::Committed {
            finish(tx, true).await?;
        }
        Ok(skipped)
    }

    async fn set_segment_state(
        &self,
        table: &str,
        segment: &str,
        state: SegmentState,
    ) -> Result<bool> {
        let mut writer = self.writer().await?;
        let tx = begin(&mut writer, "start a segment state change").await?;
        let changed = segments::set_state(&tx, table, segment, state).await?;
        finish(tx, changed).await?;
        Ok(changed)
    }

    async fn remove_segment(&self, table: &str, segment: &str) -> Result<bool> {
        let mut writer = self.writer().await?;
        let tx = begin(&mut writer, "start removing a segment").await?;
        let removed = segments::remove(&tx, table, segment).await?;
        finish(tx, removed).await?;
        Ok(removed)
    }

    async fn segments(&self, table: &str) -> Result<Vec<SegmentRecord>> {
        segments::records(&*self.reader().await?, Some(table)).await
    }

    async fn all_segments(&self) -> Result<Vec<SegmentRecord>> {
        segments::records(&*self.reader().await?, None).await
    }

    async fn checkpoint(&self, table: &str, partition: i32) -> Result<Option<i64>> {
        segments::checkpoint(&*self.reader().await?, table, partition).await
    }

    async fn checkpoints(&self, table: &str) -> Result<BTreeMap<i32, i64>> {
        segments::checkpoints(&*self.reader().await?, table).await
    }

    async fn acquire_lease(
        &self,
        table: &str,
        partition: i32,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        let mut writer = self.writer().await?;
        let tx = begin(&mut writer, "start a lease grant").await?;
        let lease = cluster::acquire_lease(&tx, table, partition, owner, ttl).await?;
        finish(tx, lease.is_some()).await?;
        Ok(lease)
    }

    async fn renew_lease(&self, lease: &Lease) -> Result<bool> {
        cluster::renew_lease(&*self.reader().await?, lease).await
    }

    async fn release_lease(&self, lease: &Lease) -> Result<()> {
        let mut writer = self.writer().await?;
        let tx = begin(&mut writer, "start a lease release").await?;
        let released = cluster::release_lease(&tx, lease).await?;
        finish(tx, released).await
    }

    async fn leases(&self, table: &str) -> Result<Vec<Lease>> {
        cluster::leases(&*self.reader().await?, table).await
    }

    async fn heartbeat(&self, node: &Node) -> Result<()> {
        if cluster::refresh(&*self.reader().await?, node).await? {
            return Ok(());
        }
        let mut writer = self.writer().await?;
        let tx = begin(&mut writer, "start registering a node").await?;
        cluster::register(&tx, node).await?;
        finish(tx, true).await
    }

    async fn live_nodes(&self, timeout: Duration) -> Result<Vec<Node>> {
        cluster::live_nodes(&*self.reader().await?, timeout).await
    }

    async fn heartbeat_ages(&self, timeout: Duration) -> Result<BTreeMap<String, Duration>> {
        cluster::heartbeat_ages(&*self.reader().await?, timeout).await
    }

    async fn leave(&self, id: &str) -> Result<()> {
        let mut writer = self.writer().await?;
        let tx = begin(&mut writer, "start removing a node").await?;
        let removed = cluster::leave(&tx, id).await?;
        finish(tx, removed).await
    }

    async fn assign(&self, table: &str, segment: &str, servers: &[String]) -> Result<()> {
        let mut writer = self.writer().await?;
        let tx = begin(&mut writer, "start an assignment").await?;
        cluster::assign(&tx, table, segment, servers).await?;
        finish(tx, true).await
    }

    async fn routing(&self) -> Result<Routing> {
        cluster::routing(&*self.reader().await?).await
    }

    async fn assign_partitions(
        &self,
        table: &str,
        partitions: &BTreeMap<i32, Vec<String>>,
    ) -> Result<()> {
        let mut writer = self.writer().await?;
        let tx = begin(&mut writer, "start a partition assignment").await?;
        let changed = cluster::assign_partitions(&tx, table, partitions).await?;
        finish(tx, changed).await
    }

    async fn partition_assignments(&self) -> Result<PartitionRouting> {
        cluster::partition_assignments(&*self.reader().await?).await
    }

    async fn report_loaded(
        &self,
        server: &str,
        table: &str,
        loaded: &[String],
        dropped: &[String],
    ) -> Result<()> {
        if loaded.is_empty() && dropped.is_empty() {
            return Ok(());
        }
        let mut writer = self.writer().await?;
        let tx = begin(&mut writer, "start a loaded-segment report").await?;
        let changed = loaded::report(&tx, server, table, loaded, dropped).await?;
        finish(tx, changed).await
    }

    async fn replace_loaded(&self, server: &str, held: &Loaded) -> Result<()> {
        let mut writer = self.writer().await?;
        let tx = begin(&mut writer, "start a loaded-segment report").await?;
        let changed = loaded::replace(&tx, server, held).await?;
        finish(tx, changed).await
    }

    async fn prune_loaded(&self, keep: &[String]) -> Result<u64> {
        let mut writer = self.writer().await?;
        let tx = begin(&mut writer, "start pruning loaded-segment reports").await?;
        let pruned = loaded::prune(&tx, keep).await?;
        finish(tx, pruned > 0).await?;
        Ok(pruned)
    }

    async fn external_view(&self, timeout: Duration) -> Result<Routing> {
        loaded::external_view(&*self.reader().await?, timeout).await
    }

    /// Holds the leader lock on the leader connection: a session advisory
    /// lock, released by the server when that session ends (this
    /// metastore dropped, the process gone, the connection broken). A
    /// broken connection is leadership lost: the next call reconnects
    /// and tries again.
    async fn lead(&self) -> Result<bool> {
        let mut slot = self.leader.lock().await;
        let mut leader = match slot.take() {
            Some(leader) if leader.alive().await => leader,
            Some(lost) => {
                if lost.holds {
                    tracing::warn!("the metastore connection holding the leader lock broke: this process no longer leads");
                }
                Leader::connect(&self.connector).await?
            }
            None => Leader::connect(&self.connector).await?,
        };
        if !leader.holds {
            let row = leader
                .client
                .query_one(
                    "SELECT pg_try_advisory_lock($1, hashtext(coalesce(current_schema(), '')))",
                    &[&LEADER_KEY],
                )
                .await
                .map_err(db("try the leader lock"))?;
            leader.holds = row.get(0);
            if leader.holds {
                tracing::info!("this process took the leader lock");
            }
        }
        let holds = leader.holds;
        *slot = Some(leader);
        Ok(holds)
    }

    async fn connectors(&self) -> Result<Vec<ConnectorRecord>> {
        catalog::connectors(&*self.reader().await?).await
    }

    async fn put_connector(&self, name: &str, config: &str) -> Result<()> {
        let mut writer = self.writer().await?;
        let tx = begin(&mut writer, "start storing a connector").await?;
        catalog::put_connector(&tx, name, config).await?;
        finish(tx, true).await
    }

    async fn create_connector(&self, name: &str, config: &str) -> Result<bool> {
        let mut writer = self.writer().await?;
        let tx = begin(&mut writer, "start storing a connector").await?;
        let added = catalog::create_connector(&tx, name, config).await?;
        finish(tx, added).await?;
        Ok(added)
    }

    async fn remove_connector(&self, name: &str) -> Result<bool> {
        let mut writer = self.writer().await?;
        let tx = begin(&mut writer, "start removing a connector").await?;
        let removed = catalog::remove_connector(&tx, name).await?;
        finish(tx, removed).await?;
        Ok(removed)
    }

    async fn put_connector_state(&self, name: &str, state: &str) -> Result<()> {
        let mut writer = self.writer().await?;
        let tx = begin(&mut writer, "start storing a connector's state").await?;
        catalog::put_connector_state(&tx, name, state).await?;
        finish(tx, true).await
    }

    async fn put_connector_state_leased(
        &self,
        lease: &Lease,
        name: &str,
        state: &str,
    ) -> Result<Commit> {
        let mut writer = self.writer().await?;
        let tx = begin(&mut writer, "start storing a connector's state").await?;
        if !segments::holds(&tx, lease).await? {
            return Ok(Commit::Fenced);
        }
        catalog::put_connector_state(&tx, name, state).await?;
        finish(tx, true).await?;
        Ok(Commit::Committed)
    }

    async fn stream_controls(&self) -> Result<BTreeMap<String, StreamControl>> {
        catalog::stream_controls(&*self.reader().await?).await
    }

    async fn control_stream(&self, table: &str, change: &StreamChange) -> Result<StreamControl> {
        let mut writer = self.writer().await?;
        let tx = begin(&mut writer, "start changing consumption controls").await?;
        let control = catalog::control_stream(&tx, table, change).await?;
        finish(tx, true).await?;
        Ok(control)
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}
