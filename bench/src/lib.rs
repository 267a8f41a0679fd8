//! `gamay-bench` (run as `gamay bench`): one command that measures what
//! Gamay's targets are stated in, from outside, as a user would. It
//! generates (or reads) the peer kit's `stock_transactions` rows, starts
//! `gamay serve` as a child process, loads the rows through the HTTP API
//! (batch ingestion) and through Kafka (librdkafka's mock cluster), and
//! measures batch and Kafka ingest rates, freshness, per-query latency,
//! throughput and latency at 1–64 concurrent clients, segment bytes per row
//! and the server's peak memory; with Python and the peers installed, it
//! runs the kit's `peers.py` on the same file in the same run and checks
//! each query's answer against DuckDB's. It writes `report.json`,
//! `report.md` and SVG charts. With `--cluster`, it compares a single node
//! with a cluster of processes on this machine instead ([`cluster`]).
//!
//! This crate owns the harness; it talks to Gamay only over HTTP and never
//! links the server.

pub mod answers;
pub mod charts;
pub mod cluster;
pub mod data;
mod error;
pub mod isolation;
pub mod kafka;
pub mod load;
pub mod peers;
pub mod report;
pub mod server;
pub mod upsert;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

pub use error::BenchError;
use load::Query;
use report::{BatchIngest, DataSet, Machine, Memory, Mix, Peers, Report};
use server::{Client, ServerProcess};

/// The kit's queries, bundled.
pub const QUERIES_SQL: &str = include_str!("../../benches/data/queries.sql");
pub(crate) const SCHEMA: &str = include_str!("../../benches/data/stock_transactions.schema.json");
const OFFLINE_TABLE: &str = include_str!("../../benches/data/stock_transactions.offline.json");
/// The most concurrent clients asked for (each is a thread).
const MAX_CLIENTS: usize = 1024;
/// The queries of the "selective" mix: what a dashboard tile asks.
const SELECTIVE: [&str; 4] = ["q1", "q3", "q7", "q8"];

/// What to run; `gamay bench --help` describes each.
#[derive(Clone, Debug)]
pub struct Options {
    pub rows: usize,
    pub input: Option<PathBuf>,
    pub out: PathBuf,
    /// The `gamay` binary to start as the server.
    pub program: PathBuf,
    pub runs: usize,
    pub clients: Vec<usize>,
    pub seconds: f64,
    /// Peer engines for `peers.py`; empty runs none.
    pub peers: Vec<String>,
    pub python: String,
    pub kit: Option<PathBuf>,
    pub queries: Option<PathBuf>,
    /// Messages through Kafka; 0 skips Kafka and freshness.
    pub kafka_rows: usize,
    pub fresh_rate: u64,
    /// 0 skips freshness.
    pub fresh_seconds: f64,
    /// Seconds of each half of the isolation phase; 0 skips it.
    pub isolation_seconds: f64,
}

/// One line of progress on stderr.
pub(crate) fn step(message: impl std::fmt::Display) {
    eprintln!("bench: {message}");
}

