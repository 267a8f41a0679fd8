//! The `gamay` binary: command line → config → run.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use gamay::config::{
    Role, ServerConfig, WorkloadConfig, DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_QUERY_MEMORY_BYTES, DEFAULT_MAX_UPLOAD_BYTES,
    DEFAULT_REQUEST_TIMEOUT,
};
use gamay::query::workload;

/// Query states (group arrays of a few MB) are allocated and freed per
/// query; mimalloc keeps freed pages for reuse instead of returning them to
/// the kernel and faulting them in again on the next query.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Gamay: a real-time columnar OLAP store with Apache Pinot's API.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: Pinot's controller API (schemas, tables, segments, file ingestion) on one port.
    ///
    /// Logs go to stderr; set RUST_LOG (e.g. RUST_LOG=gamay=debug) for more.
    Serve(Box<ServeArgs>),

    /// Load files into an OFFLINE table, directly into the data directory.
    ///
    /// The table and its schema must exist (POST them to a server first, or
    /// with POST /tableConfigs). No server may run on the same data directory
    /// meanwhile; to load into a running server, POST the file to its
    /// /ingestFromFile endpoint instead. Each file is ingested whole or not
    /// at all; bad rows are counted and the first ones reported.
    Ingest(IngestArgs),

    /// Run the whole pipeline with nothing installed: an embedded Kafka
    /// cluster (4 partitions), the stock_transactions schema and REALTIME
    /// table, a generator of trades, and SQL at http://127.0.0.1:9000.
    Quickstart(QuickstartArgs),

    /// Measure Gamay on the peer kit's stock_transactions data: batch and
    /// Kafka ingest, freshness, per-query latency, throughput at 1-64
    /// clients, bytes per row, peak memory, and the peers (DuckDB, chDB,
    /// DataFusion) in the same run, answers checked against DuckDB's.
    /// Writes report.md, report.json and SVG charts to --out. Runs the
    /// gamay-bench binary beside this one (`cargo build --release` builds
    /// both). Use a release build for figures worth quoting.
    #[command(disable_help_flag = true)]
    Bench(BenchArgs),

    /// Make what an auth file (--auth-file) holds: Argon2 password hashes
    /// and bearer tokens.
    #[command(subcommand)]
    Auth(AuthCommand),
}

#[derive(Subcommand)]
enum AuthCommand {
    /// Read a password from standard input (one line) and print its Argon2 hash.
    HashPassword,
    /// Print a new random bearer token and, on the next line, its digest for the auth file.
    Token,
}

#[derive(clap::Args)]
struct BenchArgs {
    /// gamay-bench's arguments; `gamay bench --help` lists them.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<std::ffi::OsString>,
}

#[derive(clap::Args)]
struct QuickstartArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: SocketAddr,

    /// Use this Kafka cluster (host:port[,host:port]) instead of the embedded one.
    #[arg(long)]
    kafka: Option<String>,

    /// Trades produced per second (0 produces none).
    #[arg(long, default_value_t = 2000)]
    rate: u64,

    /// Keep the data here; by default a temporary directory removed on exit.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(clap::Args)]
struct IngestArgs {
    /// Directory holding the catalog and segments.
    #[arg(long, env = "GAMAY_DATA_DIR", default_value = "./gamay-data")]
    data_dir: PathBuf,

    /// The table to load (raw name or with _OFFLINE).
    #[arg(long)]
    table: String,

    /// parquet, csv or json (newline-delimited); by default from each file's extension.
    #[arg(long)]
    format: Option<String>,

    /// Rows per segment.
    #[arg(long, default_value_t = gamay::server::DEFAULT_SEGMENT_ROWS)]
    segment_rows: usize,

    /// Stop at the first bad row and ingest nothing from that file.
    #[arg(long)]
    strict: bool,

