//! Plans of recent queries, so dashboards that send the same SQL again and
//! again skip parsing and planning. An entry remembers the catalog entries
//! (the table configs and the schema) it was planned against, and is used
//! only while the catalog still holds those same entries: any change to
//! the table or its schema plans the query anew.
//!
//! The cache is bounded by count and by bytes (the SQL text plus an
//! estimate of its plan, [`plan_bytes`]): past either bound it starts over,
//! and a plan too big for a sixteenth of the budget is not kept at all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::filter::{Filter, Pred};
use super::options::QueryOptions;
use super::plan::{Plan, PlanKind};
use crate::catalog::{Catalog, SchemaEntry, TableEntry};
use crate::expr::Expr;
use crate::sync::Recover;

/// Most distinct SQL texts kept; past it the cache starts over.
const CAPACITY: usize = 4096;
/// Most option sets kept per SQL text; the oldest goes first.
const OPTIONS_PER_SQL: usize = 8;
/// Most bytes of SQL text and plans kept: 4,096 dashboard queries of a few
/// KB each fit many times over, while a flood of huge distinct queries
/// (one 763 KB text once cost 5.8 MB) cannot grow the cache past it.
pub const MAX_BYTES: usize = 64 << 20;
/// Bigger entries are not kept: planning them again costs little next to
/// what they would push out.
const MAX_ENTRY_BYTES: usize = MAX_BYTES / 16;

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

/// Plans by SQL text, then by the request's options, with their sizes.
#[derive(Default)]
struct Plans {
    by_sql: HashMap<String, Vec<(QueryOptions, Arc<Planned>, usize)>>,
    bytes: usize,
}

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
            let (_, planned, _) = entries
                .by_sql
                .get(sql)?
                .iter()
                .find(|(with, _, _)| with == options)?;
            planned.clone()
        };
        planned.stamp.current(catalog).then_some(planned)
    }

    /// Keeps the plan of `sql` with `options` (the request's, before any
    /// `SET` in the SQL).
    pub fn put(&self, sql: &str, options: QueryOptions, planned: Arc<Planned>) {
        let bytes = sql.len() + plan_bytes(&planned.plan);
        if bytes > MAX_ENTRY_BYTES {
            return;
        }
        let mut entries = self.lock();
        let new_sql = !entries.by_sql.contains_key(sql);
        if (new_sql && entries.by_sql.len() >= CAPACITY) || entries.bytes + bytes > MAX_BYTES {
            *entries = Plans::default();
        }
        let mut freed = 0;
        let plans = entries.by_sql.entry(sql.to_string()).or_default();
        plans.retain(|(with, _, size)| {
            let keep = *with != options;
            if !keep {
                freed += size;
            }
            keep
        });
        if plans.len() >= OPTIONS_PER_SQL {
            freed += plans.remove(0).2;
        }
        plans.push((options, planned, bytes));
        entries.bytes = entries.bytes + bytes - freed;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Plans> {
        // Each change leaves the map and its byte count consistent before
        // anything can panic: a poisoned map is still usable.
        self.entries.locked()
    }
}

/// An estimate of the bytes `plan` holds: its expressions, filters (IN
/// lists with their hash sets, compiled regexes) and names.
pub fn plan_bytes(plan: &Plan) -> usize {
    let mut bytes = std::mem::size_of::<Plan>() + plan.table.len();
    bytes += plan.filter.as_ref().map_or(0, filter_bytes);
    for output in &plan.output {
        bytes += std::mem::size_of_val(output) + output.name.len();
    }
    for column in &plan.columns {
        bytes += std::mem::size_of_val(column) + column.name.len() + column.default.size_estimate();
    }
    let exprs: Vec<&Expr> = match &plan.kind {
        PlanKind::Aggregate {
            group_by,
            aggregates,
            select,
            having,
            order_by,
        } => {
            for aggregate in aggregates {
                bytes += std::mem::size_of_val(aggregate) + aggregate.name.len();
                bytes += aggregate.arg.as_ref().map_or(0, expr_bytes);
                bytes += aggregate.filter.as_ref().map_or(0, filter_bytes);
            }
            group_by
                .iter()
                .chain(select)
                .chain(having)
                .chain(order_by.iter().map(|(expr, _)| expr))
                .collect()
        }
        PlanKind::Select { select, order_by } => select
            .iter()
            .chain(order_by.iter().map(|(expr, _)| expr))
            .collect(),
    };
    bytes + exprs.into_iter().map(expr_bytes).sum::<usize>()
}

/// A compiled regex: its pattern several times over (program, literal
/// prefilters) and a floor for the engines' fixed parts.
fn regex_bytes(regex: &regex::Regex) -> usize {
    16 * regex.as_str().len() + 4096
}

#[recursive::recursive]
fn filter_bytes(filter: &Filter) -> usize {
    std::mem::size_of::<Filter>()
        + match filter {
            Filter::Const(_) => 0,
            Filter::And(children) | Filter::Or(children) => children.iter().map(filter_bytes).sum(),
            Filter::Not(child) => filter_bytes(child),
            Filter::Column { column, pred } => {
                column.name.len()
                    + match pred {
                        Pred::In(values) => values.size_estimate(),
                        Pred::Range(low, high) => [low, high]
                            .into_iter()
                            .map(|bound| match bound {
                                std::ops::Bound::Included(v) | std::ops::Bound::Excluded(v) => {
                                    v.size_estimate()
                                }
                                std::ops::Bound::Unbounded => 0,
                            })
                            .sum(),
                        Pred::Regex(regex) => regex_bytes(regex),
                        Pred::IsNull => 0,
                    }
            }
            Filter::Expr(expr) => expr_bytes(expr),
        }
}

