//! Reading a store into the catalog's maps: at open, and again on
//! [`Catalog::reload`] when other nodes sharing the store changed it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::{
    parse, validate_table, Catalog, CatalogStore, Error, Kind, Parsed, Schema, SchemaEntry, State,
    TableConfig, TableEntry,
};

/// What a [`Catalog::reload`] found other nodes had changed, as names
/// (tables with their type), each list in name order, so callers can start
/// and stop what serves them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CatalogChanges {
    pub schemas_added: Vec<String>,
    pub schemas_replaced: Vec<String>,
    pub schemas_removed: Vec<String>,
    pub tables_added: Vec<String>,
    pub tables_replaced: Vec<String>,
    pub tables_removed: Vec<String>,
}

impl CatalogChanges {
    pub fn is_empty(&self) -> bool {
        self.schemas_added.is_empty()
            && self.schemas_replaced.is_empty()
            && self.schemas_removed.is_empty()
            && self.tables_added.is_empty()
            && self.tables_replaced.is_empty()
            && self.tables_removed.is_empty()
    }
}

/// Every entry of `store`, parsed; an entry that cannot be parsed, or is
/// stored under a name other than its own, fails the whole load.
pub(super) fn load_state(store: &dyn CatalogStore) -> Result<State, Error> {
    let mut state = State::default();
    for stored in store.load(Kind::Schema)? {
        let parsed: Parsed<Schema> = match parse(&stored.bytes, "schema") {
            Ok(parsed) => parsed,
            Err(err) => return Err(stored.origin.corrupt(err.to_string())),
        };
        if parsed.value.schema_name != stored.name {
            let reason = format!("it holds schema `{}`", parsed.value.schema_name);
            return Err(stored.origin.corrupt(reason));
        }
        state.schemas.insert(
            stored.name,
            Arc::new(SchemaEntry {
                schema: parsed.value,
                json: parsed.json,
            }),
        );
    }
    for stored in store.load(Kind::Table)? {
        let parsed: Parsed<TableConfig> = match parse(&stored.bytes, "table config") {
            Ok(parsed) => parsed,
            Err(err) => return Err(stored.origin.corrupt(err.to_string())),
        };
        if parsed.value.name_with_type() != stored.name {
            let reason = format!("it holds table `{}`", parsed.value.name_with_type());
            return Err(stored.origin.corrupt(reason));
        }
        if let Some(entry) = state.schemas.get(parsed.value.raw_name()) {
            if let Err(err) = validate_table(&parsed.value, &entry.schema) {
                tracing::warn!(table = %stored.name, error = %err, "stored table config no longer validates");
            }
        }
        state.tables.insert(
            stored.name,
            Arc::new(TableEntry {
                config: parsed.value,
                json: parsed.json,
            }),
        );
    }
    Ok(state)
}

/// Compares the entries `new` loaded with the `old` ones by their JSON:
/// the names added, replaced and removed. An unchanged entry keeps its old
/// `Arc` in `new`, so holders of it see no change.
fn compare<T>(
    old: &BTreeMap<String, Arc<T>>,
    new: &mut BTreeMap<String, Arc<T>>,
    json: fn(&T) -> &Value,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut added, mut replaced) = (Vec::new(), Vec::new());
    for (name, entry) in new.iter_mut() {
        match old.get(name) {
            None => added.push(name.clone()),
            Some(before) if json(before) == json(entry) => *entry = before.clone(),
            Some(_) => replaced.push(name.clone()),
        }
    }
    let removed = old
        .keys()
        .filter(|name| !new.contains_key(*name))
        .cloned()
        .collect();
    (added, replaced, removed)
}

impl Catalog {
    /// Re-reads the store and takes in what other nodes sharing it changed.
    /// All or nothing: an entry that cannot be read leaves the catalog as
    /// it was and is the error.
    pub fn reload(&self) -> Result<CatalogChanges, Error> {
        let _writer = self.lock_writer();
        let mut next = load_state(&*self.store)?;
        let mut state = self.write();
        let (schemas_added, schemas_replaced, schemas_removed) =
            compare(&state.schemas, &mut next.schemas, |entry| &entry.json);
        let (tables_added, tables_replaced, tables_removed) =
            compare(&state.tables, &mut next.tables, |entry| &entry.json);
        *state = next;
        let changes = CatalogChanges {
            schemas_added,
            schemas_replaced,
            schemas_removed,
            tables_added,
            tables_replaced,
            tables_removed,
        };
        if !changes.is_empty() {
            tracing::info!(?changes, "the catalog took in other nodes' changes");
        }
        Ok(changes)
    }
}
