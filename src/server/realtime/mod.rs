//! Real-time ingestion: each REALTIME table's Kafka partitions consumed into
//! consuming segments, sealed and committed with their offsets.
//!
//! ```text
//! Realtime ─ per table: supervisor thread (partition discovery, broker
//!            watermarks, retention) ─ per partition: consumer thread
//!            (partition.rs) ─► consuming MutableSegment ─► sealer thread
//!            (sealer.rs) ─► segment file + checkpoint, one manifest write
//! ```
//!
//! The API controls a table through [`Realtime`]: pause, resume, force
//! commit, status. Consumer threads never take the HTTP runtime's workers.

mod partition;
mod sealer;
mod shared;
pub mod status;
mod supervisor;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde::Serialize;

pub use shared::ConsumeFrom;
pub use status::{ConsumerState, IngestionCounters, PartitionStatus};

use self::shared::TableShared;
use super::{Error, Server, StreamCoordinator};
use crate::catalog::{parse_stream_config, Catalog, Schema, TableConfig, TableType};
use crate::ingest::decode::MessageDecoder;
use crate::ingest::transform::Compile;
use crate::segment::SegmentSpec;
use crate::sync::{Recover, RecoverRw};
use crate::upsert::{TableUpsert, UpsertSpec};

/// One table's consumption.
struct Running {
    shared: Arc<TableShared>,
    supervisor: Option<JoinHandle<()>>,
}

impl Running {
    fn stop(mut self) {
        self.shared.stop();
        if let Some(supervisor) = self.supervisor.take() {
            let _ = supervisor.join();
        }
    }
}

/// A table's consumption as the API reports it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TableIngestion {
    pub table: String,
    pub topic: String,
    pub paused: bool,
    pub partitions: Vec<PartitionStatus>,
    /// Consuming segments (including ones being sealed).
    pub consuming_segments: Vec<String>,
    #[serde(flatten)]
    pub counters: IngestionCounters,
}

/// A force commit: the segments it sealed, and those not committed yet.
#[derive(Debug, Clone)]
pub struct ForceCommitStatus {
    pub table: String,
    pub segments: Vec<String>,
    pub pending: Vec<String>,
}

/// Every REALTIME table's consumers in this process.
pub struct Realtime {
    server: Arc<Server>,
    /// Compiles the tables' ingestion transforms and filters (the query
    /// engine's compiler, handed down by the application).
    compile: Compile,
    tables: Mutex<BTreeMap<String, Running>>,
    /// Force commit jobs by id: the table and the segments asked to seal.
    jobs: Mutex<BTreeMap<String, (String, Vec<String>)>>,
    /// Held while a table's consumers start or stop, so two changes to one
    /// table never interleave (and never leave two consumers running).
    lifecycle: Mutex<()>,
    /// Why a table of the catalog is not consuming, by name with type: the
    /// error its last start met (its stream settings are refused, say).
    not_started: Mutex<BTreeMap<String, String>>,
    /// In a cluster, what decides which partitions are consumed here and
    /// who commits them.
    coordinator: std::sync::RwLock<Option<Arc<dyn StreamCoordinator>>>,
}

impl Realtime {
    pub fn new(server: Arc<Server>, compile: Compile) -> Realtime {
        Realtime {
            server,
            compile,
            tables: Mutex::new(BTreeMap::new()),
            jobs: Mutex::new(BTreeMap::new()),
            lifecycle: Mutex::new(()),
            not_started: Mutex::new(BTreeMap::new()),
            coordinator: std::sync::RwLock::new(None),
        }
    }

    /// Consumes as a server of a cluster from now on: only the partitions
    /// `coordinator` assigns here, committing through it. Set before any
    /// table starts.
    pub fn set_coordinator(&self, coordinator: Arc<dyn StreamCoordinator>) {
        *self.coordinator.write_locked() = Some(coordinator);
    }

