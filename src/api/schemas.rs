//! `/schemas`: Pinot's schema endpoints.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::access::Caller;
use super::body::{ConfigBody, Params};
use super::error::ApiError;
use super::{blocking, config_success, unrecognized_json, AppState};
use crate::auth::Permission;
use crate::catalog::{self, Parsed, Schema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/schemas", get(list).post(add))
        .route("/schemas/validate", post(validate))
        .route("/schemas/{name}", get(fetch).put(update).delete(remove))
}

fn parse_schema(body: &ConfigBody) -> Result<Parsed<Schema>, ApiError> {
    Ok(catalog::parse(&body.0, "schema")?)
}

/// The schemas of the tables the caller may read.
async fn list(State(state): State<AppState>, caller: Caller) -> Json<Vec<String>> {
    let mut names = state.catalog.schema_names();
    names.retain(|name| caller.0.sees(name));
    Json(names)
}

async fn fetch(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    match state.catalog.schema(&name) {
        Some(entry) => Ok(Json(entry.json.clone())),
        None => Err(catalog::Error::SchemaNotFound {
            name,
            known: state.catalog.schema_names(),
        }
        .into()),
    }
}

/// `POST /schemas?override=true&force=false`: `override` defaults to true, as in Pinot.
async fn add(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    body: ConfigBody,
) -> Result<Json<Value>, ApiError> {
    let replace = params.flag("override", true)?;
    let force = params.flag("force", false)?;
    let parsed = parse_schema(&body)?;
    let name = parsed.value.schema_name.clone();
    caller.require(Permission::Create, Some(&name))?;
    if replace && state.catalog.schema(&name).is_some() {
        caller.require(Permission::Update, Some(&name))?;
    }
    let unrecognized = parsed.unrecognized.clone();
    let catalog = state.catalog.clone();
    let written = blocking(move || catalog.add_schema(parsed, replace, force)).await?;
    Ok(config_success(
        format!("{name} successfully added"),
        &unrecognized,
        written.warnings,
    ))
}

async fn update(
    State(state): State<AppState>,
    Path(name): Path<String>,
    params: Params,
    body: ConfigBody,
) -> Result<Json<Value>, ApiError> {
    let force = params.flag("force", false)?;
    let parsed = parse_schema(&body)?;
    let unrecognized = parsed.unrecognized.clone();
    let catalog = state.catalog.clone();
    let path_name = name.clone();
    let written = blocking(move || catalog.update_schema(&path_name, parsed, force)).await?;
    // Consuming tables pick up the new columns in their next segment.
    let mut warnings = written.warnings;
    warnings.extend(super::sync_consumption_async(&state, &name).await);
    Ok(config_success(
        format!("{name} successfully added"),
        &unrecognized,
        warnings,
    ))
}

async fn remove(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let catalog = state.catalog.clone();
    let target = name.clone();
    blocking(move || catalog.delete_schema(&target)).await?;
    Ok(Json(json!({"status": format!("Schema {name} deleted")})))
}

/// `POST /schemas/validate`: the schema as it would be stored, plus what was not recognized.
async fn validate(body: ConfigBody) -> Result<(StatusCode, Json<Value>), ApiError> {
    let parsed = parse_schema(&body)?;
    parsed.value.validate()?;
    let mut response = parsed.json.clone();
    response["unrecognizedProperties"] = unrecognized_json(&parsed.unrecognized);
    Ok((StatusCode::OK, Json(response)))
}
