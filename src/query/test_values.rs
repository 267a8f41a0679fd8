//! Strict comparison of result values for the query tests. `Value`'s own
//! `==` takes 5 and 5.0 as equal (group keys need that); tests must not:
//! two answers agree only when each cell has the same variant, integers,
//! text and bytes are equal, and doubles agree within 1e-9 relative (sums
//! taken in another order differ in the last bits). [`fits`] checks a cell
//! against the type the response declares for its column.

use crate::expr::value::{ColumnType, Kind, Value};

/// The same variant and value; doubles within 1e-9 relative.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Long(x), Value::Long(y)) => x == y,
        (Value::Double(x), Value::Double(y)) => close(*x, *y),
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        _ => false,
    }
}

fn close(x: f64, y: f64) -> bool {
    x == y || (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0)
}

/// Row by row, cell by cell, [`same`].
pub fn same_rows(a: &[Vec<Value>], b: &[Vec<Value>]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(a, b)| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y)))
}

/// Whether a cell holds the variant its column's declared type evaluates
/// as: integers (and booleans) `Long`, floating point `Double`, text `Str`.
pub fn fits(value: &Value, ty: ColumnType) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => ty.is_array() && items.iter().all(|item| fits_kind(item, ty)),
        single => !ty.is_array() && fits_kind(single, ty),
    }
}

fn fits_kind(value: &Value, ty: ColumnType) -> bool {
    matches!(
        (value, ty.kind()),
        (Value::Null, _)
            | (Value::Long(_), Kind::Long | Kind::Bool)
            | (Value::Double(_), Kind::Double)
            | (Value::Str(_), Kind::Str)
            | (Value::Bytes(_), Kind::Bytes)
    )
}

#[test]
fn integers_doubles_and_text_differ() {
    assert!(same(&Value::Long(5), &Value::Long(5)));
    assert!(!same(&Value::Long(5), &Value::Double(5.0)));
    assert!(!same(&Value::Long(5), &Value::Str("5".into())));
    assert!(!same(&Value::Double(5.0), &Value::Str("5".into())));
    assert!(same(&Value::Double(0.1 + 0.2), &Value::Double(0.3)));
    assert!(!same(&Value::Double(0.3), &Value::Double(0.31)));
    assert!(!same(&Value::Null, &Value::Double(0.0)));
    assert!(fits(&Value::Long(5), ColumnType::Int));
    assert!(!fits(&Value::Long(5), ColumnType::Double));
    assert!(!fits(&Value::Double(5.0), ColumnType::Long));
    assert!(fits(&Value::Null, ColumnType::Long));
}
