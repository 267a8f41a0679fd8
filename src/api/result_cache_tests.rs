//! The result cache through the query endpoint: a repeated query answers
//! the same from kept answers, segments added or deleted show at once, and
//! `useResultCache=false` runs every segment.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::metrics_tests::{sample, scrape};
use super::tests::{csv_rows, upload, with_offline_table, TestApp};

const SQL: &str = "SELECT symbol, SUM(shares), COUNT(*), MAX(price) FROM stock_transactions \
                   WHERE price > 11 GROUP BY symbol ORDER BY symbol LIMIT 100";

async fn rows(app: &TestApp, options: &str) -> (Value, Value) {
    rows_of(app, SQL, options).await
}

/// The rows and `numDocsScanned` of `sql` with `options`.
async fn rows_of(app: &TestApp, sql: &str, options: &str) -> (Value, Value) {
    let body = json!({ "sql": sql, "queryOptions": options });
    let (status, response) = app.call("POST", "/query/sql", body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["exceptions"], json!([]), "{response}");
    (
        response["resultTable"]["rows"].clone(),
        response["numDocsScanned"].clone(),
    )
}

async fn hits_and_misses(app: &TestApp) -> (f64, f64) {
    let text = scrape(app).await;
    (
        sample(&text, "gamay_result_cache_hits_total").unwrap(),
        sample(&text, "gamay_result_cache_misses_total").unwrap(),
    )
}

