//! A server's holdings: it loads the segments the controller placed on
//! it (downloaded from the deep store into its table directories, its
//! local disk a cache of the deep store) and drops those placed elsewhere
//! or being deleted. A server that lost its disk downloads everything
//! again; one that restarts keeps what it had and catches up.
//!
//! Every load and drop is reported to the metastore as it happens (the
//! external view the controller and brokers read), and the whole of what
//! the server holds is reported again when it starts, after a pass that
//! failed, and every [`FULL_REPORT`] (so reports the leader pruned while
//! this server seemed dead come back).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{next_change, Cluster};
use crate::metastore::{Loaded, SegmentState};
use crate::server::Server;

/// How often a server reports everything it holds even when nothing went
/// wrong: a cheap no-op write when the reports are right.
pub const FULL_REPORT: Duration = Duration::from_secs(60);

/// Follows the placement for as long as the cluster runs.
pub fn follow(cluster: &Arc<Cluster>, server: Arc<Server>) {
    let me = cluster.clone();
    cluster.spawn(async move {
        let mut changes = me.metastore.changes();
        let mut noted = BTreeSet::new();
        let mut reported_at: Option<Instant> = None;
        loop {
            let due = reported_at.is_none_or(|at| at.elapsed() >= FULL_REPORT);
            if due {
                match report_all(&me, &server).await {
                    Ok(()) => reported_at = Some(Instant::now()),
                    Err(err) => {
                        tracing::warn!(error = %err, "could not report this server's segments; retrying")
                    }
                }
            }
            if let Err(err) = sync(&me, &server, &mut noted).await {
                // A load or drop may have gone unreported.
                reported_at = None;
                tracing::warn!(error = %err, "could not bring this server's segments in line with the placement; retrying");
            }
            next_change(&mut changes).await;
        }
    });
}

/// Reports every segment this server holds, replacing its earlier reports.
pub async fn report_all(cluster: &Cluster, server: &Server) -> Result<(), String> {
    let mut held = Loaded::new();
    for table in server.table_names() {
        let Some(data) = server.table(&table) else {
            continue;
        };
        let names: Vec<String> = data
            .segments()
            .iter()
            .map(|segment| segment.name().to_string())
            .collect();
        if !names.is_empty() {
            held.insert(table, names);
        }
    }
    cluster
        .metastore
        .replace_loaded(&cluster.node.id, &held)
        .await
        .map_err(|err| format!("reporting the segments this server holds: {err}"))
}

