//! Answering an aggregation from a segment's star-tree: the first tree that
//! holds every grouped column as a dimension, every aggregate as stored
//! metrics (AVG from SUM and COUNT, MINMAXRANGE from MIN and MAX,
//! DISTINCTCOUNTHLL and PERCENTILEEST from their sketches) and a
//! filter that splits into allowed values per dimension (AND, OR and NOT
//! within one dimension, any predicate on a dictionary value). Predicates
//! that every doc of the segment satisfies (a time window covering it) are
//! dropped first; any other predicate on a column outside the tree, or an
//! aggregate the tree does not store, leaves the query to the docs.

use std::collections::BTreeMap;

use super::{Groups, SegmentStats, DENSE_LIMIT};
use crate::expr::Expr;
use crate::index::startree::query::{Records, TreeQuery};
use crate::index::startree::MetricFunc;
use crate::index::startree::SketchColumn;
use crate::query::agg::{Acc, AggFunc};
use crate::query::error::ExecError;
use crate::query::eval::Columns;
use crate::query::explain::TreeNames;
use crate::query::filter::{decided_by_stats, Filter, Pred};
use crate::query::plan::{Plan, PlanKind};
use crate::query::source::ColumnSource;
use crate::segment::SegmentTree;

/// Allowed dictionary ids per dimension position; absent: unconstrained.
type Allowed = BTreeMap<usize, Vec<bool>>;

/// The filter as allowed ids per dimension of `names`, if it splits so.
fn constraints(filter: &Filter, names: &[String], columns: &Columns<'_>) -> Option<Allowed> {
    match filter {
        Filter::Const(true) => Some(Allowed::new()),
        Filter::Const(false) | Filter::Expr(_) => None,
        Filter::And(children) => {
            let mut all = Allowed::new();
            for child in children {
                for (dimension, allowed) in constraints(child, names, columns)? {
                    match all.get_mut(&dimension) {
                        Some(into) => into.iter_mut().zip(&allowed).for_each(|(a, b)| *a &= *b),
                        None => {
                            all.insert(dimension, allowed);
                        }
                    }
                }
            }
            Some(all)
        }
        Filter::Or(children) => {
            let mut union: Option<(usize, Vec<bool>)> = None;
            for child in children {
                let mut child = constraints(child, names, columns)?;
                if child.is_empty() {
                    // One branch matches every doc.
                    return Some(Allowed::new());
                }
                let (dimension, allowed) = child.pop_first().filter(|_| child.is_empty())?;
                match &mut union {
                    Some((into_dimension, into)) if *into_dimension == dimension => {
                        into.iter_mut().zip(&allowed).for_each(|(a, b)| *a |= *b)
                    }
                    Some(_) => return None,
                    None => union = Some((dimension, allowed)),
                }
            }
            union.map(|(dimension, allowed)| Allowed::from([(dimension, allowed)]))
        }
        Filter::Not(child) => {
            let mut child = constraints(child, names, columns)?;
            let (dimension, allowed) = child.pop_first().filter(|_| child.is_empty())?;
            Some(Allowed::from([(
                dimension,
                allowed.into_iter().map(|a| !a).collect(),
            )]))
        }
        Filter::Column { column, pred } => {
            let source = columns.get(&column.name)?;
            if matches!(pred, Pred::IsNull) {
                return None;
            }
            if decided_by_stats(source.as_ref(), pred) == Some(true) {
                return Some(Allowed::new());
            }
            let dimension = names.iter().position(|name| *name == column.name)?;
            let cardinality = source.cardinality()?;
            let allowed = (0..cardinality as u32)
                .map(|id| pred.matches(&source.dict_value(id)))
                .collect();
            Some(Allowed::from([(dimension, allowed)]))
        }
    }
}

/// Where each aggregate's inputs are among the tree's metrics.
enum Source {
    Count(usize),
    Sum(usize),
    Min(usize),
    Max(usize),
    Avg(usize, usize),
    MinMax(usize, usize),
    Hll(usize),
    Quantiles(usize),
}

impl Source {
    /// Whether the inputs are sketches, which leaves hold no totals of.
    fn is_sketch(&self) -> bool {
        matches!(self, Source::Hll(_) | Source::Quantiles(_))
    }
}

