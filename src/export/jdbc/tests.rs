//! `prepare` on a real segment: the key, the columns kept, the last row of
//! each key, and rows the table marks deleted.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use serde_json::json;

use super::export::prepare;
use crate::catalog::{parse_value, Schema, TableConfig};
use crate::export::config::{parse, Sink};
use crate::ingest::files::FileFormat;
use crate::segment::SegmentSpec;
use crate::server::{ingest_file, IngestOptions, TableData};

fn schema() -> Schema {
    parse_value(
        json!({
            "schemaName": "users",
            "dimensionFieldSpecs": [
                {"name": "id", "dataType": "INT"},
                {"name": "name", "dataType": "STRING"},
                {"name": "deleted", "dataType": "BOOLEAN"}
            ],
            "dateTimeFieldSpecs": [{"name": "ts", "dataType": "LONG", "format": "1:MILLISECONDS:EPOCH", "granularity": "1:MILLISECONDS"}],
            "primaryKeyColumns": ["id"]
        }),
        "schema",
    )
    .unwrap()
    .value
}

fn table(delete_column: bool) -> TableConfig {
    let mut table = json!({"tableName": "users", "tableType": "OFFLINE", "segmentsConfig": {}, "tableIndexConfig": {}});
    if delete_column {
        table["upsertConfig"] = json!({"mode": "FULL", "deleteRecordColumn": "deleted"});
    }
    parse_value(table, "table").unwrap().value
}

fn jdbc(extra: &[(&str, &str)]) -> super::JdbcConfig {
    let mut raw: BTreeMap<String, String> = [
        ("connector.class", "jdbc"),
        ("tables", "users"),
        ("connection.url", "jdbc:postgresql://127.0.0.1/db"),
        ("insert.mode", "upsert"),
        ("pk.mode", "record_value"),
        ("pk.fields", "id"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        raw.insert(k.to_string(), v.to_string());
    }
    match parse("c", raw).unwrap().sink {
        Sink::Jdbc(config) => *config,
        Sink::S3(_) => unreachable!(),
    }
}

fn segment(dir: &std::path::Path) -> Arc<crate::segment::ImmutableSegment> {
    let input = dir.join("rows.jsonl");
    let rows = [
        json!({"id": 1, "name": "a", "deleted": false, "ts": 1}),
        json!({"id": 2, "name": "b", "deleted": false, "ts": 2}),
        json!({"id": 1, "name": "a2", "deleted": false, "ts": 3}),
        json!({"id": 3, "name": "c", "deleted": false, "ts": 4}),
        json!({"id": 2, "name": "b", "deleted": true, "ts": 5}),
    ];
    let text: String = rows.iter().map(|row| format!("{row}\n")).collect();
    std::fs::write(&input, text).unwrap();
    let data = TableData::open(&dir.join("t"), "users_OFFLINE").unwrap();
    let spec = Arc::new(SegmentSpec::new(&schema(), &table(true)));
    let options = IngestOptions::new("rows.jsonl", FileFormat::Json);
    ingest_file(&data, spec, &input, &options, &|_| {}).unwrap();
    data.segments()[0].clone()
}

/// The (id, name) of each row to write.
fn kept(prepared: &super::export::Prepared) -> Vec<(i32, &str)> {
    let ids = prepared.values[0].as_primitive::<Int32Type>();
    let text = prepared.values[1].as_string::<i32>();
    prepared
        .rows
        .iter()
        .map(|row| (ids.value(*row as usize), text.value(*row as usize)))
        .collect()
}

#[test]
fn keeps_the_last_row_per_key_and_splits_off_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let segment = segment(dir.path());
    let config = jdbc(&[("delete.enabled", "true"), ("fields.whitelist", "name")]);
    let prepared = prepare(&config, "users", &schema(), &table(true), &segment, None).unwrap();
    let names: Vec<&str> = prepared.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "name"]);
    assert_eq!(prepared.key, ["id"]);
    assert_eq!(kept(&prepared), [(1, "a2"), (3, "c")]);
    let ids = prepared.values[0].as_primitive::<Int32Type>();
    let deleted: Vec<i32> = prepared
        .deletes
        .iter()
        .map(|row| ids.value(*row as usize))
        .collect();
    assert_eq!(deleted, [2]);
}

#[test]
fn without_deletes_every_key_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let segment = segment(dir.path());
    let prepared = prepare(&jdbc(&[]), "users", &schema(), &table(true), &segment, None).unwrap();
    assert_eq!(prepared.rows.len(), 3);
    assert!(prepared.deletes.is_empty());
    assert_eq!(prepared.columns.len(), 4);
    assert_eq!(prepared.table, "users");
}

