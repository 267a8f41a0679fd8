//! Kafka Connect's REST API for the built-in sinks: `POST/GET /connectors`,
//! `GET/DELETE /connectors/{name}`, `GET/PUT /connectors/{name}/config`,
//! `GET /connectors/{name}/status`, `PUT /connectors/{name}/pause|resume`,
//! `POST /connectors/{name}/restart`, `GET /connector-plugins`. Errors use
//! Kafka Connect's shape, `{"error_code": <status>, "message": "..."}`.
//! Secrets are never shown back.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::body::too_large;
use super::error::ApiError;
use super::AppState;
use crate::export::config::{masked, string_map, SinkKind};
use crate::export::{ConnectorView, RegistryError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/connectors", get(list).post(create))
        .route("/connectors/{name}", get(info).delete(delete))
        .route("/connectors/{name}/config", get(config).put(put_config))
        .route("/connectors/{name}/status", get(status))
        .route("/connectors/{name}/pause", put(pause))
        .route("/connectors/{name}/resume", put(resume))
        .route("/connectors/{name}/restart", post(restart))
        .route("/connector-plugins", get(plugins))
}

/// A failure in Kafka Connect's error shape. Its status is decided where
/// every error's is, in `api/error.rs`.
pub struct ConnectError(ApiError);

impl IntoResponse for ConnectError {
    fn into_response(self) -> Response {
        let ApiError { status, message } = self.0;
        let body = json!({"error_code": status.as_u16(), "message": super::error::clip(message)});
        (status, Json(body)).into_response()
    }
}

impl From<RegistryError> for ConnectError {
    fn from(err: RegistryError) -> ConnectError {
        ConnectError(err.into())
    }
}

impl From<ApiError> for ConnectError {
    fn from(err: ApiError) -> ConnectError {
        ConnectError(err)
    }
}

/// A request body, refused (too large, unreadable) in Kafka Connect's
/// error shape rather than axum's plain text.
pub struct ConnectBody(Bytes);

impl FromRequest<AppState> for ConnectBody {
    type Rejection = ConnectError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = state.config.max_body_bytes;
        match Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(ConnectBody(bytes)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(too_large(limit).into())
            }
            Err(rejection) => Err(bad_request(format!(
                "cannot read the request body: {}",
                rejection.body_text()
            ))),
        }
    }
}

fn bad_request(message: impl Into<String>) -> ConnectError {
    ConnectError(ApiError::bad_request(message))
}

fn parse_json(body: &Bytes) -> Result<Value, ConnectError> {
    serde_json::from_slice(body).map_err(|err| bad_request(format!("the body is not JSON: {err}")))
}

fn config_map(value: &Value) -> Result<BTreeMap<String, String>, ConnectError> {
    string_map(value).map_err(|problems| bad_request(problems.join("; ")))
}

/// Runs registry work (which fsyncs) off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, RegistryError> + Send + 'static,
) -> Result<T, ConnectError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(ConnectError::from),
        Err(_) => Err(ConnectError(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "a connector task failed",
        ))),
    }
}

fn info_json(view: &ConnectorView) -> Value {
    let name = &view.config.name;
    json!({
        "name": name,
        "config": masked(&view.config.raw),
        "tasks": [{"connector": name, "task": 0}],
        "type": "sink",
    })
}

