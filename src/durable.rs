//! Crash-safe file replacement, shared by everything Gamay persists
//! (catalog entries, checkpoints, segment files).
//!
//! [`write_atomic`] writes a sibling temporary file, fsyncs it, renames it over
//! the target and fsyncs the directory, so after a crash at any instant the
//! target holds either its old bytes or its new bytes, never a mix. Temporary
//! files are named `.<target>.tmp-<pid>-<n>`; [`remove_temp_files`] deletes the
//! ones a crash left behind and is called when a directory is opened.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const TEMP_MARKER: &str = ".tmp-";

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The temporary sibling used while writing `target`.
pub fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    target.with_file_name(format!(".{name}{TEMP_MARKER}{}-{n}", std::process::id()))
}

/// Whether `path` is a temporary file of [`write_atomic`].
pub fn is_temp_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.starts_with('.') && name.contains(TEMP_MARKER))
}

/// Replaces `target` with `bytes` atomically and durably.
pub fn write_atomic(target: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = temp_path(target);
    let result = write_and_sync(&temp, bytes).and_then(|()| publish(&temp, target));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Creates `path` readable by the server's user only (configs may hold
/// secrets), writes and syncs it.
fn write_and_sync(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Renames a fully written and synced `temp` over `target`, then syncs the
/// directory so the rename itself survives a power loss.
pub fn publish(temp: &Path, target: &Path) -> io::Result<()> {
    fs::rename(temp, target)?;
    sync_parent(target)
}

/// Removes `path` and makes the removal durable.
pub fn remove_durably(path: &Path) -> io::Result<()> {
    fs::remove_file(path)?;
    sync_parent(path)
}

/// Fsyncs the directory holding `path`.
pub fn sync_parent(path: &Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(parent)?.sync_all()
}

/// Creates `dir` (and parents) and fsyncs its parent so it survives a crash.
pub fn create_dir_durably(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    sync_parent(dir)
}

/// Deletes temporary files left in `dir` by writes a crash interrupted;
/// returns how many were removed.
pub fn remove_temp_files(dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if is_temp_file(&path) && path.is_file() {
            fs::remove_file(&path)?;
            removed += 1;
        }
    }
    if removed > 0 {
        File::open(dir)?.sync_all()?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_contents_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.json");
        write_atomic(&target, b"one").unwrap();
        write_atomic(&target, b"two").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.json")]);
    }

    #[test]
    fn interrupted_write_leaves_old_contents_and_is_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.json");
        write_atomic(&target, b"old").unwrap();
        // A crash between writing the temp file and the rename.
        let temp = temp_path(&target);
        fs::write(&temp, b"half").unwrap();
        assert!(is_temp_file(&temp));
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert_eq!(remove_temp_files(dir.path()).unwrap(), 1);
        assert!(!temp.exists());
        assert!(target.exists());
    }

    #[test]
    fn a_data_directory_is_claimed_once() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock_dir(dir.path()).unwrap();
        let second = lock_dir(dir.path()).err().unwrap();
        assert!(
            second
                .to_string()
                .contains("in use by another gamay process"),
            "{second}"
        );
        drop(first);
        assert!(lock_dir(dir.path()).is_ok());
    }

    #[test]
    fn ordinary_files_are_not_temp_files() {
        assert!(!is_temp_file(Path::new("/x/a.json")));
        assert!(!is_temp_file(Path::new("/x/.hidden")));
        assert!(is_temp_file(Path::new("/x/.a.json.tmp-1-2")));
    }
}

/// An exclusive claim on a data directory, held for the life of a process
/// that writes it (`gamay serve`, `gamay ingest`), so two never write at once.
pub struct DirLock {
    _file: File,
}

/// Why a data directory could not be claimed.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("the data directory {} is in use by another gamay process (a running server?)", dir.display())]
    Busy { dir: PathBuf },
    #[error("cannot lock the data directory {}: {source}", dir.display())]
    Io {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Claims `dir` (creating it if needed) through the lock file `dir/LOCK`.
pub fn lock_dir(dir: &Path) -> Result<DirLock, LockError> {
    let io_error = |source| LockError::Io {
        dir: dir.to_path_buf(),
        source,
    };
    fs::create_dir_all(dir).map_err(io_error)?;
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("LOCK"))
        .map_err(io_error)?;
    match file.try_lock() {
        Ok(()) => Ok(DirLock { _file: file }),
        Err(fs::TryLockError::WouldBlock) => Err(LockError::Busy {
            dir: dir.to_path_buf(),
        }),
        Err(fs::TryLockError::Error(source)) => Err(io_error(source)),
    }
}
