//! Running a plan on one segment: filter to a doc set, then aggregate into
//! mergeable per-group states or select rows, batch by batch.
//!
//! Group-bys on dictionary columns index state arrays by the combined
//! dictionary ids directly ("dense" groups, no hashing) when the id space
//! is small enough; other group keys hash per-row codes. Every batch checks
//! the query's deadline and cancellation flag.
mod complement;
mod deadline;
mod group;
mod runs;
mod select;
mod startree;

use std::collections::HashMap;

use rayon::prelude::*;

use super::agg::Acc;
use super::docs::DocSet;
use super::eval::Columns;
use super::filter::{Filter, FilterStats};
use super::plan::{Plan, PlanKind};
use super::reduce;
use super::source::{candidate_docs, AbsentColumn, ColumnSource, SegmentSource};
use crate::expr::value::Value;
use crate::expr::Expr;
use crate::query::error::ExecError;
pub use deadline::{
    result_rows_error, CancelOnDrop, Deadline, Held, Limits, RunningQueries, TIMED_OUT,
};
use group::Aggregation;
pub use select::compare_rows;
use select::select_rows;
pub use startree::covering_tree;

/// Largest id space grouped densely.
const DENSE_LIMIT: usize = 1 << 22;

/// Per-segment execution statistics.
#[derive(Debug, Default, Clone, Copy)]
pub struct SegmentStats {
    pub total_docs: u64,
    pub docs_scanned: u64,
    pub entries_in_filter: u64,
    pub entries_post_filter: u64,
    pub consuming_since: Option<i64>,
    pub groups_limit_reached: bool,
    /// Answered from a star-tree (docs scanned are its records).
    pub star_tree: bool,
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

fn segment_stats(segment: &dyn SegmentSource) -> SegmentStats {
    SegmentStats {
        total_docs: segment.num_docs() as u64,
        consuming_since: segment.consuming_since(),
        ..SegmentStats::default()
    }
}

/// Most docs past a consuming segment's star-trees that a query scans on
/// the calling thread.
const IN_PLACE_TAIL_DOCS: usize = 1 << 16;

/// The star-tree answer of the docs `segment`'s trees cover, if one of them
/// answers `plan`: `None` when none does (or `useStarTree` is off). A tree
/// that answers all but a sorted-column window answers too, when at most
/// `max_scan` docs outside the window are scanned to take them away.
fn by_star_tree(
    plan: &Plan,
    segment: &dyn SegmentSource,
    deadline: &Deadline,
    max_scan: usize,
) -> Option<Result<(Partial, SegmentStats), ExecError>> {
    if !plan.options.use_star_tree || segment.star_trees().is_empty() {
        return None;
    }
    let columns = open_columns(plan, segment);
    let mut stats = segment_stats(segment);
    match startree::aggregate(plan, segment.star_trees(), &columns, &mut stats) {
        Ok(Some(groups)) => Some(Ok((Partial::Groups(groups), stats))),
        Ok(None) => complement::by_star_tree_minus_window(plan, segment, deadline, max_scan),
        Err(message) => Some(Err(message)),
    }
}

/// Adds the docs past the trees (a consuming segment's newest) to a tree
/// answer.
fn with_tail(
    plan: &Plan,
    segment: &dyn SegmentSource,
    (tree_part, mut stats): (Partial, SegmentStats),
    deadline: &Deadline,
) -> Result<(Partial, SegmentStats), ExecError> {
    let covered = segment.star_tree_docs();
    if covered >= segment.num_docs() {
        return Ok((tree_part, stats));
    }
    let tail = DocSet::Range(covered as u32, segment.num_docs() as u32);
    let (tail_part, tail_stats) = scan(plan, segment, tail, deadline)?;
    stats.docs_scanned += tail_stats.docs_scanned;
    stats.entries_in_filter += tail_stats.entries_in_filter;
    stats.entries_post_filter += tail_stats.entries_post_filter;
    stats.groups_limit_reached |= tail_stats.groups_limit_reached;
    Ok((reduce::merge(plan, vec![tree_part, tail_part])?, stats))
}

/// Runs `plan` on `segment` if a star-tree answers it and few docs remain
/// to scan past it: cheap enough for the calling thread. `None` otherwise.
pub fn execute_in_place(
    plan: &Plan,
    segment: &dyn SegmentSource,
    deadline: &Deadline,
) -> Option<Result<(Partial, SegmentStats), ExecError>> {
    if segment.num_docs() - segment.star_tree_docs().min(segment.num_docs()) > IN_PLACE_TAIL_DOCS {
        return None;
    }
    let answer = by_star_tree(plan, segment, deadline, IN_PLACE_TAIL_DOCS)?;
    Some(answer.and_then(|answer| with_tail(plan, segment, answer, deadline)))
}

/// Runs `plan` on `segment`.
pub fn execute(
    plan: &Plan,
    segment: &dyn SegmentSource,
    deadline: &Deadline,
) -> Result<(Partial, SegmentStats), ExecError> {
    deadline.check()?;
    if let Some(answer) = by_star_tree(plan, segment, deadline, usize::MAX) {
        return with_tail(plan, segment, answer?, deadline);
    }
    scan(plan, segment, candidate_docs(segment), deadline)
}

/// Runs `plan` on the docs of `segment` in `candidates`, reading columns.
fn scan(
    plan: &Plan,
    segment: &dyn SegmentSource,
    candidates: DocSet,
    deadline: &Deadline,
) -> Result<(Partial, SegmentStats), ExecError> {
    let columns = open_columns(plan, segment);
    let mut stats = segment_stats(segment);
    let mut filter_stats = FilterStats::until(deadline);
    let docs = match &plan.filter {
        Some(filter) => filter_docs(
            filter,
            plan,
            segment,
            &columns,
            &candidates,
            &mut filter_stats,
        )?,
        None => candidates,
    };
    stats.entries_in_filter = filter_stats.entries_scanned;
    stats.docs_scanned = docs.len();
    deadline.scanned(docs.len())?;
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
                let whole_segment =
                    matches!(docs, DocSet::Range(0, end) if end as usize == segment.num_docs());
                Partial::Groups(aggregate(
                    plan,
                    &docs,
                    whole_segment,
                    &columns,
                    deadline,
                    &mut stats,
                )?)
            } else {
                // Large doc sets aggregate in parallel, a doc range per task.
                let results: Vec<Result<(Groups, SegmentStats), ExecError>> = parts
                    .par_iter()
                    .map(|part| {
                        let columns = open_columns(plan, segment);
                        let mut part_stats = SegmentStats::default();
                        let groups =
                            aggregate(plan, part, false, &columns, deadline, &mut part_stats)?;
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

/// The docs of `candidates` that `filter` matches. A filter that scans
/// values runs in parallel over parts of a large candidate set (columns
/// opened per part through `plan`), its parts' matches joined after.
pub fn filter_docs(
    filter: &Filter,
    plan: &Plan,
    segment: &dyn SegmentSource,
    columns: &Columns<'_>,
    candidates: &DocSet,
    stats: &mut FilterStats<'_>,
) -> Result<DocSet, ExecError> {
    let parts = if filter.scans(columns) {
        split(candidates, rayon::current_num_threads())
    } else {
        Vec::new()
    };
    if parts.len() <= 1 {
        return filter.docs(columns, candidates, stats);
    }
    let deadline = stats.deadline;
    let results: Vec<Result<(DocSet, u64), ExecError>> = parts
        .par_iter()
        .map(|part| {
            let columns = open_columns(plan, segment);
            let mut part_stats = FilterStats {
                entries_scanned: 0,
                deadline,
            };
            let docs = filter.docs(&columns, part, &mut part_stats)?;
            Ok((docs, part_stats.entries_scanned))
        })
        .collect();
    let mut parts = Vec::with_capacity(results.len());
    for result in results {
        let (docs, scanned) = result?;
        stats.entries_scanned += scanned;
        parts.push(docs);
    }
    Ok(DocSet::union(parts))
}

/// Docs per parallel filter or aggregation task, at least (fewer in unit
/// tests, so that their small segments take the parallel paths too).
const PARALLEL_MIN_DOCS: u64 = if cfg!(test) { 1 << 8 } else { 1 << 17 };

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
pub fn split(docs: &DocSet, ways: usize) -> Vec<DocSet> {
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
    whole_segment: bool,
    columns: &Columns<'_>,
    deadline: &Deadline,
    stats: &mut SegmentStats,
) -> Result<Groups, ExecError> {
    let PlanKind::Aggregate {
        group_by,
        aggregates,
        ..
    } = &plan.kind
    else {
        return Err(ExecError::Internal("not an aggregation".into()));
    };
    let mut run = Aggregation::new(plan, group_by, columns, whole_segment)?;
    run.run(docs, columns, deadline, stats, |_| None)?;
    for (index, aggregate) in aggregates.iter().enumerate() {
        if let Some(filter) = &aggregate.filter {
            let mut fs = FilterStats::until(deadline);
            let filtered = filter.docs(columns, docs, &mut fs)?;
            stats.entries_in_filter += fs.entries_scanned;
            run.run(&filtered, columns, deadline, stats, |i| Some(i == index))?;
        }
    }
    run.finish(columns, deadline)
}
