//! The web console in a real browser: a server with an OFFLINE `trades`
//! table (two segments), a REALTIME `stock_transactions` table consuming
//! from librdkafka's mock cluster and an S3 connector writing to a local
//! directory, driven by `tests/console/console.mjs` (playwright-core and
//! Debian's Chromium). The script checks the table list, the row counts, a
//! GROUP BY run with Ctrl-Enter (result, stats and chart), a time series
//! chart, a failing query's error box, the ingestion status, the
//! connector table, the cluster panel (instances and segment placement), and fails on any browser console error. A second
//! server, with authentication, checks the console's sign-in form.
//!
//! Without node, /usr/bin/chromium or tests/console/node_modules (see
//! tests/services.sh) the test is skipped, unless `GAMAY_REQUIRE_SERVICES`
//! is set, which makes their absence a failure.

#[path = "export/mod.rs"]
mod export;
#[path = "kafka/mod.rs"]
mod kafka;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::json;

use export::{create_connector, create_table, ingest, rows, wait_caught_up};
use kafka::{wait_until, InProcess};

const CHROMIUM: &str = "/usr/bin/chromium";
const WAIT: Duration = Duration::from_secs(60);
const OFFLINE_ROWS: i64 = 600;
const REALTIME_MESSAGES: i64 = 40;

fn console_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/console")
}

/// What is missing to run the browser, if anything.
fn missing_tools() -> Vec<String> {
    let mut missing = Vec::new();
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|output| output.status.success()) {
        missing.push("node".to_string());
    }
    if !Path::new(CHROMIUM).exists() {
        missing.push(CHROMIUM.to_string());
    }
    let playwright = console_dir().join("node_modules/playwright-core");
    if !playwright.exists() {
        missing.push(playwright.display().to_string());
    }
    missing
}

/// True if the browser test can run; otherwise skips, or fails when
/// `GAMAY_REQUIRE_SERVICES` is set.
fn browser_available() -> bool {
    let missing = missing_tools();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "{} missing (the browser test needs Node.js 20 or later; tests/services.sh installs Chromium and playwright-core)",
        missing.join(", ")
    );
    if std::env::var_os("GAMAY_REQUIRE_SERVICES").is_some() {
        panic!("{message}");
    }
    eprintln!("skipped: {message}");
    false
}

/// The REALTIME table: `REALTIME_MESSAGES` trades over two partitions.
fn start_realtime(url: &str, cluster: &kafka::Mock, topic: &str) {
    kafka::create(url, &kafka::table(cluster, topic, json!({})));
    let producer = kafka::producer(cluster);
    let messages: Vec<String> = (0..REALTIME_MESSAGES).map(kafka::trade).collect();
    kafka::produce(&producer, topic, &messages, None);
    let consumed = wait_until(WAIT, || kafka::totals(url).0 == REALTIME_MESSAGES);
    assert!(consumed, "the REALTIME table did not consume its messages");
}

/// A JSON-lines S3 connector of the OFFLINE table, into `store`.
fn start_connector(url: &str, store: &Path) {
    let config = json!({
        "connector.class": "s3",
        "tables": "trades_OFFLINE",
        "s3.bucket.name": "exports",
        "store.url": format!("file://{}", store.display()),
        "flush.size": "1000",
        "format.class": "io.confluent.connect.s3.format.json.JsonFormat",
        "partitioner.class": "io.confluent.connect.storage.partitioner.DefaultPartitioner"
    });
    create_connector(url, "trades-json", &config);
    wait_caught_up(url, "trades-json", OFFLINE_ROWS as u64, WAIT);
}

/// Runs `tests/console/console.mjs` against `url` with `env` and fails
/// the test when it fails.
fn run_console(url: &str, env: &[(&str, &str)]) {
    let output = Command::new("node")
        .arg(console_dir().join("console.mjs"))
        .arg(url)
        .envs(env.iter().copied())
        .output()
        .expect("run node tests/console/console.mjs");
    println!("{}", String::from_utf8_lossy(&output.stdout));
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "tests/console/console.mjs failed ({})",
        output.status
    );
}

#[test]
fn the_console_signs_in_on_a_server_with_authentication() {
    if !browser_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let server = InProcess::start(&data);
        create_table(&server.url);
        let half = OFFLINE_ROWS / 2;
        ingest(&server.url, &rows(0..half, 0));
        ingest(&server.url, &rows(half..OFFLINE_ROWS, 0));
    }
    let password = "console-pw-\u{e9}t\u{e9}";
    let auth_file = dir.path().join("auth.json");
    let principals = json!({"principals": [{
        "name": "analyst",
        "password": gamay::auth::secret::hash_password(password),
    }]});
    std::fs::write(&auth_file, principals.to_string()).unwrap();
    let mut config = gamay::config::ServerConfig::new(&data);
    config.auth_file = Some(auth_file);
    let server = InProcess::start_with(config);
    run_console(
        &server.url,
        &[
            ("CONSOLE_EXPECT_ROWS", &OFFLINE_ROWS.to_string()),
            ("CONSOLE_EXPECT_SEGMENTS", "2"),
            ("CONSOLE_USER", "analyst"),
            ("CONSOLE_PASSWORD", password),
        ],
    );
}

#[test]
fn the_console_works_in_a_browser() {
    if !browser_available() {
        return;
    }
    let topic = "console-trades";
    let cluster = kafka::cluster(topic, 2);
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(&dir.path().join("data"));
    create_table(&server.url);
    let half = OFFLINE_ROWS / 2;
    ingest(&server.url, &rows(0..half, 0));
    ingest(&server.url, &rows(half..OFFLINE_ROWS, 0));
    start_realtime(&server.url, &cluster, topic);
    start_connector(&server.url, &dir.path().join("data/lake"));

    run_console(
        &server.url,
        &[
            ("CONSOLE_EXPECT_ROWS", &OFFLINE_ROWS.to_string()),
            ("CONSOLE_EXPECT_SEGMENTS", "2"),
            (
                "CONSOLE_EXPECT_REALTIME_ROWS",
                &REALTIME_MESSAGES.to_string(),
            ),
            ("CONSOLE_EXPECT_CONNECTOR", "trades-json"),
        ],
    );
}