    /// Whether consumption here follows a cluster.
    pub fn in_cluster(&self) -> bool {
        self.coordinator.read_locked().is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Running>> {
        self.tables.locked()
    }

    fn lock_lifecycle(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lifecycle.locked()
    }

    /// Makes `name_with_type`'s consumers match the catalog as it is now:
    /// (re)started with its current settings, or stopped if it is gone.
    pub fn sync(&self, catalog: &Catalog, name_with_type: &str) -> Result<(), Error> {
        let _lifecycle = self.lock_lifecycle();
        let Some(entry) = catalog.table(name_with_type) else {
            self.stop_locked(name_with_type);
            self.note_start(name_with_type, &Ok(()));
            return Ok(());
        };
        let result = match catalog.schema_for_table(&entry.config) {
            Some(schema) => self.start_locked(&schema.schema, &entry.config),
            None => {
                self.stop_locked(name_with_type);
                Err(Error::NoSchema {
                    table: name_with_type.to_string(),
                })
            }
        };
        self.note_start(name_with_type, &result);
        result
    }

    /// Remembers why `name_with_type` did not start (or forgets it).
    fn note_start(&self, name_with_type: &str, result: &Result<(), Error>) {
        let mut not_started = self.not_started.locked();
        match result {
            Ok(()) => not_started.remove(name_with_type),
            Err(reason) => not_started.insert(name_with_type.to_string(), reason.to_string()),
        };
    }

    /// Why `name_with_type` is not consuming, when its last start failed.
    pub fn not_started_reason(&self, name_with_type: &str) -> Option<String> {
        self.not_started.locked().get(name_with_type).cloned()
    }

    /// Starts consuming every REALTIME table of `catalog`. A table that
    /// cannot start is logged and skipped; the others still start.
    pub fn start_all(&self, catalog: &Catalog) {
        for raw in catalog.table_names(Some(TableType::Realtime)) {
            for entry in catalog.tables_named(&raw) {
                if entry.config.table_type != TableType::Realtime {
                    continue;
                }
                let Some(schema) = catalog.schema_for_table(&entry.config) else {
                    tracing::error!(table = %entry.config.table_name, "no schema; not consuming");
                    let table = entry.config.name_with_type();
                    let reason = Error::NoSchema {
                        table: table.clone(),
                    };
                    self.note_start(&table, &Err(reason));
                    continue;
                };
                if let Err(err) = self.start(&schema.schema, &entry.config) {
                    tracing::error!(table = %entry.config.table_name, error = %err, "not consuming");
                }
            }
        }
    }

    /// Starts (or restarts, with the new settings) consuming `table`.
    pub fn start(&self, schema: &Schema, table: &TableConfig) -> Result<(), Error> {
        let _lifecycle = self.lock_lifecycle();
        let result = self.start_locked(schema, table);
        if table.table_type == TableType::Realtime {
            self.note_start(&table.name_with_type(), &result);
        }
        result
    }

    fn start_locked(&self, schema: &Schema, table: &TableConfig) -> Result<(), Error> {
        if table.table_type != TableType::Realtime {
            return Ok(());
        }
        let name = table.name_with_type();
        let map = table
            .stream_config_map()
            .ok_or_else(|| Error::NoStreamConfig {
                table: name.clone(),
            })?;
        let stream = parse_stream_config(map, "streamConfigs").map_err(Error::StreamConfig)?;
        // Settings librdkafka refuses (a misspelled consumer property, say)
        // would fail every retry: report them now.
        crate::ingest::kafka::connect(&stream, &format!("{name}-check"))?;
        let spec = Arc::new(SegmentSpec::new(schema, table));
        let decoder =
            MessageDecoder::new(schema, table, spec.clone(), stream.decoder, self.compile)?;
        let data = self.server.table_or_create(&name)?;
        let upsert_spec = UpsertSpec::of(schema, table, &spec).map_err(Error::Upsert)?;
        let paused = self.stop_locked(&name);
        // Rebuilt from what is committed now that no consumer runs.
        let upsert = match upsert_spec {
            Some(upsert_spec) => Some(Arc::new(
                TableUpsert::open(upsert_spec, data.dir(), &data.segments()).map_err(|source| {
                    Error::UpsertState {
                        table: name.clone(),
                        source,
                    }
                })?,
            )),
            None => None,
        };
        data.set_upsert(upsert.clone());
        let retention = crate::catalog::Retention::of(schema, table);
        let shared = Arc::new(
            TableShared::new(
                name.clone(),
                crate::catalog::raw_table_name(&name).to_string(),
                data,
                stream,
                decoder,
                upsert,
                paused,
            )
            .with_coordinator(self.coordinator.read_locked().clone()),
        );
        let thread_shared = shared.clone();
        let supervisor = std::thread::Builder::new()
            .name(format!("gamay-ingest-{}", shared.raw_name))
            .spawn(move || supervisor::run(thread_shared, retention))
            .map_err(Error::Thread)?;
        let replaced = self.lock().insert(
            name,
            Running {
                shared,
                supervisor: Some(supervisor),
            },
        );
        if let Some(replaced) = replaced {
            replaced.stop();
        }
        Ok(())
    }

    /// Stops consuming `name_with_type` (its consuming rows will be consumed
    /// again from the checkpoint). Returns whether it was paused.
    pub fn stop(&self, name_with_type: &str) -> bool {
        let _lifecycle = self.lock_lifecycle();
        self.stop_locked(name_with_type)
    }

    fn stop_locked(&self, name_with_type: &str) -> bool {
        let running = self.lock().remove(name_with_type);
        match running {
            Some(running) => {
                let paused = running.shared.control().paused;
                running.stop();
                paused
            }
            None => false,
        }
    }

    /// Stops every table's consumers.
    pub fn shutdown(&self) {
        let _lifecycle = self.lock_lifecycle();
        let all: Vec<Running> = std::mem::take(&mut *self.lock()).into_values().collect();
        for running in &all {
            running.shared.stop();
        }
        for running in all {
            running.stop();
        }
    }

    /// The running consumers' state of `name_with_type` (a new one after
    /// each restart).
    pub(crate) fn shared(&self, name_with_type: &str) -> Option<Arc<TableShared>> {
        self.lock()
            .get(name_with_type)
            .map(|running| running.shared.clone())
    }

    /// Whether `name_with_type` is consumed here.
    pub fn is_running(&self, name_with_type: &str) -> bool {
        self.shared(name_with_type).is_some()
    }

    /// Pauses consumption: consuming segments seal and commit, and no new
    /// ones start until [`Realtime::resume`].
    pub fn pause(&self, name_with_type: &str) -> Option<TableIngestion> {
        let shared = self.shared(name_with_type)?;
        shared.change_control(|control| control.paused = true);
        Some(report(&shared))
    }

    pub fn resume(&self, name_with_type: &str, from: ConsumeFrom) -> Option<TableIngestion> {
        let shared = self.shared(name_with_type)?;
        shared.change_control(|control| {
            control.paused = false;
            control.resume_generation += 1;
            control.resume_from = from;
        });
        Some(report(&shared))
    }

    /// Seals every consuming segment now; returns the job's id.
    pub fn force_commit(&self, name_with_type: &str) -> Option<String> {
        let shared = self.shared(name_with_type)?;
        let consuming: Vec<String> = shared
            .data
            .live()
            .consuming
            .iter()
            .map(|consuming| consuming.name.clone())
            .collect();
        shared.change_control(|control| control.force_commit += 1);
        let mut jobs = self.jobs.locked();
        let id = format!(
            "{}_{}_{}",
            shared.raw_name,
            crate::segment::now_millis(),
            jobs.len()
        );
        jobs.insert(id.clone(), (name_with_type.to_string(), consuming));
        Some(id)
    }

    /// Which segments of force commit `job` are still to be committed.
    pub fn force_commit_status(&self, job: &str) -> Option<ForceCommitStatus> {
        let (table, segments) = self.jobs.locked().get(job).cloned()?;
        let pending = match self.server.table(&table) {
            Some(data) => {
                let live = data.live();
                segments
                    .iter()
                    .filter(|name| live.consuming.iter().any(|c| &c.name == *name))
                    .cloned()
                    .collect()
            }
            None => Vec::new(),
        };
        Some(ForceCommitStatus {
            table,
            segments,
            pending,
        })
    }

    pub fn status(&self, name_with_type: &str) -> Option<TableIngestion> {
        self.shared(name_with_type).map(|shared| report(&shared))
    }
}

fn report(shared: &TableShared) -> TableIngestion {
    TableIngestion {
        table: shared.name.clone(),
        topic: shared.stream.topic.clone(),
        paused: shared.control().paused,
        partitions: shared.statuses(),
        consuming_segments: shared
            .data
            .live()
            .consuming
            .iter()
            .map(|consuming| consuming.name.clone())
            .collect(),
        counters: shared.counters.snapshot(),
    }
}
