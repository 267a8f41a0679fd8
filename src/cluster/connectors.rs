//! Export connectors in a cluster: their configs and state live in the
//! metastore, every node mirrors them (so any node answers Kafka Connect's
//! API), and each connector's job runs on one server at a time, the holder
//! of the connector's lease (the partition lease of a reserved key, with
//! its fencing epoch). A job reads sealed segments from the segment records
//! and the deep store (or this server's copy when it holds one) and records
//! its watermark and status in the metastore, renewing its lease first: a
//! node that lost the lease records nothing. When the holder dies its lease
//! lapses and another server resumes from the recorded watermark within the
//! lease timeout; what the dead one wrote after its last record is written
//! again identically (deterministic S3 object names) or skipped (the JDBC
//! sink's watermark in the target), so each row still lands once.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use roaring::RoaringBitmap;

use super::Cluster;
use crate::catalog::TableConfig;
use crate::export::registry::{SharedConfigs, SharedRecord, Shown};
use crate::export::{self, Connectors, Sealed, SegmentSource, StateStore, Status};
use crate::metastore::{Commit, Lease, Metastore, SegmentState};
use crate::segment::ImmutableSegment;
use crate::server::Server;
use crate::sync::Recover;

/// The lease partition of a connector: Kafka partitions are never
/// negative, so a connector's key never meets a table's.
const LEASE_PARTITION: i32 = -1;

/// How often a status that changed only in its lag is recorded.
const LAG_EVERY: Duration = Duration::from_secs(5);

/// The lease key of connector `name`.
pub fn lease_key(name: &str) -> String {
    format!("connector:{name}")
}

/// Connector configs in the metastore.
pub struct MetastoreConfigs {
    pub metastore: Arc<dyn Metastore>,
}

#[async_trait]
impl SharedConfigs for MetastoreConfigs {
    async fn put(&self, name: &str, stored: &str) -> Result<(), String> {
        self.metastore
            .put_connector(name, stored)
            .await
            .map_err(|err| err.to_string())
    }

    async fn create(&self, name: &str, stored: &str) -> Result<bool, String> {
        self.metastore
            .create_connector(name, stored)
            .await
            .map_err(|err| err.to_string())
    }

    async fn get(&self, name: &str) -> Result<Option<String>, String> {
        let connectors = self
            .metastore
            .connectors()
            .await
            .map_err(|err| err.to_string())?;
        Ok(connectors
            .into_iter()
            .find(|record| record.name == name)
            .map(|record| record.config))
    }

    async fn remove(&self, name: &str) -> Result<bool, String> {
        self.metastore
            .remove_connector(name)
            .await
            .map_err(|err| err.to_string())
    }
}

/// Follows the metastore's connectors on this node: mirrors them into
/// `connectors` and, on a server, runs those whose lease it holds or wins,
/// downloading the segments they read under `data_dir`.
pub fn follow(
    cluster: &Arc<Cluster>,
    connectors: Arc<Connectors>,
    server: Arc<Server>,
    data_dir: &std::path::Path,
) {
    let cluster_ref = cluster.clone();
    let cache = data_dir.join("connectors").join("segments");
    cluster.spawn(async move {
        let cluster = cluster_ref;
        let mut changes = cluster.metastore.changes();
        let mut held: BTreeMap<String, Arc<Leased>> = BTreeMap::new();
        // Renewed well inside the lease, so a live holder never lapses.
        let renew = cluster.lease_timeout / 3;
        loop {
            if let Err(err) = round(&cluster, &connectors, &server, &cache, &mut held).await {
                tracing::warn!(error = %err, "following the cluster's connectors failed; retrying");
            }
            let _ = tokio::time::timeout(renew, super::next_change(&mut changes)).await;
        }
    });
}

