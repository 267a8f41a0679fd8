//! What a connector has done, kept under `<data-dir>/connectors/<name>/`:
//! the segments exported per table (the S3 sink's watermark; the JDBC sink's
//! authoritative watermark is in its target, this is its copy) and running
//! totals. Written atomically after every exported segment.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use crate::durable;

const STATE_FILE: &str = "state.json";

/// A connector's durable progress.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExportState {
    /// Exported segments, by table (with type suffix).
    #[serde(default)]
    pub exported: BTreeMap<String, BTreeSet<String>>,
    #[serde(default)]
    pub rows_written: u64,
    #[serde(default)]
    pub rows_deleted: u64,
    #[serde(default)]
    pub files_written: u64,
    #[serde(default)]
    pub bytes_written: u64,
    /// The last segment exported, per table.
    #[serde(default)]
    pub last_segment: BTreeMap<String, String>,
}

impl ExportState {
    pub fn is_exported(&self, table: &str, segment: &str) -> bool {
        self.exported
            .get(table)
            .is_some_and(|segments| segments.contains(segment))
    }

    pub fn mark(&mut self, table: &str, segment: &str) {
        self.exported
            .entry(table.to_string())
            .or_default()
            .insert(segment.to_string());
        self.last_segment
            .insert(table.to_string(), segment.to_string());
    }
}

/// The directory of connector `name`'s state.
pub fn state_dir(data_dir: &Path, name: &str) -> PathBuf {
    data_dir.join("connectors").join(name)
}

/// Reads the state; a connector that never ran has the default one.
pub fn load(dir: &Path) -> Result<ExportState> {
    let path = dir.join(STATE_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).map_err(|source| Error::StateUnreadable { path, source })
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(ExportState::default()),
        Err(source) => Err(Error::StateRead { path, source }),
    }
}

/// Replaces the state on disk, atomically.
pub fn save(dir: &Path, state: &ExportState) -> Result<()> {
    durable::create_dir_durably(dir).map_err(|source| Error::StateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(STATE_FILE);
    let bytes = serde_json::to_vec_pretty(state).map_err(Error::StateEncode)?;
    durable::write_atomic(&path, &bytes).map_err(|source| Error::StateWrite { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = dir.path().join("c");
        assert_eq!(load(&state_dir).unwrap(), ExportState::default());
        let mut state = ExportState::default();
        state.mark("t_REALTIME", "s1");
        state.rows_written = 5;
        save(&state_dir, &state).unwrap();
        let loaded = load(&state_dir).unwrap();
        assert!(loaded.is_exported("t_REALTIME", "s1"));
        assert!(!loaded.is_exported("t_REALTIME", "s2"));
        assert_eq!(loaded, state);
    }
}
