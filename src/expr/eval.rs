//! The semantics of each operator on values: one row of an aggregated
//! result ([`eval_row`]), comparisons, truth, casts, and arithmetic over
//! whole vectors ([`binary_vectors`]). `query::eval` evaluates over a
//! segment's documents with the same rules, as do ingestion transforms.

use std::cmp::Ordering;

use super::arith::{long_op, long_vectors, overflow};
use super::error::Error;
use super::value::{ColumnType, Kind, Value, Vector};
use super::{BinOp, Expr};

/// `err` with the expression it happened in (its start, when long).
pub fn in_expr(err: Error, expr: &Expr) -> Error {
    let name = expr.pinot_name();
    Error::InExpr {
        expr: match name.char_indices().nth(200) {
            Some((end, _)) => format!("{}...", &name[..end]),
            None => name,
        },
        source: Box::new(err),
    }
}

/// Evaluates a post-aggregation expression for one group.
#[recursive::recursive]
pub fn eval_row(expr: &Expr, keys: &[Value], aggs: &[Value]) -> Result<Value, Error> {
    Ok(match expr {
        Expr::Key(index, _) => keys[*index].clone(),
        Expr::Agg(index, _) => aggs[*index].clone(),
        Expr::Literal(value) => value.clone(),
        Expr::Column(column) => {
            return Err(Error::Invalid(format!(
                "column `{}` must appear in GROUP BY or be used in an aggregate function",
                column.name
            )))
        }
        Expr::Binary { op, left, right } => binary(
            *op,
            &eval_row(left, keys, aggs)?,
            &eval_row(right, keys, aggs)?,
            expr.column_type(),
        )
        .map_err(|err| in_expr(err, expr))?,
        Expr::Not(inner) => {
            let value = eval_row(inner, keys, aggs)?;
            if value.is_null() {
                Value::Null
            } else {
                Value::Long(!truthy(&value) as i64)
            }
        }
        _ => {
            let values: Vec<Value> = children_of(expr)
                .iter()
                .map(|child| eval_row(child, keys, aggs))
                .collect::<Result<_, _>>()?;
            apply(expr, &values)?
        }
    })
}

pub fn literal_kind(value: &Value) -> Kind {
    match value {
        Value::Long(_) => Kind::Long,
        Value::Double(_) => Kind::Double,
        Value::Bytes(_) => Kind::Bytes,
        _ => Kind::Str,
    }
}

/// The sub-expressions [`apply`] takes values of, in order.
pub fn children_of(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::Neg(inner) | Expr::Not(inner) => vec![inner],
        Expr::Binary { left, right, .. } => vec![left, right],
        Expr::Func { args, .. } => args.iter().collect(),
        Expr::Case {
            branches,
            otherwise,
        } => {
            let mut out = Vec::new();
            for (when, then) in branches {
                out.push(when);
                out.push(then);
            }
            if let Some(otherwise) = otherwise {
                out.push(otherwise);
            }
            out
        }
        Expr::Cast { expr, .. } | Expr::InList { expr, .. } | Expr::Like { expr, .. } => {
            vec![expr]
        }
        Expr::Between {
            expr, low, high, ..
        } => vec![expr, low, high],
        _ => Vec::new(),
    }
}

