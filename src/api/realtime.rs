//! Pinot's real-time control and status endpoints:
//! `POST /tables/{t}/pauseConsumption`, `/resumeConsumption?consumeFrom=`,
//! `/forceCommit`, `GET /tables/{t}/pauseStatus`,
//! `GET /tables/forceCommitStatus/{jobId}`,
//! `GET /tables/{t}/consumingSegmentsInfo`, and Gamay's
//! `GET /tables/{t}/ingestionStatus` (bad messages by reason, the last ones,
//! offsets lost). In a cluster the controls and their status go through
//! the metastore (`realtime_cluster.rs`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::body::Params;
use super::error::ApiError;
use super::{realtime_cluster, AppState};
use crate::catalog::{raw_table_name, TableType};
use crate::metastore::StreamChange;
use crate::server::realtime::{ConsumeFrom, TableIngestion};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tables/{name}/pauseConsumption", post(pause))
        .route("/tables/{name}/resumeConsumption", post(resume))
        .route("/tables/{name}/pauseStatus", get(pause_status))
        .route("/tables/{name}/forceCommit", post(force_commit))
        .route("/tables/forceCommitStatus/{job}", get(force_commit_status))
        .route("/tables/{name}/consumingSegmentsInfo", get(consuming_info))
        .route("/tables/{name}/ingestionStatus", get(ingestion_status))
}

/// The REALTIME table `name` (raw or typed) that consumes here.
fn realtime_table(state: &AppState, name: &str) -> Result<String, ApiError> {
    let typed = TableType::Realtime.with_type(raw_table_name(name));
    if state.catalog.table(&typed).is_none() {
        let offline = TableType::Offline.with_type(raw_table_name(name));
        if state.catalog.table(&offline).is_some() {
            return Err(ApiError::bad_request(format!(
                "table {} is OFFLINE; consumption applies to REALTIME tables",
                raw_table_name(name)
            )));
        }
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("table {name} does not exist"),
        ));
    }
    if !state.realtime.is_running(&typed) {
        let reason = state
            .realtime
            .not_started_reason(&typed)
            .unwrap_or_else(|| {
                "its stream settings could not be used; see the server log".to_string()
            });
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("table {typed} is not consuming: {reason}"),
        ));
    }
    Ok(typed)
}

fn missing(typed: &str) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("table {typed} stopped consuming"),
    )
}

async fn pause(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if let Some(cluster) = &state.cluster {
        let typed = realtime_cluster::table(&state, &name)?;
        realtime_cluster::control(cluster, &typed, StreamChange::Pause).await?;
        let consuming = realtime_cluster::consuming(&state, cluster, &typed).await?;
        return Ok(Json(json!({
            "pauseFlag": true,
            "consumingSegments": consuming.values().collect::<Vec<_>>(),
            "description": PAUSED,
        })));
    }
    let typed = realtime_table(&state, &name)?;
    let report = state
        .realtime
        .pause(&typed)
        .ok_or_else(|| missing(&typed))?;
    Ok(Json(json!({
        "pauseFlag": true,
        "consumingSegments": report.consuming_segments,
        "description": PAUSED,
    })))
}

const PAUSED: &str = "Pause flag is set. Consuming segments are being committed. Use /pauseStatus endpoint in a few moments to check if all consuming segments have been committed.";
const RESUMED: &str = "Pause flag is cleared. Consuming segments are being created. Use /pauseStatus endpoint in a few moments to double check.";

async fn resume(
    State(state): State<AppState>,
    Path(name): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let from = match params.0.get("consumeFrom") {
        None => ConsumeFrom::LastConsumed,
        Some(text) => ConsumeFrom::parse(text).map_err(|message| {
            ApiError::bad_request(format!("query parameter `consumeFrom`: {message}"))
        })?,
    };
    if let Some(cluster) = &state.cluster {
        let typed = realtime_cluster::table(&state, &name)?;
        // Each partition's lease holder skips to the offset and records
        // the skip in the cluster's checkpoint; its replicas follow.
        let from = params.0.get("consumeFrom").cloned();
        let change = StreamChange::Resume { from };
        realtime_cluster::control(cluster, &typed, change).await?;
        let consuming = realtime_cluster::consuming(&state, cluster, &typed).await?;
        return Ok(Json(json!({
            "pauseFlag": false,
            "consumingSegments": consuming.values().collect::<Vec<_>>(),
            "description": RESUMED,
        })));
    }
    let typed = realtime_table(&state, &name)?;
    let report = state
        .realtime
        .resume(&typed, from)
        .ok_or_else(|| missing(&typed))?;
    Ok(Json(json!({
        "pauseFlag": false,
        "consumingSegments": report.consuming_segments,
        "description": RESUMED,
    })))
}

