//! Values and types: [`Value`] (a literal, a group key, a selected cell),
//! [`ColumnType`] and [`ColumnRef`], and the bounds of a range predicate.
//!
//! ```text
//! value      = 0                      null
//!            | 1 zigzag               LONG
//!            | 2 f64                  DOUBLE (its bits)
//!            | 3 bytes                STRING (UTF-8)
//!            | 4 bytes                BYTES
//!            | 5 count value*         ARRAY
//! bound      = 0 | 1 value | 2 value  unbounded, included, excluded
//! column_ref = name:bytes column_type default:value
//! ```

use std::ops::Bound;

use super::buf::{Reader, Writer};
use super::error::WireError;
use crate::expr::value::{ColumnType, Value};
use crate::expr::ColumnRef;

/// Every column type, in tag order: the tag is the index (see
/// [`column_type_tag`], whose match names every type).
pub(super) const COLUMN_TYPES: [ColumnType; 18] = [
    ColumnType::Int,
    ColumnType::Long,
    ColumnType::Float,
    ColumnType::Double,
    ColumnType::BigDecimal,
    ColumnType::Boolean,
    ColumnType::Timestamp,
    ColumnType::String,
    ColumnType::Json,
    ColumnType::Bytes,
    ColumnType::IntArray,
    ColumnType::LongArray,
    ColumnType::FloatArray,
    ColumnType::DoubleArray,
    ColumnType::BooleanArray,
    ColumnType::TimestampArray,
    ColumnType::StringArray,
    ColumnType::BytesArray,
];

#[recursive::recursive]
pub fn put_value(w: &mut Writer, value: &Value) {
    match value {
        Value::Null => w.u8(0),
        Value::Long(v) => {
            w.u8(1);
            w.zigzag(*v);
        }
        Value::Double(v) => {
            w.u8(2);
            w.f64(*v);
        }
        Value::Str(v) => {
            w.u8(3);
            w.str(v);
        }
        Value::Bytes(v) => {
            w.u8(4);
            w.bytes(v);
        }
        Value::Array(values) => {
            w.u8(5);
            w.list(values, put_value);
        }
    }
}

#[recursive::recursive]
pub fn get_value(r: &mut Reader<'_>) -> Result<Value, WireError> {
    let tag = r.tag("value")?;
    Ok(match tag.0 {
        0 => Value::Null,
        1 => Value::Long(r.zigzag("long value")?),
        2 => Value::Double(r.f64("double value")?),
        3 => Value::Str(r.string("string value")?),
        4 => Value::Bytes(r.bytes("bytes value")?.to_vec()),
        5 => {
            r.enter()?;
            let values = r.list("array value", get_value)?;
            r.leave();
            Value::Array(values)
        }
        _ => return Err(r.unknown("value", tag)),
    })
}

pub(super) fn column_type_tag(ty: ColumnType) -> u8 {
    match ty {
        ColumnType::Int => 0,
        ColumnType::Long => 1,
        ColumnType::Float => 2,
        ColumnType::Double => 3,
        ColumnType::BigDecimal => 4,
        ColumnType::Boolean => 5,
        ColumnType::Timestamp => 6,
        ColumnType::String => 7,
        ColumnType::Json => 8,
        ColumnType::Bytes => 9,
        ColumnType::IntArray => 10,
        ColumnType::LongArray => 11,
        ColumnType::FloatArray => 12,
        ColumnType::DoubleArray => 13,
        ColumnType::BooleanArray => 14,
        ColumnType::TimestampArray => 15,
        ColumnType::StringArray => 16,
        ColumnType::BytesArray => 17,
    }
}

pub fn put_column_type(w: &mut Writer, ty: ColumnType) {
    w.u8(column_type_tag(ty));
}

pub fn get_column_type(r: &mut Reader<'_>) -> Result<ColumnType, WireError> {
    let tag = r.tag("column type")?;
    match COLUMN_TYPES.get(usize::from(tag.0)) {
        Some(ty) => Ok(*ty),
        None => Err(r.unknown("column type", tag)),
    }
}

pub fn put_column(w: &mut Writer, column: &ColumnRef) {
    w.str(&column.name);
    put_column_type(w, column.ty);
    put_value(w, &column.default);
}

pub fn get_column(r: &mut Reader<'_>) -> Result<ColumnRef, WireError> {
    Ok(ColumnRef {
        name: r.string("column name")?,
        ty: get_column_type(r)?,
        default: get_value(r)?,
    })
}

pub fn put_bound(w: &mut Writer, bound: &Bound<Value>) {
    match bound {
        Bound::Unbounded => w.u8(0),
        Bound::Included(value) => {
            w.u8(1);
            put_value(w, value);
        }
        Bound::Excluded(value) => {
            w.u8(2);
            put_value(w, value);
        }
    }
}

pub fn get_bound(r: &mut Reader<'_>) -> Result<Bound<Value>, WireError> {
    let tag = r.tag("range bound")?;
    Ok(match tag.0 {
        0 => Bound::Unbounded,
        1 => Bound::Included(get_value(r)?),
        2 => Bound::Excluded(get_value(r)?),
        _ => return Err(r.unknown("range bound", tag)),
    })
}
