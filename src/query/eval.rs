//! Evaluating expressions over a batch of a segment's documents, column at
//! a time, with tight loops for column reads and arithmetic; the per-value
//! semantics are `expr::eval`'s.

use std::collections::HashMap;

use super::docs::Docs;
use super::error::ExecError;
use super::source::ColumnSource;
use crate::expr::arith::long_by_constant;
use crate::expr::eval::{
    apply, binary_vectors, children_of, from_values, in_expr, literal_kind, truthy,
};
use crate::expr::value::{ColumnType, Value, Vector};
use crate::expr::{BinOp, Expr};

/// The columns of one segment a query reads, opened once.
pub type Columns<'a> = HashMap<String, Box<dyn ColumnSource + 'a>>;

/// Evaluates `expr` for `docs`.
pub fn eval_batch(expr: &Expr, columns: &Columns<'_>, docs: Docs<'_>) -> Result<Vector, ExecError> {
    // A column read twice in one expression (`ts - ts % 3600000`) is read once.
    let mut cache = HashMap::new();
    eval_cached(expr, columns, docs, &mut cache)
}

#[recursive::recursive]
fn eval_cached<'e>(
    expr: &'e Expr,
    columns: &Columns<'_>,
    docs: Docs<'_>,
    cache: &mut HashMap<&'e str, Vector>,
) -> Result<Vector, ExecError> {
    let len = docs.len();
    Ok(match expr {
        Expr::Column(column) => {
            if let Some(values) = cache.get(column.name.as_str()) {
                return Ok(values.clone());
            }
            let values = match columns.get(&column.name) {
                Some(source) => source.values(docs),
                None => {
                    return Err(ExecError::Internal(format!(
                        "column `{}` is not open",
                        column.name
                    )))
                }
            };
            cache.insert(column.name.as_str(), values.clone());
            values
        }
        Expr::Literal(value) => Vector::constant(value, literal_kind(value), len),
        Expr::Binary { op, left, right } => {
            let l = eval_cached(left, columns, docs, cache)?;
            let ty = expr.column_type();
            // Column op constant: no constant vector.
            if let (Expr::Literal(Value::Long(k)), Vector::Long(values), ColumnType::Long) =
                (right.as_ref(), &l, ty)
            {
                if op.is_arithmetic() && (*k != 0 || !matches!(op, BinOp::Div | BinOp::Mod)) {
                    let values =
                        long_by_constant(*op, values, *k).map_err(|err| in_expr(err, expr))?;
                    return Ok(Vector::Long(values));
                }
            }
            let r = eval_cached(right, columns, docs, cache)?;
            binary_vectors(*op, l, r, ty).map_err(|err| in_expr(err, expr))?
        }
        Expr::Not(inner) => match eval_cached(inner, columns, docs, cache)? {
            Vector::Bool(values) => Vector::Bool(values.into_iter().map(|v| !v).collect()),
            other => Vector::Bool((0..len).map(|row| !truthy(&other.value(row))).collect()),
        },
        Expr::IsNull { column, negated } => {
            let nulls = columns.get(&column.name).and_then(|source| source.nulls());
            let mut out = Vec::with_capacity(len);
            docs.for_each(|doc| {
                let null = nulls.as_ref().is_some_and(|nulls| nulls.contains(doc));
                out.push(null != *negated);
            });
            Vector::Bool(out)
        }
        Expr::Key(..) | Expr::Agg(..) => {
            return Err(ExecError::Internal(
                "an aggregate result is not available per document".into(),
            ))
        }
        _ => {
            // Everything else: evaluate the children as vectors, then row by row.
            let children = children_of(expr);
            let vectors: Vec<Vector> = children
                .iter()
                .map(|child| eval_cached(child, columns, docs, cache))
                .collect::<Result<_, _>>()?;
            let kind = expr.kind();
            let mut values = Vec::with_capacity(len);
            for row in 0..len {
                let child_values: Vec<Value> = vectors.iter().map(|v| v.value(row)).collect();
                values.push(apply(expr, &child_values)?);
            }
            from_values(kind, values)
        }
    })
}
