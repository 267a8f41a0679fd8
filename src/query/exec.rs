//! Running a plan on one segment: filter to a doc set, then aggregate into
//! mergeable per-group states or select rows, batch by batch.
//!
//! Group-bys on dictionary columns index state arrays by the combined
//! dictionary ids directly ("dense" groups, no hashing) when the id space
//! is small enough; other group keys hash per-row codes. Every batch checks
//! the query's deadline and cancellation flag.

use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::time::Instant;

use rayon::prelude::*;

use super::agg::{Acc, AggFunc, DistinctSet, IdSet};
use super::docs::{DocSet, Docs};
use super::eval::{eval_batch, Columns};
use super::expr::Expr;
use super::filter::FilterStats;
use super::plan::{Plan, PlanKind};
use super::reduce;
use super::source::{AbsentColumn, ColumnSource, SegmentSource};
use super::value::{Kind, Value, Vector};

/// Largest id space grouped densely.
const DENSE_LIMIT: usize = 1 << 22;

/// When a query must stop.
pub struct Deadline {
    pub at: Instant,
    pub cancelled: AtomicBool,
}

impl Deadline {
    pub fn check(&self) -> Result<(), String> {
        if self.cancelled.load(AtomicOrdering::Relaxed) || Instant::now() >= self.at {
            self.cancelled.store(true, AtomicOrdering::Relaxed);
            return Err(TIMED_OUT.into());
        }
        Ok(())
    }
}

pub const TIMED_OUT: &str = "the query ran past its timeout";

/// Per-segment execution statistics.
#[derive(Debug, Default, Clone, Copy)]
pub struct SegmentStats {
    pub total_docs: u64,
    pub docs_scanned: u64,
    pub entries_in_filter: u64,
    pub entries_post_filter: u64,
    pub consuming_since: Option<i64>,
    pub groups_limit_reached: bool,
}

/// Aggregation states of one segment (or merged ones): `keys` holds
/// `arity` values per group.
#[derive(Debug, Clone)]
pub struct Groups {
    pub arity: usize,
    pub keys: Vec<Value>,
    pub accs: Vec<Acc>,
    pub len: usize,
    /// Keys are unique and ascending (dense groups over sorted
    /// dictionaries), so partials merge without hashing.
    pub sorted: bool,
}

/// One selected row: its output values and its ORDER BY values.
#[derive(Debug, Clone)]
pub struct Row {
    pub values: Vec<Value>,
    pub order: Vec<Value>,
}

#[derive(Debug, Clone)]
pub enum Partial {
    Groups(Groups),
    Rows(Vec<Row>),
}

/// Opens the columns `plan` reads in `segment`.
pub fn open_columns<'a>(plan: &Plan, segment: &'a dyn SegmentSource) -> Columns<'a> {
    let mut columns: Columns<'a> = HashMap::new();
    for column in &plan.columns {
        let source: Box<dyn ColumnSource + 'a> = match segment.column(&column.name) {
            Some(source) => source,
            None => Box::new(AbsentColumn {
                default: column.default.clone(),
                kind: column.ty.kind(),
                single_value: !column.ty.is_array(),
                num_docs: segment.num_docs(),
            }),
        };
        columns.insert(column.name.clone(), source);
    }
    columns
}

