//! Exactly-once across crashes of the real `gamay serve` process: killed
//! with SIGKILL mid-segment, and aborted at each fault point of the seal
//! path. After a restart the table holds every produced message once:
//! COUNT(*), SUM(id) and COUNT(DISTINCT id) match what was produced.

mod kafka;

use std::time::Duration;

use kafka::*;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

fn crash_and_recover(fault: Option<&str>) {
    let cluster = cluster("trades", 2);
    let producer = producer(&cluster);
    let dir = tempfile::tempdir().unwrap();
    let mut server = Process::start(dir.path(), fault);
    create(
        &server.url,
        &table(
            &cluster,
            "trades",
            json!({"realtime.segment.flush.threshold.segment.rows": "300"}),
        ),
    );
    produce(
        &producer,
        "trades",
        &(0..2000).map(trade).collect::<Vec<_>>(),
        None,
    );
    match fault {
        Some(fault) => assert!(
            server.wait_for_exit(WAIT),
            "the server did not reach fault point {fault}"
        ),
        None => {
            // Mid-segment: some rows sealed, some only in consuming segments.
            assert!(wait_until(WAIT, || totals(&server.url).0 >= 1000));
            server.kill9();
        }
    }
    drop(server);

    produce(
        &producer,
        "trades",
        &(2000..2500).map(trade).collect::<Vec<_>>(),
        None,
    );
    let server = Process::start(dir.path(), None);
    let want = expected(0..2500);
    assert!(
        wait_until(WAIT, || totals(&server.url) == want),
        "after {fault:?}: {:?} != {want:?}",
        totals(&server.url)
    );
    // Nothing arrives twice later either (consumption is idle at the end).
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(totals(&server.url), want, "after {fault:?}");
    // Once sealing settles: no temporary file is left, and every segment
    // file is one the manifest lists (the crash's uncommitted file is gone).
    let listing = || -> Vec<String> {
        std::fs::read_dir(
            dir.path()
                .join("tables/stock_transactions_REALTIME/segments"),
        )
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
    };
    assert!(
        wait_until(WAIT, || {
            let files = listing();
            files.iter().all(|name| !name.contains(".tmp-"))
                && files.len() == sealed_segments(&server.url).len()
                && files.len() == 8
        }),
        "after {fault:?}: files {:?}, sealed {}",
        listing(),
        sealed_segments(&server.url).len()
    );
}

#[test]
fn kill_9_mid_segment() {
    crash_and_recover(None);
}

#[test]
fn abort_before_a_segment_is_written() {
    crash_and_recover(Some("seal.before_write@2"));
}

#[test]
fn abort_after_the_file_is_written_before_commit() {
    crash_and_recover(Some("seal.after_write@3"));
}

#[test]
fn abort_after_commit() {
    crash_and_recover(Some("seal.after_commit@2"));
}
