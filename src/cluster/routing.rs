//! The broker's routing: which live servers hold each segment, re-read
//! from the metastore when it announces a change and every few seconds
//! anyway, and swapped in whole, so a query reads one consistent table.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use super::controller::SERVER_ROLE;
use super::{next_change, Cluster};
use crate::sync::RecoverRw;

/// One snapshot of the routing.
#[derive(Debug, Default)]
pub struct Routing {
    /// Table (with type) → segment → the live servers holding it.
    pub tables: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Live server id → its URL.
    pub servers: BTreeMap<String, String>,
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
        let mut tables = cluster.metastore.routing().await?;
        for segments in tables.values_mut() {
            for holders in segments.values_mut() {
                holders.retain(|holder| servers.contains_key(holder));
            }
        }
        *self.current.write_locked() = Arc::new(Routing { tables, servers });
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
