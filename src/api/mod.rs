//! The HTTP API on Pinot's paths (axum): routes, the middleware stack, and
//! serving with graceful shutdown.
//!
//! One file per resource (`schemas.rs`, `tables.rs`, `table_configs.rs`);
//! handlers parse, call the catalog, and shape Pinot's responses. Catalog
//! writes fsync, so they run on the blocking pool, never on the async workers.
//! Every error leaves through [`error::ApiError`] as `{"code", "error"}` JSON.

mod access;
mod body;
mod cluster;
mod connectors;
mod console;
mod error;
mod ingest;
mod internal;
mod listen;
mod metrics;
mod query;
mod realtime;
mod realtime_cluster;
mod schemas;
mod segments;
mod table_configs;
mod tables;
mod tls;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use access::{rule, Caller, Rule};
pub use error::ApiError;

use crate::app::App;
use crate::catalog;
use crate::config::ServerConfig;
use crate::error::{Error, Result};
use crate::server::realtime::Realtime;
use crate::server::Server;

/// What every handler can reach: the application, and the API's own
/// limits on work it starts.
#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    /// Password verifications run at once (each takes a core for milliseconds).
    pub auth_slots: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// The state for serving `app`; uploads a crash left half-spooled are
    /// removed first.
    pub fn new(app: App) -> AppState {
        ingest::remove_leftover_uploads(&app.config.data_dir);
        AppState {
            app: Arc::new(app),
            auth_slots: Arc::new(tokio::sync::Semaphore::new(crate::query::workload::cores())),
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

/// The full router with its middleware stack.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.max_body_bytes;
    let timeout = state.config.request_timeout;
    Router::new()
        .route("/health", get(health))
        .merge(console::routes())
        .merge(metrics::routes())
        .merge(schemas::routes())
        .merge(tables::routes())
        .merge(table_configs::routes())
        .merge(segments::routes())
        .merge(query::routes())
        .merge(realtime::routes())
        .merge(connectors::routes())
        .merge(internal::routes())
        .merge(cluster::routes())
        // Uploads stream to disk under their own limit (--max-upload-bytes).
        .merge(ingest::routes().layer(DefaultBodyLimit::disable()))
        .route_layer(middleware::from_fn_with_state(state.clone(), access::check))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(timeout, request_timeout))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Binds `config.listen`, serves until `shutdown` resolves, then drains
/// in-flight requests. Calls `on_bound` with the bound address first.
pub async fn serve(
    mut config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_bound: impl FnOnce(std::net::SocketAddr),
) -> Result<()> {
    let addr = config.listen;
    if config.auth_file.is_none() && !config.insecure && !listen::is_loopback(addr) {
        return Err(Error::Insecure { addr });
    }
    let _lock = crate::durable::lock_dir(&config.data_dir)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })?;
    let bound = listener.local_addr().map_err(Error::Serve)?;
    config.listen = bound;
    let limits = listen::Limits {
        max_connections: config.max_connections,
        header_timeout: config.header_timeout,
    };
    let tls = match &config.tls {
        Some(files) => {
            let tls = Arc::new(tls::Tls::load(files.clone()).map_err(Error::Tls)?);
            tls.reload_on_sighup();
            Some(tls)
        }
        None => None,
    };
    let url = match &config.cluster.advertise_url {
        Some(url) => url.clone(),
        None => {
            let scheme = if config.tls.is_some() {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{bound}")
        }
    };
    let state = AppState::new(App::start(config, url).await?);
    if let Some(auth) = &state.auth {
        tracing::info!(principals = auth.len(), "authentication is on");
    } else {
        tracing::warn!(%bound, "authentication is off: every caller may do everything");
    }
    let app = state.app.clone();
    on_bound(bound);
    let served = listen::serve(
        listener,
        router(state),
        limits,
        tls,
        shutdown,
        Duration::from_secs(30),
    )
    .await
    .map_err(Error::Serve);
    app.leave().await;
    let _ = tokio::task::spawn_blocking(move || app.shutdown()).await;
    served
}

/// `GET /health`: "OK" while the server runs, as Pinot's controller answers.
async fn health() -> &'static str {
    "OK"
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no endpoint {method} {}", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not supported on {}", uri.path()),
    )
}

async fn request_timeout(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the request took longer than {} s and was abandoned",
                timeout.as_secs()
            ),
        )
        .into_response(),
    }
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    let body = json!({"code": 500, "error": "internal error: the request failed unexpectedly; the server log has the details"});
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

