//! The crate's error type: each module's failures, wrapped. The mapping to
//! HTTP statuses lives in one place, `api/error.rs`.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Catalog(#[from] crate::catalog::Error),

    #[error(transparent)]
    Server(#[from] crate::server::Error),

    #[error(transparent)]
    Lock(#[from] crate::durable::LockError),

    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },

    #[error("server failed: {0}")]
    Serve(#[source] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
