//! The application, wired: the catalog, the tables' data, the broker with
//! its engines, the real-time consumers, the connectors, the metrics and
//! authentication, opened from the process settings. The HTTP layer
//! (`api`) serves an [`App`]; tests and tools open one without it.

use std::sync::Arc;

use crate::auth::audit::AuditLog;
use crate::auth::Authenticator;
use crate::catalog::Catalog;
use crate::config::ServerConfig;
use crate::error::{Error, Result};
use crate::export::Connectors;
use crate::metrics::{Metrics, StateCollector};
use crate::query::multistage::MultiStage;
use crate::query::{Broker, LocalServer, Single};
use crate::server::realtime::Realtime;
use crate::server::Server;

/// Everything a running Gamay holds.
pub struct App {
    pub catalog: Arc<Catalog>,
    pub server: Arc<Server>,
    pub config: Arc<ServerConfig>,
    pub broker: Arc<Broker>,
    /// This node's segments, as the broker's scatter asks them.
    pub local: Arc<LocalServer>,
    pub realtime: Arc<Realtime>,
    pub connectors: Arc<Connectors>,
    pub metrics: Arc<Metrics>,
    /// `None` when authentication is off.
    pub auth: Option<Arc<Authenticator>>,
    pub audit: Arc<AuditLog>,
}

impl App {
    /// Opens the catalog and the tables' data under the data directory,
    /// then starts the tables' consumers and the connectors' jobs.
    pub fn open(config: ServerConfig) -> Result<App> {
        let auth = match &config.auth_file {
            Some(path) => Some(Arc::new(Authenticator::from_file(path)?)),
            None => None,
        };
        let catalog = Catalog::open(&config.data_dir)?;
        let audit = AuditLog::open(&config.data_dir).map_err(|source| Error::Audit {
            path: config.data_dir.join(crate::auth::audit::FILE_NAME),
            source,
        })?;
        let server = Arc::new(Server::open(&config.data_dir, &catalog)?);
        let catalog = Arc::new(catalog);
        let threads = crate::query::workload::cores();
        let workload = &config.workload;
        let local = Arc::new(LocalServer::new(server.clone(), threads, workload)?);
        let multistage = MultiStage::new(
            catalog.clone(),
            server.clone(),
            threads,
            workload.background_nice,
        )
        .map_err(Error::Serve)?;
        let broker = Broker::new(
            catalog.clone(),
            Arc::new(Single(local.clone())),
            Arc::new(multistage),
            workload,
        );
        let realtime = Arc::new(Realtime::new(server.clone()));
        realtime.start_all(&catalog);
        let connectors = Connectors::start(
            &config.data_dir,
            &config.file_store_roots,
            catalog.clone(),
            server.clone(),
        )?;
        let connectors = Arc::new(connectors);
        let metrics = Arc::new(Metrics::new(StateCollector {
            catalog: catalog.clone(),
            server: server.clone(),
            realtime: realtime.clone(),
            connectors: connectors.clone(),
            queries_running: broker.running(),
            queries_queued: broker.queued(),
        }));
        Ok(App {
            catalog,
            server,
            config: Arc::new(config),
            broker: Arc::new(broker),
            local,
            realtime,
            connectors,
            metrics,
            auth,
            audit: Arc::new(audit),
        })
    }

    /// Stops the connectors' jobs, then the consumers (sealing nothing new;
    /// what they consumed since the last seal is read again on restart).
    /// Blocks until the consumer threads have stopped.
    pub fn shutdown(&self) {
        self.connectors.stop_all();
        self.realtime.shutdown();
    }
}
