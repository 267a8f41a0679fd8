//! Star-tree answers for a segment whose sorted column (the time column,
//! as a rule) a predicate cuts: a time window that covers all but a few of
//! the segment's docs. The tree answers the query without that predicate,
//! and the few docs outside the window, read through the sorted index, are
//! scanned and taken away. Only aggregates that can be taken away qualify
//! (COUNT, SUM, AVG); a COUNT(*) rides along so groups left with no docs
//! are dropped. Pinot leaves such segments to the docs.

use std::collections::HashMap;

use super::{open_columns, scan, segment_stats, startree, Deadline, Groups, Partial, SegmentStats};
use crate::expr::value::Value;
use crate::query::agg::{Acc, AggFunc, Aggregate};
use crate::query::docs::DocSet;
use crate::query::error::ExecError;
use crate::query::filter::{Filter, FilterStats};
use crate::query::plan::{Plan, PlanKind};
use crate::query::source::SegmentSource;

/// At most this share of a segment's docs (1 / n) is scanned to take away.
const MAX_SHARE: usize = 4;

/// The filter's conjuncts on the segment's sorted column, and the rest.
fn split_window(filter: &Filter, sorted: &dyn Fn(&str) -> bool) -> (Vec<Filter>, Vec<Filter>) {
    let children = match filter {
        Filter::And(children) => children.as_slice(),
        other => std::slice::from_ref(other),
    };
    children
        .iter()
        .cloned()
        .partition(|child| matches!(child, Filter::Column { column, .. } if sorted(&column.name)))
}

/// The answer of `plan` on `segment` from a star-tree less the docs outside
/// a sorted-column window, when that is possible and at most `max_scan`
/// docs (and a quarter of the segment) are outside it.
pub(super) fn by_star_tree_minus_window(
    plan: &Plan,
    segment: &dyn SegmentSource,
    deadline: &Deadline,
    max_scan: usize,
) -> Option<Result<(Partial, SegmentStats), ExecError>> {
    let PlanKind::Aggregate { aggregates, .. } = &plan.kind else {
        return None;
    };
    let invertible = aggregates.iter().all(|aggregate| {
        aggregate.filter.is_none()
            && match aggregate.func {
                AggFunc::Count => aggregate.arg.is_none(),
                AggFunc::Sum | AggFunc::Avg => true,
                _ => false,
            }
    });
    if !invertible || segment.star_tree_docs() < segment.num_docs() {
        return None;
    }
    let columns = open_columns(plan, segment);
    let sorted = |name: &str| {
        columns
            .get(name)
            .is_some_and(|source| source.indexes().sorted)
    };
    let (window, rest) = split_window(plan.filter.as_ref()?, &sorted);
    if window.is_empty() {
        return None;
    }
    let num_docs = segment.num_docs();
    let all = DocSet::all(num_docs);
    let mut filter_stats = FilterStats::until(deadline);
    let inside = match Filter::And(window).docs(&columns, &all, &mut filter_stats) {
        Ok(inside) => inside,
        Err(message) => return Some(Err(message)),
    };
    let outside = all.minus(&inside);
    let outside_docs = outside.len() as usize;
    if outside_docs > max_scan || outside_docs * MAX_SHARE > num_docs {
        return None;
    }

    // The query without the window, counting docs per group at the end.
    let mut counted = plan.clone();
    counted.filter = (!rest.is_empty()).then(|| Filter::And(rest));
    if let PlanKind::Aggregate { aggregates, .. } = &mut counted.kind {
        aggregates.push(Aggregate {
            func: AggFunc::Count,
            arg: None,
            filter: None,
            name: "count(*)".into(),
        });
    }
    let mut stats = segment_stats(segment);
    let whole = match startree::aggregate(&counted, segment.star_trees(), &columns, &mut stats) {
        Ok(Some(groups)) => groups,
        Ok(None) => return None,
        Err(message) => return Some(Err(message)),
    };
    Some(take_away(
        (&counted, aggregates),
        segment,
        whole,
        outside,
        deadline,
        stats,
    ))
}