/// One pass: load what is placed here and missing, drop what is placed
/// elsewhere.
pub async fn sync(
    cluster: &Cluster,
    server: &Arc<Server>,
    noted: &mut BTreeSet<(String, String)>,
) -> Result<(), String> {
    let me = cluster.node.id.as_str();
    let routing = cluster
        .metastore
        .routing()
        .await
        .map_err(|err| err.to_string())?;
    let mut wanted: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (table, segments) in &routing {
        for (segment, holders) in segments {
            if holders.iter().any(|holder| holder == me) {
                wanted.entry(table).or_default().insert(segment);
            }
        }
    }
    let mut tables: BTreeSet<String> = server.table_names().into_iter().collect();
    tables.extend(wanted.keys().map(|table| table.to_string()));
    for table in tables {
        let want = wanted.get(table.as_str()).cloned().unwrap_or_default();
        let data = if want.is_empty() {
            match server.table(&table) {
                Some(data) => data,
                None => continue,
            }
        } else {
            server
                .table_or_create(&table)
                .map_err(|err| err.to_string())?
        };
        let held: BTreeSet<String> = data
            .segments()
            .iter()
            .map(|segment| segment.name().to_string())
            .collect();
        let missing: Vec<&str> = want
            .iter()
            .filter(|segment| !held.contains(**segment))
            .copied()
            .collect();
        cluster.metrics.holdings(&table, held.len(), missing.len());
        // What each segment's record says of its file, to check downloads.
        let checks: BTreeMap<String, (u64, u32)> = if missing.is_empty() {
            BTreeMap::new()
        } else {
            cluster
                .metastore
                .segments(&table)
                .await
                .map_err(|err| err.to_string())?
                .into_iter()
                .map(|record| {
                    (
                        record.segment,
                        (record.size_bytes as u64, record.crc as u32),
                    )
                })
                .collect()
        };
        for segment in missing {
            let path = data.segment_path(segment);
            let check = checks.get(segment).copied();
            let loaded = load(cluster, &data, &table, segment, path, check).await;
            if let Err(err) = loaded {
                cluster.metrics.download_failures.inc();
                return Err(err);
            }
            tracing::info!(table = %table, segment = %segment, "loaded a segment placed on this server");
            cluster
                .metastore
                .report_loaded(me, &table, &[segment.to_string()], &[])
                .await
                .map_err(|err| format!("reporting segment {segment} of {table} loaded: {err}"))?;
        }
        let extra: Vec<&String> = held
            .iter()
            .filter(|segment| !want.contains(segment.as_str()))
            .collect();
        let now_held = data.segments().iter().count();
        cluster.metrics.holdings(&table, now_held, 0);
        if extra.is_empty() {
            continue;
        }
        let records: BTreeMap<String, SegmentState> = cluster
            .metastore
            .segments(&table)
            .await
            .map_err(|err| err.to_string())?
            .into_iter()
            .map(|record| (record.segment, record.state))
            .collect();
        let placed = routing.get(&table);
        // Never the last copy: another live server must report it loaded
        // (a real-time segment committed here is placed on others, which
        // load it from the deep store meanwhile).
        let loaded = cluster
            .metastore
            .external_view(cluster.lease_timeout)
            .await
            .map_err(|err| err.to_string())?;
        for segment in extra {
            let loaded_elsewhere = loaded
                .get(&table)
                .and_then(|segments| segments.get(segment))
                .is_some_and(|holders| holders.iter().any(|holder| holder != me));
            let elsewhere = loaded_elsewhere
                && placed
                    .and_then(|segments| segments.get(segment))
                    .is_some_and(|holders| !holders.is_empty());
            let deleting = records.get(segment) == Some(&SegmentState::Deleting);
            if !records.contains_key(segment) {
                if noted.insert((table.clone(), segment.clone())) {
                    tracing::warn!(table = %table, segment = %segment, "this server holds a segment the cluster has no record of; it is kept but not queried");
                }
                continue;
            }
            if elsewhere || deleting {
                data.delete_segment(segment)
                    .map_err(|err| format!("dropping segment {segment} of {table}: {err}"))?;
                tracing::info!(table = %table, segment = %segment, "dropped a segment no longer placed on this server");
                cluster
                    .metrics
                    .holdings(&table, data.segments().iter().count(), 0);
                cluster
                    .metastore
                    .report_loaded(me, &table, &[], std::slice::from_ref(segment))
                    .await
                    .map_err(|err| {
                        format!("reporting segment {segment} of {table} dropped: {err}")
                    })?;
            }
        }
    }
    Ok(())
}

/// Downloads one segment into `data`'s directory and loads it.
async fn load(
    cluster: &Cluster,
    data: &Arc<crate::server::TableData>,
    table: &str,
    segment: &str,
    path: std::path::PathBuf,
    check: Option<(u64, u32)>,
) -> Result<(), String> {
    let store = &cluster.deep_store;
    let downloaded = match check {
        Some((size, crc)) => {
            store
                .download_checked(table, segment, &path, size, crc)
                .await
        }
        None => store.download(table, segment, &path).await,
    };
    downloaded.map_err(|err| format!("downloading segment {segment} of {table}: {err}"))?;
    let bytes = std::fs::metadata(&path).map_or(0, |meta| meta.len());
    cluster.metrics.downloads.inc();
    cluster.metrics.download_bytes.inc_by(bytes);
    let committing = data.clone();
    tokio::task::spawn_blocking(move || committing.commit_published(&[path]))
        .await
        .map_err(|err| err.to_string())?
        .map_err(|err| format!("loading segment {segment} of {table}: {err}"))?;
    Ok(())
}
