//! One table's segments: the manifest, the files, and the live set.
//!
//! The live set holds the sealed segments and the consuming ones (one per
//! Kafka partition, plus any being sealed) behind one lock, so a sealed
//! segment replaces the consuming segment it came from in a single step and
//! a query never counts a row twice or misses it.
//!
//! For REALTIME tables the manifest also holds each partition's checkpoint:
//! the next offset to consume and the next segment sequence number. A sealed
//! segment and the checkpoint after it are written in the same manifest
//! update, so every offset lands in exactly one committed segment.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};

use super::Error;
use crate::durable;
use crate::segment::{ImmutableSegment, MutableSegment};
use crate::sync::{Recover, RecoverRw};
use crate::upsert::TableUpsert;

const MANIFEST: &str = "manifest.json";
/// A segment file's extension; its name before it is the segment's name.
pub const SEGMENT_EXTENSION: &str = "seg";

#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    segments: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    partitions: BTreeMap<i32, Checkpoint>,
}

/// Where a stream partition's consumption resumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    /// The first offset no committed segment holds.
    pub next_offset: i64,
    /// The sequence number of the partition's next segment.
    pub next_sequence: u64,
}

pub type SegmentSet = Arc<Vec<Arc<ImmutableSegment>>>;

/// A segment rows are still appended to (or that is being sealed).
#[derive(Clone)]
pub struct ConsumingSegment {
    pub name: String,
    pub partition: i32,
    /// The first stream offset it holds.
    pub start_offset: i64,
    pub segment: Arc<MutableSegment>,
}

/// What queries read: a consistent view of sealed and consuming segments.
#[derive(Clone, Default)]
pub struct Live {
    pub sealed: SegmentSet,
    pub consuming: Arc<Vec<ConsumingSegment>>,
}

/// A table's size as queries see it now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableStats {
    pub sealed_segments: usize,
    pub sealed_rows: u64,
    /// Bytes of the sealed segments' files.
    pub sealed_bytes: u64,
    pub consuming_segments: usize,
    pub consuming_rows: u64,
}

pub struct TableData {
    name: String,
    dir: PathBuf,
    live: RwLock<Live>,
    /// Serializes manifest changes; holds the committed checkpoints.
    commit: Mutex<BTreeMap<i32, Checkpoint>>,
    /// An upsert or dedup table's key state, while it is consumed.
    upsert: RwLock<Option<Arc<TableUpsert>>>,
    /// Where new batch segments are published before they commit.
    publisher: RwLock<Option<Arc<dyn super::Publisher>>>,
}

impl TableData {
    /// Opens (creating if needed) the table directory: removes temporary and
    /// uncommitted segment files, then opens every committed segment. A
    /// segment that fails verification is left out and logged, so one damaged
    /// file never takes the table down.
    pub fn open(dir: &Path, name: &str) -> Result<TableData, Error> {
        let segment_dir = dir.join("segments");
        durable::create_dir_durably(&segment_dir).map_err(|err| Error::io(&segment_dir, err))?;
        durable::remove_temp_files(dir).map_err(|err| Error::io(dir, err))?;
        durable::remove_temp_files(&segment_dir).map_err(|err| Error::io(&segment_dir, err))?;
        let upsert_dir = dir.join("upsert");
        if upsert_dir.is_dir() {
            durable::remove_temp_files(&upsert_dir).map_err(|err| Error::io(&upsert_dir, err))?;
        }
        let manifest = read_manifest(dir)?;
        let committed: HashSet<&str> = manifest.segments.iter().map(String::as_str).collect();
        for entry in std::fs::read_dir(&segment_dir).map_err(|err| Error::io(&segment_dir, err))? {
            let path = entry.map_err(|err| Error::io(&segment_dir, err))?.path();
            let stem = path
                .file_stem()
                .and_then(|stem| stem.to_str())
                .unwrap_or_default();
            if path.extension().is_some_and(|ext| ext == SEGMENT_EXTENSION)
                && !committed.contains(stem)
            {
                tracing::info!(
                    table = name,
                    segment = stem,
                    "removing a segment file no commit recorded"
                );
                std::fs::remove_file(&path).map_err(|err| Error::io(&path, err))?;
            }
        }
        let mut segments = Vec::with_capacity(manifest.segments.len());
        for segment in &manifest.segments {
            let path = segment_dir.join(format!("{segment}.{SEGMENT_EXTENSION}"));
            match ImmutableSegment::open(&path) {
                Ok(opened) => segments.push(Arc::new(opened)),
                Err(err) => {
                    tracing::error!(table = name, segment = %segment, error = %err, "segment left out")
                }
            }
        }
        Ok(TableData {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            live: RwLock::new(Live {
                sealed: Arc::new(segments),
                consuming: Arc::default(),
            }),
            commit: Mutex::new(manifest.partitions),
            upsert: RwLock::new(None),
            publisher: RwLock::new(None),
        })
    }

