//! Sealing a partition's consuming segments, off the consumer's thread.
//!
//! One sealer thread per partition takes segments in the order they were
//! rolled, writes each one's file (sorted dictionaries, the configured
//! indexes; temp file → fsync → rename) and commits it together with the
//! partition's next checkpoint. Order matters: a checkpoint never moves past
//! a segment that is not committed, so a failed seal is retried (with
//! backoff) before anything after it. Meanwhile the consumer keeps filling
//! the next segment, and the segment being sealed keeps answering queries.

use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::shared::TableShared;
use crate::faults;
use crate::segment::{MutableSegment, SealInfo, StreamRange};
use crate::server::{Checkpoint, Error, StreamCommit};

/// A consuming segment handed over for sealing, or (without a segment) a
/// checkpoint to record in order with the seals before it.
pub struct SealJob {
    pub name: String,
    pub segment: Option<Arc<MutableSegment>>,
    /// The partition's generation when it was rolled (in a cluster, a
    /// seal of an older generation than the partition's is dropped).
    pub generation: u64,
    pub start_offset: i64,
    /// The checkpoint committed with the segment: its end offset and the
    /// partition's next sequence number.
    pub checkpoint: Checkpoint,
}

impl SealJob {
    /// Records `checkpoint` once every seal queued before it is committed.
    pub fn checkpoint_only(checkpoint: Checkpoint) -> SealJob {
        SealJob {
            name: String::new(),
            segment: None,
            generation: 0,
            start_offset: checkpoint.next_offset,
            checkpoint,
        }
    }
}

/// The sealer of one partition.
pub struct Sealer {
    jobs: Option<Sender<SealJob>>,
    thread: Option<JoinHandle<()>>,
}

