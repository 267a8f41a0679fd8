//! The real `gamay serve` process: configs survive a restart, a kill -9 in
//! the middle of writes, and SIGTERM shuts down cleanly.

#[path = "process/mod.rs"]
mod process;

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const SCHEMA: &str = include_str!("../schemas/stock_transactions.json");
const TABLE: &str = include_str!("../tables/stock_transactions_realtime.json");

struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(data_dir: &Path) -> Server {
        let (child, url) = process::serve(data_dir, "127.0.0.1:0", &[]);
        Server { child, url }
    }

    fn call(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        let request = ureq::request(method, &format!("{}{path}", self.url))
            .timeout(Duration::from_secs(10))
            .set("Content-Type", "application/json");
        let response = if body.is_empty() {
            request.call()
        } else {
            request.send_string(body)
        };
        let response = match response {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(err) => panic!("{method} {path}: {err}"),
        };
        let status = response.status();
        let text = response.into_string().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn configs_survive_restart_and_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    assert_eq!(server.call("GET", "/health", ""), (200, json!("OK")));
    assert_eq!(server.call("POST", "/schemas", SCHEMA).0, 200);
    let (status, body) = server.call("POST", "/tables", TABLE);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["status"],
        "Table stock_transactions_REALTIME successfully added"
    );
    server.kill9();

    let server = Server::start(dir.path());
    assert_eq!(
        server.call("GET", "/schemas", "").1,
        json!(["stock_transactions"])
    );
    let (status, tables) = server.call("GET", "/tables/stock_transactions", "");
    assert_eq!(status, 200);
    assert_eq!(
        tables["REALTIME"]["segmentsConfig"]["retentionTimeValue"],
        "60"
    );
    assert_eq!(server.call("POST", "/tables", TABLE).0, 409);
}

#[test]
fn kill_9_during_writes_leaves_a_whole_config() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let url = server.url.clone();
    let writer = std::thread::spawn(move || {
        let mut acknowledged = None;
        for version in 0.. {
            let mut schema: Value = serde_json::from_str(SCHEMA).unwrap();
            schema["version"] = json!(version);
            let sent = ureq::post(&format!("{url}/schemas"))
                .timeout(Duration::from_secs(5))
                .send_string(&schema.to_string());
            match sent {
                Ok(_) => acknowledged = Some(version),
                Err(_) => return acknowledged,
            }
        }
        acknowledged
    });
    std::thread::sleep(Duration::from_millis(300));
    server.kill9();
    let acknowledged = writer
        .join()
        .unwrap()
        .expect("some writes were acknowledged");

    let server = Server::start(dir.path());
    let (status, schema) = server.call("GET", "/schemas/stock_transactions", "");
    assert_eq!(status, 200);
    let version = schema["version"].as_i64().unwrap();
    // The last acknowledged write is durable; the one in flight may or may not be.
    assert!(
        version == acknowledged || version == acknowledged + 1,
        "stored version {version}, last acknowledged {acknowledged}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("catalog/schemas"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        vec![std::ffi::OsString::from("stock_transactions.json")]
    );
}

#[test]
fn sigterm_shuts_down_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // Generous: what counts is a clean exit, not how fast it comes.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            assert!(exit.success(), "exit status {exit}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "server did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

const BENCH_SCHEMA: &str = include_str!("../benches/data/stock_transactions.schema.json");
const BENCH_TABLE: &str = include_str!("../benches/data/stock_transactions.offline.json");

#[test]
fn cli_ingest_loads_files_and_respects_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("trades.csv");
    let mut text =
        String::from("id,user_id,symbol,exchange,country,side,shares,price,purchase,update_at\n");
    for i in 0..250 {
        text.push_str(&format!(
            "{i},{},S{},NYSE,C01,BUY,{},10.5,105.0,{}\n",
            i % 7,
            i % 3,
            i % 100 + 1,
            1_780_000_000_000i64 + i
        ));
    }
    text.push_str("250,1,S1,NYSE,C01,BUY,lots,10.5,105.0,1780000000250\n");
    std::fs::write(&csv, text).unwrap();
    let data = dir.path().join("data");
    let ingest = || {
        Command::new(env!("CARGO_BIN_EXE_gamay"))
            .args([
                "ingest",
                "--table",
                "stock_transactions",
                "--segment-rows",
                "100",
                "--data-dir",
            ])
            .arg(&data)
            .arg(&csv)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };

    let server = Server::start(&data);
    assert_eq!(server.call("POST", "/schemas", BENCH_SCHEMA).0, 200);
    assert_eq!(server.call("POST", "/tables", BENCH_TABLE).0, 200);
    // The running server owns the data directory.
    let refused = ingest();
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("in use by another gamay process"),
        "{message}"
    );
    assert!(message.contains("/ingestFromFile"), "{message}");
    server.kill9();

    let loaded = ingest();
    let stdout = String::from_utf8_lossy(&loaded.stdout);
    assert!(
        loaded.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    assert!(stdout.contains("250 rows"), "{stdout}");
    assert!(stdout.contains("into 3 segment(s)"), "{stdout}");
    assert!(
        stdout.contains("1 bad rows skipped; first: row 251: column `shares`"),
        "{stdout}"
    );

    let server = Server::start(&data);
    let (status, segments) = server.call("GET", "/segments/stock_transactions", "");
    assert_eq!(status, 200);
    assert_eq!(segments[0]["OFFLINE"].as_array().unwrap().len(), 3);
}
