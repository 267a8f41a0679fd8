//! `/tables`: Pinot's table-config endpoints.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::access::Caller;
use super::body::{ConfigBody, Params};
use super::error::ApiError;
use super::{
    blocking, config_success, drop_table_data, sync_written_table, unrecognized_json, AppState,
};
use crate::auth::Permission;
use crate::catalog::{self, parse_stream_config, Parsed, TableConfig, TableType};
use crate::ingest::probe_brokers;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tables", get(list).post(add))
        .route("/tables/validate", post(validate))
        .route("/tables/{name}", get(fetch).put(update).delete(remove))
        .route("/tables/{name}/metadata", get(metadata))
}

/// The table config `bytes` with each `[hidden]` secret replaced by the
/// stored table's value (same name, type and brokers), as Kafka Connect
/// does for connector configs read back and sent again.
pub fn with_stored_secrets(state: &AppState, bytes: &[u8]) -> Result<Vec<u8>, ApiError> {
    with_hidden_restored(bytes, |json| restore_secrets(state, json))
}

/// `bytes` as they are unless they say `[hidden]` somewhere; then their
/// JSON after `restore` put the stored secrets back. Bytes that are not
/// JSON pass on as they are, for the parser to say what is wrong.
pub fn with_hidden_restored(
    bytes: &[u8],
    restore: impl FnOnce(&mut Value) -> Result<(), ApiError>,
) -> Result<Vec<u8>, ApiError> {
    let hidden = catalog::secrets::HIDDEN.as_bytes();
    if !bytes.windows(hidden.len()).any(|window| window == hidden) {
        return Ok(bytes.to_vec());
    }
    let Ok(mut json) = serde_json::from_slice::<Value>(bytes) else {
        return Ok(bytes.to_vec());
    };
    restore(&mut json)?;
    serde_json::to_vec(&json).map_err(|err| ApiError::bad_request(err.to_string()))
}

/// Replaces each `[hidden]` secret of the table config `json` by the
/// stored table's value (same name, type and brokers), or says which
/// secret must be sent again.
pub fn restore_secrets(state: &AppState, json: &mut Value) -> Result<(), ApiError> {
    let name = json.get("tableName").and_then(Value::as_str).unwrap_or("");
    let table_type = json
        .get("tableType")
        .and_then(Value::as_str)
        .and_then(|t| TableType::parse(t).ok());
    let stored = state
        .catalog
        .tables_named(name)
        .into_iter()
        .find(|entry| Some(entry.config.table_type) == table_type);
    catalog::secrets::restore(json, stored.as_ref().map(|entry| &entry.json))
        .map_err(ApiError::bad_request)
}

pub fn parse_table(bytes: &[u8]) -> Result<Parsed<TableConfig>, ApiError> {
    Ok(catalog::parse(bytes, "table config")?)
}

/// Warnings for a REALTIME table whose Kafka brokers do not answer now.
/// Creating the table still succeeds: consumption retries until they do.
pub async fn broker_warnings(state: &AppState, config: &TableConfig) -> Vec<String> {
    if config.table_type != TableType::Realtime {
        return Vec::new();
    }
    let Some(map) = config.stream_config_map() else {
        return Vec::new();
    };
    let Ok(stream) = parse_stream_config(map, "streamConfigMaps[0]") else {
        return Vec::new();
    };
    let failures = probe_brokers(&stream.brokers, state.config.broker_probe_timeout).await;
    if failures.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "Kafka brokers of table {} cannot be reached now ({}); the table is created and consumption will retry until they answer",
        config.table_name,
        failures.join("; ")
    )]
}

/// The tables the caller may read.
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let table_type = params.table_type()?;
    let mut names = state.catalog.table_names(table_type);
    names.retain(|name| caller.0.sees(name));
    Ok(Json(json!({"tables": names})))
}

async fn fetch(
    State(state): State<AppState>,
    Path(name): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let table_type = params.table_type()?;
    let mut body = Map::new();
    for entry in state.catalog.tables_named(&name) {
        if table_type.is_none_or(|t| t == entry.config.table_type) {
            body.insert(
                entry.config.table_type.name().to_string(),
                catalog::secrets::shown(&entry.json),
            );
        }
    }
    if body.is_empty() {
        return Err(catalog::Error::TableNotFound {
            name,
            known: state.catalog.table_names(None),
        }
        .into());
    }
    Ok(Json(Value::Object(body)))
}

