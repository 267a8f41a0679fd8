//! `GET /metrics`: every metric in the Prometheus text format, for a
//! Prometheus server (or anything that reads its format) to scrape.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::error::ApiError;
use super::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    // A scrape takes locks the consumers and exporters also take, briefly:
    // it runs on the blocking pool so it never holds an async worker.
    let metrics = state.metrics.clone();
    let text = tokio::task::spawn_blocking(move || metrics.encode())
        .await
        .map_err(|err| ApiError::internal("encoding the metrics failed", &err))?
        .map_err(|err| ApiError::internal("encoding the metrics failed", &err))?;
    let mut response = (StatusCode::OK, text).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
    );
    Ok(response)
}
