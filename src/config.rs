//! Process configuration: where data lives, where to listen, and the limits
//! that protect the server from oversized or slow requests. Built from CLI
//! flags (and their environment variables) in `main.rs`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::query::options::DEFAULT_MAX_QUERY_MEMORY_BYTES;
pub use crate::query::workload::WorkloadConfig;

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

/// Open connections served at once; more wait in the kernel's backlog.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// How long a client has to send a request's headers, and how long an idle
/// keep-alive connection stays open.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long creating a REALTIME table waits for its Kafka brokers to accept a
/// TCP connection before reporting them unreachable.
pub const DEFAULT_BROKER_PROBE_TIMEOUT: Duration = Duration::from_millis(1500);

/// The directory under the data directory that `file://` stores of S3
/// sinks may write in when no `--file-store-root` is given.
pub const DEFAULT_FILE_STORE_DIR: &str = "lake";

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    /// Directories S3 sinks with a `file://` store may write in (created if
    /// missing); by default `<data-dir>/lake`.
    pub file_store_roots: Vec<PathBuf>,
    pub listen: SocketAddr,
    pub max_body_bytes: usize,
    pub max_upload_bytes: usize,
    pub request_timeout: Duration,
    pub broker_probe_timeout: Duration,
    pub max_connections: usize,
    pub header_timeout: Duration,
    /// Principals and their credentials (`--auth-file`); `None` serves
    /// without authentication, allowed on loopback or with `insecure`.
    pub auth_file: Option<PathBuf>,
    /// Serve without authentication on an address other hosts can reach.
    pub insecure: bool,
    /// HTTPS with this certificate and key (`--tls-cert`, `--tls-key`).
    pub tls: Option<TlsFiles>,
    /// Each query's `maxQueryMemoryBytes` unless it sets its own.
    pub max_query_memory_bytes: u64,
    /// Query slots, queues and lanes.
    pub workload: WorkloadConfig,
    /// The node's roles and the cluster it joins, if any.
    pub cluster: ClusterConfig,
}

impl ServerConfig {
    /// A config with defaults for everything but the data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> ServerConfig {
        let data_dir = data_dir.into();
        ServerConfig {
            file_store_roots: vec![data_dir.join(DEFAULT_FILE_STORE_DIR)],
            data_dir,
            listen: SocketAddr::from(([127, 0, 0, 1], 9000)),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            broker_probe_timeout: DEFAULT_BROKER_PROBE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            auth_file: None,
            insecure: false,
            tls: None,
            max_query_memory_bytes: DEFAULT_MAX_QUERY_MEMORY_BYTES,
            workload: WorkloadConfig::default(),
            cluster: ClusterConfig::default(),
        }
    }
}

/// What a node does in a cluster (`--role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Every role; without `--metastore`, the single node.
    All,
    /// Takes schema, table and segment changes and, while it leads, places
    /// segments and partitions on servers.
    Controller,
    /// Plans queries and scatters them to the servers.
    Broker,
    /// Holds segments, consumes partitions and runs queries' segment work.
    Server,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::All => "all",
            Role::Controller => "controller",
            Role::Broker => "broker",
            Role::Server => "server",
        }
    }

    pub fn controls(self) -> bool {
        matches!(self, Role::All | Role::Controller)
    }

    pub fn brokers(self) -> bool {
        matches!(self, Role::All | Role::Broker)
    }

    pub fn serves(self) -> bool {
        matches!(self, Role::All | Role::Server)
    }
}

/// How long a partition's lease lasts without renewal by default: a server
/// that stops renewing loses its partitions to another within it.
pub const DEFAULT_LEASE_TIMEOUT: Duration = Duration::from_secs(10);

/// A node's place in a cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub role: Role,
    /// `postgres://...`; `None` is the single node.
    pub metastore: Option<String>,
    /// `s3://bucket/prefix` or `file:///dir`.
    pub deep_store: Option<String>,
    /// This node's name in the cluster, stable across restarts; by default
    /// its advertised address.
    pub node_id: Option<String>,
    /// Where the other nodes reach this one (`http://host:port`); by
    /// default the address it listens on.
    pub advertise_url: Option<String>,
    pub lease_timeout: Duration,
    /// The `Authorization` header nodes present to each other when
    /// authentication is on: an administrator's bearer token.
    pub credentials: Option<String>,
}

impl Default for ClusterConfig {
    fn default() -> ClusterConfig {
        ClusterConfig {
            role: Role::All,
            metastore: None,
            deep_store: None,
            node_id: None,
            advertise_url: None,
            lease_timeout: DEFAULT_LEASE_TIMEOUT,
            credentials: None,
        }
    }
}

impl ClusterConfig {
    /// Whether this node is part of a cluster (has a metastore).
    pub fn is_cluster(&self) -> bool {
        self.metastore.is_some()
    }

    /// What is missing or contradictory in the flags, if anything.
    pub fn problem(&self) -> Option<String> {
        match (&self.metastore, &self.deep_store) {
            (None, None) if self.role != Role::All => Some(format!(
                "--role {} needs a cluster: give --metastore postgres://... and --deep-store s3://bucket/prefix (or file:///dir)",
                self.role.as_str()
            )),
            (None, None) => None,
            (Some(_), None) => Some(
                "--metastore needs --deep-store s3://bucket/prefix (or file:///dir): sealed segments live there"
                    .to_string(),
            ),
            (None, Some(_)) => Some(
                "--deep-store needs --metastore postgres://...: the cluster records segments there"
                    .to_string(),
            ),
            (Some(_), Some(_)) => None,
        }
    }
}

/// Where the API's TLS certificate chain and private key are read from
/// (PEM files, read again on SIGHUP).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}
