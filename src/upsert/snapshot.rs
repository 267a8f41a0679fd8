//! Upsert snapshots: a partition's valid and delete docs per sealed
//! segment, as of its latest commit, so a restart rebuilds the key map
//! from the sealed segments' key columns without comparing versions again
//! (Pinot's `enableSnapshot`).
//!
//! ```text
//! tables/<table>_REALTIME/upsert/partition-<p>.snapshot
//!   "GAMAYUPS" · version u32 · header length u32 · header (JSON: each
//!   segment's name, docs and bitmap lengths) · the bitmaps (roaring's
//!   portable format), valid, deletes and late docs per segment · crc32c u32
//! ```
//!
//! The file is written (atomically) before the manifest that commits the
//! segment, and is used only when its newest segment is the partition's
//! newest committed one; otherwise the partition's segments are replayed.

use std::path::{Path, PathBuf};

use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use super::error::{Error, SnapshotError};
use super::partition::SegmentBitmaps;
use crate::durable;

const MAGIC: &[u8; 8] = b"GAMAYUPS";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Header {
    segments: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    name: String,
    docs: u32,
    valid_bytes: u64,
    deletes_bytes: u64,
    rejected_bytes: u64,
}

/// The snapshot file of `partition` in `dir`.
pub fn path(dir: &Path, partition: i32) -> PathBuf {
    dir.join(format!("partition-{partition}.snapshot"))
}

/// Writes `segments` to `path`, replacing what was there.
pub fn write(path: &Path, segments: &[SegmentBitmaps]) -> std::io::Result<()> {
    let mut bitmaps = Vec::new();
    let mut entries = Vec::with_capacity(segments.len());
    for segment in segments {
        let start = bitmaps.len();
        segment.valid.serialize_into(&mut bitmaps)?;
        let middle = bitmaps.len();
        segment.deletes.serialize_into(&mut bitmaps)?;
        let third = bitmaps.len();
        segment.rejected.serialize_into(&mut bitmaps)?;
        entries.push(Entry {
            name: segment.name.clone(),
            docs: segment.docs,
            valid_bytes: (middle - start) as u64,
            deletes_bytes: (third - middle) as u64,
            rejected_bytes: (bitmaps.len() - third) as u64,
        });
    }
    let header =
        serde_json::to_vec(&Header { segments: entries }).map_err(std::io::Error::other)?;
    let mut bytes = Vec::with_capacity(MAGIC.len() + 12 + header.len() + bitmaps.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&VERSION.to_le_bytes());
    bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(&bitmaps);
    let crc = crc32c::crc32c(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    if let Some(dir) = path.parent() {
        durable::create_dir_durably(dir)?;
    }
    durable::write_atomic(path, &bytes)
}

/// Reads the snapshot at `path`: `Ok(None)` when there is none.
pub fn read(path: &Path) -> Result<Option<Vec<SegmentBitmaps>>, Error> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::SnapshotRead {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    parse(&bytes).map(Some).map_err(|reason| Error::Snapshot {
        path: path.to_path_buf(),
        reason,
    })
}

fn parse(bytes: &[u8]) -> Result<Vec<SegmentBitmaps>, SnapshotError> {
    if bytes.len() < MAGIC.len() + 12 || &bytes[..MAGIC.len()] != MAGIC {
        return Err(SnapshotError::NotASnapshot);
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    let crc = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if crc32c::crc32c(body) != crc {
        return Err(SnapshotError::Checksum);
    }
    let word = |at: usize| u32::from_le_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
    let version = word(8);
    if version != VERSION {
        return Err(SnapshotError::Version {
            found: version,
            expected: VERSION,
        });
    }
    let header_len = word(12) as usize;
    let header_end = 16 + header_len;
    let header_bytes = body.get(16..header_end).ok_or(SnapshotError::ShortHeader)?;
    let header: Header = serde_json::from_slice(header_bytes).map_err(SnapshotError::Header)?;
    let mut at = header_end;
    let mut take = |len: u64| -> Result<RoaringBitmap, SnapshotError> {
        let end = at + len as usize;
        let slice = body.get(at..end).ok_or(SnapshotError::ShortBitmap)?;
        at = end;
        RoaringBitmap::deserialize_from(slice).map_err(SnapshotError::Bitmap)
    };
    header
        .segments
        .into_iter()
        .map(|entry| {
            Ok(SegmentBitmaps {
                valid: take(entry.valid_bytes)?,
                deletes: take(entry.deletes_bytes)?,
                rejected: take(entry.rejected_bytes)?,
                name: entry.name,
                docs: entry.docs,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_reads_back_and_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = path(dir.path(), 3);
        assert!(read(&file).unwrap().is_none());
        let segments = vec![
            SegmentBitmaps {
                name: "t__3__0".into(),
                docs: 10,
                valid: (0..10).filter(|d| d % 3 != 0).collect(),
                deletes: [3u32].into_iter().collect(),
                rejected: [6u32].into_iter().collect(),
            },
            SegmentBitmaps {
                name: "t__3__1".into(),
                docs: 70_000,
                valid: (0..70_000).collect(),
                deletes: RoaringBitmap::new(),
                rejected: RoaringBitmap::new(),
            },
        ];
        write(&file, &segments).unwrap();
        let back = read(&file).unwrap().unwrap();
        assert_eq!(back.len(), 2);
        for (a, b) in back.iter().zip(&segments) {
            assert_eq!((&a.name, a.docs), (&b.name, b.docs));
            assert_eq!(a.valid, b.valid);
            assert_eq!(a.deletes, b.deletes);
            assert_eq!(a.rejected, b.rejected);
        }
        let mut bytes = std::fs::read(&file).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
        std::fs::write(&file, &bytes).unwrap();
        assert!(read(&file).unwrap_err().to_string().contains("checksum"));
    }
}
