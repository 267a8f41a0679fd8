//! Router tests: every endpoint through the real middleware stack with
//! `router(state).oneshot(request)`.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::*;

const SCHEMA: &str = include_str!("../../schemas/stock_transactions.json");
const TABLE: &str = include_str!("../../tables/stock_transactions_realtime.json");

pub(super) struct TestApp {
    _dir: tempfile::TempDir,
    state: AppState,
}

impl TestApp {
    pub(super) fn new() -> TestApp {
        TestApp::with_config(|_| {})
    }

    pub(super) fn with_body_limit(max_body_bytes: usize) -> TestApp {
        TestApp::with_config(|config| config.max_body_bytes = max_body_bytes)
    }

    /// An app whose config `adjust` changes after the test defaults are set.
    pub(super) fn with_config(adjust: impl FnOnce(&mut ServerConfig)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(dir.path());
        config.max_body_bytes = 64 * 1024;
        config.max_upload_bytes = 256 * 1024;
        config.broker_probe_timeout = Duration::from_millis(500);
        // Tests run side by side in one process: a multi-stage query of one
        // must not wait on another's single-table work (the background
        // lane's priority is tested in `query::workload`).
        config.workload.background_nice = 0;
        adjust(&mut config);
        let state = AppState::new(App::open(config).unwrap());
        TestApp { _dir: dir, state }
    }

    pub(super) fn state(&self) -> &AppState {
        &self.state
    }

    pub(super) async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        read(self.send_raw(request).await).await
    }

    pub(super) async fn send_raw(&self, request: Request<Body>) -> Response {
        router(self.state.clone()).oneshot(request).await.unwrap()
    }

    pub(super) async fn call(
        &self,
        method: &str,
        uri: &str,
        body: impl Into<String>,
    ) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.into()))
            .unwrap();
        self.send(request).await
    }

    pub(super) async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.call("GET", uri, "").await
    }

    /// POSTs the scenario's schema and table.
    pub(super) async fn with_example(self) -> TestApp {
        assert_eq!(
            self.call("POST", "/schemas", SCHEMA).await.0,
            StatusCode::OK
        );
        assert_eq!(self.call("POST", "/tables", TABLE).await.0, StatusCode::OK);
        self
    }
}

/// The status and JSON (or text) body of a response.
pub(super) async fn read(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
}

/// Something that sends requests to the app: the app itself, or the app
/// with some principal's credentials.
pub(super) trait Client {
    async fn call(&self, method: &str, uri: &str, body: String) -> (StatusCode, Value);
}

impl Client for TestApp {
    async fn call(&self, method: &str, uri: &str, body: String) -> (StatusCode, Value) {
        TestApp::call(self, method, uri, body).await
    }
}

fn example_table() -> Value {
    serde_json::from_str(TABLE).unwrap()
}

pub(super) fn example_schema() -> Value {
    serde_json::from_str(SCHEMA).unwrap()
}

/// Asserts a 4xx with Pinot's error shape whose message contains every needle.
fn assert_error(response: &(StatusCode, Value), status: StatusCode, needles: &[&str]) {
    assert_eq!(response.0, status, "{}", response.1);
    assert_eq!(response.1["code"], status.as_u16(), "{}", response.1);
    let message = response.1["error"].as_str().unwrap_or_default();
    for needle in needles {
        assert!(
            message.contains(needle),
            "expected `{needle}` in: {message}"
        );
    }
}

#[tokio::test]
async fn health_is_ok() {
    let app = TestApp::new();
    assert_eq!(app.get("/health").await, (StatusCode::OK, json!("OK")));
}

#[tokio::test]
async fn example_files_post_with_pinot_success_shapes() {
    let app = TestApp::new();
    let response = app.call("POST", "/schemas", SCHEMA).await;
    assert_eq!(
        response,
        (
            StatusCode::OK,
            json!({"unrecognizedProperties": {}, "status": "stock_transactions successfully added"})
        )
    );
    let response = app.call("POST", "/tables", TABLE).await;
    assert_eq!(response.0, StatusCode::OK);
    assert_eq!(
        response.1["status"],
        "Table stock_transactions_REALTIME successfully added"
    );
    assert_eq!(response.1["unrecognizedProperties"], json!({}));

    assert_eq!(app.get("/schemas").await.1, json!(["stock_transactions"]));
    assert_eq!(
        app.get("/schemas/stock_transactions").await.1,
        example_schema()
    );
    assert_eq!(
        app.get("/tables").await.1,
        json!({"tables": ["stock_transactions"]})
    );
    assert_eq!(
        app.get("/tables?type=offline").await.1,
        json!({"tables": []})
    );
    let (status, body) = app.get("/tables/stock_transactions").await;
    assert_eq!(status, StatusCode::OK);
    let mut expected = example_table();
    expected["tableName"] = json!("stock_transactions_REALTIME");
    assert_eq!(body, json!({"REALTIME": expected}));
    assert_eq!(
        app.get("/tables/stock_transactions_REALTIME").await.1,
        json!({"REALTIME": expected})
    );
    assert_error(
        &app.get("/tables/stock_transactions?type=OFFLINE").await,
        StatusCode::NOT_FOUND,
        &["does not exist"],
    );
}

