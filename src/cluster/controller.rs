//! The lead controller's work: while it holds the leader lock (one
//! controller at a time; any other takes over when it goes), it places
//! every recorded segment on `segmentsConfig.replication` live servers
//! (see [`super::place`]) whenever segments, servers or tables change,
//! and takes segments being deleted off every server. It also assigns
//! each REALTIME table's Kafka partitions to `replicasPerPartition` live
//! servers the same way (stable, balanced), which consume them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::place::{self, Holders, Load, Move};
use super::{next_change, Cluster};
use crate::catalog::{parse_stream_config, Catalog, TableConfig, TableType};
use crate::metastore::{Routing, SegmentState};

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
                }
                Err(err) => tracing::warn!(error = %err, "cannot reach the leader lock"),
            }
            next_change(&mut changes).await;
        }
    });
}

/// The live servers' ids, in order.
pub async fn live_servers(cluster: &Cluster) -> Result<Vec<String>, crate::metastore::Error> {
    let mut servers: Vec<String> = cluster
        .metastore
        .live_nodes(cluster.lease_timeout)
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
    let servers = live_servers(cluster).await.map_err(|err| err.to_string())?;
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

/// Places every table's segments (only `only`'s when given) and, unless
/// `dry_run`, writes the assignments that change. Returns the moves.
pub async fn rebalance(
    cluster: &Cluster,
    catalog: &Catalog,
    only: Option<&str>,
    dry_run: bool,
) -> Result<BTreeMap<String, Vec<Move>>, crate::metastore::Error> {
    let servers = live_servers(cluster).await?;
    let routing: Routing = cluster.metastore.routing().await?;
    let mut segments: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut deleting: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for record in cluster.metastore.all_segments().await? {
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
    let mut load = Load::new();
    let mut out = BTreeMap::new();
    for (table, names) in &segments {
        let wanted = catalog
            .table(table)
            .map(|entry| replication(&entry.config))
            .unwrap_or(1);
        let empty = Holders::new();
        let current = routing.get(table).unwrap_or(&empty);
        let placed = place::place(names, current, &servers, wanted, &mut load);
        if only.is_some_and(|only| only != table) {
            continue;
        }
        let moves = place::moves(current, &placed);
        if !dry_run {
            for change in &moves {
                let holders = placed.get(&change.segment).cloned().unwrap_or_default();
                cluster
                    .metastore
                    .assign(table, &change.segment, &holders)
                    .await?;
            }
            if !moves.is_empty() {
                tracing::info!(table = %table, moved = moves.len(), servers = servers.len(), "placed segments");
            }
        }
        if !moves.is_empty() {
            out.insert(table.clone(), moves);
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
                    cluster.metastore.assign(table, segment, &[]).await?;
                }
            }
        }
    }
    Ok(out)
}