/// Runs `plan` on `segment`.
pub fn execute(
    plan: &Plan,
    segment: &dyn SegmentSource,
    deadline: &Deadline,
) -> Result<(Partial, SegmentStats), String> {
    deadline.check()?;
    let columns = open_columns(plan, segment);
    let mut stats = SegmentStats {
        total_docs: segment.num_docs() as u64,
        consuming_since: segment.consuming_since(),
        ..SegmentStats::default()
    };
    let all = DocSet::all(segment.num_docs());
    let mut filter_stats = FilterStats::default();
    let docs = match &plan.filter {
        Some(filter) => filter.docs(&columns, &all, &mut filter_stats)?,
        None => all,
    };
    stats.entries_in_filter = filter_stats.entries_scanned;
    stats.docs_scanned = docs.len();
    let partial = match &plan.kind {
        PlanKind::Aggregate { .. } => {
            // Each part keeps its own group states and they are merged after:
            // worth it while the group space is small next to the docs.
            let ways = if small_group_space(plan, &columns) {
                rayon::current_num_threads()
            } else {
                1
            };
            let parts = split(&docs, ways);
            if parts.len() == 1 {
                Partial::Groups(aggregate(plan, &docs, &columns, deadline, &mut stats)?)
            } else {
                // Large doc sets aggregate in parallel, a doc range per task.
                let results: Vec<Result<(Groups, SegmentStats), String>> = parts
                    .par_iter()
                    .map(|part| {
                        let columns = open_columns(plan, segment);
                        let mut part_stats = SegmentStats::default();
                        let groups = aggregate(plan, part, &columns, deadline, &mut part_stats)?;
                        Ok((groups, part_stats))
                    })
                    .collect();
                let mut partials = Vec::with_capacity(results.len());
                for result in results {
                    let (groups, part_stats) = result?;
                    stats.entries_in_filter += part_stats.entries_in_filter;
                    stats.entries_post_filter += part_stats.entries_post_filter;
                    stats.groups_limit_reached |= part_stats.groups_limit_reached;
                    partials.push(Partial::Groups(groups));
                }
                reduce::merge(plan, partials)?
            }
        }
        PlanKind::Select { select, order_by } => Partial::Rows(select_rows(
            plan, select, order_by, &docs, &columns, deadline, &mut stats,
        )?),
    };
    Ok((partial, stats))
}

/// Docs per parallel aggregation task, at least.
const PARALLEL_MIN_DOCS: u64 = 1 << 17;

/// Whether the query's groups are few (no GROUP BY, or dictionary keys
/// whose id space is at most 65,536), so parallel parts merge cheaply.
fn small_group_space(plan: &Plan, columns: &Columns<'_>) -> bool {
    let PlanKind::Aggregate { group_by, .. } = &plan.kind else {
        return false;
    };
    let mut space = 1usize;
    for key in group_by {
        let card = match key {
            Expr::Column(column) => columns.get(&column.name).and_then(|s| s.cardinality()),
            _ => None,
        };
        match card {
            Some(card) => space = space.saturating_mul(card.max(1)),
            // Computed keys: the number of groups is unknown until scanned.
            None => space = space.saturating_mul(1024),
        }
    }
    space <= 1 << 16
}

/// Splits `docs` into up to `ways` parts of about equal size.
fn split(docs: &DocSet, ways: usize) -> Vec<DocSet> {
    let ways = ways.min((docs.len() / PARALLEL_MIN_DOCS) as usize);
    if ways <= 1 {
        return vec![docs.clone()];
    }
    match docs {
        DocSet::Range(start, end) => {
            let step = (end - start).div_ceil(ways as u32);
            (0..ways as u32)
                .map(|i| DocSet::Range(start + i * step, (start + (i + 1) * step).min(*end)))
                .filter(|part| !part.is_empty())
                .collect()
        }
        DocSet::Bitmap(bitmap) => {
            let len = bitmap.len();
            let bounds: Vec<u32> = (0..=ways as u64)
                .map(|i| match i * len / ways as u64 {
                    rank if rank >= len => u32::MAX,
                    rank => bitmap.select(rank as u32).unwrap_or(u32::MAX),
                })
                .collect();
            bounds
                .windows(2)
                .map(|pair| {
                    let mut part = bitmap.clone();
                    part.remove_range(..pair[0]);
                    part.remove_range(pair[1]..);
                    DocSet::Bitmap(part)
                })
                .filter(|part| !part.is_empty())
                .collect()
        }
    }
}

/// Aggregates `docs`, including each aggregate's FILTER (WHERE ...).
fn aggregate(
    plan: &Plan,
    docs: &DocSet,
    columns: &Columns<'_>,
    deadline: &Deadline,
    stats: &mut SegmentStats,
) -> Result<Groups, String> {
    let PlanKind::Aggregate {
        group_by,
        aggregates,
        ..
    } = &plan.kind
    else {
        return Err("not an aggregation".into());
    };
    let mut run = Aggregation::new(plan, group_by, columns)?;
    run.run(docs, columns, deadline, stats, |_| None)?;
    for (index, aggregate) in aggregates.iter().enumerate() {
        if let Some(filter) = &aggregate.filter {
            let mut fs = FilterStats::default();
            let filtered = filter.docs(columns, docs, &mut fs)?;
            stats.entries_in_filter += fs.entries_scanned;
            run.run(&filtered, columns, deadline, stats, |i| Some(i == index))?;
        }
    }
    run.finish(columns)
}

