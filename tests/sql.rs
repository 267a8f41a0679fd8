//! SQL logic tests: every `tests/sql/*.slt` file runs over HTTP against a
//! server holding the `trades` fixture twice: `trades` with sorted,
//! inverted, range and bloom indexes and a raw column, and `trades_plain`
//! with none, in two segments each. Files query both, so index paths and
//! scans must agree.
//!
//! Column types are checked, not only values: each `query` record's type
//! string must match the response's `dataSchema.columnDataTypes`, mapped by
//! [`column_type`]: `I` for INT and LONG, `R` for FLOAT, DOUBLE and
//! BIG_DECIMAL, `T` for the rest (STRING, JSON, BYTES, TIMESTAMP, BOOLEAN
//! and every array type).

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use gamay::config::ServerConfig;
use serde_json::Value as Json;
use sqllogictest::{DBOutput, DefaultColumnType};

struct Gamay {
    url: String,
}

#[derive(Debug)]
struct QueryFailed(String);

impl std::fmt::Display for QueryFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for QueryFailed {}

fn post(url: &str, body: &str) -> (u16, String) {
    match ureq::post(url)
        .set("Content-Type", "application/json")
        .send_string(body)
    {
        Ok(response) => (
            response.status(),
            response.into_string().unwrap_or_default(),
        ),
        Err(ureq::Error::Status(status, response)) => {
            (status, response.into_string().unwrap_or_default())
        }
        Err(err) => panic!("POST {url}: {err}"),
    }
}

/// Cell text: strings as they are, doubles with at most 6 decimals.
fn cell(value: &Json, ty: &str) -> String {
    match value {
        Json::Null => "NULL".into(),
        Json::String(text) if text.is_empty() => "(empty)".into(),
        Json::String(text) => text.clone(),
        Json::Number(n) if matches!(ty, "DOUBLE" | "FLOAT") => {
            let rounded = format!("{:.6}", n.as_f64().unwrap_or(f64::NAN));
            let trimmed = rounded.trim_end_matches('0').trim_end_matches('.');
            if trimmed == "-0" {
                "0".into()
            } else {
                trimmed.into()
            }
        }
        other => other.to_string(),
    }
}

/// The sqllogictest type letter of a Pinot `columnDataTypes` entry.
fn column_type(pinot: &str) -> DefaultColumnType {
    match pinot {
        "INT" | "LONG" => DefaultColumnType::Integer,
        "FLOAT" | "DOUBLE" | "BIG_DECIMAL" => DefaultColumnType::FloatingPoint,
        _ => DefaultColumnType::Text,
    }
}

impl sqllogictest::DB for Gamay {
    type Error = QueryFailed;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, QueryFailed> {
        let body = serde_json::json!({ "sql": sql }).to_string();
        let (status, text) = post(&format!("{}/query/sql", self.url), &body);
        let json: Json = serde_json::from_str(&text)
            .map_err(|err| QueryFailed(format!("HTTP {status}: not JSON ({err}): {text}")))?;
        if let Some(exception) = json["exceptions"].as_array().and_then(|e| e.first()) {
            // The HTTP status must say the query failed, too.
            assert!(status >= 400, "HTTP {status} with exceptions: {text}");
            return Err(QueryFailed(format!(
                "[{}] {}",
                exception["errorCode"],
                exception["message"].as_str().unwrap_or_default()
            )));
        }
        assert_eq!(status, 200, "{text}");
        let table = &json["resultTable"];
        let types: Vec<String> = table["dataSchema"]["columnDataTypes"]
            .as_array()
            .map(|types| {
                types
                    .iter()
                    .map(|t| t.as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default();
        let column_types = types.iter().map(|ty| column_type(ty)).collect();
        let rows = table["rows"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|row| {
                        row.as_array()
                            .map(|cells| {
                                cells
                                    .iter()
                                    .zip(&types)
                                    .map(|(value, ty)| cell(value, ty))
                                    .collect()
                            })
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(DBOutput::Rows {
            types: column_types,
            rows,
        })
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sql/data")
        .join(name)
}

/// Starts a server on a free port with both tables loaded; returns its URL.
fn start() -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime
            .block_on(gamay::api::serve(config, std::future::pending(), |addr| {
                sender.send(addr).unwrap()
            }))
            .unwrap();
    });
    let url = format!("http://{}", receiver.recv().unwrap());
    let schema: Json =
        serde_json::from_str(&std::fs::read_to_string(fixture("trades.schema.json")).unwrap())
            .unwrap();
    let table: Json =
        serde_json::from_str(&std::fs::read_to_string(fixture("trades.table.json")).unwrap())
            .unwrap();
    let mut plain_schema = schema.clone();
    plain_schema["schemaName"] = "trades_plain".into();
    let plain_table = serde_json::json!({
        "tableName": "trades_plain",
        "tableType": "OFFLINE",
        "segmentsConfig": {"timeColumnName": "ts", "replication": "1"},
        "tableIndexConfig": {}
    });
    for (path, body) in [
        ("schemas", &schema),
        ("tables", &table),
        ("schemas", &plain_schema),
        ("tables", &plain_table),
    ] {
        let (status, text) = post(&format!("{url}/{path}"), &body.to_string());
        assert_eq!(status, 200, "{path}: {text}");
    }
    for table in ["trades_OFFLINE", "trades_plain_OFFLINE"] {
        for file in ["trades_a.jsonl", "trades_b.jsonl"] {
            let data = std::fs::read(fixture(file)).unwrap();
            let response = ureq::post(&format!(
                "{url}/ingestFromFile?tableNameWithType={table}&batchConfigMapStr=%7B%22inputFormat%22%3A%22json%22%7D"
            ))
            .send_bytes(&data)
            .unwrap();
            assert_eq!(response.status(), 200);
        }
    }
    (url, dir)
}

#[test]
fn sql_logic_tests() {
    let (url, _dir) = start();
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sql"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "slt"))
            .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    for file in &files {
        let url = url.clone();
        let mut runner = sqllogictest::Runner::new(move || {
            let url = url.clone();
            async move { Ok(Gamay { url }) }
        });
        runner.with_column_validator(sqllogictest::strict_column_validator);
        if let Err(err) = runner.run_file(file) {
            failures.push(format!("{}: {err}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
