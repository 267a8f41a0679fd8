//! The lead controller's work: while it holds the leader lock (one
//! controller at a time; any other takes over when it goes), it places
//! every recorded segment on `segmentsConfig.replication` live servers
//! (see [`super::place`]) whenever segments, servers or tables change,
//! and takes segments being deleted off every server, then removes their
//! records and files once no server reports them loaded. Moves are made
//! in two phases (see [`round`]), against the external view.
//! It also assigns each REALTIME table's Kafka partitions to
//! `replicasPerPartition` live servers the same way (stable, balanced),
//! which consume them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::place::{self, Holders, Load, Move};
use super::{next_change, Cluster};
use crate::catalog::{parse_stream_config, Catalog, TableConfig, TableType};
use crate::metastore::{Metastore, Routing, SegmentState};

/// The role that servers announce.
pub const SERVER_ROLE: &str = "server";

/// Leads when it can, for as long as the cluster runs.
pub fn run(cluster: &Arc<Cluster>, catalog: Arc<Catalog>) {
    let me = cluster.clone();
    cluster.spawn(async move {
        let mut changes = me.metastore.changes();
        let mut leading = false;
        let mut counts = PartitionCounts::default();
        loop {
            match me.metastore.lead().await {
                Ok(true) => {
                    if !leading {
                        tracing::info!(node = %me.node.id, "leading the controllers");
                        leading = true;
                        me.metrics.leader.set(1);
                    }
                    if let Err(err) = super::retention::apply(&me, &catalog).await {
                        tracing::warn!(error = %err, "applying retention failed; retrying");
                    }
                    if let Err(err) = rebalance(&me, &catalog, None, false).await {
                        tracing::warn!(error = %err, "placing segments failed; retrying");
                    }
                    if let Err(err) = assign_partitions(&me, &catalog, &mut counts).await {
                        tracing::warn!(error = %err, "assigning stream partitions failed; retrying");
                    }
                }
                Ok(false) => {
                    if leading {
                        tracing::warn!(node = %me.node.id, "no longer leading the controllers");
                        leading = false;
                    }
                    me.metrics.leader.set(0);
                }
                Err(err) => tracing::warn!(error = %err, "cannot reach the leader lock"),
            }
            next_change(&mut changes).await;
        }
    });
}

/// The live servers' ids, in order.
pub async fn live_servers(
    metastore: &dyn Metastore,
    lease_timeout: Duration,
) -> Result<Vec<String>, crate::metastore::Error> {
    let mut servers: Vec<String> = metastore
        .live_nodes(lease_timeout)
        .await?
        .into_iter()
        .filter(|node| node.roles.iter().any(|role| role == SERVER_ROLE))
        .map(|node| node.id)
        .collect();
    servers.sort();
    Ok(servers)
}

