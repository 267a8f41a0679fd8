//! The metrics read at scrape time: each table's segments, rows and bytes,
//! each REALTIME partition's consumer, each connector's progress, and the
//! process's memory. Reads snapshots the server keeps anyway (segment
//! sets, consumer and connector status), so a scrape takes a few locks
//! briefly and never blocks ingestion or queries.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeCounterValue, EncodeGaugeValue, EncodeMetric,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

use super::names::{self, Def};
use super::Labels;
use crate::catalog::{Catalog, TableType};
use crate::export::config::SinkKind;
use crate::export::Connectors;
use crate::query::result_cache::ResultCache;
use crate::query::RunningQueries;
use crate::server::realtime::{ConsumerState, Realtime, TableIngestion};
use crate::server::Server;

/// What a scrape reads.
pub struct StateCollector {
    pub catalog: Arc<Catalog>,
    pub server: Arc<Server>,
    pub realtime: Arc<Realtime>,
    pub connectors: Arc<Connectors>,
    pub queries_running: RunningQueries,
    /// Each lane's name and its count of waiting queries.
    pub queries_queued: Vec<(&'static str, Arc<AtomicUsize>)>,
    pub result_cache: Arc<ResultCache>,
}

impl fmt::Debug for StateCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateCollector").finish_non_exhaustive()
    }
}

impl Collector for StateCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let def = &names::QUERIES_RUNNING;
        let metric = encoder.encode_descriptor(def.name, def.help, None, MetricType::Gauge)?;
        ConstGauge::new(self.queries_running.get() as i64).encode(metric)?;
        let queued: Vec<(Labels, u64)> = self
            .queries_queued
            .iter()
            .map(|(lane, count)| {
                (
                    vec![("lane", lane.to_string())],
                    count.load(Ordering::Relaxed) as u64,
                )
            })
            .collect();
        gauges(&mut encoder, &names::QUERIES_QUEUED, queued)?;
        let cache = self.result_cache.stats();
        for (def, count) in [
            (&names::RESULT_CACHE_HITS, cache.hits),
            (&names::RESULT_CACHE_MISSES, cache.misses),
        ] {
            let metric =
                encoder.encode_descriptor(def.name, def.help, None, MetricType::Counter)?;
            ConstCounter::new(count).encode(metric)?;
        }
        for (def, value) in [
            (&names::RESULT_CACHE_ENTRIES, cache.entries),
            (&names::RESULT_CACHE_BYTES, cache.bytes),
        ] {
            let metric = encoder.encode_descriptor(def.name, def.help, None, MetricType::Gauge)?;
            ConstGauge::new(value as i64).encode(metric)?;
        }
        self.encode_tables(&mut encoder)?;
        self.encode_ingestion(&mut encoder)?;
        self.encode_connectors(&mut encoder)?;
        encode_process(&mut encoder)
    }
}

impl StateCollector {
    fn encode_tables(&self, encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let mut segments = Vec::new();
        let mut rows = Vec::new();
        let mut bytes = Vec::new();
        let mut keys = Vec::new();
        let mut key_bytes = Vec::new();
        for table in self.catalog.typed_table_names(None) {
            let Some(data) = self.server.table(&table) else {
                continue;
            };
            let stats = data.stats();
            let labels = |state: &str| vec![("table", table.clone()), ("state", state.into())];
            segments.push((labels("sealed"), stats.sealed_segments as u64));
            segments.push((labels("consuming"), stats.consuming_segments as u64));
            rows.push((labels("sealed"), stats.sealed_rows));
            rows.push((labels("consuming"), stats.consuming_rows));
            bytes.push((vec![("table", table.clone())], stats.sealed_bytes));
            if let Some(upsert) = data.upsert() {
                let (count, size) = upsert.key_stats();
                keys.push((vec![("table", table.clone())], count as u64));
                key_bytes.push((vec![("table", table.clone())], size as u64));
            }
        }
        gauges(encoder, &names::TABLE_SEGMENTS, segments)?;
        gauges(encoder, &names::TABLE_ROWS, rows)?;
        gauges(encoder, &names::TABLE_BYTES, bytes)?;
        gauges(encoder, &names::UPSERT_KEYS, keys)?;
        gauges(encoder, &names::UPSERT_KEY_MAP_BYTES, key_bytes)
    }

    fn encode_ingestion(&self, encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let tables: Vec<TableIngestion> = self
            .catalog
            .typed_table_names(Some(TableType::Realtime))
            .iter()
            .filter_map(|table| self.realtime.status(table))
            .collect();
        let mut rows = Vec::new();
        let mut lag = Vec::new();
        let mut errors = Vec::new();
        let mut lost = Vec::new();
        let mut consuming = Vec::new();
        let mut last_consumed = Vec::new();
        let mut bad = Vec::new();
        for table in &tables {
            for partition in &table.partitions {
                let labels = || {
                    vec![
                        ("table", table.table.clone()),
                        ("partition", partition.partition.to_string()),
                    ]
                };
                rows.push((labels(), partition.rows_consumed));
                errors.push((labels(), partition.errors));
                lost.push((labels(), partition.lost_offsets));
                let is_consuming = partition.state == ConsumerState::Consuming;
                consuming.push((labels(), u64::from(is_consuming)));
                if let Some(messages) = partition.lag() {
                    lag.push((labels(), messages));
                }
                if let Some(millis) = partition.last_consumed_millis {
                    last_consumed.push((labels(), millis as f64 / 1000.0));
                }
            }
            for ((partition, reason), count) in &table.counters.bad_by_partition {
                let labels = vec![
                    ("table", table.table.clone()),
                    ("partition", partition.to_string()),
                    ("reason", reason.name().to_string()),
                ];
                bad.push((labels, *count));
            }
        }
        counters(encoder, &names::INGEST_ROWS, rows)?;
        gauges(encoder, &names::INGEST_LAG, lag)?;
        counters(encoder, &names::INGEST_ERRORS, errors)?;
        counters(encoder, &names::INGEST_BAD_MESSAGES, bad)?;
        counters(encoder, &names::INGEST_LOST_OFFSETS, lost)?;
        gauges(encoder, &names::INGEST_CONSUMING, consuming)?;
        gauges(encoder, &names::INGEST_LAST_CONSUMED, last_consumed)
    }

