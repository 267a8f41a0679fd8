//! One table's segments: the manifest, the files, and the live set.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};

use super::Error;
use crate::durable;
use crate::segment::ImmutableSegment;

const MANIFEST: &str = "manifest.json";
const SEGMENT_EXTENSION: &str = "seg";

#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    segments: Vec<String>,
}

pub type SegmentSet = Arc<Vec<Arc<ImmutableSegment>>>;

pub struct TableData {
    name: String,
    dir: PathBuf,
    segments: RwLock<SegmentSet>,
    /// Serializes manifest changes.
    commit: Mutex<()>,
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
            segments: RwLock::new(Arc::new(segments)),
            commit: Mutex::new(()),
        })
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
        self.segments
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
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
        let _commit = self
            .commit
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut next: Vec<Arc<ImmutableSegment>> = self.segments().as_ref().clone();
        next.extend(opened.iter().cloned());
        write_manifest(&self.dir, &next)?;
        *self
            .segments
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(next);
        Ok(opened
            .iter()
            .map(|segment| segment.name().to_string())
            .collect())
    }

    /// Removes a segment from the table, then deletes its file.
    pub fn delete_segment(&self, name: &str) -> Result<(), Error> {
        let _commit = self
            .commit
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
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
        write_manifest(&self.dir, &next)?;
        *self
            .segments
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(next);
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

fn write_manifest(dir: &Path, segments: &[Arc<ImmutableSegment>]) -> Result<(), Error> {
    let manifest = Manifest {
        segments: segments
            .iter()
            .map(|segment| segment.name().to_string())
            .collect(),
    };
    let path = dir.join(MANIFEST);
    let bytes = serde_json::to_vec_pretty(&manifest)
        .map_err(|err| Error::io(&path, std::io::Error::other(err)))?;
    durable::write_atomic(&path, &bytes).map_err(|err| Error::io(&path, err))
}
