//! Merging partial results (across segments on a server, across servers
//! in the broker) and turning them into the final rows: HAVING, the
//! post-aggregation SELECT, ORDER BY, OFFSET and LIMIT.

use std::borrow::Cow;
use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::agg::Acc;
use super::exec::{compare_rows, Groups, Partial, Row};
use super::plan::{Plan, PlanKind};
use crate::expr::eval::{eval_row, truthy};
use crate::expr::value::Value;
use crate::expr::Expr;
use crate::query::error::ExecError;

/// Folds `parts` into one partial.
pub fn merge(plan: &Plan, parts: Vec<Partial>) -> Result<Partial, ExecError> {
    merge_parts(plan, parts.into_iter().map(Cow::Owned).collect())
}

/// Folds `parts`, some of them borrowed (answers kept by the result
/// cache), into one partial, copying a borrowed part only where it must
/// become the base the others are added into. Sorted parts merge first,
/// in order and without hashing; the rest are hashed in after, in order.
pub fn merge_parts(plan: &Plan, parts: Vec<Cow<'_, Partial>>) -> Result<Partial, ExecError> {
    match &plan.kind {
        PlanKind::Aggregate { aggregates, .. } => {
            let mut sorted: Vec<Cow<'_, Groups>> = Vec::new();
            let mut hashed: Vec<Cow<'_, Groups>> = Vec::new();
            for part in parts {
                let groups = match part {
                    Cow::Owned(Partial::Groups(groups)) => Cow::Owned(groups),
                    Cow::Borrowed(Partial::Groups(groups)) => Cow::Borrowed(groups),
                    _ => {
                        return Err(ExecError::Internal(
                            "a segment returned rows to an aggregation".into(),
                        ))
                    }
                };
                if groups.sorted {
                    sorted.push(groups);
                } else {
                    hashed.push(groups);
                }
            }
            let mut merged: Option<Groups> = None;
            for groups in sorted {
                merged = Some(match merged {
                    None => groups.into_owned(),
                    Some(base) => merge_sorted(plan, base, &groups),
                });
            }
            let merged = merge_hashed(merged, hashed);
            Ok(Partial::Groups(merged.unwrap_or_else(|| {
                // No segments: an aggregation without GROUP BY still has a row.
                let mut accs: Vec<Acc> = aggregates.iter().map(|a| Acc::new(a.func)).collect();
                let single = matches!(&plan.kind, PlanKind::Aggregate { group_by, .. } if group_by.is_empty());
                accs.iter_mut().for_each(|acc| acc.resize(single as usize));
                Groups {
                    arity: 0,
                    keys: Vec::new(),
                    accs,
                    len: single as usize,
                    sorted: true,
                }
            })))
        }
        PlanKind::Select { order_by, .. } => {
            let desc: Vec<bool> = order_by.iter().map(|(_, d)| *d).collect();
            let mut rows: Vec<Row> = Vec::new();
            for part in parts {
                match part {
                    Cow::Owned(Partial::Rows(part)) => rows.extend(part),
                    Cow::Borrowed(Partial::Rows(part)) => rows.extend_from_slice(part),
                    _ => {
                        return Err(ExecError::Internal(
                            "a segment returned groups to a selection".into(),
                        ))
                    }
                }
            }
            let wanted = plan.offset.saturating_add(plan.limit);
            if !order_by.is_empty() {
                rows.sort_by(|a, b| compare_rows(&a.order, &b.order, &desc));
            }
            rows.truncate(wanted);
            Ok(Partial::Rows(rows))
        }
    }
}

