//! Retention across the cluster, applied by the lead controller: a
//! segment whose newest row (its record's time range) is older than its
//! table's retention is marked for deletion; servers drop it and brokers
//! stop routing to it, as with `DELETE /segments`.

use super::Cluster;
use crate::catalog::{Catalog, Retention};
use crate::metastore::SegmentState;

/// Marks every segment past its table's retention; returns how many.
pub async fn apply(cluster: &Cluster, catalog: &Catalog) -> Result<usize, crate::metastore::Error> {
    let now = crate::segment::now_millis();
    let mut marked = 0;
    for name in catalog.typed_table_names(None) {
        let Some(entry) = catalog.table(&name) else {
            continue;
        };
        let Some(schema) = catalog.schema_for_table(&entry.config) else {
            continue;
        };
        let Some(retention) = Retention::of(&schema.schema, &entry.config) else {
            continue;
        };
        let cutoff = retention.cutoff(now);
        for record in cluster.metastore.segments(&name).await? {
            let expired = record.state == SegmentState::Online
                && record.time_range.is_some_and(|(_, newest)| newest < cutoff);
            if expired
                && cluster
                    .metastore
                    .set_segment_state(&name, &record.segment, SegmentState::Deleting)
                    .await?
            {
                marked += 1;
                tracing::info!(table = %name, segment = %record.segment, "segment past retention marked for deletion");
            }
        }
    }
    Ok(marked)
}
