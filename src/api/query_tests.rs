//! The query endpoints through the router: Pinot's request and response
//! shapes, error codes with matching statuses, and the scenario's query.

use axum::http::StatusCode;
use serde_json::json;

use super::tests::TestApp;

/// The scenario document's query, exactly as written (with its `;`).
const SCENARIO_QUERY: &str = "SELECT symbol, SUM(shares) AS total_shares\nFROM stock_transactions\nWHERE update_at >= 1680000000000\nGROUP BY symbol\nORDER BY total_shares DESC\nLIMIT 10;";

fn error_code(body: &serde_json::Value) -> i64 {
    body["exceptions"][0]["errorCode"].as_i64().unwrap_or(-1)
}

#[tokio::test]
async fn scenario_query_runs_on_an_empty_realtime_table() {
    let app = TestApp::new().with_example().await;
    let body = json!({ "sql": SCENARIO_QUERY, "queryOptions": "timeoutMs=500;useStarTree=false", "trace": false });
    let (status, response) = app.call("POST", "/query/sql", body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["exceptions"], json!([]));
    assert_eq!(
        response["resultTable"]["dataSchema"],
        json!({"columnNames": ["symbol", "total_shares"], "columnDataTypes": ["STRING", "DOUBLE"]})
    );
    assert_eq!(response["resultTable"]["rows"], json!([]));
    for field in [
        "numServersQueried",
        "numServersResponded",
        "numSegmentsQueried",
        "numSegmentsProcessed",
        "numSegmentsMatched",
        "numConsumingSegmentsQueried",
        "minConsumingFreshnessTimeMs",
        "numDocsScanned",
        "numEntriesScannedInFilter",
        "numEntriesScannedPostFilter",
        "numGroupsLimitReached",
        "totalDocs",
        "timeUsedMs",
        "partialResult",
    ] {
        assert!(response.get(field).is_some(), "missing {field}: {response}");
    }
    // A count without GROUP BY has one row even with no segments.
    let (status, response) = app
        .get("/query/sql?sql=SELECT%20COUNT(*)%20FROM%20stock_transactions")
        .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["resultTable"]["rows"], json!([[0]]));
    assert_eq!(
        response["resultTable"]["dataSchema"]["columnDataTypes"],
        json!(["LONG"])
    );
}

#[tokio::test]
async fn errors_carry_pinot_codes_and_statuses() {
    let app = TestApp::new().with_example().await;
    let cases = [
        ("{not json", StatusCode::BAD_REQUEST, 100, "not valid JSON"),
        (
            "{\"query\": \"SELECT 1\"}",
            StatusCode::BAD_REQUEST,
            100,
            "missing the query string field 'sql'",
        ),
        (
            r#"{"sql": "SELEKT 1"}"#,
            StatusCode::BAD_REQUEST,
            150,
            "SELEKT",
        ),
        (
            r#"{"sql": "SELECT COUNT(*) FROM stock_transaction"}"#,
            StatusCode::NOT_FOUND,
            190,
            "did you mean `stock_transactions`?",
        ),
        (
            r#"{"sql": "SELECT sharez FROM stock_transactions"}"#,
            StatusCode::BAD_REQUEST,
            710,
            "unknown column `sharez` in table stock_transactions; did you mean `shares`?",
        ),
        (
            r#"{"sql": "SELECT symbol, COUNT(*) FROM stock_transactions"}"#,
            StatusCode::BAD_REQUEST,
            700,
            "GROUP BY",
        ),
        (
            r#"{"sql": "SELECT COUNT(*) FROM stock_transactions", "queryOptions": "timeoutMs=soon"}"#,
            StatusCode::BAD_REQUEST,
            700,
            "timeoutMs=soon",
        ),
        (
            r#"{"sql": "SET timeoutMs 5; SELECT COUNT(*) FROM stock_transactions"}"#,
            StatusCode::BAD_REQUEST,
            150,
            "key = value",
        ),
    ];
    for (body, status, code, needle) in cases {
        let (got, response) = app.call("POST", "/query/sql", body).await;
        assert_eq!(got, status, "{body}: {response}");
        assert_eq!(error_code(&response), code, "{body}: {response}");
        let message = response["exceptions"][0]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(
            message.contains(needle),
            "{body}: expected `{needle}` in {message}"
        );
    }
    let (status, response) = app.get("/query/sql").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{response}");
    assert_eq!(error_code(&response), 100);
}

