//! Evaluating expressions over a batch of a segment's documents, column at
//! a time, with tight loops for column reads and arithmetic; the per-value
//! semantics are `expr::eval`'s.

use std::collections::HashMap;

use super::docs::Docs;
use super::error::ExecError;
use super::source::ColumnSource;
use crate::expr::arith::long_by_constant;
use crate::expr::eval::{
    apply, binary_vectors, children_of, doubles_by_constant, from_values, in_expr, into_doubles,
    literal_kind, truthy,
};
use crate::expr::value::{ColumnType, Value, Vector};
use crate::expr::{BinOp, Expr};

/// The columns of one segment a query reads, opened once.
pub type Columns<'a> = HashMap<String, Box<dyn ColumnSource + 'a>>;

/// Column values read for one batch of docs, by column name.
pub type BatchColumns<'e> = HashMap<&'e str, Vector>;

/// Evaluates `expr` for `docs`.
pub fn eval_batch(expr: &Expr, columns: &Columns<'_>, docs: Docs<'_>) -> Result<Vector, ExecError> {
    // A column read twice in one expression (`ts - ts % 3600000`) is read once.
    let mut cache = HashMap::new();
    eval_cached(expr, columns, docs, &mut cache)
}

/// Evaluates `expr` for `docs`, reading each column at most once for all
/// the expressions that share `read` (cleared for each batch).
pub fn eval_batch_sharing<'e>(
    expr: &'e Expr,
    columns: &Columns<'_>,
    docs: Docs<'_>,
    read: &mut BatchColumns<'e>,
) -> Result<Vector, ExecError> {
    eval_cached(expr, columns, docs, read)
}

/// The value of a numeric literal, as a double.
fn number_literal(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Literal(Value::Long(k)) => Some(*k as f64),
        Expr::Literal(Value::Double(k)) => Some(*k),
        _ => None,
    }
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
            if let Some(flags) = dictionary_equality(*op, left, right, columns, docs) {
                return Ok(Vector::Bool(flags));
            }
            let ty = expr.column_type();
            // Numbers op constant as doubles: no constant vector.
            if op.is_arithmetic() && ty == ColumnType::Double {
                if let Some(k) = number_literal(left) {
                    return match eval_cached(right, columns, docs, cache)? {
                        r @ (Vector::Long(_) | Vector::Double(_)) => Ok(Vector::Double(
                            doubles_by_constant(*op, into_doubles(r), k, true),
                        )),
                        r => {
                            let l = eval_cached(left, columns, docs, cache)?;
                            Ok(binary_vectors(*op, l, r, ty).map_err(|err| in_expr(err, expr))?)
                        }
                    };
                }
            }
            let l = eval_cached(left, columns, docs, cache)?;
            if op.is_arithmetic() && ty == ColumnType::Double {
                if let (Some(k), Vector::Long(_) | Vector::Double(_)) = (number_literal(right), &l)
                {
                    return Ok(Vector::Double(doubles_by_constant(
                        *op,
                        into_doubles(l),
                        k,
                        false,
                    )));
                }
            }
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
        Expr::Case {
            branches,
            otherwise: Some(otherwise),
        } => {
            let mut whens = Vec::with_capacity(branches.len());
            let mut thens = Vec::with_capacity(branches.len() + 1);
            for (when, then) in branches {
                whens.push(flags(eval_cached(when, columns, docs, cache)?));
                thens.push(eval_cached(then, columns, docs, cache)?);
            }
            thens.push(eval_cached(otherwise, columns, docs, cache)?);
            match choose(expr.kind(), &whens, &thens, len) {
                Some(chosen) => chosen,
                None => {
                    // Other result types: value by value.
                    let mut values = Vec::with_capacity(len);
                    let mut row_values = Vec::with_capacity(2 * branches.len() + 1);
                    for row in 0..len {
                        row_values.clear();
                        for (when, then) in whens.iter().zip(&thens) {
                            row_values.push(Value::Long(when[row] as i64));
                            row_values.push(then.value(row));
                        }
                        row_values.push(thens[branches.len()].value(row));
                        values.push(apply(expr, &row_values)?);
                    }
                    from_values(expr.kind(), values)
                }
            }
        }
        Expr::Key(..) | Expr::Agg(..) => {
            return Err(ExecError::Internal(
                "an aggregate result is not available per document".into(),
            ))
        }
        Expr::Cast { expr: inner, to } => match (eval_cached(inner, columns, docs, cache)?, to) {
            (Vector::Double(values), ColumnType::Double | ColumnType::Float) => {
                Vector::Double(values)
            }
            (Vector::Long(values), ColumnType::Double | ColumnType::Float) => {
                Vector::Double(values.into_iter().map(|v| v as f64).collect())
            }
            (Vector::Long(values), ColumnType::Int | ColumnType::Long | ColumnType::Timestamp) => {
                Vector::Long(values)
            }
            (
                Vector::Double(values),
                ColumnType::Int | ColumnType::Long | ColumnType::Timestamp,
            ) => Vector::Long(values.into_iter().map(|v| v.trunc() as i64).collect()),
            (other, _) => row_by_row(expr, vec![Some(other)], len)?,
        },
        Expr::Neg(inner) => match eval_cached(inner, columns, docs, cache)? {
            Vector::Double(mut values) => {
                values.iter_mut().for_each(|v| *v = -*v);
                Vector::Double(values)
            }
            Vector::Long(values) if values.iter().all(|v| *v != i64::MIN) => {
                Vector::Long(values.into_iter().map(|v| -v).collect())
            }
            other => row_by_row(expr, vec![Some(other)], len)?,
        },
        _ => {
            // Everything else: the children as vectors (a literal as its one
            // value), then row by row.
            let children = children_of(expr);
            let vectors: Vec<Option<Vector>> = children
                .iter()
                .map(|child| match child {
                    Expr::Literal(_) => Ok(None),
                    child => eval_cached(child, columns, docs, cache).map(Some),
                })
                .collect::<Result<_, _>>()?;
            row_by_row(expr, vectors, len)?
        }
    })
}