    /// The table's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The upsert state queries and commits go through, if any.
    pub fn upsert(&self) -> Option<Arc<TableUpsert>> {
        self.upsert.read_locked().clone()
    }

    /// Installs (or, with `None`, removes) the table's upsert state.
    pub fn set_upsert(&self, upsert: Option<Arc<TableUpsert>>) {
        *self.upsert.write_locked() = upsert;
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where new segment files are written before they are committed.
    pub fn segment_dir(&self) -> PathBuf {
        self.dir.join("segments")
    }

    /// A snapshot of the committed segments.
    pub fn segments(&self) -> SegmentSet {
        self.live().sealed
    }

    /// A snapshot of the sealed and consuming segments, taken together.
    pub fn live(&self) -> Live {
        self.live.read_locked().clone()
    }

    /// Segment and row counts and bytes of the current snapshot.
    pub fn stats(&self) -> TableStats {
        let live = self.live();
        let mut stats = TableStats {
            sealed_segments: live.sealed.len(),
            consuming_segments: live.consuming.len(),
            ..TableStats::default()
        };
        for segment in live.sealed.iter() {
            stats.sealed_rows += segment.num_docs() as u64;
            stats.sealed_bytes += segment.size_bytes() as u64;
        }
        for consuming in live.consuming.iter() {
            stats.consuming_rows += consuming.segment.num_docs() as u64;
        }
        stats
    }

    fn update_live(&self, change: impl FnOnce(&mut Live)) {
        let mut live = self.live.write_locked();
        change(&mut live);
    }

    fn lock_commit(&self) -> std::sync::MutexGuard<'_, BTreeMap<i32, Checkpoint>> {
        self.commit.locked()
    }

    /// The committed checkpoint of stream partition `partition`.
    pub fn checkpoint(&self, partition: i32) -> Option<Checkpoint> {
        self.lock_commit().get(&partition).copied()
    }

    /// Every committed checkpoint, by partition.
    pub fn checkpoints(&self) -> BTreeMap<i32, Checkpoint> {
        self.lock_commit().clone()
    }

    /// Makes a consuming segment visible to queries.
    pub fn add_consuming(&self, consuming: ConsumingSegment) {
        self.update_live(|live| {
            let mut next = live.consuming.as_ref().clone();
            next.push(consuming);
            live.consuming = Arc::new(next);
        });
    }

    /// Withdraws every consuming segment of stream partition `partition`.
    pub fn remove_consuming_partition(&self, partition: i32) {
        self.update_live(|live| {
            let next = live
                .consuming
                .iter()
                .filter(|consuming| consuming.partition != partition)
                .cloned()
                .collect();
            live.consuming = Arc::new(next);
        });
    }

    /// Withdraws consuming segment `name` (consumption stopped before it
    /// sealed; its rows will be consumed again from the checkpoint).
    pub fn remove_consuming(&self, name: &str) {
        self.update_live(|live| {
            let next = live
                .consuming
                .iter()
                .filter(|consuming| consuming.name != name)
                .cloned()
                .collect();
            live.consuming = Arc::new(next);
        });
    }

    /// Commits a sealed stream segment together with its partition's next
    /// checkpoint, in one manifest write, and swaps it for the consuming
    /// segment `name` in the live set. With `path` `None` (a segment with no
    /// rows: every message was bad or filtered out) only the checkpoint moves.
    pub fn commit_stream_segment(
        &self,
        path: Option<&Path>,
        name: &str,
        partition: i32,
        checkpoint: Checkpoint,
    ) -> Result<(), Error> {
        let opened = path
            .map(|path| ImmutableSegment::open(path).map(Arc::new))
            .transpose()?;
        let mut checkpoints = self.lock_commit();
        let upsert = self.upsert();
        if let (Some(upsert), Some(_)) = (&upsert, &opened) {
            // The valid docs as of this segment's end, before the manifest
            // says it is committed.
            let dir = self.dir.join("upsert");
            upsert
                .write_snapshot(partition, name)
                .map_err(|err| Error::io(&dir, err))?;
            crate::faults::reach("seal.after_snapshot");
        }
        let mut sealed: Vec<Arc<ImmutableSegment>> = self.segments().as_ref().clone();
        // In a cluster the placement may have loaded it from the deep
        // store already: a segment is held once.
        if !sealed.iter().any(|segment| segment.name() == name) {
            sealed.extend(opened.iter().cloned());
        }
        let mut next_checkpoints = checkpoints.clone();
        next_checkpoints.insert(partition, checkpoint);
        write_manifest(&self.dir, &sealed, &next_checkpoints)?;
        *checkpoints = next_checkpoints;
        if let Some(upsert) = &upsert {
            upsert.committed(partition, name, opened.clone());
        }
        self.update_live(|live| {
            live.sealed = Arc::new(sealed);
            let consuming = live
                .consuming
                .iter()
                .filter(|consuming| consuming.name != name)
                .cloned()
                .collect();
            live.consuming = Arc::new(consuming);
        });
        Ok(())
    }

