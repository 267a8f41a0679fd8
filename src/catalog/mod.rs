//! The catalog: Pinot-compatible schemas and table configs, their validation,
//! and where they are kept, behind [`CatalogStore`]: on a single node the
//! files under `--data-dir/catalog` ([`FileStore`]),
//!
//! ```text
//! catalog/schemas/<schemaName>.json          the schema as sent
//! catalog/tables/<table>_<TYPE>.json         the table config as sent, tableName with its type suffix
//! ```
//!
//! each written through [`crate::durable::write_atomic`], so a crash never
//! leaves a half-written entry; in a cluster, the metastore (which
//! implements the trait; the catalog never names it). When other nodes
//! share the store, [`Catalog::reload`] takes in what they changed.
//!
//! Concurrency: readers take a short read lock on the in-memory maps and
//! clone an `Arc`; writers (and reloads) are serialized by a mutex held
//! across the check, the store's write and the map update, so checks such
//! as "the schema exists" and "no table uses this schema" cannot race
//! within a process. Across the nodes of a cluster they can: another node's
//! write is seen only after a reload.

pub mod datetime;
mod error;
mod json;
pub mod kafka_props;
mod load;
pub mod names;
mod retention;
mod schema;
pub mod secrets;
mod store;
pub mod stream;
mod table;
mod validate;
pub mod zone;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::Value;

pub use datetime::{DateTimeFormat, Granularity, TimeUnit};
pub use error::{Error, Problem};
pub use json::{parse, parse_value, Parsed, MAX_JSON_DEPTH};
pub use names::{check_column_name, check_table_name, did_you_mean, raw_table_name, MAX_COLUMNS};
pub use retention::{Retention, TimeColumn};
pub use schema::{Column, DataType, DateTimeFieldSpec, FieldRole, FieldSpec, Schema};
pub use stream::{parse_stream_config, Decoder, OffsetReset, StreamConfig};
pub use table::*;
pub use validate::{validate_table, STAR_TREE_FUNCTIONS, SUPPORTED_INDEXES};

use crate::sync::{Recover, RecoverRw};
pub use load::CatalogChanges;
pub use store::{CatalogStore, FileStore, Kind, Origin, StoredEntry};

/// A stored schema: typed, and as the user sent it.
#[derive(Debug)]
pub struct SchemaEntry {
    pub schema: Schema,
    pub json: Value,
}

/// A stored table config: typed, and as the user sent it (with `tableName`
/// carrying its type suffix, as Pinot stores it).
#[derive(Debug)]
pub struct TableEntry {
    pub config: TableConfig,
    pub json: Value,
}

#[derive(Default)]
struct State {
    schemas: BTreeMap<String, Arc<SchemaEntry>>,
    /// Keyed by name with type, e.g. `stock_transactions_REALTIME`.
    tables: BTreeMap<String, Arc<TableEntry>>,
}

/// What a successful write reports back.
#[derive(Debug, Default)]
pub struct Written {
    /// Settings accepted but without effect in Gamay.
    pub warnings: Vec<String>,
}

/// The catalog of one Gamay process.
pub struct Catalog {
    store: Box<dyn CatalogStore>,
    state: RwLock<State>,
    writer: Mutex<()>,
}

impl Catalog {
    /// Opens (creating if needed) the catalog under `data_dir`, removing
    /// temporary files a crash left and loading every entry.
    pub fn open(data_dir: &Path) -> Result<Catalog, Error> {
        Catalog::open_with(Box::new(FileStore::open(data_dir)?))
    }

    /// Opens the catalog kept in `store`, loading every entry.
    pub fn open_with(store: Box<dyn CatalogStore>) -> Result<Catalog, Error> {
        let state = load::load_state(&*store)?;
        tracing::info!(
            schemas = state.schemas.len(),
            tables = state.tables.len(),
            "catalog loaded"
        );
        Ok(Catalog {
            store,
            state: RwLock::new(state),
            writer: Mutex::new(()),
        })
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated:
        // every update is a single insert or remove.
        self.state.read_locked()
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write_locked()
    }

