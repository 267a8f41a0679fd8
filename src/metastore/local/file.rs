//! The local metastore's file, `<dir>/metastore.json`: one JSON document
//! holding what outlives the process (the catalog, segment records,
//! checkpoints, each lease's holder and epoch, assignments, connectors),
//! replaced whole through [`crate::durable::write_atomic`].
//!
//! ```text
//! { "version": 1,
//!   "catalog":     [{"kind": "schema"|"table", "name", "json"}],
//!   "segments":    [{"table", "segment", "partition"?, "offsets"?: [start, end],
//!                    "timeRange"?: [low, high], "rows", "sizeBytes", "crc", "uri", "state"}],
//!   "checkpoints": [{"table", "partition", "nextOffset"}],
//!   "leases":      [{"table", "partition", "owner", "epoch", "ttlMicros"}],
//!   "assignments": [{"table", "segment", "servers": [...]}],
//!   "partitionAssignments"?: [{"table", "partition", "servers": [...]}],
//!   "connectors":  [{"name", "config", "state"?}],
//!   "streamControls"?: [{"table", "paused", "resumeFrom"?, "resumes", "forceCommits",
//!                        "forceCommitJob"?}] }
//! ```

use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::state::{Held, State};
use crate::metastore::{CatalogKind, Error, Result, SegmentRecord, SegmentState, StreamControl};

/// The file's name in the metastore's directory.
pub(super) const FILE_NAME: &str = "metastore.json";

