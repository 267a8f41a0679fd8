//! A node's part in a cluster: its announcement and heartbeats, the
//! segments it publishes to the deep store, the segments the controller
//! placed on it, and (leading controller) the placement itself, and the
//! broker's routing.
//!
//! ```text
//!  every node ── heartbeat ──────────────────────────► metastore (live nodes)
//!  ingesting node ── seal ─► deep store upload ─► record (publish.rs)
//!  lead controller ── live servers × segment records ─► assignments (controller.rs, place.rs)
//!  server ── assignments ─► download / drop ─► local tables (holdings.rs)
//!  lead controller ── live servers × Kafka partitions ─► partition assignments (controller.rs)
//!  server ── partition assignments ─► leases, consume, seal ─► deep store ─► commit (stream.rs)
//!  broker ── assignments × live nodes ─► routing ─► scatter (routing.rs, scatter.rs)
//!  server ── connector lease ─► records × deep store ─► sink, watermark (connectors.rs)
//! ```
//!
//! Nothing here decides anything alone: what nodes agree on is in the
//! metastore, written in transactions, and every loop re-reads it when
//! the metastore says something changed, and every few seconds anyway.

pub mod catalog;
pub mod connectors;
pub mod controller;
pub mod holdings;
pub mod node;
pub mod place;
pub mod publish;
pub mod remote;
pub mod replicas;
pub mod retention;
pub mod routing;
pub mod scatter;
pub mod stream;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use crate::config::{ClusterConfig, Role};
use crate::deepstore::DeepStore;
use crate::metastore::{Metastore, Node};
use crate::metrics::cluster::ClusterMetrics;
use crate::sync::Recover;

/// How often loops re-read the metastore when no change was announced.
pub const REFRESH: Duration = Duration::from_secs(5);

/// A failure to join the cluster.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Metastore(#[from] crate::metastore::Error),
    #[error(transparent)]
    DeepStore(#[from] crate::deepstore::Error),
    #[error("--metastore `{0}` is not a PostgreSQL URL: give postgres://user:password@host:port/database")]
    MetastoreUrl(String),
}

/// This node in its cluster.
pub struct Cluster {
    pub node: Node,
    pub role: Role,
    pub metastore: Arc<dyn Metastore>,
    pub deep_store: Arc<DeepStore>,
    /// How long a silent node keeps its leases and its place.
    pub lease_timeout: Duration,
    /// The runtime the cluster's loops and blocking bridges run on.
    pub runtime: Handle,
    /// What this node's cluster work records.
    pub metrics: ClusterMetrics,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Cluster {
    /// Connects to the metastore and the deep store `config` names, as a
    /// node reachable at `url`.
    pub async fn connect(config: &ClusterConfig, url: String) -> Result<Cluster, Error> {
        let metastore_url = config.metastore.clone().unwrap_or_default();
        if !(metastore_url.starts_with("postgres://") || metastore_url.starts_with("postgresql://"))
        {
            return Err(Error::MetastoreUrl(redact(&metastore_url)));
        }
        let metastore = crate::metastore::postgres::PgMetastore::connect(&metastore_url).await?;
        let deep_store = DeepStore::open(config.deep_store.as_deref().unwrap_or_default())?;
        Ok(Cluster::with(
            config,
            url,
            Arc::new(metastore),
            Arc::new(deep_store),
        ))
    }

    /// A node over an open metastore and deep store.
    pub fn with(
        config: &ClusterConfig,
        url: String,
        metastore: Arc<dyn Metastore>,
        deep_store: Arc<DeepStore>,
    ) -> Cluster {
        let id = config.node_id.clone().unwrap_or_else(|| url.clone());
        let roles = roles_of(config.role);
        Cluster {
            metrics: ClusterMetrics::for_roles(&roles),
            node: Node { id, url, roles },
            role: config.role,
            metastore,
            deep_store,
            lease_timeout: config.lease_timeout,
            runtime: Handle::current(),
            tasks: Mutex::new(Vec::new()),
        }
    }

    /// Runs `task` until the cluster stops.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let handle = self.runtime.spawn(task);
        self.tasks.locked().push(handle);
    }

    /// Runs `future` to completion from synchronous code (a blocking
    /// thread or a runtime worker, which it leaves while it waits).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match Handle::try_current() {
            Ok(_) => tokio::task::block_in_place(|| self.runtime.block_on(future)),
            Err(_) => self.runtime.block_on(future),
        }
    }

    /// Stops the loops and leaves the cluster, so others take over this
    /// node's work at once rather than after its lease times out.
    pub async fn stop(&self) {
        for task in self.tasks.locked().drain(..) {
            task.abort();
        }
        if let Err(err) = self.metastore.leave(&self.node.id).await {
            tracing::warn!(error = %err, "could not announce leaving the cluster");
        }
    }
}

/// The roles a node announces for its `--role`.
pub fn roles_of(role: Role) -> Vec<String> {
    match role {
        Role::All => vec!["controller".into(), "broker".into(), "server".into()],
        one => vec![one.as_str().to_string()],
    }
}

/// A URL with its password replaced, for messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// Waits for the next announced change, or `REFRESH`, whichever is first.
pub async fn next_change(changes: &mut tokio::sync::watch::Receiver<u64>) {
    match tokio::time::timeout(REFRESH, changes.changed()).await {
        Ok(Ok(())) | Err(_) => {}
        // No one announces changes any more: poll.
        Ok(Err(_)) => tokio::time::sleep(REFRESH).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://gamay:s3cret@db:5432/meta"),
            "postgres://gamay:***@db:5432/meta"
        );
        assert_eq!(redact("postgres://db/meta"), "postgres://db/meta");
    }
}