async fn load(app: &TestApp, name: &str, csv: String) {
    let query = "tableNameWithType=stock_transactions_OFFLINE";
    let (status, body) = upload(app, query, name, csv.as_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The same rows under other symbols and prices: an answer kept about
/// the first file would be wrong about this one.
fn other_rows(count: usize) -> String {
    csv_rows(count, 0)
        .replace(",S00", ",T00")
        .replace(".50,", ".75,")
}

#[tokio::test]
async fn repeated_queries_answer_alike_and_see_segments_come_and_go() {
    let app = TestApp::new();
    with_offline_table(&app).await;
    load(&app, "a.csv", csv_rows(2000, 0)).await;

    let first = rows(&app, "").await;
    assert_eq!(hits_and_misses(&app).await, (0.0, 1.0));
    let again = rows(&app, "timeoutMs=9000").await;
    assert_eq!(again, first);
    assert_eq!(hits_and_misses(&app).await, (1.0, 1.0));
    // Bypassed: run, neither looked up nor kept.
    assert_eq!(rows(&app, "useResultCache=false").await, first);
    assert_eq!(hits_and_misses(&app).await, (1.0, 1.0));

    // A new segment is run, the old one's answer is reused, and the
    // answer is what running both gives.
    load(&app, "b.csv", other_rows(1500)).await;
    let both = rows(&app, "").await;
    assert_ne!(both.0, first.0);
    assert_eq!(hits_and_misses(&app).await, (2.0, 2.0));
    assert_eq!(rows(&app, "useResultCache=false").await, both);
    assert_eq!(rows(&app, "").await, both);
    assert_eq!(hits_and_misses(&app).await, (4.0, 2.0));

    // Deleting a segment takes its answer out at once.
    let (_, listing) = app.get("/segments/stock_transactions").await;
    let names = listing[0]["OFFLINE"].as_array().unwrap().clone();
    assert_eq!(names.len(), 2);
    for name in &names {
        let uri = format!("/segments/stock_transactions/{}", name.as_str().unwrap());
        let (status, body) = app.call("DELETE", &uri, "").await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(rows(&app, "").await.0, json!([]));
    // Loaded again, with other values, under whatever names: the answer
    // is about the new docs.
    load(&app, "c.csv", other_rows(2000)).await;
    let fresh = rows(&app, "").await;
    assert_eq!(rows(&app, "useResultCache=false").await, fresh);
    assert_ne!(fresh.0, first.0);
    let text = scrape(&app).await;
    let entries = sample(&text, "gamay_result_cache_entries").unwrap();
    let bytes = sample(&text, "gamay_result_cache_bytes").unwrap();
    assert!(entries >= 1.0 && bytes > 0.0, "{text}");
}

#[tokio::test]
async fn a_zero_budget_keeps_nothing() {
    let app = TestApp::with_config(|config| config.workload.result_cache_bytes = 0);
    with_offline_table(&app).await;
    load(&app, "a.csv", csv_rows(2000, 0)).await;
    let first = rows(&app, "").await;
    assert_eq!(rows(&app, "").await, first);
    assert_eq!(hits_and_misses(&app).await, (0.0, 0.0));
}

/// Queries of every shape the single-table engine answers: each answers
/// exactly alike (every cell, every statistic) run, cached, and from the
/// merged set.
#[tokio::test]
async fn every_query_shape_answers_exactly_alike_from_the_cache() {
    let app = TestApp::new();
    with_offline_table(&app).await;
    load(&app, "a.csv", csv_rows(1500, 0)).await;
    load(&app, "b.csv", other_rows(1200)).await;
    load(&app, "c.csv", csv_rows(1100, 0).replace(",NYSE,", ",LSE,")).await;
    let queries = [
        "SELECT COUNT(*), SUM(price), AVG(purchase), MIN(update_at), MAX(shares) FROM stock_transactions",
        "SELECT symbol, SUM(price * shares) AS v FROM stock_transactions GROUP BY symbol ORDER BY v DESC LIMIT 7",
        "SELECT exchange, side, COUNT(*), DISTINCTCOUNT(user_id), PERCENTILE(price, 90) FROM stock_transactions GROUP BY exchange, side ORDER BY exchange, side",
        "SELECT country, DISTINCTCOUNTHLL(symbol), PERCENTILEEST(shares, 50) FROM stock_transactions WHERE side = 'BUY' GROUP BY country ORDER BY country",
        "SELECT update_at - update_at % 3600000 AS h, SUM(purchase) FROM stock_transactions WHERE price BETWEEN 11 AND 20 GROUP BY update_at - update_at % 3600000 ORDER BY h LIMIT 50",
        "SELECT user_id, SUM(purchase) AS s FROM stock_transactions GROUP BY user_id HAVING SUM(purchase) > 100 ORDER BY s DESC, user_id LIMIT 5",
        "SELECT CASE WHEN shares > 50 THEN 'big' ELSE 'small' END AS k, COUNT(*) FROM stock_transactions GROUP BY CASE WHEN shares > 50 THEN 'big' ELSE 'small' END ORDER BY k",
        "SELECT id, symbol, price FROM stock_transactions WHERE exchange = 'LSE' ORDER BY price DESC, id LIMIT 12",
        "SELECT id, symbol FROM stock_transactions WHERE symbol LIKE 'T%' ORDER BY id LIMIT 5 OFFSET 3",
        "SELECT DISTINCT exchange FROM stock_transactions ORDER BY exchange",
    ];
    for sql in queries {
        let ask = |options: &'static str| {
            let body = json!({ "sql": sql, "queryOptions": options });
            let app = &app;
            async move {
                let (status, mut response) = app.call("POST", "/query/sql", body.to_string()).await;
                assert_eq!(status, StatusCode::OK, "{sql}: {response}");
                assert_eq!(response["exceptions"], json!([]), "{sql}: {response}");
                response.as_object_mut().unwrap().remove("timeUsedMs");
                response
            }
        };
        let run = ask("useResultCache=false").await;
        assert_ne!(run["resultTable"]["rows"], json!([]), "{sql}");
        let first = ask("").await;
        let kept = ask("").await;
        let again = ask("").await;
        assert_eq!(first, run, "{sql}");
        assert_eq!(kept, run, "{sql}");
        assert_eq!(again, run, "{sql}");
    }
    let (hits, _) = hits_and_misses(&app).await;
    assert!(hits >= 3.0 * 2.0 * queries.len() as f64 - 6.0, "{hits}");
}

#[tokio::test]
async fn kept_answers_count_their_rows_against_max_rows_scanned() {
    let app = TestApp::new();
    with_offline_table(&app).await;
    let limited = "maxRowsScanned=2500";
    // 1,800 of the 2,000 rows pass the filter: under the limit, and kept.
    load(&app, "a.csv", csv_rows(2000, 0)).await;
    rows(&app, limited).await;
    assert_eq!(hits_and_misses(&app).await, (0.0, 1.0));
    // With a second segment the query reads 3,600 rows: past the limit,
    // every time, whether the first segment's answer is kept or not.
    load(&app, "b.csv", csv_rows(2000, 0)).await;
    for _ in 0..3 {
        let body = json!({ "sql": SQL, "queryOptions": limited });
        let (status, response) = app.call("POST", "/query/sql", body.to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{response}");
        assert_eq!(response["exceptions"][0]["errorCode"], 245, "{response}");
        let message = response["exceptions"][0]["message"].as_str().unwrap();
        assert!(message.contains("maxRowsScanned"), "{message}");
    }
    assert!(hits_and_misses(&app).await.0 >= 3.0);
}

/// A dashboard's time window moves with every request: the sealed
/// segments it covers whole answer from the cache whatever its bounds,
/// and one it cuts through runs, answering what running everything does.
#[tokio::test]
async fn a_moving_window_finds_the_answers_of_the_segments_it_covers() {
    let app = TestApp::new();
    with_offline_table(&app).await;
    load(&app, "a.csv", csv_rows(2000, 0)).await;
    load(&app, "b.csv", other_rows(2000)).await;
    // csv_rows spreads update_at over 1,000 minutes from 1,780,000,000,000.
    let window = |from: i64| {
        format!(
            "SELECT symbol, SUM(shares), COUNT(*) FROM stock_transactions \
             WHERE update_at >= {from} AND side = 'BUY' GROUP BY symbol ORDER BY symbol LIMIT 100"
        )
    };
    let ask = |sql: String, options: &'static str| {
        let app = &app;
        async move { rows_of(app, &sql, options).await }
    };
    let whole = ask(window(1_700_000_000_000), "").await;
    assert_eq!(hits_and_misses(&app).await, (0.0, 2.0));
    for (step, from) in [1_700_000_000_001i64, 1_779_999_999_999, 1_600_000_000_000]
        .into_iter()
        .enumerate()
    {
        assert_eq!(ask(window(from), "").await, whole, "{from}");
        // Every segment's answer came from the cache.
        let hits = hits_and_misses(&app).await.0;
        assert!(hits >= 2.0 * (step + 1) as f64, "{from}: {hits}");
        assert_eq!(hits_and_misses(&app).await.1, 2.0, "{from}");
    }
    // Windows that cut through the segments run them, and answer as the
    // engine does.
    for from in [
        1_780_000_000_000i64 + 300 * 60_000,
        1_780_000_000_000 + 999 * 60_000,
    ] {
        let cut = ask(window(from), "").await;
        assert_ne!(cut, whole);
        assert_eq!(
            cut,
            ask(window(from), "useResultCache=false").await,
            "{from}"
        );
        assert_eq!(cut, ask(window(from), "").await, "{from}");
    }
}