/// One pass: mirror, then keep, win or give up leases.
async fn round(
    cluster: &Arc<Cluster>,
    connectors: &Arc<Connectors>,
    server: &Arc<Server>,
    cache: &std::path::Path,
    held: &mut BTreeMap<String, Arc<Leased>>,
) -> Result<(), String> {
    let generation = connectors.generation();
    let records = cluster
        .metastore
        .connectors()
        .await
        .map_err(|err| err.to_string())?;
    let shared: Vec<SharedRecord> = records
        .iter()
        .map(|record| SharedRecord {
            name: record.name.clone(),
            stored: record.config.clone(),
            state: record.state.clone(),
        })
        .collect();
    let mirror = connectors.clone();
    let current = tokio::task::spawn_blocking(move || mirror.sync_shared(&shared, generation))
        .await
        .map_err(|err| err.to_string())?;
    let runnable = if !cluster.role.serves() {
        Vec::new()
    } else if current {
        connectors.runnable()
    } else {
        // A mirror older than this node's own change: keep (and renew)
        // what runs here, start nothing until the next read.
        held.keys().cloned().collect()
    };
    // Give up what should not run here any more, and what was lost.
    let mut drop_here = Vec::new();
    for (name, leased) in held.iter() {
        let keep = runnable.contains(name)
            && cluster
                .metastore
                .renew_lease(&leased.lease())
                .await
                .unwrap_or(false);
        if !keep {
            drop_here.push(name.clone());
        }
    }
    for name in drop_here {
        if let Some(leased) = held.remove(&name) {
            halt(connectors, &name).await;
            // Downloads a stopped job left behind.
            let _ = tokio::fs::remove_dir_all(cache.join(&name)).await;
            if runnable.contains(&name) {
                tracing::warn!(connector = %name, "lost the connector's lease; another node runs it");
            } else if let Err(err) = cluster.metastore.release_lease(&leased.lease()).await {
                tracing::warn!(connector = %name, error = %err, "could not release a connector's lease");
            }
        }
    }
    // Win the free ones, and (re)start what is held but not running.
    for name in runnable {
        if !held.contains_key(&name) {
            let granted = cluster
                .metastore
                .acquire_lease(
                    &lease_key(&name),
                    LEASE_PARTITION,
                    &cluster.node.id,
                    cluster.lease_timeout,
                )
                .await
                .map_err(|err| err.to_string())?;
            let Some(lease) = granted else {
                continue;
            };
            tracing::info!(connector = %name, epoch = lease.epoch, "running the connector here");
            held.insert(
                name.clone(),
                Arc::new(Leased {
                    cluster: cluster.clone(),
                    name: name.clone(),
                    lease: Mutex::new(lease),
                    last: Mutex::new(None),
                }),
            );
        }
        if connectors.runs_here(&name) {
            continue;
        }
        let Some(leased) = held.get(&name) else {
            continue;
        };
        let state = records
            .iter()
            .find(|record| record.name == name)
            .and_then(|record| record.state.as_deref())
            .and_then(|text| serde_json::from_str::<Shown>(text).ok())
            .map(|shown| shown.status.state)
            .unwrap_or_default();
        // A job starting here finds no download of an earlier one.
        let _ = tokio::fs::remove_dir_all(cache.join(&name)).await;
        let segments = Arc::new(DeepStoreSegments {
            cluster: cluster.clone(),
            server: server.clone(),
            cache: cache.join(&name),
            changes: cluster.metastore.changes(),
            listed: Mutex::default(),
        });
        let (runner, name, store) = (connectors.clone(), name.clone(), leased.clone());
        // Starting a job may wait for an old one to stop.
        tokio::task::spawn_blocking(move || runner.run_here(&name, state, segments, store))
            .await
            .map_err(|err| err.to_string())?;
    }
    Ok(())
}

async fn halt(connectors: &Arc<Connectors>, name: &str) {
    let (connectors, name) = (connectors.clone(), name.to_string());
    let _ = tokio::task::spawn_blocking(move || connectors.halt(&name)).await;
}

/// A connector's lease as its job holds it: where the job records its
/// state, fenced by the lease.
struct Leased {
    cluster: Arc<Cluster>,
    name: String,
    lease: Mutex<Lease>,
    /// The status recorded last, and when.
    last: Mutex<Option<(Status, Instant)>>,
}

impl Leased {
    fn lease(&self) -> Lease {
        self.lease.locked().clone()
    }

    /// Whether `status` differs enough from the last one recorded to be
    /// recorded now.
    fn worth_recording(&self, status: &Status) -> bool {
        let last = self.last.locked();
        let Some((recorded, at)) = last.as_ref() else {
            return true;
        };
        let without_lag = |status: &Status| Status {
            lag: None,
            ..status.clone()
        };
        if without_lag(recorded) != without_lag(status) {
            return true;
        }
        recorded.lag != status.lag && at.elapsed() >= LAG_EVERY
    }
}

