//! The MySQL/MariaDB target (mysql_async). A segment's transaction first
//! records the segment in the watermark table (a second attempt fails there
//! with a duplicate key and rolls back), then writes the rows with bound
//! multi-row `INSERT` statements (`ON DUPLICATE KEY UPDATE` for `upsert`),
//! single-row `UPDATE`s for `update`, and `DELETE ... IN` for deletes.
//! TLS is mysql_async's, on rustls.

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, DriverError, IoError, OptsBuilder, Params, SslOpts, TxOpts, Value};

use super::dialect::{Dialect, InsertMode};
use super::encode::mysql_value;
use super::error::{Db, Error, Result};
use super::export::{Exported, Outcome, Target, WriteJob};
use super::tls::{Mode, TlsConfig, Verify};
use super::JdbcConfig;

/// MySQL's error for a duplicate key.
const ER_DUP_ENTRY: u16 = 1062;
/// Placeholders one statement may carry.
const MAX_PLACEHOLDERS: usize = 65_535;

pub struct MySql {
    conn: Conn,
}

impl MySql {
    pub async fn connect(config: &JdbcConfig) -> Result<MySql> {
        let (user, password) = config.credentials()?;
        let url = &config.url;
        let tls = &config.tls;
        let opts = OptsBuilder::default()
            .ip_or_hostname(url.host.clone())
            .tcp_port(url.port)
            .db_name(Some(url.database.clone()))
            .user(user)
            .pass(password)
            .prefer_socket(false);
        let ssl = ssl_opts(tls)?;
        let mut connected = Conn::new(opts.clone().ssl_opts(ssl.clone())).await;
        // PREFERRED: plain when the server offers no TLS or the handshake fails.
        if let (Err(err), Some(_), Mode::Prefer) = (&connected, &ssl, tls.mode) {
            if tls_failed(err) {
                connected = Conn::new(opts.ssl_opts(None)).await;
            }
        }
        let conn = connected.map_err(|err| {
            let (url, mode) = (
                url.to_string(),
                format!("sslMode={}", tls.mode.mysql_name()),
            );
            match err {
                mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer) => {
                    Error::NoTls { url, mode }
                }
                other => Error::Connect {
                    url,
                    mode,
                    reason: Db::MySql(other),
                },
            }
        })?;
        Ok(MySql { conn })
    }
}

/// mysql_async 0.37.1 skips the host name check it is told to skip only
/// when the verifier's error text holds `NotValidForName`, which rustls
/// 0.23's message for a name mismatch no longer does (mysql_async issue
/// #404, fixed upstream in #408 but not released). That message does quote
/// the name checked, so VERIFY_CA checks this one, which no certificate
/// holds: every certificate that chains to the CA (checked first) then
/// fails on its name alone, and that failure is skipped. The name also goes
/// out as SNI, which MySQL and MariaDB do not look at.
const VERIFY_CA_NAME: &str = "NotValidForName.invalid";

/// mysql_async's TLS options for `tls`; `None` for plain connections.
fn ssl_opts(tls: &TlsConfig) -> Result<Option<SslOpts>> {
    if tls.mode == Mode::Disable {
        return Ok(None);
    }
    let loaded = tls.load()?;
    let mut ssl = SslOpts::default();
    if let Some(ca) = &loaded.ca {
        ssl = ssl
            .with_root_certs(vec![ca.pem().into()])
            .with_disable_built_in_roots(true);
    }
    Ok(Some(match tls.verify() {
        Verify::Nothing => ssl.with_danger_accept_invalid_certs(true),
        Verify::Chain => ssl
            .with_danger_skip_domain_validation(true)
            .with_danger_tls_hostname_override(Some(VERIFY_CA_NAME)),
        Verify::ChainAndName => ssl,
    }))
}

/// Whether connecting failed for want of TLS: the server offers none, or
/// the handshake failed (rustls' errors reach mysql_async as I/O errors).
fn tls_failed(err: &mysql_async::Error) -> bool {
    match err {
        mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer) => true,
        mysql_async::Error::Io(IoError::Tls(_)) => true,
        mysql_async::Error::Io(IoError::Io(err)) => err
            .get_ref()
            .is_some_and(|inner| inner.is::<tokio_rustls::rustls::Error>()),
        _ => false,
    }
}

fn row_values(job: &WriteJob<'_>, columns: &[usize], row: u32, out: &mut Vec<Value>) {
    for index in columns {
        out.push(mysql_value(job.values[*index].as_ref(), row as usize));
    }
}

#[async_trait]
impl Target for MySql {
    fn dialect(&self) -> Dialect {
        Dialect::MySql
    }