/// Computes `expr` from its children's values (in [`children_of`] order).
pub fn apply(expr: &Expr, values: &[Value]) -> Result<Value, Error> {
    Ok(match expr {
        Expr::Neg(_) => match &values[0] {
            Value::Long(v) => {
                Value::Long(v.checked_neg().ok_or_else(|| overflow(format!("-({v})")))?)
            }
            Value::Null => Value::Null,
            other => Value::Double(-other.as_f64().unwrap_or(f64::NAN)),
        },
        Expr::Not(_) => Value::Long(!truthy(&values[0]) as i64),
        Expr::Binary { op, .. } => binary(*op, &values[0], &values[1], expr.column_type())
            .map_err(|err| in_expr(err, expr))?,
        Expr::Func { func, .. } => func.call(values, expr.column_type())?,
        Expr::Case {
            branches,
            otherwise,
        } => {
            for index in 0..branches.len() {
                if truthy(&values[2 * index]) {
                    return Ok(coerce(values[2 * index + 1].clone(), expr.column_type()));
                }
            }
            match otherwise {
                Some(_) => coerce(values[2 * branches.len()].clone(), expr.column_type()),
                None => Value::Null,
            }
        }
        Expr::Cast { to, .. } => cast(&values[0], *to)?,
        Expr::InList { list, negated, .. } => {
            if values[0].is_null() {
                return Ok(Value::Long(0));
            }
            Value::Long((list.contains(&values[0]) != *negated) as i64)
        }
        Expr::Between { negated, .. } => {
            let inside = compare(&values[0], &values[1]).is_some_and(|o| o.is_ge())
                && compare(&values[0], &values[2]).is_some_and(|o| o.is_le());
            Value::Long((inside != *negated) as i64)
        }
        Expr::Like {
            pattern, negated, ..
        } => {
            let matched = values[0].with_text(|text| pattern.is_match(text));
            Value::Long((matched != *negated) as i64)
        }
        _ => Value::Null,
    })
}

pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Long(v) => *v != 0,
        Value::Double(v) => *v != 0.0,
        Value::Str(v) => v.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// Compares two values, numbers as numbers (text that reads as a number
/// compares with numbers by value). `None` when either is null.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::Str(text), Value::Long(_) | Value::Double(_)) => {
            Some(Value::Double(text.trim().parse().ok()?).total_cmp(b))
        }
        (Value::Long(_) | Value::Double(_), Value::Str(text)) => {
            Some(a.total_cmp(&Value::Double(text.trim().parse().ok()?)))
        }
        _ => Some(a.total_cmp(b)),
    }
}

/// One binary operation on two values; `ty` is the result type.
pub fn binary(op: BinOp, a: &Value, b: &Value, ty: ColumnType) -> Result<Value, Error> {
    if op == BinOp::And {
        return Ok(Value::Long((truthy(a) && truthy(b)) as i64));
    }
    if op == BinOp::Or {
        return Ok(Value::Long((truthy(a) || truthy(b)) as i64));
    }
    if a.is_null() || b.is_null() {
        return Ok(if op.is_arithmetic() {
            Value::Null
        } else {
            Value::Long(0)
        });
    }
    if !op.is_arithmetic() {
        let order = compare(a, b);
        let result = match op {
            BinOp::Eq => order == Some(Ordering::Equal),
            BinOp::NotEq => order.is_some_and(|o| o != Ordering::Equal),
            BinOp::Lt => order == Some(Ordering::Less),
            BinOp::LtEq => order.is_some_and(|o| o != Ordering::Greater),
            BinOp::Gt => order == Some(Ordering::Greater),
            _ => order.is_some_and(|o| o != Ordering::Less),
        };
        return Ok(Value::Long(result as i64));
    }
    if ty == ColumnType::Long {
        let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) else {
            return Err(Error::Invalid(format!(
                "cannot compute {} of `{}` and `{}`",
                op.pinot_name(),
                a.to_text(),
                b.to_text()
            )));
        };
        return long_op(op, x, y).map(Value::Long);
    }
    let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) else {
        return Err(Error::Invalid(format!(
            "cannot compute {} of `{}` and `{}`: both must be numbers",
            op.pinot_name(),
            a.to_text(),
            b.to_text()
        )));
    };
    Ok(Value::Double(double_op(op, x, y)))
}

#[inline]
fn double_op(op: BinOp, x: f64, y: f64) -> f64 {
    match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div => x / y,
        _ => x % y,
    }
}

/// A vector of numbers as doubles, without a copy when it holds doubles.
pub fn into_doubles(vector: Vector) -> Vec<f64> {
    match vector {
        Vector::Double(values) => values,
        other => other.to_f64(),
    }
}