/// The tree's groups (`whole`, of `counted`) less the docs `outside`, as
/// states of the query's own `aggregates`.
fn take_away(
    (counted, aggregates): (&Plan, &[Aggregate]),
    segment: &dyn SegmentSource,
    mut whole: Groups,
    outside: DocSet,
    deadline: &Deadline,
    mut stats: SegmentStats,
) -> Result<(Partial, SegmentStats), ExecError> {
    let (partial, outside_stats) = scan(counted, segment, outside, deadline)?;
    let Partial::Groups(outside) = partial else {
        return Err(ExecError::Internal(
            "an aggregation scan returned rows".into(),
        ));
    };
    stats.docs_scanned += outside_stats.docs_scanned;
    stats.entries_in_filter += outside_stats.entries_in_filter;
    stats.entries_post_filter += outside_stats.entries_post_filter;
    let arity = whole.arity;
    let pairs = matching(&whole, &outside)?;
    for (into, from) in whole.accs.iter_mut().zip(&outside.accs) {
        for (to, at) in &pairs {
            subtract(into, *to, from, *at)?;
        }
    }
    // Drop the groups left with no docs (the last aggregate counts them);
    // without GROUP BY the one row stays.
    let counts = match whole.accs.pop() {
        Some(Acc::Count(counts)) => counts,
        _ => return Err(ExecError::Internal("the added COUNT(*) is missing".into())),
    };
    let keep: Vec<usize> = (0..whole.len)
        .filter(|group| arity == 0 || counts[*group] > 0)
        .collect();
    Ok((Partial::Groups(select(whole, &keep, aggregates)), stats))
}

/// For each group of `outside`, the same group of `whole`: (whole's, its).
/// Groups in key order (dense dictionary groups) pair up in one walk.
fn matching(whole: &Groups, outside: &Groups) -> Result<Vec<(usize, usize)>, ExecError> {
    const MISSING: &str = "a group outside the window is missing from the star-tree";
    fn key(groups: &Groups, group: usize) -> &[Value] {
        &groups.keys[group * groups.arity..(group + 1) * groups.arity]
    }
    let mut pairs = Vec::with_capacity(outside.len);
    if whole.sorted && outside.sorted {
        let mut at = 0;
        for group in 0..outside.len {
            let wanted = key(outside, group);
            while at < whole.len
                && key(whole, at)
                    .iter()
                    .zip(wanted)
                    .map(|(l, r)| l.total_cmp(r))
                    .find(|order| order.is_ne())
                    .is_some_and(|order| order.is_lt())
            {
                at += 1;
            }
            if at == whole.len || key(whole, at) != wanted {
                return Err(ExecError::Internal(MISSING.into()));
            }
            pairs.push((at, group));
        }
        return Ok(pairs);
    }
    let index: HashMap<&[Value], usize, foldhash::fast::RandomState> = (0..whole.len)
        .map(|group| (key(whole, group), group))
        .collect();
    for group in 0..outside.len {
        let into = index
            .get(key(outside, group))
            .copied()
            .ok_or_else(|| ExecError::Internal(MISSING.into()))?;
        pairs.push((into, group));
    }
    Ok(pairs)
}

/// `into[to] -= from[at]` for the aggregates that can be taken away.
fn subtract(into: &mut Acc, to: usize, from: &Acc, at: usize) -> Result<(), ExecError> {
    match (into, from) {
        (Acc::Count(a), Acc::Count(b)) => a[to] = a[to].saturating_sub(b[at]),
        (Acc::Sum(a), Acc::Sum(b)) => a[to] -= b[at],
        (Acc::Avg(sums, counts), Acc::Avg(b_sums, b_counts)) => {
            sums[to] -= b_sums[at];
            counts[to] = counts[to].saturating_sub(b_counts[at]);
        }
        _ => {
            return Err(ExecError::Internal(
                "an aggregate that cannot be taken away".into(),
            ))
        }
    }
    Ok(())
}

/// The groups `keep` of `groups` (states of `aggregates`), in order.
fn select(groups: Groups, keep: &[usize], aggregates: &[Aggregate]) -> Groups {
    if keep.len() == groups.len {
        return groups;
    }
    let arity = groups.arity;
    let keys = keep
        .iter()
        .flat_map(|group| {
            groups.keys[group * arity..(group + 1) * arity]
                .iter()
                .cloned()
        })
        .collect();
    let accs = groups
        .accs
        .iter()
        .zip(aggregates)
        .map(|(acc, aggregate)| acc.select(aggregate.func, keep))
        .collect();
    Groups {
        arity,
        keys,
        accs,
        len: keep.len(),
        sorted: groups.sorted,
    }
}