    async fn exported(&mut self, connector: &str) -> Result<Vec<Exported>> {
        let dialect = Dialect::MySql;
        self.conn
            .query_drop(dialect.watermark_ddl())
            .await
            .map_err(|err| Error::Watermark {
                action: "create the watermark table",
                source: Db::MySql(err),
            })?;
        let rows: Vec<(String, String, i64)> = self
            .conn
            .exec(dialect.watermark_select(), (connector,))
            .await
            .map_err(|err| Error::Watermark {
                action: "read the watermark",
                source: Db::MySql(err),
            })?;
        Ok(rows
            .into_iter()
            .map(|(table, segment, rows)| Exported {
                table,
                segment,
                rows,
            })
            .collect())
    }

    async fn table_columns(&mut self, table: &str) -> Result<Option<Vec<String>>> {
        let (schema, name) = match table.split_once('.') {
            Some((schema, name)) => (Some(schema.to_string()), name.to_string()),
            None => (None, table.to_string()),
        };
        let columns: Vec<String> = self
            .conn
            .exec(
                "SELECT CAST(column_name AS CHAR) FROM information_schema.columns \
                 WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ? \
                 ORDER BY ordinal_position",
                (schema, name),
            )
            .await
            .map_err(|err| Error::Columns {
                table: table.to_string(),
                source: Db::MySql(err),
            })?;
        Ok((!columns.is_empty()).then_some(columns))
    }

    async fn execute(&mut self, sql: &str) -> Result<()> {
        self.conn
            .query_drop(sql)
            .await
            .map_err(|err| Db::MySql(err).into())
    }

    async fn write(&mut self, job: &WriteJob<'_>) -> Result<Outcome> {
        let dialect = Dialect::MySql;
        let mut tx = self
            .conn
            .start_transaction(TxOpts::default())
            .await
            .map_err(Db::MySql)?;
        let total = (job.rows.len() + job.deletes.len()) as i64;
        let recorded = tx
            .exec_drop(
                dialect.watermark_insert(),
                (job.connector, job.source_table, job.segment, total),
            )
            .await;
        if let Err(err) = recorded {
            let duplicate =
                matches!(&err, mysql_async::Error::Server(server) if server.code == ER_DUP_ENTRY);
            let _ = tx.rollback().await;
            if duplicate {
                return Ok(Outcome::AlreadyExported);
            }
            return Err(Error::Watermark {
                action: "record the watermark",
                source: Db::MySql(err),
            });
        }
        let fail = |what: &'static str, err: mysql_async::Error| Error::Step {
            what,
            table: job.table.to_string(),
            source: Db::MySql(err),
        };
        let all: Vec<usize> = (0..job.columns.len()).collect();
        let key_index: Vec<usize> = job
            .key
            .iter()
            .filter_map(|name| job.columns.iter().position(|c| c == name))
            .collect();
        match job.mode {
            InsertMode::Insert | InsertMode::Upsert => {
                let per_statement = job
                    .batch_size
                    .min(MAX_PLACEHOLDERS / job.columns.len().max(1))
                    .max(1);
                let mut params = Vec::with_capacity(per_statement * job.columns.len());
                for chunk in job.rows.chunks(per_statement) {
                    let sql = dialect.insert_values(
                        job.table,
                        job.columns,
                        chunk.len(),
                        job.mode,
                        job.key,
                    )?;
                    params.clear();
                    for row in chunk {
                        row_values(job, &all, *row, &mut params);
                    }
                    tx.exec_drop(sql, Params::Positional(std::mem::take(&mut params)))
                        .await
                        .map_err(|err| fail("writing", err))?;
                }
            }
            InsertMode::Update => {
                let values: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|index| !key_index.contains(index))
                    .collect();
                let sql = dialect.update_row(job.table, job.columns, job.key)?;
                for row in job.rows {
                    let mut params = Vec::with_capacity(job.columns.len());
                    row_values(job, &values, *row, &mut params);
                    row_values(job, &key_index, *row, &mut params);
                    tx.exec_drop(&sql, Params::Positional(params))
                        .await
                        .map_err(|err| fail("updating", err))?;
                }
            }
        }
        let per_delete = (MAX_PLACEHOLDERS / job.key.len().max(1)).min(job.batch_size.max(1));
        for chunk in job.deletes.chunks(per_delete) {
            let sql = dialect.delete_rows(job.table, job.key, chunk.len())?;
            let mut params = Vec::with_capacity(chunk.len() * job.key.len());
            for row in chunk {
                row_values(job, &key_index, *row, &mut params);
            }
            tx.exec_drop(sql, Params::Positional(params))
                .await
                .map_err(|err| fail("deleting from", err))?;
        }
        crate::faults::reach("export.before_commit");
        tx.commit().await.map_err(|err| fail("committing", err))?;
        Ok(Outcome::Written {
            rows: job.rows.len() as u64,
            deleted: job.deletes.len() as u64,
        })
    }
}
