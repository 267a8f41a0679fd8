//! The `gamay` binary: command line → config → run.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use gamay::config::{ServerConfig, DEFAULT_MAX_BODY_BYTES};

/// Gamay: a real-time columnar OLAP store with Apache Pinot's API.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: Pinot's controller API (schemas, tables) on one port.
    ///
    /// Logs go to stderr; set RUST_LOG (e.g. RUST_LOG=gamay=debug) for more.
    Serve(ServeArgs),
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
            eprintln!("error: {err:#}");
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
            runtime.block_on(gamay::api::serve(config, shutdown_signal(), |addr| {
                println!("gamay listening on http://{addr}");
            }))?;
            tracing::info!("shut down cleanly");
            Ok(())
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