/// How group ids are computed in one segment.
enum Grouping {
    /// No GROUP BY: one group.
    Single,
    /// Dictionary columns: id = mixed-radix combination of their ids.
    Dense {
        names: Vec<String>,
        cards: Vec<usize>,
    },
    /// Anything else: per-row codes, hashed.
    Hashed {
        parts: Vec<KeyPart>,
        one: HashMap<u64, u32, foldhash::fast::RandomState>,
        many: HashMap<Box<[u64]>, u32, foldhash::fast::RandomState>,
        codes: Vec<u64>,
        limit: usize,
    },
}

enum KeyPart {
    Dict(String),
    /// Numbers that are never null, keyed by their bits.
    Bits(Expr),
    /// Anything else, keyed by an interned value.
    Interned {
        expr: Expr,
        codes: HashMap<Value, u64>,
        values: Vec<Value>,
    },
}

/// Whether an expression over columns (which are never null with null
/// handling off) can still produce a null.
fn may_be_null(expr: &Expr) -> bool {
    match expr {
        Expr::Literal(Value::Null) => true,
        Expr::Case {
            branches,
            otherwise,
        } => {
            otherwise.is_none()
                || branches.iter().any(|(_, then)| may_be_null(then))
                || otherwise.as_deref().is_some_and(may_be_null)
        }
        Expr::Neg(e) | Expr::Cast { expr: e, .. } => may_be_null(e),
        Expr::Binary { left, right, .. } => may_be_null(left) || may_be_null(right),
        Expr::Func { args, .. } => args.iter().any(may_be_null),
        _ => false,
    }
}

struct Aggregation<'p> {
    plan: &'p Plan,
    grouping: Grouping,
    accs: Vec<Acc>,
    /// Docs per group (dense and hashed), to know which groups exist.
    hits: Vec<u32>,
    len: usize,
}

