//! The catalog's files: one JSON document per schema and per table, replaced
//! atomically (see [`crate::durable`]).

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Error;
use crate::durable;

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Schema,
    Table,
}

impl Kind {
    fn dir(self) -> &'static str {
        match self {
            Kind::Schema => "schemas",
            Kind::Table => "tables",
        }
    }
}

pub struct Store {
    root: PathBuf,
}

impl Store {
    /// Creates `<data_dir>/catalog/{schemas,tables}` if missing and removes
    /// temporary files left by interrupted writes.
    pub fn open(data_dir: &Path) -> Result<Store, Error> {
        let root = data_dir.join("catalog");
        for kind in [Kind::Schema, Kind::Table] {
            let dir = root.join(kind.dir());
            durable::create_dir_durably(&dir).map_err(|err| Error::io(&dir, err))?;
            let removed = durable::remove_temp_files(&dir).map_err(|err| Error::io(&dir, err))?;
            if removed > 0 {
                tracing::info!(dir = %dir.display(), removed, "removed temporary files of interrupted writes");
            }
        }
        Ok(Store { root })
    }

    fn path(&self, kind: Kind, name: &str) -> PathBuf {
        self.root.join(kind.dir()).join(format!("{name}.json"))
    }

    /// Every entry of `kind`: (name, path, bytes), in name order.
    pub fn load(&self, kind: Kind) -> Result<Vec<(String, PathBuf, Vec<u8>)>, Error> {
        let dir = self.root.join(kind.dir());
        let mut entries = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|err| Error::io(&dir, err))? {
            let path = entry.map_err(|err| Error::io(&dir, err))?.path();
            let Some(name) = path
                .file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.strip_suffix(".json"))
            else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let bytes = fs::read(&path).map_err(|err| Error::io(&path, err))?;
            entries.push((name.to_string(), path, bytes));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(entries)
    }

    pub fn write(&self, kind: Kind, name: &str, json: &Value) -> Result<(), Error> {
        let path = self.path(kind, name);
        let bytes = serde_json::to_vec_pretty(json).map_err(|err| Error::io(&path, err.into()))?;
        durable::write_atomic(&path, &bytes).map_err(|err| Error::io(&path, err))
    }

    pub fn remove(&self, kind: Kind, name: &str) -> Result<(), Error> {
        let path = self.path(kind, name);
        durable::remove_durably(&path).map_err(|err| Error::io(&path, err))
    }
}
