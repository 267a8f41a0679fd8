//! The broker's routing: which live servers hold each segment, re-read
//! from the metastore when it announces a change and every few seconds
//! anyway, and swapped in whole, so a query reads one consistent table.
//!
//! The segments routed are those assigned (a segment being deleted has
//! no assignment, so it stops being routed at once); each goes to the
//! live servers that report it loaded (the external view), and only when
//! none does yet to its live assigned holders, which answer it as missing
//! so the broker reports it rather than leave it out silently.
//!
//! For a REALTIME table it also holds, per stream partition, where the
//! committed segments end and the live servers consuming it: the broker
//! asks one of them for the partition's rows from there on
//! (`query::consuming`). Both come from the same read of the segment
//! records, taken after the assignments: a segment committed since the
//! assignments were read has no holders yet and is asked of the
//! partition's consumers (its committer holds it), so no offset is left
//! out or counted twice.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use super::controller::SERVER_ROLE;
use super::{next_change, Cluster};
use crate::metastore::SegmentState;
use crate::sync::RecoverRw;

/// One snapshot of the routing.
#[derive(Debug, Default)]
pub struct Routing {
    /// Table (with type) → segment → the live servers holding it.
    pub tables: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Live server id → its URL.
    pub servers: BTreeMap<String, String>,
    /// REALTIME table (with type) → stream partition → what to ask for.
    pub partitions: BTreeMap<String, BTreeMap<i32, PartitionRoute>>,
    /// REALTIME table (with type) → segment → its stream partition.
    pub partition_of: BTreeMap<String, BTreeMap<String, i32>>,
}

/// A stream partition's rows past its committed segments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionRoute {
    /// Where the committed segments end; `None` before the first.
    pub from: Option<i64>,
    /// The live servers consuming it, the lease holder first.
    pub servers: Vec<String>,
}

/// The current routing, kept fresh.
pub struct Router {
    current: RwLock<Arc<Routing>>,
}

impl Router {
    /// A router with no segments until the first refresh.
    pub fn empty() -> Router {
        Router {
            current: RwLock::new(Arc::default()),
        }
    }

    pub fn current(&self) -> Arc<Routing> {
        self.current.read_locked().clone()
    }

    /// Re-reads the routing from the metastore.
    pub async fn refresh(&self, cluster: &Cluster) -> Result<(), crate::metastore::Error> {
        let nodes = cluster.metastore.live_nodes(cluster.lease_timeout).await?;
        let servers: BTreeMap<String, String> = nodes
            .into_iter()
            .filter(|node| node.roles.iter().any(|role| role == SERVER_ROLE))
            .map(|node| (node.id, node.url))
            .collect();
        let assigned = cluster.metastore.routing().await?;
        let loaded = cluster
            .metastore
            .external_view(cluster.lease_timeout)
            .await?;
        let mut tables = route(assigned, &loaded, &servers);
        let mut partitions: BTreeMap<String, BTreeMap<i32, PartitionRoute>> = BTreeMap::new();
        for (table, assigned) in cluster.metastore.partition_assignments().await? {
            // Read before the records, so never past them; it still counts
            // when retention removed a partition's newest records.
            let checkpoints = cluster.metastore.checkpoints(&table).await?;
            let holders: BTreeMap<i32, String> = cluster
                .metastore
                .leases(&table)
                .await?
                .into_iter()
                .map(|lease| (lease.partition, lease.owner))
                .collect();
            let routes = partitions.entry(table).or_default();
            for (partition, consumers) in assigned {
                let mut consumers: Vec<String> = consumers
                    .into_iter()
                    .filter(|server| servers.contains_key(server))
                    .collect();
                // The lease holder first: it is the freshest (a replica
                // starts over from each new checkpoint).
                consumers.sort_by_key(|server| holders.get(&partition) != Some(server));
                routes.insert(
                    partition,
                    PartitionRoute {
                        from: checkpoints.get(&partition).copied(),
                        servers: consumers,
                    },
                );
            }
        }
        // Read last: every commit it shows moved its partition's `from`.
        let mut partition_of: BTreeMap<String, BTreeMap<String, i32>> = BTreeMap::new();
        for record in cluster.metastore.all_segments().await? {
            let (Some(partition), Some((_, end))) = (record.partition, record.offsets) else {
                continue;
            };
            partition_of
                .entry(record.table.clone())
                .or_default()
                .insert(record.segment.clone(), partition);
            let Some(routes) = partitions.get_mut(&record.table) else {
                continue;
            };
            let route = routes.entry(partition).or_default();
            route.from = Some(route.from.map_or(end, |from| from.max(end)));
            if record.state != SegmentState::Online {
                continue;
            }
            let holders = tables
                .entry(record.table.clone())
                .or_default()
                .entry(record.segment.clone())
                .or_default();
            // Its committer (a consumer) holds it until others report it
            // loaded: the consumers are asked after the routed holders.
            for consumer in &route.servers {
                if !holders.contains(consumer) {
                    holders.push(consumer.clone());
                }
            }
        }
        *self.current.write_locked() = Arc::new(Routing {
            tables,
            servers,
            partitions,
            partition_of,
        });
        Ok(())
    }

