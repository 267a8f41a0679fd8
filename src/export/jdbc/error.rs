//! Failures of the JDBC sink: connecting, the target database's refusals
//! (each naming what was being done), connector settings that do not fit
//! the table or the target's table, and the certificates and keys a
//! connection URL names.

use arrow_schema::ArrowError;

use super::dialect::DialectError;
use crate::export::error::{RowsError, SecretError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `mode` is the TLS setting as the driver names it, e.g. `sslmode=require`.
    #[error("cannot connect to {url} ({mode}): {reason}")]
    Connect {
        url: String,
        mode: String,
        #[source]
        reason: Db,
    },

    #[error("cannot connect to {url} ({mode}): the server does not offer TLS")]
    NoTls { url: String, mode: String },

    /// `action` is e.g. "create the watermark table".
    #[error("cannot {action}: {source}")]
    Watermark {
        action: &'static str,
        #[source]
        source: Db,
    },

    #[error("cannot read the columns of {table}: {source}")]
    Columns {
        table: String,
        #[source]
        source: Db,
    },

    /// A step of writing a segment; `what` is e.g. "writing".
    #[error("{what} {table} failed: {source}")]
    Step {
        what: &'static str,
        table: String,
        #[source]
        source: Db,
    },

    #[error(transparent)]
    Db(#[from] Db),

    #[error(transparent)]
    Dialect(#[from] DialectError),

    /// The connector's settings do not fit the table or the target's
    /// table (a key column missing, a table not there to write to).
    #[error("{0}")]
    Mismatch(String),

    /// A column read for the export that is not of the type it must be;
    /// `what` says which and what it must be.
    #[error("{what}: {source}")]
    ColumnType {
        what: &'static str,
        #[source]
        source: ArrowError,
    },

    #[error(transparent)]
    Arrow(#[from] ArrowError),

    #[error(transparent)]
    Rows(#[from] RowsError),

    #[error(transparent)]
    Secret(#[from] SecretError),

    #[error(transparent)]
    Tls(#[from] TlsError),

    /// The sink's own state that does not hold: a bug.
    #[error("{0}")]
    Internal(&'static str),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error of the target database's driver.
#[derive(Debug, thiserror::Error)]
pub enum Db {
    /// The server's message and SQLSTATE, or the client's error and its
    /// causes.
    #[error("{}", super::postgres::describe(.0))]
    Postgres(#[source] tokio_postgres::Error),

    #[error(transparent)]
    MySql(#[from] mysql_async::Error),
}

/// Why the certificates and key a connection URL names cannot be used.
/// Messages name the parameter and the path given, never what a file
/// holds.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{param}: {source}")]
    Secret {
        param: String,
        #[source]
        source: SecretError,
    },

    #[error("{param}: cannot read `{path}`: {source}")]
    Unreadable {
        param: String,
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{param}: {shown} holds no PEM certificate (-----BEGIN CERTIFICATE-----) that can be read"
    )]
    NoCertificate { param: String, shown: String },

    #[error(
        "sslkey: {shown} holds no unencrypted private key (PEM or PKCS#8 DER) that can be read"
    )]
    NoKey { shown: String },

    #[error("{param}: a certificate in it cannot be used as a CA: {source}")]
    NotCa {
        param: String,
        #[source]
        source: tokio_rustls::rustls::Error,
    },

    #[error("TLS setup failed: {0}")]
    Setup(#[source] tokio_rustls::rustls::Error),

    #[error("sslcert and sslkey do not make a usable certificate and key: {0}")]
    ClientCertificate(#[source] tokio_rustls::rustls::Error),
}
