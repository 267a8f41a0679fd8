//! The connectors of a server: their configs, durable under
//! `<data-dir>/catalog/connectors/<name>.json` (with whether they are
//! paused), and one background job each. Creating, changing, pausing,
//! resuming, restarting and deleting go through here; a server that starts
//! again resumes every connector where its watermark stands.
//!
//! In a cluster the configs are shared ([`SharedConfigs`], the metastore):
//! every node mirrors them ([`Connectors::sync_shared`]) and answers the
//! API, and a job runs only on the node holding the connector's lease
//! (`cluster::connectors` decides, [`Connectors::run_here`]); other nodes
//! show the status the running one recorded.
//!
//! Connector files hold passwords and keys: they are written readable by
//! the server's user only (0600, in a 0700 directory), and files left
//! readable by an older version are tightened at start.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::config::{self, ConnectorConfig};
use super::runner::{Control, Job, Status};
use super::s3::store::FileStoreRoots;
use super::source::{LocalSegments, SegmentSource, StateFile, StateStore};
use super::state::ExportState;
use super::{secrets, state};
use crate::catalog::Catalog;
use crate::durable;
use crate::server::Server;
use crate::sync::Recover;

/// What is stored per connector.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    name: String,
    config: BTreeMap<String, String>,
    #[serde(default)]
    paused: bool,
    /// Restart requests so far (shared configs: how a restart reaches the
    /// node running the job).
    #[serde(default)]
    restarts: u64,
}

/// Where a cluster's nodes keep connector configs, as JSON text.
#[async_trait]
pub trait SharedConfigs: Send + Sync {
    /// Adds connector `name` or replaces its config.
    async fn put(&self, name: &str, stored: &str) -> Result<(), String>;
    /// Adds connector `name` unless it is there; whether it was added.
    async fn create(&self, name: &str, stored: &str) -> Result<bool, String>;
    /// What is stored of connector `name` now, if it is there.
    async fn get(&self, name: &str) -> Result<Option<String>, String>;
    /// Removes connector `name` (its state too); `false` when absent.
    async fn remove(&self, name: &str) -> Result<bool, String>;
}

/// A connector as the shared configs hold it, for [`Connectors::sync_shared`].
#[derive(Debug, Clone)]
pub struct SharedRecord {
    pub name: String,
    /// What [`SharedConfigs::put`] stored.
    pub stored: String,
    /// What the node running it recorded: [`Shown`] as JSON.
    pub state: Option<String>,
}

/// What the node running a shared connector records for the others.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shown {
    /// The node running the job.
    pub worker: String,
    #[serde(default)]
    pub status: Status,
}

/// Why a request on the connectors failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("connector {0} not found")]
    NotFound(String),
    #[error("connector {0} already exists")]
    Exists(String),
    #[error("{}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The directories `file://` stores may write in cannot be made.
    #[error(transparent)]
    FileRoots(super::s3::Error),
    /// The shared configs (the cluster's metastore) failed.
    #[error("the cluster's metastore: {0}")]
    Shared(String),
}

struct Entry {
    config: Arc<ConnectorConfig>,
    paused: bool,
    restarts: u64,
    status: Arc<Mutex<Status>>,
    control: watch::Sender<Control>,
    job: Option<tokio::task::JoinHandle<()>>,
    /// Shared configs: what the node running the job recorded last.
    shown: Option<Shown>,
}

impl Entry {
    /// An entry whose job does not run (yet).
    fn idle(config: Arc<ConnectorConfig>, paused: bool, restarts: u64) -> Entry {
        let (control, _) = watch::channel(Control {
            paused,
            restarts,
            ..Control::default()
        });
        Entry {
            config,
            paused,
            restarts,
            status: Arc::default(),
            control,
            job: None,
            shown: None,
        }
    }
}

