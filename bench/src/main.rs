//! The `gamay-bench` binary (what `gamay bench` runs): the command line →
//! [`gamay_bench::Options`] → a run, its report printed, and a failing exit
//! when a query's answer differs from DuckDB's.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Measure Gamay on the peer kit's stock_transactions data: batch and
/// Kafka ingest, freshness, per-query latency, throughput at 1-64
/// clients, bytes per row, peak memory, and the peers (DuckDB, chDB,
/// DataFusion) in the same run, each query's answer checked against
/// DuckDB's. Writes report.md, report.json and SVG charts to --out. Use a
/// release build for figures worth quoting.
#[derive(Parser)]
#[command(name = "gamay bench", version, about, long_about = None)]
struct Args {
    /// Rows to generate (same columns, distributions and seed as the kit's gen_stock.py).
    #[arg(long, default_value_t = 10_000_000)]
    rows: usize,

    /// Load this Parquet file (e.g. gen_stock.py's output) instead of generating rows.
    #[arg(long)]
    input: Option<PathBuf>,

    /// Directory for the data, the server's data directory, the report and the charts.
    #[arg(long, default_value = "bench-results")]
    out: PathBuf,

    /// The gamay binary to start as the server (by default the one beside gamay-bench).
    #[arg(long, env = "GAMAY_BENCH_SERVER")]
    gamay: Option<PathBuf>,

    /// Runs of each query, one at a time, after a warm-up.
    #[arg(long, default_value_t = 100)]
    runs: usize,

    /// Numbers of concurrent HTTP clients (1 to 1024 each).
    #[arg(long, value_delimiter = ',', default_value = "1,4,16,64")]
    clients: Vec<usize>,

    /// Seconds at each number of clients.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,

    /// Peer engines for the kit's peers.py (duckdb, chdb, datafusion, datafusion-mem), or none. With duckdb, each query's answer is checked against DuckDB's.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "duckdb,chdb,datafusion,datafusion-mem"
    )]
    peers: Vec<String>,

    /// Report answers that differ from DuckDB's without failing.
    #[arg(long)]
    allow_answer_mismatch: bool,

    /// Python with the peers installed (pip install duckdb chdb datafusion pyarrow numpy).
    #[arg(long, env = "GAMAY_BENCH_PYTHON", default_value = "python3")]
    python: String,

    /// Directory of the peer kit whose peers.py to run (by default the copy bundled with gamay-bench).
    #[arg(long)]
    kit: Option<PathBuf>,

    /// Queries to run, in the kit's queries.sql format: a `-- qN title` comment, then the query on one line (by default the bundled copy).
    #[arg(long)]
    queries: Option<PathBuf>,

    /// Rows sent through Kafka (the embedded cluster keeps about 2M of them); 0 skips Kafka and freshness.
    #[arg(long, default_value_t = 1_000_000)]
    kafka_rows: usize,

    /// Messages per second while measuring freshness.
    #[arg(long, default_value_t = 100_000)]
    fresh_rate: u64,

    /// Seconds of freshness measurement; 0 skips it.
    #[arg(long, default_value_t = 10.0)]
    fresh_seconds: f64,

    /// Seconds of each half of the isolation phase (the selective mix alone, then beside a runaway join); 0 skips it.
    #[arg(long, default_value_t = 10.0)]
    isolation_seconds: f64,

    /// Compare a single node with a cluster (1 controller, 1 broker, 3 servers on this machine) whose metastore is a new schema in this PostgreSQL database (postgres://user:password@host:port/database), instead of the phases above: latency of a star-tree query and of a point lookup, the selective mix's throughput at --clients, and every answer. Writes cluster-report.md and cluster-report.json.
    #[arg(
        long,
        env = "GAMAY_BENCH_CLUSTER",
        hide_env_values = true,
        value_name = "POSTGRES_URL"
    )]
    cluster: Option<String>,

    /// With --cluster: the servers holding each segment (the table's `replication`), 1 to 3.
    #[arg(long, default_value_t = 1)]
    replication: usize,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<ExitCode, String> {
    let program = match args.gamay {
        Some(program) => program,
        None => beside_this("gamay")?,
    };
    if !program.is_file() {
        return Err(format!(
            "no gamay binary at {}: build it (`cargo build --release`) or name one with --gamay",
            program.display()
        ));
    }
    if let Some(postgres) = args.cluster {
        return run_cluster(gamay_bench::cluster::ClusterOptions {
            rows: args.rows,
            input: args.input,
            out: args.out,
            program,
            postgres,
            runs: args.runs,
            clients: args.clients,
            seconds: args.seconds,
            queries: args.queries,
            replication: args.replication,
        });
    }
    let peers: Vec<String> = args
        .peers
        .into_iter()
        .filter(|peer| !peer.is_empty() && peer != "none")
        .collect();
    let options = gamay_bench::Options {
        rows: args.rows,
        input: args.input,
        out: args.out,
        program,
        runs: args.runs,
        clients: args.clients,
        seconds: args.seconds,
        peers,
        python: args.python,
        kit: args.kit,
        queries: args.queries,
        kafka_rows: args.kafka_rows,
        fresh_rate: args.fresh_rate,
        fresh_seconds: args.fresh_seconds,
        isolation_seconds: args.isolation_seconds,
    };
    let report = gamay_bench::run(&options).map_err(|err| err.to_string())?;
    println!("{}", report.markdown());
    eprintln!("bench: wrote {}", options.out.join("report.md").display());
    let differing = report.differing_answers();
    if differing.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let names: Vec<&str> = differing.iter().map(|check| check.query.as_str()).collect();
    let verdict = format!(
        "Gamay's answers to {} differ from DuckDB's (see \"Answers\" in report.md)",
        names.join(", ")
    );
    if args.allow_answer_mismatch {
        eprintln!("bench: {verdict}; --allow-answer-mismatch keeps the run successful");
        return Ok(ExitCode::SUCCESS);
    }
    Err(format!(
        "{verdict}; --allow-answer-mismatch reports them without failing"
    ))
}

/// The single node against the cluster; a failing exit when an answer
/// differs between them.
fn run_cluster(options: gamay_bench::cluster::ClusterOptions) -> Result<ExitCode, String> {
    let report = gamay_bench::cluster::run(&options).map_err(|err| err.to_string())?;
    println!("{}", report.markdown());
    eprintln!(
        "bench: wrote {}",
        options.out.join("cluster-report.md").display()
    );
    let differing: Vec<&str> = report
        .disagreeing()
        .iter()
        .map(|answer| answer.query.as_str())
        .collect();
    if differing.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    Err(format!(
        "the cluster's answers to {} differ from the single node's (see \"Answers\" in cluster-report.md)",
        differing.join(", ")
    ))
}

/// `name` in the directory of this executable.
fn beside_this(name: &str) -> Result<PathBuf, String> {
    let this = std::env::current_exe()
        .map_err(|err| format!("cannot find the gamay-bench binary's directory: {err}"))?;
    let dir = this
        .parent()
        .ok_or_else(|| format!("{} has no directory", this.display()))?;
    Ok(dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX)))
}
