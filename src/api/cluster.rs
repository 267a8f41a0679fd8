//! Pinot's cluster views: `GET /instances` and `/instances/{name}` (the
//! live nodes, their roles, last heartbeat and segments held),
//! `GET /tables/{t}/idealstate` (which servers each segment is placed
//! on) and `/externalview` (which live servers report each segment
//! loaded), and `POST /tables/{t}/rebalance` (place a table's segments
//! again, or with `dryRun=true` only show the moves; status `NO_OP`,
//! `IN_PROGRESS` while old holders wait for new ones, or `DONE`).
//! A single node answers them as the one instance holding everything.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::body::Params;
use super::error::ApiError;
use super::segments::typed_names;
use super::AppState;
use crate::catalog::TableType;

/// How a single node names itself as an instance.
const SINGLE_NODE: &str = "gamay";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/instances", get(instances))
        .route("/instances/{name}", get(instance))
        .route("/tables/{name}/idealstate", get(ideal_state))
        .route("/tables/{name}/externalview", get(external_view))
        .route("/tables/{name}/rebalance", post(rebalance))
}

fn unavailable(err: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        format!("the metastore did not answer: {err}"),
    )
}

/// The live nodes: (id, url, roles).
async fn nodes(state: &AppState) -> Result<Vec<(String, String, Vec<String>)>, ApiError> {
    match &state.cluster {
        Some(cluster) => Ok(cluster
            .metastore
            .live_nodes(cluster.lease_timeout)
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(|node| (node.id, node.url, node.roles))
            .collect()),
        None => Ok(vec![(
            SINGLE_NODE.to_string(),
            format!("http://{}", state.config.listen),
            crate::cluster::roles_of(crate::config::Role::All),
        )]),
    }
}

/// `GET /instances`: `{"instances": [...]}`.
async fn instances(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let names: Vec<String> = nodes(&state).await?.into_iter().map(|n| n.0).collect();
    Ok(Json(json!({ "instances": names })))
}

/// `GET /instances/{name}`: one live node: its roles, URL, last
/// heartbeat and the segments it reports loaded.
async fn instance(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let all = nodes(&state).await?;
    let Some((id, url, roles)) = all.iter().find(|node| node.0 == name) else {
        let known: Vec<&str> = all.iter().map(|node| node.0.as_str()).collect();
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            format!(
                "instance {name} is not a live node; live: {}",
                known.join(", ")
            ),
        ));
    };
    let (age, held) = holdings_of(&state, id).await?;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64);
    let age_ms = age.as_millis() as u64;
    let authority = url.split("://").nth(1).unwrap_or(url);
    let (host, port) = authority.rsplit_once(':').unwrap_or((authority, ""));
    Ok(Json(json!({
        "instanceName": id,
        "hostName": host,
        "port": port,
        "enabled": true,
        "url": url,
        "roles": roles,
        "tags": roles.iter().map(|role| format!("DefaultTenant_{}", role.to_uppercase())).collect::<Vec<_>>(),
        "lastHeartbeatMillis": now_ms.saturating_sub(age_ms),
        "heartbeatAgeMillis": age_ms,
        "numSegments": held.values().sum::<usize>(),
        "segmentsPerTable": held,
    })))
}

/// How long ago a node last beat, and how many segments of each table it
/// reports loaded.
async fn holdings_of(
    state: &AppState,
    id: &str,
) -> Result<(std::time::Duration, BTreeMap<String, usize>), ApiError> {
    let mut held: BTreeMap<String, usize> = BTreeMap::new();
    let Some(cluster) = &state.cluster else {
        for table in state.server.table_names() {
            if let Some(data) = state.server.table(&table) {
                held.insert(table, data.segments().iter().count());
            }
        }
        return Ok((std::time::Duration::ZERO, held));
    };
    let ages = cluster
        .metastore
        .heartbeat_ages(cluster.lease_timeout)
        .await
        .map_err(unavailable)?;
    let view = cluster
        .metastore
        .external_view(cluster.lease_timeout)
        .await
        .map_err(unavailable)?;
    for (table, segments) in &view {
        let count = segments
            .values()
            .filter(|holders| holders.iter().any(|holder| holder == id))
            .count();
        if count > 0 {
            held.insert(table.clone(), count);
        }
    }
    Ok((ages.get(id).copied().unwrap_or_default(), held))
}

