//! Shared helpers for the export tests: the services `tests/services.sh`
//! starts (PostgreSQL, MariaDB, an S3 server), a `trades` table whose rows
//! carry every kind of value an export must keep (text with quotes, commas
//! and newlines, nulls, multi-value columns, TIMESTAMPs) and span a DST
//! change in New York, waiting on a connector, and crash tests' runs of a
//! server with a fault point armed and the state a connector saved.

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use super::kafka::{call, wait_until, Process};

/// First row's time: 2026-11-01T03:00:00Z. Rows are a minute apart, so 600
/// rows reach 12:59Z, across New York's fall-back at 06:00Z.
pub const BASE_MS: i64 = 1_793_502_000_000;

/// The connection string of service `var` (set by `tests/services.sh`).
/// Without it the test is skipped, unless `GAMAY_REQUIRE_SERVICES` is set
/// (as `tests/run` sets it), which makes a missing service a failure.
pub fn service(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Some(value),
        _ if std::env::var_os("GAMAY_REQUIRE_SERVICES").is_some() => {
            panic!("{var} is not set: run the tests with tests/run, which starts the services")
        }
        _ => {
            eprintln!(
                "skipped: {var} is not set (tests/run starts PostgreSQL, MariaDB and an S3 server)"
            );
            None
        }
    }
}

pub fn schema() -> Value {
    json!({
        "schemaName": "trades",
        "dimensionFieldSpecs": [
            {"name": "id", "dataType": "INT"},
            {"name": "symbol", "dataType": "STRING"},
            {"name": "tags", "dataType": "STRING", "singleValueField": false},
            {"name": "note", "dataType": "STRING"}
        ],
        "metricFieldSpecs": [
            {"name": "shares", "dataType": "INT"},
            {"name": "price", "dataType": "DOUBLE"}
        ],
        "dateTimeFieldSpecs": [
            {"name": "ts", "dataType": "LONG", "format": "1:MILLISECONDS:EPOCH", "granularity": "1:MINUTES"},
            {"name": "traded", "dataType": "TIMESTAMP", "format": "TIMESTAMP", "granularity": "1:MILLISECONDS"}
        ],
        "primaryKeyColumns": ["id"]
    })
}

pub fn offline_table() -> Value {
    json!({
        "tableName": "trades",
        "tableType": "OFFLINE",
        "segmentsConfig": {"timeColumnName": "ts", "replication": "1"},
        "tableIndexConfig": {}
    })
}

/// The note of row `id`: null for every seventh row, and text that needs
/// quoting anywhere it goes for others.
pub fn note(id: i64) -> Option<String> {
    match id % 7 {
        0 => None,
        1 => Some(format!("say \"hi\", {id}\nnew line; DROP TABLE x; --")),
        2 => Some(format!("back\\slash 'quote' {id}")),
        3 => Some(String::new()),
        _ => Some(format!("n{id} é")),
    }
}

pub fn symbol(id: i64) -> &'static str {
    ["AAPL", "GOOG", "MSFT", "NVDA"][(id % 4) as usize]
}

pub fn price(id: i64, version: i64) -> f64 {
    id as f64 * 0.5 + version as f64 * 1000.0
}

/// Rows `ids` as JSON lines; `version` changes the prices.
pub fn rows(ids: impl Iterator<Item = i64>, version: i64) -> String {
    let mut out = String::new();
    for id in ids {
        let row = json!({
            "id": id,
            "symbol": symbol(id),
            "tags": [symbol(id), format!("t{}", id % 3)],
            "note": note(id),
            "shares": id % 100,
            "price": price(id, version),
            "ts": BASE_MS + id * 60_000,
            "traded": BASE_MS + id * 60_000 + 123,
        });
        out.push_str(&row.to_string());
        out.push('\n');
    }
    out
}

/// Creates the schema and the OFFLINE table.
pub fn create_table(url: &str) {
    let (status, body) = call(url, "POST", "/schemas", &schema().to_string());
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(url, "POST", "/tables", &offline_table().to_string());
    assert_eq!(status, 200, "{body}");
}

/// Loads JSON lines into the OFFLINE table (one more sealed segment).
pub fn ingest(url: &str, jsonl: &str) {
    let response = ureq::post(&format!(
        "{url}/ingestFromFile?tableNameWithType=trades_OFFLINE&batchConfigMapStr=%7B%22inputFormat%22%3A%22json%22%7D"
    ))
    .timeout(Duration::from_secs(60))
    .send_bytes(jsonl.as_bytes())
    .expect("ingest");
    assert_eq!(response.status(), 200);
}

/// Creates connector `name` with `config`, expecting 201.
pub fn create_connector(url: &str, name: &str, config: &Value) {
    let body = json!({"name": name, "config": config});
    let (status, body) = call(url, "POST", "/connectors", &body.to_string());
    assert_eq!(status, 201, "{body}");
}

pub fn status(url: &str, name: &str) -> Value {
    let (status, body) = call(url, "GET", &format!("/connectors/{name}/status"), "");
    assert_eq!(status, 200, "{body}");
    body
}

/// Waits until connector `name` has nothing left to export and has
/// written `rows` rows in all; returns its status.
pub fn wait_caught_up(url: &str, name: &str, rows: u64, within: Duration) -> Value {
    let mut last = Value::Null;
    let done = wait_until(within, || {
        last = status(url, name);
        last["lag"]["segments"] == 0
            && last["rowsWritten"].as_u64() == Some(rows)
            && last["lastError"].is_null()
    });
    assert!(done, "connector {name} did not catch up: {last:#}");
    last
}

/// Runs `gamay serve` with `fault` armed (`GAMAY_FAULT`): creates the table,
/// loads rows 0.. as sealed segments of `segment_rows` rows each (several,
/// to have segments waiting behind the one the fault stops), creates the
/// connector, then waits for the fault point to abort the process.
pub fn export_until_fault(
    data: &Path,
    fault: &str,
    segment_rows: &[i64],
    name: &str,
    config: &Value,
) {
    let mut server = Process::start(data, Some(fault));
    create_table(&server.url);
    let mut first = 0;
    for count in segment_rows {
        ingest(&server.url, &rows(first..first + count, 0));
        first += count;
    }
    create_connector(&server.url, name, config);
    assert!(
        server.wait_for_exit(Duration::from_secs(60)),
        "the fault point {fault} was not reached"
    );
}

/// The state connector `name` saved under the data directory (what a
/// restarted server starts from): segments exported per table and totals.
pub fn saved_state(data: &Path, name: &str) -> Value {
    let path = data.join("connectors").join(name).join("state.json");
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap(),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => json!({}),
        Err(err) => panic!("{}: {err}", path.display()),
    }
}

/// How many segments of `table` a saved state lists as exported.
pub fn saved_segments(state: &Value, table: &str) -> usize {
    state["exported"][table].as_array().map_or(0, Vec::len)
}
