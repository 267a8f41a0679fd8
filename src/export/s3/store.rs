//! The object store an S3 sink writes to, through the object_store crate:
//! a local directory for `store.url=file:///dir` (the bucket a directory
//! in it), an S3-compatible server for `http(s)://` URLs (path-style by
//! default), AWS S3 otherwise. Credentials come from the connector's keys
//! or the standard AWS environment variables. Objects are published with
//! a conditional put, so an object is never replaced. A local directory
//! also gets the partial files a crash left mid-write removed before the
//! same objects are written again, so readers of the directory (Spark
//! reads every file that does not start with `.` or `_`) never see them.
//!
//! A local directory must lie inside one of the server's file store roots
//! (`--file-store-root`, by default `<data-dir>/lake`), checked with symlinks
//! resolved when a connector is created and again each time its store
//! opens: anyone who may create a connector could otherwise write files
//! anywhere the server can.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::{AmazonS3Builder, S3ConditionalPut};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use super::error::{Error, Result};
use super::S3Config;
use crate::export::config::resolve_secret;

/// The directories `file://` stores may write in, resolved.
#[derive(Debug, Clone, Default)]
pub struct FileStoreRoots {
    roots: Vec<PathBuf>,
}

impl FileStoreRoots {
    /// Creates the roots that are missing and resolves them.
    pub fn open(roots: &[PathBuf]) -> Result<FileStoreRoots> {
        let mut resolved = Vec::with_capacity(roots.len());
        for root in roots {
            std::fs::create_dir_all(root).map_err(|source| Error::CreateRoot {
                path: root.clone(),
                source,
            })?;
            let canonical = std::fs::canonicalize(root).map_err(|source| Error::ResolveRoot {
                path: root.clone(),
                source,
            })?;
            resolved.push(canonical);
        }
        Ok(FileStoreRoots { roots: resolved })
    }

    /// The directory of a `file://` store's bucket, checked to lie inside a
    /// root (`None` for other stores). The directory need not exist yet.
    pub fn confine(&self, config: &S3Config) -> Result<Option<PathBuf>> {
        let Some(url) = config.store_url.as_deref() else {
            return Ok(None);
        };
        let Some(dir) = url.strip_prefix("file://") else {
            return Ok(None);
        };
        let path = Path::new(dir);
        if !path.is_absolute() {
            return Err(Error::RelativeStore {
                url: url.to_string(),
            });
        }
        if path.components().any(|part| part == Component::ParentDir) {
            return Err(Error::ParentDirStore {
                url: url.to_string(),
            });
        }
        let bucket_dir = resolve(&path.join(&config.bucket))?;
        if self.roots.iter().any(|root| bucket_dir.starts_with(root)) {
            return Ok(Some(bucket_dir));
        }
        let roots: Vec<String> = self
            .roots
            .iter()
            .map(|root| root.display().to_string())
            .collect();
        Err(Error::OutsideRoots {
            url: url.to_string(),
            roots: if roots.is_empty() {
                "none".to_string()
            } else {
                roots.join(", ")
            },
            dir: dir.to_string(),
        })
    }
}

