//! WHERE conditions as the engine prefers them: AND/OR chains flattened
//! without recursion, and equalities on one column joined by OR into one
//! IN, as Pinot's filter optimizer does.

use datafusion::sql::sqlparser::ast::{self, BinaryOperator};

use crate::query::filter::{Filter, Pred};

/// The operands of the chain of `op` at `expr`, left to right, looking
/// through parentheses around parts of the same chain; without recursion.
pub(super) fn chain_operands<'e>(expr: &'e ast::Expr, op: &BinaryOperator) -> Vec<&'e ast::Expr> {
    let mut operands = Vec::new();
    let mut pending = vec![expr];
    while let Some(expr) = pending.pop() {
        match expr {
            ast::Expr::BinaryOp {
                left,
                op: this,
                right,
            } if this == op => {
                pending.push(right);
                pending.push(left);
            }
            ast::Expr::Nested(inner) if matches!(inner.as_ref(), ast::Expr::BinaryOp { op: this, .. } if this == op) =>
            {
                pending.push(inner);
            }
            other => operands.push(other),
        }
    }
    operands
}

/// Joins `column = a OR column = b OR column IN (c, d)` into one IN per
/// column, kept where the column's first predicate was.
pub(super) fn merge_equalities(children: Vec<Filter>) -> Vec<Filter> {
    let mut merged: Vec<Filter> = Vec::with_capacity(children.len());
    let mut slot_of: std::collections::HashMap<String, usize> = Default::default();
    for child in children {
        let Filter::Column {
            column,
            pred: Pred::In(values),
        } = child
        else {
            merged.push(child);
            continue;
        };
        match slot_of.get(&column.name) {
            Some(&slot) => {
                if let Filter::Column {
                    pred: Pred::In(existing),
                    ..
                } = &mut merged[slot]
                {
                    existing.extend(values.into_values());
                }
            }
            None => {
                slot_of.insert(column.name.clone(), merged.len());
                merged.push(Filter::Column {
                    column,
                    pred: Pred::In(values),
                });
            }
        }
    }
    merged
}
