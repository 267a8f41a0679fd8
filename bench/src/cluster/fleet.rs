//! The deployments `gamay bench --cluster` compares: one `gamay serve`
//! (the single node), and a cluster of one controller, one broker and
//! three servers on loopback, sharing a fresh PostgreSQL schema as the
//! metastore and a directory as the deep store.
//!
//! The schema is created on the way in and dropped on the way out; it is
//! the only thing the bench says to PostgreSQL. Everything else goes to
//! the nodes over HTTP, as for the single node.

use std::path::{Path, PathBuf};

use crate::server::{prepare_data_dir, ServerProcess};
use crate::BenchError;

/// Servers in the cluster.
pub const SERVERS: usize = 3;

/// A running cluster; its nodes are killed and its schema dropped when it
/// is dropped.
pub struct Fleet {
    pub controller: ServerProcess,
    pub broker: ServerProcess,
    pub servers: Vec<ServerProcess>,
    metastore: Metastore,
}

impl Fleet {
    /// Starts the cluster under `dir` with its metastore in a new schema of
    /// the database at `postgres`; the servers first, so the segments
    /// loaded next have somewhere to go.
    pub fn start(program: &Path, dir: &Path, postgres: &str) -> Result<Fleet, BenchError> {
        prepare_data_dir(dir)?;
        let deep = dir.join("deep");
        std::fs::create_dir_all(&deep).map_err(|err| BenchError::io(&deep, err))?;
        let metastore = Metastore::create(postgres)?;
        let deep_store = format!("file://{}", absolute(&deep)?.display());
        let node = |id: &str, role: &str| {
            let extra = [
                "--role",
                role,
                "--node-id",
                id,
                "--metastore",
                &metastore.url,
                "--deep-store",
                &deep_store,
            ]
            .map(str::to_string);
            let log = dir.join(format!("{id}.log"));
            ServerProcess::start_with(program, &dir.join(id), &extra, Some(&log))
        };
        let servers = (0..SERVERS)
            .map(|i| node(&format!("server-{i}"), "server"))
            .collect::<Result<Vec<_>, _>>()?;
        let controller = node("controller", "controller")?;
        let broker = node("broker", "broker")?;
        Ok(Fleet {
            controller,
            broker,
            servers,
            metastore,
        })
    }

    /// Every node's process, for their memory.
    pub fn nodes(&self) -> Vec<&ServerProcess> {
        let mut nodes = vec![&self.controller, &self.broker];
        nodes.extend(&self.servers);
        nodes
    }

    /// Stops the nodes, then drops the schema.
    pub fn stop(self) {
        let Fleet {
            controller,
            broker,
            servers,
            metastore,
        } = self;
        drop((controller, broker, servers));
        drop(metastore);
    }
}

/// Refuses a `--cluster` URL that is not PostgreSQL's.
pub fn check_url(url: &str) -> Result<(), BenchError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(());
    }
    Err(BenchError::Usage(
        "--cluster takes a PostgreSQL URL: postgres://user:password@host:port/database".into(),
    ))
}

fn absolute(path: &Path) -> Result<PathBuf, BenchError> {
    std::fs::canonicalize(path).map_err(|err| BenchError::io(path, err))
}

/// The fleet's schema in the PostgreSQL database the user named.
struct Metastore {
    /// The user's URL, naming the schema in `search_path`.
    url: String,
    base: String,
    schema: String,
}

impl Metastore {
    /// Creates `gamay_bench_<pid>` (dropping a leftover of that name).
    fn create(base: &str) -> Result<Metastore, BenchError> {
        check_url(base)?;
        let schema = format!("gamay_bench_{}", std::process::id());
        execute(
            base,
            &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"),
        )?;
        let separator = if base.contains('?') { '&' } else { '?' };
        Ok(Metastore {
            url: format!("{base}{separator}options=-c%20search_path%3D{schema}"),
            base: base.to_string(),
            schema,
        })
    }
}

impl Drop for Metastore {
    fn drop(&mut self) {
        let drop = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
        if let Err(err) = execute(&self.base, &drop) {
            crate::step(format!("could not drop schema {}: {err}", self.schema));
        }
    }
}

/// Runs `sql` (statements separated by `;`) on the database at `url`.
fn execute(url: &str, sql: &str) -> Result<(), BenchError> {
    let failed = |err: tokio_postgres::Error| {
        BenchError::Cluster(format!("PostgreSQL at {}: {err}", redact(url)))
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| BenchError::Cluster(format!("cannot start a runtime: {err}")))?;
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .map_err(failed)?;
        let connection = tokio::spawn(connection);
        let result = client.batch_execute(sql).await.map_err(failed);
        drop(client);
        let _ = connection.await;
        result
    })
}

/// `url` without its password, for messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact("postgres://gamay:secret@127.0.0.1:5432/db"),
            "postgres://gamay:***@127.0.0.1:5432/db"
        );
        assert_eq!(redact("postgres://host/db"), "postgres://host/db");
    }

    #[test]
    fn other_urls_are_refused() {
        let err = check_url("mysql://host/db").unwrap_err();
        assert!(err.to_string().contains("PostgreSQL URL"), "{err}");
    }
}