/// How long a replaced or deleted connector's job may take to stop.
const STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Stops a job and waits for it to end, so its successor never runs
/// beside it. Called off the async workers (the API's blocking pool).
fn stop(control: &watch::Sender<Control>, job: Option<tokio::task::JoinHandle<()>>) {
    control.send_modify(|control| control.stopped = true);
    let (Some(job), Ok(runtime)) = (job, tokio::runtime::Handle::try_current()) else {
        return;
    };
    let abort = job.abort_handle();
    let ended = runtime.block_on(async { tokio::time::timeout(STOP_WAIT, job).await });
    if ended.is_err() {
        tracing::warn!("a connector job did not stop in time; aborting it");
        abort.abort();
    }
}

/// A connector as the API shows it.
#[derive(Debug, Clone)]
pub struct ConnectorView {
    pub config: Arc<ConnectorConfig>,
    pub paused: bool,
    pub status: Status,
    /// Shared configs: the node running the job, `None` while none does.
    /// A single node runs every job itself.
    pub worker: Option<String>,
}

pub struct Connectors {
    data_dir: PathBuf,
    file_roots: Arc<FileStoreRoots>,
    catalog: Arc<Catalog>,
    server: Arc<Server>,
    /// In a cluster: where the configs are kept, and this node's id.
    shared: Option<(Arc<dyn SharedConfigs>, String)>,
    entries: Mutex<BTreeMap<String, Entry>>,
    /// Serializes changes (create, put, pause, delete) end to end; counts
    /// this node's writes to shared configs, so a mirror read before one of
    /// them is not taken in after it.
    changes: Mutex<u64>,
}

impl Connectors {
    /// Loads the stored connectors and starts those not paused. S3 sinks
    /// with a `file://` store may write only inside `file_store_roots`
    /// (created if missing). Needs a Tokio runtime.
    pub fn start(
        data_dir: &Path,
        file_store_roots: &[PathBuf],
        catalog: Arc<Catalog>,
        server: Arc<Server>,
    ) -> Result<Connectors, RegistryError> {
        let file_roots =
            FileStoreRoots::open(file_store_roots).map_err(RegistryError::FileRoots)?;
        let dir = data_dir.join("catalog").join("connectors");
        durable::create_dir_durably(&dir).map_err(|err| io_error(&dir, err))?;
        durable::remove_temp_files(&dir).map_err(|err| io_error(&dir, err))?;
        make_private(&dir, 0o700).map_err(|err| io_error(&dir, err))?;
        let connectors = Connectors {
            data_dir: data_dir.to_path_buf(),
            file_roots: Arc::new(file_roots),
            catalog,
            server,
            shared: None,
            entries: Mutex::new(BTreeMap::new()),
            changes: Mutex::new(0),
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|err| io_error(&dir, err))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        for path in files {
            if let Err(err) = make_private(&path, 0o600) {
                tracing::error!(file = %path.display(), error = %err, "cannot make the connector file private");
            }
            let loaded = std::fs::read(&path)
                .map_err(|err| err.to_string())
                .and_then(|bytes| {
                    serde_json::from_slice::<Stored>(&bytes).map_err(|err| err.to_string())
                })
                .and_then(|stored| {
                    config::parse(&stored.name, stored.config.clone())
                        .map(|config| (config, stored.paused))
                        .map_err(|problems| problems.join("; "))
                });
            match loaded {
                Ok((config, paused)) => connectors.launch_local(config, paused),
                Err(err) => {
                    tracing::error!(file = %path.display(), error = %err, "connector left out")
                }
            }
        }
        Ok(connectors)
    }