#[async_trait]
impl StateStore for Leased {
    async fn save(&self, status: &Status, exported: bool) -> export::Result<()> {
        if !exported && !self.worth_recording(status) {
            return Ok(());
        }
        let metastore = &self.cluster.metastore;
        let held = metastore
            .renew_lease(&self.lease())
            .await
            .map_err(|err| export::Error::Cluster(err.to_string()))?;
        if !held {
            return Err(export::Error::LeaseLost(self.name.clone()));
        }
        let shown = Shown {
            worker: self.cluster.node.id.clone(),
            status: status.clone(),
        };
        let text =
            serde_json::to_string(&shown).map_err(|err| export::Error::Cluster(err.to_string()))?;
        let written = metastore
            .put_connector_state_leased(&self.lease(), &self.name, &text)
            .await
            .map_err(|err| export::Error::Cluster(err.to_string()))?;
        if written == Commit::Fenced {
            return Err(export::Error::LeaseLost(self.name.clone()));
        }
        *self.last.locked() = Some((status.clone(), Instant::now()));
        Ok(())
    }
}

/// Sealed segments as the metastore records them, read from this server's
/// copy when it holds one and from the deep store otherwise.
struct DeepStoreSegments {
    cluster: Arc<Cluster>,
    server: Arc<Server>,
    /// Where downloaded segments are kept while they are read.
    cache: PathBuf,
    /// The metastore's change counter: a table's listing is read again
    /// only when it moved (or `REFRESH` passed), not on every idle poll.
    changes: tokio::sync::watch::Receiver<u64>,
    listed: Mutex<HashMap<String, Listing>>,
}

/// A table's sealed segments, with the change count and the instant they
/// were read at.
type Listing = (u64, Instant, Vec<Sealed>);

#[async_trait]
impl SegmentSource for DeepStoreSegments {
    async fn sealed(&self, table: &str) -> export::Result<Vec<Sealed>> {
        let count = *self.changes.borrow();
        if let Some((at, read, sealed)) = self.listed.locked().get(table) {
            if *at == count && read.elapsed() < super::REFRESH {
                return Ok(sealed.clone());
            }
        }
        let records = self
            .cluster
            .metastore
            .segments(table)
            .await
            .map_err(|err| export::Error::Cluster(err.to_string()))?;
        let sealed = records
            .into_iter()
            .filter(|record| record.state == SegmentState::Online)
            .map(|record| Sealed {
                // A stream partition's segments go in sequence order, the
                // partitions taking turns (each one's first, then each
                // one's second, ...); uploads go in name order.
                order: (
                    super::stream::sequence(&record.segment).map_or(0, |n| n as i64),
                    i64::from(record.partition.unwrap_or(-1)),
                ),
                rows: record.rows.max(0) as u64,
                name: record.segment,
            })
            .collect::<Vec<_>>();
        let entry = (count, Instant::now(), sealed.clone());
        self.listed.locked().insert(table.to_string(), entry);
        Ok(sealed)
    }

    async fn open(&self, table: &str, segment: &str) -> export::Result<Arc<ImmutableSegment>> {
        if let Some(held) = self.server.table(table).and_then(|data| {
            data.segments()
                .iter()
                .find(|held| held.name() == segment)
                .cloned()
        }) {
            return Ok(held);
        }
        // A segment's name is its file's, before the extension.
        let dir = self.cache.join(table);
        let path = dir.join(format!("{segment}.{}", crate::server::SEGMENT_EXTENSION));
        let cluster_error = |err: String| export::Error::Cluster(err);
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|err| cluster_error(format!("{}: {err}", dir.display())))?;
        let record = self
            .cluster
            .metastore
            .segments(table)
            .await
            .map_err(|err| cluster_error(err.to_string()))?
            .into_iter()
            .find(|record| record.segment == segment)
            .ok_or_else(|| export::Error::SegmentGone {
                table: table.to_string(),
                segment: segment.to_string(),
            })?;
        self.cluster
            .deep_store
            .download_checked(
                table,
                segment,
                &path,
                record.size_bytes as u64,
                record.crc as u32,
            )
            .await
            .map_err(|err| cluster_error(format!("downloading from the deep store: {err}")))?;
        let opened = tokio::task::spawn_blocking(move || {
            let opened = ImmutableSegment::open(&path);
            // The open segment maps the file; the name can go now.
            let _ = std::fs::remove_file(&path);
            opened
        })
        .await
        .map_err(export::Error::ReadTask)?
        .map_err(|err| cluster_error(format!("opening the downloaded segment: {err}")))?;
        if opened.name() != segment {
            return Err(export::Error::Internal(
                "a downloaded segment opened under another name",
            ));
        }
        Ok(Arc::new(opened))
    }

    fn late_rows(
        &self,
        _table: &str,
        config: &TableConfig,
        segment: &ImmutableSegment,
    ) -> export::Result<Option<RoaringBitmap>> {
        // The server that sealed it recorded them in the segment.
        Ok(config
            .upsert()
            .map(|_| export::source::recorded_late_rows(segment)))
    }
}
