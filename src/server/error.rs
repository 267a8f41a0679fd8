//! Failures of the server role: segment files, table directories, batch
//! ingestion, and REALTIME consumers that cannot start or must retry.

use std::path::PathBuf;

use rdkafka::error::KafkaError;

use crate::catalog::Problem;
use crate::upsert::GrowError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Segment(#[from] crate::segment::Error),

    #[error("data directory I/O error on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("table `{table}` has no segment `{segment}`")]
    SegmentNotFound { table: String, segment: String },

    #[error("cannot read {file}: {reason}")]
    UnreadableFile {
        file: String,
        #[source]
        reason: Box<crate::ingest::Error>,
    },

    #[error("row {row} of {file}: {reason}; nothing was ingested (strict mode stops at the first bad row)")]
    StrictBadRow {
        file: String,
        row: u64,
        reason: String,
    },

    #[error("{file} holds no row that could be ingested ({bad} bad rows; first: {first})")]
    NoGoodRows {
        file: String,
        bad: u64,
        first: String,
    },

    #[error("table {table} has no schema")]
    NoSchema { table: String },

    #[error("table {table} has no stream config")]
    NoStreamConfig { table: String },

    /// Stream settings the consumers cannot use.
    #[error("{}", join(.0))]
    StreamConfig(Vec<Problem>),

    /// Upsert or dedup settings the consumers cannot use.
    #[error(transparent)]
    Upsert(#[from] crate::upsert::Error),

    #[error("table {table}: {source}")]
    UpsertState {
        table: String,
        #[source]
        source: GrowError,
    },

    #[error("no room for the primary keys: {0}")]
    NoRoomForKeys(#[source] GrowError),

    /// Reading a stream: the Kafka client's refusals, the decoder's.
    #[error(transparent)]
    Ingest(Box<crate::ingest::Error>),

    #[error("cannot start the ingestion thread: {0}")]
    Thread(#[source] std::io::Error),

    #[error("cannot create the dead-letter producer: {}", crate::ingest::kafka::describe(.0))]
    DeadLetterProducer(#[source] KafkaError),

    #[error("consumeFrom `{0}` is not valid; expected lastConsumed, smallest or largest")]
    ConsumeFrom(String),

    /// A consumer's own state that does not hold: a bug.
    #[error("{0}")]
    Internal(&'static str),

    /// The cluster refused or failed to take a sealed segment (its upload
    /// or its record); the segment is not committed.
    #[error("cannot publish segment {segment} of {table} to the cluster: {reason}")]
    Publish {
        table: String,
        segment: String,
        reason: String,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<crate::ingest::Error> for Error {
    fn from(err: crate::ingest::Error) -> Error {
        Error::Ingest(Box::new(err))
    }
}

fn join(problems: &[Problem]) -> String {
    let parts: Vec<String> = problems.iter().map(ToString::to_string).collect();
    parts.join("; ")
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
