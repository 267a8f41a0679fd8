//! Merging partial results (across segments on a server, across servers
//! in the broker) and turning them into the final rows: HAVING, the
//! post-aggregation SELECT, ORDER BY, OFFSET and LIMIT.

use std::collections::HashMap;

use super::agg::Acc;
use super::exec::{compare_rows, Groups, Partial, Row};
use super::plan::{Plan, PlanKind};
use crate::expr::eval::{eval_row, truthy};
use crate::expr::value::Value;
use crate::expr::Expr;
use crate::query::error::ExecError;

/// Folds `parts` into one partial.
pub fn merge(plan: &Plan, parts: Vec<Partial>) -> Result<Partial, ExecError> {
    match &plan.kind {
        PlanKind::Aggregate { aggregates, .. } => {
            let all_sorted = parts
                .iter()
                .all(|part| matches!(part, Partial::Groups(groups) if groups.sorted));
            if parts.len() == 1 {
                return Ok(parts
                    .into_iter()
                    .next()
                    .unwrap_or(Partial::Rows(Vec::new())));
            }
            if all_sorted && parts.len() > 1 {
                let mut parts = parts.into_iter().filter_map(|part| match part {
                    Partial::Groups(groups) => Some(groups),
                    Partial::Rows(_) => None,
                });
                let first = parts
                    .next()
                    .ok_or_else(|| ExecError::Internal("no partial results".into()))?;
                let merged = parts.fold(first, |acc, next| merge_sorted(plan, acc, next));
                return Ok(Partial::Groups(merged));
            }
            let mut merged: Option<Groups> = None;
            let mut index: HashMap<Vec<Value>, usize> = HashMap::new();
            for part in parts {
                let Partial::Groups(groups) = part else {
                    return Err(ExecError::Internal(
                        "a segment returned rows to an aggregation".into(),
                    ));
                };
                let Some(base) = merged.as_mut() else {
                    for group in 0..groups.len {
                        let key =
                            groups.keys[group * groups.arity..(group + 1) * groups.arity].to_vec();
                        index.insert(key, group);
                    }
                    merged = Some(groups);
                    continue;
                };
                for group in 0..groups.len {
                    let key = &groups.keys[group * groups.arity..(group + 1) * groups.arity];
                    let into = match index.get(key) {
                        Some(into) => *into,
                        None => {
                            let into = base.len;
                            base.len += 1;
                            base.keys.extend_from_slice(key);
                            base.accs.iter_mut().for_each(|acc| acc.resize(into + 1));
                            index.insert(key.to_vec(), into);
                            into
                        }
                    };
                    for (acc, other) in base.accs.iter_mut().zip(&groups.accs) {
                        acc.merge(into, other, group);
                    }
                }
            }
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
                let Partial::Rows(part) = part else {
                    return Err(ExecError::Internal(
                        "a segment returned groups to a selection".into(),
                    ));
                };
                rows.extend(part);
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

/// Merges two partials whose keys are unique and ascending, in one pass.
fn merge_sorted(plan: &Plan, a: Groups, b: Groups) -> Groups {
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
