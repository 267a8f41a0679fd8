//! Authentication and authorization through the real router: every
//! endpoint × every kind of principal, lists that hide what a principal may
//! not read, cross-site requests, and the audit log.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};

use super::tests::{with_offline_table, TestApp};
use crate::auth::secret;

const ADMIN: (&str, &str) = ("admin", "admin-pw");
const WRITER: (&str, &str) = ("writer", "writer-pw");
const READER: (&str, &str) = ("reader", "reader-pw");
const OTHER: (&str, &str) = ("other", "other-pw");

fn basic((user, password): (&str, &str)) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

struct Secured {
    app: TestApp,
    metrics_token: String,
}

impl Secured {
    async fn new() -> Secured {
        let (metrics_token, digest) = secret::new_token();
        let file = json!({"principals": [
            {"name": ADMIN.0, "password": secret::hash_password(ADMIN.1)},
            {"name": WRITER.0, "password": secret::hash_password(WRITER.1), "tables": ["stock_transactions"]},
            {"name": READER.0, "password": secret::hash_password(READER.1), "tables": ["stock_transactions"], "permissions": ["READ"]},
            {"name": OTHER.0, "password": secret::hash_password(OTHER.1), "tables": ["other_table"]},
            {"name": "prometheus", "token": digest, "permissions": ["METRICS"]},
        ]});
        let auth_dir = tempfile::tempdir().unwrap();
        let path = auth_dir.path().join("auth.json");
        std::fs::write(&path, file.to_string()).unwrap();
        let app = TestApp::with_config(|config| config.auth_file = Some(path.clone()));
        let secured = Secured { app, metrics_token };
        // Tables are made by the administrator, as a deployment would.
        let admin = basic(ADMIN);
        with_offline_table(&secured.as_principal(&admin)).await;
        secured
    }

    fn as_principal<'a>(&'a self, authorization: &'a str) -> As<'a> {
        As {
            app: &self.app,
            authorization: Some(authorization),
        }
    }

    fn anonymous(&self) -> As<'_> {
        As {
            app: &self.app,
            authorization: None,
        }
    }
}

/// Requests with one principal's credentials.
pub(super) struct As<'a> {
    app: &'a TestApp,
    authorization: Option<&'a str>,
}

impl As<'_> {
    async fn request(
        &self,
        method: &str,
        uri: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value, Option<String>) {
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(value) = self.authorization {
            builder = builder.header(header::AUTHORIZATION, value);
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let response = self
            .app
            .send_raw(builder.body(Body::from(body.to_string())).unwrap())
            .await;
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_string());
        let (status, value) = super::tests::read(response).await;
        (status, value, challenge)
    }

    pub(super) async fn call(&self, method: &str, uri: &str, body: &str) -> (StatusCode, Value) {
        let (status, value, _) = self.request(method, uri, body, &[]).await;
        (status, value)
    }
}

impl super::tests::Client for As<'_> {
    async fn call(&self, method: &str, uri: &str, body: String) -> (StatusCode, Value) {
        As::call(self, method, uri, &body).await
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Past authentication and authorization (any status but 401 and 403).
    Pass,
    Forbidden,
}
use Expect::{Forbidden, Pass};

