//! The metastore: what a cluster's nodes agree on, kept where every node
//! can reach it in transactions. It holds segment records (table,
//! partition, offsets, time range, rows, size, checksum, deep-store URI,
//! state), each partition's checkpoint, partition leases with a fencing
//! epoch, the live nodes (heartbeats) and which servers hold which sealed
//! segments; later versions of its schema add the catalog and connectors.
//!
//! The commit of a real-time segment is the heart of exactly-once across
//! machines: one transaction inserts the segment's record and moves the
//! partition's checkpoint from the segment's start offset to its end,
//! and takes effect only while the committing server holds the lease at
//! the epoch it was granted. A server that lost its lease (it stalled,
//! another took over) commits nothing.
//!
//! [`postgres`] is the implementation on PostgreSQL (tokio-postgres), its
//! schema created and migrated by Gamay ([`migrations`]).

mod error;
pub mod migrations;
pub mod postgres;

use std::time::Duration;

pub use error::{Error, Result};

/// A segment as the metastore records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRecord {
    /// The table's name with its type suffix (`trades_REALTIME`).
    pub table: String,
    pub segment: String,
    /// The stream partition, for a real-time segment.
    pub partition: Option<i32>,
    /// Offsets `[start, end)` of the messages it holds, for a real-time
    /// segment.
    pub offsets: Option<(i64, i64)>,
    /// The smallest and largest time column values, in epoch milliseconds.
    pub time_range: Option<(i64, i64)>,
    pub rows: i64,
    pub size_bytes: i64,
    /// The segment file's checksum.
    pub crc: i64,
    /// Where the file is in the deep store.
    pub uri: String,
    pub state: SegmentState,
}

/// Whether a recorded segment serves queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentState {
    Online,
    /// Being deleted: no longer served, its file not yet removed.
    Deleting,
}

impl SegmentState {
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentState::Online => "ONLINE",
            SegmentState::Deleting => "DELETING",
        }
    }

    pub fn parse(text: &str) -> Option<SegmentState> {
        match text {
            "ONLINE" => Some(SegmentState::Online),
            "DELETING" => Some(SegmentState::Deleting),
            _ => None,
        }
    }
}

/// The right to consume a stream partition and commit its segments,
/// granted to `owner` at `epoch`. Every grant to a new holder, or again
/// to the same one, raises the epoch, so an older holder's commits fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub table: String,
    pub partition: i32,
    pub owner: String,
    pub epoch: i64,
    /// How long the lease lasts from its grant or last renewal.
    pub ttl: Duration,
}

/// What a segment commit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// The record is in and the checkpoint is at the segment's end offset.
    Committed,
    /// The committer no longer holds the lease at its epoch: nothing
    /// changed, and the segment must be discarded.
    Fenced,
}

/// A node as it announces itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Stable across restarts (the node's name or host).
    pub id: String,
    /// Where other nodes reach its HTTP API.
    pub url: String,
    /// Its roles, as `--role` names them (`server`, `broker`, ...).
    pub roles: Vec<String>,
}

#[cfg(test)]
mod tests;