/// How many servers hold each sealed segment of a table:
/// `segmentsConfig.replication`, for REALTIME tables
/// `replicasPerPartition` first (the replicas consuming a partition hold
/// its committed segments), at least 1.
pub fn replication(config: &TableConfig) -> usize {
    let segments = &config.segments_config;
    let (first, second) = match config.table_type {
        TableType::Realtime => (&segments.replicas_per_partition, &segments.replication),
        _ => (&segments.replication, &segments.replicas_per_partition),
    };
    first
        .as_deref()
        .or(second.as_deref())
        .and_then(|text| text.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .max(1)
}

/// How long a topic's partition count is trusted before it is asked again.
const RECOUNT: Duration = Duration::from_secs(30);

/// Each REALTIME table's partition count, and when it was read.
#[derive(Default)]
struct PartitionCounts(BTreeMap<String, (i32, Instant)>);

/// Assigns every REALTIME table's partitions to `replicasPerPartition`
/// live servers (a partition keeps its live consumers), and clears the
/// assignments of tables that are gone.
async fn assign_partitions(
    cluster: &Cluster,
    catalog: &Catalog,
    counts: &mut PartitionCounts,
) -> Result<(), String> {
    let servers = live_servers(cluster.metastore.as_ref(), cluster.lease_timeout)
        .await
        .map_err(|err| err.to_string())?;
    let current = cluster
        .metastore
        .partition_assignments()
        .await
        .map_err(|err| err.to_string())?;
    let mut load = Load::new();
    let mut tables = Vec::new();
    for raw in catalog.table_names(Some(TableType::Realtime)) {
        for entry in catalog.tables_named(&raw) {
            if entry.config.table_type == TableType::Realtime {
                tables.push(entry.config.clone());
            }
        }
    }
    for config in &tables {
        let table = config.name_with_type();
        let count = match partition_count(config, counts).await {
            Ok(count) => count,
            Err(err) => {
                tracing::warn!(table = %table, error = %err, "cannot count the topic's partitions; retrying");
                continue;
            }
        };
        let names: Vec<String> = (0..count).map(partition_key).collect();
        let mut held = Holders::new();
        for (partition, servers) in current.get(&table).into_iter().flatten() {
            held.insert(partition_key(*partition), servers.clone());
        }
        let placed = place::place(&names, &held, &servers, replication(config), &mut load);
        let mut wanted: BTreeMap<i32, Vec<String>> = BTreeMap::new();
        for (partition, holders) in placed {
            if let Ok(partition) = partition.parse::<i32>() {
                wanted.insert(partition, holders);
            }
        }
        let before = current.get(&table).cloned().unwrap_or_default();
        if before != wanted {
            cluster
                .metastore
                .assign_partitions(&table, &wanted)
                .await
                .map_err(|err| err.to_string())?;
            tracing::info!(table = %table, partitions = count, servers = servers.len(), "assigned stream partitions");
        }
    }
    for table in current.keys() {
        if !tables
            .iter()
            .any(|config| &config.name_with_type() == table)
        {
            cluster
                .metastore
                .assign_partitions(table, &BTreeMap::new())
                .await
                .map_err(|err| err.to_string())?;
        }
    }
    Ok(())
}

/// A partition as placement names it: zero-padded, so names sort as
/// numbers do.
fn partition_key(partition: i32) -> String {
    format!("{partition:010}")
}

/// The table's topic's partition count, asked of Kafka at most every
/// [`RECOUNT`].
async fn partition_count(
    config: &TableConfig,
    counts: &mut PartitionCounts,
) -> Result<i32, String> {
    let table = config.name_with_type();
    if let Some((count, at)) = counts.0.get(&table) {
        if at.elapsed() < RECOUNT {
            return Ok(*count);
        }
    }
    let map = config
        .stream_config_map()
        .ok_or_else(|| format!("table {table} has no stream config"))?;
    let stream =
        parse_stream_config(map, "streamConfigs").map_err(|problems| format!("{problems:?}"))?;
    let id = format!("{table}-controller");
    let count = tokio::task::spawn_blocking(move || {
        let consumer =
            crate::ingest::kafka::connect(&stream, &id).map_err(|err| err.to_string())?;
        crate::ingest::kafka::partition_count(&consumer, &stream.topic)
            .map_err(|err| err.to_string())
    })
    .await
    .map_err(|err| err.to_string())??;
    counts.0.insert(table, (count, Instant::now()));
    Ok(count)
}

/// What a round of placement found and did.
#[derive(Debug, Default)]
pub struct Rebalance {
    /// Per table, the moves from the assignment to the target placement
    /// (what a dry run shows).
    pub moves: BTreeMap<String, Vec<Move>>,
    /// Segments whose assignment still holds old holders beside the
    /// target's, waiting for the new holders to report them loaded.
    pub in_progress: usize,
    /// Assignments written this round.
    pub written: usize,
}

/// Places every table's segments (only `only`'s when given) and, unless
/// `dry_run`, writes the assignments that change, and finishes deleting
/// segments no server holds any more.
pub async fn rebalance(
    cluster: &Cluster,
    catalog: &Catalog,
    only: Option<&str>,
    dry_run: bool,
) -> Result<Rebalance, crate::metastore::Error> {
    let wanted = |table: &str| {
        catalog
            .table(table)
            .map(|entry| Wanted {
                replicas: replication(&entry.config),
                by_partition: by_partition(&entry.config),
            })
            .unwrap_or(Wanted::replicas(1))
    };
    let metastore = cluster.metastore.as_ref();
    let done = round(metastore, cluster.lease_timeout, &wanted, only, dry_run).await?;
    cluster.metrics.segment_moves.inc_by(done.written as u64);
    if !dry_run {
        for (table, segment) in deletable(metastore, cluster.lease_timeout).await? {
            if let Err(err) = cluster.deep_store.delete(&table, &segment).await {
                tracing::warn!(table = %table, segment = %segment, error = %err, "cannot delete a deleted segment's file from the deep store; retrying");
                continue;
            }
            metastore.remove_segment(&table, &segment).await?;
            tracing::info!(table = %table, segment = %segment, "deleted a segment no server holds any more");
        }
    }
    Ok(done)
}

/// How one table's segments are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    /// Servers per segment.
    pub replicas: usize,
    /// Each stream segment goes to the servers consuming its partition,
    /// so each of them holds the partition's whole history.
    pub by_partition: bool,
}

