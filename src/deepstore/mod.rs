//! The deep store: where a cluster keeps every sealed segment file, so a
//! server's disk is only a cache. `s3://bucket/prefix` (credentials,
//! region and endpoint from the standard `AWS_*` variables) or
//! `file:///dir`. A segment lives under a deterministic name,
//! `<prefix>/<table>/<segment>`, written only if absent: an upload
//! repeated after a crash finds its own bytes and succeeds, anything else
//! there is an error and is left alone. Downloads land whole or not at all
//! (a temporary file, fsynced, renamed into place). Files past 64 MiB go
//! up in 16 MiB parts and every transfer streams (`transfer.rs`), so a
//! segment of any size costs a bounded amount of memory.

mod error;
mod transfer;

use std::path::{Component, Path};
use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::{AmazonS3Builder, S3ConditionalPut, S3CopyIfNotExists};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

pub use error::{Error, Result};
pub use transfer::checksum;

/// What an upload found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uploaded {
    /// This call wrote the object.
    Written,
    /// An earlier attempt wrote the same bytes.
    AlreadyThere,
}

/// Files up to this size go up in one request; larger ones in parts.
const SINGLE_PUT_MAX: u64 = 64 << 20;
/// The size of each part of a larger upload (S3 asks for at least 5 MiB).
const PART_SIZE: usize = 16 << 20;
/// Parts of one upload in flight at once.
const PARTS_IN_FLIGHT: usize = 2;

/// An open deep store.
pub struct DeepStore {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    url: String,
    /// Files up to this size go up in one conditional request.
    single_put_max: u64,
    part_size: usize,
}

