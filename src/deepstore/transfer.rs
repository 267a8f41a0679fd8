//! Moving segment files in and out of the deep store a piece at a time, so
//! a segment of any size costs a bounded amount of memory: uploads past
//! the single-request size go up in parts, downloads are written as they
//! arrive, and checksums are read through a buffer. A file lands whole
//! (a synced temporary file renamed into place) or not at all.

use std::io::Read;
use std::path::Path;

use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, WriteMultipart};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{DeepStore, Error, Result, Uploaded, PARTS_IN_FLIGHT};

/// How much of a file is read at once.
const BUFFER: usize = 1 << 20;

/// The size and CRC-32C of the file at `path`, read through a buffer.
pub fn checksum(path: &Path) -> std::io::Result<(u64, u32)> {
    let mut file = std::fs::File::open(path)?;
    let mut buffer = vec![0u8; BUFFER];
    let (mut size, mut crc) = (0u64, 0u32);
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            return Ok((size, crc));
        }
        crc = crc32c::crc32c_append(crc, &buffer[..read]);
        size += read as u64;
    }
}

fn store_error(what: String) -> impl FnOnce(object_store::Error) -> Error {
    move |source| Error::Store { what, source }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The size and CRC-32C of the object at `location`, read as it streams.
async fn object_checksum(store: &DeepStore, location: &ObjectPath) -> Result<(u64, u32)> {
    let found = store
        .store
        .get(location)
        .await
        .map_err(store_error(format!("read {location}")))?;
    let mut stream = found.into_stream();
    let (mut size, mut crc) = (0u64, 0u32);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(store_error(format!("read {location}")))?;
        crc = crc32c::crc32c_append(crc, &chunk);
        size += chunk.len() as u64;
    }
    Ok((size, crc))
}

/// Uploads a large file in parts under a staging name, then copies it
/// into place only if no object is there: the same bytes there already
/// are `AlreadyThere`, others `OtherContents` (left alone). Two servers
/// uploading one name at once cannot both land.
pub(super) async fn upload_in_parts(
    store: &DeepStore,
    location: &ObjectPath,
    file: &Path,
    size: u64,
) -> Result<Uploaded> {
    let staging = staging_name(location)?;
    let sent = send_parts(store, &staging, file).await;
    let placed = match sent {
        Ok(()) => store.store.copy_if_not_exists(&staging, location).await,
        Err(err) => {
            let _ = store.store.delete(&staging).await;
            return Err(err);
        }
    };
    let _ = store.store.delete(&staging).await;
    match placed {
        Ok(()) => Ok(Uploaded::Written),
        Err(object_store::Error::AlreadyExists { .. }) => {
            let existing = object_checksum(store, location).await?;
            let path = file.to_path_buf();
            let local = tokio::task::spawn_blocking(move || checksum(&path))
                .await
                .map_err(|err| io_error(file)(std::io::Error::other(err)))?
                .map_err(io_error(file))?;
            if existing == local {
                Ok(Uploaded::AlreadyThere)
            } else {
                Err(Error::OtherContents {
                    key: location.to_string(),
                    existing: existing.0 as usize,
                    uploaded: size as usize,
                })
            }
        }
        Err(source) => Err(Error::Store {
            what: format!("write {location}"),
            source,
        }),
    }
}

/// A name no other upload uses, beside `location`.
fn staging_name(location: &ObjectPath) -> Result<ObjectPath> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let next = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("{location}.upload-{}-{nanos}-{next}", std::process::id());
    ObjectPath::parse(&name).map_err(|_| Error::Name(name))
}

/// Writes `file` to `location` in parts, a part at a time; an upload that
/// fails is aborted.
async fn send_parts(store: &DeepStore, location: &ObjectPath, file: &Path) -> Result<()> {
    let upload = store
        .store
        .put_multipart(location)
        .await
        .map_err(store_error(format!("start writing {location}")))?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, store.part_size);
    let sent = async {
        let mut reader = tokio::fs::File::open(file).await.map_err(io_error(file))?;
        let mut buffer = vec![0u8; BUFFER.min(store.part_size.max(1))];
        loop {
            let read = reader.read(&mut buffer).await.map_err(io_error(file))?;
            if read == 0 {
                return Ok(());
            }
            writer
                .wait_for_capacity(PARTS_IN_FLIGHT)
                .await
                .map_err(store_error(format!("write {location}")))?;
            writer.write(&buffer[..read]);
        }
    }
    .await;
    // Every part sent before completing, so a failed one aborts here (a
    // failed completion aborts the upload itself).
    let sent = match sent {
        Ok(()) => writer
            .wait_for_capacity(0)
            .await
            .map_err(store_error(format!("write {location}"))),
        Err(err) => Err(err),
    };
    match sent {
        Ok(()) => writer
            .finish()
            .await
            .map(|_| ())
            .map_err(store_error(format!("write {location}"))),
        Err(err) => {
            let _ = writer.abort().await;
            Err(err)
        }
    }
}

/// Writes the object at `location` to `dest` as it arrives, through a
/// synced temporary file renamed into place.
pub(super) async fn download_to(
    store: &DeepStore,
    location: &ObjectPath,
    dest: &Path,
    expect: Option<(u64, u32)>,
) -> Result<()> {
    let found = match store.store.get(location).await {
        Ok(found) => found,
        Err(object_store::Error::NotFound { .. }) => {
            return Err(Error::Missing(location.to_string()))
        }
        Err(source) => {
            return Err(Error::Store {
                what: format!("read {location}"),
                source,
            })
        }
    };
    let dir = dest.parent().unwrap_or(Path::new(".")).to_path_buf();
    let temp = crate::durable::temp_path(dest);
    let written = async {
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(io_error(dest))?;
        let mut file = tokio::fs::File::create(&temp)
            .await
            .map_err(io_error(dest))?;
        let mut stream = found.into_stream();
        let (mut size, mut crc) = (0u64, 0u32);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(store_error(format!("read {location}")))?;
            crc = crc32c::crc32c_append(crc, &chunk);
            size += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(io_error(dest))?;
        }
        if let Some((expected_size, expected_crc)) = expect {
            if (size, crc) != (expected_size, expected_crc) {
                return Err(Error::Corrupt {
                    key: location.to_string(),
                    size,
                    crc,
                    expected_size,
                    expected_crc,
                });
            }
        }
        file.sync_all().await.map_err(io_error(dest))?;
        drop(file);
        tokio::fs::rename(&temp, dest)
            .await
            .map_err(io_error(dest))?;
        let synced = dir.clone();
        tokio::task::spawn_blocking(move || std::fs::File::open(&synced)?.sync_all())
            .await
            .map_err(std::io::Error::other)
            .and_then(|done| done)
            .map_err(io_error(dest))
    }
    .await;
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}
