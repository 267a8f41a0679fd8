//! A connector's background job: finds the sealed segments of its tables
//! that are not exported yet, exports them oldest first, one at a time, and
//! records each in the watermark once it is in the target. Failures are
//! retried with exponential backoff (from 0.5 s, at most 30 s) until they
//! pass; the job only ever reads segments, so ingestion and queries never
//! wait for it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use object_store::ObjectStore;
use tokio::sync::watch;

use super::config::{ConnectorConfig, Sink, Sources};
use super::error::{Error, Result};
use super::jdbc::export::{ensure_table, prepare, Outcome, Target, WriteJob};
use super::jdbc::{mysql::MySql, postgres::Postgres, JdbcConfig};
use super::s3::export::{encode_segment, publish_files};
use super::source::{Sealed, SegmentSource, StateStore};
use super::state::ExportState;
use crate::catalog::{self, Catalog, Schema, TableConfig, TableType};
use crate::segment::ImmutableSegment;
use crate::sync::Recover;

/// How often a connector with nothing to do looks for new segments.
const IDLE_POLL: Duration = Duration::from_millis(500);
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What the API asks of a running job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Control {
    pub paused: bool,
    /// Bumped by each restart request: the job reconnects and retries now.
    pub restarts: u64,
    pub stopped: bool,
}

/// What the job reports (and, in a cluster, records for the other nodes).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Status {
    pub state: ExportState,
    /// The last failure, while it has not been followed by a success.
    pub error: Option<String>,
    pub error_at_millis: Option<i64>,
    pub failures_in_a_row: u32,
    /// Segments and rows not exported yet; `None` until the job has looked.
    pub lag: Option<(u64, u64)>,
    pub tables: Vec<String>,
    /// Segments removed (retention, deletes) before they were exported.
    pub missed_segments: u64,
    pub last_missed: Vec<String>,
}

/// One of the connector's source tables, resolved.
struct Source {
    name: String,
    raw: String,
    schema: Arc<Schema>,
    config: Arc<TableConfig>,
}

/// An open target.
enum Open {
    S3(Arc<dyn ObjectStore>),
    Jdbc {
        target: Box<dyn Target>,
        /// Target tables checked (and created or evolved) on this connection.
        ready: HashSet<String>,
    },
}

pub struct Job {
    pub config: Arc<ConnectorConfig>,
    pub catalog: Arc<Catalog>,
    /// Where the sealed segments come from.
    pub segments: Arc<dyn SegmentSource>,
    /// Where `file://` stores may write.
    pub file_roots: Arc<super::s3::store::FileStoreRoots>,
    /// Where the watermark and the status are kept.
    pub store: Arc<dyn StateStore>,
    pub status: Arc<Mutex<Status>>,
    pub control: watch::Receiver<Control>,
    /// Segments seen waiting for export, to notice those removed first.
    pub seen: Mutex<HashSet<(String, String)>>,
}

impl Job {
    /// A copy of the current watermark state.
    fn state(&self) -> ExportState {
        self.status.locked().state.clone()
    }

    fn update(&self, change: impl FnOnce(&mut Status)) {
        let mut status = self.status.locked();
        change(&mut status);
    }