/// Every endpoint, with what each principal gets: admin, writer (all
/// permissions on stock_transactions), reader (READ on it), other (all
/// permissions on another table), the metrics token.
fn endpoints() -> Vec<(&'static str, String, String, [Expect; 5])> {
    let schema = include_str!("../../benches/data/stock_transactions.schema.json");
    let table = include_str!("../../benches/data/stock_transactions.offline.json");
    let query = json!({"sql": "SELECT COUNT(*) FROM stock_transactions"}).to_string();
    let connector = json!({"name": "c", "config": {"connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector", "topics": "stock_transactions"}}).to_string();
    let t = "stock_transactions";
    let all = [Pass; 5];
    let admin_only = [Pass, Forbidden, Forbidden, Forbidden, Forbidden];
    let writers = [Pass, Pass, Forbidden, Forbidden, Forbidden];
    let readers = [Pass, Pass, Pass, Forbidden, Forbidden];
    let creators = [Pass, Pass, Forbidden, Pass, Forbidden];
    let any_principal = [Pass, Pass, Pass, Pass, Pass];
    let e = String::new;
    vec![
        ("GET", "/health".into(), e(), all),
        ("GET", "/".into(), e(), all),
        ("GET", "/console/app.js".into(), e(), all),
        (
            "GET",
            "/metrics".into(),
            e(),
            [Pass, Forbidden, Forbidden, Forbidden, Pass],
        ),
        ("POST", "/query/sql".into(), query.clone(), readers),
        // The multi-stage engine does not see tables a principal may not read.
        ("POST", "/query".into(), query.clone(), any_principal),
        (
            "GET",
            format!("/query/sql?sql=SELECT%20COUNT(*)%20FROM%20{t}"),
            e(),
            readers,
        ),
        (
            "GET",
            "/query/sql?sql=SELECT%201".into(),
            e(),
            any_principal,
        ),
        ("GET", "/schemas".into(), e(), any_principal),
        ("POST", "/schemas".into(), schema.into(), writers),
        ("POST", "/schemas/validate".into(), schema.into(), creators),
        ("GET", format!("/schemas/{t}"), e(), readers),
        ("PUT", format!("/schemas/{t}"), schema.into(), writers),
        ("GET", "/tables".into(), e(), any_principal),
        ("POST", "/tables".into(), table.into(), writers),
        ("POST", "/tables/validate".into(), table.into(), creators),
        ("GET", format!("/tables/{t}"), e(), readers),
        ("PUT", format!("/tables/{t}"), table.into(), writers),
        ("GET", format!("/tables/{t}/metadata"), e(), readers),
        ("GET", format!("/tables/{t}/pauseStatus"), e(), readers),
        (
            "GET",
            format!("/tables/{t}/consumingSegmentsInfo"),
            e(),
            readers,
        ),
        ("GET", format!("/tables/{t}/ingestionStatus"), e(), readers),
        (
            "POST",
            format!("/tables/{t}/pauseConsumption"),
            e(),
            writers,
        ),
        (
            "POST",
            format!("/tables/{t}/resumeConsumption"),
            e(),
            writers,
        ),
        ("POST", format!("/tables/{t}/forceCommit"), e(), writers),
        ("GET", "/tables/forceCommitStatus/abc".into(), e(), creators),
        ("GET", "/tableConfigs".into(), e(), any_principal),
        ("GET", format!("/tableConfigs/{t}"), e(), readers),
        (
            "POST",
            "/tableConfigs/validate".into(),
            "{}".into(),
            creators,
        ),
        ("POST", "/tableConfigs".into(), table_configs(), writers),
        ("GET", format!("/segments/{t}"), e(), readers),
        ("GET", format!("/segments/{t}/seg/metadata"), e(), readers),
        ("DELETE", format!("/segments/{t}/seg"), e(), writers),
        (
            "POST",
            format!("/ingestFromFile?tableNameWithType={t}_OFFLINE"),
            e(),
            writers,
        ),
        ("GET", "/connectors".into(), e(), admin_only),
        ("POST", "/connectors".into(), connector.clone(), admin_only),
        ("GET", "/connectors/c".into(), e(), admin_only),
        ("GET", "/connectors/c/config".into(), e(), admin_only),
        (
            "PUT",
            "/connectors/c/config".into(),
            "{}".into(),
            admin_only,
        ),
        ("GET", "/connectors/c/status".into(), e(), admin_only),
        ("PUT", "/connectors/c/pause".into(), e(), admin_only),
        ("PUT", "/connectors/c/resume".into(), e(), admin_only),
        ("POST", "/connectors/c/restart".into(), e(), admin_only),
        ("DELETE", "/connectors/c".into(), e(), admin_only),
        ("GET", "/connector-plugins".into(), e(), any_principal),
        ("DELETE", format!("/tableConfigs/{t}"), e(), writers),
        ("DELETE", format!("/tables/{t}"), e(), writers),
        ("DELETE", format!("/schemas/{t}"), e(), writers),
    ]
}