#[tokio::test]
async fn set_options_explain_and_multi_stage() {
    let app = TestApp::new().with_example().await;
    let sql = "SET timeoutMs = 2000; SET useStarTree = false; EXPLAIN PLAN FOR SELECT symbol, COUNT(*) FROM stock_transactions WHERE symbol IN ('A', 'B') AND shares > 10 AND id = 7 GROUP BY symbol";
    let (status, response) = app
        .call("POST", "/query/sql", json!({ "sql": sql }).to_string())
        .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(
        response["resultTable"]["dataSchema"]["columnNames"],
        json!(["Operator", "Operator_Id", "Parent_Id"])
    );
    let rows = response["resultTable"]["rows"].as_array().unwrap();
    assert_eq!(rows[0], json!(["BROKER_REDUCE(limit:10)", 0, -1]));
    let operators: Vec<&str> = rows
        .iter()
        .map(|r| r[0].as_str().unwrap_or_default())
        .collect();
    assert!(
        operators
            .iter()
            .any(|o| o.starts_with("GROUP_BY(groupKeys:symbol")),
        "{operators:?}"
    );
    // The scenario's table has an inverted index on `id` only.
    for expected in [
        "FILTER_AND",
        "FILTER_FULL_SCAN(operator:IN,predicate:symbol IN ('A','B'))",
        "FILTER_FULL_SCAN(operator:RANGE,predicate:shares > '10')",
        "FILTER_INVERTED_INDEX(operator:EQ,predicate:id = '7')",
    ] {
        assert!(operators.contains(&expected), "{expected} in {operators:?}");
    }
    // Parent ids point at earlier operators.
    for row in rows.iter().skip(1) {
        assert!(row[2].as_i64().unwrap() < row[1].as_i64().unwrap(), "{row}");
    }
    // POST /query runs the multi-stage engine, joins included.
    let join = "SELECT a.symbol, COUNT(*) AS n FROM stock_transactions a JOIN stock_transactions b ON a.id = b.id GROUP BY a.symbol";
    let (status, response) = app
        .call("POST", "/query", json!({ "sql": join }).to_string())
        .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(
        response["resultTable"]["dataSchema"]["columnNames"],
        json!(["symbol", "n"])
    );
    let (status, response) = app
        .call("POST", "/query/sql", json!({ "sql": join }).to_string())
        .await;
    assert_eq!(status, StatusCode::OK, "{response}");
}

#[tokio::test]
async fn repeated_queries_are_planned_anew_after_the_schema_changes() {
    let app = TestApp::new().with_example().await;
    let columns = |response: &serde_json::Value| {
        response["resultTable"]["dataSchema"]["columnNames"]
            .as_array()
            .unwrap()
            .len()
    };
    let sql = json!({ "sql": "SELECT * FROM stock_transactions LIMIT 1" }).to_string();
    let (status, before) = app.call("POST", "/query/sql", sql.clone()).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    let (_, again) = app.call("POST", "/query/sql", sql.clone()).await;
    assert_eq!(columns(&again), columns(&before));

    let mut schema = super::tests::example_schema();
    schema["dimensionFieldSpecs"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "venue", "dataType": "STRING"}));
    let (status, body) = app
        .call("PUT", "/schemas/stock_transactions", schema.to_string())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, after) = app.call("POST", "/query/sql", sql.clone()).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(columns(&after), columns(&before) + 1, "{after}");

    let (status, body) = app
        .call("DELETE", "/tables/stock_transactions", String::new())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, gone) = app.call("POST", "/query/sql", sql).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{gone}");
}