impl Sealer {
    pub fn start(shared: Arc<TableShared>, partition: i32) -> std::io::Result<Sealer> {
        let (jobs, queue) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("gamay-seal-{partition}"))
            .spawn(move || run(shared, partition, queue))?;
        Ok(Sealer {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    pub fn submit(&self, job: SealJob) {
        if let Some(jobs) = &self.jobs {
            // The receiver lives as long as the sealer: sending cannot fail.
            let _ = jobs.send(job);
        }
    }

    /// Finishes the queued seals (unless the table is stopping), then stops.
    pub fn finish(mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(shared: Arc<TableShared>, partition: i32, queue: Receiver<SealJob>) {
    while let Ok(job) = queue.recv() {
        let mut delay = Duration::from_millis(200);
        loop {
            match seal(&shared, partition, &job) {
                Ok(()) => {
                    shared.with_status(partition, |status| {
                        if status
                            .last_error
                            .as_deref()
                            .is_some_and(|e| e.starts_with("seal"))
                        {
                            status.last_error = None;
                        }
                    });
                    break;
                }
                Err(err) => {
                    let message = format!("sealing segment {} failed: {err}", job.name);
                    tracing::error!(table = %shared.name, partition, "{message}; retrying");
                    shared.with_status(partition, |status| status.note_error(message));
                    if shared.stopping() {
                        // Not committed: these rows are consumed again from
                        // the checkpoint next time, so no query may count
                        // them now.
                        shared.data.remove_consuming(&job.name);
                        for rest in queue.iter() {
                            shared.data.remove_consuming(&rest.name);
                        }
                        return;
                    }
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
}

fn seal(shared: &TableShared, partition: i32, job: &SealJob) -> Result<(), Error> {
    if shared.coordinator.is_some() {
        return seal_in_cluster(shared, partition, job);
    }
    let checkpoint = job.checkpoint;
    let segment = match &job.segment {
        Some(segment) if segment.num_docs() > 0 => segment,
        // Every message was bad or filtered out, or there was no segment:
        // only the checkpoint moves.
        _ => {
            return shared
                .data
                .commit_stream_segment(None, &job.name, partition, checkpoint);
        }
    };
    faults::reach("seal.before_write");
    let info = SealInfo {
        late_docs: late_docs(shared, &job.name),
        segment_name: job.name.clone(),
        stream: Some(StreamRange {
            topic: shared.stream.topic.clone(),
            partition,
            start_offset: job.start_offset,
            end_offset: checkpoint.next_offset,
        }),
    };
    let (path, meta) = segment.seal(&shared.data.segment_dir(), &info)?;
    faults::reach("seal.after_write");
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    shared.note_sealed(partition, meta.num_docs, bytes);
    // On failure the file stays: the manifest may name it already (a failed
    // directory sync after the rename). A retry rewrites it; a restart
    // deletes it if the manifest does not name it.
    shared
        .data
        .commit_stream_segment(Some(&path), &job.name, partition, checkpoint)?;
    faults::reach("seal.after_commit");
    tracing::info!(
        table = %shared.name,
        segment = %job.name,
        rows = meta.num_docs,
        start_offset = job.start_offset,
        end_offset = checkpoint.next_offset,
        "segment sealed and committed"
    );
    Ok(())
}

/// A seal in a cluster: the file is written once (a retry commits the same
/// bytes), published and committed under the partition's lease, then
/// committed here. A fenced commit discards the segment and tells the
/// consumer to resume from the cluster's checkpoint. A checkpoint alone
/// (offsets skipped: a resume from the latest offset, messages the broker
/// no longer holds) moves under the lease too; a server without it leaves
/// the move to the holder and follows the cluster's checkpoint.
fn seal_in_cluster(shared: &TableShared, partition: i32, job: &SealJob) -> Result<(), Error> {
    let Some(coordinator) = &shared.coordinator else {
        return Err(Error::Internal("a cluster seal without a coordinator"));
    };
    let discard = |why: &str| {
        tracing::info!(table = %shared.name, partition, segment = %job.name, "{why}; the segment is discarded");
        shared.data.remove_consuming(&job.name);
        let path = shared.data.segment_path(&job.name);
        if shared.data.segment(&job.name).is_none() && path.exists() {
            let _ = std::fs::remove_file(&path);
        }
    };
    let segment = match &job.segment {
        Some(segment) if segment.num_docs() > 0 => segment,
        // Offsets read but holding no row (every message bad or filtered
        // out), or skipped: the checkpoint moves past them all the same.
        other => {
            if other.is_some() {
                shared.data.remove_consuming(&job.name);
            }
            let (from, to) = (job.start_offset, job.checkpoint.next_offset);
            let current = job.generation == shared.generation(partition);
            if to > from && current && coordinator.holds_lease(&shared.name, partition) {
                let skipped = coordinator.skip(&shared.name, partition, from, to)?;
                if skipped == StreamCommit::Fenced {
                    // The consumer follows the cluster's checkpoint.
                    shared.next_generation(partition, shared.generation(partition));
                }
            }
            return Ok(());
        }
    };
    if job.generation != shared.generation(partition) {
        discard("consumption resumed from the cluster's checkpoint since it was rolled");
        return Ok(());
    }
    let checkpoint = job.checkpoint;
    let path = shared.data.segment_path(&job.name);
    if !path.exists() {
        faults::reach("seal.before_write");
        let info = SealInfo {
            late_docs: late_docs(shared, &job.name),
            segment_name: job.name.clone(),
            stream: Some(StreamRange {
                topic: shared.stream.topic.clone(),
                partition,
                start_offset: job.start_offset,
                end_offset: checkpoint.next_offset,
            }),
        };
        let (written, meta) = segment.seal(&shared.data.segment_dir(), &info)?;
        let bytes = std::fs::metadata(&written).map(|m| m.len()).unwrap_or(0);
        shared.note_sealed(partition, meta.num_docs, bytes);
    }
    faults::reach("seal.after_write");
    let opened = crate::segment::ImmutableSegment::open(&path)?;
    let offsets = (job.start_offset, checkpoint.next_offset);
    faults::reach("seal.before_commit");
    match coordinator.commit(&shared.name, partition, &opened, &path, offsets)? {
        StreamCommit::Committed => {}
        StreamCommit::Fenced => {
            drop(opened);
            discard("another server holds the partition's lease or committed these offsets");
            shared.next_generation(partition, job.generation);
            return Ok(());
        }
    }
    drop(opened);
    shared
        .data
        .commit_stream_segment(Some(&path), &job.name, partition, checkpoint)?;
    faults::reach("seal.after_commit");
    tracing::info!(
        table = %shared.name,
        segment = %job.name,
        start_offset = job.start_offset,
        end_offset = checkpoint.next_offset,
        "segment sealed and committed to the cluster"
    );
    Ok(())
}

/// An upsert segment's docs that arrived older than their key's version,
/// as the partition's state took them in: recorded in the sealed file.
fn late_docs(shared: &TableShared, name: &str) -> Vec<u32> {
    shared
        .upsert
        .as_ref()
        .and_then(|upsert| upsert.rejected(name))
        .map(|late| late.iter().collect())
        .unwrap_or_default()
}