/// Runs every phase and writes the report, charts included, into `out`.
pub fn run(options: &Options) -> Result<Report, BenchError> {
    check(options)?;
    std::fs::create_dir_all(&options.out).map_err(|err| BenchError::io(&options.out, err))?;
    let started = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let (queries_path, queries) = queries(options)?;
    let data = dataset(options)?;
    let parquet = PathBuf::from(&data.source_path);

    let server = ServerProcess::start(&options.program, &options.out.join("server-data"))?;
    step(format!("server at {}", server.url));
    let client = Client::new(&server.url);
    let mut memory = Memory::default();

    let reset = server.reset_peak_memory();
    let batch = batch_ingest(&server, &client, &parquet, data.set.rows)?;
    memory.batch_ingest = server.peak_memory(reset);
    step(format!(
        "batch ingest: {} rows/s, {:.1} bytes per row",
        report::grouped(batch.rows_per_second),
        batch.bytes_per_row
    ));
    std::thread::sleep(Duration::from_millis(500));
    memory.after_load = server.memory();

    let reset = server.reset_peak_memory();
    step(format!("queries: {} runs each", options.runs));
    let latencies = load::latencies(&client, &queries, options.runs)?;
    let mut concurrency = Vec::new();
    for (name, mix) in mixes(&queries) {
        let mut levels = Vec::new();
        for &clients in &options.clients {
            let plural = if clients == 1 { "" } else { "s" };
            step(format!("{name} mix, {clients} client{plural}"));
            let duration = Duration::from_secs_f64(options.seconds);
            levels.push(load::concurrency(&server.url, &mix, clients, duration)?);
        }
        concurrency.push(Mix {
            name: name.to_string(),
            queries: mix.iter().map(|q| q.name.clone()).collect(),
            seconds_per_level: options.seconds,
            levels,
        });
    }
    let isolation = (options.isolation_seconds > 0.0).then(|| {
        let clients = options.clients.iter().copied().max().unwrap_or(16).min(16);
        step(format!(
            "isolation: the selective mix from {clients} clients, alone and beside a runaway join"
        ));
        let (_, mix) = mixes(&queries)
            .pop()
            .unwrap_or(("all queries", queries.clone()));
        isolation::run(
            &server.url,
            &mix,
            clients,
            Duration::from_secs_f64(options.isolation_seconds),
        )
        .map_err(|err| {
            step(&err);
            err.to_string()
        })
    });
    memory.queries = server.peak_memory(reset);

    let peers = (!options.peers.is_empty()).then(|| {
        step(format!("peers.py: {}", options.peers.join(", ")));
        peers::harness(options.kit.as_deref(), &options.out)
            .and_then(|script| {
                peers::run(
                    &options.python,
                    &script,
                    &parquet,
                    &queries_path,
                    &options.peers,
                    &server.url,
                )
            })
            .map(|times| Peers {
                ratios: times.ratios(),
                times,
            })
            .map_err(|err| {
                step(format!("{err}"));
                err.to_string()
            })
    });

    let answers = options.peers.iter().any(|peer| peer == "duckdb").then(|| {
        step("answers: each query's against DuckDB's");
        check_answers(options, &parquet, &queries_path, &latencies).map_err(|err| {
            step(&err);
            err.to_string()
        })
    });
    if let Some(Ok(checks)) = &answers {
        for check in checks.iter().filter(|check| check.differs()) {
            step(check.line());
        }
    }

    // The cluster outlives the server, whose consumers would otherwise
    // report its loss on the way out.
    let mut cluster = None;
    let mut upsert_report = None;
    let (kafka, freshness) = if options.kafka_rows > 0 {
        let reset = server.reset_peak_memory();
        let limit = options.kafka_rows.min(data.set.rows);
        step(format!("Kafka: {} messages", report::grouped(limit as f64)));
        // A failure here is reported with the figures already measured.
        let failed = |err: BenchError| {
            step(&err);
            err.to_string()
        };
        let ingest = kafka::Kafka::start().and_then(|started| {
            let ingest = kafka::ingest(&started, &client, &parquet, limit);
            cluster = Some(started);
            ingest
        });
        let ingest = ingest.map_err(failed);
        let upsert_phase = match (&cluster, &ingest) {
            (Some(cluster), Ok(ingested)) => {
                step(format!(
                    "upsert table: {} messages",
                    report::grouped(ingested.messages as f64)
                ));
                Some(
                    upsert::run(
                        &cluster.brokers(),
                        &client,
                        ingested.messages,
                        &queries,
                        options.runs,
                    )
                    .map_err(failed),
                )
            }
            _ => None,
        };
        upsert_report = upsert_phase;
        let freshness = match &cluster {
            Some(cluster) if options.fresh_seconds > 0.0 => {
                step(format!("freshness at {} messages/s", options.fresh_rate));
                Some(
                    kafka::freshness(
                        cluster,
                        &client,
                        options.fresh_rate,
                        Duration::from_secs_f64(options.fresh_seconds),
                    )
                    .map_err(failed),
                )
            }
            _ => None,
        };
        memory.kafka = server.peak_memory(reset);
        (Some(ingest), freshness)
    } else {
        (None, None)
    };
    memory.peak = [memory.batch_ingest, memory.queries, memory.kafka]
        .into_iter()
        .flatten()
        .max();
    drop(server);
    drop(cluster);

    let mut report = Report {
        started,
        machine: Machine::this(&options.program),
        data: data.set,
        batch: Some(batch),
        queries: latencies,
        answers,
        concurrency,
        isolation,
        peers,
        kafka,
        upsert: upsert_report,
        freshness,
        memory,
        charts: Vec::new(),
    };
    for chart in charts::write_all(&report, &options.out)? {
        if let Some(name) = chart.file_name() {
            report.charts.push(name.to_string_lossy().into_owned());
        }
    }
    write(
        &options.out.join("report.json"),
        &serde_json::to_vec_pretty(&report).unwrap_or_default(),
    )?;
    write(&options.out.join("report.md"), report.markdown().as_bytes())?;
    Ok(report)
}