    /// A cluster node's connectors: configs kept in `shared` and mirrored
    /// here by [`Connectors::sync_shared`]; jobs run where
    /// [`Connectors::run_here`] starts them. `node` names this node in the
    /// status it records.
    pub fn start_shared(
        data_dir: &Path,
        file_store_roots: &[PathBuf],
        catalog: Arc<Catalog>,
        server: Arc<Server>,
        shared: Arc<dyn SharedConfigs>,
        node: String,
    ) -> Result<Connectors, RegistryError> {
        let file_roots =
            FileStoreRoots::open(file_store_roots).map_err(RegistryError::FileRoots)?;
        Ok(Connectors {
            data_dir: data_dir.to_path_buf(),
            file_roots: Arc::new(file_roots),
            catalog,
            server,
            shared: Some((shared, node)),
            entries: Mutex::new(BTreeMap::new()),
            changes: Mutex::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        self.entries.locked()
    }

    fn lock_changes(&self) -> std::sync::MutexGuard<'_, u64> {
        self.changes.locked()
    }

    /// Stops connector `name`'s job, if any, and waits for it.
    fn stop_job(&self, name: &str) {
        let taken = self
            .lock()
            .get_mut(name)
            .map(|entry| (entry.control.clone(), entry.job.take()));
        if let Some((control, job)) = taken {
            stop(&control, job);
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.data_dir
            .join("catalog")
            .join("connectors")
            .join(format!("{name}.json"))
    }

    /// Keeps a connector's config: in its file, or in the shared configs.
    /// Called off the async workers.
    fn store(
        &self,
        config: &ConnectorConfig,
        paused: bool,
        restarts: u64,
    ) -> Result<(), RegistryError> {
        self.keep(config, paused, restarts, false)
    }

    /// [`Self::store`]; with `create`, only where no connector of the name
    /// is (else [`RegistryError::Exists`], also when another node of a
    /// cluster created it first).
    fn keep(
        &self,
        config: &ConnectorConfig,
        paused: bool,
        restarts: u64,
        create: bool,
    ) -> Result<(), RegistryError> {
        let stored = Stored {
            name: config.name.clone(),
            config: config.raw.clone(),
            paused,
            restarts,
        };
        let path = self.file(&config.name);
        let bytes =
            serde_json::to_vec_pretty(&stored).map_err(|err| io_error(&path, err.into()))?;
        match &self.shared {
            None => write_private(&path, &bytes).map_err(|err| io_error(&path, err)),
            Some((shared, _)) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                if !create {
                    return block_on(shared.put(&config.name, &text));
                }
                match block_on(shared.create(&config.name, &text))? {
                    true => Ok(()),
                    false => Err(RegistryError::Exists(config.name.clone())),
                }
            }
        }
    }

    /// Starts connector `config`'s job on this node, its watermark read
    /// from its state file.
    fn launch_local(&self, config: ConnectorConfig, paused: bool) {
        let state_dir = state::state_dir(&self.data_dir, &config.name);
        let loaded = state::load(&state_dir).unwrap_or_else(|err| {
            tracing::error!(connector = %config.name, error = %err, "connector state unreadable; starting over (exports are idempotent)");
            Default::default()
        });
        let segments = Arc::new(LocalSegments {
            server: self.server.clone(),
        });
        let store = Arc::new(StateFile { dir: state_dir });
        self.launch(Arc::new(config), paused, 0, loaded, segments, store);
    }

    fn launch(
        &self,
        config: Arc<ConnectorConfig>,
        paused: bool,
        restarts: u64,
        state: ExportState,
        segments: Arc<dyn SegmentSource>,
        store: Arc<dyn StateStore>,
    ) {
        self.stop_job(&config.name);
        let status = Arc::new(Mutex::new(Status {
            state,
            ..Status::default()
        }));
        let (control, receiver) = watch::channel(Control {
            paused,
            restarts,
            ..Control::default()
        });
        let job = Job {
            config: config.clone(),
            catalog: self.catalog.clone(),
            segments,
            file_roots: self.file_roots.clone(),
            store,
            status: status.clone(),
            control: receiver,
            seen: Mutex::default(),
        };
        let job = match tokio::runtime::Handle::try_current() {
            Ok(runtime) => Some(runtime.spawn(job.run())),
            Err(_) => {
                tracing::error!(connector = %config.name, "no async runtime; the connector does not run");
                None
            }
        };
        let name = config.name.clone();
        let shown = self.lock().remove(&name).and_then(|entry| entry.shown);
        self.lock().insert(
            name,
            Entry {
                config,
                paused,
                restarts,
                status,
                control,
                job,
                shown,
            },
        );
    }

    /// Takes a new or changed config into the mirror (shared configs) or
    /// starts its job (a single node).
    fn install(&self, config: ConnectorConfig, paused: bool, restarts: u64) {
        if self.shared.is_none() {
            self.launch_local(config, paused);
            return;
        }
        self.stop_job(&config.name);
        let name = config.name.clone();
        self.lock()
            .insert(name, Entry::idle(Arc::new(config), paused, restarts));
    }

    /// Creates a connector. Its name must be new.
    pub fn create(
        &self,
        name: &str,
        mut raw: BTreeMap<String, String>,
    ) -> Result<(), RegistryError> {
        let mut changes = self.lock_changes();
        *changes += 1;
        if self.lock().contains_key(name) {
            return Err(RegistryError::Exists(name.to_string()));
        }
        secrets::restore_hidden(&mut raw, None).map_err(RegistryError::Invalid)?;
        let config = self.parse_new(name, raw)?;
        self.keep(&config, false, 0, true)?;
        self.install(config, false, 0);
        Ok(())
    }

    /// Shared configs: connector `name` as the cluster holds it now (its
    /// config, paused, restarts), so a change made through this node keeps
    /// what another node changed since this one's mirror was read.
    fn fresh(&self, name: &str) -> Result<Option<(ConnectorConfig, bool, u64)>, RegistryError> {
        let Some((shared, _)) = &self.shared else {
            return Ok(None);
        };
        let Some(text) = block_on(shared.get(name))? else {
            return Ok(None);
        };
        let parsed = serde_json::from_str::<Stored>(&text)
            .ok()
            .and_then(|stored| {
                config::parse(&stored.name, stored.config)
                    .ok()
                    .map(|config| (config, stored.paused, stored.restarts))
            });
        Ok(parsed)
    }

    /// Creates or replaces a connector's config; true when it was created.
    /// A replaced connector restarts with the new settings, keeping its
    /// watermark and its paused state.
    pub fn put(
        &self,
        name: &str,
        mut raw: BTreeMap<String, String>,
    ) -> Result<bool, RegistryError> {
        let mut changes = self.lock_changes();
        *changes += 1;
        // A config read back shows secrets as `[hidden]`; sent again, they
        // keep their stored values while the target stays the same.
        let stored = self.lock().get(name).map(|entry| entry.config.raw.clone());
        secrets::restore_hidden(&mut raw, stored.as_ref()).map_err(RegistryError::Invalid)?;
        let config = self.parse_new(name, raw)?;
        let kept = match self.fresh(name)? {
            Some((_, paused, restarts)) => Some((paused, restarts)),
            None => self
                .lock()
                .get(name)
                .map(|entry| (entry.paused, entry.restarts)),
        };
        let (paused, restarts) = kept.unwrap_or((false, 0));
        self.store(&config, paused, restarts)?;
        self.install(config, paused, restarts);
        Ok(kept.is_none())
    }

    pub fn names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    pub fn get(&self, name: &str) -> Result<ConnectorView, RegistryError> {
        let entries = self.lock();
        let entry = entries
            .get(name)
            .ok_or_else(|| RegistryError::NotFound(name.to_string()))?;
        let (status, worker) = match (&self.shared, &entry.job, &entry.shown) {
            (Some((_, node)), Some(_), _) => (entry.status.locked().clone(), Some(node.clone())),
            (Some(_), None, Some(shown)) => (shown.status.clone(), Some(shown.worker.clone())),
            (Some(_), None, None) => (Status::default(), None),
            (None, _, _) => (entry.status.locked().clone(), None),
        };
        Ok(ConnectorView {
            config: entry.config.clone(),
            paused: entry.paused,
            status,
            worker,
        })
    }

    /// Whether configs are shared by a cluster's nodes.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Pauses or resumes a connector (durably).
    pub fn set_paused(&self, name: &str, paused: bool) -> Result<(), RegistryError> {
        let mut changes = self.lock_changes();
        *changes += 1;
        let (config, restarts) = {
            let entries = self.lock();
            let entry = entries
                .get(name)
                .ok_or_else(|| RegistryError::NotFound(name.to_string()))?;
            (entry.config.clone(), entry.restarts)
        };
        let (config, restarts) = match self.fresh(name)? {
            Some((fresh, _, restarts)) => (Arc::new(fresh), restarts),
            None => (config, restarts),
        };
        self.store(&config, paused, restarts)?;
        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(name) {
            entry.paused = paused;
            entry.control.send_modify(|control| control.paused = paused);
        }
        Ok(())
    }

    /// Reconnects and retries at once (in a cluster, on the node running
    /// the job).
    pub fn restart(&self, name: &str) -> Result<(), RegistryError> {
        let mut changes = self.lock_changes();
        *changes += 1;
        let (config, paused, restarts) = {
            let entries = self.lock();
            let entry = entries
                .get(name)
                .ok_or_else(|| RegistryError::NotFound(name.to_string()))?;
            (entry.config.clone(), entry.paused, entry.restarts + 1)
        };
        let (config, paused, restarts) = match self.fresh(name)? {
            Some((fresh, paused, restarts)) => (Arc::new(fresh), paused, restarts + 1),
            None => (config, paused, restarts),
        };
        if self.shared.is_some() {
            self.store(&config, paused, restarts)?;
        }
        if let Some(entry) = self.lock().get_mut(name) {
            entry.restarts = restarts;
            entry
                .control
                .send_modify(|control| control.restarts = restarts);
        }
        Ok(())
    }

    /// Stops a connector and forgets it: its config and its local state
    /// (a JDBC target keeps its watermark rows).
    pub fn delete(&self, name: &str) -> Result<(), RegistryError> {
        let mut changes = self.lock_changes();
        *changes += 1;
        if !self.lock().contains_key(name) {
            return Err(RegistryError::NotFound(name.to_string()));
        }
        if let Some((shared, _)) = &self.shared {
            block_on(shared.remove(name))?;
        }
        let mut entry = self
            .lock()
            .remove(name)
            .ok_or_else(|| RegistryError::NotFound(name.to_string()))?;
        stop(&entry.control, entry.job.take());
        if self.shared.is_some() {
            return Ok(());
        }
        let path = self.file(name);
        durable::remove_durably(&path).map_err(|err| io_error(&path, err))?;
        let dir = state::state_dir(&self.data_dir, name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|err| io_error(&dir, err))?;
        }
        Ok(())
    }

