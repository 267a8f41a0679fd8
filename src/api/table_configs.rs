//! `/tableConfigs`: a schema and its OFFLINE and/or REALTIME table configs in
//! one document, as Pinot's `{"tableName", "schema", "offline", "realtime"}`.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::access::Caller;
use super::body::ConfigBody;
use super::error::ApiError;
use super::tables::broker_warnings;
use super::{
    blocking, config_success, drop_table_data, sync_written_table, unrecognized_json, AppState,
};
use crate::auth::Permission;
use crate::catalog::{self, Parsed, Schema, TableConfig, TableType};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tableConfigs", get(list).post(add))
        .route("/tableConfigs/validate", post(validate))
        .route("/tableConfigs/{name}", get(fetch).delete(remove))
}

/// A `/tableConfigs` document split into its parts, each parsed.
struct TableConfigs {
    name: String,
    schema: Parsed<Schema>,
    tables: Vec<Parsed<TableConfig>>,
    unrecognized: BTreeMap<String, Value>,
}

const PARTS: [(&str, TableType); 2] = [
    ("offline", TableType::Offline),
    ("realtime", TableType::Realtime),
];

fn parse_table_configs(bytes: &[u8]) -> Result<TableConfigs, ApiError> {
    #[derive(serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Envelope {
        table_name: String,
        schema: Value,
        #[serde(default)]
        offline: Option<Value>,
        #[serde(default)]
        realtime: Option<Value>,
    }
    let envelope: Parsed<Envelope> = catalog::parse(bytes, "tableConfigs")?;
    let mut unrecognized = envelope.unrecognized;
    let Envelope {
        table_name,
        schema,
        offline,
        realtime,
    } = envelope.value;

    let schema: Parsed<Schema> = catalog::parse_value(schema, "schema")?;
    prefix_into(&mut unrecognized, "/schema", &schema.unrecognized);
    if schema.value.schema_name != table_name {
        return Err(ApiError::bad_request(format!(
            "invalid tableConfigs: schema.schemaName `{}` must equal tableName `{table_name}`",
            schema.value.schema_name
        )));
    }

    let mut tables = Vec::new();
    for ((key, expected), part) in PARTS.into_iter().zip([offline, realtime]) {
        let Some(part) = part.filter(|part| !part.is_null()) else {
            continue;
        };
        let table: Parsed<TableConfig> =
            catalog::parse_value(part, &format!("{key} table config"))?;
        if table.value.table_type != expected {
            return Err(ApiError::bad_request(format!(
                "invalid tableConfigs: `{key}` holds a table of type {}; it must be {expected}",
                table.value.table_type
            )));
        }
        prefix_into(&mut unrecognized, &format!("/{key}"), &table.unrecognized);
        tables.push(table);
    }
    if tables.is_empty() {
        return Err(ApiError::bad_request(
            "invalid tableConfigs: give at least one of `offline` and `realtime` table configs",
        ));
    }
    Ok(TableConfigs {
        name: table_name,
        schema,
        tables,
        unrecognized,
    })
}

/// The `/tableConfigs` document `bytes` with each table part's `[hidden]`
/// secrets replaced by the stored table's, as `PUT /tables/{name}` does.
fn with_stored_secrets(state: &AppState, bytes: &[u8]) -> Result<Vec<u8>, ApiError> {
    super::tables::with_hidden_restored(bytes, |json| {
        for (key, _) in PARTS {
            if let Some(part) = json.get_mut(key).filter(|part| part.is_object()) {
                super::tables::restore_secrets(state, part)?;
            }
        }
        Ok(())
    })
}

fn part_key(table_type: TableType) -> &'static str {
    match table_type {
        TableType::Offline => "offline",
        TableType::Realtime => "realtime",
    }
}

fn prefix_into(out: &mut BTreeMap<String, Value>, prefix: &str, from: &BTreeMap<String, Value>) {
    for (path, value) in from {
        out.insert(format!("{prefix}{path}"), value.clone());
    }
}

/// The tables the caller may read.
async fn list(State(state): State<AppState>, caller: Caller) -> Json<Vec<String>> {
    let mut names = state.catalog.table_names(None);
    names.retain(|name| caller.0.sees(name));
    Json(names)
}

async fn fetch(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let tables = state.catalog.tables_named(&name);
    let raw = catalog::raw_table_name(&name).to_string();
    let Some(schema) = state.catalog.schema(&raw) else {
        return Err(catalog::Error::TableNotFound {
            name,
            known: state.catalog.table_names(None),
        }
        .into());
    };
    let mut body = Map::new();
    body.insert("tableName".into(), json!(raw));
    body.insert("schema".into(), schema.json.clone());
    for entry in tables {
        body.insert(
            part_key(entry.config.table_type).into(),
            catalog::secrets::shown(&entry.json),
        );
    }
    Ok(Json(Value::Object(body)))
}

async fn add(
    State(state): State<AppState>,
    caller: Caller,
    body: ConfigBody,
) -> Result<Json<Value>, ApiError> {
    let configs = parse_table_configs(&with_stored_secrets(&state, &body.0)?)?;
    caller.require(Permission::Create, Some(&configs.name))?;
    let name = configs.name.clone();
    let typed: Vec<TableConfig> = configs
        .tables
        .iter()
        .map(|table| table.value.clone())
        .collect();
    let catalog = state.catalog.clone();
    let written =
        blocking(move || catalog.add_table_configs(configs.schema, configs.tables)).await?;
    let mut warnings = written.warnings;
    for mut config in typed {
        config.table_name = config.name_with_type();
        warnings.extend(broker_warnings(&state, &config).await);
        warnings.extend(sync_written_table(&state, &config).await);
    }
    Ok(config_success(
        format!("TableConfigs {name} successfully added"),
        &configs.unrecognized,
        warnings,
    ))
}

async fn remove(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let raw = catalog::raw_table_name(&name).to_string();
    let catalog = state.catalog.clone();
    let server = state.server.clone();
    let realtime = state.realtime.clone();
    let target = raw.clone();
    blocking(move || {
        match catalog.delete_table(&target, None) {
            Ok(deleted) => drop_table_data(&realtime, &server, &deleted),
            Err(catalog::Error::TableNotFound { .. }) => {}
            Err(err) => return Err(err),
        }
        catalog.delete_schema(&target)
    })
    .await?;
    Ok(Json(
        json!({"status": format!("Deleted TableConfigs: {raw}")}),
    ))
}

/// `POST /tableConfigs/validate`: checks the schema and tables together
/// without storing anything.
async fn validate(body: ConfigBody) -> Result<Json<Value>, ApiError> {
    let configs = parse_table_configs(&body.0)?;
    configs.schema.value.validate()?;
    let mut response = Map::new();
    response.insert("tableName".into(), json!(configs.name));
    response.insert("schema".into(), configs.schema.json.clone());
    let mut warnings = Vec::new();
    for mut table in configs.tables {
        warnings.extend(catalog::check_table_against(&mut table, &configs.schema.value)?.warnings);
        response.insert(part_key(table.value.table_type).into(), table.json);
    }
    response.insert(
        "unrecognizedProperties".into(),
        unrecognized_json(&configs.unrecognized),
    );
    if !warnings.is_empty() {
        response.insert("warnings".into(), json!(warnings));
    }
    Ok(Json(Value::Object(response)))
}
