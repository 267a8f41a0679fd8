//! Whether a decoded answer fits the plan it answers: the broker merges
//! and finishes partial results by the plan's group keys, aggregates and
//! columns, so an answer from a server that planned otherwise (another
//! build, damaged bytes that still decode) is refused here instead.

use std::mem::discriminant;

use super::error::WireError;
use crate::query::agg::Acc;
use crate::query::broker::ServerResponse;
use crate::query::exec::Partial;
use crate::query::plan::{Plan, PlanKind};

/// Checks that `response`'s partial result has the shape `plan` gives
/// results: for an aggregation, groups of its keys with one state of the
/// right kind per aggregate; for a selection, rows of its columns and
/// ORDER BY values.
pub fn check_response(plan: &Plan, response: &ServerResponse) -> Result<(), WireError> {
    let mismatch = |reason: String| Err(WireError::Mismatch { reason });
    let Some(partial) = &response.partial else {
        return Ok(());
    };
    match (&plan.kind, partial) {
        (
            PlanKind::Aggregate {
                group_by,
                aggregates,
                ..
            },
            Partial::Groups(groups),
        ) => {
            if groups.arity != group_by.len() {
                return mismatch(format!(
                    "groups of {} keys, but the plan groups by {}",
                    groups.arity,
                    group_by.len()
                ));
            }
            if groups.keys.len() != groups.arity.saturating_mul(groups.len) {
                return mismatch(format!(
                    "{} keys for {} groups of {}",
                    groups.keys.len(),
                    groups.len,
                    groups.arity
                ));
            }
            if groups.accs.len() != aggregates.len() {
                return mismatch(format!(
                    "states of {} aggregates, but the plan has {}",
                    groups.accs.len(),
                    aggregates.len()
                ));
            }
            for (acc, aggregate) in groups.accs.iter().zip(aggregates) {
                if discriminant(acc) != discriminant(&Acc::new(aggregate.func)) {
                    return mismatch(format!(
                        "the state of `{}` is not a {} state",
                        aggregate.name,
                        aggregate.func.name()
                    ));
                }
                if acc.len() != groups.len {
                    return mismatch(format!(
                        "the state of `{}` holds {} groups of {}",
                        aggregate.name,
                        acc.len(),
                        groups.len
                    ));
                }
            }
            Ok(())
        }
        (PlanKind::Select { select, order_by }, Partial::Rows(rows)) => {
            for row in rows {
                if row.values.len() != select.len() || row.order.len() != order_by.len() {
                    return mismatch(format!(
                        "a row of {} values and {} ORDER BY values, but the plan selects {} and orders by {}",
                        row.values.len(),
                        row.order.len(),
                        select.len(),
                        order_by.len()
                    ));
                }
            }
            Ok(())
        }
        (PlanKind::Aggregate { .. }, Partial::Rows(_)) => {
            mismatch("rows answer an aggregation".into())
        }
        (PlanKind::Select { .. }, Partial::Groups(_)) => {
            mismatch("groups answer a selection".into())
        }
    }
}