    fn lock_writer(&self) -> MutexGuard<'_, ()> {
        self.writer.locked()
    }

    // ---- schemas ----------------------------------------------------------

    pub fn schema_names(&self) -> Vec<String> {
        self.read().schemas.keys().cloned().collect()
    }

    pub fn schema(&self, name: &str) -> Option<Arc<SchemaEntry>> {
        self.read().schemas.get(name).cloned()
    }

    /// The schema of `table`: `segmentsConfig.schemaName`, else the
    /// schema named like the table.
    pub fn schema_for_table(&self, table: &TableConfig) -> Option<Arc<SchemaEntry>> {
        let name = table
            .segments_config
            .schema_name
            .clone()
            .unwrap_or_else(|| table.raw_name().to_string());
        self.schema(&name)
    }

    fn schema_not_found(&self, name: &str) -> Error {
        Error::SchemaNotFound {
            name: name.to_string(),
            known: self.schema_names(),
        }
    }

    /// Adds a schema. With `replace`, an existing schema of the same name is
    /// updated (subject to [`Catalog::update_schema`]'s rules); without, it is
    /// a conflict.
    pub fn add_schema(
        &self,
        parsed: Parsed<Schema>,
        replace: bool,
        force: bool,
    ) -> Result<Written, Error> {
        parsed.value.validate()?;
        let _writer = self.lock_writer();
        let name = parsed.value.schema_name.clone();
        if self.schema(&name).is_some() {
            if !replace {
                return Err(Error::SchemaExists { name });
            }
            return self.replace_schema_locked(parsed, force);
        }
        self.store_schema(parsed)?;
        Ok(Written::default())
    }

    /// Replaces the existing schema `name`. Removing a column or changing its
    /// type is refused unless `force`, and every table using the schema must
    /// still validate against the new one.
    pub fn update_schema(
        &self,
        name: &str,
        parsed: Parsed<Schema>,
        force: bool,
    ) -> Result<Written, Error> {
        if parsed.value.schema_name != name {
            return Err(Error::invalid(
                format!("schema `{name}`"),
                "schemaName",
                format!(
                    "the body is schema `{}` but the path names `{name}`; they must match",
                    parsed.value.schema_name
                ),
            ));
        }
        parsed.value.validate()?;
        let _writer = self.lock_writer();
        if self.schema(name).is_none() {
            return Err(self.schema_not_found(name));
        }
        self.replace_schema_locked(parsed, force)
    }

    fn replace_schema_locked(&self, parsed: Parsed<Schema>, force: bool) -> Result<Written, Error> {
        let name = parsed.value.schema_name.clone();
        let what = format!("schema `{name}`");
        if let Some(old) = self.schema(&name) {
            let changes = old.schema.incompatible_changes(&parsed.value);
            if !changes.is_empty() && !force {
                let problems = changes
                    .into_iter()
                    .map(|message| Problem {
                        field: "schema".into(),
                        message: format!("{message}; this is backward-incompatible with stored data (pass force=true to apply anyway)"),
                    })
                    .collect();
                return Err(Error::Invalid { what, problems });
            }
        }
        let mut warnings = Vec::new();
        for table in self.tables_of(&name) {
            match validate_table(&table.config, &parsed.value) {
                Ok(more) => warnings.extend(more),
                Err(Error::Invalid { problems, .. }) => {
                    let problems = problems
                        .into_iter()
                        .map(|problem| Problem {
                            field: format!("table {}: {}", table.config.table_name, problem.field),
                            message: problem.message,
                        })
                        .collect();
                    return Err(Error::Invalid { what, problems });
                }
                Err(other) => return Err(other),
            }
        }
        self.store_schema(parsed)?;
        Ok(Written { warnings })
    }

    fn store_schema(&self, parsed: Parsed<Schema>) -> Result<(), Error> {
        let name = parsed.value.schema_name.clone();
        self.store.write(Kind::Schema, &name, &parsed.json)?;
        self.write().schemas.insert(
            name,
            Arc::new(SchemaEntry {
                schema: parsed.value,
                json: parsed.json,
            }),
        );
        Ok(())
    }

    /// Deletes a schema no table uses.
    pub fn delete_schema(&self, name: &str) -> Result<(), Error> {
        let _writer = self.lock_writer();
        if self.schema(name).is_none() {
            return Err(self.schema_not_found(name));
        }
        if let Some(table) = self.tables_of(name).first() {
            return Err(Error::SchemaInUse {
                name: name.to_string(),
                table: table.config.table_name.clone(),
            });
        }
        self.store.remove(Kind::Schema, name)?;
        self.write().schemas.remove(name);
        Ok(())
    }

    // ---- tables -----------------------------------------------------------

    /// Raw names of all tables, each once.
    pub fn table_names(&self, table_type: Option<TableType>) -> Vec<String> {
        let state = self.read();
        let names: std::collections::BTreeSet<String> = state
            .tables
            .values()
            .filter(|entry| table_type.is_none_or(|t| entry.config.table_type == t))
            .map(|entry| entry.config.raw_name().to_string())
            .collect();
        names.into_iter().collect()
    }

    /// Names with type (`trades_OFFLINE`) of all tables, in order.
    pub fn typed_table_names(&self, table_type: Option<TableType>) -> Vec<String> {
        let state = self.read();
        state
            .tables
            .values()
            .filter(|entry| table_type.is_none_or(|t| entry.config.table_type == t))
            .map(|entry| entry.config.name_with_type())
            .collect()
    }

    /// The table config stored under `name_with_type`.
    pub fn table(&self, name_with_type: &str) -> Option<Arc<TableEntry>> {
        self.read().tables.get(name_with_type).cloned()
    }

    /// The OFFLINE and REALTIME configs of a table given by raw or typed name.
    pub fn tables_named(&self, name: &str) -> Vec<Arc<TableEntry>> {
        let raw = raw_table_name(name);
        let state = self.read();
        let mut found = Vec::new();
        for table_type in [TableType::Offline, TableType::Realtime] {
            let typed = table_type.with_type(raw);
            if name != raw && name != typed {
                continue;
            }
            if let Some(entry) = state.tables.get(&typed) {
                found.push(entry.clone());
            }
        }
        found
    }

    fn tables_of(&self, schema: &str) -> Vec<Arc<TableEntry>> {
        self.tables_named(schema)
    }

    fn table_not_found(&self, name: &str) -> Error {
        Error::TableNotFound {
            name: name.to_string(),
            known: self.table_names(None),
        }
    }

    /// Checks a table config against its stored schema without storing it.
    pub fn check_table(&self, parsed: &mut Parsed<TableConfig>) -> Result<Written, Error> {
        normalize_table_name(parsed)?;
        let raw = parsed.value.raw_name().to_string();
        let Some(schema) = self.schema(&raw) else {
            return Err(Error::SchemaMissingForTable {
                table: parsed.value.table_name.clone(),
                schema: raw,
            });
        };
        check_table_against(parsed, &schema.schema)
    }

    /// Adds a new table; its schema must exist.
    pub fn add_table(&self, mut parsed: Parsed<TableConfig>) -> Result<Written, Error> {
        let _writer = self.lock_writer();
        let written = self.check_table(&mut parsed)?;
        let name = parsed.value.table_name.clone();
        if self.table(&name).is_some() {
            return Err(Error::TableExists {
                raw: parsed.value.raw_name().to_string(),
                name,
            });
        }
        self.store_table(parsed)?;
        Ok(written)
    }

    /// Replaces the config of an existing table named by `path_name` (raw or typed).
    pub fn update_table(
        &self,
        path_name: &str,
        mut parsed: Parsed<TableConfig>,
    ) -> Result<Written, Error> {
        let _writer = self.lock_writer();
        let written = self.check_table(&mut parsed)?;
        if raw_table_name(path_name) != parsed.value.raw_name() {
            return Err(Error::invalid(
                format!("table config `{}`", parsed.value.table_name),
                "tableName",
                format!(
                    "the body is table `{}` but the path names `{path_name}`; they must match",
                    parsed.value.raw_name()
                ),
            ));
        }
        if self.table(&parsed.value.table_name).is_none() {
            return Err(self.table_not_found(&parsed.value.table_name));
        }
        self.store_table(parsed)?;
        Ok(written)
    }

    fn store_table(&self, parsed: Parsed<TableConfig>) -> Result<(), Error> {
        let name = parsed.value.table_name.clone();
        self.store.write(Kind::Table, &name, &parsed.json)?;
        self.write().tables.insert(
            name,
            Arc::new(TableEntry {
                config: parsed.value,
                json: parsed.json,
            }),
        );
        Ok(())
    }

    /// Deletes the table's configs of `table_type` (both when `None`);
    /// returns the typed names deleted.
    pub fn delete_table(
        &self,
        name: &str,
        table_type: Option<TableType>,
    ) -> Result<Vec<String>, Error> {
        let _writer = self.lock_writer();
        let targets: Vec<String> = self
            .tables_named(name)
            .into_iter()
            .filter(|entry| table_type.is_none_or(|t| entry.config.table_type == t))
            .map(|entry| entry.config.table_name.clone())
            .collect();
        if targets.is_empty() {
            return Err(self.table_not_found(name));
        }
        for target in &targets {
            self.store.remove(Kind::Table, target)?;
            self.write().tables.remove(target);
        }
        Ok(targets)
    }

    /// Adds a schema and its tables together (Pinot's `/tableConfigs`): all
    /// are validated before anything is written.
    pub fn add_table_configs(
        &self,
        schema: Parsed<Schema>,
        tables: Vec<Parsed<TableConfig>>,
    ) -> Result<Written, Error> {
        schema.value.validate()?;
        let _writer = self.lock_writer();
        let name = schema.value.schema_name.clone();
        if self.schema(&name).is_some() {
            return Err(Error::SchemaExists { name });
        }
        let mut written = Written::default();
        let mut checked = Vec::new();
        for mut table in tables {
            let checked_table = check_table_against(&mut table, &schema.value)?;
            if table.value.raw_name() != name {
                return Err(Error::invalid(
                    format!("table config `{}`", table.value.table_name),
                    "tableName",
                    format!(
                        "table `{}` must carry the name of its schema `{name}`",
                        table.value.raw_name()
                    ),
                ));
            }
            if self.table(&table.value.table_name).is_some() {
                return Err(Error::TableExists {
                    raw: name.clone(),
                    name: table.value.table_name.clone(),
                });
            }
            written.warnings.extend(checked_table.warnings);
            checked.push(table);
        }
        self.store_schema(schema)?;
        for table in checked {
            self.store_table(table)?;
        }
        Ok(written)
    }
}

/// Checks a table config against `schema`, giving its `tableName` the type
/// suffix Pinot stores it under.
pub fn check_table_against(
    parsed: &mut Parsed<TableConfig>,
    schema: &Schema,
) -> Result<Written, Error> {
    normalize_table_name(parsed)?;
    let warnings = validate_table(&parsed.value, schema)?;
    Ok(Written { warnings })
}

/// Gives `tableName` its type suffix in both the typed config and the JSON,
/// and refuses a suffix that contradicts `tableType`.
fn normalize_table_name(parsed: &mut Parsed<TableConfig>) -> Result<(), Error> {
    let config = &mut parsed.value;
    let declared = config.table_name.clone();
    for other in [TableType::Offline, TableType::Realtime] {
        if other != config.table_type && declared.ends_with(&format!("_{}", other.name())) {
            return Err(Error::invalid(
                format!("table config `{declared}`"),
                "tableName",
                format!(
                    "`{declared}` names an {other} table but tableType is {}",
                    config.table_type
                ),
            ));
        }
    }
    let typed = config.name_with_type();
    config.table_name = typed.clone();
    if let Some(object) = parsed.json.as_object_mut() {
        object.insert("tableName".into(), Value::String(typed));
    }
    Ok(())
}
