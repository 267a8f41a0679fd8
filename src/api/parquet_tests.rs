//! Parquet's logical types through `POST /ingestFromFile`: DATE and
//! TIMESTAMP columns land in each date-time column's own unit (days,
//! seconds, milliseconds), in TIMESTAMP columns as milliseconds, and a
//! value past a LONG is a bad row naming its column; DECIMAL goes into
//! DOUBLE and string views into STRING.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, Date32Array, Decimal128Array, Int64Array, RecordBatch, StringViewArray,
    TimestampMicrosecondArray,
};
use axum::http::StatusCode;
use serde_json::{json, Value};

use super::tests::{upload, TestApp};

/// 1998-12-01, the last shipping date TPC-H's Q1 keeps.
const DAY: i32 = 10_561;
const DAY_MILLIS: i64 = DAY as i64 * 86_400_000;

fn file(days: Vec<i32>, micros: Vec<i64>) -> Vec<u8> {
    let ids: Vec<i64> = (0..days.len() as i64).collect();
    let date = || Arc::new(Date32Array::from(days.clone())) as ArrayRef;
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
        ("ship_days", date()),
        ("ship_millis", date()),
        ("ship_ts", date()),
        (
            "event_seconds",
            Arc::new(TimestampMicrosecondArray::from(micros.clone())),
        ),
        (
            "event_raw",
            Arc::new(TimestampMicrosecondArray::from(micros)),
        ),
        (
            "price",
            Arc::new(
                Decimal128Array::from(vec![12_345, -5])
                    .with_precision_and_scale(12, 2)
                    .unwrap(),
            ),
        ),
        ("note", Arc::new(StringViewArray::from(vec!["a", "bb"]))),
    ])
    .unwrap();
    parquet(&batch)
}

fn parquet(batch: &RecordBatch) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
    out
}

async fn table(app: &TestApp) {
    let schema = json!({
        "schemaName": "dates",
        "dimensionFieldSpecs": [
            {"name": "id", "dataType": "LONG"},
            {"name": "event_raw", "dataType": "LONG"},
            {"name": "note", "dataType": "STRING"}
        ],
        "metricFieldSpecs": [{"name": "price", "dataType": "DOUBLE"}],
        "dateTimeFieldSpecs": [
            {"name": "ship_days", "dataType": "INT", "format": "1:DAYS:EPOCH", "granularity": "1:DAYS"},
            {"name": "ship_millis", "dataType": "LONG", "format": "1:MILLISECONDS:EPOCH", "granularity": "1:DAYS"},
            {"name": "ship_ts", "dataType": "TIMESTAMP", "format": "TIMESTAMP", "granularity": "1:DAYS"},
            {"name": "event_seconds", "dataType": "LONG", "format": "1:SECONDS:EPOCH", "granularity": "1:SECONDS"}
        ]
    });
    let (status, body) = app.call("POST", "/schemas", schema.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let table = json!({"tableName": "dates", "tableType": "OFFLINE", "segmentsConfig": {"timeColumnName": "ship_days"}});
    let (status, body) = app.call("POST", "/tables", table.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn rows(app: &TestApp, sql: &str) -> Value {
    let (status, body) = app
        .call("POST", "/query/sql", json!({"sql": sql}).to_string())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["exceptions"], json!([]), "{body}");
    body["resultTable"]["rows"].clone()
}

#[tokio::test]
async fn dates_and_timestamps_land_in_each_columns_unit() {
    let app = TestApp::new();
    table(&app).await;
    // 2026-12-07T06:34:03.123456Z, and a second before the epoch.
    let micros = vec![1_796_625_243_123_456, -1_000_000];
    let query = "tableNameWithType=dates_OFFLINE";
    let (status, body) = upload(&app, query, "d.parquet", &file(vec![DAY, -1], micros)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows"], 2, "{body}");
    let got = rows(
        &app,
        "SELECT ship_days, ship_millis, ship_ts, event_seconds, event_raw, price, note FROM dates ORDER BY id",
    )
    .await;
    let first = json!([
        DAY,
        DAY_MILLIS,
        DAY_MILLIS,
        1_796_625_243i64,
        1_796_625_243_123i64,
        123.45,
        "a"
    ]);
    let second = json!([-1, -86_400_000, -86_400_000, -1, -1000, -0.05, "bb"]);
    assert_eq!(got, json!([first, second]));
}

#[tokio::test]
async fn a_date_past_a_long_in_the_columns_unit_is_a_bad_row() {
    let app = TestApp::new();
    let schema = json!({
        "schemaName": "far",
        "dimensionFieldSpecs": [{"name": "id", "dataType": "LONG"}],
        "dateTimeFieldSpecs": [
            {"name": "at", "dataType": "LONG", "format": "1:NANOSECONDS:EPOCH", "granularity": "1:NANOSECONDS"}
        ]
    });
    let (status, body) = app.call("POST", "/schemas", schema.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let table = json!({"tableName": "far", "tableType": "OFFLINE"});
    let (status, body) = app.call("POST", "/tables", table.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![0, 1])) as ArrayRef),
        (
            "at",
            Arc::new(Date32Array::from(vec![DAY, i32::MAX])) as ArrayRef,
        ),
    ])
    .unwrap();
    let out = parquet(&batch);
    let (status, body) = upload(&app, "tableNameWithType=far_OFFLINE", "f.parquet", &out).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows"], 1, "{body}");
    assert_eq!(body["badRows"], 1, "{body}");
    let error = body["errors"][0].as_str().unwrap_or_default();
    assert!(error.contains("row 2: column `at`"), "{error}");
    let got = rows(&app, "SELECT at FROM far").await;
    assert_eq!(got, json!([[DAY_MILLIS * 1_000_000]]));
}