/// Where each aggregate's inputs are among stored metrics named
/// `FUNCTION__column` (`COUNT__*`), in their order.
fn sources(plan: &Plan, pairs: &[String]) -> Option<Vec<Source>> {
    let PlanKind::Aggregate { aggregates, .. } = &plan.kind else {
        return None;
    };
    let metric = |func: MetricFunc, arg: Option<&Expr>| -> Option<usize> {
        let name = match arg {
            None => "*",
            Some(Expr::Column(column)) => column.name.as_str(),
            Some(_) => return None,
        };
        pairs
            .iter()
            .position(|pair| pair.split_once("__") == Some((func.name(), name)))
    };
    aggregates
        .iter()
        .map(|aggregate| {
            if aggregate.filter.is_some() {
                return None;
            }
            let arg = aggregate.arg.as_ref();
            Some(match aggregate.func {
                AggFunc::Count if arg.is_none() => Source::Count(metric(MetricFunc::Count, None)?),
                AggFunc::Sum => Source::Sum(metric(MetricFunc::Sum, arg)?),
                AggFunc::Min => Source::Min(metric(MetricFunc::Min, arg)?),
                AggFunc::Max => Source::Max(metric(MetricFunc::Max, arg)?),
                AggFunc::Avg => Source::Avg(
                    metric(MetricFunc::Sum, arg)?,
                    metric(MetricFunc::Count, None)?,
                ),
                AggFunc::MinMaxRange => {
                    Source::MinMax(metric(MetricFunc::Min, arg)?, metric(MetricFunc::Max, arg)?)
                }
                AggFunc::DistinctCountHll => Source::Hll(metric(MetricFunc::Hll, arg)?),
                AggFunc::PercentileEst(_) => Source::Quantiles(metric(MetricFunc::Quantiles, arg)?),
                _ => return None,
            })
        })
        .collect()
}

