//! One Kafka partition's consumer: a thread that reads messages from the
//! partition's checkpoint on, decodes them into the consuming segment
//! (visible to queries as soon as appended), and rolls the segment over to
//! the sealer when a threshold trips, carrying on into the next one at once.
//!
//! The consuming segment starts at offset S and covers every offset it has
//! read, good or bad, up to E; only the sealer's commit moves the checkpoint
//! to E. If the process dies, the partition resumes at the checkpoint and
//! rebuilds what was lost, so each offset lands in one committed segment.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::BaseConsumer;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use super::sealer::{SealJob, Sealer};
use super::shared::{ConsumeFrom, TableShared};
use super::status::ConsumerState;
use crate::ingest::decode::{BadReason, Decoded};
use crate::ingest::{kafka, Error as IngestError};
use crate::segment::{Cell, MutableSegment};
use crate::server::{Checkpoint, ConsumingSegment, Error};
use crate::upsert::{Admit, Form, PartitionUpsert};

/// Messages decoded before they are appended in one go.
const BATCH: usize = 1024;
/// How long a poll waits for the first message of a batch.
const POLL_WAIT: Duration = Duration::from_millis(50);

/// The consuming segment and where it stands.
struct Open {
    name: String,
    segment: Arc<MutableSegment>,
    /// An upsert or dedup table's partition state, and this segment's
    /// number in it.
    upsert: Option<(Arc<PartitionUpsert>, u32)>,
    sequence: u64,
    start_offset: i64,
    opened: Instant,
}

/// A partition's consumption, kept across reconnects.
struct Cursor {
    next_offset: i64,
    next_sequence: u64,
    open: Option<Open>,
    resume_generation: u64,
    force_commit: u64,
    /// The partition's generation this consumption belongs to (in a
    /// cluster; see `TableShared::generation`).
    generation: u64,
    /// Whether an upsert or dedup table's key state holds exactly the
    /// committed segments before `next_offset` (in a cluster, see
    /// [`settle_keys`]; always on a single node).
    keys_settled: bool,
}

