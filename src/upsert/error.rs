//! Failures of upsert and dedup tables: settings that name what the
//! table does not have, and snapshots that cannot be read back. Running
//! out of room for keys is [`GrowError`](super::GrowError).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `what` is the setting, e.g. `upsertConfig.comparisonColumns`.
    #[error("{what}: the table has no column `{name}`")]
    NoColumn { what: &'static str, name: String },

    #[error("schema `{0}` has no primaryKeyColumns")]
    NoPrimaryKey(String),

    /// `setting` is where the strategy is given, e.g.
    /// `upsertConfig.defaultPartialUpsertStrategy`.
    #[error("{setting}: unknown strategy `{strategy}`")]
    UnknownStrategy { setting: String, strategy: String },

    #[error("cannot read {}: {source}", path.display())]
    SnapshotRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{}: {reason}", path.display())]
    Snapshot {
        path: PathBuf,
        #[source]
        reason: SnapshotError,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What is wrong with a snapshot file's bytes.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("not an upsert snapshot")]
    NotASnapshot,

    #[error("checksum mismatch")]
    Checksum,

    #[error("version {found}, expected {expected}")]
    Version { found: u32, expected: u32 },

    #[error("short header")]
    ShortHeader,

    #[error("bad header: {0}")]
    Header(#[source] serde_json::Error),

    #[error("short bitmap")]
    ShortBitmap,

    #[error("bad bitmap: {0}")]
    Bitmap(#[source] std::io::Error),
}