/// `expr` applied row by row to its children's vectors; `None` stands for
/// a literal child, whose value is the same on every row and is made once.
fn row_by_row(expr: &Expr, vectors: Vec<Option<Vector>>, len: usize) -> Result<Vector, ExecError> {
    let children = children_of(expr);
    let mut args: Vec<Value> = children
        .iter()
        .map(|child| match child {
            Expr::Literal(value) => Vector::constant(value, literal_kind(value), 1).value(0),
            _ => Value::Null,
        })
        .collect();
    let mut values = Vec::with_capacity(len);
    for row in 0..len {
        for (arg, vector) in args.iter_mut().zip(&vectors) {
            if let Some(vector) = vector {
                *arg = vector.value(row);
            }
        }
        values.push(apply(expr, &args)?);
    }
    Ok(from_values(expr.kind(), values))
}

/// A CASE's results chosen row by row from its branches' vectors (the
/// first branch whose condition holds, else the last vector), for numeric
/// results; `None` for other kinds, left to the value-by-value path.
fn choose(
    kind: crate::expr::value::Kind,
    whens: &[Vec<bool>],
    thens: &[Vector],
    len: usize,
) -> Option<Vector> {
    use crate::expr::value::Kind;
    let pick = |row: usize| {
        whens
            .iter()
            .position(|when| when[row])
            .unwrap_or(whens.len())
    };
    match kind {
        Kind::Long => {
            let columns: Vec<&[i64]> = thens
                .iter()
                .map(|then| match then {
                    Vector::Long(values) => Some(values.as_slice()),
                    _ => None,
                })
                .collect::<Option<_>>()?;
            Some(Vector::Long(
                (0..len).map(|row| columns[pick(row)][row]).collect(),
            ))
        }
        Kind::Double => {
            enum Numbers<'a> {
                Long(&'a [i64]),
                Double(&'a [f64]),
            }
            let columns: Vec<Numbers<'_>> = thens
                .iter()
                .map(|then| match then {
                    Vector::Long(values) => Some(Numbers::Long(values)),
                    Vector::Double(values) => Some(Numbers::Double(values)),
                    _ => None,
                })
                .collect::<Option<_>>()?;
            Some(Vector::Double(
                (0..len)
                    .map(|row| match columns[pick(row)] {
                        Numbers::Long(values) => values[row] as f64,
                        Numbers::Double(values) => values[row],
                    })
                    .collect(),
            ))
        }
        _ => None,
    }
}

/// A condition's vector as one flag per row.
fn flags(vector: Vector) -> Vec<bool> {
    match vector {
        Vector::Bool(flags) => flags,
        other => (0..other.len())
            .map(|row| truthy(&other.value(row)))
            .collect(),
    }
}

/// `column = 'text'` (or `<>`) on a single-value dictionary column: the
/// text's id is looked up once and the rows' ids compared, with no value
/// read per row. `None` when the expression is not of that shape.
fn dictionary_equality(
    op: BinOp,
    left: &Expr,
    right: &Expr,
    columns: &Columns<'_>,
    docs: Docs<'_>,
) -> Option<Vec<bool>> {
    if !matches!(op, BinOp::Eq | BinOp::NotEq) {
        return None;
    }
    let (column, literal) = match (left, right) {
        (Expr::Column(column), Expr::Literal(value @ Value::Str(_)))
        | (Expr::Literal(value @ Value::Str(_)), Expr::Column(column)) => (column, value),
        _ => return None,
    };
    let source = columns.get(&column.name)?;
    if source.kind() != crate::expr::value::Kind::Str
        || !source.single_value()
        || source.cardinality().is_none()
    {
        return None;
    }
    let equal = op == BinOp::Eq;
    let Some(id) = source.id_of(literal) else {
        return Some(vec![!equal; docs.len()]);
    };
    let mut ids = Vec::with_capacity(docs.len());
    source.ids(docs, &mut ids);
    Some(ids.into_iter().map(|row| (row == id) == equal).collect())
}