#[tokio::test]
async fn unreachable_brokers_give_a_warning_not_a_failure() {
    let app = TestApp::new();
    app.call("POST", "/schemas", SCHEMA).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut table = example_table();
    table["ingestionConfig"]["streamIngestionConfig"]["streamConfigMaps"][0]
        ["stream.kafka.broker.list"] = json!(closed.to_string());
    let (status, body) = app.call("POST", "/tables", table.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let warning = body["warnings"][0].as_str().unwrap();
    assert!(warning.contains(&closed.to_string()), "{warning}");
    assert!(warning.contains("consumption will retry"), "{warning}");

    // A listening broker gives no warning.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open = listener.local_addr().unwrap();
    table["ingestionConfig"]["streamIngestionConfig"]["streamConfigMaps"][0]
        ["stream.kafka.broker.list"] = json!(open.to_string());
    let (status, body) = app
        .call("PUT", "/tables/stock_transactions", table.to_string())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["status"],
        "Table config updated for stock_transactions_REALTIME"
    );
    assert!(body.get("warnings").is_none(), "{body}");
}

/// Writing the OFFLINE table of a name leaves the REALTIME table's
/// consumers running: restarting them stalled the request until its
/// unreachable brokers timed out (found by the config fuzzing).
#[tokio::test]
async fn the_offline_table_of_a_realtime_name_leaves_its_consumers_alone() {
    let app = TestApp::new();
    app.call("POST", "/schemas", SCHEMA).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut realtime = example_table();
    realtime["ingestionConfig"]["streamIngestionConfig"]["streamConfigMaps"][0]
        ["stream.kafka.broker.list"] = json!(closed.to_string());
    let (status, body) = app.call("POST", "/tables", realtime.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let consumers = || {
        app.state()
            .realtime
            .shared("stock_transactions_REALTIME")
            .unwrap()
    };
    let before = consumers();
    let mut offline = example_table();
    offline["tableType"] = json!("OFFLINE");
    offline.as_object_mut().unwrap().remove("ingestionConfig");
    let (status, body) = app.call("POST", "/tables", offline.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .call("PUT", "/tables/stock_transactions", offline.to_string())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(std::sync::Arc::ptr_eq(&before, &consumers()));
}

#[tokio::test]
async fn duplicates_conflict() {
    let app = TestApp::new().with_example().await;
    assert_error(
        &app.call("POST", "/schemas?override=false", SCHEMA).await,
        StatusCode::CONFLICT,
        &["already exists"],
    );
    // override defaults to true, as in Pinot: the same schema again is an update.
    assert_eq!(app.call("POST", "/schemas", SCHEMA).await.0, StatusCode::OK);
    assert_error(
        &app.call("POST", "/tables", TABLE).await,
        StatusCode::CONFLICT,
        &["stock_transactions_REALTIME", "already exists"],
    );
    assert_error(
        &app.call("DELETE", "/schemas/stock_transactions", "").await,
        StatusCode::CONFLICT,
        &["table `stock_transactions_REALTIME` uses it"],
    );
}

#[tokio::test]
async fn table_without_schema_is_400() {
    let app = TestApp::new();
    assert_error(
        &app.call("POST", "/tables", TABLE).await,
        StatusCode::BAD_REQUEST,
        &["needs schema `stock_transactions`, which does not exist"],
    );
}

#[tokio::test]
async fn invalid_configs_name_the_offending_field() {
    let app = TestApp::new().with_example().await;
    let mut bad_type = example_schema();
    bad_type["schemaName"] = json!("other");
    bad_type["metricFieldSpecs"][0]["dataType"] = json!("INTEGER");
    assert_error(
        &app.call("POST", "/schemas", bad_type.to_string()).await,
        StatusCode::BAD_REQUEST,
        &[
            "metricFieldSpecs[0].dataType",
            "unknown dataType `INTEGER`",
            "INT, LONG",
        ],
    );

    let mut bad_format = example_schema();
    bad_format["dateTimeFieldSpecs"][0]["format"] = json!("1:MILLISECONDS:EPOCHS");
    assert_error(
        &app.call("POST", "/schemas/validate", bad_format.to_string())
            .await,
        StatusCode::BAD_REQUEST,
        &["dateTimeFieldSpecs[0].format", "EPOCHS"],
    );

    let mut dup = example_schema();
    dup["metricFieldSpecs"][1]["name"] = json!("shares");
    assert_error(
        &app.call("PUT", "/schemas/stock_transactions", dup.to_string())
            .await,
        StatusCode::BAD_REQUEST,
        &["metricFieldSpecs[1].name", "`shares` is declared twice"],
    );

    let mut bad_name = example_schema();
    bad_name["dimensionFieldSpecs"][0]["name"] = json!("id;drop");
    assert_error(
        &app.call("PUT", "/schemas/stock_transactions", bad_name.to_string())
            .await,
        StatusCode::BAD_REQUEST,
        &["dimensionFieldSpecs[0].name", "contains ';'"],
    );

    let mut table = example_table();
    table["tableIndexConfig"]["invertedIndexColumns"] = json!(["sharez"]);
    table["tableIndexConfig"]["starTreeIndexConfigs"] =
        json!([{"dimensionsSplitOrder": ["symbl"], "functionColumnPairs": ["COUNT__*"]}]);
    table["segmentsConfig"]["timeColumnName"] = json!("ts");
    let response = app
        .call("POST", "/tables/validate", table.to_string())
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, &[
        "tableIndexConfig.invertedIndexColumns[0]: column `sharez` is not in schema `stock_transactions`; did you mean `shares`?",
        "starTreeIndexConfigs[0].dimensionsSplitOrder[0]: column `symbl`",
        "segmentsConfig.timeColumnName: column `ts`",
    ]);

    let mut no_topic = example_table();
    no_topic["ingestionConfig"]["streamIngestionConfig"]["streamConfigMaps"][0] = json!({"streamType": "kafka", "stream.kafka.decoder.class.name": "org.apache.pinot.plugin.inputformat.csv.CSVMessageDecoder"});
    assert_error(
        &app.call("PUT", "/tables/stock_transactions", no_topic.to_string())
            .await,
        StatusCode::BAD_REQUEST,
        &[
            "stream.kafka.topic.name",
            "stream.kafka.broker.list",
            "CSVMessageDecoder` is not supported",
        ],
    );

    let mut renamed = example_table();
    renamed["tableName"] = json!("elsewhere");
    assert_error(
        &app.call("PUT", "/tables/stock_transactions", renamed.to_string())
            .await,
        StatusCode::BAD_REQUEST,
        &["needs schema `elsewhere`"],
    );
}

#[tokio::test]
async fn malformed_bodies_are_rejected_clearly() {
    let app = TestApp::new();
    let truncated = &SCHEMA[..SCHEMA.len() / 2];
    assert_error(
        &app.call("POST", "/schemas", truncated).await,
        StatusCode::BAD_REQUEST,
        &["invalid schema JSON", "EOF while parsing"],
    );
    assert_error(
        &app.call("POST", "/schemas", "").await,
        StatusCode::BAD_REQUEST,
        &["body is empty"],
    );
    assert_error(
        &app.call("POST", "/tables", "[1, 2]").await,
        StatusCode::BAD_REQUEST,
        &["expected a JSON object"],
    );

    let deep = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
    assert_error(
        &app.call("POST", "/schemas", deep).await,
        StatusCode::BAD_REQUEST,
        &["nesting deeper than 32"],
    );

    let huge = format!(
        r#"{{"schemaName": "s", "pad": "{}"}}"#,
        "x".repeat(100 * 1024)
    );
    assert_error(
        &app.call("POST", "/schemas", huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        &["larger than the limit of 65536 bytes"],
    );

    assert_error(
        &app.call("POST", "/schemas?override=maybe", SCHEMA).await,
        StatusCode::BAD_REQUEST,
        &["`override` must be true or false"],
    );
    assert_error(
        &app.get("/tables?type=hybrid").await,
        StatusCode::BAD_REQUEST,
        &["expected OFFLINE or REALTIME"],
    );
    assert_error(
        &app.get("/nope").await,
        StatusCode::NOT_FOUND,
        &["no endpoint GET /nope"],
    );
    assert_error(
        &app.call("PATCH", "/schemas", "").await,
        StatusCode::METHOD_NOT_ALLOWED,
        &["PATCH is not supported on /schemas"],
    );
}

/// A long refused value is quoted in part: the message still names the
/// field, but does not come back the size of the request (found by the
/// config fuzzing: an 8 MB answer to a 1 MB table config).
#[tokio::test]
async fn errors_about_huge_values_stay_short() {
    let app = TestApp::with_body_limit(4 << 20);
    let mut schema = example_schema();
    schema["dateTimeFieldSpecs"][0]["granularity"] = json!("日".repeat(1 << 20));
    let response = app.call("POST", "/schemas", schema.to_string()).await;
    assert_error(
        &response,
        StatusCode::BAD_REQUEST,
        &[
            "dateTimeFieldSpecs[0].granularity",
            "more bytes of this message were cut",
        ],
    );
    assert!(
        response.1.to_string().len() < 8192,
        "{}",
        response.1.to_string().len()
    );
    let config = json!({"name": "c", "config": {"connector.class": vec!["s3"; 100_000]}});
    let (status, body) = app.call("POST", "/connectors", config.to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with("connector.class: must be a string"),
        "{message}"
    );
    assert!(message.len() < 8192, "{}", message.len());
}

/// A connector config past the body limit is refused in Kafka Connect's
/// error shape; it came back as axum's plain text (found by the config
/// fuzzing).
#[tokio::test]
async fn oversized_connector_configs_are_refused_in_kafka_connects_shape() {
    let app = TestApp::with_body_limit(1024);
    let config = json!({"name": "c", "config": {"connector.class": "s3", "pad": "x".repeat(2048)}});
    for (method, uri) in [("POST", "/connectors"), ("PUT", "/connectors/c/config")] {
        let (status, body) = app.call(method, uri, config.to_string()).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert_eq!(body["error_code"], 413, "{body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("larger than the limit of 1024 bytes"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn unknown_keys_come_back_as_unrecognized_properties() {
    let app = TestApp::new();
    let mut schema = example_schema();
    schema["owner"] = json!("team-a");
    let (status, body) = app.call("POST", "/schemas", schema.to_string()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["unrecognizedProperties"], json!({"/owner": "team-a"}));
    assert_eq!(
        app.get("/schemas/stock_transactions").await.1["owner"],
        "team-a"
    );

    let mut table = example_table();
    table["tierConfigs"] = json!([{"name": "cold"}]);
    let (status, body) = app.call("POST", "/tables", table.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["unrecognizedProperties"],
        json!({"/tierConfigs/0/name": "cold"})
    );
    assert_eq!(
        app.get("/tables/stock_transactions").await.1["REALTIME"]["tierConfigs"],
        json!([{"name": "cold"}])
    );
}

#[tokio::test]
async fn validate_endpoints_do_not_store() {
    let app = TestApp::new();
    let (status, body) = app.call("POST", "/schemas/validate", SCHEMA).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["schemaName"], "stock_transactions");
    assert_eq!(body["unrecognizedProperties"], json!({}));
    assert_eq!(app.get("/schemas").await.1, json!([]));

    app.call("POST", "/schemas", SCHEMA).await;
    let (status, body) = app.call("POST", "/tables/validate", TABLE).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["tableName"], "stock_transactions_REALTIME");
    assert_eq!(app.get("/tables").await.1, json!({"tables": []}));
}

#[tokio::test]
async fn deletes() {
    let app = TestApp::new().with_example().await;
    assert_eq!(
        app.call("DELETE", "/tables/stock_transactions", "").await,
        (
            StatusCode::OK,
            json!({"status": "Tables: [stock_transactions_REALTIME] deleted"})
        )
    );
    assert_error(
        &app.call("DELETE", "/tables/stock_transactions", "").await,
        StatusCode::NOT_FOUND,
        &["does not exist"],
    );
    assert_eq!(
        app.call("DELETE", "/schemas/stock_transactions", "").await,
        (
            StatusCode::OK,
            json!({"status": "Schema stock_transactions deleted"})
        )
    );
    assert_error(
        &app.get("/schemas/stock_transactions").await,
        StatusCode::NOT_FOUND,
        &["schema `stock_transactions` does not exist"],
    );
}

#[tokio::test]
async fn table_configs_in_one_call() {
    let app = TestApp::new();
    let document = json!({
        "tableName": "stock_transactions",
        "schema": example_schema(),
        "realtime": example_table(),
        "extra": 1,
    });
    let (status, body) = app
        .call("POST", "/tableConfigs/validate", document.to_string())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.get("/schemas").await.1, json!([]));

    let (status, body) = app
        .call("POST", "/tableConfigs", document.to_string())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["status"],
        "TableConfigs stock_transactions successfully added"
    );
    assert_eq!(body["unrecognizedProperties"], json!({"/extra": 1}));
    let (_, fetched) = app.get("/tableConfigs/stock_transactions").await;
    assert_eq!(fetched["schema"], example_schema());
    assert_eq!(
        fetched["realtime"]["tableName"],
        "stock_transactions_REALTIME"
    );
    assert_error(
        &app.call("POST", "/tableConfigs", document.to_string())
            .await,
        StatusCode::CONFLICT,
        &["already exists"],
    );

    let mut broken = document.clone();
    broken["realtime"]["tableIndexConfig"]["invertedIndexColumns"] = json!(["nope"]);
    broken["tableName"] = json!("stock_transactions");
    assert_error(
        &app.call("POST", "/tableConfigs/validate", broken.to_string())
            .await,
        StatusCode::BAD_REQUEST,
        &["invertedIndexColumns[0]"],
    );

    assert_eq!(
        app.call("DELETE", "/tableConfigs/stock_transactions", "")
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(app.get("/schemas").await.1, json!([]));
    assert_eq!(app.get("/tables").await.1, json!({"tables": []}));
}

#[tokio::test]
async fn multipart_upload_as_pinot_docs_show() {
    let app = TestApp::new();
    let boundary = "gamayboundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"schemaName\"; filename=\"schema.json\"\r\nContent-Type: application/json\r\n\r\n{SCHEMA}\r\n--{boundary}--\r\n"
    );
    let request = Request::builder()
        .method("POST")
        .uri("/schemas")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    let (status, body) = app.send(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.get("/schemas").await.1, json!(["stock_transactions"]));
}