/// The layout this build reads and writes.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct File {
    version: u32,
    catalog: Vec<CatalogEntry>,
    segments: Vec<Segment>,
    checkpoints: Vec<Checkpoint>,
    leases: Vec<LeaseGrant>,
    assignments: Vec<Assignment>,
    /// Absent in files written before stream partitions were assigned.
    #[serde(default)]
    partition_assignments: Vec<PartitionAssignment>,
    connectors: Vec<Connector>,
    /// Absent in files written before consumption could be controlled.
    #[serde(default)]
    stream_controls: Vec<Control>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Control {
    table: String,
    paused: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resume_from: Option<String>,
    resumes: i64,
    force_commits: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    force_commit_job: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartitionAssignment {
    table: String,
    partition: i32,
    servers: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogEntry {
    kind: String,
    name: String,
    json: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Segment {
    table: String,
    segment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    partition: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    offsets: Option<(i64, i64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time_range: Option<(i64, i64)>,
    rows: i64,
    size_bytes: i64,
    crc: i64,
    uri: String,
    state: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Checkpoint {
    table: String,
    partition: i32,
    next_offset: i64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LeaseGrant {
    table: String,
    partition: i32,
    owner: String,
    epoch: i64,
    ttl_micros: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Assignment {
    table: String,
    segment: String,
    servers: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Connector {
    name: String,
    config: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state: Option<String>,
}

/// The file's bytes for `state`.
pub(super) fn encode(state: &State) -> std::io::Result<Vec<u8>> {
    let file = File {
        version: VERSION,
        catalog: state
            .catalog
            .iter()
            .map(|((kind, name), json)| CatalogEntry {
                kind: kind.as_str().to_string(),
                name: name.clone(),
                json: json.clone(),
            })
            .collect(),
        segments: state
            .segments
            .values()
            .map(|record| Segment {
                table: record.table.clone(),
                segment: record.segment.clone(),
                partition: record.partition,
                offsets: record.offsets,
                time_range: record.time_range,
                rows: record.rows,
                size_bytes: record.size_bytes,
                crc: record.crc,
                uri: record.uri.clone(),
                state: record.state.as_str().to_string(),
            })
            .collect(),
        checkpoints: state
            .checkpoints
            .iter()
            .map(|((table, partition), offset)| Checkpoint {
                table: table.clone(),
                partition: *partition,
                next_offset: *offset,
            })
            .collect(),
        leases: state
            .leases
            .iter()
            .map(|((table, partition), held)| LeaseGrant {
                table: table.clone(),
                partition: *partition,
                owner: held.owner.clone(),
                epoch: held.epoch,
                ttl_micros: u64::try_from(held.ttl.as_micros()).unwrap_or(u64::MAX),
            })
            .collect(),
        assignments: state
            .assignments
            .iter()
            .map(|((table, segment), servers)| Assignment {
                table: table.clone(),
                segment: segment.clone(),
                servers: servers.iter().cloned().collect(),
            })
            .collect(),
        partition_assignments: state
            .partition_assignments
            .iter()
            .map(|((table, partition), servers)| PartitionAssignment {
                table: table.clone(),
                partition: *partition,
                servers: servers.iter().cloned().collect(),
            })
            .collect(),
        connectors: state
            .connectors
            .iter()
            .map(|(name, (config, state))| Connector {
                name: name.clone(),
                config: config.clone(),
                state: state.clone(),
            })
            .collect(),
        stream_controls: state
            .stream_controls
            .iter()
            .map(|(table, control)| Control {
                table: table.clone(),
                paused: control.paused,
                resume_from: control.resume_from.clone(),
                resumes: control.resumes,
                force_commits: control.force_commits,
                force_commit_job: control.force_commit_job.clone(),
            })
            .collect(),
    };
    serde_json::to_vec_pretty(&file).map_err(std::io::Error::other)
}

/// The state `bytes` hold, every lease expired as of `now`.
pub(super) fn decode(path: &Path, bytes: &[u8], now: Instant) -> Result<State> {
    let corrupt = |reason: String| Error::CorruptFile {
        path: path.to_path_buf(),
        reason,
    };
    let file: File = serde_json::from_slice(bytes).map_err(|err| corrupt(err.to_string()))?;
    if file.version != VERSION {
        return Err(corrupt(format!(
            "it is of version {}, and this Gamay knows version {VERSION}",
            file.version
        )));
    }
    let mut state = State::default();
    for entry in file.catalog {
        let kind = CatalogKind::parse(&entry.kind)
            .ok_or_else(|| corrupt(format!("unknown catalog entry kind `{}`", entry.kind)))?;
        state.catalog.insert((kind, entry.name), entry.json);
    }
    for segment in file.segments {
        let record = SegmentRecord {
            state: SegmentState::parse(&segment.state)
                .ok_or_else(|| corrupt(format!("unknown segment state `{}`", segment.state)))?,
            table: segment.table,
            segment: segment.segment,
            partition: segment.partition,
            offsets: segment.offsets,
            time_range: segment.time_range,
            rows: segment.rows,
            size_bytes: segment.size_bytes,
            crc: segment.crc,
            uri: segment.uri,
        };
        let at = (record.table.clone(), record.segment.clone());
        state.segments.insert(at, record);
    }
    for checkpoint in file.checkpoints {
        state.checkpoints.insert(
            (checkpoint.table, checkpoint.partition),
            checkpoint.next_offset,
        );
    }
    for lease in file.leases {
        let held = Held {
            owner: lease.owner,
            epoch: lease.epoch,
            ttl: Duration::from_micros(lease.ttl_micros),
            expires_at: now,
        };
        state.leases.insert((lease.table, lease.partition), held);
    }
    for assignment in file.assignments {
        if assignment.servers.is_empty() {
            continue;
        }
        let servers = assignment.servers.into_iter().collect();
        state
            .assignments
            .insert((assignment.table, assignment.segment), servers);
    }
    for assignment in file.partition_assignments {
        if assignment.servers.is_empty() {
            continue;
        }
        let servers = assignment.servers.into_iter().collect();
        state
            .partition_assignments
            .insert((assignment.table, assignment.partition), servers);
    }
    for connector in file.connectors {
        state
            .connectors
            .insert(connector.name, (connector.config, connector.state));
    }
    for control in file.stream_controls {
        let kept = StreamControl {
            paused: control.paused,
            resume_from: control.resume_from,
            resumes: control.resumes,
            force_commits: control.force_commits,
            force_commit_job: control.force_commit_job,
        };
        state.stream_controls.insert(control.table, kept);
    }
    Ok(state)
}
