//! Pinot's broker query endpoints: `POST /query/sql`, `GET /query/sql`
//! and `POST /query`. The body is Pinot's (`sql`, `queryOptions`, `trace`);
//! the response is Pinot's, with a non-2xx status when the query failed
//! (Pinot answers 200 with `exceptions`; its `X-Pinot-Error-Code` header
//! is sent too).

use std::collections::HashMap;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::Value as Json;

use super::access::Caller;
use super::error::query_status;
use super::AppState;
use crate::query::error::{QueryError, JSON_PARSING};
use crate::query::QueryOptions;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/query/sql", post(post_sql).get(get_sql))
        .route("/query", post(post_multi_stage))
}

/// The server's defaults, before a request's own options.
fn default_options(state: &AppState) -> QueryOptions {
    QueryOptions {
        max_query_memory_bytes: state.config.max_query_memory_bytes,
        ..QueryOptions::default()
    }
}

async fn post_sql(State(state): State<AppState>, caller: Caller, body: Bytes) -> Response {
    let started = Instant::now();
    match request_from_body(&body, default_options(&state)) {
        Ok((sql, options)) => run(&state, &caller, &sql, options, started).await,
        Err(error) => rejected(&state, "single-stage", error, started),
    }
}

async fn post_multi_stage(State(state): State<AppState>, caller: Caller, body: Bytes) -> Response {
    let started = Instant::now();
    match request_from_body(&body, default_options(&state)) {
        Ok((sql, mut options)) => {
            options.use_multistage = true;
            run(&state, &caller, &sql, options, started).await
        }
        Err(error) => rejected(&state, "multi-stage", error, started),
    }
}

async fn get_sql(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let started = Instant::now();
    let Some(sql) = params.get("sql") else {
        let error = QueryError::new(
            JSON_PARSING,
            "the query string parameter `sql` is missing, e.g. /query/sql?sql=SELECT%20COUNT(*)%20FROM%20myTable",
        );
        return rejected(&state, "single-stage", error, started);
    };
    let mut options = default_options(&state);
    if let Some(text) = params.get("queryOptions") {
        if let Err(error) = options.apply_string(text) {
            return rejected(&state, "single-stage", error, started);
        }
    }
    run(&state, &caller, sql, options, started).await
}

/// `(sql, options)` from Pinot's JSON request body, over `defaults`.
fn request_from_body(
    body: &[u8],
    defaults: QueryOptions,
) -> Result<(String, QueryOptions), QueryError> {
    let json: Json = serde_json::from_slice(body).map_err(|err| {
        QueryError::new(
            JSON_PARSING,
            format!(
                "the request body is not valid JSON ({err}); expected {{\"sql\": \"SELECT ...\"}}"
            ),
        )
    })?;
    let sql = match json.get("sql") {
        Some(Json::String(sql)) => sql.clone(),
        Some(_) => {
            return Err(QueryError::new(
                JSON_PARSING,
                "the field 'sql' must be a string",
            ))
        }
        None => {
            return Err(QueryError::new(
                JSON_PARSING,
                "Payload is missing the query string field 'sql'",
            ))
        }
    };
    let mut options = defaults;
    match json.get("queryOptions") {
        None | Some(Json::Null) => {}
        Some(Json::String(text)) => options.apply_string(text)?,
        Some(Json::Object(map)) => {
            for (key, value) in map {
                let text = match value {
                    Json::String(text) => text.clone(),
                    other => other.to_string(),
                };
                options.set(key, &text)?;
            }
        }
        Some(_) => {
            return Err(QueryError::new(
                JSON_PARSING,
                "queryOptions must be a string such as \"timeoutMs=500;useStarTree=false\"",
            ))
        }
    }
    Ok((sql, options))
}

async fn run(
    state: &AppState,
    caller: &Caller,
    sql: &str,
    options: QueryOptions,
    started: Instant,
) -> Response {
    let engine = engine(&options);
    let (response, error) = state.broker.run(sql, options, &caller.0).await;
    let code = error.as_ref().map(|e| e.code);
    state.metrics.record_query(engine, started.elapsed(), code);
    let status = error.as_ref().map_or(StatusCode::OK, query_status);
    json_response(status, &response, code)
}

/// A request refused before it reached the broker (bad body, bad options).
fn rejected(
    state: &AppState,
    engine: &'static str,
    error: QueryError,
    started: Instant,
) -> Response {
    state
        .metrics
        .record_query(engine, started.elapsed(), Some(error.code));
    let response = crate::query::response::BrokerResponse::error(&error);
    json_response(query_status(&error), &response, Some(error.code))
}

fn engine(options: &QueryOptions) -> &'static str {
    if options.use_multistage {
        "multi-stage"
    } else {
        "single-stage"
    }
}

fn json_response(status: StatusCode, body: &impl serde::Serialize, code: Option<i32>) -> Response {
    let bytes = match serde_json::to_vec(body) {
        Ok(bytes) => bytes,
        Err(err) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("{{\"code\":500,\"error\":\"response encoding failed: {err}\"}}"),
            )
                .into_response()
        }
    };
    let mut response = (status, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(code) = code {
        if let Ok(value) = HeaderValue::from_str(&code.to_string()) {
            headers.insert("X-Pinot-Error-Code", value);
        }
    }
    response
}
