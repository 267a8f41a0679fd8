//! Metastore failures.

use std::path::PathBuf;

/// A failed metastore operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the metastore URL is not valid: {0}")]
    Url(String),

    #[error("cannot connect to the metastore: {0}")]
    Connect(String),

    #[error("the metastore failed to {action}: {source}")]
    Database {
        action: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },

    #[error("the metastore's schema is at version {found}, newer than this Gamay knows ({known}): upgrade Gamay")]
    NewerSchema { found: i32, known: i32 },

    #[error("segment {segment} of {table} starts at offset {start} of partition {partition}, but the partition's checkpoint is {checkpoint}: a segment must start where the last one ended")]
    OutOfOrder {
        table: String,
        segment: String,
        partition: i32,
        start: i64,
        checkpoint: i64,
    },

    #[error("offsets {from}..{to} of {table} partition {partition} cannot be skipped: the partition's checkpoint is {checkpoint}, and a skip goes forward from it")]
    BadSkip {
        table: String,
        partition: i32,
        from: i64,
        to: i64,
        checkpoint: i64,
    },

    #[error("segment {segment} of {table} is already recorded")]
    Duplicate { table: String, segment: String },

    #[error("a real-time segment's record needs its partition and offsets: {0}")]
    NotRealtime(String),

    #[error("segment {segment} is of {table} partition {partition}, but the lease is of {lease_table} partition {lease_partition}")]
    OtherLease {
        segment: String,
        table: String,
        partition: i32,
        lease_table: String,
        lease_partition: i32,
    },

    #[error("segment {segment} of {table} is not recorded, so it cannot be assigned")]
    Unrecorded { table: String, segment: String },

    #[error("segment {0} has stream offsets: a real-time segment is recorded by its commit under the partition's lease")]
    Offsets(String),

    #[error("connector `{0}` is not recorded, so it has no state to keep")]
    UnknownConnector(String),

    #[error("the metastore holds a segment state `{0}` this Gamay does not know")]
    UnknownState(String),

    #[error("the metastore holds a catalog entry kind `{0}` this Gamay does not know")]
    UnknownKind(String),

    #[error("the local metastore failed on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Busy(#[from] crate::durable::LockError),

    #[error("the local metastore file {} is unreadable: {reason}", path.display())]
    CorruptFile { path: PathBuf, reason: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
