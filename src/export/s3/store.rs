//! The object store an S3 sink writes to, through the object_store crate:
//! a local directory for `store.url=file:///dir` (the bucket a directory
//! in it), an S3-compatible server for `http(s)://` URLs (path-style by
//! default), AWS S3 otherwise. Credentials come from the connector's keys
//! or the standard AWS environment variables. Objects are published with
//! a conditional put, so an object is never replaced. A local directory
//! also gets the partial files a crash left mid-write removed before the
//! same objects are written again, so readers of the directory (Spark
//! reads every file that does not start with `.` or `_`) never see them.

use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::{AmazonS3Builder, S3ConditionalPut};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use super::S3Config;
use crate::export::config::resolve_secret;

/// Opens the store `config` names.
pub fn open(config: &S3Config) -> Result<Arc<dyn ObjectStore>, String> {
    if let Some(root) = local_root(config) {
        std::fs::create_dir_all(&root)
            .map_err(|err| format!("cannot create {}: {err}", root.display()))?;
        let store = LocalFileSystem::new_with_prefix(&root)
            .map_err(|err| format!("cannot open {}: {err}", root.display()))?;
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
    let store = builder
        .build()
        .map_err(|err| format!("cannot reach bucket `{}`: {err}", config.bucket))?;
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
) -> Result<usize, String> {
    let mut by_dir: std::collections::BTreeMap<std::path::PathBuf, Vec<String>> =
        std::collections::BTreeMap::new();
    for key in keys {
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
                std::fs::remove_file(&path).map_err(|err| {
                    format!("cannot remove the partial write {}: {err}", path.display())
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
pub async fn publish(
    store: &dyn ObjectStore,
    key: &str,
    bytes: Bytes,
) -> Result<Published, String> {
    // The key's segments are already encoded (Hive values are URI-encoded):
    // `parse` keeps them as they are, where `from` would encode `%` again.
    let location = ObjectPath::parse(key)
        .map_err(|err| format!("`{key}` is not a valid object key: {err}"))?;
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
            .map_err(|err| format!("{key} exists but cannot be read back: {err}"))?;
            if existing == bytes {
                Ok(Published::AlreadyThere)
            } else {
                Err(format!(
                    "{key} already exists with other contents ({} bytes where this export writes {}); it was not written by this connector with its current settings, so it is left alone (move it away or change topics.dir)",
                    existing.len(),
                    bytes.len()
                ))
            }
        }
        Err(err) => Err(format!("cannot write {key}: {err}")),
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
        assert_eq!(first, Ok(Published::Written));
        assert!(dir.path().join("t/symbol=a%20b%2Fc/f+0000.json").exists());
        let again = publish(&store, key, Bytes::from_static(b"one")).await;
        assert_eq!(again, Ok(Published::AlreadyThere));
        let other = publish(&store, key, Bytes::from_static(b"two")).await;
        assert!(other.unwrap_err().contains("other contents"));
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
}