/// A valid `/tableConfigs` document for the existing table.
fn table_configs() -> String {
    let schema: Value = serde_json::from_str(include_str!(
        "../../benches/data/stock_transactions.schema.json"
    ))
    .unwrap();
    let table: Value = serde_json::from_str(include_str!(
        "../../benches/data/stock_transactions.offline.json"
    ))
    .unwrap();
    json!({"tableName": "stock_transactions", "schema": schema, "offline": table}).to_string()
}

#[tokio::test]
async fn every_endpoint_refuses_missing_credentials_and_checks_permissions() {
    let secured = Secured::new().await;
    let token = format!("Bearer {}", secured.metrics_token);
    let headers = [
        basic(ADMIN),
        basic(WRITER),
        basic(READER),
        basic(OTHER),
        token,
    ];
    let names = ["admin", "writer", "reader", "other", "metrics token"];
    // Deleting endpoints come last; the writer's deletes are refused when
    // run by the principals before it, so each row runs for the refused
    // principals first.
    for (method, uri, body, expected) in endpoints() {
        let (status, value, challenge) =
            secured.anonymous().request(method, &uri, &body, &[]).await;
        let public = uri == "/health" || uri == "/" || uri.starts_with("/console/");
        if public {
            assert!(
                status != StatusCode::UNAUTHORIZED,
                "{method} {uri}: {status} {value}"
            );
        } else {
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {uri} without credentials: {value}"
            );
            if uri.starts_with("/query") {
                // The broker's shape, which pinotdb reads.
                assert_eq!(value["exceptions"][0]["errorCode"], 180, "{value}");
                assert_eq!(value["numServersQueried"], 0, "{value}");
            } else {
                assert_eq!(value["code"], 401, "{value}");
            }
            assert_eq!(
                challenge.as_deref(),
                Some("Basic realm=\"gamay\", charset=\"UTF-8\"")
            );
        }
        let mut order: Vec<usize> = (0..5).collect();
        order.sort_by_key(|&i| expected[i] == Pass);
        for i in order {
            let (status, value) = secured
                .as_principal(&headers[i])
                .call(method, &uri, &body)
                .await;
            match expected[i] {
                Pass => assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{method} {uri} as {}: {status} {value}",
                    names[i]
                ),
                Forbidden => {
                    assert_eq!(
                        status,
                        StatusCode::FORBIDDEN,
                        "{method} {uri} as {}: {value}",
                        names[i]
                    );
                    // The controller's shape, or the broker's with Pinot's code 180.
                    let message = if uri.starts_with("/query") {
                        assert_eq!(value["exceptions"][0]["errorCode"], 180, "{value}");
                        value["exceptions"][0]["message"].as_str().unwrap()
                    } else {
                        assert_eq!(value["code"], 403, "{value}");
                        value["error"].as_str().unwrap()
                    };
                    assert!(message.starts_with("Permission is denied"), "{message}");
                }
            }
        }
    }
}

#[tokio::test]
async fn wrong_credentials_are_refused() {
    let secured = Secured::new().await;
    for header in [
        basic(("admin", "nope")),
        basic(("nobody", "admin-pw")),
        "Bearer gmy_unknown".to_string(),
        "Negotiate abc".to_string(),
    ] {
        let (status, value, challenge) = secured
            .as_principal(&header)
            .request("GET", "/tables", "", &[])
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{header}: {value}");
        assert!(challenge.is_some());
    }
    // The console's own requests get no challenge, so the browser leaves
    // the asking to the console's sign-in form; the refusal is the same.
    for uri in ["/tables", "/query/sql"] {
        let method = if uri == "/tables" { "GET" } else { "POST" };
        let body = r#"{"sql": "SELECT 1"}"#;
        let (status, _, challenge) = secured
            .as_principal(&basic(("admin", "nope")))
            .request(method, uri, body, &[("X-Requested-With", "XMLHttpRequest")])
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(challenge, None, "{uri}");
    }
}