/// Refuses options out of range, naming the flag.
pub(crate) fn check(options: &Options) -> Result<(), BenchError> {
    if options.clients.is_empty() || options.clients.iter().any(|&c| c == 0 || c > MAX_CLIENTS) {
        return Err(BenchError::Usage(format!(
            "--clients takes numbers from 1 to {MAX_CLIENTS}, e.g. 1,4,16,64"
        )));
    }
    let seconds = |value: f64| value.is_finite() && (0.0..=86_400.0).contains(&value);
    if !seconds(options.seconds) || options.seconds < 0.1 {
        return Err(BenchError::Usage(format!(
            "--seconds {} must be at least 0.1 seconds, e.g. 5",
            options.seconds
        )));
    }
    if !seconds(options.fresh_seconds) {
        return Err(BenchError::Usage(format!(
            "--fresh-seconds {} must be 0 (skip) or a positive number of seconds, e.g. 10",
            options.fresh_seconds
        )));
    }
    if !seconds(options.isolation_seconds) {
        return Err(BenchError::Usage(format!(
            "--isolation-seconds {} must be 0 (skip) or a positive number of seconds, e.g. 10",
            options.isolation_seconds
        )));
    }
    if options.runs == 0 {
        return Err(BenchError::Usage("--runs must be at least 1".into()));
    }
    if options.rows == 0 {
        return Err(BenchError::Usage("--rows must be at least 1".into()));
    }
    let samples = options.fresh_rate as f64 * options.fresh_seconds / 1000.0;
    if options.kafka_rows > 0 && options.fresh_seconds > 0.0 && samples < 2.0 {
        return Err(BenchError::Usage(format!(
            "--fresh-rate {} for --fresh-seconds {} sends too few messages to measure: \
             freshness samples every 1000th, so send at least 2000 (or --fresh-seconds 0 to skip)",
            options.fresh_rate, options.fresh_seconds
        )));
    }
    if let Some(kit) = &options.kit {
        if !kit.join("peers.py").is_file() {
            return Err(BenchError::Usage(format!(
                "--kit {}: no peers.py there; give the peer kit's directory",
                kit.display()
            )));
        }
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), BenchError> {
    std::fs::write(path, bytes).map_err(|err| BenchError::io(path, err))
}

/// Each query's answer, as Gamay gave it in the latency phase, against
/// DuckDB's on the same file through the kit's harness.
fn check_answers(
    options: &Options,
    parquet: &Path,
    queries_path: &Path,
    latencies: &[load::QueryLatency],
) -> Result<Vec<answers::Check>, BenchError> {
    let script = peers::harness(options.kit.as_deref(), &options.out)?;
    let duckdb = peers::duckdb_answers(
        &options.python,
        &script,
        &options.out,
        parquet,
        queries_path,
    )?;
    if duckdb.len() != latencies.len() {
        return Err(BenchError::Peers(format!(
            "DuckDB answered {} queries of {}",
            duckdb.len(),
            latencies.len()
        )));
    }
    Ok(latencies
        .iter()
        .zip(duckdb)
        .map(|(ours, theirs)| answers::Check {
            query: ours.query.name.clone(),
            title: ours.query.title.clone(),
            outcome: match theirs {
                Ok(rows) => answers::compare(&ours.query.sql, &ours.answer, &rows),
                Err(reason) => answers::Outcome::Unchecked { reason },
            },
        })
        .collect())
}

/// The queries to run and the file `peers.py` reads them from.
pub(crate) fn queries(options: &Options) -> Result<(PathBuf, Vec<Query>), BenchError> {
    let (path, text) = match &options.queries {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|err| BenchError::io(path, err))?;
            (path.clone(), text)
        }
        None => {
            let path = options.out.join("gamay-bench-queries.sql");
            write(&path, QUERIES_SQL.as_bytes())?;
            (path, QUERIES_SQL.to_string())
        }
    };
    let queries = load::parse_queries(&text);
    if queries.is_empty() {
        return Err(BenchError::Data {
            path,
            message:
                "no queries: expected `-- qN title` comments, each followed by one line of SQL"
                    .into(),
        });
    }
    Ok((path, queries))
}

