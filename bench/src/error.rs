//! Why a benchmark run stopped: [`BenchError`], one variant per kind of
//! cause, each naming what it was about.

use std::path::{Path, PathBuf};

/// Why a benchmark run stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Data { path: PathBuf, message: String },
    #[error("server: {0}")]
    Server(String),
    #[error("query `{sql}` failed: {message}")]
    Query { sql: String, message: String },
    #[error("cluster: {0}")]
    Cluster(String),
    #[error("kafka: {0}")]
    Kafka(String),
    #[error("peers: {0}")]
    Peers(String),
    #[error("chart {path}: {message}")]
    Chart { path: PathBuf, message: String },
    #[error("{0}")]
    Usage(String),
}

impl BenchError {
    pub fn io(path: &Path, source: std::io::Error) -> BenchError {
        BenchError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