#[tokio::test]
async fn lists_show_only_readable_tables() {
    let secured = Secured::new().await;
    let admin = basic(ADMIN);
    let admin = secured.as_principal(&admin);
    let mut schema: Value = serde_json::from_str(include_str!(
        "../../benches/data/stock_transactions.schema.json"
    ))
    .unwrap();
    schema["schemaName"] = json!("other_table");
    let mut table: Value = serde_json::from_str(include_str!(
        "../../benches/data/stock_transactions.offline.json"
    ))
    .unwrap();
    table["tableName"] = json!("other_table");
    assert_eq!(
        admin.call("POST", "/schemas", &schema.to_string()).await.0,
        StatusCode::OK
    );
    assert_eq!(
        admin.call("POST", "/tables", &table.to_string()).await.0,
        StatusCode::OK
    );

    let reader = basic(READER);
    let reader = secured.as_principal(&reader);
    assert_eq!(
        reader.call("GET", "/tables", "").await.1,
        json!({"tables": ["stock_transactions"]})
    );
    assert_eq!(
        reader.call("GET", "/schemas", "").await.1,
        json!(["stock_transactions"])
    );
    assert_eq!(
        reader.call("GET", "/tableConfigs", "").await.1,
        json!(["stock_transactions"])
    );
    assert_eq!(
        reader.call("GET", "/tables/other_table", "").await.0,
        StatusCode::FORBIDDEN
    );
    let mut all = admin.call("GET", "/tables", "").await.1["tables"].clone();
    all.as_array_mut().unwrap().sort_by_key(|v| v.to_string());
    assert_eq!(all, json!(["other_table", "stock_transactions"]));

    // A principal may create only the tables it is given.
    let other = basic(OTHER);
    let other = secured.as_principal(&other);
    schema["schemaName"] = json!("third");
    let (status, value) = other.call("POST", "/schemas", &schema.to_string()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{value}");
    assert!(value["error"]
        .as_str()
        .unwrap()
        .contains("CREATE on table `third`"));
}

#[tokio::test]
async fn queries_read_only_permitted_tables() {
    let secured = Secured::new().await;
    let sql = |sql: &str| json!({"sql": sql}).to_string();
    let count = sql("SELECT COUNT(*) FROM stock_transactions");
    let admin = basic(ADMIN);
    let admin = secured.as_principal(&admin);
    // The administrator's query leaves a cached plan; the cache does not
    // let others past the check.
    assert_eq!(
        admin.call("POST", "/query/sql", &count).await.0,
        StatusCode::OK
    );
    let reader = basic(READER);
    let (status, value) = secured
        .as_principal(&reader)
        .call("POST", "/query/sql", &count)
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");

    let other = basic(OTHER);
    let other = secured.as_principal(&other);
    let (status, value) = other.call("POST", "/query/sql", &count).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{value}");
    assert_eq!(value["exceptions"][0]["errorCode"], 180, "{value}");
    let message = value["exceptions"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("READ on table `stock_transactions`"),
        "{message}"
    );

    // A table it may read but that does not exist names no other table.
    let (status, value) = other
        .call(
            "POST",
            "/query/sql",
            &sql("SELECT COUNT(*) FROM other_table"),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{value}");
    assert!(!value.to_string().contains("stock_transactions"), "{value}");

    // Multi-stage: the table is invisible, in a join as alone.
    for text in [
        "SELECT COUNT(*) FROM stock_transactions",
        "SELECT COUNT(*) FROM stock_transactions a JOIN stock_transactions b ON a.symbol = b.symbol",
    ] {
        let (status, value) = other.call("POST", "/query", &sql(text)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{text}: {value}");
        let (status, value) = admin.call("POST", "/query", &sql(text)).await;
        assert_eq!(status, StatusCode::OK, "{text}: {value}");
    }
}

#[tokio::test]
async fn cross_site_state_changes_are_refused() {
    let secured = Secured::new().await;
    let admin = basic(ADMIN);
    let admin = secured.as_principal(&admin);
    let schema = include_str!("../../benches/data/stock_transactions.schema.json");
    for headers in [
        vec![
            ("origin", "http://evil.example"),
            ("host", "127.0.0.1:9000"),
        ],
        vec![("origin", "null"), ("host", "127.0.0.1:9000")],
        vec![("sec-fetch-site", "cross-site")],
    ] {
        let (status, value, _) = admin
            .request("PUT", "/schemas/stock_transactions", schema, &headers)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{headers:?}: {value}");
        assert!(
            value["error"]
                .as_str()
                .unwrap()
                .contains("from another site"),
            "{value}"
        );
    }
    // The console's own origin, and reads from anywhere, pass.
    let same = [
        ("origin", "http://127.0.0.1:9000"),
        ("host", "127.0.0.1:9000"),
    ];
    let (status, value, _) = admin
        .request("PUT", "/schemas/stock_transactions", schema, &same)
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    let foreign = [
        ("origin", "http://evil.example"),
        ("host", "127.0.0.1:9000"),
    ];
    let (status, _, _) = admin.request("GET", "/tables", "", &foreign).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn no_cors_headers_are_sent() {
    let secured = Secured::new().await;
    let admin = basic(ADMIN);
    let request = Request::builder()
        .method("OPTIONS")
        .uri("/query/sql")
        .header("origin", "http://evil.example")
        .header("access-control-request-method", "POST")
        .header(header::AUTHORIZATION, &admin)
        .body(Body::empty())
        .unwrap();
    let response = secured.app.send_raw(request).await;
    assert!(response.status().is_client_error(), "{}", response.status());
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

#[tokio::test]
async fn administrative_actions_are_audited_without_secrets() {
    let secured = Secured::new().await;
    let reader = basic(READER);
    let reader = secured.as_principal(&reader);
    assert_eq!(
        reader
            .call("DELETE", "/tables/stock_transactions", "")
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    reader
        .call(
            "POST",
            "/query/sql",
            &json!({"sql": "SELECT 1"}).to_string(),
        )
        .await;
    // Nor is a broker's share of a query, sent to a server by another node.
    let admin = basic(ADMIN);
    let (status, _) = secured
        .as_principal(&admin)
        .call("POST", crate::cluster::remote::QUERY_PATH, "not a plan")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let log = std::fs::read_to_string(secured.app.state().audit.path()).unwrap();
    let entries: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The administrator's schema and table, then the reader's refused delete;
    // the query is not an administrative action.
    assert_eq!(entries.len(), 3, "{log}");
    assert_eq!(entries[0]["principal"], "admin");
    assert_eq!(entries[0]["method"], "POST");
    assert_eq!(entries[0]["path"], "/schemas");
    assert_eq!(entries[2]["principal"], "reader");
    assert_eq!(entries[2]["path"], "/tables/stock_transactions");
    assert_eq!(entries[2]["status"], 403);
    assert!(entries[2]["time"].as_str().unwrap().ends_with('Z'));
    assert!(!log.contains("pw"), "{log}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(secured.app.state().audit.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test]
async fn a_table_query_quota_answers_429() {
    let app = TestApp::new();
    with_offline_table(&app).await;
    let table: Value = serde_json::from_str(include_str!(
        "../../benches/data/stock_transactions.offline.json"
    ))
    .unwrap();
    // A quota far below the test's pace, so the second query is refused
    // however slowly the machine runs. Refilling with time is the unit
    // test's (`query::quota`), on instants it chooses.
    let put_quota = |qps: &'static str| {
        let mut table = table.clone();
        table["quota"] = json!({ "maxQueriesPerSecond": qps });
        let app = &app;
        async move {
            let (status, value) = app
                .call("PUT", "/tables/stock_transactions", table.to_string())
                .await;
            assert_eq!(status, StatusCode::OK, "{value}");
        }
    };
    put_quota("0.01").await;
    let count = json!({"sql": "SELECT COUNT(*) FROM stock_transactions"}).to_string();
    assert_eq!(
        app.call("POST", "/query/sql", count.clone()).await.0,
        StatusCode::OK
    );
    let (status, value) = app.call("POST", "/query/sql", count.clone()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{value}");
    assert_eq!(value["exceptions"][0]["errorCode"], 429, "{value}");
    let message = value["exceptions"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("quota.maxQueriesPerSecond is 0.01"),
        "{message}"
    );
    // Multi-stage queries take from the quota of each table they read.
    let join = json!({"sql": "SELECT COUNT(*) FROM stock_transactions a JOIN (SELECT id FROM stock_transactions) b ON a.id = b.id"})
        .to_string();
    let (status, value) = app.call("POST", "/query", join.clone()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{value}");
    // A changed quota starts from a full bucket.
    put_quota("0.02").await;
    assert_eq!(
        app.call("POST", "/query", join.clone()).await.0,
        StatusCode::OK
    );
    let (status, value) = app.call("POST", "/query", join).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{value}");
    assert_eq!(value["exceptions"][0]["errorCode"], 429, "{value}");
    assert_eq!(
        app.call("POST", "/query/sql", count).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn kafka_secrets_in_table_configs_are_hidden_and_kept_for_the_same_brokers() {
    let app = TestApp::new();
    let schema = include_str!("../../schemas/stock_transactions.json");
    assert_eq!(app.call("POST", "/schemas", schema).await.0, StatusCode::OK);
    let mut table: Value = serde_json::from_str(include_str!(
        "../../tables/stock_transactions_realtime.json"
    ))
    .unwrap();
    let map = &mut table["ingestionConfig"]["streamIngestionConfig"]["streamConfigMaps"][0];
    map["stream.kafka.consumer.prop.security.protocol"] = json!("SASL_PLAINTEXT");
    map["stream.kafka.consumer.prop.sasl.mechanism"] = json!("PLAIN");
    map["stream.kafka.consumer.prop.sasl.username"] = json!("gamay");
    map["stream.kafka.consumer.prop.sasl.password"] = json!("kafka-s3cret");
    let (status, value) = app.call("POST", "/tables", table.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{value}");

    for uri in [
        "/tables/stock_transactions",
        "/tableConfigs/stock_transactions",
    ] {
        let (status, shown) = app.get(uri).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            !shown.to_string().contains("kafka-s3cret"),
            "{uri}: {shown}"
        );
        assert!(shown.to_string().contains("[hidden]"), "{uri}: {shown}");
    }
    let stored = |app: &TestApp| {
        app.state().catalog.tables_named("stock_transactions")[0].json["ingestionConfig"]
            ["streamIngestionConfig"]["streamConfigMaps"][0]
            ["stream.kafka.consumer.prop.sasl.password"]
            .clone()
    };
    // Sent back as read, the secret is kept.
    let shown = app.get("/tables/stock_transactions").await.1["REALTIME"].clone();
    let (status, value) = app
        .call("PUT", "/tables/stock_transactions", shown.to_string())
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(stored(&app), json!("kafka-s3cret"));
    // Pointed at other brokers, it must come with its own secret.
    let mut moved = shown.clone();
    moved["ingestionConfig"]["streamIngestionConfig"]["streamConfigMaps"][0]
        ["stream.kafka.broker.list"] = json!("127.0.0.1:1");
    let (status, value) = app
        .call("PUT", "/tables/stock_transactions", moved.to_string())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{value}");
    assert!(
        value["error"]
            .as_str()
            .unwrap()
            .contains("send the secret itself"),
        "{value}"
    );
    assert_eq!(stored(&app), json!("kafka-s3cret"));

    // /tableConfigs only creates: the document read back names a secret
    // no stored table holds any more, so it must come with the secret.
    let (_, configs) = app.get("/tableConfigs/stock_transactions").await;
    let (status, _) = app
        .call("DELETE", "/tableConfigs/stock_transactions", "")
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, value) = app.call("POST", "/tableConfigs", configs.to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{value}");
    assert!(
        value["error"]
            .as_str()
            .unwrap()
            .contains("`stream.kafka.consumer.prop.sasl.password` is `[hidden]`"),
        "{value}"
    );
    assert!(app
        .state()
        .catalog
        .tables_named("stock_transactions")
        .is_empty());
    let mut configs = configs;
    configs["realtime"]["ingestionConfig"]["streamIngestionConfig"]["streamConfigMaps"][0]
        ["stream.kafka.consumer.prop.sasl.password"] = json!("kafka-s3cret");
    let (status, value) = app.call("POST", "/tableConfigs", configs.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(stored(&app), json!("kafka-s3cret"));
}