/// `a[i] op b[i]` in place of `a`, one loop per operator.
pub fn doubles_op(op: BinOp, mut a: Vec<f64>, b: &[f64]) -> Vec<f64> {
    fn each(a: &mut [f64], b: &[f64], f: impl Fn(f64, f64) -> f64) {
        a.iter_mut().zip(b).for_each(|(x, y)| *x = f(*x, *y));
    }
    a.truncate(b.len());
    match op {
        BinOp::Add => each(&mut a, b, |x, y| x + y),
        BinOp::Sub => each(&mut a, b, |x, y| x - y),
        BinOp::Mul => each(&mut a, b, |x, y| x * y),
        BinOp::Div => each(&mut a, b, |x, y| x / y),
        _ => each(&mut a, b, |x, y| double_op(op, x, y)),
    }
    a
}

/// `a[i] op k` (or `k op a[i]` when `constant_first`) in place of `a`, one
/// loop per operator.
pub fn doubles_by_constant(op: BinOp, mut a: Vec<f64>, k: f64, constant_first: bool) -> Vec<f64> {
    fn each(a: &mut [f64], f: impl Fn(f64) -> f64) {
        a.iter_mut().for_each(|x| *x = f(*x));
    }
    match (op, constant_first) {
        (BinOp::Add, _) => each(&mut a, |x| x + k),
        (BinOp::Mul, _) => each(&mut a, |x| x * k),
        (BinOp::Sub, false) => each(&mut a, |x| x - k),
        (BinOp::Sub, true) => each(&mut a, |x| k - x),
        (BinOp::Div, false) => each(&mut a, |x| x / k),
        (BinOp::Div, true) => each(&mut a, |x| k / x),
        (_, false) => each(&mut a, |x| double_op(op, x, k)),
        (_, true) => each(&mut a, |x| double_op(op, k, x)),
    }
    a
}

pub fn binary_vectors(op: BinOp, l: Vector, r: Vector, ty: ColumnType) -> Result<Vector, Error> {
    match (&l, &r) {
        (Vector::Long(a), Vector::Long(b)) if ty == ColumnType::Long => {
            long_vectors(op, a, b).map(Vector::Long)
        }
        (Vector::Long(_) | Vector::Double(_), Vector::Long(_) | Vector::Double(_))
            if op.is_arithmetic() =>
        {
            let right = match r {
                Vector::Double(values) => values,
                other => other.to_f64(),
            };
            Ok(Vector::Double(doubles_op(op, into_doubles(l), &right)))
        }
        (Vector::Bool(a), Vector::Bool(b)) if op == BinOp::And => Ok(Vector::Bool(
            a.iter().zip(b).map(|(x, y)| *x && *y).collect(),
        )),
        (Vector::Bool(a), Vector::Bool(b)) if op == BinOp::Or => Ok(Vector::Bool(
            a.iter().zip(b).map(|(x, y)| *x || *y).collect(),
        )),
        _ => {
            if matches!(ty.kind(), Kind::Bool | Kind::Long) {
                if let Some(flags) = compare_vectors(op, &l, &r) {
                    return Ok(match ty.kind() {
                        Kind::Bool => Vector::Bool(flags),
                        _ => Vector::Long(flags.into_iter().map(i64::from).collect()),
                    });
                }
            }
            let mut out = Vec::with_capacity(l.len());
            for row in 0..l.len() {
                out.push(binary(op, &l.value(row), &r.value(row), ty)?);
            }
            Ok(from_values(ty.kind(), out))
        }
    }
}