    pub fn segment(&self, name: &str) -> Option<Arc<ImmutableSegment>> {
        self.segments()
            .iter()
            .find(|segment| segment.name() == name)
            .cloned()
    }

    /// A segment name not used by this table yet: `<table>_<millis>_<n>`.
    pub fn new_segment_name(&self, created_millis: i64, sequence: usize) -> String {
        let mut attempt = sequence;
        loop {
            let name = format!("{}_{created_millis}_{attempt}", self.name);
            let path = self
                .segment_dir()
                .join(format!("{name}.{SEGMENT_EXTENSION}"));
            if !path.exists() {
                return name;
            }
            attempt += 1;
        }
    }

    /// Commits sealed segment files (already in the segment directory): all
    /// of them become part of the table at once, or none do.
    pub fn commit(&self, paths: &[PathBuf]) -> Result<Vec<String>, Error> {
        let mut opened = Vec::with_capacity(paths.len());
        for path in paths {
            opened.push(Arc::new(ImmutableSegment::open(path)?));
        }
        let publisher = self.publisher.read_locked().clone();
        if let Some(publisher) = publisher {
            let segments: Vec<(&ImmutableSegment, &Path)> = opened
                .iter()
                .zip(paths)
                .map(|(segment, path)| (segment.as_ref(), path.as_path()))
                .collect();
            publisher.publish(&self.name, &segments)?;
        }
        self.commit_opened(opened)
    }

    /// Commits segment files another node published (downloaded from the
    /// deep store into the segment directory), without publishing them
    /// again.
    pub fn commit_published(&self, paths: &[PathBuf]) -> Result<Vec<String>, Error> {
        let mut opened = Vec::with_capacity(paths.len());
        for path in paths {
            opened.push(Arc::new(ImmutableSegment::open(path)?));
        }
        self.commit_opened(opened)
    }

    /// Where segment `name`'s file lives in this table's directory.
    pub fn segment_path(&self, name: &str) -> PathBuf {
        self.segment_dir()
            .join(format!("{name}.{SEGMENT_EXTENSION}"))
    }

    pub(crate) fn set_publisher(&self, publisher: Option<Arc<dyn super::Publisher>>) {
        *self.publisher.write_locked() = publisher;
    }

    fn commit_opened(&self, opened: Vec<Arc<ImmutableSegment>>) -> Result<Vec<String>, Error> {
        let checkpoints = self.lock_commit();
        let mut next: Vec<Arc<ImmutableSegment>> = self.segments().as_ref().clone();
        for segment in &opened {
            // A segment is held once, however it arrived.
            if !next.iter().any(|held| held.name() == segment.name()) {
                next.push(segment.clone());
            }
        }
        write_manifest(&self.dir, &next, &checkpoints)?;
        self.update_live(|live| live.sealed = Arc::new(next));
        Ok(opened
            .iter()
            .map(|segment| segment.name().to_string())
            .collect())
    }

    /// Removes a segment from the table, then deletes its file.
    pub fn delete_segment(&self, name: &str) -> Result<(), Error> {
        let checkpoints = self.lock_commit();
        let current = self.segments();
        let Some(segment) = current
            .iter()
            .find(|segment| segment.name() == name)
            .cloned()
        else {
            return Err(Error::SegmentNotFound {
                table: self.name.clone(),
                segment: name.to_string(),
            });
        };
        let next: Vec<Arc<ImmutableSegment>> = current
            .iter()
            .filter(|candidate| candidate.name() != name)
            .cloned()
            .collect();
        write_manifest(&self.dir, &next, &checkpoints)?;
        self.update_live(|live| live.sealed = Arc::new(next));
        if let Some(upsert) = self.upsert() {
            upsert.removed(name);
        }
        // Queries holding a snapshot keep the mapping alive; unlinking is safe.
        durable::remove_durably(segment.path()).map_err(|err| Error::io(segment.path(), err))?;
        Ok(())
    }
}

fn read_manifest(dir: &Path) -> Result<Manifest, Error> {
    let path = dir.join(MANIFEST);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| {
            Error::io(
                &path,
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("unreadable manifest: {err}"),
                ),
            )
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
        Err(err) => Err(Error::io(&path, err)),
    }
}

fn write_manifest(
    dir: &Path,
    segments: &[Arc<ImmutableSegment>],
    checkpoints: &BTreeMap<i32, Checkpoint>,
) -> Result<(), Error> {
    let manifest = Manifest {
        segments: segments
            .iter()
            .map(|segment| segment.name().to_string())
            .collect(),
        partitions: checkpoints.clone(),
    };
    let path = dir.join(MANIFEST);
    let bytes = serde_json::to_vec_pretty(&manifest)
        .map_err(|err| Error::io(&path, std::io::Error::other(err)))?;
    durable::write_atomic(&path, &bytes).map_err(|err| Error::io(&path, err))
}