    /// Refreshes on every change, for as long as the cluster runs.
    pub fn follow(self: &Arc<Self>, cluster: &Arc<Cluster>) {
        let (router, me) = (self.clone(), cluster.clone());
        cluster.spawn(async move {
            let mut changes = me.metastore.changes();
            loop {
                if let Err(err) = router.refresh(&me).await {
                    tracing::warn!(error = %err, "cannot refresh the routing; queries use the last one");
                }
                next_change(&mut changes).await;
            }
        });
    }
}

/// Each assigned segment's live holders that report it loaded, or its
/// live assigned holders when none does.
pub fn route(
    mut assigned: crate::metastore::Routing,
    loaded: &crate::metastore::Routing,
    servers: &BTreeMap<String, String>,
) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    for (table, segments) in assigned.iter_mut() {
        let table_loaded = loaded.get(table);
        for (segment, holders) in segments.iter_mut() {
            let ready: Vec<String> = table_loaded
                .and_then(|view| view.get(segment))
                .into_iter()
                .flatten()
                .filter(|holder| servers.contains_key(*holder))
                .cloned()
                .collect();
            if ready.is_empty() {
                holders.retain(|holder| servers.contains_key(holder));
            } else {
                *holders = ready;
            }
        }
    }
    assigned
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(entries: &[(&str, &[&str])]) -> crate::metastore::Routing {
        let mut out = crate::metastore::Routing::new();
        for (segment, holders) in entries {
            out.entry("t_OFFLINE".to_string()).or_default().insert(
                segment.to_string(),
                holders.iter().map(|h| h.to_string()).collect(),
            );
        }
        out
    }

    #[test]
    fn loaded_holders_first_then_the_assignment() {
        let servers: BTreeMap<String, String> = ["a", "b", "c"]
            .iter()
            .map(|id| (id.to_string(), format!("http://{id}")))
            .collect();
        let assigned = view(&[
            ("moving", &["a", "b"]),
            ("new", &["c", "dead"]),
            ("held", &["a"]),
        ]);
        let loaded = view(&[("moving", &["a"]), ("held", &["a"]), ("deleted", &["b"])]);
        let routed = route(assigned, &loaded, &servers);
        let table = &routed["t_OFFLINE"];
        assert_eq!(table["moving"], ["a"], "b has not loaded it yet");
        assert_eq!(
            table["new"],
            ["c"],
            "no one loaded it: the live assigned holders"
        );
        assert_eq!(table["held"], ["a"]);
        assert!(
            !table.contains_key("deleted"),
            "only assigned segments are routed"
        );
    }
}