/// A comparison of two vectors of numbers (or of two of text), row by
/// row, ordered as [`Value::total_cmp`] orders them; `None` for other
/// operators and vectors.
fn compare_vectors(op: BinOp, l: &Vector, r: &Vector) -> Option<Vec<bool>> {
    fn each<T>(a: &[T], b: &[T], test: impl Fn(&T, &T) -> bool) -> Vec<bool> {
        a.iter().zip(b).map(|(x, y)| test(x, y)).collect()
    }
    let holds = move |order: Ordering| match op {
        BinOp::Eq => order == Ordering::Equal,
        BinOp::NotEq => order != Ordering::Equal,
        BinOp::Lt => order == Ordering::Less,
        BinOp::LtEq => order != Ordering::Greater,
        BinOp::Gt => order == Ordering::Greater,
        _ => order != Ordering::Less,
    };
    if !matches!(
        op,
        BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq
    ) {
        return None;
    }
    Some(match (l, r) {
        (Vector::Long(a), Vector::Long(b)) => match op {
            BinOp::Eq => each(a, b, |x, y| x == y),
            BinOp::NotEq => each(a, b, |x, y| x != y),
            BinOp::Lt => each(a, b, |x, y| x < y),
            BinOp::LtEq => each(a, b, |x, y| x <= y),
            BinOp::Gt => each(a, b, |x, y| x > y),
            _ => each(a, b, |x, y| x >= y),
        },
        (Vector::Double(a), Vector::Double(b)) => each(a, b, |x, y| holds(x.total_cmp(y))),
        (Vector::Long(a), Vector::Double(b)) => a
            .iter()
            .zip(b)
            .map(|(x, y)| holds((*x as f64).total_cmp(y)))
            .collect(),
        (Vector::Double(a), Vector::Long(b)) => a
            .iter()
            .zip(b)
            .map(|(x, y)| holds(x.total_cmp(&(*y as f64))))
            .collect(),
        (Vector::Str(a), Vector::Str(b)) => each(a, b, |x, y| holds(x.cmp(y))),
        _ => return None,
    })
}

/// Collects values into a vector of `kind`.
pub fn from_values(kind: Kind, values: Vec<Value>) -> Vector {
    if values.iter().any(Value::is_null) {
        return Vector::Mixed(values);
    }
    match kind {
        Kind::Long => Vector::Long(values.iter().map(|v| v.as_i64().unwrap_or(0)).collect()),
        Kind::Double => Vector::Double(
            values
                .iter()
                .map(|v| v.as_f64().unwrap_or(f64::NAN))
                .collect(),
        ),
        Kind::Bool => Vector::Bool(values.iter().map(truthy).collect()),
        Kind::Bytes => Vector::Bytes(
            values
                .into_iter()
                .map(|v| match v {
                    Value::Bytes(bytes) => bytes,
                    other => other.to_text().into_bytes(),
                })
                .collect(),
        ),
        Kind::Str => Vector::Str(
            values
                .into_iter()
                .map(|v| match v {
                    Value::Str(text) => text,
                    Value::Null => String::new(),
                    other => other.to_text(),
                })
                .collect(),
        ),
    }
}

/// Converts a value to the representation of `ty` (CASE branches).
fn coerce(value: Value, ty: ColumnType) -> Value {
    match (ty.kind(), &value) {
        (Kind::Double, Value::Long(v)) => Value::Double(*v as f64),
        (Kind::Str, Value::Long(_) | Value::Double(_)) => Value::Str(value.to_text()),
        _ => value,
    }
}

/// CAST(value AS ty).
pub fn cast(value: &Value, ty: ColumnType) -> Result<Value, Error> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let fail = || {
        Error::Invalid(format!(
            "cannot cast `{}` to {}",
            value.to_text(),
            ty.name()
        ))
    };
    Ok(match ty {
        ColumnType::Int | ColumnType::Long | ColumnType::Timestamp => match value {
            Value::Double(v) => Value::Long(v.trunc() as i64),
            Value::Str(text) => match text.trim().parse::<i64>() {
                Ok(v) => Value::Long(v),
                Err(_) => {
                    Value::Long(text.trim().parse::<f64>().map_err(|_| fail())?.trunc() as i64)
                }
            },
            other => Value::Long(other.as_i64().ok_or_else(fail)?),
        },
        ColumnType::Float | ColumnType::Double => Value::Double(value.as_f64().ok_or_else(fail)?),
        ColumnType::Boolean => match value {
            Value::Str(text) => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Value::Long(1),
                "false" | "0" => Value::Long(0),
                _ => return Err(fail()),
            },
            other => Value::Long(truthy(other) as i64),
        },
        ColumnType::Bytes => match value {
            Value::Bytes(_) => value.clone(),
            other => Value::Bytes(other.to_text().into_bytes()),
        },
        _ => Value::Str(value.to_text()),
    })
}