/// Adds `parts` into `base` (or into the first of them) by hashing keys.
fn merge_hashed(base: Option<Groups>, parts: Vec<Cow<'_, Groups>>) -> Option<Groups> {
    let mut parts = parts.into_iter();
    let mut base = match base {
        Some(base) => base,
        None => parts.next()?.into_owned(),
    };
    if parts.len() == 0 {
        return Some(base);
    }
    base.sorted = false;
    let arity = base.arity;
    let state = foldhash::fast::FixedState::default();
    let hash = |keys: &[Value], group: usize| state.hash_one(&keys[group * arity..][..arity]);
    let mut index: HashTable<usize> = HashTable::with_capacity(base.len);
    for group in 0..base.len {
        index.insert_unique(hash(&base.keys, group), group, |&g| hash(&base.keys, g));
    }
    for groups in parts {
        for group in 0..groups.len {
            let key = &groups.keys[group * arity..][..arity];
            let code = hash(&groups.keys, group);
            let found = index
                .find(code, |&g| base.keys[g * arity..][..arity] == *key)
                .copied();
            let into = match found {
                Some(into) => into,
                None => {
                    let into = base.len;
                    base.len += 1;
                    base.keys.extend_from_slice(key);
                    base.accs.iter_mut().for_each(|acc| acc.resize(into + 1));
                    index.insert_unique(code, into, |&g| hash(&base.keys, g));
                    into
                }
            };
            for (acc, other) in base.accs.iter_mut().zip(&groups.accs) {
                acc.merge(into, other, group);
            }
        }
    }
    Some(base)
}

