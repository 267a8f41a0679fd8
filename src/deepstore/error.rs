//! Deep store failures.

use std::path::PathBuf;

/// A failed deep store operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("deep store `{url}`: {reason}")]
    Url { url: String, reason: String },

    #[error("`{0}` cannot name a table or segment in the deep store: use a plain name without `/`, `.` or `..`")]
    Name(String),

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("the deep store failed to {what}: {source}")]
    Store {
        what: String,
        #[source]
        source: object_store::Error,
    },

    #[error("{key} is already in the deep store with other contents ({existing} bytes, not the {uploaded} being uploaded); it is left as it is")]
    OtherContents {
        key: String,
        existing: usize,
        uploaded: usize,
    },

    #[error("{0} is not in the deep store")]
    Missing(String),

    #[error("{key} in the deep store is not the segment its record names ({size} bytes, CRC-32C {crc:08x}; the record has {expected_size} bytes, {expected_crc:08x}); it was not loaded")]
    Corrupt {
        key: String,
        size: u64,
        crc: u32,
        expected_size: u64,
        expected_crc: u32,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