async fn pause_status(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if let Some(cluster) = &state.cluster {
        let typed = realtime_cluster::table(&state, &name)?;
        let control = realtime_cluster::current(cluster, &typed).await?;
        let consuming = realtime_cluster::consuming(&state, cluster, &typed).await?;
        return Ok(Json(json!({
            "pauseFlag": control.paused,
            "consumingSegments": consuming.values().collect::<Vec<_>>(),
        })));
    }
    let typed = realtime_table(&state, &name)?;
    let report = state
        .realtime
        .status(&typed)
        .ok_or_else(|| missing(&typed))?;
    Ok(Json(json!({
        "pauseFlag": report.paused,
        "consumingSegments": report.consuming_segments,
    })))
}

async fn force_commit(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if let Some(cluster) = &state.cluster {
        let typed = realtime_cluster::table(&state, &name)?;
        return Ok(Json(
            realtime_cluster::force_commit(&state, cluster, &typed).await?,
        ));
    }
    let typed = realtime_table(&state, &name)?;
    let job = state
        .realtime
        .force_commit(&typed)
        .ok_or_else(|| missing(&typed))?;
    Ok(Json(json!({
        "forceCommitJobId": job,
        "forceCommitStatus": "SUCCESS",
        "jobMetaZKWriteStatus": "SUCCESS",
    })))
}

async fn force_commit_status(
    State(state): State<AppState>,
    Path(job): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if let Some(cluster) = &state.cluster {
        return realtime_cluster::force_commit_status(cluster, &job)
            .await?
            .map(Json)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("no force commit job `{job}` (a table keeps its latest one)"),
                )
            });
    }
    let status = state.realtime.force_commit_status(&job).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no force commit job `{job}` (jobs are kept until the server restarts)"),
        )
    })?;
    Ok(Json(json!({
        "jobId": job,
        "tableName": status.table,
        "segmentsForceCommitted": status.segments,
        "numberOfSegmentsYetToBeCommitted": status.pending.len(),
        "segmentsYetToBeCommitted": status.pending,
    })))
}

async fn consuming_info(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let typed = realtime_table(&state, &name)?;
    let report = state
        .realtime
        .status(&typed)
        .ok_or_else(|| missing(&typed))?;
    Ok(Json(consuming_info_json(&report)))
}

/// Pinot's `consumingSegmentsInfo` shape, one entry per consuming segment,
/// with Gamay's extras (`startOffset`, `rowsInSegment`, `lostOffsets`,
/// `lastError`).
fn consuming_info_json(report: &TableIngestion) -> Value {
    let now = crate::segment::now_millis();
    let mut segments = Map::new();
    for status in &report.partitions {
        let key = status.segment_name.clone().unwrap_or_else(|| {
            format!("(partition {} has no consuming segment)", status.partition)
        });
        let partition = status.partition.to_string();
        let text = |value: Option<i64>| value.map_or(Value::Null, |v| Value::String(v.to_string()));
        let availability_lag = status.last_consumed_millis.map(|last| {
            if status.lag() == Some(0) {
                0
            } else {
                now - last
            }
        });
        segments.insert(
            key,
            json!([{
                "serverName": "Server_gamay",
                "consumerState": status.state,
                "lastConsumedTimestamp": status.last_consumed_millis.unwrap_or(0),
                "partitionToOffsetMap": {&partition: text(status.current_offset)},
                "partitionOffsetInfo": {
                    "currentOffsetsMap": {&partition: text(status.current_offset)},
                    "latestUpstreamOffsetMap": {&partition: text(status.latest_offset)},
                    "recordsLagMap": {&partition: text(status.lag())},
                    "availabilityLagMsMap": {&partition: text(availability_lag)},
                },
                "startOffset": status.start_offset,
                "rowsInSegment": status.rows_in_segment,
                "rowsConsumed": status.rows_consumed,
                "lostOffsets": status.lost_offsets,
                "lastError": status.last_error,
            }]),
        );
    }
    json!({
        "serversFailingToRespond": 0,
        "serversUnparsableRespond": 0,
        "_segmentToConsumingInfoMap": segments,
    })
}

async fn ingestion_status(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<TableIngestion>, ApiError> {
    let typed = realtime_table(&state, &name)?;
    state
        .realtime
        .status(&typed)
        .map(Json)
        .ok_or_else(|| missing(&typed))
}