impl<'p> Aggregation<'p> {
    fn new(
        plan: &'p Plan,
        group_by: &[Expr],
        columns: &Columns<'_>,
    ) -> Result<Aggregation<'p>, String> {
        let PlanKind::Aggregate { aggregates, .. } = &plan.kind else {
            return Err("not an aggregation".into());
        };
        let dictionary_card = |expr: &Expr| match expr {
            Expr::Column(column) => columns
                .get(&column.name)
                .filter(|source| source.single_value())
                .and_then(|source| source.cardinality()),
            _ => None,
        };
        let grouping = if group_by.is_empty() {
            Grouping::Single
        } else {
            let cards: Option<Vec<usize>> = group_by.iter().map(dictionary_card).collect();
            let product = cards.as_ref().map(|cards| {
                cards
                    .iter()
                    .try_fold(1usize, |acc, card| acc.checked_mul((*card).max(1)))
                    .unwrap_or(usize::MAX)
            });
            match (cards, product) {
                (Some(cards), Some(product)) if product <= DENSE_LIMIT => Grouping::Dense {
                    names: group_by
                        .iter()
                        .map(|e| match e {
                            Expr::Column(c) => c.name.clone(),
                            _ => String::new(),
                        })
                        .collect(),
                    cards,
                },
                _ => Grouping::Hashed {
                    parts: group_by
                        .iter()
                        .map(|expr| match (expr, dictionary_card(expr)) {
                            (Expr::Column(column), Some(_)) => KeyPart::Dict(column.name.clone()),
                            _ if matches!(expr.kind(), Kind::Long | Kind::Double | Kind::Bool)
                                && !may_be_null(expr) =>
                            {
                                KeyPart::Bits(expr.clone())
                            }
                            _ => KeyPart::Interned {
                                expr: expr.clone(),
                                codes: HashMap::new(),
                                values: Vec::new(),
                            },
                        })
                        .collect(),
                    one: HashMap::default(),
                    many: HashMap::default(),
                    codes: Vec::new(),
                    limit: plan.options.num_groups_limit,
                },
            }
        };
        let mut accs: Vec<Acc> = aggregates
            .iter()
            .map(|aggregate| {
                let dictionary_distinct = matches!(
                    aggregate.func,
                    AggFunc::DistinctCount | AggFunc::DistinctCountHll
                ) && aggregate
                    .arg
                    .as_ref()
                    .is_some_and(|arg| dictionary_card(arg).is_some());
                if dictionary_distinct {
                    Acc::DistinctIds(Vec::new())
                } else {
                    Acc::new(aggregate.func)
                }
            })
            .collect();
        let len = match &grouping {
            Grouping::Single => 1,
            Grouping::Dense { cards, .. } => cards.iter().product::<usize>().max(1),
            Grouping::Hashed { .. } => 0,
        };
        accs.iter_mut().for_each(|acc| acc.resize(len));
        Ok(Aggregation {
            plan,
            grouping,
            accs,
            hits: vec![0; len],
            len,
        })
    }

    /// Group ids of a batch; `None` entries (hashed groups past the limit)
    /// are marked `u32::MAX`.
    fn group_ids(
        &mut self,
        docs: Docs<'_>,
        columns: &Columns<'_>,
        out: &mut Vec<u32>,
        stats: &mut SegmentStats,
    ) -> Result<(), String> {
        out.clear();
        match &mut self.grouping {
            Grouping::Single => out.resize(docs.len(), 0),
            Grouping::Dense { names, cards } => {
                let mut ids = Vec::with_capacity(docs.len());
                for (index, name) in names.iter().enumerate() {
                    let source = columns.get(name).ok_or("group column is not open")?;
                    source.ids(docs, &mut ids);
                    if index == 0 {
                        out.extend_from_slice(&ids);
                    } else {
                        let card = cards[index] as u32;
                        for (group, id) in out.iter_mut().zip(&ids) {
                            *group = *group * card + id;
                        }
                    }
                }
            }
            Grouping::Hashed {
                parts,
                one,
                many,
                codes,
                limit,
            } => {
                let arity = parts.len();
                let rows = docs.len();
                codes.clear();
                codes.resize(rows * arity, 0);
                for (part_index, part) in parts.iter_mut().enumerate() {
                    let mut set = |row: usize, code: u64| codes[row * arity + part_index] = code;
                    match part {
                        KeyPart::Dict(name) => {
                            let mut ids = Vec::with_capacity(rows);
                            columns
                                .get(name)
                                .ok_or("group column is not open")?
                                .ids(docs, &mut ids);
                            ids.iter()
                                .enumerate()
                                .for_each(|(row, id)| set(row, *id as u64));
                        }
                        KeyPart::Bits(expr) => match eval_batch(expr, columns, docs)? {
                            Vector::Long(values) => values
                                .iter()
                                .enumerate()
                                .for_each(|(row, v)| set(row, *v as u64)),
                            Vector::Double(values) => values
                                .iter()
                                .enumerate()
                                .for_each(|(row, v)| set(row, (*v + 0.0).to_bits())),
                            Vector::Bool(values) => values
                                .iter()
                                .enumerate()
                                .for_each(|(row, v)| set(row, *v as u64)),
                            _ => {
                                return Err(format!(
                                    "GROUP BY `{}` produced values of an unexpected type",
                                    expr.pinot_name()
                                ))
                            }
                        },
                        KeyPart::Interned {
                            expr,
                            codes: interned,
                            values,
                        } => {
                            let vector = eval_batch(expr, columns, docs)?;
                            if let Vector::Bytes(_) | Vector::Array(_) = vector {
                                return Err(format!(
                                    "GROUP BY `{}`: grouping by multi-value or BYTES values is not supported",
                                    expr.pinot_name()
                                ));
                            }
                            for row in 0..rows {
                                let value = vector.value(row);
                                let next = values.len() as u64;
                                let code = *interned.entry(value.clone()).or_insert_with(|| {
                                    values.push(value);
                                    next
                                });
                                set(row, code);
                            }
                        }
                    }
                }
                let mut next = self.len as u32;
                // Runs of equal keys (time buckets of sorted docs) skip the hash.
                let mut last: Option<(u64, u32)> = None;
                for row in 0..rows {
                    let key = &codes[row * arity..(row + 1) * arity];
                    let found = if arity == 1 {
                        match last {
                            Some((code, group)) if code == key[0] => Some(group),
                            _ => one.get(&key[0]).copied(),
                        }
                    } else {
                        many.get(key).copied()
                    };
                    let group = match found {
                        Some(group) => group,
                        None if (next as usize) < *limit => {
                            if arity == 1 {
                                one.insert(key[0], next);
                            } else {
                                many.insert(key.into(), next);
                            }
                            next += 1;
                            next - 1
                        }
                        None => {
                            stats.groups_limit_reached = true;
                            u32::MAX
                        }
                    };
                    if arity == 1 && group != u32::MAX {
                        last = Some((key[0], group));
                    }
                    out.push(group);
                }
                if next as usize != self.len {
                    self.len = next as usize;
                    self.hits.resize(self.len, 0);
                    self.accs
                        .iter_mut()
                        .for_each(|acc| acc.resize(next as usize));
                }
            }
        }
        Ok(())
    }

    /// Aggregates `docs`. `only(i)` picks the aggregates to update: the
    /// unfiltered ones on the main pass (`None`), one filtered aggregate on
    /// its own pass (`Some(true)` for it).
    fn run(
        &mut self,
        docs: &DocSet,
        columns: &Columns<'_>,
        deadline: &Deadline,
        stats: &mut SegmentStats,
        only: impl Fn(usize) -> Option<bool>,
    ) -> Result<(), String> {
        let PlanKind::Aggregate { aggregates, .. } = &self.plan.kind else {
            return Ok(());
        };
        let main_pass = only(usize::MAX).is_none();
        let wanted: Vec<usize> = (0..aggregates.len())
            .filter(|i| match only(*i) {
                None => aggregates[*i].filter.is_none(),
                Some(yes) => yes,
            })
            .collect();
        // COUNT(*) alone with no GROUP BY: the doc set's size answers it.
        if matches!(self.grouping, Grouping::Single)
            && wanted
                .iter()
                .all(|i| aggregates[*i].func == AggFunc::Count && aggregates[*i].arg.is_none())
        {
            for i in &wanted {
                if let Acc::Count(counts) = &mut self.accs[*i] {
                    counts[0] += docs.len();
                }
            }
            if main_pass {
                self.hits[0] += docs.len() as u32;
            }
            return Ok(());
        }
        let mut groups = Vec::new();
        let mut numbers = Vec::new();
        let mut ids = Vec::new();
        let mut failure = None;
        docs.for_each_batch(|batch| {
            let mut step = || -> Result<(), String> {
                deadline.check()?;
                self.group_ids(batch, columns, &mut groups, stats)?;
                let limited = groups.contains(&u32::MAX);
                if limited {
                    // Docs of groups past numGroupsLimit are left out.
                    groups.retain(|g| *g != u32::MAX);
                }
                if main_pass {
                    for group in &groups {
                        self.hits[*group as usize] += 1;
                    }
                }
                for index in &wanted {
                    let aggregate = &aggregates[*index];
                    let acc = &mut self.accs[*index];
                    let Some(arg) = &aggregate.arg else {
                        acc.count(&groups);
                        continue;
                    };
                    if limited {
                        return Err("numGroupsLimit reached while aggregating an expression".into());
                    }
                    stats.entries_post_filter += batch.len() as u64;
                    match (acc, arg) {
                        (Acc::DistinctIds(sets), Expr::Column(column)) => {
                            let source = columns.get(&column.name).ok_or("column is not open")?;
                            source.ids(batch, &mut ids);
                            for (group, id) in groups.iter().zip(&ids) {
                                sets[*group as usize].insert(*id);
                            }
                        }
                        (acc @ Acc::Distinct(_), _) => {
                            let values = eval_batch(arg, columns, batch)?;
                            for (row, group) in groups.iter().enumerate() {
                                acc.update_value(*group, values.value(row));
                            }
                        }
                        (acc, Expr::Column(column)) => {
                            let source = columns.get(&column.name).ok_or("column is not open")?;
                            source.f64_values(batch, &mut numbers);
                            acc.update_f64(&groups, &numbers);
                        }
                        (acc, _) => {
                            let values = eval_batch(arg, columns, batch)?.to_f64();
                            acc.update_f64(&groups, &values);
                        }
                    }
                }
                Ok(())
            };
            match step() {
                Ok(()) => true,
                Err(err) => {
                    failure = Some(err);
                    false
                }
            }
        });
        if let Some(err) = failure {
            return Err(err);
        }
        Ok(())
    }

    /// The groups that received docs, with their keys as values.
    fn finish(self, columns: &Columns<'_>) -> Result<Groups, String> {
        let PlanKind::Aggregate {
            group_by,
            aggregates,
            ..
        } = &self.plan.kind
        else {
            return Err("not an aggregation".into());
        };
        let arity = group_by.len();
        let present: Vec<usize> = match &self.grouping {
            // With no GROUP BY there is always one row, even for no docs.
            Grouping::Single => vec![0],
            _ => (0..self.len).filter(|g| self.hits[*g] > 0).collect(),
        };
        let mut keys = Vec::with_capacity(present.len() * arity);
        match &self.grouping {
            Grouping::Single => {}
            Grouping::Dense { names, cards } => {
                let sources: Vec<&dyn ColumnSource> = names
                    .iter()
                    .map(|name| {
                        columns
                            .get(name)
                            .map(|s| s.as_ref())
                            .ok_or("column is not open")
                    })
                    .collect::<Result<_, _>>()?;
                let mut parts = vec![0u32; arity];
                for group in &present {
                    let mut rest = *group;
                    for index in (0..arity).rev() {
                        parts[index] = (rest % cards[index]) as u32;
                        rest /= cards[index];
                    }
                    for (index, source) in sources.iter().enumerate() {
                        keys.push(source.dict_value(parts[index]));
                    }
                }
            }
            Grouping::Hashed {
                parts, one, many, ..
            } => {
                let mut codes = vec![0u64; self.len * arity];
                if arity == 1 {
                    for (code, group) in one {
                        codes[*group as usize] = *code;
                    }
                } else {
                    for (key, group) in many {
                        codes[*group as usize * arity..(*group as usize + 1) * arity]
                            .copy_from_slice(key);
                    }
                }
                for group in &present {
                    for (index, part) in parts.iter().enumerate() {
                        let code = codes[group * arity + index];
                        keys.push(match part {
                            KeyPart::Dict(name) => columns
                                .get(name)
                                .map(|s| s.dict_value(code as u32))
                                .unwrap_or(Value::Null),
                            KeyPart::Bits(expr) => match expr.kind() {
                                Kind::Double => Value::Double(f64::from_bits(code)),
                                _ => Value::Long(code as i64),
                            },
                            KeyPart::Interned { values, .. } => {
                                values.get(code as usize).cloned().unwrap_or(Value::Null)
                            }
                        });
                    }
                }
            }
        }
        // Compact the states to the present groups.
        let mut accs = Vec::with_capacity(self.accs.len());
        for (index, acc) in self.accs.into_iter().enumerate() {
            let func = aggregates[index].func;
            let compact = match acc {
                Acc::DistinctIds(ids) => {
                    let source = match &aggregates[index].arg {
                        Some(Expr::Column(column)) => columns.get(&column.name),
                        _ => None,
                    }
                    .ok_or("distinct column is not open")?;
                    let sets = present
                        .iter()
                        .map(|group| distinct_values(&ids[*group], source.as_ref()))
                        .collect();
                    Acc::Distinct(sets)
                }
                acc if present.len() == self.len => acc,
                acc => {
                    let mut out = Acc::new(func);
                    out.resize(present.len());
                    for (to, from) in present.iter().enumerate() {
                        out.merge(to, &acc, *from);
                    }
                    out
                }
            };
            accs.push(compact);
        }
        let sorted = match &self.grouping {
            Grouping::Single => true,
            Grouping::Dense { names, .. } => names
                .iter()
                .all(|name| columns.get(name).is_some_and(|source| source.dict_sorted())),
            Grouping::Hashed { .. } => false,
        };
        Ok(Groups {
            arity,
            keys,
            accs,
            len: present.len(),
            sorted,
        })
    }
}

