//! Failures of segment reading and writing.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("segment {segment} is corrupted: block `{block}`: {reason}")]
    Corrupted {
        segment: String,
        block: String,
        reason: String,
    },

    #[error(
        "segment {segment} has format version {version}; this Gamay reads versions 1 to {supported}"
    )]
    UnsupportedVersion {
        segment: String,
        version: u32,
        supported: u32,
    },

    #[error("segment I/O error on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("segment {segment}: column `{column}`: {reason}")]
    Column {
        segment: String,
        column: String,
        reason: String,
    },

    #[error("row {row}: column `{column}`: {reason}")]
    BadValue {
        row: u64,
        column: String,
        reason: String,
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

pub type Result<T, E = Error> = std::result::Result<T, E>;
