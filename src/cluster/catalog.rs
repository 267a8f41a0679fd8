//! Following the catalog: the schemas and table configs live in the
//! metastore, and every node re-reads them when another node changes them
//! (or every few seconds), dropping the local data of tables deleted
//! elsewhere. A server also starts, restarts and stops the consumers of
//! REALTIME tables as their configs come, change and go (which partitions
//! each consumes is [`super::stream`]'s).

use std::sync::Arc;

use super::{next_change, Cluster};
use crate::catalog::Catalog;
use crate::catalog::TableType;
use crate::server::realtime::Realtime;
use crate::server::Server;

/// Keeps `catalog` in step with the metastore for as long as the cluster
/// runs.
pub fn follow(
    cluster: &Arc<Cluster>,
    catalog: Arc<Catalog>,
    server: Arc<Server>,
    realtime: Option<Arc<Realtime>>,
) {
    let me = cluster.clone();
    cluster.spawn(async move {
        let mut changes = me.metastore.changes();
        loop {
            next_change(&mut changes).await;
            let (catalog, holder, realtime) = (catalog.clone(), server.clone(), realtime.clone());
            let reloaded = tokio::task::spawn_blocking(move || {
                let changes = catalog.reload()?;
                for table in &changes.tables_removed {
                    if let Some(realtime) = &realtime {
                        realtime.stop(table);
                    }
                    if let Err(err) = holder.drop_table(table) {
                        tracing::error!(table = %table, error = %err, "the table was deleted but its local segment files could not all be removed");
                    }
                }
                if let Some(realtime) = &realtime {
                    consume(&catalog, realtime, &changes.tables_replaced);
                }
                Ok::<_, crate::catalog::Error>(changes)
            })
            .await;
            let dropped_tables = matches!(&reloaded, Ok(Ok(changes)) if !changes.tables_removed.is_empty());
            let serving = me.node.roles.iter().any(|role| role == super::controller::SERVER_ROLE);
            if dropped_tables && serving {
                // What this server holds changed without a load or drop.
                if let Err(err) = super::holdings::report_all(&me, &server).await {
                    tracing::warn!(error = %err, "could not report the segments left after dropping tables");
                }
            }
            match reloaded {
                Ok(Ok(changes)) if !changes.is_empty() => {
                    tracing::info!(?changes, "took in catalog changes");
                }
                Ok(Ok(_)) => {}
                Ok(Err(err)) => tracing::warn!(error = %err, "cannot re-read the catalog; retrying"),
                Err(err) => tracing::warn!(error = %err, "the catalog reload failed"),
            }
        }
    });
}

/// Starts the consumers of every REALTIME table not consumed yet (a new
/// table, or one whose last start failed), and restarts those `replaced`.
pub fn consume(catalog: &Catalog, realtime: &Realtime, replaced: &[String]) {
    for raw in catalog.table_names(Some(TableType::Realtime)) {
        for entry in catalog.tables_named(&raw) {
            if entry.config.table_type != TableType::Realtime {
                continue;
            }
            let table = entry.config.name_with_type();
            if realtime.is_running(&table) && !replaced.contains(&table) {
                continue;
            }
            if let Err(err) = realtime.sync(catalog, &table) {
                tracing::warn!(table = %table, error = %err, "not consuming; retrying");
            }
        }
    }
}