    /// Files to load.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Directory holding the catalog and segments; created if missing.
    #[arg(long, env = "GAMAY_DATA_DIR", default_value = "./gamay-data")]
    data_dir: PathBuf,

    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "GAMAY_LISTEN", default_value = "127.0.0.1:9000")]
    listen: SocketAddr,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "GAMAY_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,

    /// Largest file accepted by /ingestFromFile, in bytes (uploads stream to disk).
    #[arg(long, env = "GAMAY_MAX_UPLOAD_BYTES", default_value_t = DEFAULT_MAX_UPLOAD_BYTES)]
    max_upload_bytes: usize,

    /// Principals allowed in, with their password hashes or token digests and
    /// permissions (JSON, or Pinot's BasicAuth properties). Without it every
    /// caller may do everything, which is refused on a non-loopback address.
    #[arg(long, env = "GAMAY_AUTH_FILE")]
    auth_file: Option<PathBuf>,

    /// Serve without --auth-file on an address other hosts can reach.
    #[arg(long)]
    insecure: bool,

    /// Serve HTTPS with this PEM certificate chain (with --tls-key); SIGHUP reloads both files.
    #[arg(long, env = "GAMAY_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert.
    #[arg(long, env = "GAMAY_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// Open connections served at once; further ones wait to be accepted.
    #[arg(long, env = "GAMAY_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,

    /// Seconds a client has to send a request's headers; also how long an idle connection stays open.
    #[arg(long, env = "GAMAY_HEADER_TIMEOUT", default_value_t = DEFAULT_HEADER_TIMEOUT.as_secs())]
    header_timeout: u64,

    /// Seconds one request (an upload and its ingestion included) may take before it is abandoned with 503.
    #[arg(long, env = "GAMAY_REQUEST_TIMEOUT", default_value_t = DEFAULT_REQUEST_TIMEOUT.as_secs())]
    request_timeout: u64,

    /// A directory S3 sink connectors with `store.url=file:///...` may write in (repeat for several, or separate them with `:`; created if missing). Default: <data-dir>/lake.
    #[arg(
        long = "file-store-root",
        env = "GAMAY_FILE_STORE_ROOTS",
        value_name = "DIR",
        value_delimiter = ':'
    )]
    file_store_roots: Vec<PathBuf>,

    /// Default memory limit of one query, in bytes (its maxQueryMemoryBytes).
    #[arg(long, env = "GAMAY_MAX_QUERY_MEMORY_BYTES", default_value_t = DEFAULT_MAX_QUERY_MEMORY_BYTES)]
    max_query_memory_bytes: u64,

    /// Single-table queries running at once (default: 4 per core); more wait in line.
    #[arg(long, env = "GAMAY_MAX_RUNNING_QUERIES")]
    max_running_queries: Option<usize>,

    /// Multi-stage and isSecondaryWorkload queries running at once (default: one per core, at least 2).
    #[arg(long, env = "GAMAY_MAX_BACKGROUND_QUERIES")]
    max_background_queries: Option<usize>,

    /// Queries waiting for a slot, per lane; more are refused with error 211.
    #[arg(long, env = "GAMAY_MAX_QUEUED_QUERIES", default_value_t = workload::DEFAULT_MAX_QUEUED)]
    max_queued_queries: usize,

    /// Milliseconds of work after which a single-table query moves to the background lane.
    #[arg(long, env = "GAMAY_BACKGROUND_AFTER_MS", default_value_t = workload::DEFAULT_BACKGROUND_AFTER.as_millis() as u64)]
    background_after_ms: u64,

    /// The background lane's thread priority, as `nice` (0 to 19; 0 gives interactive queries no precedence).
    #[arg(long, env = "GAMAY_BACKGROUND_NICE", default_value_t = workload::DEFAULT_BACKGROUND_NICE, value_parser = clap::value_parser!(i32).range(0..=19))]
    background_nice: i32,

    /// Bytes of sealed segments' answers the server keeps, so repeated queries scan only new data (0 keeps none).
    #[arg(long, env = "GAMAY_RESULT_CACHE_BYTES", default_value_t = gamay::query::result_cache::DEFAULT_BUDGET)]
    result_cache_bytes: u64,

    /// What this node does: `all` (every role; the single node without
    /// --metastore), `controller`, `broker` or `server`.
    #[arg(long, env = "GAMAY_ROLE", value_enum, default_value = "all")]
    role: Role,

    /// The cluster's metastore: `postgres://user:password@host:port/database`
    /// (prefer the environment variable: it holds a password).
    #[arg(long, env = "GAMAY_METASTORE", hide_env_values = true)]
    metastore: Option<String>,

    /// Where sealed segments live: `s3://bucket/prefix` (AWS_* variables
    /// for the endpoint and credentials) or `file:///dir`.
    #[arg(long, env = "GAMAY_DEEP_STORE")]
    deep_store: Option<String>,

    /// This node's name in the cluster, stable across restarts; by default
    /// its advertised URL.
    #[arg(long, env = "GAMAY_NODE_ID")]
    node_id: Option<String>,

    /// Where other nodes reach this one (`http://host:port`); by default the
    /// address it listens on.
    #[arg(long, env = "GAMAY_ADVERTISE_URL")]
    advertise_url: Option<String>,

    /// Seconds a partition lease or a node's heartbeat lasts: a server
    /// silent that long loses its partitions and segments to others.
    #[arg(long, env = "GAMAY_LEASE_TIMEOUT", default_value_t = gamay::config::DEFAULT_LEASE_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    lease_timeout: u64,

    /// A file holding the bearer token of an administrator (see `gamay auth
    /// token`), which nodes of a cluster present to each other when
    /// authentication is on.
    #[arg(long, env = "GAMAY_CLUSTER_TOKEN_FILE")]
    cluster_token_file: Option<PathBuf>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", describe(&err));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match cli.command {
        Command::Serve(args) => {
            let mut config = ServerConfig::new(args.data_dir);
            config.listen = args.listen;
            config.max_body_bytes = args.max_body_bytes;
            config.max_upload_bytes = args.max_upload_bytes;
            config.auth_file = args.auth_file;
            config.insecure = args.insecure;
            if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
                config.tls = Some(gamay::config::TlsFiles { cert, key });
            }
            let scheme = if config.tls.is_some() {
                "https"
            } else {
                "http"
            };
            config.max_connections = args.max_connections;
            config.header_timeout = std::time::Duration::from_secs(args.header_timeout.max(1));
            config.request_timeout = std::time::Duration::from_secs(args.request_timeout.max(1));
            if !args.file_store_roots.is_empty() {
                config.file_store_roots = args.file_store_roots;
            }
            config.max_query_memory_bytes = args.max_query_memory_bytes;
            let defaults = WorkloadConfig::default();
            config.workload = WorkloadConfig {
                max_running: args.max_running_queries.unwrap_or(defaults.max_running),
                max_background: args
                    .max_background_queries
                    .unwrap_or(defaults.max_background),
                max_queued: args.max_queued_queries,
                background_after: std::time::Duration::from_millis(args.background_after_ms),
                background_nice: args.background_nice,
                result_cache_bytes: args.result_cache_bytes,
            };
            config.cluster = gamay::config::ClusterConfig {
                role: args.role,
                metastore: args.metastore,
                deep_store: args.deep_store,
                node_id: args.node_id,
                advertise_url: args.advertise_url,
                lease_timeout: std::time::Duration::from_secs(args.lease_timeout),
                credentials: match &args.cluster_token_file {
                    Some(path) => {
                        let token = std::fs::read_to_string(path).with_context(|| {
                            format!("cannot read --cluster-token-file {}", path.display())
                        })?;
                        let token = token.trim();
                        anyhow::ensure!(
                            !token.is_empty(),
                            "--cluster-token-file {} is empty: put an administrator's bearer token in it",
                            path.display()
                        );
                        Some(format!("Bearer {token}"))
                    }
                    None => None,
                },
            };
            if let Some(problem) = config.cluster.problem() {
                anyhow::bail!(problem);
            }
            runtime.block_on(async {
                let shutdown = shutdown_signal();
                gamay::api::serve(config, shutdown, |addr| {
                    println!("gamay listening on {scheme}://{addr}");
                })
                .await
            })?;
            tracing::info!("shut down cleanly");
            Ok(())
        }
        Command::Ingest(args) => ingest(args),
        Command::Quickstart(args) => {
            let options = gamay::quickstart::Options {
                listen: args.listen,
                data_dir: args.data_dir,
                kafka: args.kafka,
                rate: args.rate,
            };
            runtime.block_on(async { gamay::quickstart::run(options, shutdown_signal()).await })?;
            Ok(())
        }
        Command::Bench(args) => bench(args),
        Command::Auth(command) => auth(command),
    }
}

