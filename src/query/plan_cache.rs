//! Plans of recent queries, so dashboards that send the same SQL again and
//! again skip parsing and planning. An entry remembers the catalog entries
//! (the table configs and the schema) it was planned against, and is used
//! only while the catalog still holds those same entries: any change to
//! the table or its schema plans the query anew.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::options::QueryOptions;
use super::plan::Plan;
use crate::catalog::{Catalog, SchemaEntry, TableEntry};

/// Most distinct SQL texts kept; past it the cache starts over.
const CAPACITY: usize = 4096;
/// Most option sets kept per SQL text; the oldest goes first.
const OPTIONS_PER_SQL: usize = 8;

/// What a query was planned against.
pub struct Stamp {
    pub name: String,
    pub entries: Vec<Arc<TableEntry>>,
    pub schema_name: String,
    pub schema: Arc<SchemaEntry>,
}

impl Stamp {
    /// Whether `catalog` still holds exactly these entries.
    fn current(&self, catalog: &Catalog) -> bool {
        let entries = catalog.tables_named(&self.name);
        entries.len() == self.entries.len()
            && entries
                .iter()
                .zip(&self.entries)
                .all(|(now, then)| Arc::ptr_eq(now, then))
            && catalog
                .schema(&self.schema_name)
                .is_some_and(|now| Arc::ptr_eq(&now, &self.schema))
    }
}

/// A planned query: its plan and the typed tables it reads.
pub struct Planned {
    pub plan: Arc<Plan>,
    pub tables: Vec<String>,
    pub stamp: Stamp,
}

/// Plans by SQL text, then by the request's options.
type Plans = HashMap<String, Vec<(QueryOptions, Arc<Planned>)>>;

/// Recent plans by SQL text and the request's options.
#[derive(Default)]
pub struct PlanCache {
    entries: Mutex<Plans>,
}

impl PlanCache {
    /// The plan of `sql` with `options`, if planned before against the
    /// catalog as it is now.
    pub fn get(
        &self,
        sql: &str,
        options: &QueryOptions,
        catalog: &Catalog,
    ) -> Option<Arc<Planned>> {
        let planned = {
            let entries = self.lock();
            let (_, planned) = entries.get(sql)?.iter().find(|(with, _)| with == options)?;
            planned.clone()
        };
        planned.stamp.current(catalog).then_some(planned)
    }

    /// Keeps the plan of `sql` with `options` (the request's, before any
    /// `SET` in the SQL).
    pub fn put(&self, sql: &str, options: QueryOptions, planned: Arc<Planned>) {
        let mut entries = self.lock();
        if entries.len() >= CAPACITY && !entries.contains_key(sql) {
            entries.clear();
        }
        let plans = entries.entry(sql.to_string()).or_default();
        plans.retain(|(with, _)| *with != options);
        if plans.len() >= OPTIONS_PER_SQL {
            plans.remove(0);
        }
        plans.push((options, planned));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Plans> {
        // Each change is one insert or clear: a poisoned map is consistent.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
