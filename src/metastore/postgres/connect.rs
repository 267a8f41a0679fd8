//! Connections to the metastore's database, built in one place, each with
//! the TLS the URL asks for (`tls.rs`).
//!
//! Every connection of a [`super::PgMetastore`] is opened on, and driven
//! by, the runtime that connected the metastore, whichever runtime a later
//! call comes from: a caller on another runtime (the catalog adapter's)
//! then never owns a socket that dies with it. Each connection names its
//! role in `application_name` (`gamay/writer`, `gamay/leader`, ...), so an
//! operator can tell them apart in `pg_stat_activity`.

use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use tokio_postgres::{Client, Config, Connection, Socket};

use super::super::{Error, Result};
use super::tls::Tls;
use crate::pgtls::RustlsStream;

/// A connection whose driver the caller polls (the listener reads its
/// notifications that way).
pub(super) type PgConnection = Connection<Socket, RustlsStream>;

/// Opens the metastore's connections.
#[derive(Clone)]
pub(super) struct Connector {
    config: Config,
    tls: Tls,
    runtime: Handle,
}

impl Connector {
    /// Connections to `config`'s database with `tls`, on the current
    /// runtime.
    pub fn new(mut config: Config, tls: Tls) -> Connector {
        config.ssl_mode(tls.mode);
        Connector {
            config,
            tls,
            runtime: Handle::current(),
        }
    }

    /// A connection for `role`, its driver left to the caller.
    pub async fn open(&self, role: &str) -> Result<(Client, PgConnection)> {
        let mut config = self.config.clone();
        let base = config.get_application_name().unwrap_or("gamay").to_string();
        config.application_name(format!("{base}/{role}"));
        let tls = self.tls.connector();
        let connecting = self.runtime.spawn(async move { config.connect(tls).await });
        match connecting.await {
            Ok(Ok(connected)) => Ok(connected),
            Ok(Err(err)) => Err(Error::Connect(err.to_string())),
            Err(err) => Err(Error::Connect(format!("the connecting task failed: {err}"))),
        }
    }

    /// A connection for `role` whose driver runs until the client is
    /// dropped (or the server goes away: then the client reports itself
    /// closed).
    pub async fn client(&self, role: &'static str) -> Result<Client> {
        let (client, connection) = self.open(role).await?;
        self.spawn(async move {
            if let Err(err) = connection.await {
                tracing::warn!(role, error = %err, "a metastore connection closed");
            }
        });
        Ok(client)
    }

    /// Runs a task of the metastore on its runtime.
    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.runtime.spawn(task)
    }
}