/// Runs partition `partition` until the table stops.
pub fn run(shared: Arc<TableShared>, partition: i32) {
    let sealer = match Sealer::start(shared.clone(), partition) {
        Ok(sealer) => sealer,
        Err(err) => {
            shared.with_status(partition, |status| {
                status.state = ConsumerState::Stopped;
                status.note_error(format!("cannot start the sealer thread: {err}"));
            });
            return;
        }
    };
    let force_commit = shared.control().force_commit;
    let mut cursor: Option<Cursor> = None;
    let mut delay = Duration::from_millis(500);
    while !shared.stopping() {
        match consume(&shared, partition, &sealer, &mut cursor, force_commit) {
            Ok(Exit::Stopped) => break,
            Ok(Exit::Unassigned) => {
                tracing::info!(table = %shared.name, partition, "partition no longer assigned here; not consuming it");
                break;
            }
            Ok(Exit::StopOnDecodeError) => {
                // Wait for a resume (or the end), then try again.
                let generation = cursor.as_ref().map_or(0, |c| c.resume_generation);
                while !shared.stopping() && shared.control().resume_generation == generation {
                    shared.wait(Duration::from_secs(1));
                }
            }
            Err(err) => {
                tracing::warn!(table = %shared.name, partition, error = %err, "consumer error; retrying");
                shared.with_status(partition, |status| {
                    status.state = ConsumerState::Retrying;
                    status.note_error(err.to_string());
                });
                shared.wait(delay);
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
    // Rows of the consuming segment are not committed: they are consumed
    // again from the checkpoint next time. Seals already queued finish.
    if let Some(open) = cursor.and_then(|cursor| cursor.open) {
        shared.data.remove_consuming(&open.name);
    }
    if shared.coordinator.is_some() {
        // Seals still queued belong to a consumption that ended: another
        // replica (or this server, later) commits these offsets.
        shared.next_generation(partition, shared.generation(partition));
        shared.data.remove_consuming_partition(partition);
    }
    sealer.finish();
}

enum Exit {
    Stopped,
    StopOnDecodeError,
    /// In a cluster: the partition was assigned to other servers.
    Unassigned,
}

fn consume(
    shared: &TableShared,
    partition: i32,
    sealer: &Sealer,
    cursor: &mut Option<Cursor>,
    force_commit: u64,
) -> Result<Exit, Error> {
    let topic = shared.stream.topic.as_str();
    let consumer = kafka::connect(&shared.stream, &format!("{}-{partition}", shared.name))?;
    let dead_letters = match &shared.stream.dead_letter_topic {
        Some(_) => Some(dead_letter_producer(shared)?),
        None => None,
    };
    if cursor.is_none() && shared.coordinator.is_some() {
        let (next_offset, next_sequence) = cluster_start(shared, partition, &consumer)?;
        let control = shared.control();
        *cursor = Some(Cursor {
            next_offset,
            next_sequence,
            open: None,
            resume_generation: control.resume_generation,
            force_commit,
            generation: shared.generation(partition),
            keys_settled: false,
        });
    }
    if cursor.is_none() {
        let checkpoint = shared.data.checkpoint(partition);
        let (next_offset, next_sequence) = match checkpoint {
            Some(checkpoint) => (checkpoint.next_offset, checkpoint.next_sequence),
            None => {
                // Where auto.offset.reset put the partition is recorded, so
                // a restart resumes there rather than resolving it anew.
                let start =
                    kafka::reset_offset(&consumer, topic, partition, shared.stream.offset_reset)?;
                sealer.submit(SealJob::checkpoint_only(Checkpoint {
                    next_offset: start,
                    next_sequence: 0,
                }));
                (start, 0)
            }
        };
        let control = shared.control();
        *cursor = Some(Cursor {
            next_offset,
            next_sequence,
            open: None,
            resume_generation: control.resume_generation,
            force_commit,
            generation: 0,
            keys_settled: true,
        });
    }
    let Some(cursor) = cursor.as_mut() else {
        return Err(Error::Internal("no cursor"));
    };
    let mut assigned = false;
    let mut pending: Vec<Vec<Cell>> = Vec::with_capacity(BATCH);
    let mut pending_offsets: Vec<i64> = Vec::with_capacity(BATCH);
    loop {
        if shared.stopping() {
            return Ok(Exit::Stopped);
        }
        // In a cluster: consume only while assigned, commit only with the
        // lease, and follow the commits of others.
        let mut may_commit = true;
        if let Some(coordinator) = &shared.coordinator {
            if !coordinator.consumes(&shared.name, partition) {
                return Ok(Exit::Unassigned);
            }
            if follow_cluster(shared, partition, &consumer, cursor)? {
                assigned = false;
            }
            may_commit = coordinator.holds_lease(&shared.name, partition);
            if !cursor.keys_settled {
                if !settle_keys(shared, partition, cursor)? {
                    // A committed segment is still on its way here.
                    shared.with_status(partition, |status| status.state = ConsumerState::Starting);
                    shared.wait(POLL_WAIT);
                    continue;
                }
                cursor.keys_settled = true;
            }
        }
        let control = shared.control();
        if control.paused {
            if cursor
                .open
                .as_ref()
                .is_some_and(|open| open.start_offset != cursor.next_offset)
            {
                roll(shared, partition, sealer, cursor);
            }
            if cursor.open.is_none() && shared.coordinator.is_some() {
                // An empty consuming segment marks where consumption
                // stands: a broker asking for the partition's rows past
                // the checkpoint finds there are none.
                open_segment(shared, partition, cursor)?;
            }
            if assigned {
                use rdkafka::consumer::Consumer;
                consumer.unassign().map_err(|source| IngestError::Kafka {
                    action: None,
                    source,
                })?;
                assigned = false;
            }
            shared.with_status(partition, |status| {
                status.state = ConsumerState::Paused;
                status.segment_name = None;
                status.rows_in_segment = 0;
            });
            shared.wait(Duration::from_millis(500));
            continue;
        }
        if control.resume_generation != cursor.resume_generation {
            cursor.resume_generation = control.resume_generation;
            // In a cluster only the lease holder skips; the other
            // consumers follow the checkpoint it records.
            if control.resume_from != ConsumeFrom::LastConsumed && may_commit {
                let (low, high) = kafka::watermarks(&consumer, topic, partition)?;
                let target = match control.resume_from {
                    ConsumeFrom::Largest => high.max(cursor.next_offset),
                    _ => low.max(cursor.next_offset),
                };
                let skipped = (target - cursor.next_offset).max(0) as u64;
                if skipped > 0 {
                    shared.counters.note_lost(skipped);
                    shared.with_status(partition, |status| status.lost_offsets += skipped);
                    tracing::warn!(table = %shared.name, partition, skipped, "offsets skipped on resume");
                    jump(shared, partition, sealer, cursor, target);
                }
                assigned = false;
            }
        }
        if control.force_commit != cursor.force_commit && may_commit {
            cursor.force_commit = control.force_commit;
            roll(shared, partition, sealer, cursor);
        }
        if cursor.open.is_none() {
            open_segment(shared, partition, cursor)?;
        }
        if !assigned {
            kafka::assign(&consumer, topic, partition, cursor.next_offset)?;
            assigned = true;
            shared.with_status(partition, |status| {
                status.state = ConsumerState::Consuming;
                status.last_error = None;
            });
        }

        // Never read past the rows threshold: a segment holds exactly its
        // threshold when that is what seals it.
        let threshold = shared.rows_threshold(partition);
        let full = cursor
            .open
            .as_ref()
            .is_some_and(|open| open.segment.num_docs() as u64 >= threshold);
        if full && !may_commit {
            // A replica without the lease holds its full segment until the
            // holder commits it (or the lease comes here).
            shared.wait(POLL_WAIT);
            continue;
        }
        let room = cursor.open.as_ref().map_or(BATCH, |open| {
            (threshold.saturating_sub(open.segment.num_docs() as u64) as usize).clamp(1, BATCH)
        });
        let mut wait = POLL_WAIT;
        while pending.len() < room {
            let Some(polled) = rdkafka::consumer::BaseConsumer::poll(&consumer, wait) else {
                break;
            };
            wait = Duration::ZERO;
            let message = match polled {
                Ok(message) => message,
                Err(err) if kafka::is_offset_out_of_range(&err) => {
                    append(
                        shared,
                        partition,
                        cursor,
                        &mut pending,
                        &mut pending_offsets,
                    );
                    reset_after_out_of_range(shared, partition, &consumer, sealer, cursor)?;
                    assigned = false;
                    break;
                }
                Err(err) if kafka::is_transient(&err) => {
                    shared
                        .with_status(partition, |status| status.note_error(kafka::describe(&err)));
                    break;
                }
                Err(err) => {
                    // Rows decoded so far belong to offsets already passed.
                    append(
                        shared,
                        partition,
                        cursor,
                        &mut pending,
                        &mut pending_offsets,
                    );
                    return Err(
                        IngestError::kafka(format!("consuming {topic}/{partition}"))(err).into(),
                    );
                }
            };
            let offset = message.offset();
            if offset < cursor.next_offset {
                continue;
            }
            match shared.decoder.decode(message.payload(), message.key()) {
                Decoded::Row(row) => {
                    pending.push(row);
                    pending_offsets.push(offset);
                }
                Decoded::Filtered => shared.counters.note_filtered(),
                Decoded::Bad(reason, error) => {
                    if shared.stream.stop_on_decode_error {
                        append(
                            shared,
                            partition,
                            cursor,
                            &mut pending,
                            &mut pending_offsets,
                        );
                        stop_on_bad(shared, partition, offset, reason, error, &message);
                        return Ok(Exit::StopOnDecodeError);
                    }
                    bad(
                        shared,
                        partition,
                        offset,
                        reason,
                        error,
                        &message,
                        dead_letters.as_ref(),
                    );
                }
            }
            cursor.next_offset = offset + 1;
        }
        append(
            shared,
            partition,
            cursor,
            &mut pending,
            &mut pending_offsets,
        );
        if let Some(producer) = &dead_letters {
            producer.poll(Duration::ZERO);
        }
        if may_commit && due(shared, cursor, shared.rows_threshold(partition)) {
            roll(shared, partition, sealer, cursor);
        }
    }
}

/// Appends the decoded rows; a row the segment refuses is counted as bad.
fn append(
    shared: &TableShared,
    partition: i32,
    cursor: &mut Cursor,
    pending: &mut Vec<Vec<Cell>>,
    offsets: &mut Vec<i64>,
) {
    let Some(open) = cursor.open.as_ref() else {
        pending.clear();
        offsets.clear();
        return;
    };
    let mut from = 0;
    if let Some((upsert, id)) = &open.upsert {
        append_keyed(shared, partition, open, upsert, *id, pending, offsets);
        from = pending.len();
    }
    while from < pending.len() {
        match open.segment.append(&pending[from..]) {
            Ok(_) => break,
            Err(crate::segment::Error::BadValue {
                row,
                column,
                reason,
            }) => {
                let index = from + row as usize;
                shared.counters.note_bad(
                    partition,
                    offsets[index],
                    BadReason::SchemaViolation,
                    format!("column `{column}`: {reason}"),
                    b"",
                );
                from = index + 1;
            }
            Err(err) => {
                tracing::error!(table = %shared.name, partition, error = %err, "rows not appended");
                break;
            }
        }
    }
    let appended = pending.len() as u64;
    pending.clear();
    offsets.clear();
    refresh_star_trees(shared, &open.name, &open.segment);
    let rows = open.segment.num_docs() as u64;
    let next_offset = cursor.next_offset;
    shared.with_status(partition, |status| {
        status.current_offset = Some(next_offset);
        status.rows_in_segment = rows;
        status.rows_consumed += appended;
        if appended > 0 {
            status.last_consumed_millis = Some(crate::segment::now_millis());
        }
    });
}

/// Appends the rows of an upsert or dedup table one at a time, each taken
/// into the key state before the next (a batch may hold one key twice), all
/// under the partition state's lock so queries see the batch whole.
fn append_keyed(
    shared: &TableShared,
    partition: i32,
    open: &Open,
    upsert: &PartitionUpsert,
    id: u32,
    pending: &mut [Vec<Cell>],
    offsets: &[i64],
) {
    upsert.change(|state| {
        for (row, offset) in pending.iter_mut().zip(offsets) {
            let key = match state.admit(row) {
                Admit::Append(key) => key,
                Admit::Duplicate | Admit::Late => {
                    shared.counters.note_filtered();
                    continue;
                }
                Admit::NoKey => {
                    shared.counters.note_bad(
                        partition,
                        *offset,
                        BadReason::SchemaViolation,
                        "a primary key column is null".into(),
                        b"",
                    );
                    continue;
                }
            };
            let doc = open.segment.num_docs() as u32;
            match open.segment.append(std::slice::from_ref(row)) {
                Ok(_) => {}
                Err(crate::segment::Error::BadValue { column, reason, .. }) => {
                    shared.counters.note_bad(
                        partition,
                        *offset,
                        BadReason::SchemaViolation,
                        format!("column `{column}`: {reason}"),
                        b"",
                    );
                    continue;
                }
                Err(err) => {
                    tracing::error!(table = %shared.name, partition, error = %err, "row not appended");
                    continue;
                }
            }
            if let Err(err) = state.apply(id, doc, key) {
                tracing::error!(table = %shared.name, partition, error = %err, "primary key not recorded");
                shared.with_status(partition, |status| {
                    status.note_error(format!("primary key not recorded: {err}"))
                });
            }
        }
    });
}

/// Rebuilds the consuming segment's star-trees off the consuming thread
/// once enough rows arrived since the last build.
fn refresh_star_trees(shared: &TableShared, name: &str, segment: &Arc<MutableSegment>) {
    if !segment.star_trees_due() || !segment.start_tree_build() {
        return;
    }
    let building = segment.clone();
    let (table, segment_name) = (shared.name.clone(), name.to_string());
    let spawned = std::thread::Builder::new()
        .name("gamay-startree".into())
        .spawn(move || {
            if let Err(err) = building.build_star_trees() {
                tracing::warn!(%table, segment = %segment_name, error = %err, "consuming star-tree not built");
            }
        });
    if let Err(err) = spawned {
        tracing::warn!(table = %shared.name, error = %err, "no thread for a consuming star-tree");
        // Release the claim; the next append tries again.
        segment.abandon_tree_build();
    }
}

fn open_segment(shared: &TableShared, partition: i32, cursor: &mut Cursor) -> Result<(), Error> {
    let sequence = cursor.next_sequence;
    let name = shared.segment_name(partition, sequence);
    let segment = Arc::new(MutableSegment::new(shared.spec.clone()));
    let upsert = match &shared.upsert {
        Some(table) => match table.partition(partition) {
            Ok(state) => {
                let id = state.change(|state| {
                    state.add(name.clone(), Form::Consuming(segment.clone()), false)
                });
                Some((state, id))
            }
            Err(err) => return Err(Error::NoRoomForKeys(err)),
        },
        None => None,
    };
    shared.data.add_consuming(ConsumingSegment {
        name: name.clone(),
        partition,
        start_offset: cursor.next_offset,
        segment: segment.clone(),
    });
    let start_offset = cursor.next_offset;
    shared.with_status(partition, |status| {
        status.segment_name = Some(name.clone());
        status.start_offset = Some(start_offset);
        status.current_offset = Some(start_offset);
        status.rows_in_segment = 0;
    });
    cursor.open = Some(Open {
        name,
        segment,
        upsert,
        sequence,
        start_offset,
        opened: Instant::now(),
    });
    cursor.next_sequence = sequence + 1;
    Ok(())
}

/// Whether the consuming segment has reached a flush threshold.
fn due(shared: &TableShared, cursor: &Cursor, rows_threshold: u64) -> bool {
    let Some(open) = &cursor.open else {
        return false;
    };
    // A cluster commits segments with rows only: the next one takes over
    // the offsets of messages that were all bad or filtered out.
    if shared.coordinator.is_some() && open.segment.num_docs() == 0 {
        return false;
    }
    open.segment.num_docs() as u64 >= rows_threshold
        || open.opened.elapsed() >= shared.stream.flush_time
}

/// Hands the consuming segment to the sealer; the next one opens on the
/// following loop. A segment that covers no offset at all is dropped.
fn roll(shared: &TableShared, _partition: i32, sealer: &Sealer, cursor: &mut Cursor) {
    let Some(open) = cursor.open.take() else {
        return;
    };
    if open.start_offset == cursor.next_offset {
        // Nothing consumed: reuse the sequence number (and the name).
        shared.data.remove_consuming(&open.name);
        if let Some((upsert, id)) = &open.upsert {
            upsert.change(|state| state.drop_empty(*id));
        }
        cursor.next_sequence = open.sequence;
        return;
    }
    sealer.submit(SealJob {
        name: open.name,
        segment: Some(open.segment),
        generation: cursor.generation,
        start_offset: open.start_offset,
        checkpoint: Checkpoint {
            next_offset: cursor.next_offset,
            next_sequence: open.sequence + 1,
        },
    });
}

/// Where a cluster's partition starts: the cluster's checkpoint, or before
/// the first commit where `auto.offset.reset` puts it (not recorded: the
/// first commit records it).
fn cluster_start(
    shared: &TableShared,
    partition: i32,
    consumer: &BaseConsumer,
) -> Result<(i64, u64), Error> {
    let checkpoint = shared
        .coordinator
        .as_ref()
        .and_then(|coordinator| coordinator.checkpoint(&shared.name, partition));
    match checkpoint {
        Some(at) => Ok(at),
        None => {
            let topic = shared.stream.topic.as_str();
            let start =
                kafka::reset_offset(consumer, topic, partition, shared.stream.offset_reset)?;
            Ok((start, 0))
        }
    }
}

/// In a cluster: when this consumption is stale (its seal was fenced,
/// another server committed offsets past the start of what it holds, or
/// before the partition's first segment the lease holder recorded another
/// start), drops what it consumed since and resumes from the cluster's
/// checkpoint. Returns whether it did (the consumer must seek).
///
/// Before the first commit, the lease holder records where its
/// consumption began (where `auto.offset.reset` put it), so every replica
/// consumes the same offsets from the start.
fn follow_cluster(
    shared: &TableShared,
    partition: i32,
    consumer: &BaseConsumer,
    cursor: &mut Cursor,
) -> Result<bool, Error> {
    let Some(coordinator) = &shared.coordinator else {
        return Ok(false);
    };
    let fenced = shared.generation(partition) != cursor.generation;
    let base = cursor
        .open
        .as_ref()
        .map_or(cursor.next_offset, |open| open.start_offset);
    let checkpoint = coordinator.checkpoint(&shared.name, partition);
    if checkpoint.is_none() && coordinator.holds_lease(&shared.name, partition) {
        if let Err(err) = coordinator.skip(&shared.name, partition, base, base) {
            tracing::warn!(table = %shared.name, partition, error = %err, "cannot record where the partition's consumption starts; retrying");
        }
    }
    let passed = checkpoint.is_some_and(|(offset, next_sequence)| {
        offset > base || (next_sequence == 0 && offset != base)
    });
    if !fenced && !passed {
        return Ok(false);
    }
    let (next_offset, next_sequence) = cluster_start(shared, partition, consumer)?;
    tracing::info!(
        table = %shared.name, partition, from = base, to = next_offset, fenced,
        "consumption follows the cluster's checkpoint"
    );
    // Seals still queued are dropped, and with them every consuming row of
    // the partition: the committed segments hold those offsets.
    cursor.generation = shared.next_generation(partition, cursor.generation);
    shared.data.remove_consuming_partition(partition);
    cursor.open = None;
    cursor.next_offset = next_offset;
    cursor.next_sequence = next_sequence;
    cursor.keys_settled = false;
    Ok(true)
}

/// In a cluster, an upsert or dedup table's key state before consumption
/// starts at `cursor.next_offset` (the checkpoint): what this server holds
/// past it or had fenced goes, and the committed segments before it come
/// in, as the servers that committed them took them in, so every consumer
/// of the partition decides each key the same way. Returns `false` while
/// one of those segments is not loaded here yet (placement brings a
/// partition's segments to its consumers).
fn settle_keys(shared: &TableShared, partition: i32, cursor: &Cursor) -> Result<bool, Error> {
    let (Some(upsert), Some(coordinator)) = (&shared.upsert, &shared.coordinator) else {
        return Ok(true);
    };
    let held = shared.data.segments();
    let mut committed = Vec::new();
    for (name, _, end) in coordinator.committed(&shared.name, partition) {
        if end > cursor.next_offset {
            break;
        }
        match held.iter().find(|segment| segment.name() == name) {
            Some(segment) => committed.push(segment.clone()),
            None => return Ok(false),
        }
    }
    upsert
        .adopt(partition, &committed)
        .map_err(Error::NoRoomForKeys)?;
    Ok(true)
}

/// Moves consumption to `target`: what was read so far seals first, then the
/// checkpoint moves (both in order through the sealer), so a crash never
/// resumes from an offset the committed segments do not match.
fn jump(shared: &TableShared, partition: i32, sealer: &Sealer, cursor: &mut Cursor, target: i64) {
    roll(shared, partition, sealer, cursor);
    let from = cursor.next_offset;
    cursor.next_offset = target;
    let mut skip = SealJob::checkpoint_only(Checkpoint {
        next_offset: target,
        next_sequence: cursor.next_sequence,
    });
    skip.start_offset = from;
    skip.generation = cursor.generation;
    sealer.submit(skip);
}

/// The wanted offset is gone (retention) or not there: follow the table's
/// `auto.offset.reset` and count what was lost.
fn reset_after_out_of_range(
    shared: &TableShared,
    partition: i32,
    consumer: &BaseConsumer,
    sealer: &Sealer,
    cursor: &mut Cursor,
) -> Result<(), Error> {
    let topic = shared.stream.topic.as_str();
    let (low, high) = kafka::watermarks(consumer, topic, partition)?;
    let wanted = cursor.next_offset;
    let target = if wanted < low {
        kafka::reset_offset(consumer, topic, partition, shared.stream.offset_reset)?.max(low)
    } else {
        high
    };
    let lost = (target - wanted).max(0) as u64;
    tracing::warn!(
        table = %shared.name, partition, wanted, low, high, target, lost,
        "offset out of range; following auto.offset.reset"
    );
    if lost > 0 {
        shared.counters.note_lost(lost);
    }
    shared.with_status(partition, |status| {
        status.lost_offsets += lost;
        status.note_error(format!(
            "offset {wanted} is out of range (broker has {low}..{high}); resumed at {target}, {lost} offsets lost"
        ));
    });
    if target < wanted {
        tracing::warn!(
            table = %shared.name, partition, wanted, target,
            "the partition's offsets went back (topic deleted and recreated?); consuming from {target}"
        );
    }
    jump(shared, partition, sealer, cursor, target);
    Ok(())
}

fn bad(
    shared: &TableShared,
    partition: i32,
    offset: i64,
    reason: BadReason,
    error: String,
    message: &BorrowedMessage<'_>,
    dead_letters: Option<&BaseProducer>,
) {
    let payload = message.payload().unwrap_or_default();
    if let (Some(producer), Some(topic)) = (dead_letters, &shared.stream.dead_letter_topic) {
        let key = format!("{}/{partition}/{offset}", shared.stream.topic);
        let record = BaseRecord::to(topic).payload(payload).key(&key);
        if let Err((err, _)) = producer.send(record) {
            tracing::warn!(table = %shared.name, error = %err, "bad message not sent to the dead-letter topic");
        }
    }
    shared
        .counters
        .note_bad(partition, offset, reason, error, payload);
}

fn stop_on_bad(
    shared: &TableShared,
    partition: i32,
    offset: i64,
    reason: BadReason,
    error: String,
    message: &BorrowedMessage<'_>,
) {
    let payload = message.payload().unwrap_or_default();
    let text = format!(
        "stopped at offset {offset} (stopOnDecodeError is set): {error}; fix or skip the message, then resume"
    );
    tracing::error!(table = %shared.name, partition, "{text}");
    shared
        .counters
        .note_bad(partition, offset, reason, error, payload);
    shared.with_status(partition, |status| {
        status.state = ConsumerState::Stopped;
        status.note_error(text);
    });
}

fn dead_letter_producer(shared: &TableShared) -> Result<BaseProducer, Error> {
    let config = kafka::producer_config(&shared.stream);
    let producer: BaseProducer = config.create().map_err(Error::DeadLetterProducer)?;
    let _ = producer.flush(Duration::ZERO);
    Ok(producer)
}