/// The segment's answer from its first star-tree that covers the query, or
/// `None` when none does.
pub(super) fn aggregate(
    plan: &Plan,
    trees: &[SegmentTree],
    columns: &Columns<'_>,
    stats: &mut SegmentStats,
) -> Result<Option<Groups>, ExecError> {
    let PlanKind::Aggregate {
        group_by,
        aggregates,
        ..
    } = &plan.kind
    else {
        return Ok(None);
    };
    for tree in trees {
        let names = &tree.meta.dimensions_split_order;
        let grouped: Option<Vec<usize>> = group_by
            .iter()
            .map(|expr| match expr {
                Expr::Column(column) => names.iter().position(|name| *name == column.name),
                _ => None,
            })
            .collect();
        let Some(grouped) = grouped else { continue };
        let allowed = match &plan.filter {
            Some(filter) => constraints(filter, names, columns),
            None => Some(Allowed::new()),
        };
        let (Some(allowed), Some(sources)) =
            (allowed, sources(plan, &tree.meta.function_column_pairs))
        else {
            continue;
        };
        let key_sources: Vec<&dyn ColumnSource> = grouped
            .iter()
            .map(|position| columns.get(&names[*position]).map(|s| s.as_ref()))
            .collect::<Option<_>>()
            .ok_or_else(|| ExecError::Internal("a group column is not open".into()))?;
        let cards: Vec<usize> = key_sources
            .iter()
            .map(|source| source.cardinality().unwrap_or(0).max(1))
            .collect();
        let Some(len) = cards
            .iter()
            .try_fold(1usize, |acc, card| acc.checked_mul(*card))
            .filter(|len| *len <= DENSE_LIMIT)
        else {
            continue;
        };
        let allowed_list: Vec<Option<Vec<bool>>> =
            (0..names.len()).map(|d| allowed.get(&d).cloned()).collect();
        let mut grouped_flags = vec![false; names.len()];
        grouped.iter().for_each(|d| grouped_flags[*d] = true);
        let query = TreeQuery {
            allowed: &allowed_list,
            grouped: &grouped_flags,
        };
        let mut accs: Vec<Acc> = aggregates.iter().map(|a| Acc::new(a.func)).collect();
        accs.iter_mut().for_each(|acc| acc.resize(len));
        let mut hits = vec![false; len];
        let dims = &tree.tree.dims;
        let metrics = &tree.tree.metrics;
        let sketches = &tree.tree.sketches;
        // Each grouped dimension's weight in the group number.
        let mut strides = vec![1usize; cards.len()];
        for index in (0..cards.len().saturating_sub(1)).rev() {
            strides[index] = strides[index + 1] * cards[index + 1];
        }
        // A leaf's records at a time: their groups first (one for the whole
        // leaf when its path fixes every grouped dimension), then each
        // aggregate over them in a loop of its own.
        let mut groups: Vec<usize> = Vec::new();
        let mut list: Vec<u32> = Vec::new();
        let scanned = tree.tree.visit_blocks(&query, |block| {
            let Some(first) = block.records.first() else {
                return;
            };
            let part = |position: usize, card: usize, record: u32| {
                (dims[position][record as usize] as usize).min(card - 1)
            };
            let mut base = 0;
            let mut varying = Vec::new();
            for ((position, card), stride) in grouped.iter().zip(&cards).zip(&strides) {
                if *position < block.fixed {
                    base += part(*position, *card, first) * stride;
                } else {
                    varying.push((*position, *card, *stride));
                }
            }
            // A whole leaf in one group reads its totals; sketches, and
            // anything else, read the records.
            let totals = block.totals.filter(|_| varying.is_empty());
            if let Some(totals) = totals {
                hits[base] = true;
                for (acc, source) in accs.iter_mut().zip(&sources) {
                    fold_totals(acc, source, base, totals);
                }
                if !sources.iter().any(Source::is_sketch) {
                    return;
                }
            }
            let records: &[u32] = match block.records {
                Records::Listed(records) => records,
                Records::Range(start, end) => {
                    list.clear();
                    list.extend(start..end);
                    &list
                }
            };
            groups.clear();
            groups.resize(records.len(), base);
            for (position, card, stride) in varying {
                let column = &dims[position];
                for (group, record) in groups.iter_mut().zip(records) {
                    *group += (column[*record as usize] as usize).min(card - 1) * stride;
                }
            }
            for group in &groups {
                hits[*group] = true;
            }
            for (acc, source) in accs.iter_mut().zip(&sources) {
                if totals.is_some() && !source.is_sketch() {
                    continue;
                }
                fold_each(acc, source, &groups, records, metrics, sketches);
            }
        });
        stats.docs_scanned = scanned;
        stats.star_tree = true;
        stats.entries_post_filter = scanned * sources.len() as u64;
        // With no GROUP BY there is always one row, even for no docs.
        let present: Vec<usize> = if grouped.is_empty() {
            vec![0]
        } else {
            (0..len).filter(|g| hits[*g]).collect()
        };
        let arity = grouped.len();
        let mut keys = Vec::with_capacity(present.len() * arity);
        let mut parts = vec![0usize; arity];
        for group in &present {
            let mut rest = *group;
            for index in (0..arity).rev() {
                parts[index] = rest % cards[index];
                rest /= cards[index];
            }
            for (part, source) in parts.iter().zip(&key_sources) {
                keys.push(source.dict_value(*part as u32));
            }
        }
        let accs = accs
            .into_iter()
            .zip(aggregates)
            .map(|(acc, aggregate)| acc.select(aggregate.func, &present))
            .collect();
        let sorted = key_sources.iter().all(|source| source.dict_sorted());
        return Ok(Some(Groups {
            arity,
            keys,
            accs,
            len: present.len(),
            sorted,
        }));
    }
    Ok(None)
}

/// Folds a whole leaf's totals (one per metric), all in group `g`, into
/// `acc`. Sketch metrics have no totals: their records are read.
fn fold_totals(acc: &mut Acc, source: &Source, g: usize, totals: &[f64]) {
    let total = |m: usize| totals.get(m).copied().unwrap_or(0.0);
    match (acc, source) {
        (Acc::Count(counts), Source::Count(m)) => counts[g] += total(*m) as u64,
        (Acc::Sum(sums), Source::Sum(m)) => sums[g] += total(*m),
        (Acc::Min(mins), Source::Min(m)) => mins[g] = mins[g].min(total(*m)),
        (Acc::Max(maxes), Source::Max(m)) => maxes[g] = maxes[g].max(total(*m)),
        (Acc::Avg(sums, counts), Source::Avg(s, c)) => {
            sums[g] += total(*s);
            counts[g] += total(*c) as u64;
        }
        (Acc::MinMax(mins, maxes), Source::MinMax(lo, hi)) => {
            mins[g] = mins[g].min(total(*lo));
            maxes[g] = maxes[g].max(total(*hi));
        }
        _ => {}
    }
}