/// Runs catalog work (which fsyncs) on the blocking pool.
async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, catalog::Error> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(err) => Err(ApiError::internal("a catalog task failed", &err)),
    }
}

/// Starts, restarts (with new settings) or stops the consumers of the
/// tables named `raw` (any type) to match the catalog. Blocking.
fn sync_consumption(state: &AppState, raw: &str) -> Vec<String> {
    let typed = catalog::TableType::Realtime.with_type(catalog::raw_table_name(raw));
    match state.realtime.sync(&state.catalog, &typed) {
        Ok(()) => Vec::new(),
        Err(err) => vec![format!("table {typed} is not consuming: {err}")],
    }
}

/// Runs [`sync_consumption`] off the async workers.
async fn sync_consumption_async(state: &AppState, raw: &str) -> Vec<String> {
    let state = state.clone();
    let raw = raw.to_string();
    tokio::task::spawn_blocking(move || sync_consumption(&state, &raw))
        .await
        .unwrap_or_default()
}

/// Starts or restarts the consumers of a table config just written. Only
/// a REALTIME table has consumers: writing the OFFLINE table of the same
/// name leaves them running (restarting them would stall the request
/// while unreachable brokers time out, and consume again for nothing).
async fn sync_written_table(state: &AppState, config: &catalog::TableConfig) -> Vec<String> {
    if config.table_type != catalog::TableType::Realtime || state.cluster.is_some() {
        return Vec::new();
    }
    sync_consumption_async(state, &config.name_with_type()).await
}

/// Marks every segment of the tables being deleted DELETING and unassigns it:
/// brokers stop routing them, servers drop them (every node also drops
/// the local data of a table gone from the catalog), and the lead
/// controller removes the records and deep-store files once no server
/// reports them loaded.
async fn delete_in_cluster(
    cluster: &crate::cluster::Cluster,
    tables: &[String],
) -> Result<(), ApiError> {
    let unavailable = |err: crate::metastore::Error| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the table's segments could not all be marked for deletion (the table is kept; delete it again): {err}"),
        )
    };
    for table in tables {
        let records = cluster
            .metastore
            .segments(table)
            .await
            .map_err(unavailable)?;
        for record in records {
            cluster
                .metastore
                .set_segment_state(
                    table,
                    &record.segment,
                    crate::metastore::SegmentState::Deleting,
                )
                .await
                .map_err(unavailable)?;
            unassign(cluster, table, &record.segment)
                .await
                .map_err(unavailable)?;
        }
    }
    Ok(())
}

/// Takes a segment marked DELETING off every server; one the lead
/// controller already removed is done.
pub(crate) async fn unassign(
    cluster: &crate::cluster::Cluster,
    table: &str,
    segment: &str,
) -> Result<(), crate::metastore::Error> {
    match cluster.metastore.assign(table, segment, &[]).await {
        Ok(()) | Err(crate::metastore::Error::Unrecorded { .. }) => Ok(()),
        Err(err) => Err(err),
    }
}

/// Deletes the data of tables whose configs were just deleted. The configs
/// are gone either way; a file that cannot be removed is logged.
fn drop_table_data(realtime: &Realtime, server: &Server, tables: &[String]) {
    for table in tables {
        realtime.stop(table);
        if let Err(err) = server.drop_table(table) {
            tracing::error!(table = %table, error = %err, "the table is deleted but its segment files could not all be removed");
        }
    }
}

fn unrecognized_json(unrecognized: &BTreeMap<String, Value>) -> Value {
    Value::Object(
        unrecognized
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// Pinot's `ConfigSuccessResponse`, plus `warnings` when there are any.
fn config_success(
    status: String,
    unrecognized: &BTreeMap<String, Value>,
    warnings: Vec<String>,
) -> Json<Value> {
    let mut body = json!({
        "unrecognizedProperties": unrecognized_json(unrecognized),
        "status": status,
    });
    if !warnings.is_empty() {
        body["warnings"] = json!(warnings);
    }
    Json(body)
}

#[cfg(test)]
mod access_tests;
#[cfg(test)]
mod metrics_tests;
#[cfg(test)]
mod parquet_tests;
#[cfg(test)]
mod query_tests;
#[cfg(test)]
mod result_cache_tests;
#[cfg(test)]
mod tests;
