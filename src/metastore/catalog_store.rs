//! The catalog kept in the metastore: [`MetastoreCatalogStore`] is the
//! catalog's synchronous [`CatalogStore`] over an async [`Metastore`], so
//! every node of a cluster opens its `Catalog` on the same entries and
//! calls `Catalog::reload` when the metastore's change counter moves.
//!
//! Threading: the catalog is called from tokio tasks and from
//! `spawn_blocking` threads. Blocking on the caller's own runtime there
//! (`Handle::block_on`) panics or stalls it, so the adapter owns a small
//! runtime of its own: one thread, `gamay-catalog-store`, driving a
//! current-thread runtime. Each call spawns the metastore's future there
//! and waits for its answer on a std channel: the caller's thread blocks
//! (as it would on the file store's fsync), its runtime is never entered.
//!
//! The metastore's connections stay on the runtime that opened them
//! ([`super::postgres::PgMetastore`] drives them there), so that runtime
//! must keep running while a caller waits: call the catalog from
//! `spawn_blocking` or a multi-thread runtime's worker, never from the
//! single thread of a current-thread runtime that also drives the
//! metastore. Each call is bounded by [`CALL_TIMEOUT`].

use std::future::Future;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use serde_json::Value;
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::{CatalogEntry, CatalogKind, Metastore};
use crate::catalog::{self, CatalogStore, Kind, Origin, StoredEntry};

/// The longest a catalog call waits on the metastore: far above a healthy
/// metastore's few milliseconds, short enough that an API call fails with
/// a reason instead of hanging on an unreachable database.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The catalog's entries in a [`Metastore`].
pub struct MetastoreCatalogStore {
    metastore: Arc<dyn Metastore>,
    runtime: Handle,
    /// Dropped with the store, which ends the runtime's thread.
    _stop: oneshot::Sender<()>,
}

fn failed(action: &str, reason: impl ToString) -> catalog::Error {
    catalog::Error::Store {
        action: action.to_string(),
        reason: reason.to_string(),
    }
}

fn kind_of(kind: Kind) -> CatalogKind {
    match kind {
        Kind::Schema => CatalogKind::Schema,
        Kind::Table => CatalogKind::Table,
    }
}

impl MetastoreCatalogStore {
    /// Starts the adapter's runtime thread.
    pub fn new(metastore: Arc<dyn Metastore>) -> Result<MetastoreCatalogStore, catalog::Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| failed("start its runtime", err))?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("gamay-catalog-store".into())
            .spawn(move || {
                runtime.block_on(async {
                    // Resolves, with an error, when the sender is dropped.
                    let _ = stopped.await;
                });
            })
            .map_err(|err| failed("start its thread", err))?;
        Ok(MetastoreCatalogStore {
            metastore,
            runtime: handle,
            _stop: stop,
        })
    }

    /// Runs `call` on the adapter's runtime and waits for its answer.
    fn call<T, F>(&self, action: &str, call: F) -> Result<T, catalog::Error>
    where
        T: Send + 'static,
        F: Future<Output = super::Result<T>> + Send + 'static,
    {
        let (answer, answered) = mpsc::sync_channel(1);
        self.runtime.spawn(async move {
            // The caller waits for this send; if it is gone, so is the answer.
            let _ = answer.send(tokio::time::timeout(CALL_TIMEOUT, call).await);
        });
        match answered.recv() {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(err))) => Err(failed(action, err)),
            Ok(Err(_)) => Err(failed(
                action,
                format!(
                    "the metastore did not answer within {} s",
                    CALL_TIMEOUT.as_secs()
                ),
            )),
            Err(_) => Err(failed(action, "the catalog store's runtime stopped")),
        }
    }
}

impl CatalogStore for MetastoreCatalogStore {
    fn load(&self, kind: Kind) -> Result<Vec<StoredEntry>, catalog::Error> {
        let metastore = self.metastore.clone();
        let entries = self.call("read the catalog", async move { metastore.catalog().await })?;
        let kind = kind_of(kind);
        let mut stored: Vec<StoredEntry> = entries
            .into_iter()
            .filter(|entry| entry.kind == kind)
            .map(|entry| StoredEntry {
                origin: Origin::Other(format!(
                    "{} `{}` in the metastore",
                    kind.as_str(),
                    entry.name
                )),
                name: entry.name,
                bytes: entry.json.into_bytes(),
            })
            .collect();
        stored.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(stored)
    }

    fn write(&self, kind: Kind, name: &str, json: &Value) -> Result<(), catalog::Error> {
        // As the file store writes it, so an entry reads the same from both.
        let json = serde_json::to_string_pretty(json)
            .map_err(|err| failed("encode a catalog entry", err))?;
        let entry = CatalogEntry {
            kind: kind_of(kind),
            name: name.to_string(),
            json,
        };
        let metastore = self.metastore.clone();
        self.call("store a catalog entry", async move {
            metastore.put_catalog(&entry).await
        })
    }

    fn remove(&self, kind: Kind, name: &str) -> Result<(), catalog::Error> {
        let (kind, name) = (kind_of(kind), name.to_string());
        let metastore = self.metastore.clone();
        self.call("remove a catalog entry", async move {
            metastore.remove_catalog(kind, &name).await
        })
    }
}

#[cfg(test)]
mod tests;
