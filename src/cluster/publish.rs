//! Publishing a new batch segment: its file goes to the deep store under
//! its deterministic name, then its record into the metastore. Only a
//! recorded segment exists for the cluster, and it is recorded only once
//! its file is in the deep store, so a crash between the two leaves at
//! most an unrecorded file, which a retry of the same segment finds
//! already there.

use std::path::Path;
use std::sync::Arc;

use super::Cluster;
use crate::catalog::{Catalog, TimeColumn};
use crate::metastore::{SegmentRecord, SegmentState};
use crate::segment::ImmutableSegment;
use crate::server::{Error, Publisher};

/// Publishes segments to the cluster this node is part of.
pub struct ToCluster {
    pub cluster: Arc<Cluster>,
    /// For the time column, whose range each record carries (retention
    /// reads it).
    pub catalog: Arc<Catalog>,
}

/// A segment's time range in epoch milliseconds, when its table has a
/// time column: what its record carries (retention reads it).
pub fn time_range(
    catalog: &Catalog,
    table: &str,
    segment: &ImmutableSegment,
) -> Option<(i64, i64)> {
    let entry = catalog.table(table)?;
    let schema = catalog.schema_for_table(&entry.config)?;
    let time = TimeColumn::of(&schema.schema, &entry.config)?;
    let meta = segment.meta();
    Some((
        time.millis(meta.min_time.as_ref()?)?,
        time.millis(meta.max_time.as_ref()?)?,
    ))
}

impl Publisher for ToCluster {
    fn publish(&self, table: &str, segments: &[(&ImmutableSegment, &Path)]) -> Result<(), Error> {
        let cluster = &self.cluster;
        let names: Vec<String> = segments
            .iter()
            .map(|(segment, _)| segment.name().to_string())
            .collect();
        let fail = |reason: String| Error::Publish {
            table: table.to_string(),
            segment: names.join(", "),
            reason,
        };
        let mut records = Vec::with_capacity(segments.len());
        for (segment, path) in segments {
            let name = segment.name().to_string();
            let (size, crc) =
                crate::deepstore::checksum(path).map_err(|err| Error::io(*path, err))?;
            let uri = cluster
                .deep_store
                .uri(table, &name)
                .map_err(|err| fail(err.to_string()))?;
            records.push(SegmentRecord {
                table: table.to_string(),
                segment: name,
                partition: None,
                offsets: None,
                time_range: time_range(&self.catalog, table, segment),
                rows: segment.num_docs() as i64,
                size_bytes: size as i64,
                crc: i64::from(crc),
                uri,
                state: SegmentState::Online,
            });
        }
        // Every file first (a retry finds its own bytes), then every record
        // in one transaction: the cluster gets the whole commit or none.
        let published = cluster.block_on(async {
            for ((segment, path), record) in segments.iter().zip(&records) {
                cluster
                    .deep_store
                    .upload(table, segment.name(), path)
                    .await
                    .map_err(|err| fail(err.to_string()))?;
                cluster.metrics.uploads.inc();
                cluster
                    .metrics
                    .upload_bytes
                    .inc_by(u64::try_from(record.size_bytes).unwrap_or(0));
            }
            cluster
                .metastore
                .record_segments(&records)
                .await
                .map_err(|err| fail(err.to_string()))
        });
        if let Err(err) = published {
            cluster.metrics.upload_failures.inc();
            return Err(err);
        }
        for record in &records {
            tracing::info!(table, segment = %record.segment, rows = record.rows, "segment published to the cluster");
        }
        Ok(())
    }
}
