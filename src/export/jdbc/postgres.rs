//! The PostgreSQL target (tokio-postgres). A segment's transaction first
//! records the segment in the watermark table (a second attempt fails there
//! and rolls back), then streams the rows with `COPY`: straight into the
//! table for `insert`, or into a temporary staging table merged with
//! `INSERT ... ON CONFLICT` (`upsert`) or `UPDATE ... FROM` (`update`).
//! Deletes are staged the same way and applied with `DELETE ... USING`.

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::SinkExt;
use tokio_postgres::config::{SslMode, SslNegotiation};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Transaction};

use super::dialect::{Dialect, InsertMode};
use super::encode::pg_csv;
use super::error::{Db, Error, Result};
use super::export::{Exported, Outcome, Target, WriteJob};
use super::tls::postgres::{client_config, MakeRustls};
use super::tls::Mode;
use super::JdbcConfig;

/// CSV bytes sent per `COPY` message.
const COPY_CHUNK_ROWS: usize = 8192;
const STAGE: &str = "gamay_export_stage";
const STAGE_DELETE: &str = "gamay_export_stage_delete";

pub struct Postgres {
    client: Client,
}

impl Postgres {
    pub async fn connect(config: &JdbcConfig) -> Result<Postgres> {
        let (user, password) = config.credentials()?;
        let url = &config.url;
        let mut pg = tokio_postgres::Config::new();
        pg.host(&url.host)
            .port(url.port)
            .dbname(&url.database)
            .application_name("gamay-export")
            .connect_timeout(std::time::Duration::from_secs(10));
        if let Some(user) = &user {
            pg.user(user);
        }
        if let Some(password) = &password {
            pg.password(password);
        }
        let tls = &config.tls;
        if tls.direct {
            pg.ssl_negotiation(SslNegotiation::Direct);
        }
        let rustls = match tls.mode {
            Mode::Disable => None,
            _ => Some(client_config(tls, tls.load()?)?),
        };
        // libpq's fallbacks: `allow` tries TLS when a plain session is
        // refused by pg_hba.conf, `prefer` tries a plain one when TLS fails
        // or is refused.
        let attempts: &[SslMode] = match tls.mode {
            Mode::Disable => &[SslMode::Disable],
            Mode::Allow => &[SslMode::Disable, SslMode::Require],
            Mode::Prefer => &[SslMode::Prefer, SslMode::Disable],
            _ => &[SslMode::Require],
        };
        let mut failure = None;
        for (attempt, ssl_mode) in attempts.iter().enumerate() {
            let connector = MakeRustls::new(rustls.clone());
            pg.ssl_mode(*ssl_mode);
            let err = match pg.connect(connector.clone()).await {
                Ok((client, connection)) => {
                    tokio::spawn(async move {
                        if let Err(err) = connection.await {
                            tracing::warn!(error = %err, "PostgreSQL connection closed");
                        }
                    });
                    let encrypted = connector.handshake().done();
                    tracing::debug!(database = %url.target(), encrypted, sslmode = tls.mode.pg_name(), "connected to PostgreSQL");
                    return Ok(Postgres { client });
                }
                Err(err) => err,
            };
            let refused = err.code() == Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION);
            let handshake = connector.handshake();
            let again = match (tls.mode, attempt) {
                (Mode::Allow, 0) => refused,
                (Mode::Prefer, 0) => handshake.failed() || (handshake.done() && refused),
                _ => false,
            };
            failure = Some(err);
            if !again {
                break;
            }
        }
        let mode = format!("sslmode={}", tls.mode.pg_name());
        Err(match failure {
            Some(err) => Error::Connect {
                url: url.to_string(),
                mode,
                reason: Db::Postgres(err),
            },
            None => Error::Internal("no connection was attempted"),
        })
    }
}

/// A PostgreSQL error as one line: the server's message and SQLSTATE, or
/// the client's error and its causes.
pub(super) fn describe(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut text = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(inner) = source {
                text.push_str(&format!(": {inner}"));
                source = inner.source();
            }
            text
        }
    }
}

fn idents(dialect: Dialect, names: &[&str]) -> Result<Vec<String>> {
    names
        .iter()
        .map(|name| Ok(dialect.quote_ident(name)?))
        .collect()
}

async fn copy_rows(
    tx: &Transaction<'_>,
    table: &str,
    columns: &[String],
    values: &[arrow_array::ArrayRef],
    rows: &[u32],
) -> Result<()> {
    let failed = |err| Error::Step {
        what: "COPY into",
        table: table.to_string(),
        source: Db::Postgres(err),
    };
    let sql = format!(
        "COPY {table} ({}) FROM STDIN (FORMAT csv)",
        columns.join(", ")
    );
    let sink = tx.copy_in::<_, Bytes>(&sql).await.map_err(failed)?;
    futures_util::pin_mut!(sink);
    let mut buffer = Vec::new();
    for chunk in rows.chunks(COPY_CHUNK_ROWS) {
        buffer.clear();
        pg_csv(values, chunk, &mut buffer);
        sink.send(Bytes::copy_from_slice(&buffer))
            .await
            .map_err(failed)?;
    }
    sink.finish().await.map_err(failed)?;
    Ok(())
}