fn auth(command: AuthCommand) -> anyhow::Result<()> {
    use gamay::auth::secret;
    match command {
        AuthCommand::HashPassword => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("cannot read the password from standard input")?;
            let password = line.trim_end_matches(['\r', '\n']);
            anyhow::ensure!(
                !password.is_empty(),
                "the password is empty; type it on standard input"
            );
            println!("{}", secret::hash_password(password));
        }
        AuthCommand::Token => {
            let (token, digest) = secret::new_token();
            println!("{token}");
            println!("{digest}");
        }
    }
    Ok(())
}

/// Runs the benchmark harness, the `gamay-bench` binary beside this one
/// (its own workspace member, so the server carries none of it), with the
/// arguments as given; it starts this binary as the server.
fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let gamay = std::env::current_exe().context("cannot find the gamay binary")?;
    let dir = gamay
        .parent()
        .context("the gamay binary has no directory")?;
    let harness = dir.join(format!("gamay-bench{}", std::env::consts::EXE_SUFFIX));
    if !harness.is_file() {
        let release = if dir.ends_with("debug") {
            ""
        } else {
            " --release"
        };
        anyhow::bail!(
            "`gamay bench` runs the benchmark harness gamay-bench, which is not built: \
             no {}. Build it with `cargo build{release} -p gamay-bench`",
            harness.display()
        );
    }
    let mut command = std::process::Command::new(&harness);
    command.args(&args.args).env("GAMAY_BENCH_SERVER", &gamay);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let err = command.exec();
        Err(err).with_context(|| format!("cannot run {}", harness.display()))
    }
    #[cfg(not(unix))]
    {
        let status = command
            .status()
            .with_context(|| format!("cannot run {}", harness.display()))?;
        std::process::exit(status.code().unwrap_or(1));
    }
}