/// Merges two partials whose keys are unique and ascending, in one pass:
/// into `a` in place when `b` has no key `a` lacks.
fn merge_sorted(plan: &Plan, mut a: Groups, b: &Groups) -> Groups {
    let arity = a.arity;
    let key = |group: usize| group * arity..(group + 1) * arity;
    let compare = |x: usize, y: usize| {
        let (left, right) = (
            &a.keys[x * arity..(x + 1) * arity],
            &b.keys[y * arity..(y + 1) * arity],
        );
        left.iter()
            .zip(right)
            .map(|(l, r)| l.total_cmp(r))
            .find(|order| order.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    };
    // Which inputs feed each output group.
    let mut sources: Vec<(Option<usize>, Option<usize>)> = Vec::with_capacity(a.len.max(b.len));
    let (mut x, mut y) = (0, 0);
    while x < a.len || y < b.len {
        let order = if x == a.len {
            std::cmp::Ordering::Greater
        } else if y == b.len {
            std::cmp::Ordering::Less
        } else {
            compare(x, y)
        };
        match order {
            std::cmp::Ordering::Less => {
                sources.push((Some(x), None));
                x += 1;
            }
            std::cmp::Ordering::Greater => {
                sources.push((None, Some(y)));
                y += 1;
            }
            std::cmp::Ordering::Equal => {
                sources.push((Some(x), Some(y)));
                x += 1;
                y += 1;
            }
        }
    }
    let PlanKind::Aggregate { aggregates, .. } = &plan.kind else {
        return a;
    };
    if sources.len() == a.len {
        for (from_a, from_b) in &sources {
            if let (Some(x), Some(y)) = (from_a, from_b) {
                for (acc, other) in a.accs.iter_mut().zip(&b.accs) {
                    acc.merge(*x, other, *y);
                }
            }
        }
        return a;
    }
    let mut keys = Vec::with_capacity(sources.len() * arity);
    for (from_a, from_b) in &sources {
        match (from_a, from_b) {
            (Some(x), _) => keys.extend_from_slice(&a.keys[key(*x)]),
            (None, Some(y)) => keys.extend_from_slice(&b.keys[key(*y)]),
            (None, None) => {}
        }
    }
    let accs = aggregates
        .iter()
        .enumerate()
        .map(|(index, aggregate)| {
            let mut acc = Acc::new(aggregate.func);
            acc.resize(sources.len());
            for (into, (from_a, from_b)) in sources.iter().enumerate() {
                if let Some(x) = from_a {
                    acc.merge(into, &a.accs[index], *x);
                }
                if let Some(y) = from_b {
                    acc.merge(into, &b.accs[index], *y);
                }
            }
            acc
        })
        .collect();
    Groups {
        arity,
        keys,
        accs,
        len: sources.len(),
        sorted: true,
    }
}

/// The first `wanted` of `items` under `compare`, in order.
fn top<T>(
    mut items: Vec<T>,
    wanted: usize,
    compare: impl Fn(&T, &T) -> std::cmp::Ordering,
) -> Vec<T> {
    if wanted > 0 && wanted < items.len() {
        items.select_nth_unstable_by(wanted - 1, &compare);
        items.truncate(wanted);
    }
    items.sort_unstable_by(compare);
    items
}

/// The final rows of the query.
pub fn finish(plan: &Plan, partial: Partial) -> Result<Vec<Vec<Value>>, ExecError> {
    match (&plan.kind, partial) {
        (
            PlanKind::Aggregate {
                aggregates,
                select,
                having,
                order_by,
                ..
            },
            Partial::Groups(groups),
        ) => {
            let desc: Vec<bool> = order_by.iter().map(|(_, d)| *d).collect();
            let aggs_of = |group: usize, out: &mut Vec<Value>| {
                out.clear();
                out.extend(
                    groups
                        .accs
                        .iter()
                        .zip(aggregates)
                        .map(|(acc, aggregate)| acc.finish(aggregate.func, group)),
                );
            };
            let keys_of =
                |group: usize| &groups.keys[group * groups.arity..(group + 1) * groups.arity];
            let mut aggs = Vec::with_capacity(aggregates.len());
            // The rows of `ordered` groups, after OFFSET and up to LIMIT.
            let emit = |ordered: &mut dyn Iterator<Item = usize>, aggs: &mut Vec<Value>| {
                let mut rows = Vec::new();
                for group in ordered.skip(plan.offset).take(plan.limit) {
                    aggs_of(group, aggs);
                    let keys = keys_of(group);
                    rows.push(
                        select
                            .iter()
                            .map(|expr| eval_row(expr, keys, aggs))
                            .collect::<Result<Vec<Value>, _>>()?,
                    );
                }
                Ok(rows)
            };
            // The groups that pass HAVING, with their ORDER BY values.
            // ORDER BY one numeric aggregate, no HAVING (top-N dashboards):
            // rank the groups by the number itself.
            if let ([(Expr::Agg(index, _), descending)], None) = (order_by.as_slice(), having) {
                let acc = &groups.accs[*index];
                if acc.numeric() {
                    let wanted = plan.offset.saturating_add(plan.limit).min(groups.len);
                    let ranked: Vec<(f64, usize)> = (0..groups.len)
                        .map(|group| {
                            // Nulls (empty groups) sort last either way.
                            let value = acc.finish_f64(group).unwrap_or(f64::NAN);
                            (value, group)
                        })
                        .collect();
                    let compare = |a: &(f64, usize), b: &(f64, usize)| {
                        let order = match (a.0.is_nan(), b.0.is_nan()) {
                            (true, true) => std::cmp::Ordering::Equal,
                            (true, false) => std::cmp::Ordering::Greater,
                            (false, true) => std::cmp::Ordering::Less,
                            _ if *descending => b.0.total_cmp(&a.0),
                            _ => a.0.total_cmp(&b.0),
                        };
                        order.then(a.1.cmp(&b.1))
                    };
                    let ranked = top(ranked, wanted, compare);
                    return emit(&mut ranked.into_iter().map(|(_, group)| group), &mut aggs);
                }
            }
            // ORDER BY values of candidate `i` are `orders[i*k..(i+1)*k]`.
            let width = order_by.len();
            let mut orders: Vec<Value> = Vec::new();
            let mut candidates: Vec<(u32, usize)> = Vec::new();
            for group in 0..groups.len {
                let keys = keys_of(group);
                aggs_of(group, &mut aggs);
                if let Some(having) = having {
                    if !truthy(&eval_row(having, keys, &aggs)?) {
                        continue;
                    }
                }
                for (expr, _) in order_by {
                    orders.push(eval_row(expr, keys, &aggs)?);
                }
                candidates.push((candidates.len() as u32, group));
            }
            let wanted = plan.offset.saturating_add(plan.limit).min(candidates.len());
            if !order_by.is_empty() {
                let order_of =
                    |c: &(u32, usize)| &orders[c.0 as usize * width..(c.0 as usize + 1) * width];
                let compare = |a: &(u32, usize), b: &(u32, usize)| {
                    compare_rows(order_of(a), order_of(b), &desc).then(a.1.cmp(&b.1))
                };
                candidates = top(candidates, wanted, compare);
            }
            emit(
                &mut candidates.into_iter().map(|(_, group)| group),
                &mut aggs,
            )
        }
        (PlanKind::Select { .. }, Partial::Rows(rows)) => Ok(rows
            .into_iter()
            .skip(plan.offset)
            .take(plan.limit)
            .map(|row| row.values)
            .collect()),
        _ => Err(ExecError::Internal(
            "the partial result does not match the plan".into(),
        )),
    }
}
