//! The real `gamay serve` process: configs survive a restart, a kill -9 in
//! the middle of writes, and SIGTERM shuts down cleanly.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
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
        let mut child = Command::new(env!("CARGO_BIN_EXE_gamay"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn gamay");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("gamay listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
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
    let deadline = Instant::now() + Duration::from_secs(10);
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
