//! The lead controller's work: while it holds the leader lock (one
//! controller at a time; any other takes over when it goes), it places
//! every recorded segment on `segmentsConfig.replication` live servers
//! (see [`super::place`]) whenever segments, servers or tables change,
//! and takes segments being deleted off every server.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::place::{self, Holders, Load, Move};
use super::{next_change, Cluster};
use crate::catalog::{Catalog, TableConfig};
use crate::metastore::{Routing, SegmentState};

/// The role that servers announce.
pub const SERVER_ROLE: &str = "server";

/// Leads when it can, for as long as the cluster runs.
pub fn run(cluster: &Arc<Cluster>, catalog: Arc<Catalog>) {
    let me = cluster.clone();
    cluster.spawn(async move {
        let mut changes = me.metastore.changes();
        let mut leading = false;
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
/// `segmentsConfig.replication` (for REALTIME tables also
/// `replicasPerPartition`), at least 1.
pub fn replication(config: &TableConfig) -> usize {
    let segments = &config.segments_config;
    segments
        .replication
        .as_deref()
        .or(segments.replicas_per_partition.as_deref())
        .and_then(|text| text.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .max(1)
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
