//! Where a connector's job finds the sealed segments it exports and keeps
//! its progress: behind two traits, so the job is the same on a single
//! node (the segments its server holds, the state in a file under the
//! data directory: [`LocalSegments`], [`StateFile`]) and in a cluster
//! (segment records in the metastore read from the deep store, the state
//! in the metastore under the connector's lease: `cluster::connectors`).

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use roaring::RoaringBitmap;

use super::error::{Error, Result};
use super::runner::Status;
use super::state;
use crate::catalog::TableConfig;
use crate::segment::ImmutableSegment;
use crate::server::Server;

/// A sealed segment of a source table, as listed before it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub name: String,
    pub rows: u64,
    /// Export order within its table: smaller goes first.
    pub order: (i64, i64),
}

/// The sealed segments of the tables a connector reads.
#[async_trait]
pub trait SegmentSource: Send + Sync {
    /// `table`'s (with type) sealed segments, in any order.
    async fn sealed(&self, table: &str) -> Result<Vec<Sealed>>;
    /// One of them, ready to read.
    async fn open(&self, table: &str, segment: &str) -> Result<Arc<ImmutableSegment>>;
    /// For an upsert table: the segment's records that arrived older than
    /// the version held, which the target must not see.
    fn late_rows(
        &self,
        table: &str,
        config: &TableConfig,
        segment: &ImmutableSegment,
    ) -> Result<Option<RoaringBitmap>>;
}

/// The late docs a sealed segment records (segments of an upsert table
/// sealed by a consumer; see [`SealInfo::late_docs`]).
///
/// [`SealInfo::late_docs`]: crate::segment::SealInfo
pub fn recorded_late_rows(segment: &ImmutableSegment) -> RoaringBitmap {
    segment.meta().late_docs.iter().copied().collect()
}

/// Where a job keeps its status between runs: its watermark state, and in
/// a cluster also what other nodes show of it.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// Records `status` after an exported segment (`exported`), or a change
    /// of its error or lag. A failure stops the export step (it is retried).
    async fn save(&self, status: &Status, exported: bool) -> Result<()>;
}

/// The segments this node's server holds.
pub struct LocalSegments {
    pub server: Arc<Server>,
}

#[async_trait]
impl SegmentSource for LocalSegments {
    async fn sealed(&self, table: &str) -> Result<Vec<Sealed>> {
        let data = self.table(table)?;
        Ok(data
            .segments()
            .iter()
            .map(|segment| Sealed {
                name: segment.name().to_string(),
                rows: segment.num_docs() as u64,
                order: (segment.meta().created_millis, 0),
            })
            .collect())
    }

    async fn open(&self, table: &str, segment: &str) -> Result<Arc<ImmutableSegment>> {
        self.table(table)?
            .segments()
            .iter()
            .find(|held| held.name() == segment)
            .cloned()
            .ok_or_else(|| Error::SegmentGone {
                table: table.to_string(),
                segment: segment.to_string(),
            })
    }

    fn late_rows(
        &self,
        table: &str,
        config: &TableConfig,
        segment: &ImmutableSegment,
    ) -> Result<Option<RoaringBitmap>> {
        if config.upsert().is_none() {
            return Ok(None);
        }
        match self.table(table)?.upsert() {
            Some(upsert) => Ok(Some(
                upsert
                    .rejected(segment.name())
                    .unwrap_or_else(|| recorded_late_rows(segment)),
            )),
            None => Err(Error::UpsertNotLoaded),
        }
    }
}

impl LocalSegments {
    fn table(&self, table: &str) -> Result<Arc<crate::server::TableData>> {
        self.server
            .table_or_create(table)
            .map_err(|source| Error::OpenTable {
                table: table.to_string(),
                source: Box::new(source),
            })
    }
}

/// The watermark in `<data-dir>/connectors/<name>/state.json`.
pub struct StateFile {
    pub dir: PathBuf,
}

#[async_trait]
impl StateStore for StateFile {
    async fn save(&self, status: &Status, exported: bool) -> Result<()> {
        if !exported {
            return Ok(());
        }
        // Saved in place (a small file), so a stop never leaves a save
        // running behind the job.
        state::save(&self.dir, &status.state)
    }
}