#[test]
fn settings_the_table_cannot_meet_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let segment = segment(dir.path());
    let err = prepare(
        &jdbc(&[("delete.enabled", "true")]),
        "users",
        &schema(),
        &table(false),
        &segment,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("deleteRecordColumn"), "{err}");
    let err = prepare(
        &jdbc(&[("pk.fields", "nope")]),
        "users",
        &schema(),
        &table(true),
        &segment,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("`nope`"), "{err}");
    let mut record_key = jdbc(&[]);
    record_key.pk_mode = super::PkMode::RecordKey;
    record_key.pk_fields.clear();
    let prepared = prepare(
        &record_key,
        "users",
        &schema(),
        &table(true),
        &segment,
        None,
    )
    .unwrap();
    assert_eq!(prepared.key, ["id"]);
}

#[test]
fn the_newest_version_wins_whatever_the_segment_order() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("rows.jsonl");
    let rows = [
        json!({"id": 1, "name": "z old", "deleted": false, "ts": 1}),
        json!({"id": 1, "name": "a new", "deleted": false, "ts": 2}),
        json!({"id": 2, "name": "b new", "deleted": true, "ts": 9}),
        json!({"id": 2, "name": "y old", "deleted": false, "ts": 3}),
    ];
    let text: String = rows.iter().map(|row| format!("{row}\n")).collect();
    std::fs::write(&input, text).unwrap();
    let mut table_json = json!({
        "tableName": "users", "tableType": "OFFLINE",
        "segmentsConfig": {"timeColumnName": "ts"},
        "tableIndexConfig": {"sortedColumn": ["name"]},
        "upsertConfig": {"mode": "FULL", "deleteRecordColumn": "deleted"}
    });
    let sorted: TableConfig = parse_value(table_json.clone(), "table").unwrap().value;
    let data = TableData::open(&dir.path().join("t"), "users_OFFLINE").unwrap();
    let spec = Arc::new(SegmentSpec::new(&schema(), &sorted));
    let options = IngestOptions::new("rows.jsonl", FileFormat::Json);
    ingest_file(&data, spec, &input, &options, &|_| {}).unwrap();
    let segment = data.segments()[0].clone();
    let config = jdbc(&[("delete.enabled", "true")]);
    let prepared = prepare(&config, "users", &schema(), &sorted, &segment, None).unwrap();
    let ids = prepared.values[0].as_primitive::<Int32Type>();
    let names = prepared.values[1].as_string::<i32>();
    let kept: Vec<(i32, &str)> = prepared
        .rows
        .iter()
        .map(|row| (ids.value(*row as usize), names.value(*row as usize)))
        .collect();
    assert_eq!(kept, [(1, "a new")]);
    let deleted: Vec<i32> = prepared
        .deletes
        .iter()
        .map(|row| ids.value(*row as usize))
        .collect();
    assert_eq!(deleted, [2]);

    // Without upsert semantics the segment's order decides (here sorted by
    // name; upsert tables keep arrival order).
    table_json.as_object_mut().unwrap().remove("upsertConfig");
    let plain: TableConfig = parse_value(table_json, "table").unwrap().value;
    let data = TableData::open(&dir.path().join("plain"), "users_OFFLINE").unwrap();
    let spec = Arc::new(SegmentSpec::new(&schema(), &plain));
    ingest_file(&data, spec, &input, &options, &|_| {}).unwrap();
    let segment = data.segments()[0].clone();
    let prepared = prepare(&jdbc(&[]), "users", &schema(), &plain, &segment, None).unwrap();
    let names = prepared.values[1].as_string::<i32>();
    let kept: Vec<&str> = prepared
        .rows
        .iter()
        .map(|row| names.value(*row as usize))
        .collect();
    assert_eq!(kept, ["y old", "z old"]);
}

#[test]
fn late_rows_of_an_upsert_table_are_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let segment = segment(dir.path());
    let config = jdbc(&[("delete.enabled", "true")]);
    // Doc 2 (id 1, "a2") and doc 4 (the delete of id 2) arrived late.
    let late: roaring::RoaringBitmap = [2u32, 4].into_iter().collect();
    let prepared = prepare(
        &config,
        "users",
        &schema(),
        &table(true),
        &segment,
        Some(&late),
    )
    .unwrap();
    assert_eq!(kept(&prepared), [(1, "a"), (2, "b"), (3, "c")]);
    assert!(prepared.deletes.is_empty());
}
