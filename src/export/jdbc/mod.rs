//! The JDBC sink: Confluent's JDBC sink connector settings, and the export of
//! a sealed segment into a PostgreSQL or MySQL/MariaDB table in one target
//! transaction that also records the segment in the target's watermark
//! table, so each segment lands exactly once. Connections get TLS as the
//! URL's parameters ask, with the meanings of the driver its scheme names.
//! Failures are [`Error`]s (`error.rs`).

pub mod dialect;
pub mod encode;
pub mod error;
pub mod export;
pub mod mysql;
pub mod postgres;
pub mod tls;
pub mod url;

pub use error::{Error, Result};

use dialect::InsertMode;
use tls::TlsConfig;
use url::ConnectionUrl;

use super::config::{resolve_secret, Reader};
use super::error::SecretError;

/// `pk.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkMode {
    None,
    /// Columns of the row (`pk.fields`, or every column when empty).
    RecordValue,
    /// The table's `primaryKeyColumns`.
    RecordKey,
}

/// A JDBC sink connector's settings.
#[derive(Clone)]
pub struct JdbcConfig {
    pub url: ConnectionUrl,
    /// What `url` asks of TLS.
    pub tls: TlsConfig,
    /// Raw values (may be `${env:...}` / `${file:...}` references).
    pub user: Option<String>,
    pub password: Option<String>,
    pub table_name_format: String,
    pub insert_mode: InsertMode,
    pub pk_mode: PkMode,
    pub pk_fields: Vec<String>,
    pub fields_whitelist: Vec<String>,
    pub auto_create: bool,
    pub auto_evolve: bool,
    pub delete_enabled: bool,
    pub batch_size: usize,
}

impl std::fmt::Debug for JdbcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JdbcConfig")
            .field("url", &self.url.to_string())
            .field("tls", &self.tls)
            .field("table_name_format", &self.table_name_format)
            .field("insert_mode", &self.insert_mode)
            .field("pk_mode", &self.pk_mode)
            .finish_non_exhaustive()
    }
}

impl JdbcConfig {
    /// Reads the JDBC keys; problems go to `reader`.
    pub fn read(reader: &mut Reader<'_>) -> Option<JdbcConfig> {
        let url = reader.required("connection.url", "jdbc:postgresql://127.0.0.1:5432/db");
        let url = match url.as_deref().map(url::parse) {
            Some(Ok(url)) => Some(url),
            Some(Err(err)) => {
                reader.problem("connection.url", err);
                None
            }
            None => None,
        };
        let user = reader.text("connection.user");
        let password = reader.text("connection.password");
        let table_name_format = reader.text_or("table.name.format", "${topic}");
        let insert_mode = match reader
            .choice("insert.mode", "insert", &["insert", "upsert", "update"])
            .as_str()
        {
            "upsert" => InsertMode::Upsert,
            "update" => InsertMode::Update,
            _ => InsertMode::Insert,
        };
        let pk_mode = match reader
            .text_or("pk.mode", "none")
            .to_ascii_lowercase()
            .as_str()
        {
            "none" => PkMode::None,
            "record_value" => PkMode::RecordValue,
            "record_key" => PkMode::RecordKey,
            "kafka" => {
                reader.problem("pk.mode", "`kafka` keys rows by topic, partition and offset, which Gamay's segments do not keep per row; use record_value with pk.fields, or record_key for the table's primaryKeyColumns");
                PkMode::None
            }
            other => {
                reader.problem(
                    "pk.mode",
                    format!("`{other}` is not one of none, record_value, record_key"),
                );
                PkMode::None
            }
        };
        let pk_fields = reader.list("pk.fields");
        let fields_whitelist = reader.list("fields.whitelist");
        let auto_create = reader.bool("auto.create", false);
        let auto_evolve = reader.bool("auto.evolve", false);
        let delete_enabled = reader.bool("delete.enabled", false);
        let batch_size = reader.int("batch.size", 3000, 1, 1_000_000) as usize;
        reader.int("max.retries", 10, 0, i64::from(i32::MAX));
        reader.int("retry.backoff.ms", 3000, 0, i64::from(i32::MAX));
        reader.text("dialect.name");
        if let Some(zone) = reader.text("db.timezone") {
            if !matches!(zone.as_str(), "UTC" | "Etc/UTC" | "Z" | "GMT") {
                reader.problem(
                    "db.timezone",
                    format!("`{zone}` is not supported: timestamps are written as UTC instants (TIMESTAMPTZ in PostgreSQL, UTC DATETIME(3) in MySQL)"),
                );
            }
        }
        reader.text("quote.sql.identifiers");
        let tls = match url.as_ref().map(TlsConfig::read) {
            Some(Ok(tls)) => Some(tls),
            Some(Err(problems)) => {
                for problem in problems {
                    reader.problem("connection.url", problem);
                }
                None
            }
            None => None,
        };
        if insert_mode != InsertMode::Insert && pk_mode == PkMode::None {
            reader.problem(
                "pk.mode",
                "insert.mode upsert and update need key columns: set pk.mode to record_value (with pk.fields) or record_key",
            );
        }
        if delete_enabled && pk_mode == PkMode::None {
            reader.problem(
                "delete.enabled",
                "deletes need key columns: set pk.mode to record_key or record_value",
            );
        }
        if pk_mode == PkMode::RecordKey && !pk_fields.is_empty() {
            reader.problem(
                "pk.fields",
                "with pk.mode=record_key the key is the table's primaryKeyColumns; leave pk.fields empty or use pk.mode=record_value",
            );
        }
        if !table_name_format.contains("${") {
            if let Some(url) = &url {
                if let Err(err) = url.dialect.quote_table(&table_name_format) {
                    reader.problem("table.name.format", err);
                }
            }
        }
        Some(JdbcConfig {
            url: url?,
            tls: tls?,
            user,
            password,
            table_name_format,
            insert_mode,
            pk_mode,
            pk_fields,
            fields_whitelist,
            auto_create,
            auto_evolve,
            delete_enabled,
            batch_size,
        })
    }

    /// The target table for Gamay table `raw_table` (`${topic}` and
    /// `${table}` stand for its raw name).
    pub fn target_table(&self, raw_table: &str) -> String {
        self.table_name_format
            .replace("${topic}", raw_table)
            .replace("${table}", raw_table)
    }

    /// The user and password: the connector's keys over the URL's.
    pub fn credentials(&self) -> Result<(Option<String>, Option<String>), SecretError> {
        let user = match &self.user {
            Some(user) => Some(resolve_secret(user)?),
            None => self.url.user.clone(),
        };
        let password = match &self.password {
            Some(password) => Some(resolve_secret(password)?),
            None => self.url.password.clone(),
        };
        Ok((user, password))
    }
}

#[cfg(test)]
mod tests;
