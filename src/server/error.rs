//! Failures of the server role: segment files, table directories, ingestion.

use std::path::PathBuf;

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
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
