//! Workload isolation: the dashboard ("selective") mix from many clients,
//! alone and then while a runaway join runs again and again on the
//! multi-stage engine. The join must fail alone, on its memory limit
//! (error 245), while the light queries' p99 stays close to the first.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use super::load::{self, Concurrency, Query};
use super::server::Client;
use super::BenchError;

/// A self-join on a column with 50 values and a group per pair of ids: its
/// state grows until the query's memory limit (`maxQueryMemoryBytes`,
/// 1 GiB by default) stops it.
pub const RUNAWAY: &str = "SELECT a.id, b.id, COUNT(*) FROM stock_transactions a \
     JOIN stock_transactions b ON a.country = b.country GROUP BY a.id, b.id";

/// The figures of one isolation run.
#[derive(Clone, Debug, Serialize)]
pub struct Isolation {
    /// The light mix alone.
    pub alone: Concurrency,
    /// The light mix while the runaway join runs.
    pub with_runaway: Concurrency,
    /// The runaway join.
    pub runaway_sql: String,
    /// How each run of the runaway ended: Pinot's error code, or 0 for an
    /// answer, with the count.
    pub runaway_outcomes: BTreeMap<i64, usize>,
    /// Mean seconds of one runaway run.
    pub runaway_seconds: f64,
    /// `with_runaway` p99 over `alone` p99.
    pub p99_ratio: f64,
}

/// Runs `mix` from `clients` clients for `duration`, alone and then with
/// one more client sending [`RUNAWAY`] back to back.
pub fn run(
    url: &str,
    mix: &[Query],
    clients: usize,
    duration: Duration,
) -> Result<Isolation, BenchError> {
    let alone = load::concurrency(url, mix, clients, duration)?;
    let stop = Arc::new(AtomicBool::new(false));
    // The join's own timeout ends it with the phase if its memory limit
    // has not (a small data set may not reach it).
    let ends = Instant::now() + duration + Duration::from_secs(1);
    let runaway = {
        let (stop, client) = (stop.clone(), Client::new(url));
        std::thread::Builder::new()
            .name("bench-runaway".into())
            .spawn(move || {
                let mut outcomes = BTreeMap::new();
                let mut seconds = Vec::new();
                while !stop.load(Ordering::Acquire) {
                    let started = Instant::now();
                    let timeout = ends.saturating_duration_since(started).as_millis().max(1);
                    let code = client.error_code(&json!({
                        "sql": RUNAWAY,
                        "queryOptions": format!("useMultistageEngine=true;timeoutMs={timeout}"),
                    }));
                    seconds.push(started.elapsed().as_secs_f64());
                    *outcomes.entry(code?.unwrap_or(0)).or_insert(0) += 1;
                }
                Ok::<_, BenchError>((outcomes, seconds))
            })
            .map_err(|err| BenchError::Server(format!("cannot start the runaway client: {err}")))?
    };
    // The join is running (and growing) before the light clients start.
    std::thread::sleep(Duration::from_millis(500));
    let with_runaway = load::concurrency(url, mix, clients, duration);
    stop.store(true, Ordering::Release);
    let (runaway_outcomes, seconds) = runaway
        .join()
        .map_err(|_| BenchError::Server("the runaway client panicked".into()))??;
    let with_runaway = with_runaway?;
    let p99_ratio = with_runaway.latency.p99_ms / alone.latency.p99_ms.max(f64::MIN_POSITIVE);
    Ok(Isolation {
        alone,
        with_runaway,
        runaway_sql: RUNAWAY.to_string(),
        runaway_outcomes,
        runaway_seconds: seconds.iter().sum::<f64>() / seconds.len().max(1) as f64,
        p99_ratio,
    })
}