const BENCH_SCHEMA: &str = include_str!("../../benches/data/stock_transactions.schema.json");
const BENCH_TABLE: &str = include_str!("../../benches/data/stock_transactions.offline.json");

pub(super) async fn with_offline_table(app: &impl Client) {
    assert_eq!(
        app.call("POST", "/schemas", BENCH_SCHEMA.to_string())
            .await
            .0,
        StatusCode::OK
    );
    let (status, body) = app.call("POST", "/tables", BENCH_TABLE.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn multipart(file_name: &str, contents: &[u8]) -> (String, Vec<u8>) {
    let boundary = "gamayfile";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(contents);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub(super) async fn upload(
    app: &TestApp,
    query: &str,
    file_name: &str,
    contents: &[u8],
) -> (StatusCode, Value) {
    let (content_type, body) = multipart(file_name, contents);
    let request = Request::builder()
        .method("POST")
        .uri(format!("/ingestFromFile?{}", encode_query(query)))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    app.send(request).await
}

/// Percent-encodes what a URI cannot hold (the JSON of batchConfigMapStr).
fn encode_query(query: &str) -> String {
    let mut out = String::new();
    for byte in query.bytes() {
        if byte.is_ascii_alphanumeric() || b"=&_-.:,".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub(super) fn csv_rows(count: usize, bad_every: usize) -> String {
    let mut csv =
        String::from("id,user_id,symbol,exchange,country,side,shares,price,purchase,update_at\n");
    for i in 0..count {
        let shares = if bad_every > 0 && i % bad_every == bad_every - 1 {
            "many".to_string()
        } else {
            (i % 100 + 1).to_string()
        };
        csv.push_str(&format!(
            "{i},{},S{:04},{},C{:02},{},{shares},{:.2},{:.2},{}\n",
            i % 37,
            i % 11,
            ["NYSE", "NASDAQ", "LSE"][i % 3],
            i % 7,
            ["BUY", "SELL"][i % 2],
            10.0 + (i % 50) as f64 / 4.0,
            (i % 100 + 1) as f64 * 10.5,
            1_780_000_000_000i64 + (i as i64 * 7919 % 1000) * 60_000,
        ));
    }
    csv
}

fn parquet_file(rows: usize) -> Vec<u8> {
    use arrow_array::{Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
    let ids: Vec<i64> = (0..rows as i64).collect();
    let batch = RecordBatch::try_from_iter([
        (
            "id",
            std::sync::Arc::new(Int64Array::from(ids)) as arrow_array::ArrayRef,
        ),
        (
            "user_id",
            std::sync::Arc::new(Int32Array::from_iter_values(
                (0..rows as i32).map(|i| i % 5),
            )),
        ),
        (
            "symbol",
            std::sync::Arc::new(StringArray::from_iter_values(
                (0..rows).map(|i| format!("S{}", i % 3)),
            )),
        ),
        (
            "price",
            std::sync::Arc::new(Float64Array::from_iter_values(
                (0..rows).map(|i| i as f64 / 2.0),
            )),
        ),
        (
            "update_at",
            std::sync::Arc::new(Int64Array::from_iter_values(
                (0..rows as i64).map(|i| 1_780_000_000_000 - i),
            )),
        ),
    ])
    .unwrap();
    let mut out = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    out
}

/// A Parquet file without a multi-value column of the table loads with
/// that column null; it was refused whole (found by the upload fuzzing).
#[tokio::test]
async fn parquet_files_may_lack_multi_value_columns() {
    let app = TestApp::new();
    let mut schema: Value = serde_json::from_str(BENCH_SCHEMA).unwrap();
    schema["dimensionFieldSpecs"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "tags", "dataType": "STRING", "singleValueField": false}));
    let (status, body) = app.call("POST", "/schemas", schema.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.call("POST", "/tables", BENCH_TABLE.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = upload(
        &app,
        "tableNameWithType=stock_transactions_OFFLINE",
        "trades.parquet",
        &parquet_file(300),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows"], 300, "{body}");
}

#[tokio::test]
async fn ingest_csv_and_parquet_files_into_segments() {
    let app = TestApp::new();
    with_offline_table(&app).await;
    let (status, body) = upload(
        &app,
        "tableNameWithType=stock_transactions_OFFLINE",
        "trades.csv",
        csv_rows(500, 100).as_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows"], 495);
    assert_eq!(body["badRows"], 5);
    let first_error = body["errors"][0].as_str().unwrap();
    assert!(
        first_error.starts_with("row 100: column `shares`: `many` is not a INT value"),
        "{first_error}"
    );
    assert!(body["status"].as_str().unwrap().starts_with("Successfully ingested file into table: stock_transactions_OFFLINE as segment: stock_transactions_OFFLINE_"));

    let query = r#"tableNameWithType=stock_transactions_OFFLINE&batchConfigMapStr={"inputFormat":"parquet","segmentRows":"300"}"#;
    let (status, body) = upload(&app, query, "data.bin", &parquet_file(700)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows"], 700);
    assert_eq!(body["segments"].as_array().unwrap().len(), 3);

    let (status, listing) = app.get("/segments/stock_transactions").await;
    assert_eq!(status, StatusCode::OK);
    let names = listing[0]["OFFLINE"].as_array().unwrap().clone();
    assert_eq!(names.len(), 4);

    let first = names[0].as_str().unwrap();
    let (status, meta) = app
        .get(&format!("/segments/stock_transactions/{first}/metadata"))
        .await;
    assert_eq!(status, StatusCode::OK, "{meta}");
    assert_eq!(meta["totalDocs"], 495);
    let columns = meta["columns"].as_array().unwrap();
    let update_at = columns
        .iter()
        .find(|c| c["columnName"] == "update_at")
        .unwrap();
    assert_eq!(update_at["sorted"], true);
    assert_eq!(update_at["indexes"], json!(["sorted"]));
    let symbol = columns
        .iter()
        .find(|c| c["columnName"] == "symbol")
        .unwrap();
    assert_eq!(symbol["cardinality"], 11);
    assert_eq!(symbol["indexes"], json!(["inverted"]));
    assert_eq!(meta["startTime"], 1_780_000_000_000i64);

    // Missing columns in the Parquet file are nulls with Pinot's defaults.
    let parquet_segment = names[1].as_str().unwrap();
    let (_, meta) = app
        .get(&format!(
            "/segments/stock_transactions_OFFLINE/{parquet_segment}/metadata"
        ))
        .await;
    let exchange = meta["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["columnName"] == "exchange")
        .unwrap()
        .clone();
    assert_eq!(exchange["nullCount"], 300);
    assert_eq!(exchange["minValue"], "null");

    let (status, body) = app
        .call(
            "DELETE",
            &format!("/segments/stock_transactions/{first}"),
            "",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        app.get("/segments/stock_transactions").await.1[0]["OFFLINE"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_error(
        &app.get(&format!("/segments/stock_transactions/{first}/metadata"))
            .await,
        StatusCode::NOT_FOUND,
        &["has no segment"],
    );

    // Segments survive a reopen of the data directory; uploads a crash left
    // behind do not.
    let leftover = crate::durable::temp_path(&app.state.config.data_dir.join("uploads/upload"));
    std::fs::write(&leftover, b"partial upload").unwrap();
    let reopened = AppState::new(App::open((*app.state.config).clone()).unwrap());
    assert!(!leftover.exists());
    assert_eq!(
        reopened
            .server
            .table("stock_transactions_OFFLINE")
            .unwrap()
            .segments()
            .len(),
        3
    );

    // Deleting the table deletes its data.
    assert_eq!(
        app.call("DELETE", "/tables/stock_transactions", "").await.0,
        StatusCode::OK
    );
    assert!(!app
        .state
        .config
        .data_dir
        .join("tables/stock_transactions_OFFLINE")
        .exists());
}

#[tokio::test]
async fn star_trees_answer_like_the_docs_and_show_in_explain() {
    let app = TestApp::new();
    assert_eq!(
        app.call("POST", "/schemas", BENCH_SCHEMA).await.0,
        StatusCode::OK
    );
    let mut table: Value = serde_json::from_str(BENCH_TABLE).unwrap();
    table["tableIndexConfig"]["starTreeIndexConfigs"] = json!([{
        "dimensionsSplitOrder": ["exchange", "side", "country", "symbol"],
        "functionColumnPairs": ["COUNT__*", "SUM__shares", "SUM__purchase", "MIN__price", "MAX__price",
            "DISTINCTCOUNTHLL__user_id", "PERCENTILEEST__price"],
        "maxLeafRecords": 10
    }]);
    let (status, body) = app.call("POST", "/tables", table.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = upload(
        &app,
        "tableNameWithType=stock_transactions_OFFLINE",
        "trades.csv",
        csv_rows(2000, 0).as_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let query =
        |sql: &str, options: &str| json!({ "sql": sql, "queryOptions": options }).to_string();
    for sql in [
        "SELECT exchange, side, COUNT(*), SUM(purchase) FROM stock_transactions GROUP BY exchange, side ORDER BY exchange, side LIMIT 100",
        "SELECT country, SUM(shares) AS s, COUNT(*) AS n FROM stock_transactions WHERE exchange IN ('NYSE', 'NASDAQ') AND side = 'BUY' GROUP BY country ORDER BY s DESC LIMIT 10",
        "SELECT MIN(price), MAX(price), AVG(purchase) FROM stock_transactions WHERE symbol <> 'S0001' AND update_at >= 0",
        "SELECT exchange, DISTINCTCOUNTHLL(user_id), PERCENTILEEST(price, 95) FROM stock_transactions WHERE side = 'SELL' GROUP BY exchange ORDER BY exchange",
    ] {
        let (status, tree) = app.call("POST", "/query/sql", query(sql, "")).await;
        assert_eq!(status, StatusCode::OK, "{tree}");
        let (_, docs) = app
            .call("POST", "/query/sql", query(sql, "useStarTree=false"))
            .await;
        assert_eq!(tree["resultTable"], docs["resultTable"], "{sql}");
        // The tree reads pre-aggregated records, fewer than the docs.
        assert!(
            tree["numDocsScanned"].as_u64() < docs["numDocsScanned"].as_u64(),
            "{sql}: {} records against {} docs",
            tree["numDocsScanned"],
            docs["numDocsScanned"]
        );
        let explain = |options: &'static str| {
            let app = &app;
            let sql = format!("EXPLAIN PLAN FOR {sql}");
            async move {
                let (_, plan) = app.call("POST", "/query/sql", query(&sql, options)).await;
                plan["resultTable"]["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|row| row[0].as_str().unwrap().starts_with("FILTER_STARTREE_INDEX(dimensions:exchange, side, country, symbol"))
            }
        };
        assert!(explain("").await, "{sql}: EXPLAIN shows the star-tree");
        assert!(!explain("useStarTree=false").await, "{sql}");
    }
}

#[tokio::test]
async fn ingest_errors_are_clear_and_ingest_nothing() {
    let app = TestApp::new();
    with_offline_table(&app).await;
    let table = "tableNameWithType=stock_transactions_OFFLINE";
    let strict = format!(r#"{table}&batchConfigMapStr={{"inputFormat":"csv","strict":"true"}}"#);
    assert_error(
        &upload(&app, &strict, "t.csv", csv_rows(50, 10).as_bytes()).await,
        StatusCode::BAD_REQUEST,
        &["row 10 of t.csv: column `shares`", "nothing was ingested"],
    );
    assert_error(
        &upload(&app, table, "t.parquet", b"not parquet at all").await,
        StatusCode::BAD_REQUEST,
        &["cannot read t.parquet", "not a readable Parquet file"],
    );
    // Damaged files the Parquet decoder panics on (found by the upload
    // fuzzing; tests/fuzz/corpus/uploads has more).
    assert_error(
        &upload(
            &app,
            table,
            "t.parquet",
            include_bytes!("../../tests/fuzz/corpus/uploads/negative-column-chunk-offset.parquet"),
        )
        .await,
        StatusCode::BAD_REQUEST,
        &["cannot read t.parquet", "the Parquet decoder failed on it"],
    );
    assert_error(
        &upload(&app, table, "t.dat", b"x").await,
        StatusCode::BAD_REQUEST,
        &["say the file's format"],
    );
    assert_error(
        &upload(&app, table, "t.json", b"{\"shares\": \"x\"}\n[1]\n").await,
        StatusCode::BAD_REQUEST,
        &["holds no row that could be ingested"],
    );
    // A header that names no column would ingest rows of defaults, strict or not.
    for query in [table.to_string(), strict.clone()] {
        assert_error(
            &upload(&app, &query, "t.csv", b"ID;SYMBOL;PRICE\n1;A;2\n").await,
            StatusCode::BAD_REQUEST,
            &[
                "the CSV header (ID;SYMBOL;PRICE) names no column",
                "the table's columns are ",
            ],
        );
    }
    assert_error(
        &upload(&app, table, "t.json", b"{\"ID\": 1}\n{\"other\": 2}\n").await,
        StatusCode::BAD_REQUEST,
        &["no key of the object (ID) names a column"],
    );
    assert_error(
        &upload(&app, "tableNameWithType=nope_OFFLINE", "t.csv", b"a\n1\n").await,
        StatusCode::NOT_FOUND,
        &["table `nope_OFFLINE` does not exist"],
    );
    assert_error(
        &upload(&app, "", "t.csv", b"a\n1\n").await,
        StatusCode::BAD_REQUEST,
        &["`tableNameWithType` is required"],
    );
    assert_eq!(
        app.get("/segments/stock_transactions").await.1,
        json!([{"OFFLINE": []}])
    );

    app.call("POST", "/schemas", SCHEMA).await;
    app.call("POST", "/tables", TABLE).await;
    assert_error(
        &upload(
            &app,
            "tableNameWithType=stock_transactions_REALTIME",
            "t.csv",
            b"a\n1\n",
        )
        .await,
        StatusCode::BAD_REQUEST,
        &["is REALTIME"],
    );

    // Newline-delimited JSON with nested fields and a bad line.
    let json = "{\"id\": 1, \"symbol\": \"S1\", \"update_at\": 1780000000000, \"shares\": 3}\n\nnot json\n{\"id\": 2, \"update_at\": \"1780000000001\"}\n";
    let (status, body) = upload(&app, table, "t.json", json.as_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows"], 2);
    assert_eq!(body["badRows"], 1);
    assert!(
        body["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("row 2: invalid JSON"),
        "{body}"
    );
}

#[tokio::test]
async fn oversized_uploads_are_refused() {
    let app = TestApp::new();
    with_offline_table(&app).await;
    let response = upload(
        &app,
        "tableNameWithType=stock_transactions_OFFLINE",
        "big.csv",
        csv_rows(5000, 0).as_bytes(),
    )
    .await;
    assert_error(
        &response,
        StatusCode::PAYLOAD_TOO_LARGE,
        &[
            "larger than the limit of 262144 bytes",
            "--max-upload-bytes",
        ],
    );
    assert_eq!(
        app.get("/segments/stock_transactions").await.1,
        json!([{"OFFLINE": []}])
    );
}
