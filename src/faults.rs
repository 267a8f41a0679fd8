//! Fault points in the seal and export paths, for crash tests.
//!
//! `GAMAY_FAULT=<point>@<n>` in the environment makes the process abort
//! (as `kill -9` would stop it) the `n`-th time execution reaches `<point>`
//! (`n` defaults to 1). Points: `seal.before_write` (a segment is about to
//! be written), `seal.after_write` (its file is in place, not committed),
//! `seal.after_commit` (committed; the consumer has not been told yet),
//! `seal.before_commit` (in a cluster: the file is written, the commit to
//! the cluster not asked yet),
//! `seal.after_snapshot` (an upsert table's snapshot is written, the
//! segment not committed),
//! `export.after_put` (an S3 sink published one more object),
//! `export.before_commit` (a JDBC sink wrote a segment's rows, not committed),
//! `export.after_write` (a segment is in the target; the connector's state
//! file does not say so yet).
//! With `GAMAY_FAULT_STALL_MS=<ms>` as well, the point stalls its thread
//! that long instead of aborting (a server slow to commit, for tests that
//! stop it meanwhile). Without `GAMAY_FAULT` every point is a no-op.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

struct Armed {
    point: String,
    at: u64,
    hits: AtomicU64,
}

fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let spec = std::env::var("GAMAY_FAULT").ok()?;
            let (point, at) = match spec.split_once('@') {
                Some((point, at)) => (point.to_string(), at.trim().parse().unwrap_or(1)),
                None => (spec, 1),
            };
            Some(Armed {
                point,
                at,
                hits: AtomicU64::new(0),
            })
        })
        .as_ref()
}

/// Marks `point`; aborts the process if the fault armed there is due.
pub fn reach(point: &str) {
    let Some(armed) = armed() else { return };
    if armed.point != point {
        return;
    }
    if armed.hits.fetch_add(1, Ordering::SeqCst) + 1 == armed.at {
        let stall = std::env::var("GAMAY_FAULT_STALL_MS")
            .ok()
            .and_then(|ms| ms.trim().parse::<u64>().ok());
        if let Some(ms) = stall {
            eprintln!("gamay: fault point {point} reached; stalling {ms} ms");
            std::thread::sleep(std::time::Duration::from_millis(ms));
            return;
        }
        eprintln!("gamay: fault point {point} reached; aborting");
        std::process::abort();
    }
}
