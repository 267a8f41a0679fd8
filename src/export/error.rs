//! Failures of the export jobs: connector settings that are not valid,
//! config references and secret files that cannot be read, source tables
//! that are gone, the watermark state file, segment rows that cannot be
//! read as Arrow, and the sinks' own failures ([`s3::Error`],
//! [`jdbc::Error`]).
//!
//! [`s3::Error`]: super::s3::Error
//! [`jdbc::Error`]: super::jdbc::Error

use std::path::PathBuf;

use super::secrets::{SECRETS_DIR_ENV, SECRET_ENV_PREFIX};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A connector name or setting that is not valid; the message names
    /// it and says what would be.
    #[error("{0}")]
    Invalid(String),

    #[error("connector.class `{0}` is not a sink Gamay runs; use io.confluent.connect.s3.S3SinkConnector (or `s3`) or io.confluent.connect.jdbc.JdbcSinkConnector (or `jdbc`)")]
    UnknownSink(String),

    #[error("table `{0}` does not exist")]
    NoTable(String),

    #[error("no REALTIME table consumes topic `{0}`")]
    NoTopic(String),

    #[error("table `{0}` has no schema")]
    NoSchema(String),

    #[error("cannot open table `{table}`: {source}")]
    OpenTable {
        table: String,
        #[source]
        source: Box<crate::server::Error>,
    },

    #[error("the table's upsert state is not loaded yet")]
    UpsertNotLoaded,

    #[error("segment {segment} of table {table} is gone (deleted or retained away)")]
    SegmentGone { table: String, segment: String },

    /// The cluster's metastore or deep store failed.
    #[error("{0}")]
    Cluster(String),

    /// This node's lease on the connector lapsed: another node may run it.
    #[error("this node no longer holds connector {0}'s lease; another node runs it")]
    LeaseLost(String),

    /// Exporting one segment failed.
    #[error("table {table} segment {segment}: {source}")]
    Segment {
        table: String,
        segment: String,
        #[source]
        source: Box<Error>,
    },

    #[error("encoding failed: {0}")]
    EncodeTask(#[source] tokio::task::JoinError),

    #[error("reading the segment failed: {0}")]
    ReadTask(#[source] tokio::task::JoinError),

    #[error("{} is unreadable: {source}", path.display())]
    StateUnreadable {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error("cannot read {}: {source}", path.display())]
    StateRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot create {}: {source}", path.display())]
    StateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{0}")]
    StateEncode(#[source] serde_json::Error),

    #[error("cannot write {}: {source}", path.display())]
    StateWrite {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Secret(#[from] SecretError),

    #[error(transparent)]
    S3(#[from] super::s3::Error),

    #[error(transparent)]
    Jdbc(#[from] super::jdbc::Error),

    /// A job's own state that does not hold: a bug.
    #[error("{0}")]
    Internal(&'static str),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a config reference or a file named in a connector config cannot
/// be read. Messages name the reference or the path, never what a file
/// holds.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("`{path}` is not readable: the server reads files named in connector configs only from the directory {dir_env} names, and it is not set", dir_env = SECRETS_DIR_ENV)]
    NoSecretsDir { path: String },

    #[error("{dir_env} ({}) cannot be read: {source}", dir.display(), dir_env = SECRETS_DIR_ENV)]
    SecretsDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("`{path}` has a `..` segment; name the file without it")]
    ParentDir { path: String },

    #[error("`{path}` is outside {dir_env} ({}); put the file there", dir.display(), dir_env = SECRETS_DIR_ENV)]
    Outside { path: String, dir: PathBuf },

    #[error("cannot read `{path}`: {source}")]
    Unreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("${{env:{name}}} is not readable: config references read only variables named {prefix}*", prefix = SECRET_ENV_PREFIX)]
    EnvNotAllowed { name: String },

    #[error("environment variable `{name}` is not set")]
    EnvNotSet { name: String },

    #[error("${{file:{path}}}: {source}")]
    File {
        path: String,
        #[source]
        source: Box<SecretError>,
    },

    #[error("cannot read secret file `{path}`: {source}")]
    FileUnreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("secret file `{path}` has no key `{key}`")]
    NoKey { path: String, key: String },

    #[error("`${{{reference}}}` is not a config reference Gamay resolves; use ${{env:{prefix}NAME}} or ${{file:/path[:key]}}", prefix = SECRET_ENV_PREFIX)]
    NotAReference { reference: String },
}

/// Why a segment's rows cannot be read as Arrow arrays.
#[derive(Debug, thiserror::Error)]
pub enum RowsError {
    #[error(transparent)]
    Arrow(#[from] arrow_schema::ArrowError),

    /// A column that did not read as its type says: a bug.
    #[error("{0}")]
    Internal(&'static str),
}
