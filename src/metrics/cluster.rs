//! The metrics of a cluster node, recorded by `cluster/` as things happen:
//! its roles, what its server holds and is loading, deep-store transfers,
//! the broker's scatter (queries, servers asked, retries, missing
//! segments, each server's latency) and the lead controller's work. One
//! [`ClusterMetrics`] per node, shared by its loops; every metric is a
//! handle onto the registry [`super::Metrics`] encodes.

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::{names, register, Labels, LATENCY_BUCKETS};

/// Upper bounds of the servers-per-query buckets: a handful of servers
/// is the common case, hundreds the largest cluster planned for.
const SERVER_BUCKETS: [f64; 10] = [1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 50.0, 100.0, 200.0];

/// A cluster node's metrics.
#[derive(Debug, Clone)]
pub struct ClusterMetrics {
    pub roles: Family<Labels, Gauge>,
    pub segments_held: Family<Labels, Gauge>,
    pub segments_loading: Family<Labels, Gauge>,
    pub downloads: Counter,
    pub download_bytes: Counter,
    pub download_failures: Counter,
    pub uploads: Counter,
    pub upload_bytes: Counter,
    pub upload_failures: Counter,
    pub scattered: Counter,
    pub servers_per_query: Histogram,
    pub retries: Counter,
    pub segments_missing: Counter,
    pub server_seconds: Family<Labels, Histogram>,
    pub leader: Gauge,
    pub segment_moves: Counter,
}

impl Default for ClusterMetrics {
    fn default() -> ClusterMetrics {
        ClusterMetrics {
            roles: Family::default(),
            segments_held: Family::default(),
            segments_loading: Family::default(),
            downloads: Counter::default(),
            download_bytes: Counter::default(),
            download_failures: Counter::default(),
            uploads: Counter::default(),
            upload_bytes: Counter::default(),
            upload_failures: Counter::default(),
            scattered: Counter::default(),
            servers_per_query: Histogram::new(SERVER_BUCKETS),
            retries: Counter::default(),
            segments_missing: Counter::default(),
            server_seconds: Family::new_with_constructor(
                (|| Histogram::new(LATENCY_BUCKETS)) as fn() -> Histogram,
            ),
            leader: Gauge::default(),
            segment_moves: Counter::default(),
        }
    }
}

impl ClusterMetrics {
    /// Metrics of a node running `roles`.
    pub fn for_roles(roles: &[String]) -> ClusterMetrics {
        let metrics = ClusterMetrics::default();
        for role in roles {
            metrics
                .roles
                .get_or_create(&vec![("role", role.clone())])
                .set(1);
        }
        metrics
    }

    /// Adds every metric to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        register(registry, &names::NODE_ROLE, self.roles.clone());
        register(registry, &names::SEGMENTS_HELD, self.segments_held.clone());
        register(
            registry,
            &names::SEGMENTS_LOADING,
            self.segments_loading.clone(),
        );
        register(registry, &names::DOWNLOADS, self.downloads.clone());
        register(
            registry,
            &names::DOWNLOAD_BYTES,
            self.download_bytes.clone(),
        );
        register(
            registry,
            &names::DOWNLOAD_FAILURES,
            self.download_failures.clone(),
        );
        register(registry, &names::UPLOADS, self.uploads.clone());
        register(registry, &names::UPLOAD_BYTES, self.upload_bytes.clone());
        register(
            registry,
            &names::UPLOAD_FAILURES,
            self.upload_failures.clone(),
        );
        register(registry, &names::SCATTERED, self.scattered.clone());
        register(
            registry,
            &names::SERVERS_PER_QUERY,
            self.servers_per_query.clone(),
        );
        register(registry, &names::RETRIES, self.retries.clone());
        register(
            registry,
            &names::SEGMENTS_MISSING,
            self.segments_missing.clone(),
        );
        register(
            registry,
            &names::SERVER_REQUEST_SECONDS,
            self.server_seconds.clone(),
        );
        register(registry, &names::LEADER, self.leader.clone());
        register(registry, &names::SEGMENT_MOVES, self.segment_moves.clone());
    }

    /// Records one request to `server` that took `elapsed`.
    pub fn server_request(&self, server: &str, elapsed: Duration) {
        self.server_seconds
            .get_or_create(&vec![("server", server.to_string())])
            .observe(elapsed.as_secs_f64());
    }

    /// Sets a table's held and loading counts on this server.
    pub fn holdings(&self, table: &str, held: usize, loading: usize) {
        let labels = vec![("table", table.to_string())];
        self.segments_held.get_or_create(&labels).set(held as i64);
        self.segments_loading
            .get_or_create(&labels)
            .set(loading as i64);
    }
}