#[recursive::recursive]
fn expr_bytes(expr: &Expr) -> usize {
    std::mem::size_of::<Expr>()
        + match expr {
            Expr::Column(column) | Expr::IsNull { column, .. } => {
                column.name.len() + column.default.size_estimate()
            }
            Expr::Literal(value) => value.size_estimate(),
            Expr::Neg(inner) | Expr::Not(inner) | Expr::Cast { expr: inner, .. } => {
                expr_bytes(inner)
            }
            Expr::Binary { left, right, .. } => expr_bytes(left) + expr_bytes(right),
            Expr::Func { args, .. } => args.iter().map(expr_bytes).sum(),
            Expr::Case {
                branches,
                otherwise,
            } => {
                branches
                    .iter()
                    .map(|(when, then)| expr_bytes(when) + expr_bytes(then))
                    .sum::<usize>()
                    + otherwise.as_deref().map_or(0, expr_bytes)
            }
            Expr::InList { expr, list, .. } => expr_bytes(expr) + list.size_estimate(),
            Expr::Between {
                expr, low, high, ..
            } => expr_bytes(expr) + expr_bytes(low) + expr_bytes(high),
            Expr::Like { expr, pattern, .. } => expr_bytes(expr) + regex_bytes(pattern),
            Expr::Key(..) | Expr::Agg(..) => 0,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{self, Schema, TableConfig};
    use crate::expr::value::Value;
    use crate::query::sql::{self, Route, TableColumns};

    const SCHEMA: &str = include_str!("../../tests/sql/data/trades.schema.json");
    const TABLE: &str = include_str!("../../tests/sql/data/trades.table.json");

    fn planned(sql: &str) -> Arc<Planned> {
        let schema: catalog::Parsed<Schema> = catalog::parse(SCHEMA.as_bytes(), "schema").unwrap();
        let table: catalog::Parsed<TableConfig> =
            catalog::parse(TABLE.as_bytes(), "table").unwrap();
        let columns = TableColumns::of_schema("trades", &schema.value);
        let mut options = QueryOptions::default();
        let Route::Single { query, .. } = sql::parse(sql, &mut options).unwrap() else {
            panic!("{sql} is not single-stage");
        };
        let plan = sql::plan(&query, &columns, options).unwrap();
        Arc::new(Planned {
            plan: Arc::new(plan),
            tables: vec!["trades_OFFLINE".into()],
            stamp: Stamp {
                name: "trades".into(),
                entries: vec![Arc::new(TableEntry {
                    config: table.value,
                    json: serde_json::Value::Null,
                })],
                schema_name: "trades".into(),
                schema: Arc::new(SchemaEntry {
                    schema: schema.value,
                    json: serde_json::Value::Null,
                }),
            },
        })
    }

    /// A query with an IN list of `items` values, distinct per `seed`.
    fn in_query(seed: usize, items: usize) -> String {
        let values: Vec<String> = (0..items).map(|i| (seed * items + i).to_string()).collect();
        format!(
            "SELECT COUNT(*) FROM trades WHERE id IN ({})",
            values.join(",")
        )
    }

    #[test]
    fn plan_estimates_count_in_lists_and_their_sets() {
        let small = plan_bytes(&planned(&in_query(0, 10)).plan);
        let large = plan_bytes(&planned(&in_query(0, 100_000)).plan);
        // A value in the list and again in the set, at least.
        assert!(
            large > 2 * 100_000 * std::mem::size_of::<Value>(),
            "{large}"
        );
        assert!(small < 4096, "{small}");
    }

    #[test]
    fn the_cache_stays_within_its_byte_budget() {
        let cache = PlanCache::default();
        let bytes = |cache: &PlanCache| cache.lock().bytes;
        let kept = |cache: &PlanCache| cache.lock().by_sql.len();
        // About 1.7 MB each: 60 are more than the budget.
        let mut largest = 0;
        for seed in 0..60 {
            let sql = in_query(seed, 20_000);
            let entry = planned(&sql);
            largest = largest.max(sql.len() + plan_bytes(&entry.plan));
            cache.put(&sql, QueryOptions::default(), entry);
            assert!(bytes(&cache) <= MAX_BYTES, "{}", bytes(&cache));
            assert!(kept(&cache) >= 1);
        }
        assert!(largest * 60 > MAX_BYTES, "{largest}");
        // The same text and options again replace their entry.
        let sql = in_query(99, 10);
        cache.put(&sql, QueryOptions::default(), planned(&sql));
        let once = bytes(&cache);
        cache.put(&sql, QueryOptions::default(), planned(&sql));
        assert_eq!(bytes(&cache), once);
        // An entry bigger than a sixteenth of the budget is not kept.
        let huge = in_query(0, 100_000);
        let before = kept(&cache);
        cache.put(&huge, QueryOptions::default(), planned(&huge));
        assert_eq!(kept(&cache), before);
        assert!(!cache.lock().by_sql.contains_key(&huge));
    }
}
