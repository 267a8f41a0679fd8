//! Where the catalog's entries are kept, behind [`CatalogStore`]: the
//! catalog validates and decides, the store only keeps each entry's JSON
//! under its kind and name.
//!
//! [`FileStore`], the single node's, keeps one JSON document per schema
//! and per table, replaced atomically (see [`crate::durable`]). A cluster
//! keeps them in its metastore (`metastore::MetastoreCatalogStore`, which
//! implements this trait from above: the catalog never names it).
//!
//! The trait is synchronous, as the catalog is (a write fsyncs or waits on
//! a database): callers on an async runtime make the catalog's writes and
//! reloads through `spawn_blocking`. Reads of the catalog never reach the
//! store: they are answered from its in-memory maps.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Error;
use crate::durable;

/// What a catalog entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Where an entry was read from, to name it when it cannot be parsed.
#[derive(Debug, Clone)]
pub enum Origin {
    File(PathBuf),
    /// Any other place, described for an operator.
    Other(String),
}

impl Origin {
    /// The error for an entry from here that cannot be used.
    pub fn corrupt(self, reason: String) -> Error {
        match self {
            Origin::File(path) => Error::CorruptFile { path, reason },
            Origin::Other(origin) => Error::CorruptEntry { origin, reason },
        }
    }
}

/// An entry as a store holds it.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    /// The schema's name, or the table's name with its type.
    pub name: String,
    pub origin: Origin,
    /// The JSON document.
    pub bytes: Vec<u8>,
}

/// Keeps the catalog's entries. A write or a removal takes effect whole or
/// fails.
pub trait CatalogStore: Send + Sync {
    /// Every entry of `kind`, in name order.
    fn load(&self, kind: Kind) -> Result<Vec<StoredEntry>, Error>;
    /// Adds or replaces an entry.
    fn write(&self, kind: Kind, name: &str, json: &Value) -> Result<(), Error>;
    fn remove(&self, kind: Kind, name: &str) -> Result<(), Error>;
}

/// The catalog's files under `<data_dir>/catalog`.
pub struct FileStore {
    root: PathBuf,
}

impl FileStore {
    /// Creates `<data_dir>/catalog/{schemas,tables}` if missing and removes
    /// temporary files left by interrupted writes.
    pub fn open(data_dir: &Path) -> Result<FileStore, Error> {
        let root = data_dir.join("catalog");
        for kind in [Kind::Schema, Kind::Table] {
            let dir = root.join(kind.dir());
            durable::create_dir_durably(&dir).map_err(|err| Error::io(&dir, err))?;
            let removed = durable::remove_temp_files(&dir).map_err(|err| Error::io(&dir, err))?;
            if removed > 0 {
                tracing::info!(dir = %dir.display(), removed, "removed temporary files of interrupted writes");
            }
        }
        Ok(FileStore { root })
    }

    fn path(&self, kind: Kind, name: &str) -> PathBuf {
        self.root.join(kind.dir()).join(format!("{name}.json"))
    }
}

impl CatalogStore for FileStore {
    fn load(&self, kind: Kind) -> Result<Vec<StoredEntry>, Error> {
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
            entries.push(StoredEntry {
                name: name.to_string(),
                origin: Origin::File(path),
                bytes,
            });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    fn write(&self, kind: Kind, name: &str, json: &Value) -> Result<(), Error> {
        let path = self.path(kind, name);
        let bytes = serde_json::to_vec_pretty(json).map_err(|err| Error::io(&path, err.into()))?;
        durable::write_atomic(&path, &bytes).map_err(|err| Error::io(&path, err))
    }

    fn remove(&self, kind: Kind, name: &str) -> Result<(), Error> {
        let path = self.path(kind, name);
        durable::remove_durably(&path).map_err(|err| Error::io(&path, err))
    }
}