    fn encode_connectors(&self, encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let mut rows = Vec::new();
        let mut files = Vec::new();
        let mut bytes = Vec::new();
        let mut lag_rows = Vec::new();
        let mut lag_segments = Vec::new();
        let mut failures = Vec::new();
        let mut missed = Vec::new();
        let mut states = Vec::new();
        for name in self.connectors.names() {
            // In a cluster a connector's figures are its running node's, so
            // sums over nodes count each once.
            if self.connectors.is_shared() && !self.connectors.runs_here(&name) {
                continue;
            }
            let Ok(view) = self.connectors.get(&name) else {
                continue;
            };
            let kind = match view.config.kind {
                SinkKind::S3 => "s3",
                SinkKind::Jdbc => "jdbc",
            };
            let labels = || vec![("connector", name.clone()), ("type", kind.to_string())];
            let status = &view.status;
            rows.push((labels(), status.state.rows_written));
            if view.config.kind == SinkKind::S3 {
                files.push((labels(), status.state.files_written));
                bytes.push((labels(), status.state.bytes_written));
            }
            if let Some((segments, lagging_rows)) = status.lag {
                lag_segments.push((labels(), segments));
                lag_rows.push((labels(), lagging_rows));
            }
            failures.push((labels(), u64::from(status.failures_in_a_row)));
            missed.push((labels(), status.missed_segments));
            let state = match (view.paused, status.error.is_some()) {
                (true, _) => "PAUSED",
                (false, true) => "FAILED",
                (false, false) => "RUNNING",
            };
            for candidate in ["RUNNING", "PAUSED", "FAILED"] {
                let mut labels = labels();
                labels.push(("state", candidate.to_string()));
                states.push((labels, u64::from(candidate == state)));
            }
        }
        counters(encoder, &names::CONNECTOR_ROWS, rows)?;
        counters(encoder, &names::CONNECTOR_FILES, files)?;
        counters(encoder, &names::CONNECTOR_BYTES, bytes)?;
        gauges(encoder, &names::CONNECTOR_LAG_ROWS, lag_rows)?;
        gauges(encoder, &names::CONNECTOR_LAG_SEGMENTS, lag_segments)?;
        gauges(encoder, &names::CONNECTOR_FAILURES, failures)?;
        counters(encoder, &names::CONNECTOR_MISSED_SEGMENTS, missed)?;
        gauges(encoder, &names::CONNECTOR_STATE, states)
    }
}

/// The process's memory and threads, where `/proc` has them (Linux).
fn encode_process(encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return Ok(());
    };
    let field = |key: &str| -> Option<u64> {
        let line = status.lines().find(|line| line.starts_with(key))?;
        line[key.len()..].split_whitespace().next()?.parse().ok()
    };
    let kib = |key: &str| field(key).map(|kib| kib * 1024);
    let process = [
        (&names::PROCESS_RESIDENT, kib("VmRSS:")),
        (&names::PROCESS_PEAK_RESIDENT, kib("VmHWM:")),
        (&names::PROCESS_VIRTUAL, kib("VmSize:")),
        (&names::PROCESS_THREADS, field("Threads:")),
    ];
    for (def, value) in process {
        if let Some(value) = value {
            let metric = encoder.encode_descriptor(def.name, def.help, None, MetricType::Gauge)?;
            ConstGauge::new(value).encode(metric)?;
        }
    }
    Ok(())
}

fn gauges<N>(
    encoder: &mut DescriptorEncoder<'_>,
    def: &Def,
    samples: impl IntoIterator<Item = (Labels, N)>,
) -> fmt::Result
where
    N: EncodeGaugeValue + fmt::Debug,
{
    let samples = samples.into_iter().map(|(l, n)| (l, ConstGauge::new(n)));
    family(encoder, def, MetricType::Gauge, samples)
}

fn counters<N>(
    encoder: &mut DescriptorEncoder<'_>,
    def: &Def,
    samples: impl IntoIterator<Item = (Labels, N)>,
) -> fmt::Result
where
    N: EncodeCounterValue + fmt::Debug,
{
    let samples = samples.into_iter().map(|(l, n)| (l, ConstCounter::new(n)));
    family(encoder, def, MetricType::Counter, samples)
}

/// One metric family: its descriptor, then a sample per label set.
fn family<M: EncodeMetric>(
    encoder: &mut DescriptorEncoder<'_>,
    def: &Def,
    metric_type: MetricType,
    samples: impl IntoIterator<Item = (Labels, M)>,
) -> fmt::Result {
    let mut metric = encoder.encode_descriptor(def.name, def.help, None, metric_type)?;
    for (labels, sample) in samples {
        sample.encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}
