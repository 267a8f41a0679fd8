//! The server role: hosts each table's segments on disk and in memory.
//!
//! ```text
//! tables/<table>_<TYPE>/manifest.json            committed segment names (written atomically)
//! tables/<table>_<TYPE>/segments/<segment>.seg   one file per sealed segment
//! ```
//!
//! A segment is part of a table exactly when the manifest lists it. Adding
//! segments writes their files first and the manifest last, so a batch of
//! segments appears all at once or not at all; files a crash left outside the
//! manifest are deleted when the table opens. Readers take a snapshot of a
//! table's segment list (an `Arc`) and are never blocked by writers.

mod batch;
mod error;
pub mod realtime;
mod table;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

pub use batch::{ingest_file, IngestOptions, IngestReport, DEFAULT_SEGMENT_ROWS};
pub use error::{Error, Result};
pub use table::{Checkpoint, ConsumingSegment, Live, TableData, TableStats, SEGMENT_EXTENSION};

use crate::catalog::Catalog;
use crate::durable;
use crate::segment::ImmutableSegment;
use crate::sync::RecoverRw;

/// Where a table's new batch segments go besides this server's disk: in a
/// cluster, the deep store and the metastore. Called with every segment
/// of one commit before they are committed locally; it publishes all of
/// them or none, and an error fails the commit.
pub trait Publisher: Send + Sync {
    fn publish(&self, table: &str, segments: &[(&ImmutableSegment, &Path)]) -> Result<()>;
}

/// What a cluster decides about a REALTIME table's stream partitions, as a
/// server's consumers ask it (implemented in `cluster`, over the
/// metastore). Every answer is the server's current view, cheap to ask:
/// consumers ask it on every loop.
pub trait StreamCoordinator: Send + Sync {
    /// Whether this server is assigned to consume `partition` of `table`.
    fn consumes(&self, table: &str, partition: i32) -> bool;
    /// Where the partition's committed segments end (the first offset
    /// none holds) and the number of the partition's next segment; `None`
    /// before the first commit.
    fn checkpoint(&self, table: &str, partition: i32) -> Option<(i64, u64)>;
    /// The partition's committed segments as (name, start offset, end
    /// offset), in offset order, as last read with the checkpoint.
    fn committed(&self, table: &str, partition: i32) -> Vec<(String, i64, i64)>;
    /// Whether this server holds the partition's lease, so may seal and
    /// commit its next segment.
    fn holds_lease(&self, table: &str, partition: i32) -> bool;
    /// Publishes a sealed segment holding offsets `[start, end)` of the
    /// partition and commits it under the lease. An error leaves nothing
    /// committed and may be retried.
    fn commit(
        &self,
        table: &str,
        partition: i32,
        segment: &ImmutableSegment,
        path: &Path,
        offsets: (i64, i64),
    ) -> Result<StreamCommit>;
    /// Moves the partition's checkpoint from `from` to `to` with no
    /// segment (offsets that will never be consumed), under the lease.
    fn skip(&self, table: &str, partition: i32, from: i64, to: i64) -> Result<StreamCommit>;
}

/// What a [`StreamCoordinator::commit`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamCommit {
    /// The segment is the cluster's, and the checkpoint at its end.
    Committed,
    /// Another server committed these offsets or holds the lease: the
    /// segment must be discarded and consumption resumed from the
    /// cluster's checkpoint.
    Fenced,
}

/// All tables' data in one process.
pub struct Server {
    root: PathBuf,
    tables: RwLock<BTreeMap<String, Arc<TableData>>>,
    publisher: RwLock<Option<Arc<dyn Publisher>>>,
}

impl Server {
    /// Opens the data of every table in `catalog` under `data_dir/tables`.
    pub fn open(data_dir: &Path, catalog: &Catalog) -> Result<Server, Error> {
        let root = data_dir.join("tables");
        durable::create_dir_durably(&root).map_err(|err| Error::io(&root, err))?;
        let mut tables = BTreeMap::new();
        for raw in catalog.table_names(None) {
            for entry in catalog.tables_named(&raw) {
                let name = entry.config.table_name.clone();
                let data = TableData::open(&root.join(&name), &name)?;
                tables.insert(name, Arc::new(data));
            }
        }
        Ok(Server {
            root,
            tables: RwLock::new(tables),
            publisher: RwLock::new(None),
        })
    }

    /// Publishes every table's new batch segments through `publisher`
    /// from now on.
    pub fn set_publisher(&self, publisher: Arc<dyn Publisher>) {
        let tables = self.tables.read_locked();
        *self.publisher.write_locked() = Some(publisher.clone());
        for table in tables.values() {
            table.set_publisher(Some(publisher.clone()));
        }
    }

    /// The names (with type) of the tables holding data here.
    pub fn table_names(&self) -> Vec<String> {
        self.tables.read_locked().keys().cloned().collect()
    }

    /// The data of table `name_with_type`, if it has any.
    pub fn table(&self, name_with_type: &str) -> Option<Arc<TableData>> {
        self.tables.read_locked().get(name_with_type).cloned()
    }

    /// The data of table `name_with_type`, created empty if needed.
    pub fn table_or_create(&self, name_with_type: &str) -> Result<Arc<TableData>, Error> {
        if let Some(table) = self.table(name_with_type) {
            return Ok(table);
        }
        let mut tables = self.tables.write_locked();
        if let Some(table) = tables.get(name_with_type) {
            return Ok(table.clone());
        }
        let table = Arc::new(TableData::open(
            &self.root.join(name_with_type),
            name_with_type,
        )?);
        table.set_publisher(self.publisher.read_locked().clone());
        tables.insert(name_with_type.to_string(), table.clone());
        Ok(table)
    }

    /// Deletes every segment of table `name_with_type` and its directory.
    pub fn drop_table(&self, name_with_type: &str) -> Result<(), Error> {
        let removed = self.tables.write_locked().remove(name_with_type);
        let dir = self.root.join(name_with_type);
        if removed.is_some() || dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|err| Error::io(&dir, err))?;
            durable::sync_parent(&dir).map_err(|err| Error::io(&dir, err))?;
            tracing::info!(table = name_with_type, "deleted the table's segments");
        }
        Ok(())
    }
}
