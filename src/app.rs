//! The application, wired: the catalog, the tables' data, the broker with
//! its engines, the real-time consumers, the connectors, the metrics and
//! authentication, opened from the process settings. The HTTP layer
//! (`api`) serves an [`App`]; tests and tools open one without it.

use std::sync::Arc;

use crate::auth::audit::AuditLog;
use crate::auth::Authenticator;
use crate::catalog::Catalog;
use crate::cluster::remote::Remote;
use crate::cluster::routing::Router;
use crate::cluster::scatter::ClusterScatter;
use crate::cluster::Cluster;
use crate::config::ServerConfig;
use crate::error::{Error, Result};
use crate::export::Connectors;
use crate::metrics::{Metrics, StateCollector};
use crate::query::multistage::MultiStage;
use crate::query::{Broker, LocalServer, QueryServer, Scatter, Single};
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
    /// The cluster this node is part of; `None` for the single node.
    pub cluster: Option<Arc<Cluster>>,
    /// The broker's routing, on a node of a cluster that brokers.
    pub router: Option<Arc<Router>>,
}

impl App {
    /// Opens the catalog and the tables' data under the data directory,
    /// then starts the tables' consumers and the connectors' jobs: the
    /// single node.
    pub fn open(config: ServerConfig) -> Result<App> {
        let catalog = Catalog::open(&config.data_dir)?;
        App::build(config, catalog, None)
    }

    /// Opens the application for `config`: the single node, or with a
    /// metastore, a node of a cluster reachable at `url` that joins it.
    pub async fn start(config: ServerConfig, url: String) -> Result<App> {
        if !config.cluster.is_cluster() {
            return App::open(config);
        }
        let cluster = Arc::new(Cluster::connect(&config.cluster, url).await?);
        let store = crate::metastore::MetastoreCatalogStore::new(cluster.metastore.clone())?;
        let app = tokio::task::block_in_place(|| {
            let catalog = Catalog::open_with(Box::new(store))?;
            App::build(config, catalog, Some(cluster))
        })?;
        app.join().await?;
        Ok(app)
    }

    /// Starts this node's part in its cluster.
    async fn join(&self) -> Result<()> {
        let Some(cluster) = &self.cluster else {
            return Ok(());
        };
        crate::cluster::node::join(cluster).await?;
        let consumers = if cluster.role.serves() {
            let streams =
                crate::cluster::stream::Streams::new(cluster.clone(), self.catalog.clone());
            self.realtime.set_coordinator(streams.clone());
            streams.follow(self.realtime.clone());
            let (catalog, realtime) = (self.catalog.clone(), self.realtime.clone());
            tokio::task::spawn_blocking(move || {
                crate::cluster::catalog::consume(&catalog, &realtime, &[])
            })
            .await
            .map_err(|err| Error::Serve(std::io::Error::other(err)))?;
            Some(self.realtime.clone())
        } else {
            None
        };
        crate::cluster::catalog::follow(
            cluster,
            self.catalog.clone(),
            self.server.clone(),
            consumers,
        );
        // Any node takes the API's calls: segments ingested here go to the
        // deep store and the metastore before they commit, and leave this
        // node once placed on others.
        self.server
            .set_publisher(Arc::new(crate::cluster::publish::ToCluster {
                cluster: cluster.clone(),
                catalog: self.catalog.clone(),
            }));
        crate::cluster::holdings::follow(cluster, self.server.clone());
        crate::cluster::connectors::follow(
            cluster,
            self.connectors.clone(),
            self.server.clone(),
            &self.config.data_dir,
        );
        if cluster.role.controls() {
            crate::cluster::controller::run(cluster, self.catalog.clone());
        }
        if let Some(router) = &self.router {
            if let Err(err) = router.refresh(cluster).await {
                tracing::warn!(error = %err, "the first routing refresh failed; retrying");
            }
            router.follow(cluster);
        }
        Ok(())
    }