/// `gamay_queries_running` as `GET /metrics` shows it.
async fn queries_running(app: &TestApp) -> u64 {
    let (status, body) = app.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let text = body.as_str().unwrap_or_default().to_string();
    text.lines()
        .find_map(|line| line.strip_prefix("gamay_queries_running "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no gamay_queries_running in {text}"))
}

/// Waits (generously: the state change is what counts) until no query has
/// work in flight.
async fn until_no_query_runs(app: &TestApp, what: &str) {
    let started = std::time::Instant::now();
    while queries_running(app).await != 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{what}: its work is still running"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// `rows` rows of the benchmark's table, in one segment.
async fn with_rows(app: &TestApp, rows: usize) {
    super::tests::with_offline_table(app).await;
    let (status, body) = super::tests::upload(
        app,
        "tableNameWithType=stock_transactions_OFFLINE",
        "rows.csv",
        super::tests::csv_rows(rows, 0).as_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// 3,000³ rows to filter: minutes of work unless it is stopped (or its
/// joins' output is limited).
const ENDLESS_JOIN: &str = "SELECT COUNT(*) FROM stock_transactions a, stock_transactions b, stock_transactions c WHERE a.price + b.price + c.price > 0";

#[tokio::test]
async fn a_multi_stage_query_stops_at_its_timeout_and_when_its_caller_goes_away() {
    let app = TestApp::new();
    with_rows(&app, 3000).await;
    assert_eq!(queries_running(&app).await, 0);

    let body = json!({ "sql": ENDLESS_JOIN, "queryOptions": "timeoutMs=300;maxRowsInJoin=1000000000000000" });
    let (status, response) = app.call("POST", "/query", body.to_string()).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{response}");
    assert_eq!(error_code(&response), 250);
    until_no_query_runs(&app, "a timed-out join").await;

    // The request future is dropped mid-query, as when a client disconnects.
    let body = json!({ "sql": ENDLESS_JOIN, "queryOptions": "timeoutMs=3600000;maxRowsInJoin=1000000000000000" });
    let call = app.call("POST", "/query", body.to_string());
    let dropped = tokio::time::timeout(std::time::Duration::from_millis(500), call).await;
    assert!(dropped.is_err(), "the join answered: {dropped:?}");
    until_no_query_runs(&app, "a join whose caller went away").await;
}

#[tokio::test]
async fn limits_stop_queries_with_an_error_naming_the_option_that_raises_them() {
    let app = TestApp::new();
    with_rows(&app, 2000).await;
    let cases = [
        // (endpoint, sql, queryOptions, option named)
        (
            "/query/sql",
            "SELECT id FROM stock_transactions LIMIT 1000",
            "maxResultRows=100",
            "maxResultRows",
        ),
        (
            "/query/sql",
            "SELECT id, price FROM stock_transactions ORDER BY price DESC LIMIT 1000",
            "maxResultRows=100",
            "maxResultRows",
        ),
        (
            "/query/sql",
            "SELECT symbol, COUNT(*) FROM stock_transactions GROUP BY symbol LIMIT 100",
            "maxResultRows=5",
            "maxResultRows",
        ),
        (
            "/query",
            "SELECT id FROM stock_transactions LIMIT 1000",
            "maxResultRows=100",
            "maxResultRows",
        ),
        (
            "/query",
            "SELECT COUNT(*) FROM stock_transactions a JOIN stock_transactions b ON a.symbol = b.symbol",
            "maxRowsInJoin=1000",
            "maxRowsInJoin",
        ),
        (
            "/query/sql",
            "SELECT COUNT(*) FROM stock_transactions WHERE price > 0",
            "maxRowsScanned=1000",
            "maxRowsScanned",
        ),
        (
            "/query",
            "SELECT COUNT(*) FROM stock_transactions a JOIN stock_transactions b ON a.id = b.id",
            "maxRowsScanned=1000",
            "maxRowsScanned",
        ),
        // The single-table engine's group-by, DISTINCT and kept rows.
        (
            "/query/sql",
            "SELECT id, COUNT(*) FROM stock_transactions GROUP BY id LIMIT 5",
            "maxQueryMemoryBytes=10000",
            "maxQueryMemoryBytes",
        ),
        (
            "/query/sql",
            "SELECT id + 1, SUM(price) FROM stock_transactions GROUP BY id + 1 LIMIT 5",
            "maxQueryMemoryBytes=10000",
            "maxQueryMemoryBytes",
        ),
        (
            "/query/sql",
            "SELECT DISTINCT id FROM stock_transactions LIMIT 5",
            "maxQueryMemoryBytes=10000",
            "maxQueryMemoryBytes",
        ),
        (
            "/query/sql",
            "SELECT COUNT(DISTINCT id * 2), PERCENTILE(price, 50) FROM stock_transactions",
            "maxQueryMemoryBytes=10000",
            "maxQueryMemoryBytes",
        ),
        (
            "/query/sql",
            "SELECT id FROM stock_transactions ORDER BY price LIMIT 10 OFFSET 1900",
            "maxQueryMemoryBytes=10000",
            "maxQueryMemoryBytes",
        ),
        // DataFusion's memory pool: a hash join's table, collected results.
        (
            "/query",
            "SELECT a.id, b.id FROM stock_transactions a JOIN stock_transactions b ON a.id = b.id ORDER BY a.price LIMIT 5",
            "maxQueryMemoryBytes=20000",
            "maxQueryMemoryBytes",
        ),
        (
            "/query",
            "SELECT * FROM stock_transactions LIMIT 2000",
            "maxQueryMemoryBytes=20000",
            "maxQueryMemoryBytes",
        ),
        // Results DataFusion allocates without its pool.
        (
            "/query",
            "SELECT lpad('x', 200000)",
            "maxQueryMemoryBytes=1000000",
            "maxQueryMemoryBytes",
        ),
        (
            "/query",
            "SELECT MAX(LENGTH(repeat(symbol, 40))) FROM stock_transactions",
            "maxQueryMemoryBytes=100000",
            "maxQueryMemoryBytes",
        ),
    ];
    for (endpoint, sql, options, option) in cases {
        let body = json!({ "sql": sql, "queryOptions": options });
        let (status, response) = app.call("POST", endpoint, body.to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{sql}: {response}");
        assert_eq!(error_code(&response), 245, "{sql}: {response}");
        let message = response["exceptions"][0]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("SET {option} = ")),
            "{sql}: {message}"
        );
        // Within the default limits the same query answers.
        let body = json!({ "sql": sql });
        let (status, response) = app.call("POST", endpoint, body.to_string()).await;
        assert_eq!(status, StatusCode::OK, "{sql}: {response}");
    }
    // Past the default limit, before anything is allocated.
    for sql in [
        "SELECT lpad('x', 2000000000)",
        "SELECT rpad(symbol, 2000000000, 'é') FROM stock_transactions",
        "SELECT repeat(repeat(symbol, 100000), 100000) FROM stock_transactions",
        "SELECT concat(repeat('x', 1000000), repeat('y', 1000000))",
        "SELECT cardinality(array_repeat(1, 2000000000))",
        // `||` doubles its input at each level of nesting.
        "WITH a AS (SELECT repeat('x', 1000000) AS s), b AS (SELECT s || s AS s FROM a), \
         c AS (SELECT s || s AS s FROM b) SELECT length(s || s || s || s || s || s) FROM c",
        "SELECT cardinality(array_repeat(1, 20000000) || array_repeat(2, 20000000))",
    ] {
        let (status, response) = app
            .call("POST", "/query", json!({ "sql": sql }).to_string())
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{sql}: {response}");
        let message = response["exceptions"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("more memory than its limit of 1073741824 bytes: ")
                && message.contains(" would produce "),
            "{sql}: {message}"
        );
    }
    until_no_query_runs(&app, "queries stopped by their limits").await;
}

/// `term` `count` times (`#` numbered from 0), joined by `op`.
fn chain(count: usize, term: &str, op: &str) -> String {
    let terms: Vec<String> = (0..count)
        .map(|i| term.replace('#', &i.to_string()))
        .collect();
    terms.join(op)
}

/// An app whose `stock_transactions` holds `csv_rows(500)`: ids 0..500.
async fn app_with_rows() -> TestApp {
    let app = TestApp::with_body_limit(8 << 20);
    super::tests::with_offline_table(&app).await;
    let (status, body) = super::tests::upload(
        &app,
        "tableNameWithType=stock_transactions_OFFLINE",
        "trades.csv",
        super::tests::csv_rows(500, 0).as_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app
}

/// The single value `sql` answers on `path`, or the failed response.
async fn scalar(
    app: &TestApp,
    path: &str,
    sql: &str,
) -> Result<serde_json::Value, (StatusCode, serde_json::Value)> {
    let (status, response) = app
        .call("POST", path, json!({ "sql": sql }).to_string())
        .await;
    if status != StatusCode::OK {
        return Err((status, response));
    }
    assert_eq!(response["exceptions"], json!([]), "{response}");
    Ok(response["resultTable"]["rows"][0][0].clone())
}

#[tokio::test]
async fn deep_expressions_are_refused_and_long_conditions_answer() {
    let app = app_with_rows().await;
    // 1,900 terms (3.8 KB) once overflowed the planner's stack.
    let plus = format!("SELECT {} FROM stock_transactions", chain(1900, "1", "+"));
    for path in ["/query/sql", "/query"] {
        let (status, response) = scalar(&app, path, &plus).await.unwrap_err();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{response}");
        assert_eq!(error_code(&response), 700, "{response}");
        let message = response["exceptions"][0]["message"].as_str().unwrap();
        assert!(message.contains("more than the limit of 500"), "{message}");
    }
    // Long OR chains, as BI tools send them, on both engines.
    let equalities = chain(1750, "id = #", " OR ");
    let mixed = chain(1750, "(id = # AND shares > 0)", " OR ");
    for condition in [&equalities, &mixed] {
        let sql = format!("SELECT COUNT(*) FROM stock_transactions WHERE {condition}");
        for (path, prefix) in [
            ("/query/sql", ""),
            ("/query", ""),
            ("/query/sql", "SET useMultistageEngine=true; "),
        ] {
            let count = scalar(&app, path, &format!("{prefix}{sql}")).await;
            assert_eq!(count.unwrap(), json!(500), "{path} {prefix}");
        }
    }
    // Nesting just under the limit runs on DataFusion's 2 MiB workers too.
    let deep = format!(
        "SELECT COUNT(*) FROM stock_transactions WHERE price{} > 20",
        chain(480, "", " + 0")
    );
    let single = scalar(&app, "/query/sql", &deep).await.unwrap();
    let multi = scalar(&app, "/query", &deep).await.unwrap();
    let plain = scalar(
        &app,
        "/query/sql",
        "SELECT COUNT(*) FROM stock_transactions WHERE price > 20",
    )
    .await
    .unwrap();
    assert_eq!(single, plain);
    assert_eq!(multi, plain);
    // UNION chains count too; up to the limit they run on DataFusion.
    let unions = |n: usize| {
        format!(
            "SELECT COUNT(*) FROM ({}) AS u",
            chain(
                n,
                "SELECT id FROM stock_transactions WHERE id = #",
                " UNION ALL "
            )
        )
    };
    assert_eq!(
        scalar(&app, "/query", &unions(100)).await.unwrap(),
        json!(100)
    );
    let (status, response) = scalar(&app, "/query", &unions(1000)).await.unwrap_err();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{response}");
}

#[tokio::test]
async fn in_lists_of_100000_items_answer_on_both_engines() {
    let app = app_with_rows().await;
    let items = chain(100_000, "#", ",");
    let sql = format!("SELECT COUNT(*) FROM stock_transactions WHERE id IN ({items})");
    let not_in = sql.replace(" IN (", " NOT IN (");
    for path in ["/query/sql", "/query"] {
        assert_eq!(
            scalar(&app, path, &sql).await.unwrap(),
            json!(500),
            "{path}"
        );
        assert_eq!(
            scalar(&app, path, &not_in).await.unwrap(),
            json!(0),
            "{path}"
        );
        let longer = sql.replace("IN (", "IN (-1,");
        let (status, response) = scalar(&app, path, &longer).await.unwrap_err();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{response}");
        assert_eq!(error_code(&response), 700, "{response}");
        let message = response["exceptions"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("100001 items, more than the limit of 100000"),
            "{message}"
        );
        let raised = format!("SET maxInListItems = 200000; {longer}");
        assert_eq!(
            scalar(&app, path, &raised).await.unwrap(),
            json!(500),
            "{path}"
        );
    }
}

#[tokio::test]
async fn input_errors_are_4xx_on_both_engines() {
    let app = app_with_rows().await;
    let cases = [
        (
            "/query/sql",
            "SELECT shares % 0 FROM stock_transactions",
            200,
            "division by zero in mod(shares,'0')",
        ),
        (
            "/query/sql",
            "SELECT MOD(shares, 0) FROM stock_transactions",
            200,
            "division by zero in mod(",
        ),
        (
            "/query/sql",
            "SELECT id * 9223372036854775807 FROM stock_transactions WHERE id > 1",
            200,
            "is outside the LONG range; cast an operand to DOUBLE",
        ),
        (
            "/query/sql",
            "SELECT PERCENTILE150(price) FROM stock_transactions",
            700,
            "between 0 and 100",
        ),
        (
            "/query/sql",
            "SELECT PERCENTILEEST(price, 101) FROM stock_transactions",
            700,
            "between 0 and 100",
        ),
        (
            "/query/sql",
            "SELECT COUNT(*) FROM stock_transactions WHERE REGEXP_LIKE(symbol, '(a{1000}){1000}')",
            700,
            "compiles to more than the limit of 1024 KiB",
        ),
        ("/query", "SELECT 1 / 0", 200, "Divide by zero"),
        (
            "/query",
            "SELECT shares / (shares - shares) FROM stock_transactions",
            200,
            "Divide by zero",
        ),
        (
            "/query",
            "SELECT shares % (shares - shares) FROM stock_transactions",
            200,
            "Divide by zero",
        ),
        (
            "/query",
            "SELECT CAST(price * 1e20 AS INT) FROM stock_transactions",
            200,
            "Cast error",
        ),
        (
            "/query",
            "SELECT COUNT(*) FROM stock_transactions WHERE regexp_like(symbol, '(')",
            200,
            "regex",
        ),
        // Argument types that fit no signature, which DataFusion's type
        // coercion calls internal errors.
        (
            "/query",
            "SELECT a.price FROM stock_transactions a FULL JOIN stock_transactions b ON a.id = b.id ORDER BY round(b.price, b.price)",
            700,
            "'round' failed to match any signature",
        ),
        (
            "/query",
            "SELECT COUNT(*) FROM stock_transactions a JOIN stock_transactions b ON a.id = b.id AND regexp_like(a.price, 'x')",
            700,
            "regexp_like",
        ),
        (
            "/query",
            "SELECT COUNT(*) FROM stock_transactions WHERE shares BETWEEN X'1F' AND 2",
            700,
            "BETWEEN",
        ),
        // Nothing to select: a parse error (DataFusion panicked planning
        // such a subquery).
        (
            "/query",
            "SELECT COUNT(*) FROM stock_transactions WHERE price > 1 OR (SELECT FROM stock_transactions)",
            150,
            "selects nothing",
        ),
        (
            "/query/sql",
            "SELECT FROM stock_transactions",
            150,
            "selects nothing",
        ),
        (
            "/query",
            "SELECT COUNT(*) FROM stock_transaction",
            190,
            "stock_transaction",
        ),
        (
            "/query",
            "SELECT sharez FROM stock_transactions",
            710,
            "sharez",
        ),
    ];
    for (path, sql, code, needle) in cases {
        let (status, response) = scalar(&app, path, sql).await.unwrap_err();
        let expected = if code == 190 {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_eq!(status, expected, "{sql}: {response}");
        assert_eq!(error_code(&response), code as i64, "{sql}: {response}");
        let message = response["exceptions"][0]["message"].as_str().unwrap();
        assert!(
            message.contains(needle),
            "{sql}: expected `{needle}` in {message}"
        );
    }
    // Division of numbers is DOUBLE, as in Pinot: no error, Infinity.
    let infinity = scalar(
        &app,
        "/query/sql",
        "SELECT MAX(price) / 0 FROM stock_transactions",
    )
    .await;
    assert_eq!(infinity.unwrap(), json!("Infinity"));
}

#[tokio::test]
async fn the_server_sets_the_default_memory_limit_and_a_query_raises_it() {
    let app = TestApp::with_config(|config| config.max_query_memory_bytes = 20_000);
    with_rows(&app, 2000).await;
    let sql = "SELECT * FROM stock_transactions LIMIT 2000";
    let (status, response) = app
        .call("POST", "/query", json!({ "sql": sql }).to_string())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{response}");
    let message = response["exceptions"][0]["message"].as_str().unwrap();
    assert!(message.contains("its limit of 20000 bytes"), "{message}");
    let raised = format!("SET maxQueryMemoryBytes = 100000000; {sql}");
    let (status, response) = app
        .call("POST", "/query", json!({ "sql": raised }).to_string())
        .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["numRowsResultSet"], 2000);
}
