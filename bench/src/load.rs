//! Query load: the peer kit's queries one at a time over a kept-alive
//! connection (latency percentiles), and the same queries from 1, 4, 16, 64
//! concurrent clients (throughput and latency under load).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::server::Client;
use super::BenchError;

/// One query of the kit's `queries.sql`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Query {
    /// `q1` .. `q10`.
    pub name: String,
    /// The comment above it, without the name.
    pub title: String,
    pub sql: String,
}

/// Parses `queries.sql`: a `-- qN title` comment, then one line of SQL.
pub fn parse_queries(text: &str) -> Vec<Query> {
    let mut queries = Vec::new();
    let mut comment: Option<String> = None;
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
        if let Some(rest) = line.strip_prefix("--") {
            comment = Some(rest.trim().to_string());
            continue;
        }
        let comment = comment.take().unwrap_or_default();
        let (name, title) = match comment.split_once(char::is_whitespace) {
            Some((name, title)) => (name.to_string(), title.trim().to_string()),
            None if !comment.is_empty() => (comment, String::new()),
            None => (format!("q{}", queries.len() + 1), String::new()),
        };
        queries.push(Query {
            name,
            title,
            sql: line.to_string(),
        });
    }
    queries
}

/// Latency percentiles of one set of runs, milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Latency {
    pub runs: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    /// Nearest-rank percentiles of `times` (milliseconds).
    pub fn of(mut times: Vec<f64>) -> Latency {
        if times.is_empty() {
            return Latency::default();
        }
        times.sort_by(f64::total_cmp);
        let rank =
            |p: f64| times[((p * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1];
        Latency {
            runs: times.len(),
            p50_ms: rank(0.5),
            p99_ms: rank(0.99),
            min_ms: times[0],
            max_ms: times[times.len() - 1],
        }
    }
}

/// One query's latency, alone on one kept-alive connection.
#[derive(Clone, Debug, Serialize)]
pub struct QueryLatency {
    pub query: Query,
    pub latency: Latency,
    /// Rows in its answer.
    pub rows: usize,
    /// The answer's rows (`resultTable.rows`), for checking against DuckDB's.
    #[serde(skip)]
    pub answer: Vec<serde_json::Value>,
}

/// Runs each query once to warm up, then `runs` times, one at a time.
pub fn latencies(
    client: &Client,
    queries: &[Query],
    runs: usize,
) -> Result<Vec<QueryLatency>, BenchError> {
    queries
        .iter()
        .map(|query| {
            let named = |err: BenchError| match err {
                BenchError::Query { sql, message } => BenchError::Query {
                    sql: format!("{} {sql}", query.name),
                    message,
                },
                other => other,
            };
            let answer = client.query(&query.sql).map_err(named)?;
            let answer = answer["resultTable"]["rows"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut times = Vec::with_capacity(runs);
            for _ in 0..runs {
                let started = Instant::now();
                client.query(&query.sql).map_err(named)?;
                times.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            Ok(QueryLatency {
                query: query.clone(),
                latency: Latency::of(times),
                rows: answer.len(),
                answer,
            })
        })
        .collect()
}

/// Throughput and latency of one mix at one number of clients.
#[derive(Clone, Debug, Serialize)]
pub struct Concurrency {
    pub clients: usize,
    pub queries_per_second: f64,
    pub latency: Latency,
    pub errors: usize,
}

/// `clients` threads, each on its own kept-alive connection, send the
/// mix's queries back to back (each starting at a different one) for
/// `duration`. Only queries that finish within it count.
pub fn concurrency(
    url: &str,
    mix: &[Query],
    clients: usize,
    duration: Duration,
) -> Result<Concurrency, BenchError> {
    if mix.is_empty() {
        return Err(BenchError::Usage("a mix without queries".into()));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut threads = Vec::with_capacity(clients);
    for client in 0..clients {
        let (halt, mix) = (stop.clone(), mix.to_vec());
        let connection = Client::new(url);
        let thread = std::thread::Builder::new()
            .name(format!("bench-client-{client}"))
            .stack_size(256 << 10)
            .spawn(move || {
                let mut times = Vec::new();
                let mut errors = 0usize;
                let mut first_error = None;
                let mut next = client % mix.len();
                while !halt.load(Ordering::Acquire) {
                    let begun = Instant::now();
                    let result = connection.query(&mix[next].sql);
                    if started.elapsed() <= duration {
                        match result {
                            Ok(_) => times.push(begun.elapsed().as_secs_f64() * 1000.0),
                            Err(err) => {
                                errors += 1;
                                first_error.get_or_insert(err);
                            }
                        }
                    }
                    next = (next + 1) % mix.len();
                }
                (times, errors, first_error)
            });
        match thread {
            Ok(thread) => threads.push(thread),
            Err(err) => {
                stop.store(true, Ordering::Release);
                return Err(BenchError::Usage(format!(
                    "cannot start client thread {} of {clients}: {err}; use fewer --clients",
                    client + 1
                )));
            }
        }
    }
    std::thread::sleep(duration.saturating_sub(started.elapsed()));
    stop.store(true, Ordering::Release);
    let mut all = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for thread in threads {
        let (times, failed, error) = thread
            .join()
            .map_err(|_| BenchError::Server("a client thread panicked".into()))?;
        all.extend(times);
        errors += failed;
        first_error = first_error.or(error);
    }
    if let Some(error) = &first_error {
        super::step(format!(
            "{errors} queries failed with {clients} clients; the first: {error}"
        ));
    }
    if all.is_empty() {
        return Err(first_error.unwrap_or_else(|| {
            BenchError::Server(format!(
                "no query finished within {:.1} s with {clients} clients; raise --seconds",
                duration.as_secs_f64()
            ))
        }));
    }
    Ok(Concurrency {
        clients,
        queries_per_second: all.len() as f64 / duration.as_secs_f64(),
        latency: Latency::of(all),
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_kit_queries() {
        let queries = parse_queries(include_str!("../../benches/data/queries.sql"));
        assert_eq!(queries.len(), 10);
        assert_eq!(queries[0].name, "q1");
        assert_eq!(queries[0].title, "count");
        assert_eq!(queries[0].sql, "SELECT COUNT(*) FROM stock_transactions");
        assert_eq!(queries[9].name, "q10");
        assert!(queries.iter().all(|q| q.sql.starts_with("SELECT")));
    }

    #[test]
    fn queries_without_comments_are_numbered() {
        let queries = parse_queries("SELECT 1\n\n-- q7 latest\nSELECT 2\nSELECT 3\n");
        let names: Vec<_> = queries.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(names, ["q1", "q7", "q3"]);
        assert_eq!(queries[1].title, "latest");
    }

    #[test]
    fn nearest_rank_percentiles() {
        let latency = Latency::of((1..=100).rev().map(f64::from).collect());
        assert_eq!(latency.p50_ms, 50.0);
        assert_eq!(latency.p99_ms, 99.0);
        assert_eq!(latency.min_ms, 1.0);
        assert_eq!(latency.max_ms, 100.0);
        let one = Latency::of(vec![3.0]);
        assert_eq!((one.p50_ms, one.p99_ms), (3.0, 3.0));
        assert_eq!(Latency::of(Vec::new()).runs, 0);
    }
}