impl DeepStore {
    /// Opens the store `url` names: `s3://bucket[/prefix]` or `file:///dir`
    /// (created if missing).
    pub fn open(url: &str) -> Result<DeepStore> {
        let bad = |reason: &str| Error::Url {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let (store, prefix): (Arc<dyn ObjectStore>, String) = if let Some(dir) =
            url.strip_prefix("file://")
        {
            let dir = Path::new(dir);
            if !dir.is_absolute() {
                return Err(bad(
                    "a file:// store needs an absolute directory, as in file:///var/lib/gamay/deep",
                ));
            }
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.to_path_buf(),
                source,
            })?;
            let store = LocalFileSystem::new_with_prefix(dir).map_err(|source| Error::Store {
                what: format!("open {}", dir.display()),
                source,
            })?;
            (Arc::new(store), String::new())
        } else if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(bad(
                    "an s3:// store needs a bucket, as in s3://bucket/prefix",
                ));
            }
            let store = build_s3(AmazonS3Builder::from_env(), bucket)?;
            (Arc::new(store), prefix.trim_matches('/').to_string())
        } else {
            return Err(bad("the deep store is s3://bucket/prefix or file:///dir"));
        };
        Ok(DeepStore {
            store,
            prefix,
            url: url.trim_end_matches('/').to_string(),
            single_put_max: SINGLE_PUT_MAX,
            part_size: PART_SIZE,
        })
    }

    /// Opens an S3 store at `endpoint` (a local S3 server) with the given
    /// credentials, for `s3://bucket/prefix`.
    pub fn open_s3_at(
        endpoint: &str,
        bucket: &str,
        prefix: &str,
        key: &str,
        secret: &str,
    ) -> Result<DeepStore> {
        let builder = AmazonS3Builder::new()
            .with_region("us-east-1")
            .with_endpoint(endpoint.trim_end_matches('/'))
            .with_allow_http(endpoint.starts_with("http://"))
            .with_access_key_id(key)
            .with_secret_access_key(secret);
        let prefix = prefix.trim_matches('/');
        Ok(DeepStore {
            store: Arc::new(build_s3(builder, bucket)?),
            prefix: prefix.to_string(),
            url: format!("s3://{bucket}/{prefix}")
                .trim_end_matches('/')
                .to_string(),
            single_put_max: SINGLE_PUT_MAX,
            part_size: PART_SIZE,
        })
    }

    /// The object a table's segment is stored as.
    fn location(&self, table: &str, segment: &str) -> Result<ObjectPath> {
        for name in [table, segment] {
            let plain = !name.is_empty()
                && Path::new(name)
                    .components()
                    .all(|part| matches!(part, Component::Normal(_)))
                && !name.contains('/');
            if !plain {
                return Err(Error::Name(name.to_string()));
            }
        }
        let key = if self.prefix.is_empty() {
            format!("{table}/{segment}")
        } else {
            format!("{}/{table}/{segment}", self.prefix)
        };
        ObjectPath::parse(&key).map_err(|_| Error::Name(key))
    }

    /// The URI a table's segment has in this store.
    pub fn uri(&self, table: &str, segment: &str) -> Result<String> {
        self.location(table, segment)?;
        Ok(format!("{}/{table}/{segment}", self.url))
    }

    /// Uploads the segment file at `file` as `table`'s `segment`, unless an
    /// earlier attempt already stored the same bytes. A file past
    /// `single_put_max` goes up in parts, read a part at a time.
    pub async fn upload(&self, table: &str, segment: &str, file: &Path) -> Result<Uploaded> {
        let location = self.location(table, segment)?;
        let size = tokio::fs::metadata(file)
            .await
            .map_err(|source| Error::Io {
                path: file.to_path_buf(),
                source,
            })?
            .len();
        if size > self.single_put_max {
            return transfer::upload_in_parts(self, &location, file, size).await;
        }
        let bytes = Bytes::from(tokio::fs::read(file).await.map_err(|source| Error::Io {
            path: file.to_path_buf(),
            source,
        })?);
        let options = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .store
            .put_opts(&location, PutPayload::from_bytes(bytes.clone()), options)
            .await
        {
            Ok(_) => Ok(Uploaded::Written),
            Err(object_store::Error::AlreadyExists { .. }) => {
                let existing = self.read(&location).await?;
                if existing == bytes {
                    Ok(Uploaded::AlreadyThere)
                } else {
                    Err(Error::OtherContents {
                        key: location.to_string(),
                        existing: existing.len(),
                        uploaded: bytes.len(),
                    })
                }
            }
            Err(source) => Err(Error::Store {
                what: format!("write {location}"),
                source,
            }),
        }
    }

    async fn read(&self, location: &ObjectPath) -> Result<Bytes> {
        let read = match self.store.get(location).await {
            Ok(found) => found.bytes().await,
            Err(err) => Err(err),
        };
        read.map_err(|source| match source {
            object_store::Error::NotFound { .. } => Error::Missing(location.to_string()),
            source => Error::Store {
                what: format!("read {location}"),
                source,
            },
        })
    }

    /// Downloads `table`'s `segment` to `dest`, which holds the whole file
    /// or is left as it was. The object is written as it arrives, never
    /// held whole in memory.
    pub async fn download(&self, table: &str, segment: &str, dest: &Path) -> Result<()> {
        let location = self.location(table, segment)?;
        transfer::download_to(self, &location, dest, None).await
    }

    /// [`Self::download`], checked against the size and CRC-32C its record
    /// has: other bytes are [`Error::Corrupt`] and `dest` is left as it was.
    pub async fn download_checked(
        &self,
        table: &str,
        segment: &str,
        dest: &Path,
        size: u64,
        crc: u32,
    ) -> Result<()> {
        let location = self.location(table, segment)?;
        transfer::download_to(self, &location, dest, Some((size, crc))).await
    }
}

impl DeepStore {
    /// Deletes `table`'s `segment`; one already gone is not an error.
    pub async fn delete(&self, table: &str, segment: &str) -> Result<()> {
        let location = self.location(table, segment)?;
        match self.store.delete(&location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(Error::Store {
                what: format!("delete {location}"),
                source,
            }),
        }
    }

    /// Whether `table`'s `segment` is in the store.
    pub async fn exists(&self, table: &str, segment: &str) -> Result<bool> {
        let location = self.location(table, segment)?;
        match self.store.head(&location).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(source) => Err(Error::Store {
                what: format!("look up {location}"),
                source,
            }),
        }
    }
}

/// An S3 store of `bucket` with conditional puts, so a segment is written
/// only where none is.
fn build_s3(builder: AmazonS3Builder, bucket: &str) -> Result<object_store::aws::AmazonS3> {
    builder
        .with_bucket_name(bucket)
        .with_conditional_put(S3ConditionalPut::ETagMatch)
        // A large segment goes up under a staging name and is copied into
        // place only where none is (a multipart copy completed with
        // If-None-Match), as a small one is put.
        .with_copy_if_not_exists(S3CopyIfNotExists::Multipart)
        .build()
        .map_err(|source| Error::Store {
            what: format!("open the bucket {bucket}"),
            source,
        })
}

#[cfg(test)]
mod tests;
