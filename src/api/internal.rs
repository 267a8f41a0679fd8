//! The routes nodes of a cluster call on each other: `POST
//! /internal/query` runs a broker's share of a query (a plan and the
//! segments to run it on, in `query::wire`'s encoding) on this node's
//! segments and answers the partial result the same way. Only
//! administrators reach it when authentication is on (nodes present the
//! cluster's credentials).

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

use super::AppState;
use crate::cluster::remote::{CONTENT_TYPE, QUERY_PATH};
use crate::query::wire;

pub fn routes() -> Router<AppState> {
    Router::new().route(QUERY_PATH, post(query))
}

async fn query(State(state): State<AppState>, body: Bytes) -> Response {
    let request = match wire::decode_request(&body) {
        Ok(request) => request,
        Err(err) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("the plan does not decode: {err}"),
            )
                .into_response()
        }
    };
    let answer = state
        .broker
        .run_share(
            state.local.as_ref(),
            request.plan,
            &request.tables,
            request.segments,
            Duration::from_millis(request.timeout_ms),
        )
        .await;
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        wire::encode_response(&answer),
    )
        .into_response()
}