    /// Runs until the connector is stopped.
    pub async fn run(mut self) {
        let mut open: Option<Open> = None;
        let mut backoff = FIRST_BACKOFF;
        let mut restarts = self.control.borrow().restarts;
        loop {
            let control = *self.control.borrow_and_update();
            if control.stopped {
                return;
            }
            if control.restarts != restarts {
                restarts = control.restarts;
                open = None;
                backoff = FIRST_BACKOFF;
            }
            if control.paused {
                if self.control.changed().await.is_err() {
                    return;
                }
                continue;
            }
            let mut stop = self.control.clone();
            let step = std::panic::AssertUnwindSafe(self.step(&mut open)).catch_unwind();
            let outcome = tokio::select! {
                outcome = step => outcome,
                // Stopping drops the step where it is: an uncommitted target
                // transaction rolls back, and objects are deterministic.
                _ = stop.wait_for(|control| control.stopped) => return,
            };
            let outcome = outcome.unwrap_or_else(|_| {
                Err(Error::Internal(
                    "internal error: the export failed unexpectedly; the server log has the details",
                ))
            });
            match outcome {
                Ok(true) => {
                    backoff = FIRST_BACKOFF;
                }
                Ok(false) => {
                    backoff = FIRST_BACKOFF;
                    self.report().await;
                    self.wait(IDLE_POLL).await;
                }
                Err(Error::LeaseLost(name)) => {
                    // Another node runs it now: this job ends here.
                    tracing::warn!(connector = %name, "the connector's lease was lost; its job stops here");
                    return;
                }
                Err(err) => {
                    tracing::warn!(connector = %self.config.name, error = %err, "export failed; retrying");
                    open = None;
                    self.update(|status| {
                        status.error = Some(err.to_string());
                        status.error_at_millis = Some(crate::segment::now_millis());
                        status.failures_in_a_row += 1;
                    });
                    self.report().await;
                    self.wait(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Sleeps for `duration` or until the API changes the control.
    async fn wait(&mut self, duration: Duration) {
        let _ = tokio::time::timeout(duration, self.control.changed()).await;
    }

    /// Hands the status to the state store between exports (a cluster
    /// shows it on every node); a failure here is only logged, the next
    /// report carries the same.
    async fn report(&self) {
        let status = self.status.locked().clone();
        if let Err(err) = self.store.save(&status, false).await {
            tracing::debug!(connector = %self.config.name, error = %err, "connector status not recorded");
        }
    }

    /// The sealed segments of every source, by table.
    async fn list(&self, sources: &[Source]) -> Result<HashMap<String, Vec<Sealed>>> {
        let mut listed = HashMap::with_capacity(sources.len());
        for source in sources {
            let sealed = self.segments.sealed(&source.name).await?;
            listed.insert(source.name.clone(), sealed);
        }
        Ok(listed)
    }

    /// Exports the oldest pending segment. `Ok(false)` when none is pending.
    async fn step(&self, open: &mut Option<Open>) -> Result<bool> {
        let sources = resolve(&self.config.sources, &self.catalog)?;
        let listed = self.list(&sources).await?;
        // Look before opening the target, so segments waiting on a target
        // that is down are seen (and missed ones noticed) too.
        self.scan(&sources, &listed);
        if open.is_none() {
            *open = Some(self.open().await?);
        }
        let (pending, lag_segments, lag_rows) = self.scan(&sources, &listed);
        self.note_missed(&listed);
        let Some((index, sealed)) = pending else {
            self.update(|status| {
                status.error = None;
                status.failures_in_a_row = 0;
            });
            return Ok(false);
        };
        let source = &sources[index];
        let segment = self
            .segments
            .open(&source.name, &sealed.name)
            .await
            .map_err(|err| Error::Segment {
                table: source.name.clone(),
                segment: sealed.name.clone(),
                source: Box::new(err),
            })?;
        let mut next = self.state();
        let open = open
            .as_mut()
            .ok_or(Error::Internal("the target is not open"))?;
        self.export(open, source, &segment, &mut next).await?;
        next.mark(&source.name, segment.name());
        // Forget segments the tables no longer have (retention, deletes).
        for (table, sealed) in &listed {
            let live: HashSet<&str> = sealed.iter().map(|segment| segment.name.as_str()).collect();
            if let Some(exported) = next.exported.get_mut(table) {
                exported.retain(|name| live.contains(name.as_str()));
            }
        }
        crate::faults::reach("export.after_write");
        let mut status = self.status.locked().clone();
        status.state = next;
        status.error = None;
        status.failures_in_a_row = 0;
        status.lag = Some((
            lag_segments.saturating_sub(1),
            lag_rows.saturating_sub(sealed.rows),
        ));
        self.store.save(&status, true).await?;
        *self.status.locked() = status;
        Ok(true)
    }

    /// The oldest segment not exported yet, and the lag; records both in
    /// the status and remembers the pending segments.
    fn scan(
        &self,
        sources: &[Source],
        listed: &HashMap<String, Vec<Sealed>>,
    ) -> (Option<(usize, Sealed)>, u64, u64) {
        let current = self.state();
        let mut pending: Option<(usize, &Sealed)> = None;
        let (mut lag_segments, mut lag_rows) = (0u64, 0u64);
        let mut seen = self.seen.locked();
        for (index, source) in sources.iter().enumerate() {
            for segment in listed.get(&source.name).into_iter().flatten() {
                if current.is_exported(&source.name, &segment.name) {
                    continue;
                }
                seen.insert((source.name.clone(), segment.name.clone()));
                lag_segments += 1;
                lag_rows += segment.rows;
                let older = pending.as_ref().is_none_or(|(_, best)| {
                    (segment.order, &segment.name) < (best.order, &best.name)
                });
                if older {
                    pending = Some((index, segment));
                }
            }
        }
        drop(seen);
        let tables = sources.iter().map(|source| source.name.clone()).collect();
        self.update(|status| {
            status.lag = Some((lag_segments, lag_rows));
            status.tables = tables;
        });
        let pending = pending.map(|(index, segment)| (index, segment.clone()));
        (pending, lag_segments, lag_rows)
    }

    /// Segments seen waiting that their table no longer has, unexported
    /// (retention or a delete came first): counted and logged.
    fn note_missed(&self, listed: &HashMap<String, Vec<Sealed>>) {
        let current = self.state();
        let present: HashSet<(&str, &str)> = listed
            .iter()
            .flat_map(|(table, sealed)| {
                sealed
                    .iter()
                    .map(move |segment| (table.as_str(), segment.name.as_str()))
            })
            .collect();
        let mut missed = Vec::new();
        self.seen.locked().retain(|(table, segment)| {
            if current.is_exported(table, segment) {
                return false;
            }
            if present.contains(&(table.as_str(), segment.as_str())) {
                return true;
            }
            missed.push(format!("{table}/{segment}"));
            false
        });
        if missed.is_empty() {
            return;
        }
        tracing::warn!(connector = %self.config.name, segments = ?missed, "segments were removed before they were exported");
        self.update(|status| {
            status.missed_segments += missed.len() as u64;
            status.last_missed = missed;
        });
    }

    async fn open(&self) -> Result<Open> {
        match &self.config.sink {
            Sink::S3(config) => Ok(Open::S3(super::s3::store::open(config, &self.file_roots)?)),
            Sink::Jdbc(config) => {
                let mut target = connect(config).await?;
                let exported = target
                    .exported(&self.config.name)
                    .await
                    .map_err(Error::Jdbc)?;
                self.update(|status| {
                    let state = &mut status.state;
                    state.exported.clear();
                    state.rows_written = 0;
                    for entry in &exported {
                        state
                            .exported
                            .entry(entry.table.clone())
                            .or_default()
                            .insert(entry.segment.clone());
                        state.rows_written += entry.rows.max(0) as u64;
                    }
                });
                Ok(Open::Jdbc {
                    target,
                    ready: HashSet::new(),
                })
            }
        }
    }

    async fn export(
        &self,
        open: &mut Open,
        source: &Source,
        segment: &Arc<ImmutableSegment>,
        state: &mut ExportState,
    ) -> Result<()> {
        let context = |err: Error| Error::Segment {
            table: source.name.clone(),
            segment: segment.name().to_string(),
            source: Box::new(err),
        };
        match (open, &self.config.sink) {
            (Open::S3(store), Sink::S3(config)) => {
                let config = config.clone();
                let raw = source.raw.clone();
                let schema = source.schema.clone();
                let table = source.config.clone();
                let segment = segment.clone();
                let files = tokio::task::spawn_blocking(move || {
                    let time_column = table.segments_config.time_column_name.as_deref();
                    let files = encode_segment(&config, &raw, &schema, time_column, &segment)?;
                    if let Some(root) = super::s3::store::local_root(&config) {
                        let keys = files.iter().map(|(key, _, _)| key.as_str());
                        super::s3::store::remove_partial_writes(&root, keys)?;
                    }
                    Ok(files)
                })
                .await
                .map_err(Error::EncodeTask)?
                .map_err(|err: super::s3::Error| context(err.into()))?;
                let report = publish_files(store.clone(), files)
                    .await
                    .map_err(|err| context(err.into()))?;
                state.rows_written += report.rows;
                state.files_written += report.files;
                state.bytes_written += report.bytes;
                Ok(())
            }
            (Open::Jdbc { target, ready }, Sink::Jdbc(config)) => {
                let late = self
                    .segments
                    .late_rows(&source.name, &source.config, segment)
                    .map_err(context)?;
                let prepared = {
                    let config = config.clone();
                    let raw = source.raw.clone();
                    let schema = source.schema.clone();
                    let table = source.config.clone();
                    let segment = segment.clone();
                    tokio::task::spawn_blocking(move || {
                        prepare(&config, &raw, &schema, &table, &segment, late.as_ref())
                    })
                    .await
                    .map_err(Error::ReadTask)?
                    .map_err(|err| context(err.into()))?
                };
                if !ready.contains(&prepared.table) {
                    ensure_table(target.as_mut(), config, &prepared)
                        .await
                        .map_err(|err| context(err.into()))?;
                    ready.insert(prepared.table.clone());
                }
                let columns: Vec<&str> = prepared.columns.iter().map(|c| c.name.as_str()).collect();
                let key: Vec<&str> = prepared.key.iter().map(String::as_str).collect();
                let job = WriteJob {
                    connector: &self.config.name,
                    source_table: &source.name,
                    segment: segment.name(),
                    table: &prepared.table,
                    columns: &columns,
                    key: &key,
                    mode: config.insert_mode,
                    values: &prepared.values,
                    rows: &prepared.rows,
                    deletes: &prepared.deletes,
                    batch_size: config.batch_size,
                };
                match target
                    .write(&job)
                    .await
                    .map_err(|err| context(err.into()))?
                {
                    Outcome::Written { rows, deleted } => {
                        state.rows_written += rows + deleted;
                        state.rows_deleted += deleted;
                    }
                    Outcome::AlreadyExported => {}
                }
                Ok(())
            }
            _ => Err(Error::Internal(
                "the open target does not match the connector",
            )),
        }
    }
}

async fn connect(config: &JdbcConfig) -> Result<Box<dyn Target>, super::jdbc::Error> {
    Ok(match config.url.dialect {
        super::jdbc::dialect::Dialect::Postgres => Box::new(Postgres::connect(config).await?),
        super::jdbc::dialect::Dialect::MySql => Box::new(MySql::connect(config).await?),
    })
}

/// The tables a connector reads, as they are in the catalog now.
fn resolve(sources: &Sources, catalog: &Catalog) -> Result<Vec<Source>> {
    let mut names: Vec<String> = Vec::new();
    match sources {
        Sources::Tables(tables) => {
            for table in tables {
                let typed: Vec<String> = if catalog::raw_table_name(table) != table {
                    vec![table.clone()]
                } else {
                    [TableType::Offline, TableType::Realtime]
                        .iter()
                        .map(|ty| ty.with_type(table))
                        .filter(|name| catalog.table(name).is_some())
                        .collect()
                };
                if typed.is_empty() || typed.iter().any(|name| catalog.table(name).is_none()) {
                    return Err(Error::NoTable(table.clone()));
                }
                names.extend(typed);
            }
        }
        Sources::Topics(topics) => {
            for topic in topics {
                let before = names.len();
                for raw in catalog.table_names(Some(TableType::Realtime)) {
                    let name = TableType::Realtime.with_type(&raw);
                    let consumes = catalog.table(&name).is_some_and(|entry| {
                        entry
                            .config
                            .stream_config_map()
                            .and_then(|map| map.get("stream.kafka.topic.name"))
                            == Some(topic)
                    });
                    if consumes {
                        names.push(name);
                    }
                }
                if names.len() == before {
                    return Err(Error::NoTopic(topic.clone()));
                }
            }
        }
    }
    names.dedup();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let entry = catalog
            .table(&name)
            .ok_or_else(|| Error::NoTable(name.clone()))?;
        let schema = catalog
            .schema_for_table(&entry.config)
            .ok_or_else(|| Error::NoSchema(name.clone()))?;
        out.push(Source {
            raw: catalog::raw_table_name(&name).to_string(),
            name,
            schema: Arc::new(schema.schema.clone()),
            config: Arc::new(entry.config.clone()),
        });
    }
    Ok(out)
}
