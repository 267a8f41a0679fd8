//! The crate's error type: each module's failures, wrapped, and the
//! process's own (binding, TLS, authentication settings). Nothing here
//! names an HTTP status: that mapping lives in one place, `api/error.rs`.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Catalog(#[from] crate::catalog::Error),

    #[error(transparent)]
    Server(#[from] crate::server::Error),

    #[error(transparent)]
    Segment(#[from] crate::segment::Error),

    #[error(transparent)]
    Ingest(#[from] crate::ingest::Error),

    #[error(transparent)]
    Export(#[from] crate::export::Error),

    /// The connectors could not be started (their directory, the file
    /// store roots).
    #[error("server failed: {0}")]
    Connectors(#[from] crate::export::RegistryError),

    /// The query engine's worker pools could not be started.
    #[error("server failed: {0}")]
    QueryWorkers(#[from] rayon::ThreadPoolBuildError),

    #[error(transparent)]
    Lock(#[from] crate::durable::LockError),

    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },

    #[error("refusing to serve on {addr} without authentication: other hosts can reach it; give --auth-file (see `gamay auth`), listen on 127.0.0.1, or pass --insecure")]
    Insecure { addr: SocketAddr },

    #[error(transparent)]
    Auth(#[from] crate::auth::FileError),

    #[error("{0}")]
    Tls(String),

    #[error("cannot open the audit log {}: {source}", path.display())]
    Audit {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("server failed: {0}")]
    Serve(#[source] std::io::Error),

    #[error("authentication is on, so the nodes of a cluster call each other as an administrator: give --cluster-token-file with the bearer token of a principal holding every permission on every table (see `gamay auth token`)")]
    ClusterCredentials,

    /// The node could not join its cluster (metastore, deep store).
    #[error("cannot join the cluster: {0}")]
    Cluster(#[from] crate::cluster::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