/// Folds each of `records` into its group in `groups`.
fn fold_each(
    acc: &mut Acc,
    source: &Source,
    groups: &[usize],
    records: &[u32],
    metrics: &[Vec<f64>],
    sketches: &[SketchColumn],
) {
    let rows = || {
        groups
            .iter()
            .copied()
            .zip(records.iter().map(|r| *r as usize))
    };
    match (acc, source) {
        (Acc::Count(counts), Source::Count(m)) => {
            let column = &metrics[*m];
            rows().for_each(|(g, r)| counts[g] += column[r] as u64);
        }
        (Acc::Sum(sums), Source::Sum(m)) => {
            let column = &metrics[*m];
            rows().for_each(|(g, r)| sums[g] += column[r]);
        }
        (Acc::Min(mins), Source::Min(m)) => {
            let column = &metrics[*m];
            rows().for_each(|(g, r)| mins[g] = mins[g].min(column[r]));
        }
        (Acc::Max(maxes), Source::Max(m)) => {
            let column = &metrics[*m];
            rows().for_each(|(g, r)| maxes[g] = maxes[g].max(column[r]));
        }
        (Acc::Avg(sums, counts), Source::Avg(s, c)) => {
            let (values, weights) = (&metrics[*s], &metrics[*c]);
            rows().for_each(|(g, r)| {
                sums[g] += values[r];
                counts[g] += weights[r] as u64;
            });
        }
        (Acc::MinMax(mins, maxes), Source::MinMax(lo, hi)) => {
            let (lows, highs) = (&metrics[*lo], &metrics[*hi]);
            rows().for_each(|(g, r)| {
                mins[g] = mins[g].min(lows[r]);
                maxes[g] = maxes[g].max(highs[r]);
            });
        }
        // Checked whole when the segment was opened.
        (Acc::Hll(hlls), Source::Hll(m)) => {
            rows().for_each(|(g, r)| {
                hlls[g].merge_encoded(sketches[*m].get(r));
            });
        }
        (Acc::Quantiles(quantiles), Source::Quantiles(m)) => {
            rows().for_each(|(g, r)| {
                quantiles[g].merge_encoded(sketches[*m].get(r));
            });
        }
        _ => {}
    }
}

/// Whether the filter's shape lets a tree over `dimensions` answer it:
/// per-dimension predicates combined with AND, OR and NOT within one
/// dimension, and predicates on `time_column`, which are dropped in
/// segments whose time range they cover.
fn splits(
    filter: &Filter,
    dimensions: &[String],
    time_column: Option<&str>,
) -> Option<Vec<String>> {
    match filter {
        Filter::Const(true) => Some(Vec::new()),
        Filter::Const(false) | Filter::Expr(_) => None,
        Filter::And(children) => {
            let mut all = Vec::new();
            for child in children {
                all.extend(splits(child, dimensions, time_column)?);
            }
            Some(all)
        }
        Filter::Or(_) | Filter::Not(_) => {
            let children = match filter {
                Filter::Not(child) => std::slice::from_ref(child.as_ref()),
                Filter::Or(children) => children.as_slice(),
                _ => &[],
            };
            let mut names: Vec<String> = Vec::new();
            for child in children {
                names.extend(splits(child, dimensions, None)?);
            }
            names.dedup();
            (names.len() == 1).then_some(names)
        }
        Filter::Column { column, pred } => {
            if matches!(pred, Pred::IsNull) {
                None
            } else if dimensions.contains(&column.name) {
                Some(vec![column.name.clone()])
            } else if time_column == Some(column.name.as_str()) {
                Some(Vec::new())
            } else {
                None
            }
        }
    }
}

/// The first configured tree (dimensions, `FUNCTION__column` pairs) that
/// can answer `plan` in segments whose time range its time predicates
/// cover, for EXPLAIN PLAN.
pub fn covering_tree<'a>(
    plan: &Plan,
    trees: &'a [TreeNames],
    time_column: Option<&str>,
) -> Option<&'a TreeNames> {
    let PlanKind::Aggregate { group_by, .. } = &plan.kind else {
        return None;
    };
    if !plan.options.use_star_tree {
        return None;
    }
    trees.iter().find(|(dimensions, pairs)| {
        group_by
            .iter()
            .all(|expr| matches!(expr, Expr::Column(c) if dimensions.contains(&c.name)))
            && sources(plan, pairs).is_some()
            && plan
                .filter
                .as_ref()
                .is_none_or(|filter| splits(filter, dimensions, time_column).is_some())
    })
}
