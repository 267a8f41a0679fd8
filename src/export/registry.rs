//! The connectors of a server: their configs, durable under
//! `<data-dir>/catalog/connectors/<name>.json` (with whether they are
//! paused), and one background job each. Creating, changing, pausing,
//! resuming, restarting and deleting go through here; a server that starts
//! again resumes every connector where its watermark stands.
//!
//! Connector files hold passwords and keys: they are written readable by
//! the server's user only (0600, in a 0700 directory), and files left
//! readable by an older version are tightened at start.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::config::{self, ConnectorConfig};
use super::runner::{Control, Job, Status};
use super::s3::store::FileStoreRoots;
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
}

struct Entry {
    config: Arc<ConnectorConfig>,
    paused: bool,
    status: Arc<Mutex<Status>>,
    control: watch::Sender<Control>,
    job: Option<tokio::task::JoinHandle<()>>,
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
}

pub struct Connectors {
    data_dir: PathBuf,
    file_roots: Arc<FileStoreRoots>,
    catalog: Arc<Catalog>,
    server: Arc<Server>,
    entries: Mutex<BTreeMap<String, Entry>>,
    /// Serializes changes (create, put, pause, delete) end to end.
    changes: Mutex<()>,
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
            entries: Mutex::new(BTreeMap::new()),
            changes: Mutex::new(()),
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
                Ok((config, paused)) => connectors.launch(config, paused),
                Err(err) => {
                    tracing::error!(file = %path.display(), error = %err, "connector left out")
                }
            }
        }
        Ok(connectors)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        self.entries.locked()
    }

    fn lock_changes(&self) -> std::sync::MutexGuard<'_, ()> {
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

    fn store(&self, config: &ConnectorConfig, paused: bool) -> Result<(), RegistryError> {
        let stored = Stored {
            name: config.name.clone(),
            config: config.raw.clone(),
            paused,
        };
        let path = self.file(&config.name);
        let bytes =
            serde_json::to_vec_pretty(&stored).map_err(|err| io_error(&path, err.into()))?;
        write_private(&path, &bytes).map_err(|err| io_error(&path, err))
    }

    fn launch(&self, config: ConnectorConfig, paused: bool) {
        let config = Arc::new(config);
        self.stop_job(&config.name);
        let state_dir = state::state_dir(&self.data_dir, &config.name);
        let loaded = state::load(&state_dir).unwrap_or_else(|err| {
            tracing::error!(connector = %config.name, error = %err, "connector state unreadable; starting over (exports are idempotent)");
            Default::default()
        });
        let status = Arc::new(Mutex::new(Status {
            state: loaded,
            ..Status::default()
        }));
        let (control, receiver) = watch::channel(Control {
            paused,
            ..Control::default()
        });
        let job = Job {
            config: config.clone(),
            catalog: self.catalog.clone(),
            server: self.server.clone(),
            file_roots: self.file_roots.clone(),
            state_dir,
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
        self.lock().insert(
            name,
            Entry {
                config,
                paused,
                status,
                control,
                job,
            },
        );
    }

    /// Creates a connector. Its name must be new.
    pub fn create(
        &self,
        name: &str,
        mut raw: BTreeMap<String, String>,
    ) -> Result<(), RegistryError> {
        let _changes = self.lock_changes();
        if self.lock().contains_key(name) {
            return Err(RegistryError::Exists(name.to_string()));
        }
        secrets::restore_hidden(&mut raw, None).map_err(RegistryError::Invalid)?;
        let config = self.parse_new(name, raw)?;
        self.store(&config, false)?;
        self.launch(config, false);
        Ok(())
    }

    /// Creates or replaces a connector's config; true when it was created.
    /// A replaced connector restarts with the new settings, keeping its
    /// watermark and its paused state.
    pub fn put(
        &self,
        name: &str,
        mut raw: BTreeMap<String, String>,
    ) -> Result<bool, RegistryError> {
        let _changes = self.lock_changes();
        // A config read back shows secrets as `[hidden]`; sent again, they
        // keep their stored values while the target stays the same.
        let stored = self.lock().get(name).map(|entry| entry.config.raw.clone());
        secrets::restore_hidden(&mut raw, stored.as_ref()).map_err(RegistryError::Invalid)?;
        let config = self.parse_new(name, raw)?;
        let paused = self.lock().get(name).map(|entry| entry.paused);
        self.store(&config, paused.unwrap_or(false))?;
        self.launch(config, paused.unwrap_or(false));
        Ok(paused.is_none())
    }

    pub fn names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    pub fn get(&self, name: &str) -> Result<ConnectorView, RegistryError> {
        let entries = self.lock();
        let entry = entries
            .get(name)
            .ok_or_else(|| RegistryError::NotFound(name.to_string()))?;
        let status = entry.status.locked().clone();
        Ok(ConnectorView {
            config: entry.config.clone(),
            paused: entry.paused,
            status,
        })
    }

    /// Pauses or resumes a connector (durably).
    pub fn set_paused(&self, name: &str, paused: bool) -> Result<(), RegistryError> {
        let _changes = self.lock_changes();
        let config = {
            let entries = self.lock();
            let entry = entries
                .get(name)
                .ok_or_else(|| RegistryError::NotFound(name.to_string()))?;
            entry.config.clone()
        };
        self.store(&config, paused)?;
        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(name) {
            entry.paused = paused;
            entry.control.send_modify(|control| control.paused = paused);
        }
        Ok(())
    }

    /// Reconnects and retries at once.
    pub fn restart(&self, name: &str) -> Result<(), RegistryError> {
        let entries = self.lock();
        let entry = entries
            .get(name)
            .ok_or_else(|| RegistryError::NotFound(name.to_string()))?;
        entry.control.send_modify(|control| control.restarts += 1);
        Ok(())
    }

    /// Stops a connector and forgets it: its config and its local state
    /// (a JDBC target keeps its watermark rows).
    pub fn delete(&self, name: &str) -> Result<(), RegistryError> {
        let _changes = self.lock_changes();
        let mut entry = self
            .lock()
            .remove(name)
            .ok_or_else(|| RegistryError::NotFound(name.to_string()))?;
        stop(&entry.control, entry.job.take());
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