async fn add(
    State(state): State<AppState>,
    caller: Caller,
    body: ConfigBody,
) -> Result<Json<Value>, ApiError> {
    let bytes = with_stored_secrets(&state, &body.0)?;
    let parsed = parse_table(&bytes)?;
    caller.require(Permission::Create, Some(&parsed.value.table_name))?;
    let unrecognized = parsed.unrecognized.clone();
    let catalog = state.catalog.clone();
    let (written, config) = blocking(move || {
        let config = parsed.value.clone();
        catalog.add_table(parsed).map(|written| (written, config))
    })
    .await?;
    let name = config.name_with_type();
    let mut warnings = written.warnings;
    warnings.extend(broker_warnings(&state, &config).await);
    warnings.extend(sync_written_table(&state, &config).await);
    Ok(config_success(
        format!("Table {name} successfully added"),
        &unrecognized,
        warnings,
    ))
}

async fn update(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: ConfigBody,
) -> Result<Json<Value>, ApiError> {
    let bytes = with_stored_secrets(&state, &body.0)?;
    let parsed = parse_table(&bytes)?;
    let unrecognized = parsed.unrecognized.clone();
    let catalog = state.catalog.clone();
    let (written, config) = blocking(move || {
        let config = parsed.value.clone();
        catalog
            .update_table(&name, parsed)
            .map(|written| (written, config))
    })
    .await?;
    let typed = config.name_with_type();
    let mut warnings = written.warnings;
    warnings.extend(broker_warnings(&state, &config).await);
    warnings.extend(sync_written_table(&state, &config).await);
    Ok(config_success(
        format!("Table config updated for {typed}"),
        &unrecognized,
        warnings,
    ))
}

async fn remove(
    State(state): State<AppState>,
    Path(name): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let table_type = params.table_type()?;
    if let Some(cluster) = &state.cluster {
        // Before the config goes: a table without its config and with
        // ONLINE records would be placed again, and downloaded again.
        let typed: Vec<String> = super::segments::typed_names(&state, &name, table_type)?
            .into_iter()
            .map(|(_, typed)| typed)
            .collect();
        super::delete_in_cluster(cluster, &typed).await?;
    }
    let catalog = state.catalog.clone();
    let server = state.server.clone();
    let realtime = state.realtime.clone();
    let deleted = blocking(move || {
        let deleted = catalog.delete_table(&name, table_type)?;
        drop_table_data(&realtime, &server, &deleted);
        Ok(deleted)
    })
    .await?;
    Ok(Json(
        json!({"status": format!("Tables: [{}] deleted", deleted.join(", "))}),
    ))
}

/// `POST /tables/validate`: the config as it would be stored, plus what was
/// not recognized and what would have no effect.
async fn validate(
    State(state): State<AppState>,
    body: ConfigBody,
) -> Result<Json<Value>, ApiError> {
    let mut parsed = parse_table(&body.0)?;
    let written = state.catalog.check_table(&mut parsed)?;
    let mut response = parsed.json.clone();
    response["unrecognizedProperties"] = unrecognized_json(&parsed.unrecognized);
    if !written.warnings.is_empty() {
        response["warnings"] = json!(written.warnings);
    }
    Ok(Json(response))
}

/// `GET /tables/{name}/metadata`: Pinot's aggregate table metadata
/// (`numSegments`, `numRows`, `diskSizeInBytes`), counting consuming
/// segments and their rows too, which `numConsumingSegments` and
/// `numConsumingRows` give apart. A raw name with both an OFFLINE and a
/// REALTIME table needs `?type=`.
async fn metadata(
    State(state): State<AppState>,
    Path(name): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let table_type = params.table_type()?;
    let typed = super::segments::typed_names(&state, &name, table_type)?;
    let table = match typed.as_slice() {
        [(_, one)] => one.clone(),
        _ => {
            let names: Vec<&str> = typed.iter().map(|(_, name)| name.as_str()).collect();
            return Err(ApiError::bad_request(format!(
                "{name} names both {}; add ?type=OFFLINE or ?type=REALTIME, or use the typed name",
                names.join(" and ")
            )));
        }
    };
    let data = state.server.table(&table);
    let stats = data.as_ref().map(|data| data.stats()).unwrap_or_default();
    let mut answer = json!({
        "tableName": table,
        "diskSizeInBytes": stats.sealed_bytes,
        "numSegments": stats.sealed_segments + stats.consuming_segments,
        "numRows": stats.sealed_rows + stats.consuming_rows,
        "numConsumingSegments": stats.consuming_segments,
        "numConsumingRows": stats.consuming_rows,
        "columnLengthMap": {},
        "columnCardinalityMap": {},
        "maxNumMultiValuesMap": {},
        "columnIndexSizeMap": {},
    });
    // Gamay's own: an upsert or dedup table's primary keys and the bytes
    // of their maps.
    if let Some(upsert) = data.and_then(|data| data.upsert()) {
        let (keys, bytes) = upsert.key_stats();
        answer["upsertPrimaryKeys"] = json!(keys);
        answer["upsertKeyMapBytes"] = json!(bytes);
    }
    Ok(Json(answer))
}