/// The values of a set of dictionary ids.
fn distinct_values(ids: &IdSet, source: &dyn ColumnSource) -> DistinctSet {
    let mut set = DistinctSet::default();
    let mut sorted: Vec<u32> = ids.iter().copied().collect();
    sorted.sort_unstable();
    if source.kind() == Kind::Long && source.dict_sorted() {
        set.extend_sorted_longs(
            sorted
                .iter()
                .map(|id| source.dict_value(*id).as_i64().unwrap_or(0)),
        );
    } else {
        for id in sorted {
            set.insert(source.dict_value(id));
        }
    }
    set
}

/// Orders rows by their ORDER BY values (`desc` per key); nulls last.
pub fn compare_rows(a: &[Value], b: &[Value], desc: &[bool]) -> std::cmp::Ordering {
    for ((x, y), desc) in a.iter().zip(b).zip(desc) {
        let order = match (x.is_null(), y.is_null()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ if *desc => y.total_cmp(x),
            _ => x.total_cmp(y),
        };
        if order != std::cmp::Ordering::Equal {
            return order;
        }
    }
    std::cmp::Ordering::Equal
}

struct Candidate {
    order: Vec<Value>,
    doc: u32,
    desc: std::sync::Arc<[bool]>,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        compare_rows(&self.order, &other.order, &self.desc).then(self.doc.cmp(&other.doc))
    }
}

