//! Failures of the S3 sink: encoding a segment's files, partitioning its
//! rows, the directories `file://` stores may write in, and the object
//! store's refusals.

use std::path::PathBuf;

use arrow_schema::ArrowError;
use parquet::errors::ParquetError;

use crate::export::error::{RowsError, SecretError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("`{0}` is not a valid bucket name: 3 to 63 lowercase letters, digits, `-` and `.`")]
    InvalidBucket(String),

    #[error("cannot start a Parquet file: {0}")]
    ParquetStart(#[source] ParquetError),

    #[error("cannot encode Parquet: {0}")]
    ParquetEncode(#[source] ParquetError),

    #[error("cannot finish a Parquet file: {0}")]
    ParquetFinish(#[source] ParquetError),

    #[error("cannot encode JSON: {0}")]
    JsonEncode(#[source] ArrowError),

    #[error("cannot finish a JSON file: {0}")]
    JsonFinish(#[source] ArrowError),

    #[error(transparent)]
    Arrow(#[from] ArrowError),

    #[error(transparent)]
    Rows(#[from] RowsError),

    /// The connector's partitioning does not fit the table (a column it
    /// names is missing, a row has no time).
    #[error("{0}")]
    Partitioning(String),

    #[error("cannot create the file store root {}: {source}", path.display())]
    CreateRoot {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot resolve the file store root {}: {source}", path.display())]
    ResolveRoot {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("`{url}` names a relative directory; write file:///absolute/directory")]
    RelativeStore { url: String },

    #[error("`{url}` has a `..` segment; name the directory without it")]
    ParentDirStore { url: String },

    #[error("`{url}` is outside the directories file stores may write in ({roots}); use a directory under one of them, or start the server with --file-store-root {dir} to allow it")]
    OutsideRoots {
        url: String,
        roots: String,
        dir: String,
    },

    #[error("cannot resolve {}: {source}", path.display())]
    Resolve {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot create {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{} moved while it was opened", path.display())]
    Moved { path: PathBuf },

    #[error("cannot open {}: {source}", path.display())]
    OpenDir {
        path: PathBuf,
        #[source]
        source: object_store::Error,
    },

    #[error("cannot reach bucket `{bucket}`: {source}")]
    Bucket {
        bucket: String,
        #[source]
        source: object_store::Error,
    },

    #[error(transparent)]
    Secret(#[from] SecretError),

    #[error("`{key}` is not a valid object key: it must be a relative path without `.` or `..` segments")]
    KeySegments { key: String },

    #[error("cannot remove the partial write {}: {source}", path.display())]
    RemovePartial {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("`{key}` is not a valid object key: {source}")]
    Key {
        key: String,
        #[source]
        source: object_store::path::Error,
    },

    #[error("{key} exists but cannot be read back: {source}")]
    ReadBack {
        key: String,
        #[source]
        source: object_store::Error,
    },

    #[error("{key} already exists with other contents ({existing} bytes where this export writes {written}); it was not written by this connector with its current settings, so it is left alone (move it away or change topics.dir)")]
    OtherContents {
        key: String,
        existing: usize,
        written: usize,
    },

    #[error("cannot write {key}: {source}")]
    Write {
        key: String,
        #[source]
        source: object_store::Error,
    },

    /// The export's own state that does not hold: a bug.
    #[error("{0}")]
    Internal(&'static str),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
