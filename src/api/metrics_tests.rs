//! `GET /metrics` through the router: the text format, and values that
//! follow what the server did (tables loaded, queries answered and failed).

use axum::http::StatusCode;
use serde_json::Value;

use super::tests::{csv_rows, upload, with_offline_table, TestApp};

/// The value of the sample `series` (name with labels, as printed).
pub(super) fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

pub(super) async fn scrape(app: &TestApp) -> String {
    let (status, body) = app.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let Value::String(text) = body else {
        panic!("/metrics answered JSON: {body}");
    };
    assert!(text.ends_with("# EOF\n"), "{text}");
    text
}

#[tokio::test]
async fn metrics_follow_tables_and_queries() {
    let app = TestApp::new();
    with_offline_table(&app).await;
    let (status, body) = upload(
        &app,
        "tableNameWithType=stock_transactions_OFFLINE",
        "trades.csv",
        csv_rows(300, 0).as_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let table = r#"{table="stock_transactions_OFFLINE",state="sealed"}"#;
    let text = scrape(&app).await;
    assert_eq!(
        sample(&text, &format!("gamay_table_rows{table}")),
        Some(300.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, &format!("gamay_table_segments{table}")),
        Some(1.0)
    );
    let bytes = sample(
        &text,
        r#"gamay_table_bytes{table="stock_transactions_OFFLINE"}"#,
    );
    assert!(bytes.is_some_and(|b| b > 1000.0), "{text}");
    assert!(sample(&text, "process_resident_memory_bytes").is_some_and(|b| b > 1e6));
    assert_eq!(
        sample(&text, r#"gamay_queries_total{engine="single-stage"}"#),
        Some(0.0)
    );

    let good = r#"{"sql": "SELECT symbol, COUNT(*) FROM stock_transactions GROUP BY symbol"}"#;
    for _ in 0..3 {
        assert_eq!(app.call("POST", "/query/sql", good).await.0, StatusCode::OK);
    }
    let missing = r#"{"sql": "SELECT COUNT(*) FROM nowhere"}"#;
    assert_ne!(
        app.call("POST", "/query/sql", missing).await.0,
        StatusCode::OK
    );
    assert_ne!(
        app.call("POST", "/query/sql", "{not json").await.0,
        StatusCode::OK
    );
    let multi = r#"{"sql": "SELECT COUNT(*) FROM stock_transactions"}"#;
    assert_eq!(app.call("POST", "/query", multi).await.0, StatusCode::OK);

    let text = scrape(&app).await;
    let single = r#"{engine="single-stage"}"#;
    assert_eq!(
        sample(&text, &format!("gamay_queries_total{single}")),
        Some(5.0)
    );
    assert_eq!(
        sample(&text, r#"gamay_queries_total{engine="multi-stage"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            &format!("gamay_query_duration_seconds_count{single}")
        ),
        Some(5.0)
    );
    let inf = r#"gamay_query_duration_seconds_bucket{le="+Inf",engine="single-stage"}"#;
    assert_eq!(sample(&text, inf), Some(5.0), "{text}");
    // 190: table missing; 100: the body is not JSON (Pinot's codes).
    assert_eq!(
        sample(&text, r#"gamay_query_errors_total{code="190"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, r#"gamay_query_errors_total{code="100"}"#),
        Some(1.0)
    );
}

#[tokio::test]
async fn table_metadata_counts_rows_segments_and_bytes() {
    let app = TestApp::new();
    with_offline_table(&app).await;
    let (status, meta) = app.get("/tables/stock_transactions/metadata").await;
    assert_eq!(status, StatusCode::OK, "{meta}");
    assert_eq!(meta["numRows"], 0);
    upload(
        &app,
        "tableNameWithType=stock_transactions_OFFLINE",
        "trades.csv",
        csv_rows(120, 0).as_bytes(),
    )
    .await;
    let (status, meta) = app.get("/tables/stock_transactions_OFFLINE/metadata").await;
    assert_eq!(status, StatusCode::OK, "{meta}");
    assert_eq!(meta["tableName"], "stock_transactions_OFFLINE");
    assert_eq!(meta["numRows"], 120);
    assert_eq!(meta["numSegments"], 1);
    assert_eq!(meta["numConsumingSegments"], 0);
    assert!(meta["diskSizeInBytes"].as_u64().unwrap() > 0);
    let (status, body) = app.get("/tables/nowhere/metadata").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = app
        .get("/tables/stock_transactions/metadata?type=REALTIME")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}
