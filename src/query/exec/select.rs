//! Selection inside one segment: the first rows, or the top rows by
//! ORDER BY kept in a bounded heap.

use std::collections::{BinaryHeap, HashMap};

use super::{Deadline, Held, Row, SegmentStats};
use crate::expr::value::{Value, Vector};
use crate::expr::Expr;
use crate::query::agg::value_bytes;
use crate::query::docs::{DocSet, Docs};
use crate::query::error::ExecError;
use crate::query::eval::{eval_batch, Columns};
use crate::query::plan::Plan;

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

pub(super) fn select_rows(
    plan: &Plan,
    select: &[Expr],
    order_by: &[(Expr, bool)],
    docs: &DocSet,
    columns: &Columns<'_>,
    deadline: &Deadline,
    stats: &mut SegmentStats,
) -> Result<Vec<Row>, ExecError> {
    let wanted = plan.offset.saturating_add(plan.limit);
    let mut held = Held::default();
    let mut chosen: Vec<u32> = Vec::new();
    let mut orders: HashMap<u32, Vec<Value>> = HashMap::new();
    let mut failure = None;
    if wanted == 0 {
        return Ok(Vec::new());
    }
    if order_by.is_empty() {
        docs.for_each_batch(|batch| {
            let past_offset = chosen.len().saturating_sub(plan.offset) as u64;
            if let Err(err) = deadline
                .check()
                .and_then(|()| deadline.result_rows(past_offset))
            {
                failure = Some(err);
                return false;
            }
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
        // Bytes of the candidates' ORDER BY values, as the heap holds them.
        let mut heap_bytes = 0u64;
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
            let mut step = || -> Result<bool, ExecError> {
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
                    let bytes = candidate_bytes(&candidate.order);
                    if heap.len() < wanted {
                        heap.push(candidate);
                        heap_bytes += bytes;
                    } else if heap.peek().is_some_and(|worst| candidate < *worst) {
                        if let Some(worst) = heap.pop() {
                            heap_bytes -= candidate_bytes(&worst.order);
                        }
                        heap.push(candidate);
                        heap_bytes += bytes;
                    }
                }
                held.set(heap_bytes, deadline)?;
                deadline.result_rows(heap.len().saturating_sub(plan.offset) as u64)?;
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
            docs.for_each_batch_rev(wanted.saturating_mul(2).max(64), &mut visit);
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
    // The merged result holds at least these rows past the offset.
    deadline.result_rows(chosen.len().saturating_sub(plan.offset) as u64)?;
    let batch = Docs::List(&chosen);
    let vectors: Vec<Vector> = select
        .iter()
        .map(|expr| eval_batch(expr, columns, batch))
        .collect::<Result<_, _>>()?;
    stats.entries_post_filter += (chosen.len() * select.len()) as u64;
    let rows: Vec<Row> = chosen
        .iter()
        .enumerate()
        .map(|(row, doc)| Row {
            values: vectors.iter().map(|v| v.value(row)).collect(),
            order: orders.remove(doc).unwrap_or_default(),
        })
        .collect();
    // The rows stay held until the broker merges them.
    let bytes = rows
        .iter()
        .map(|row| candidate_bytes(&row.values) + candidate_bytes(&row.order))
        .sum();
    held.set(bytes, deadline)?;
    Ok(rows)
}

/// Bytes of a kept row's values and its slot, estimated.
fn candidate_bytes(values: &[Value]) -> u64 {
    values.iter().map(value_bytes).sum::<u64>() + std::mem::size_of::<Candidate>() as u64
}
