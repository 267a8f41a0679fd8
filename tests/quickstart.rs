//! `gamay quickstart` with nothing installed: the embedded Kafka cluster,
//! the generator and the server come up, trades become queryable and keep
//! arriving, and SIGTERM stops it all cleanly.

mod kafka;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use kafka::{row, wait_until};

/// Kills the quickstart if the test fails before stopping it, so a failure
/// never leaves it running.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn quickstart_streams_trades_into_a_queryable_table() {
    let child = Command::new(env!("CARGO_BIN_EXE_gamay"))
        .args(["quickstart", "--listen", "127.0.0.1:0", "--rate", "500"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn gamay quickstart");
    let mut child = KillOnDrop(child);
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("gamay listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    let mut banner = String::new();
    while !banner.contains("/query/sql") {
        let read = stdout.read_line(&mut banner).unwrap();
        assert!(read > 0 && banner.len() < 4096, "no query in {banner}");
    }
    assert!(banner.contains("embedded Kafka cluster"), "{banner}");
    assert!(banner.contains(&format!("console at {url}/")), "{banner}");

    let count = || {
        let row = row(
            &url,
            "SELECT COUNT(*), COUNT(DISTINCT id) FROM stock_transactions",
        );
        let count = row.first().and_then(|v| v.as_i64()).unwrap_or(0);
        let distinct = row.get(1).and_then(|v| v.as_i64()).unwrap_or(0);
        assert_eq!(count, distinct, "every trade id once");
        count
    };
    assert!(wait_until(Duration::from_secs(60), || count() > 100));
    let first = count();
    assert!(wait_until(Duration::from_secs(60), || count() > first));
    let top = row(
        &url,
        "SELECT symbol, SUM(shares) AS total_shares FROM stock_transactions GROUP BY symbol ORDER BY total_shares DESC LIMIT 10",
    );
    assert!(top[0].as_str().unwrap().starts_with('S'), "{top:?}");

    let status = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    for line in stdout.lines() {
        rest.push_str(&line.unwrap());
    }
    assert!(child.0.wait().unwrap().success());
    assert!(rest.contains("quickstart stopped"), "{rest}");
}
