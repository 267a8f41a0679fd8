//! Failures of segment reading and writing: [`Error`] names the segment,
//! [`BlockError`] says what went wrong with one of its blocks, and
//! [`ValueError`] why a value does not fit its column.

use std::path::PathBuf;

use crate::catalog::DataType;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("segment {segment} is corrupted: block `{block}`: {reason}")]
    Corrupted {
        segment: String,
        block: String,
        #[source]
        reason: BlockError,
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
        #[source]
        reason: BlockError,
    },

    #[error("row {row}: column `{column}`: {reason}")]
    BadValue {
        row: u64,
        column: String,
        #[source]
        reason: ValueError,
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

/// What is wrong with one block of a segment, read or written: the reason
/// of [`Error::Corrupted`] and [`Error::Column`].
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// The bytes are not what the footer says they are (reading).
    #[error("{0}")]
    Malformed(String),

    /// A block past what the format can hold (writing).
    #[error("{0}")]
    TooLarge(String),

    /// Writing a block to the file failed.
    #[error("writing {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A null bitmap that does not deserialize.
    #[error("{0}")]
    Bitmap(#[source] std::io::Error),

    /// A block whose bytes cannot be viewed as the values it holds.
    #[error("{0}")]
    Cast(bytemuck::PodCastError),

    /// Parts of a segment that do not fit together: a bug, not bad data.
    #[error("{0}")]
    Inconsistent(&'static str),

    #[error(transparent)]
    Codec(#[from] crate::codec::Error),

    #[error(transparent)]
    Index(#[from] crate::index::Error),
}

/// Why a value cannot be stored in a column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("null")]
    Null,

    #[error("`{text}` is not a {data_type} value")]
    Unparsable { text: String, data_type: DataType },

    /// A JSON value of a kind the column's type has no reading of.
    #[error("{value} is not a {data_type} value")]
    WrongKind { value: String, data_type: DataType },

    #[error("{number} is not a whole number for a {data_type} column")]
    NotWhole { number: String, data_type: DataType },

    #[error("{number} is not hex-encoded bytes")]
    NotHex { number: String },

    #[error("{value} does not fit an INT column")]
    OutOfRange { value: i64 },

    #[error("{value} cannot be stored in a {data_type} column")]
    Mismatch { value: String, data_type: DataType },

    #[error("{count} values for a single-value column")]
    NotSingle { count: usize },

    #[error("row has {values} values for {columns} columns")]
    RowLength { values: usize, columns: usize },

    /// A column given as a chunk of another shape than the rows.
    #[error("a column chunk does not hold {rows} single values")]
    ChunkShape { rows: usize },
}