fn ingest(args: IngestArgs) -> anyhow::Result<()> {
    use gamay::catalog::{Catalog, TableType};
    use gamay::ingest::files::FileFormat;
    use gamay::segment::SegmentSpec;
    use gamay::server::{ingest_file, IngestOptions, Server};
    use indicatif::{ProgressBar, ProgressStyle};

    let _lock = gamay::durable::lock_dir(&args.data_dir)
        .context("stop the server, or POST the file to its /ingestFromFile endpoint")?;
    let catalog = Catalog::open(&args.data_dir)?;
    let entry = catalog
        .tables_named(&args.table)
        .into_iter()
        .find(|entry| entry.config.table_type == TableType::Offline)
        .with_context(|| {
            format!(
                "no OFFLINE table `{}` in {}; existing tables: {}",
                args.table,
                args.data_dir.display(),
                catalog.table_names(None).join(", ")
            )
        })?;
    let schema = catalog
        .schema(entry.config.raw_name())
        .with_context(|| format!("the schema of table {} is missing", entry.config.table_name))?;
    let spec = std::sync::Arc::new(SegmentSpec::new(&schema.schema, &entry.config));
    let server = Server::open(&args.data_dir, &catalog)?;
    let table = server.table_or_create(&entry.config.table_name)?;
    let style =
        ProgressStyle::with_template("{spinner} {msg} {human_pos} rows ({per_sec}) {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
    for file in &args.files {
        let format = match &args.format {
            Some(format) => FileFormat::parse(format).map_err(anyhow::Error::msg)?,
            None => FileFormat::from_path(file).with_context(|| {
                format!("cannot tell the format of {} from its extension; pass --format parquet|csv|json", file.display())
            })?,
        };
        let mut options = IngestOptions::new(file.display().to_string(), format);
        options.segment_rows = args.segment_rows;
        options.strict = args.strict;
        let bar = ProgressBar::new_spinner()
            .with_style(style.clone())
            .with_message(file.display().to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        let started = std::time::Instant::now();
        let report = ingest_file(&table, spec.clone(), file, &options, &|rows| {
            bar.set_position(rows)
        });
        bar.finish_and_clear();
        let report = report?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{}: {} rows in {:.2} s ({:.0} rows/s) into {} segment(s): {}",
            file.display(),
            report.rows,
            seconds,
            report.rows as f64 / seconds.max(1e-9),
            report.segments.len(),
            report.segments.join(", ")
        );
        for warning in &report.warnings {
            println!("  warning: {warning}");
        }
        if report.bad_rows > 0 {
            println!(
                "  {} bad rows skipped; first: {}",
                report.bad_rows,
                report.errors.join("; ")
            );
        }
    }
    Ok(())
}

/// Installs the Ctrl-C and SIGTERM handlers now (so a signal that arrives
/// as soon as the server announces itself is caught) and resolves on either.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{signal, SignalKind};
    let interrupt = signal(SignalKind::interrupt()).ok();
    let terminate = signal(SignalKind::terminate()).ok();
    async move {
        let wait = |stream: Option<tokio::signal::unix::Signal>| async move {
            match stream {
                Some(mut stream) => {
                    stream.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = wait(interrupt) => {}
            () = wait(terminate) => {}
        }
        tracing::info!("shutdown signal received; finishing in-flight requests");
    }
}

/// An error with its causes, joined by `: `. Gamay's errors quote their
/// cause in their own message, so a cause already quoted is not repeated.
fn describe(err: &anyhow::Error) -> String {
    let mut out = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn causes_are_shown_once() {
        let io = std::io::Error::other("No such file or directory");
        // A typed error that quotes its source, under a context that does not.
        let typed = gamay::auth::FileError::Read {
            path: "/etc/gamay/auth.json".into(),
            source: io,
        };
        let err = anyhow::Error::new(typed).context("cannot start");
        assert_eq!(
            describe(&err),
            "cannot start: cannot read the auth file /etc/gamay/auth.json: No such file or directory"
        );
    }
}