impl Wanted {
    pub fn replicas(replicas: usize) -> Wanted {
        Wanted {
            replicas,
            by_partition: false,
        }
    }
}

/// Whether a table's stream segments are placed by partition: a REALTIME
/// upsert or dedup table, whose key state is per partition and must see
/// each of its records (Pinot's `strictReplicaGroup`).
pub fn by_partition(config: &TableConfig) -> bool {
    config.table_type == TableType::Realtime
        && (config.upsert().is_some() || config.dedup().is_some())
}

/// One round of placement over `metastore`, the replication of each
/// table from `wanted`. Moves go in two phases: a segment's new holders
/// are added to its assignment first, and its old live holders that have
/// it loaded stay until every new one reports it loaded, so a move never
/// leaves a segment with fewer loaded replicas than before. Holders that
/// are not live are dropped at once (their segments are placed again).
pub async fn round(
    metastore: &dyn Metastore,
    lease_timeout: Duration,
    wanted: &(dyn Fn(&str) -> Wanted + Sync),
    only: Option<&str>,
    dry_run: bool,
) -> Result<Rebalance, crate::metastore::Error> {
    let servers = live_servers(metastore, lease_timeout).await?;
    let live: BTreeSet<&str> = servers.iter().map(String::as_str).collect();
    let routing: Routing = metastore.routing().await?;
    let view: Routing = metastore.external_view(lease_timeout).await?;
    if !dry_run {
        let pruned = metastore.prune_loaded(&servers).await?;
        if pruned > 0 {
            tracing::info!(reports = pruned, "forgot what dead servers had loaded");
        }
    }
    let mut segments: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut deleting: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut partition_of: BTreeMap<(String, String), i32> = BTreeMap::new();
    let consumers = metastore.partition_assignments().await?;
    for record in metastore.all_segments().await? {
        if let Some(partition) = record.partition {
            partition_of.insert((record.table.clone(), record.segment.clone()), partition);
        }
        match record.state {
            SegmentState::Online => segments
                .entry(record.table)
                .or_default()
                .push(record.segment),
            SegmentState::Deleting => deleting
                .entry(record.table)
                .or_default()
                .push(record.segment),
        }
    }
    let empty = Holders::new();
    let mut load = Load::new();
    let mut out = Rebalance::default();
    for (table, names) in &segments {
        let want = wanted(table);
        let replicas = want.replicas;
        let assigned = routing.get(table).unwrap_or(&empty);
        let loaded = view.get(table).unwrap_or(&empty);
        let mut settled_now = Holders::new();
        for segment in names {
            let holders = settled(
                assigned.get(segment).map(Vec::as_slice).unwrap_or_default(),
                loaded.get(segment).map(Vec::as_slice).unwrap_or_default(),
                &live,
                replicas,
            );
            settled_now.insert(segment.clone(), holders);
        }
        // A table placed by partition puts each stream segment on its
        // partition's live consumers; the rest are placed by load.
        let mut aligned: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if want.by_partition {
            let partitions = consumers.get(table);
            for segment in names {
                let Some(partition) = partition_of.get(&(table.clone(), segment.clone())) else {
                    continue;
                };
                let mut on: Vec<String> = partitions
                    .and_then(|partitions| partitions.get(partition))
                    .into_iter()
                    .flatten()
                    .filter(|server| live.contains(server.as_str()))
                    .cloned()
                    .collect();
                if !on.is_empty() {
                    on.sort();
                    aligned.insert(segment.clone(), on);
                }
            }
        }
        let by_load: Vec<String> = names
            .iter()
            .filter(|segment| !aligned.contains_key(*segment))
            .cloned()
            .collect();
        let mut target = place::place(&by_load, &settled_now, &servers, replicas, &mut load);
        for (segment, on) in aligned {
            for server in &on {
                *load.entry(server.clone()).or_insert(0) += 1;
            }
            target.insert(segment, on);
        }
        if only.is_some_and(|only| only != table) {
            continue;
        }
        let moves = place::moves(assigned, &target);
        let mut written = 0;
        for segment in names {
            let before = assigned.get(segment).cloned().unwrap_or_default();
            let goal = target.get(segment).cloned().unwrap_or_default();
            let now = phase(
                &before,
                &goal,
                loaded.get(segment).map(Vec::as_slice).unwrap_or_default(),
                &live,
            );
            if now != goal {
                out.in_progress += 1;
            }
            if now != before && !dry_run {
                metastore.assign(table, segment, &now).await?;
                written += 1;
            }
        }
        out.written += written;
        if written > 0 {
            tracing::info!(table = %table, changed = written, servers = servers.len(), "placed segments");
        }
        if !moves.is_empty() {
            out.moves.insert(table.clone(), moves);
        }
    }
    if !dry_run {
        for (table, names) in &deleting {
            for segment in names {
                let held = routing
                    .get(table)
                    .and_then(|segments| segments.get(segment))
                    .is_some_and(|holders| !holders.is_empty());
                if held {
                    metastore.assign(table, segment, &[]).await?;
                }
            }
        }
    }
    Ok(out)
}

