//! A REALTIME table's supervisor thread: finds the topic's partitions (and
//! ones added later) and starts a consumer thread for each, refreshes the
//! brokers' latest offsets for the lag report, and applies retention. An
//! unreachable broker or a missing topic is retried with backoff and shown in
//! the status, never fatal.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::partition;
use super::shared::TableShared;
use crate::catalog::Retention;
use crate::ingest::kafka;

/// How often the topic is checked for new partitions.
const DISCOVERY_INTERVAL: Duration = Duration::from_secs(30);
/// How often the brokers' latest offsets are read.
const WATERMARK_INTERVAL: Duration = Duration::from_secs(2);
/// How often expired segments are looked for.
const RETENTION_INTERVAL: Duration = Duration::from_secs(5);

pub fn run(shared: Arc<TableShared>, retention: Option<Retention>) {
    let mut consumers: BTreeMap<i32, JoinHandle<()>> = BTreeMap::new();
    let mut client = None;
    let mut delay = Duration::from_millis(500);
    let mut next_discovery = Instant::now();
    let mut next_retention = Instant::now();
    let mut partitions = 0;
    while !shared.stopping() {
        if client.is_none() {
            match kafka::connect(&shared.stream, &format!("{}-meta", shared.name)) {
                Ok(made) => client = Some(made),
                Err(err) => {
                    shared.counters.set_table_error(Some(err.to_string()));
                    shared.wait(delay);
                    delay = (delay * 2).min(Duration::from_secs(30));
                    continue;
                }
            }
        }
        let Some(meta) = client.as_ref() else {
            continue;
        };
        if Instant::now() >= next_discovery {
            match kafka::partition_count(meta, &shared.stream.topic) {
                Ok(count) => {
                    shared.counters.set_table_error(None);
                    shared.set_num_partitions(count);
                    partitions = count;
                    delay = Duration::from_millis(500);
                    next_discovery = Instant::now() + DISCOVERY_INTERVAL;
                }
                Err(err) => {
                    tracing::warn!(table = %shared.name, error = %err, "cannot list partitions; retrying");
                    shared.counters.set_table_error(Some(err.to_string()));
                    next_discovery = Instant::now() + delay;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
            }
        }
        start_consumers(&shared, partitions, &mut consumers);
        for &partition in consumers.keys() {
            if let Ok((_, high)) = kafka::watermarks(meta, &shared.stream.topic, partition) {
                shared.with_status(partition, |status| status.latest_offset = Some(high));
            }
        }
        // In a cluster the lead controller applies retention to the
        // records; a server deleting its copy would only download it again.
        let retention = retention.as_ref().filter(|_| shared.coordinator.is_none());
        if let Some(retention) = retention {
            if Instant::now() >= next_retention {
                apply_retention(&shared, retention);
                next_retention = Instant::now() + RETENTION_INTERVAL;
            }
        }
        shared.wait(
            WATERMARK_INTERVAL
                .min(next_discovery.saturating_duration_since(Instant::now()))
                .max(Duration::from_millis(100)),
        );
    }
    for (_, handle) in consumers {
        let _ = handle.join();
    }
}

/// Starts a consumer thread for each partition that has none (in a
/// cluster, each partition assigned to this server; a consumer stops by
/// itself when its partition is assigned elsewhere, and starts again here
/// when it comes back).
fn start_consumers(
    shared: &Arc<TableShared>,
    count: i32,
    consumers: &mut BTreeMap<i32, JoinHandle<()>>,
) {
    for partition in 0..count {
        if let Some(coordinator) = &shared.coordinator {
            if consumers.get(&partition).is_some_and(|c| c.is_finished()) {
                if let Some(done) = consumers.remove(&partition) {
                    let _ = done.join();
                }
            }
            if !coordinator.consumes(&shared.name, partition) {
                continue;
            }
        }
        if consumers.contains_key(&partition) {
            continue;
        }
        let thread_shared = shared.clone();
        match std::thread::Builder::new()
            .name(format!("gamay-consume-{partition}"))
            .spawn(move || partition::run(thread_shared, partition))
        {
            Ok(handle) => {
                tracing::info!(table = %shared.name, partition, "consuming");
                consumers.insert(partition, handle);
            }
            Err(err) => shared.counters.set_table_error(Some(format!(
                "cannot start the consumer of partition {partition}: {err}"
            ))),
        }
    }
}

/// Deletes sealed segments whose newest row is older than the retention.
fn apply_retention(shared: &TableShared, retention: &Retention) {
    let cutoff = retention.cutoff(crate::segment::now_millis());
    for segment in shared.data.segments().iter() {
        let Some(newest) = segment
            .meta()
            .max_time
            .as_ref()
            .and_then(|v| retention.time.millis(v))
        else {
            continue;
        };
        if newest < cutoff {
            match shared.data.delete_segment(segment.name()) {
                Ok(()) => {
                    tracing::info!(table = %shared.name, segment = segment.name(), "segment past retention deleted")
                }
                Err(err) => {
                    tracing::warn!(table = %shared.name, segment = segment.name(), error = %err, "retention could not delete a segment")
                }
            }
        }
    }
}