/// Segment → server → state, per table type, as Pinot's views show.
async fn views(
    state: &AppState,
    name: &str,
    table_type: Option<TableType>,
    live_only: bool,
) -> Result<Value, ApiError> {
    let mut out = Map::new();
    out.insert("OFFLINE".into(), Value::Null);
    out.insert("REALTIME".into(), Value::Null);
    let typed = typed_names(state, name, table_type)?;
    // The ideal state is the assignment; the external view what live
    // servers report loaded.
    let routing = match &state.cluster {
        Some(cluster) if live_only => Some(
            cluster
                .metastore
                .external_view(cluster.lease_timeout)
                .await
                .map_err(unavailable)?,
        ),
        Some(cluster) => Some(cluster.metastore.routing().await.map_err(unavailable)?),
        None => None,
    };
    for (table_type, name_with_type) in typed {
        let mut segments = Map::new();
        match &routing {
            Some(routing) => {
                for (segment, holders) in routing.get(&name_with_type).into_iter().flatten() {
                    let servers: Map<String, Value> = holders
                        .iter()
                        .map(|holder| (holder.clone(), json!("ONLINE")))
                        .collect();
                    segments.insert(segment.clone(), Value::Object(servers));
                }
            }
            None => {
                if let Some(data) = state.server.table(&name_with_type) {
                    for segment in data.segments().iter() {
                        segments
                            .insert(segment.name().to_string(), json!({ SINGLE_NODE: "ONLINE" }));
                    }
                    for consuming in data.live().consuming.iter() {
                        segments
                            .insert(consuming.name.clone(), json!({ SINGLE_NODE: "CONSUMING" }));
                    }
                }
            }
        }
        out.insert(table_type.name().to_string(), Value::Object(segments));
    }
    Ok(Value::Object(out))
}

/// `GET /tables/{name}/idealstate`: where segments are placed.
async fn ideal_state(
    State(state): State<AppState>,
    Path(name): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        views(&state, &name, params.table_type()?, false).await?,
    ))
}

/// `GET /tables/{name}/externalview`: which live servers report each
/// segment loaded.
async fn external_view(
    State(state): State<AppState>,
    Path(name): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        views(&state, &name, params.table_type()?, true).await?,
    ))
}

/// `POST /tables/{name}/rebalance?type=OFFLINE&dryRun=true`.
async fn rebalance(
    State(state): State<AppState>,
    Path(name): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let dry_run = params.flag("dryRun", false)?;
    let typed = typed_names(&state, &name, params.table_type()?)?;
    let Some(cluster) = &state.cluster else {
        return Ok(Json(json!({
            "status": "NO_OP",
            "description": "a single node holds every segment: there is nothing to move",
        })));
    };
    let mut moved: BTreeMap<String, Value> = BTreeMap::new();
    let mut in_progress = 0;
    for (_, name_with_type) in &typed {
        let done = crate::cluster::controller::rebalance(
            cluster,
            &state.catalog,
            Some(name_with_type),
            dry_run,
        )
        .await
        .map_err(unavailable)?;
        in_progress += done.in_progress;
        for (table, changes) in done.moves {
            for change in changes {
                moved.insert(
                    format!("{table}/{}", change.segment),
                    json!({"gain": change.gain, "lose": change.lose}),
                );
            }
        }
    }
    let status = if moved.is_empty() && in_progress == 0 {
        "NO_OP"
    } else if dry_run {
        "DONE"
    } else {
        "IN_PROGRESS"
    };
    let description = match (moved.len(), dry_run) {
        (0, _) if in_progress > 0 => format!(
            "{in_progress} segment(s) still moving: their old holders serve them until the new ones report them loaded"
        ),
        (0, _) => "the segments are where they should be".to_string(),
        (n, true) => format!("{n} segment(s) would move (dry run: nothing changed)"),
        (n, false) => format!(
            "{n} segment(s) placed anew; their old holders serve them until the new ones report them loaded"
        ),
    };
    Ok(Json(json!({
        "status": status,
        "description": description,
        "dryRun": dry_run,
        "segmentMoves": moved,
        "segmentsInProgress": in_progress,
    })))
}