    fn build(config: ServerConfig, catalog: Catalog, cluster: Option<Arc<Cluster>>) -> Result<App> {
        let auth = match &config.auth_file {
            Some(path) => Some(Arc::new(Authenticator::from_file(path)?)),
            None => None,
        };
        if let (Some(auth), Some(_)) = (&auth, &cluster) {
            // Nodes call each other's internal routes as an administrator.
            let admin = config
                .cluster
                .credentials
                .as_deref()
                .and_then(|header| auth.authenticate(Some(header)).ok())
                .is_some_and(|principal| principal.is_admin());
            if !admin {
                return Err(Error::ClusterCredentials);
            }
        }
        let audit = AuditLog::open(&config.data_dir).map_err(|source| Error::Audit {
            path: config.data_dir.join(crate::auth::audit::FILE_NAME),
            source,
        })?;
        let server = Arc::new(Server::open(&config.data_dir, &catalog)?);
        let catalog = Arc::new(catalog);
        let threads = crate::query::workload::cores();
        let workload = &config.workload;
        let local = Arc::new(LocalServer::new(server.clone(), threads, workload)?);
        let mut multistage = MultiStage::new(
            catalog.clone(),
            server.clone(),
            threads,
            workload.background_nice,
        )
        .map_err(Error::Serve)?;
        // Any node of a cluster answers queries over the whole cluster.
        let router = cluster.as_ref().map(|_| Arc::new(Router::empty()));
        let scatter: Arc<dyn Scatter> = match (&cluster, &router) {
            (Some(cluster), Some(router)) => {
                let own: Option<Arc<dyn QueryServer>> = if cluster.role.serves() {
                    Some(local.clone())
                } else {
                    None
                };
                Arc::new(ClusterScatter::new(
                    router.clone(),
                    cluster.node.id.clone(),
                    own,
                    Remote::new(config.cluster.credentials.clone()),
                    cluster.clone(),
                    catalog.clone(),
                ))
            }
            _ => Arc::new(Single(local.clone())),
        };
        if cluster.is_some() {
            multistage.scan_through(scatter.clone());
        }
        let broker = Broker::new(catalog.clone(), scatter, Arc::new(multistage), workload);
        let realtime = Arc::new(Realtime::new(
            server.clone(),
            crate::query::transform::compile,
        ));
        if cluster.is_none() {
            realtime.start_all(&catalog);
        }
        let connectors = match &cluster {
            None => Connectors::start(
                &config.data_dir,
                &config.file_store_roots,
                catalog.clone(),
                server.clone(),
            )?,
            Some(cluster) => Connectors::start_shared(
                &config.data_dir,
                &config.file_store_roots,
                catalog.clone(),
                server.clone(),
                Arc::new(crate::cluster::connectors::MetastoreConfigs {
                    metastore: cluster.metastore.clone(),
                }),
                cluster.node.id.clone(),
            )?,
        };
        let connectors = Arc::new(connectors);
        let mut metrics = Metrics::new(StateCollector {
            catalog: catalog.clone(),
            server: server.clone(),
            realtime: realtime.clone(),
            connectors: connectors.clone(),
            queries_running: broker.running(),
            queries_queued: broker.queued(),
            result_cache: local.result_cache(),
        });
        if let Some(cluster) = &cluster {
            metrics = metrics.with_cluster(&cluster.metrics);
        }
        let metrics = Arc::new(metrics);
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
            cluster,
            router,
        })
    }

    /// Stops the connectors' jobs, then the consumers (sealing nothing new;
    /// what they consumed since the last seal is read again on restart).
    /// Blocks until the consumer threads have stopped.
    pub fn shutdown(&self) {
        self.connectors.stop_all();
        self.realtime.shutdown();
    }

    /// Leaves the cluster, if any, so others take over this node's work
    /// at once.
    pub async fn leave(&self) {
        if let Some(cluster) = &self.cluster {
            cluster.stop().await;
        }
    }
}
