//! `/segments`: Pinot's segment listing, metadata and deletion.

use axum::extract::{Path, State};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::body::Params;
use super::error::ApiError;
use super::AppState;
use crate::catalog::{self, TableType};
use crate::metastore::SegmentState;
use crate::segment::ImmutableSegment;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/segments/{table}", get(list))
        .route("/segments/{table}/{segment}/metadata", get(metadata))
        .route("/segments/{table}/{segment}", delete(remove))
}

/// The typed names of the table's configs, optionally of one type.
pub(super) fn typed_names(
    state: &AppState,
    name: &str,
    table_type: Option<TableType>,
) -> Result<Vec<(TableType, String)>, ApiError> {
    let names: Vec<(TableType, String)> = state
        .catalog
        .tables_named(name)
        .iter()
        .filter(|entry| table_type.is_none_or(|t| entry.config.table_type == t))
        .map(|entry| (entry.config.table_type, entry.config.table_name.clone()))
        .collect();
    if names.is_empty() {
        return Err(catalog::Error::TableNotFound {
            name: name.to_string(),
            known: state.catalog.table_names(None),
        }
        .into());
    }
    Ok(names)
}

/// `GET /segments/{table}`: `[{"OFFLINE": [...]}, {"REALTIME": [...]}]`.
async fn list(
    State(state): State<AppState>,
    Path(table): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let mut out = Vec::new();
    for (table_type, name) in typed_names(&state, &table, params.table_type()?)? {
        let segments: Vec<String> = state
            .server
            .table(&name)
            .map(|data| {
                data.segments()
                    .iter()
                    .map(|segment| segment.name().to_string())
                    .collect()
            })
            .unwrap_or_default();
        out.push(json!({ table_type.name(): segments }));
    }
    Ok(Json(Value::Array(out)))
}

fn find_segment(
    state: &AppState,
    table: &str,
    segment: &str,
) -> Result<(String, std::sync::Arc<ImmutableSegment>), ApiError> {
    for (_, name) in typed_names(state, table, None)? {
        if let Some(found) = state
            .server
            .table(&name)
            .and_then(|data| data.segment(segment))
        {
            return Ok((name, found));
        }
    }
    Err(ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        format!("table `{table}` has no segment `{segment}`; GET /segments/{table} lists them"),
    ))
}

/// `GET /segments/{table}/{segment}/metadata`.
async fn metadata(
    State(state): State<AppState>,
    Path((table, segment)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (_, found) = find_segment(&state, &table, &segment)?;
    let meta = found.meta();
    let columns: Vec<Value> = meta
        .columns
        .iter()
        .map(|column| {
            json!({
                "columnName": column.name,
                "dataType": column.data_type,
                "singleValueField": column.single_value,
                "encoding": column.encoding,
                "cardinality": column.cardinality,
                "bitsPerElement": column.bits_per_id,
                "totalNumberOfEntries": column.total_values,
                "maxNumberOfMultiValues": column.max_values_per_doc,
                "minValue": column.min,
                "maxValue": column.max,
                "nullCount": column.null_count,
                "sorted": column.sorted,
                "defaultNullValue": column.default_null_value,
                "indexes": column.indexes,
            })
        })
        .collect();
    Ok(Json(json!({
        "segmentName": meta.segment_name,
        "tableName": meta.table_name,
        "totalDocs": meta.num_docs,
        "creationTimeMillis": meta.created_millis,
        "sizeInBytes": found.size_bytes(),
        "formatVersion": meta.format_version,
        "timeColumn": meta.time_column,
        "startTime": meta.min_time,
        "endTime": meta.max_time,
        "stream": meta.stream,
        "upsertLateDocs": meta.late_docs.len(),
        "columns": columns,
    })))
}

/// `DELETE /segments/{table}/{segment}`. In a cluster the record is
/// marked DELETING and unassigned (brokers stop routing it, servers drop
/// it), and the lead controller removes the record and the deep-store
/// file once no server reports it loaded.
async fn remove(
    State(state): State<AppState>,
    Path((table, segment)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    if let Some(cluster) = &state.cluster {
        return remove_in_cluster(&state, cluster, &table, &segment).await;
    }
    let (name, _) = find_segment(&state, &table, &segment)?;
    let server = state.server.clone();
    let target = segment.clone();
    let outcome = tokio::task::spawn_blocking(move || match server.table(&name) {
        Some(data) => data.delete_segment(&target),
        None => Ok(()),
    })
    .await;
    match outcome {
        Ok(Ok(())) => Ok(Json(
            json!({"status": format!("Segment {segment} deleted")}),
        )),
        Ok(Err(err)) => Err(err.into()),
        Err(err) => Err(ApiError::internal("deleting the segment failed", &err)),
    }
}

async fn remove_in_cluster(
    state: &AppState,
    cluster: &crate::cluster::Cluster,
    table: &str,
    segment: &str,
) -> Result<Json<Value>, ApiError> {
    let unavailable = |err: crate::metastore::Error| {
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            format!("the metastore did not answer: {err}"),
        )
    };
    for (_, name) in typed_names(state, table, None)? {
        let marked = cluster
            .metastore
            .set_segment_state(&name, segment, SegmentState::Deleting)
            .await
            .map_err(unavailable)?;
        if !marked {
            continue;
        }
        super::unassign(cluster, &name, segment)
            .await
            .map_err(unavailable)?;
        return Ok(Json(
            json!({"status": format!("Segment {segment} deleted")}),
        ));
    }
    Err(ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        format!(
            "table `{table}` has no segment `{segment}`; GET /tables/{table}/idealstate lists them"
        ),
    ))
}