/// The "all" mix and, when the queries have them, the "selective" one.
pub(crate) fn mixes(queries: &[Query]) -> Vec<(&'static str, Vec<Query>)> {
    let selective: Vec<Query> = queries
        .iter()
        .filter(|q| SELECTIVE.contains(&q.name.as_str()))
        .cloned()
        .collect();
    let mut mixes = vec![("all queries", queries.to_vec())];
    if !selective.is_empty() && selective.len() < queries.len() {
        mixes.push(("selective", selective));
    }
    mixes
}

pub(crate) struct Prepared {
    pub(crate) set: DataSet,
    pub(crate) source_path: String,
}

/// The Parquet file to load: `--input`, or generated rows cached in `out`.
pub(crate) fn dataset(options: &Options) -> Result<Prepared, BenchError> {
    let (path, source) = match &options.input {
        Some(path) => (path.clone(), format!("{}", path.display())),
        None => {
            let path = options.out.join(format!("stock_{}.parquet", options.rows));
            let cached = path.exists() && data::parquet_rows(&path).ok() == Some(options.rows);
            if !cached {
                step(format!(
                    "generating {} rows",
                    report::grouped(options.rows as f64)
                ));
                let batches = data::generate(options.rows, 42);
                data::write_parquet(&batches, &path)?;
            }
            (path, "generated like gen_stock.py, seed 42".to_string())
        }
    };
    data::check_columns(&path)?;
    let rows = data::parquet_rows(&path)?;
    if rows == 0 {
        return Err(BenchError::Data {
            path,
            message: "the file holds no rows".into(),
        });
    }
    let parquet_bytes = std::fs::metadata(&path)
        .map_err(|err| BenchError::io(&path, err))?
        .len();
    let absolute = std::fs::canonicalize(&path).map_err(|err| BenchError::io(&path, err))?;
    Ok(Prepared {
        set: DataSet {
            source,
            rows,
            parquet_bytes,
        },
        source_path: absolute.to_string_lossy().into_owned(),
    })
}

/// Creates the OFFLINE table and posts the file to `/ingestFromFile`.
fn batch_ingest(
    server: &ServerProcess,
    client: &Client,
    parquet: &Path,
    rows: usize,
) -> Result<BatchIngest, BenchError> {
    let bundled = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap_or(json!({}));
    client.post("/schemas", &bundled(SCHEMA))?;
    client.post("/tables", &bundled(OFFLINE_TABLE))?;
    step(format!("batch ingest of {}", parquet.display()));
    let started = Instant::now();
    let answer = client.post_file(
        "/ingestFromFile?tableNameWithType=stock_transactions_OFFLINE&batchConfigMapStr=%7B%22inputFormat%22%3A%22parquet%22%7D",
        parquet,
    )?;
    let seconds = started.elapsed().as_secs_f64();
    let counted = client
        .scalar("SELECT COUNT(*) FROM stock_transactions")?
        .unwrap_or(0.0) as usize;
    if counted != rows {
        return Err(BenchError::Server(format!(
            "the table counts {counted} rows after loading {rows}: {answer}"
        )));
    }
    let table_dir = Path::new("tables").join("stock_transactions_OFFLINE");
    let segments = std::fs::read_dir(server.data_dir.join(&table_dir).join("segments"))
        .map(|dir| {
            dir.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "seg"))
                .count()
        })
        .unwrap_or(0);
    let segment_bytes = server.disk_bytes(&table_dir.to_string_lossy());
    let parquet_bytes = std::fs::metadata(parquet).map_or(0, |meta| meta.len());
    Ok(BatchIngest {
        rows,
        seconds,
        rows_per_second: rows as f64 / seconds,
        segments,
        segment_bytes,
        bytes_per_row: segment_bytes as f64 / rows as f64,
        parquet_ratio: segment_bytes as f64 / parquet_bytes.max(1) as f64,
    })
}
