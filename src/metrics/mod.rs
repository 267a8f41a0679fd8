//! Every metric Gamay exports on `GET /metrics`, in the Prometheus text
//! format (OpenMetrics 1.0). Names and help texts are defined here, in
//! [`names`], and nowhere else.
//!
//! Two kinds of metrics: events counted as they happen (queries, their
//! latency and errors), held in [`Metrics`] and recorded by the API; and
//! state read at scrape time by [`collect::StateCollector`] from what the
//! server already keeps (consumer status, segment sets, connector status,
//! `/proc/self/status`), so the hot paths carry no extra bookkeeping.
//! Counters get the `_total` suffix on their samples, as OpenMetrics asks.
//!
//! Metrics are injected, not global: [`Metrics`] lives in the API's state,
//! so every test server has its own.

pub mod cluster;
mod collect;
pub mod names;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use collect::StateCollector;
use names::Def;

/// The content type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds of the query latency buckets, in seconds: dashboards care
/// about the sub-10 ms range, so it is split finest.
const LATENCY_BUCKETS: [f64; 15] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

type Labels = Vec<(&'static str, String)>;

/// The registry and the event metrics the API records into.
pub struct Metrics {
    registry: Registry,
    queries: Family<Labels, Counter>,
    query_seconds: Family<Labels, Histogram>,
    query_errors: Family<Labels, Counter>,
    /// Each engine's counter and histogram, looked up once.
    engines: Vec<(&'static str, Counter, Histogram)>,
}

/// The engines queries are recorded for.
pub const ENGINES: [&str; 2] = ["single-stage", "multi-stage"];

impl Metrics {
    /// A registry with the event metrics and `state` read at each scrape.
    pub fn new(state: StateCollector) -> Metrics {
        let mut registry = Registry::default();
        let queries = Family::<Labels, Counter>::default();
        let query_seconds = Family::<Labels, Histogram>::new_with_constructor(
            (|| Histogram::new(LATENCY_BUCKETS)) as fn() -> Histogram,
        );
        let query_errors = Family::<Labels, Counter>::default();
        register(&mut registry, &names::QUERIES, queries.clone());
        register(&mut registry, &names::QUERY_SECONDS, query_seconds.clone());
        register(&mut registry, &names::QUERY_ERRORS, query_errors.clone());
        registry.register_collector(Box::new(state));
        let engines = ENGINES
            .iter()
            .map(|engine| {
                let labels = vec![("engine", engine.to_string())];
                let counter = queries.get_or_create(&labels).clone();
                let histogram = query_seconds.get_or_create(&labels).clone();
                (*engine, counter, histogram)
            })
            .collect();
        Metrics {
            registry,
            queries,
            query_seconds,
            query_errors,
            engines,
        }
    }

    /// Records one query: how long it took and, if it failed, Pinot's
    /// error code. `engine` is `single-stage` or `multi-stage`.
    pub fn record_query(&self, engine: &'static str, elapsed: Duration, error_code: Option<i32>) {
        match self.engines.iter().find(|(name, _, _)| *name == engine) {
            Some((_, counter, histogram)) => {
                counter.inc();
                histogram.observe(elapsed.as_secs_f64());
            }
            None => {
                let labels = vec![("engine", engine.to_string())];
                self.queries.get_or_create(&labels).inc();
                self.query_seconds
                    .get_or_create(&labels)
                    .observe(elapsed.as_secs_f64());
            }
        }
        if let Some(code) = error_code {
            self.query_errors
                .get_or_create(&vec![("code", code.to_string())])
                .inc();
        }
    }

    /// Adds a cluster node's metrics.
    pub fn with_cluster(mut self, cluster: &cluster::ClusterMetrics) -> Metrics {
        cluster.register(&mut self.registry);
        self
    }

    /// Every metric, in the text format, ending with `# EOF`.
    pub fn encode(&self) -> Result<String, fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

fn register<M>(registry: &mut Registry, def: &Def, metric: M)
where
    M: prometheus_client::registry::Metric,
{
    registry.register(def.name, def.help, metric);
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Shared handle the API keeps.
pub type SharedMetrics = Arc<Metrics>;

#[cfg(test)]
mod tests;
