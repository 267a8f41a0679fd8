//! The state one REALTIME table's threads share: its settings, the control
//! flags the HTTP API sets (pause, resume, force commit, stop), the status of
//! each partition, and the counters.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::status::{PartitionStatus, TableCounters};
use crate::catalog::StreamConfig;
use crate::ingest::decode::MessageDecoder;
use crate::segment::SegmentSpec;
use crate::server::{StreamCoordinator, TableData};
use crate::sync::Recover;
use crate::upsert::TableUpsert;

/// Where consumption resumes after a pause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeFrom {
    /// The checkpoint: nothing skipped, nothing repeated.
    LastConsumed,
    /// The earliest offset the broker still has, but never before the
    /// checkpoint (which would ingest rows twice).
    Smallest,
    /// The broker's latest offset; the offsets in between are skipped (and
    /// counted).
    Largest,
}

impl ConsumeFrom {
    pub fn parse(text: &str) -> Result<ConsumeFrom, crate::server::Error> {
        match text.to_ascii_lowercase().as_str() {
            "lastconsumed" => Ok(ConsumeFrom::LastConsumed),
            "smallest" => Ok(ConsumeFrom::Smallest),
            "largest" => Ok(ConsumeFrom::Largest),
            _ => Err(crate::server::Error::ConsumeFrom(text.to_string())),
        }
    }
}

/// What the API asks of the consumers.
#[derive(Debug, Clone, Copy)]
pub struct Control {
    pub paused: bool,
    /// Bumped by each resume; `resume_from` applies once per bump.
    pub resume_generation: u64,
    pub resume_from: ConsumeFrom,
    /// Bumped by each force commit.
    pub force_commit: u64,
}

pub struct TableShared {
    /// The table name with its type.
    pub name: String,
    pub raw_name: String,
    pub data: Arc<TableData>,
    pub stream: StreamConfig,
    pub spec: Arc<SegmentSpec>,
    pub decoder: MessageDecoder,
    pub counters: TableCounters,
    /// The key state of an upsert or dedup table.
    pub upsert: Option<Arc<TableUpsert>>,
    /// In a cluster: which partitions this server consumes, who commits,
    /// and where the cluster's checkpoints are.
    pub coordinator: Option<Arc<dyn StreamCoordinator>>,
    /// In a cluster, per partition: bumped when what was consumed since
    /// the checkpoint is discarded (a fenced commit, another server's
    /// commit); seals of an older generation are dropped, not committed.
    generations: Mutex<BTreeMap<i32, u64>>,
    control: Mutex<Control>,
    /// Signalled when control changes or the table stops.
    wake: Condvar,
    stop: AtomicBool,
    partitions: Mutex<BTreeMap<i32, PartitionStatus>>,
    num_partitions: AtomicI32,
    /// Bytes per row of the last sealed segment, per partition (f64 bits).
    bytes_per_row: Mutex<BTreeMap<i32, f64>>,
}

impl TableShared {
    pub fn new(
        name: String,
        raw_name: String,
        data: Arc<TableData>,
        stream: StreamConfig,
        decoder: MessageDecoder,
        upsert: Option<Arc<TableUpsert>>,
        paused: bool,
    ) -> TableShared {
        TableShared {
            name,
            raw_name,
            data,
            spec: decoder.spec().clone(),
            stream,
            decoder,
            counters: TableCounters::default(),
            upsert,
            coordinator: None,
            generations: Mutex::new(BTreeMap::new()),
            control: Mutex::new(Control {
                paused,
                resume_generation: 0,
                resume_from: ConsumeFrom::LastConsumed,
                force_commit: 0,
            }),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            partitions: Mutex::new(BTreeMap::new()),
            num_partitions: AtomicI32::new(0),
            bytes_per_row: Mutex::new(BTreeMap::new()),
        }
    }

    /// Consumes as a server of a cluster, through `coordinator`.
    pub fn with_coordinator(mut self, coordinator: Option<Arc<dyn StreamCoordinator>>) -> Self {
        self.coordinator = coordinator;
        self
    }

    /// Partition `partition`'s generation (see `generations`).
    pub fn generation(&self, partition: i32) -> u64 {
        self.generations
            .locked()
            .get(&partition)
            .copied()
            .unwrap_or(0)
    }

    /// Moves partition `partition` past generation `from`; the new one.
    pub fn next_generation(&self, partition: i32, from: u64) -> u64 {
        let mut generations = self.generations.locked();
        let generation = generations.entry(partition).or_insert(0);
        *generation = (*generation).max(from + 1);
        *generation
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        let _guard = self.lock_control();
        self.wake.notify_all();
    }

    fn lock_control(&self) -> std::sync::MutexGuard<'_, Control> {
        self.control.locked()
    }

    pub fn control(&self) -> Control {
        *self.lock_control()
    }

    pub fn change_control(&self, change: impl FnOnce(&mut Control)) {
        let mut control = self.lock_control();
        change(&mut control);
        self.wake.notify_all();
    }

    /// Sleeps up to `timeout`, waking early when control changes or the
    /// table stops.
    pub fn wait(&self, timeout: Duration) {
        let control = self.lock_control();
        if self.stopping() {
            return;
        }
        let _ = self.wake.wait_timeout(control, timeout);
    }

    pub fn with_status<T>(
        &self,
        partition: i32,
        change: impl FnOnce(&mut PartitionStatus) -> T,
    ) -> T {
        let mut partitions = self.partitions.locked();
        change(
            partitions
                .entry(partition)
                .or_insert_with(|| PartitionStatus::new(partition)),
        )
    }

    pub fn statuses(&self) -> Vec<PartitionStatus> {
        self.partitions.locked().values().cloned().collect()
    }

    pub fn set_num_partitions(&self, count: i32) {
        self.num_partitions.store(count, Ordering::Release);
    }

    /// Records a sealed segment's size, for sizing the next by bytes.
    pub fn note_sealed(&self, partition: i32, rows: u64, bytes: u64) {
        if rows > 0 && bytes > 0 {
            self.bytes_per_row
                .locked()
                .insert(partition, bytes as f64 / rows as f64);
        }
    }

    /// How many rows partition `partition`'s next segment takes, by Pinot's
    /// rules: `segment.rows` exactly; else `threshold.rows` divided among the
    /// partitions; else (rows = 0) what reaches `segment.size` at the bytes
    /// per row of the partition's last sealed segment
    /// (`autotune.initialRows` for the first).
    pub fn rows_threshold(&self, partition: i32) -> u64 {
        if let Some(rows) = self.stream.flush_segment_rows {
            return rows.max(1);
        }
        if self.stream.flush_rows > 0 {
            let partitions = self.num_partitions.load(Ordering::Acquire).max(1) as u64;
            return (self.stream.flush_rows / partitions).max(1);
        }
        let per_row = self.bytes_per_row.locked().get(&partition).copied();
        match per_row {
            Some(per_row) => ((self.stream.flush_segment_size as f64 / per_row) as u64).max(1),
            None => self.stream.flush_initial_rows,
        }
    }

    /// Pinot's name for a partition's segment: `table__partition__sequence__time`.
    pub fn segment_name(&self, partition: i32, sequence: u64) -> String {
        let time = chrono::Utc::now().format("%Y%m%dT%H%MZ");
        format!("{}__{partition}__{sequence}__{time}", self.raw_name)
    }
}