    /// Stops every job (at shutdown).
    pub fn stop_all(&self) {
        for entry in self.lock().values() {
            entry.control.send_modify(|control| control.stopped = true);
        }
    }
}

/// Shared configs: mirroring the cluster's connectors and running the
/// jobs this node holds the lease of.
impl Connectors {
    /// Makes the mirror what `records` hold: new connectors appear, changed
    /// configs stop their job here (to be started again with the new one),
    /// pauses and restarts reach running jobs, and the status recorded by
    /// each connector's node is taken in. Connectors absent from `records`
    /// stop and go. Called off the async workers (stopping a job waits).
    /// `generation` is [`Connectors::generation`] from before `records` were
    /// read: when this node wrote since, they may be older than the mirror,
    /// and nothing is taken in (`false`; the write's own notice brings a
    /// newer read).
    pub fn sync_shared(&self, records: &[SharedRecord], generation: u64) -> bool {
        let changes = self.lock_changes();
        if *changes != generation {
            return false;
        }
        let mut present = std::collections::BTreeSet::new();
        for record in records {
            present.insert(record.name.clone());
            let parsed = serde_json::from_str::<Stored>(&record.stored)
                .map_err(|err| err.to_string())
                .and_then(|stored| {
                    if stored.name != record.name {
                        return Err(format!(
                            "the record of `{}` holds connector `{}`",
                            record.name, stored.name
                        ));
                    }
                    config::parse(&stored.name, stored.config.clone())
                        .map(|config| (config, stored.paused, stored.restarts))
                        .map_err(|problems| problems.join("; "))
                });
            let (config, paused, restarts) = match parsed {
                Ok(parsed) => parsed,
                Err(err) => {
                    tracing::error!(connector = %record.name, error = %err, "connector left out");
                    continue;
                }
            };
            let shown = record
                .state
                .as_deref()
                .and_then(|text| serde_json::from_str::<Shown>(text).ok());
            let same = self
                .lock()
                .get(&record.name)
                .is_some_and(|entry| entry.config.raw == config.raw);
            if !same {
                self.stop_job(&record.name);
                self.lock().insert(
                    record.name.clone(),
                    Entry::idle(Arc::new(config), paused, restarts),
                );
            }
            if let Some(entry) = self.lock().get_mut(&record.name) {
                entry.paused = paused;
                entry.restarts = restarts;
                entry.shown = shown;
                entry.control.send_modify(|control| {
                    control.paused = paused;
                    control.restarts = restarts;
                });
            }
        }
        let gone: Vec<String> = self
            .lock()
            .keys()
            .filter(|name| !present.contains(*name))
            .cloned()
            .collect();
        for name in gone {
            self.stop_job(&name);
            self.lock().remove(&name);
        }
        drop(changes);
        true
    }