/// The segments being deleted that no live server reports loaded: their
/// records and files can go.
pub async fn deletable(
    metastore: &dyn Metastore,
    lease_timeout: Duration,
) -> Result<Vec<(String, String)>, crate::metastore::Error> {
    let view = metastore.external_view(lease_timeout).await?;
    let mut out = Vec::new();
    for record in metastore.all_segments().await? {
        if record.state != SegmentState::Deleting {
            continue;
        }
        let held = view
            .get(&record.table)
            .and_then(|segments| segments.get(&record.segment))
            .is_some_and(|holders| !holders.is_empty());
        if !held {
            out.push((record.table, record.segment));
        }
    }
    Ok(out)
}

/// The holders placement should start from for one segment. Mid-move, an
/// assignment holds the new holders (assigned, not loaded yet) beside old
/// ones (loaded) waiting to go: the new ones come first, so placement
/// keeps the move it started rather than undo it; loaded ones fill the
/// rest up to `replicas`.
pub fn settled(
    assigned: &[String],
    loaded: &[String],
    live: &BTreeSet<&str>,
    replicas: usize,
) -> Vec<String> {
    let assigned: Vec<&String> = assigned
        .iter()
        .filter(|server| live.contains(server.as_str()))
        .collect();
    if assigned.len() <= replicas {
        return assigned.into_iter().cloned().collect();
    }
    let mut out: Vec<String> = Vec::new();
    for server in &assigned {
        if !loaded.contains(server) && out.len() < replicas {
            out.push((*server).clone());
        }
    }
    for server in &assigned {
        if loaded.contains(server) && out.len() < replicas {
            out.push((*server).clone());
        }
    }
    out.sort();
    out
}

/// The assignment to write now on the way from `before` to `target`: the
/// target once every target holder reports the segment loaded; until
/// then the target plus the old holders that are live and have it loaded.
pub fn phase(
    before: &[String],
    target: &[String],
    loaded: &[String],
    live: &BTreeSet<&str>,
) -> Vec<String> {
    let mut out: Vec<String> = target.to_vec();
    let ready = target.iter().all(|server| loaded.contains(server));
    if !ready {
        for server in before {
            let keep = live.contains(server.as_str()) && loaded.contains(server);
            if keep && !out.contains(server) {
                out.push(server.clone());
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests;