#[async_trait]
impl Target for Postgres {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn exported(&mut self, connector: &str) -> Result<Vec<Exported>> {
        let dialect = Dialect::Postgres;
        if let Err(err) = self.client.batch_execute(&dialect.watermark_ddl()).await {
            // Two connectors creating it at once: one wins, the other sees
            // the table (or its type) appear under it.
            let raced = err.code() == Some(&SqlState::UNIQUE_VIOLATION)
                || err.code() == Some(&SqlState::DUPLICATE_TABLE);
            if !raced {
                return Err(Error::Watermark {
                    action: "create the watermark table",
                    source: Db::Postgres(err),
                });
            }
        }
        let rows = self
            .client
            .query(&dialect.watermark_select(), &[&connector])
            .await
            .map_err(|err| Error::Watermark {
                action: "read the watermark",
                source: Db::Postgres(err),
            })?;
        Ok(rows
            .iter()
            .map(|row| Exported {
                table: row.get(0),
                segment: row.get(1),
                rows: row.get(2),
            })
            .collect())
    }

    async fn table_columns(&mut self, table: &str) -> Result<Option<Vec<String>>> {
        let (schema, name) = match table.split_once('.') {
            Some((schema, name)) => (Some(schema), name),
            None => (None, table),
        };
        let rows = self
            .client
            .query(
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = COALESCE($1::text, current_schema()) AND table_name = $2::text \
                 ORDER BY ordinal_position",
                &[&schema, &name],
            )
            .await
            .map_err(|err| Error::Columns {
                table: table.to_string(),
                source: Db::Postgres(err),
            })?;
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(rows.iter().map(|row| row.get(0)).collect()))
    }

    async fn execute(&mut self, sql: &str) -> Result<()> {
        self.client
            .batch_execute(sql)
            .await
            .map_err(|err| Db::Postgres(err).into())
    }

    async fn write(&mut self, job: &WriteJob<'_>) -> Result<Outcome> {
        let dialect = Dialect::Postgres;
        let table = dialect.quote_table(job.table)?;
        let columns = idents(dialect, job.columns)?;
        let key = idents(dialect, job.key)?;
        let tx = self.client.transaction().await.map_err(Db::Postgres)?;
        let total = (job.rows.len() + job.deletes.len()) as i64;
        if let Err(err) = tx
            .execute(
                &dialect.watermark_insert(),
                &[&job.connector, &job.source_table, &job.segment, &total],
            )
            .await
        {
            if err.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                return Ok(Outcome::AlreadyExported);
            }
            return Err(Error::Watermark {
                action: "record the watermark",
                source: Db::Postgres(err),
            });
        }
        let fail = |what: &'static str, err: tokio_postgres::Error| Error::Step {
            what,
            table: job.table.to_string(),
            source: Db::Postgres(err),
        };
        match job.mode {
            InsertMode::Insert => copy_rows(&tx, &table, &columns, job.values, job.rows).await?,
            mode => {
                let create = format!(
                    "CREATE TEMP TABLE {STAGE} ON COMMIT DROP AS SELECT {} FROM {table} WITH NO DATA",
                    columns.join(", ")
                );
                tx.batch_execute(&create)
                    .await
                    .map_err(|err| fail("staging rows for", err))?;
                copy_rows(&tx, STAGE, &columns, job.values, job.rows).await?;
                let values: Vec<&String> = columns.iter().filter(|c| !key.contains(c)).collect();
                let merge = if mode == InsertMode::Upsert {
                    let action = if values.is_empty() {
                        "DO NOTHING".to_string()
                    } else {
                        let set: Vec<String> = values
                            .iter()
                            .map(|c| format!("{c} = EXCLUDED.{c}"))
                            .collect();
                        format!("DO UPDATE SET {}", set.join(", "))
                    };
                    format!(
                        "INSERT INTO {table} ({cols}) SELECT {cols} FROM {STAGE} ON CONFLICT ({keys}) {action}",
                        cols = columns.join(", "),
                        keys = key.join(", ")
                    )
                } else {
                    let set: Vec<String> = values.iter().map(|c| format!("{c} = s.{c}")).collect();
                    let on: Vec<String> = key.iter().map(|k| format!("t.{k} = s.{k}")).collect();
                    format!(
                        "UPDATE {table} AS t SET {} FROM {STAGE} AS s WHERE {}",
                        set.join(", "),
                        on.join(" AND ")
                    )
                };
                tx.batch_execute(&merge)
                    .await
                    .map_err(|err| fail("writing", err))?;
            }
        }
        if !job.deletes.is_empty() {
            let key_values: Vec<arrow_array::ArrayRef> = job
                .key
                .iter()
                .filter_map(|name| job.columns.iter().position(|c| c == name))
                .map(|index| job.values[index].clone())
                .collect();
            let create = format!(
                "CREATE TEMP TABLE {STAGE_DELETE} ON COMMIT DROP AS SELECT {} FROM {table} WITH NO DATA",
                key.join(", ")
            );
            tx.batch_execute(&create)
                .await
                .map_err(|err| fail("staging deletes for", err))?;
            copy_rows(&tx, STAGE_DELETE, &key, &key_values, job.deletes).await?;
            let on: Vec<String> = key.iter().map(|k| format!("t.{k} = d.{k}")).collect();
            let delete = format!(
                "DELETE FROM {table} AS t USING {STAGE_DELETE} AS d WHERE {}",
                on.join(" AND ")
            );
            tx.batch_execute(&delete)
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
