//! Process configuration: where data lives, where to listen, and the limits
//! that protect the server from oversized or slow requests. Built from CLI
//! flags (and their environment variables) in `main.rs`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::query::options::DEFAULT_MAX_QUERY_MEMORY_BYTES;

/// Largest request body accepted by default. A schema at the column cap
/// (10,000 columns of ~80 bytes each) is under 1 MiB; 8 MiB leaves room
/// without letting a client make the server buffer arbitrary amounts.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Largest file accepted by `/ingestFromFile`. Uploads stream to disk, so
/// this bounds disk use, not memory.
pub const DEFAULT_MAX_UPLOAD_BYTES: usize = 16 * 1024 * 1024 * 1024;

/// How long one request may take before the server answers 503. Generous:
/// a file upload and its ingestion run within one request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(3600);

/// How long creating a REALTIME table waits for its Kafka brokers to accept a
/// TCP connection before reporting them unreachable.
pub const DEFAULT_BROKER_PROBE_TIMEOUT: Duration = Duration::from_millis(1500);

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub max_body_bytes: usize,
    pub max_upload_bytes: usize,
    pub request_timeout: Duration,
    pub broker_probe_timeout: Duration,
    /// Each query's `maxQueryMemoryBytes` unless it sets its own.
    pub max_query_memory_bytes: u64,
}

impl ServerConfig {
    /// A config with defaults for everything but the data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> ServerConfig {
        ServerConfig {
            data_dir: data_dir.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 9000)),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            broker_probe_timeout: DEFAULT_BROKER_PROBE_TIMEOUT,
            max_query_memory_bytes: DEFAULT_MAX_QUERY_MEMORY_BYTES,
        }
    }
}
