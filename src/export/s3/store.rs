//! The object store an S3 sink writes to, through the object_store crate:
//! a local directory for `store.url=file:///dir` (the bucket a directory
//! in it), an S3-compatible server for `http(s)://` URLs (path-style by
//! default), AWS S3 otherwise. Credentials come from the connector's keys
//! or the standard AWS environment variables. Objects are published with
//! a conditional put, so an object is never replaced.

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
    if let Some(dir) = config
        .store_url
        .as_deref()
        .and_then(|url| url.strip_prefix("file://"))
    {
        let root = std::path::Path::new(dir).join(&config.bucket);
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

/// What a conditional put found.
#[derive(Debug, PartialEq, Eq)]
pub enum Published {
    /// This call wrote the object.
    Written,
    /// An earlier attempt already wrote this object, with the same size.
    AlreadyThere,
}

/// Writes `bytes` at `key` unless an object is there. An object already
/// there with the same size is an earlier attempt's identical output (names
/// and contents are deterministic); any other object there is an error, and
/// it is left as it is.
pub async fn publish(
    store: &dyn ObjectStore,
    key: &str,
    bytes: Bytes,
) -> Result<Published, String> {
    let location = ObjectPath::from(key);
    let size = bytes.len() as u64;
    let options = PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    match store
        .put_opts(&location, PutPayload::from_bytes(bytes), options)
        .await
    {
        Ok(_) => Ok(Published::Written),
        Err(object_store::Error::AlreadyExists { .. }) => {
            let meta = store
                .head(&location)
                .await
                .map_err(|err| format!("{key} exists but cannot be read back: {err}"))?;
            if meta.size == size {
                Ok(Published::AlreadyThere)
            } else {
                Err(format!(
                    "{key} already exists with {} bytes where this export writes {size}; it was not written by this connector's current settings, so it is left alone (move it away or change topics.dir)",
                    meta.size
                ))
            }
        }
        Err(err) => Err(format!("cannot write {key}: {err}")),
    }
}