    /// How many changes this node has made to the shared configs.
    pub fn generation(&self) -> u64 {
        *self.lock_changes()
    }

    /// The connectors a node should run (not paused), by name.
    pub fn runnable(&self) -> Vec<String> {
        self.lock()
            .iter()
            .filter(|(_, entry)| !entry.paused)
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Whether connector `name`'s job runs on this node.
    pub fn runs_here(&self, name: &str) -> bool {
        self.lock()
            .get(name)
            .is_some_and(|entry| entry.job.as_ref().is_some_and(|job| !job.is_finished()))
    }

    /// Starts connector `name`'s job here, from `state`, unless it runs
    /// here already; `false` when the connector is unknown.
    pub fn run_here(
        &self,
        name: &str,
        state: ExportState,
        segments: Arc<dyn SegmentSource>,
        store: Arc<dyn StateStore>,
    ) -> bool {
        let _changes = self.lock_changes();
        if self.runs_here(name) {
            return true;
        }
        let Some((config, paused, restarts)) = self
            .lock()
            .get(name)
            .map(|entry| (entry.config.clone(), entry.paused, entry.restarts))
        else {
            return false;
        };
        self.launch(config, paused, restarts, state, segments, store);
        true
    }

    /// Stops connector `name`'s job on this node, if it runs here, and
    /// waits for it. Called off the async workers.
    pub fn halt(&self, name: &str) {
        let _changes = self.lock_changes();
        self.stop_job(name);
    }
}

/// Waits for shared-config work from the API's blocking pool.
fn block_on<T>(
    work: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, RegistryError> {
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| RegistryError::Shared("no async runtime".into()))?;
    runtime.block_on(work).map_err(RegistryError::Shared)
}

impl Connectors {
    /// Parses a config sent by a user: its settings, its config references,
    /// where a `file://` store would write and the certificates a JDBC
    /// connection URL names.
    fn parse_new(
        &self,
        name: &str,
        raw: BTreeMap<String, String>,
    ) -> Result<ConnectorConfig, RegistryError> {
        let mut problems = config::check_secrets(&raw);
        match config::parse(name, raw) {
            Ok(config) => {
                match &config.sink {
                    config::Sink::S3(s3) => {
                        if let Err(problem) = self.file_roots.confine(s3) {
                            problems.push(format!("store.url: {problem}"));
                        }
                    }
                    // The certificates the URL names must be readable now;
                    // later they are read again at each connection.
                    config::Sink::Jdbc(jdbc) => {
                        if let Err(problem) = jdbc.tls.load() {
                            problems.push(format!("connection.url: {problem}"));
                        }
                    }
                }
                if problems.is_empty() {
                    Ok(config)
                } else {
                    Err(RegistryError::Invalid(problems))
                }
            }
            Err(mut parse_problems) => {
                parse_problems.extend(problems);
                Err(RegistryError::Invalid(parse_problems))
            }
        }
    }
}

/// Replaces `path` with `bytes` atomically and durably, readable by the
/// server's user only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temp = durable::temp_path(path);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| durable::publish(&temp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// Sets `path`'s permission bits to `mode` unless they are that already.
fn make_private(path: &Path, mode: u32) -> std::io::Result<()> {
    let current = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if current != mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

fn io_error(path: &Path, source: std::io::Error) -> RegistryError {
    RegistryError::Io {
        path: path.to_path_buf(),
        source,
    }
}