/// `path` with symlinks resolved: its longest existing ancestor made
/// canonical, then the components that do not exist yet.
fn resolve(path: &Path) -> Result<PathBuf> {
    let mut existing = path;
    let mut missing = Vec::new();
    loop {
        match std::fs::canonicalize(existing) {
            Ok(mut resolved) => {
                for part in missing.iter().rev() {
                    resolved.push(part);
                }
                return Ok(resolved);
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                match (existing.parent(), existing.file_name()) {
                    (Some(parent), Some(name)) => {
                        missing.push(name.to_os_string());
                        existing = parent;
                    }
                    _ => {
                        return Err(Error::Resolve {
                            path: path.to_path_buf(),
                            source: err,
                        })
                    }
                }
            }
            Err(source) => {
                return Err(Error::Resolve {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
}

/// Opens the store `config` names; a local directory must be inside `roots`.
pub fn open(config: &S3Config, roots: &FileStoreRoots) -> Result<Arc<dyn ObjectStore>> {
    if let Some(root) = roots.confine(config)? {
        std::fs::create_dir_all(&root).map_err(|source| Error::CreateDir {
            path: root.clone(),
            source,
        })?;
        // Checked again now that it exists: a symlink placed on the way
        // since the connector was created must not lead elsewhere.
        let root = match roots.confine(config)? {
            Some(checked) if checked == root => checked,
            _ => return Err(Error::Moved { path: root }),
        };
        let store = LocalFileSystem::new_with_prefix(&root).map_err(|source| Error::OpenDir {
            path: root.clone(),
            source,
        })?;
        return Ok(Arc::new(store));
    }
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(&config.bucket)
        .with_region(&config.region)
        .with_conditional_put(S3ConditionalPut::ETagMatch)
        .with_virtual_hosted_style_request(!config.path_style);
    if let Some(url) = &config.store_url {
        builder = builder
            .with_endpoint(url.trim_end_matches('/'))
            .with_allow_http(url.starts_with("http://"));
    }
    if let Some(key) = &config.access_key_id {
        builder = builder.with_access_key_id(resolve_secret(key)?);
    }
    if let Some(secret) = &config.secret_access_key {
        builder = builder.with_secret_access_key(resolve_secret(secret)?);
    }
    let store = builder.build().map_err(|source| Error::Bucket {
        bucket: config.bucket.clone(),
        source,
    })?;
    Ok(Arc::new(store))
}

/// The directory the bucket of a `file://` store is, if it is one.
pub fn local_root(config: &S3Config) -> Option<std::path::PathBuf> {
    let dir = config.store_url.as_deref()?.strip_prefix("file://")?;
    Some(std::path::Path::new(dir).join(&config.bucket))
}

/// Removes what an interrupted write of one of `keys` left under `root`:
/// the local store writes `<key>#<n>` and renames it into place, so such a
/// file is a partial object. Returns how many were removed.
pub fn remove_partial_writes<'a>(
    root: &std::path::Path,
    keys: impl IntoIterator<Item = &'a str>,
) -> Result<usize> {
    let mut by_dir: std::collections::BTreeMap<std::path::PathBuf, Vec<String>> =
        std::collections::BTreeMap::new();
    for key in keys {
        if !Path::new(key)
            .components()
            .all(|part| matches!(part, Component::Normal(_)))
        {
            return Err(Error::KeySegments {
                key: key.to_string(),
            });
        }
        let path = root.join(key);
        if let (Some(dir), Some(name)) = (path.parent(), path.file_name()) {
            by_dir
                .entry(dir.to_path_buf())
                .or_default()
                .push(format!("{}#", name.to_string_lossy()));
        }
    }
    let mut removed = 0;
    for (dir, prefixes) in by_dir {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let partial = prefixes.iter().any(|prefix| {
                name.strip_prefix(prefix.as_str())
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            });
            if partial {
                let path = entry.path();
                std::fs::remove_file(&path).map_err(|source| Error::RemovePartial {
                    path: path.clone(),
                    source,
                })?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// What a conditional put found.
#[derive(Debug, PartialEq, Eq)]
pub enum Published {
    /// This call wrote the object.
    Written,
    /// An earlier attempt already wrote this object, with the same size.
    AlreadyThere,
}

/// Writes `bytes` at `key` unless an object is there. An object already
/// there with the same bytes is an earlier attempt's output (names and
/// contents are deterministic); any other object there is an error, and it
/// is left as it is.
pub async fn publish(store: &dyn ObjectStore, key: &str, bytes: Bytes) -> Result<Published> {
    // The key's segments are already encoded (Hive values are URI-encoded):
    // `parse` keeps them as they are, where `from` would encode `%` again.
    let location = ObjectPath::parse(key).map_err(|source| Error::Key {
        key: key.to_string(),
        source,
    })?;
    let options = PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    match store
        .put_opts(&location, PutPayload::from_bytes(bytes.clone()), options)
        .await
    {
        Ok(_) => Ok(Published::Written),
        Err(object_store::Error::AlreadyExists { .. }) => {
            let existing = match store.get(&location).await {
                Ok(found) => found.bytes().await,
                Err(err) => Err(err),
            }
            .map_err(|source| Error::ReadBack {
                key: key.to_string(),
                source,
            })?;
            if existing == bytes {
                Ok(Published::AlreadyThere)
            } else {
                Err(Error::OtherContents {
                    key: key.to_string(),
                    existing: existing.len(),
                    written: bytes.len(),
                })
            }
        }
        Err(source) => Err(Error::Write {
            key: key.to_string(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_keep_their_encoding_and_replays_compare_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalFileSystem::new_with_prefix(dir.path()).unwrap();
        let key = "t/symbol=a%20b%2Fc/f+0000.json";
        let first = publish(&store, key, Bytes::from_static(b"one")).await;
        assert_eq!(first.ok(), Some(Published::Written));
        assert!(dir.path().join("t/symbol=a%20b%2Fc/f+0000.json").exists());
        let again = publish(&store, key, Bytes::from_static(b"one")).await;
        assert_eq!(again.ok(), Some(Published::AlreadyThere));
        let other = publish(&store, key, Bytes::from_static(b"two")).await;
        assert!(other.unwrap_err().to_string().contains("other contents"));
        assert!(publish(&store, "t//x", Bytes::new()).await.is_err());
    }

    #[test]
    fn only_partial_writes_of_the_given_keys_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let hour = dir.path().join("t/hour=01");
        std::fs::create_dir_all(&hour).unwrap();
        for name in [
            "a.parquet",
            "a.parquet#1",
            "a.parquet#x",
            "b.parquet#2",
            "c.parquet#3",
        ] {
            std::fs::write(hour.join(name), b"x").unwrap();
        }
        let keys = [
            "t/hour=01/a.parquet",
            "t/hour=01/b.parquet",
            "t/none/d.parquet",
        ];
        let removed = remove_partial_writes(dir.path(), keys).unwrap();
        assert_eq!(removed, 2);
        let mut left: Vec<String> = std::fs::read_dir(&hour)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        left.sort();
        assert_eq!(left, ["a.parquet", "a.parquet#x", "c.parquet#3"]);
    }

    fn s3_config(url: &str) -> S3Config {
        let raw: std::collections::BTreeMap<String, String> = [
            ("connector.class", "s3"),
            ("tables", "t"),
            ("s3.bucket.name", "exports"),
            ("store.url", url),
            ("flush.size", "10"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        match crate::export::config::parse("c", raw).map(|c| c.sink) {
            Ok(crate::export::config::Sink::S3(config)) => *config,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn file_stores_are_confined_to_the_roots() {
        let base = tempfile::tempdir().unwrap();
        let lake = base.path().join("lake");
        let outside = base.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        let roots = FileStoreRoots::open(std::slice::from_ref(&lake)).unwrap();
        let lake = std::fs::canonicalize(&lake).unwrap();

        let inside = s3_config(&format!("file://{}/a/b", lake.display()));
        assert_eq!(
            roots.confine(&inside).unwrap(),
            Some(lake.join("a/b/exports"))
        );
        assert!(open(&inside, &roots).is_ok());
        assert!(lake.join("a/b/exports").is_dir());

        for url in [
            format!("file://{}", outside.display()),
            "file:///etc".to_string(),
            format!("file://{}/../outside", lake.display()),
            "file://relative/dir".to_string(),
        ] {
            let err = roots.confine(&s3_config(&url)).unwrap_err().to_string();
            assert!(err.contains(&url), "{url}: {err}");
            assert!(open(&s3_config(&url), &roots).is_err(), "{url}");
        }
        assert!(!outside.join("exports").exists());

        // A symlink inside the root that leads out of it is followed, and refused.
        std::os::unix::fs::symlink(&outside, lake.join("escape")).unwrap();
        let url = format!("file://{}/escape", lake.display());
        let err = roots.confine(&s3_config(&url)).unwrap_err().to_string();
        assert!(err.contains("--file-store-root"), "{err}");
        assert!(open(&s3_config(&url), &roots).is_err());
        assert!(!outside.join("exports").exists());

        // S3 endpoints are not directories.
        let s3 = s3_config("http://127.0.0.1:9000");
        assert_eq!(roots.confine(&s3).unwrap(), None);
    }

    #[test]
    fn partial_writes_never_leave_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let err = remove_partial_writes(dir.path(), ["../x/a.parquet"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a valid object key"), "{err}");
    }
}
