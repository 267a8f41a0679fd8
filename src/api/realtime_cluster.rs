//! Pinot's real-time controls on a node of a cluster: pause, resume and
//! force commit change the table's consumption controls in the metastore,
//! which every server consuming the table applies (`cluster/stream.rs`);
//! the pause flag and a force commit's progress are read back from the
//! metastore, so any node answers them. A force commit's job records where
//! each partition's committed segments ended when it was asked; a
//! partition has committed once its checkpoint moves past that.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::error::ApiError;
use super::AppState;
use crate::catalog::{raw_table_name, TableType};
use crate::cluster::Cluster;
use crate::metastore::{StreamChange, StreamControl};

/// The REALTIME table `name` (raw or typed) of the catalog.
pub(super) fn table(state: &AppState, name: &str) -> Result<String, ApiError> {
    let typed = TableType::Realtime.with_type(raw_table_name(name));
    if state.catalog.table(&typed).is_some() {
        return Ok(typed);
    }
    let offline = TableType::Offline.with_type(raw_table_name(name));
    if state.catalog.table(&offline).is_some() {
        return Err(ApiError::bad_request(format!(
            "table {} is OFFLINE; consumption applies to REALTIME tables",
            raw_table_name(name)
        )));
    }
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        format!("table {name} does not exist"),
    ))
}

fn metastore_error(err: crate::metastore::Error) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the cluster's metastore: {err}"),
    )
}

/// Applies `change` to `typed`'s controls.
pub(super) async fn control(
    cluster: &Cluster,
    typed: &str,
    change: StreamChange,
) -> Result<StreamControl, ApiError> {
    cluster
        .metastore
        .control_stream(typed, &change)
        .await
        .map_err(metastore_error)
}

/// `typed`'s controls as they are.
pub(super) async fn current(cluster: &Cluster, typed: &str) -> Result<StreamControl, ApiError> {
    let controls = cluster
        .metastore
        .stream_controls()
        .await
        .map_err(metastore_error)?;
    Ok(controls.get(typed).cloned().unwrap_or_default())
}

/// Each partition's consuming segment, named as Pinot names it without
/// its creation time (`table__partition__sequence`), by partition.
pub(super) async fn consuming(
    state: &AppState,
    cluster: &Cluster,
    typed: &str,
) -> Result<BTreeMap<i32, String>, ApiError> {
    let partitions: Vec<i32> = state
        .router
        .as_ref()
        .and_then(|router| {
            router
                .current()
                .partitions
                .get(typed)
                .map(|routes| routes.keys().copied().collect())
        })
        .unwrap_or_default();
    let records = cluster
        .metastore
        .segments(typed)
        .await
        .map_err(metastore_error)?;
    let raw = raw_table_name(typed);
    Ok(partitions
        .into_iter()
        .map(|partition| {
            let next = records
                .iter()
                .filter(|record| record.partition == Some(partition))
                .filter_map(|record| crate::cluster::stream::sequence(&record.segment))
                .max()
                .map_or(0, |sequence| sequence + 1);
            (partition, format!("{raw}__{partition}__{next}"))
        })
        .collect())
}

/// Asks every lease holder of `typed` to commit now; the job's answer.
pub(super) async fn force_commit(
    state: &AppState,
    cluster: &Cluster,
    typed: &str,
) -> Result<Value, ApiError> {
    let consuming = consuming(state, cluster, typed).await?;
    let checkpoints = cluster
        .metastore
        .checkpoints(typed)
        .await
        .map_err(metastore_error)?;
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let id = format!(
        "{}_{}_{}_{}",
        typed,
        crate::segment::now_millis(),
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let at: BTreeMap<String, Option<i64>> = consuming
        .keys()
        .map(|partition| (partition.to_string(), checkpoints.get(partition).copied()))
        .collect();
    let job = json!({"id": id, "at": at, "segments": consuming});
    control(
        cluster,
        typed,
        StreamChange::ForceCommit {
            job: job.to_string(),
        },
    )
    .await?;
    Ok(json!({
        "forceCommitJobId": id,
        "forceCommitStatus": "SUCCESS",
        "jobMetaZKWriteStatus": "SUCCESS",
    }))
}

/// The progress of force commit `job`, if it is a table's latest.
pub(super) async fn force_commit_status(
    cluster: &Cluster,
    job: &str,
) -> Result<Option<Value>, ApiError> {
    let controls = cluster
        .metastore
        .stream_controls()
        .await
        .map_err(metastore_error)?;
    let found = controls.iter().find_map(|(table, control)| {
        let recorded: Value = serde_json::from_str(control.force_commit_job.as_deref()?).ok()?;
        (recorded["id"] == job).then(|| (table.clone(), recorded))
    });
    let Some((table, recorded)) = found else {
        return Ok(None);
    };
    let checkpoints = cluster
        .metastore
        .checkpoints(&table)
        .await
        .map_err(metastore_error)?;
    let records = cluster
        .metastore
        .segments(&table)
        .await
        .map_err(metastore_error)?;
    let mut committed = Vec::new();
    let mut pending = Vec::new();
    let at = recorded["at"].as_object().cloned().unwrap_or_default();
    for (partition, from) in &at {
        let Ok(partition) = partition.parse::<i32>() else {
            continue;
        };
        let from = from.as_i64();
        let moved = match (from, checkpoints.get(&partition)) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(from), Some(now)) => *now > from,
        };
        if moved {
            committed.extend(
                records
                    .iter()
                    .filter(|record| record.partition == Some(partition))
                    .filter(|record| {
                        record
                            .offsets
                            .is_some_and(|(start, _)| from.is_none_or(|from| start >= from))
                    })
                    .map(|record| record.segment.clone()),
            );
        } else if let Some(name) = recorded["segments"][partition.to_string()].as_str() {
            pending.push(name.to_string());
        }
    }
    Ok(Some(json!({
        "jobId": job,
        "tableName": table,
        "segmentsForceCommitted": committed,
        "numberOfSegmentsYetToBeCommitted": pending.len(),
        "segmentsYetToBeCommitted": pending,
    })))
}