fn select_rows(
    plan: &Plan,
    select: &[Expr],
    order_by: &[(Expr, bool)],
    docs: &DocSet,
    columns: &Columns<'_>,
    deadline: &Deadline,
    stats: &mut SegmentStats,
) -> Result<Vec<Row>, String> {
    let wanted = plan.offset.saturating_add(plan.limit);
    let mut chosen: Vec<u32> = Vec::new();
    let mut orders: HashMap<u32, Vec<Value>> = HashMap::new();
    let mut failure = None;
    if wanted == 0 {
        return Ok(Vec::new());
    }
    if order_by.is_empty() {
        docs.for_each_batch(|batch| {
            batch.for_each(|doc| {
                if chosen.len() < wanted {
                    chosen.push(doc)
                }
            });
            chosen.len() < wanted
        });
    } else {
        let desc: std::sync::Arc<[bool]> = order_by.iter().map(|(_, d)| *d).collect();
        let mut heap: BinaryHeap<Candidate> = BinaryHeap::new();
        // Ordered first by the column the docs are sorted on: read docs in
        // that order and stop once no later doc can make the top rows.
        let (first, first_desc) = (&order_by[0].0, order_by[0].1);
        let by_doc_order = match first {
            Expr::Column(column) => columns
                .get(&column.name)
                .is_some_and(|source| source.indexes().sorted && source.single_value()),
            _ => false,
        };
        let mut visit = |batch: Docs<'_>| {
            let mut step = || -> Result<bool, String> {
                deadline.check()?;
                let vectors: Vec<Vector> = order_by
                    .iter()
                    .map(|(expr, _)| eval_batch(expr, columns, batch))
                    .collect::<Result<_, _>>()?;
                stats.entries_post_filter += (batch.len() * vectors.len()) as u64;
                for row in 0..batch.len() {
                    let order: Vec<Value> = vectors.iter().map(|v| v.value(row)).collect();
                    let candidate = Candidate {
                        order,
                        doc: batch.get(row),
                        desc: desc.clone(),
                    };
                    if heap.len() < wanted {
                        heap.push(candidate);
                    } else if heap.peek().is_some_and(|worst| candidate < *worst) {
                        heap.pop();
                        heap.push(candidate);
                    }
                }
                if !by_doc_order || heap.len() < wanted || batch.is_empty() {
                    return Ok(true);
                }
                // Later docs hold first keys at or beyond the batch's last one.
                let last = vectors[0].value(batch.len() - 1);
                let worst = heap.peek().map(|worst| &worst.order[0]);
                let done = worst.is_some_and(|worst| {
                    if first_desc {
                        worst.total_cmp(&last).is_gt()
                    } else {
                        worst.total_cmp(&last).is_lt()
                    }
                });
                Ok(!done)
            };
            match step() {
                Ok(keep_going) => keep_going,
                Err(err) => {
                    failure = Some(err);
                    false
                }
            }
        };
        if by_doc_order && first_desc {
            docs.for_each_batch_rev(&mut visit);
        } else {
            docs.for_each_batch(&mut visit);
        }
        for candidate in heap.into_vec() {
            chosen.push(candidate.doc);
            orders.insert(candidate.doc, candidate.order);
        }
        chosen.sort_unstable();
    }
    if let Some(err) = failure {
        return Err(err);
    }
    let batch = Docs::List(&chosen);
    let vectors: Vec<Vector> = select
        .iter()
        .map(|expr| eval_batch(expr, columns, batch))
        .collect::<Result<_, _>>()?;
    stats.entries_post_filter += (chosen.len() * select.len()) as u64;
    Ok(chosen
        .iter()
        .enumerate()
        .map(|(row, doc)| Row {
            values: vectors.iter().map(|v| v.value(row)).collect(),
            order: orders.remove(doc).unwrap_or_default(),
        })
        .collect())
}
