//! What the consumers report: per partition (offsets, lag, rows, errors)
//! and per table (messages skipped by reason, the last bad ones kept for
//! inspection, offsets lost to retention). Shared between the consumer
//! threads, which write, and the HTTP handlers, which read.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;

use crate::ingest::decode::BadReason;
use crate::sync::Recover;

/// How many bad messages a table keeps for inspection.
pub const KEPT_BAD_MESSAGES: usize = 20;
/// How much of a bad message's payload is kept.
const KEPT_PAYLOAD_BYTES: usize = 512;

/// The state a partition consumer is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsumerState {
    Starting,
    Consuming,
    Paused,
    /// Waiting to retry after an error (brokers unreachable, for example).
    Retrying,
    /// Stopped for good (stopOnDecodeError, or the table was dropped).
    Stopped,
}

/// One partition's consumer, as last reported.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionStatus {
    pub partition: i32,
    pub state: ConsumerState,
    pub segment_name: Option<String>,
    /// The first offset of the consuming segment.
    pub start_offset: Option<i64>,
    /// The next offset to consume.
    pub current_offset: Option<i64>,
    /// The broker's next offset to be written (high watermark).
    pub latest_offset: Option<i64>,
    pub rows_in_segment: u64,
    pub rows_consumed: u64,
    /// When the last message was consumed (epoch millis).
    pub last_consumed_millis: Option<i64>,
    pub lost_offsets: u64,
    /// Errors this consumer met (retries, lost offsets, a stop), counted.
    pub errors: u64,
    pub last_error: Option<String>,
}

impl PartitionStatus {
    pub fn new(partition: i32) -> PartitionStatus {
        PartitionStatus {
            partition,
            state: ConsumerState::Starting,
            segment_name: None,
            start_offset: None,
            current_offset: None,
            latest_offset: None,
            rows_in_segment: 0,
            rows_consumed: 0,
            last_consumed_millis: None,
            lost_offsets: 0,
            errors: 0,
            last_error: None,
        }
    }

    /// Records an error as the last one and counts it.
    pub fn note_error(&mut self, error: String) {
        self.errors += 1;
        self.last_error = Some(error);
    }

    /// Messages in the broker not consumed yet.
    pub fn lag(&self) -> Option<i64> {
        Some((self.latest_offset? - self.current_offset?).max(0))
    }
}

/// A message that was not ingested.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BadMessage {
    pub partition: i32,
    pub offset: i64,
    pub reason: BadReason,
    pub error: String,
    /// The start of the payload, as text (lossy UTF-8).
    pub payload: String,
}

/// One table's ingestion counters.
#[derive(Default)]
pub struct TableCounters {
    bad: [AtomicU64; BadReason::ALL.len()],
    filtered: AtomicU64,
    lost_offsets: AtomicU64,
    last_bad: Mutex<VecDeque<BadMessage>>,
    bad_by_partition: Mutex<BTreeMap<(i32, BadReason), u64>>,
    table_error: Mutex<Option<String>>,
}

impl TableCounters {
    pub fn note_bad(
        &self,
        partition: i32,
        offset: i64,
        reason: BadReason,
        error: String,
        payload: &[u8],
    ) {
        self.bad[reason.index()].fetch_add(1, Ordering::Relaxed);
        *self
            .bad_by_partition
            .locked()
            .entry((partition, reason))
            .or_default() += 1;
        let end = payload.len().min(KEPT_PAYLOAD_BYTES);
        let message = BadMessage {
            partition,
            offset,
            reason,
            error,
            payload: String::from_utf8_lossy(&payload[..end]).into_owned(),
        };
        let mut kept = self.last_bad.locked();
        if kept.len() == KEPT_BAD_MESSAGES {
            kept.pop_front();
        }
        kept.push_back(message);
    }

    pub fn note_filtered(&self) {
        self.filtered.fetch_add(1, Ordering::Relaxed);
    }

    pub fn note_lost(&self, count: u64) {
        self.lost_offsets.fetch_add(count, Ordering::Relaxed);
    }

    /// A problem of the whole table (its topic missing, brokers down).
    pub fn set_table_error(&self, error: Option<String>) {
        *self.table_error.locked() = error;
    }

    pub fn snapshot(&self) -> IngestionCounters {
        let bad_by_reason: BTreeMap<BadReason, u64> = BadReason::ALL
            .iter()
            .map(|reason| (*reason, self.bad[reason.index()].load(Ordering::Relaxed)))
            .filter(|(_, count)| *count > 0)
            .collect();
        IngestionCounters {
            bad_messages: bad_by_reason.values().sum(),
            bad_messages_by_reason: bad_by_reason,
            bad_by_partition: self.bad_by_partition.locked().clone(),
            filtered_messages: self.filtered.load(Ordering::Relaxed),
            lost_offsets: self.lost_offsets.load(Ordering::Relaxed),
            last_bad_messages: self.last_bad.locked().iter().cloned().collect(),
            table_error: self.table_error.locked().clone(),
        }
    }
}

/// A table's counters, as reported over HTTP.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestionCounters {
    pub bad_messages: u64,
    pub bad_messages_by_reason: BTreeMap<BadReason, u64>,
    /// Bad messages by partition and reason (for the metrics).
    #[serde(skip)]
    pub bad_by_partition: BTreeMap<(i32, BadReason), u64>,
    pub filtered_messages: u64,
    pub lost_offsets: u64,
    pub last_bad_messages: Vec<BadMessage>,
    pub table_error: Option<String>,
}
