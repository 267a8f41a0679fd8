//! A client that disconnects stops its query: the real `gamay serve`
//! process drops the request's future when the connection closes, and the
//! query's work stops on every core (`gamay_queries_running` returns to 0).

#[path = "process/mod.rs"]
mod process;

use std::io::Write;
use std::net::TcpStream;
use std::process::Child;
use std::time::{Duration, Instant};

const SCHEMA: &str = include_str!("../benches/data/stock_transactions.schema.json");
const TABLE: &str = include_str!("../benches/data/stock_transactions.offline.json");

/// 3,000³ rows to filter: minutes of work unless it is stopped.
const ENDLESS_JOIN: &str = "SELECT COUNT(*) FROM stock_transactions a, stock_transactions b, stock_transactions c WHERE a.price + b.price + c.price > 0";

struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(data_dir: &std::path::Path) -> Server {
        let (child, url) = process::serve(data_dir, "127.0.0.1:0", &[]);
        Server { child, url }
    }

    fn post(&self, path: &str, content_type: &str, body: &[u8]) -> u16 {
        let response = ureq::post(&format!("{}{path}", self.url))
            .timeout(Duration::from_secs(60))
            .set("Content-Type", content_type)
            .send_bytes(body);
        match response {
            Ok(response) => response.status(),
            Err(ureq::Error::Status(status, _)) => status,
            Err(err) => panic!("POST {path}: {err}"),
        }
    }

    fn queries_running(&self) -> u64 {
        let text = ureq::get(&format!("{}/metrics", self.url))
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix("gamay_queries_running "))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no gamay_queries_running in {text}"))
    }

    /// Waits (generously: the state change is what counts) until
    /// `gamay_queries_running` is `running`.
    fn until_running(&self, running: u64, what: &str) {
        let started = Instant::now();
        while self.queries_running() != running {
            assert!(started.elapsed() < Duration::from_secs(60), "{what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn csv_rows(count: usize) -> String {
    let mut csv =
        String::from("id,user_id,symbol,exchange,country,side,shares,price,purchase,update_at\n");
    for i in 0..count {
        csv.push_str(&format!(
            "{i},{},S{:04},NYSE,C01,BUY,{},{:.2},10.5,{}\n",
            i % 37,
            i % 11,
            i % 100 + 1,
            10.0 + (i % 50) as f64 / 4.0,
            1_780_000_000_000i64 + i as i64 * 60_000,
        ));
    }
    csv
}

#[test]
fn a_client_that_disconnects_stops_its_query() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    assert_eq!(
        server.post("/schemas", "application/json", SCHEMA.as_bytes()),
        200
    );
    assert_eq!(
        server.post("/tables", "application/json", TABLE.as_bytes()),
        200
    );
    let boundary = "gamayfile";
    let upload = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"rows.csv\"\r\n\r\n{}\r\n--{boundary}--\r\n",
        csv_rows(3000)
    );
    let status = server.post(
        "/ingestFromFile?tableNameWithType=stock_transactions_OFFLINE",
        &format!("multipart/form-data; boundary={boundary}"),
        upload.as_bytes(),
    );
    assert_eq!(status, 200);

    let body = serde_json::json!({
        "sql": ENDLESS_JOIN,
        "queryOptions": "timeoutMs=3600000;maxRowsInJoin=1000000000000000",
    })
    .to_string();
    let address = server.url.trim_start_matches("http://");
    let mut client = TcpStream::connect(address).unwrap();
    write!(
        client,
        "POST /query HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    server.until_running(1, "the join never started");
    drop(client);
    server.until_running(0, "the join of a client that went away is still running");
}