fn status_json(state: &AppState, view: &ConnectorView) -> Value {
    // In a cluster the job runs on the node holding the connector's lease;
    // until one does, Kafka Connect's word for it is UNASSIGNED.
    let (worker, assigned) = match (&view.worker, state.connectors.is_shared()) {
        (Some(worker), _) => (worker.clone(), true),
        (None, true) => (String::new(), false),
        (None, false) => (state.config.listen.to_string(), true),
    };
    let status = &view.status;
    let connector_state = match (view.paused, assigned) {
        (true, _) => "PAUSED",
        (false, true) => "RUNNING",
        (false, false) => "UNASSIGNED",
    };
    let mut task = json!({"id": 0, "state": connector_state, "worker_id": worker});
    if let (Some(error), "RUNNING") = (&status.error, connector_state) {
        task["state"] = json!("FAILED");
        task["trace"] = json!(error);
    }
    let watermark: Map<String, Value> = status
        .tables
        .iter()
        .map(|table| {
            let exported = status.state.exported.get(table).map_or(0, |set| set.len());
            let entry = json!({
                "segmentsExported": exported,
                "lastSegment": status.state.last_segment.get(table),
            });
            (table.clone(), entry)
        })
        .collect();
    json!({
        "name": view.config.name,
        "connector": {"state": connector_state, "worker_id": worker},
        "tasks": [task],
        "type": "sink",
        "tables": status.tables,
        "watermark": watermark,
        "rowsWritten": status.state.rows_written,
        "rowsDeleted": status.state.rows_deleted,
        "filesWritten": status.state.files_written,
        "bytesWritten": status.state.bytes_written,
        "lag": status.lag.map(|(segments, rows)| json!({"segments": segments, "rows": rows})),
        "lastError": status.error,
        "lastErrorTimeMs": status.error_at_millis,
        "failuresInARow": status.failures_in_a_row,
        "segmentsMissed": status.missed_segments,
        "lastMissedSegments": status.last_missed,
    })
}

async fn list(
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ConnectError> {
    let names = state.connectors.names();
    // Kafka Connect repeats the parameter (`?expand=status&expand=info`);
    // a comma-separated list is taken too.
    let expand: Vec<&str> = params
        .iter()
        .filter(|(key, _)| key == "expand")
        .flat_map(|(_, value)| value.split(',').map(str::trim))
        .collect();
    if expand.is_empty() {
        return Ok(Json(json!(names)));
    }
    let mut out = Map::new();
    for name in names {
        let Ok(view) = state.connectors.get(&name) else {
            continue;
        };
        let mut entry = Map::new();
        if expand.contains(&"info") {
            entry.insert("info".into(), info_json(&view));
        }
        if expand.contains(&"status") {
            entry.insert("status".into(), status_json(&state, &view));
        }
        out.insert(name, Value::Object(entry));
    }
    Ok(Json(Value::Object(out)))
}

async fn create(
    State(state): State<AppState>,
    ConnectBody(body): ConnectBody,
) -> Result<(StatusCode, Json<Value>), ConnectError> {
    let body = parse_json(&body)?;
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad_request("the body needs \"name\": the connector's name"))?
        .to_string();
    let config = body
        .get("config")
        .ok_or_else(|| bad_request("the body needs \"config\": the connector's settings"))?;
    let raw = config_map(config)?;
    let connectors = state.connectors.clone();
    let created = name.clone();
    blocking(move || connectors.create(&created, raw)).await?;
    let view = state.connectors.get(&name)?;
    Ok((StatusCode::CREATED, Json(info_json(&view))))
}

async fn info(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ConnectError> {
    Ok(Json(info_json(&state.connectors.get(&name)?)))
}

async fn config(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ConnectError> {
    let view = state.connectors.get(&name)?;
    Ok(Json(json!(masked(&view.config.raw))))
}

async fn put_config(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ConnectBody(body): ConnectBody,
) -> Result<(StatusCode, Json<Value>), ConnectError> {
    let raw = config_map(&parse_json(&body)?)?;
    let connectors = state.connectors.clone();
    let target = name.clone();
    let created = blocking(move || connectors.put(&target, raw)).await?;
    let view = state.connectors.get(&name)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(info_json(&view))))
}

async fn status(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ConnectError> {
    let view = state.connectors.get(&name)?;
    Ok(Json(status_json(&state, &view)))
}

async fn pause(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ConnectError> {
    let connectors = state.connectors.clone();
    blocking(move || connectors.set_paused(&name, true)).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn resume(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ConnectError> {
    let connectors = state.connectors.clone();
    blocking(move || connectors.set_paused(&name, false)).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn restart(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ConnectError> {
    state.connectors.restart(&name)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ConnectError> {
    let connectors = state.connectors.clone();
    blocking(move || connectors.delete(&name)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn plugins() -> Json<Value> {
    let plugins: Vec<Value> = [SinkKind::S3, SinkKind::Jdbc]
        .iter()
        .map(|kind| json!({"class": kind.class_name(), "type": "sink", "version": env!("CARGO_PKG_VERSION")}))
        .collect();
    Json(json!(plugins))
}
