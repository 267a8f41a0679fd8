//! Row values for the targets: PostgreSQL `COPY ... (FORMAT csv)` text
//! (PostgreSQL parses each field as its column's type) and MySQL protocol
//! values for bound statements. Values travel as data, never inside SQL.

use std::fmt::Write as _;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType as ArrowType;
use chrono::{Datelike, Timelike};

/// Appends rows `rows` of `columns` to `out` as CSV lines for `COPY`.
/// A null is an unquoted empty field; every other value is quoted.
pub fn pg_csv(columns: &[ArrayRef], rows: &[u32], out: &mut Vec<u8>) {
    let mut field = String::new();
    for row in rows {
        for (index, column) in columns.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            let row = *row as usize;
            if column.is_null(row) {
                continue;
            }
            field.clear();
            pg_text(column.as_ref(), row, &mut field);
            out.push(b'"');
            for byte in field.bytes() {
                if byte == b'"' {
                    out.push(b'"');
                }
                out.push(byte);
            }
            out.push(b'"');
        }
        out.push(b'\n');
    }
}

/// PostgreSQL's text form of one value.
fn pg_text(column: &dyn Array, row: usize, out: &mut String) {
    match column.data_type() {
        ArrowType::Int32 => {
            let _ = write!(out, "{}", column.as_primitive::<Int32Type>().value(row));
        }
        ArrowType::Int64 => {
            let _ = write!(out, "{}", column.as_primitive::<Int64Type>().value(row));
        }
        ArrowType::Float32 => float(column.as_primitive::<Float32Type>().value(row) as f64, out),
        ArrowType::Float64 => float(column.as_primitive::<Float64Type>().value(row), out),
        ArrowType::Boolean => out.push_str(if column.as_boolean().value(row) {
            "true"
        } else {
            "false"
        }),
        // PostgreSQL text cannot hold NUL characters: they are dropped.
        ArrowType::Utf8 => {
            let text = column.as_string::<i32>().value(row);
            if text.contains('\0') {
                out.extend(text.chars().filter(|c| *c != '\0'));
            } else {
                out.push_str(text);
            }
        }
        ArrowType::Binary => {
            out.push_str("\\x");
            for byte in column.as_binary::<i32>().value(row) {
                let _ = write!(out, "{byte:02x}");
            }
        }
        ArrowType::Timestamp(..) => {
            let micros = column.as_primitive::<TimestampMicrosecondType>().value(row);
            match chrono::DateTime::from_timestamp_micros(micros) {
                Some(time) => {
                    let _ = write!(out, "{}", time.format("%Y-%m-%d %H:%M:%S%.6f+00"));
                }
                None => out.push_str("infinity"),
            }
        }
        ArrowType::List(_) => {
            let list = column.as_list::<i32>();
            let items = list.value(row);
            out.push('{');
            for item in 0..items.len() {
                if item > 0 {
                    out.push(',');
                }
                if items.is_null(item) {
                    out.push_str("NULL");
                    continue;
                }
                let mut text = String::new();
                pg_text(items.as_ref(), item, &mut text);
                out.push('"');
                for c in text.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
            out.push('}');
        }
        _ => {}
    }
}

fn float(value: f64, out: &mut String) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        let _ = write!(out, "{value:?}");
    }
}

/// One value for a MySQL bound statement.
pub fn mysql_value(column: &dyn Array, row: usize) -> mysql_async::Value {
    use mysql_async::Value;
    if column.is_null(row) {
        return Value::NULL;
    }
    match column.data_type() {
        ArrowType::Int32 => Value::Int(column.as_primitive::<Int32Type>().value(row) as i64),
        ArrowType::Int64 => Value::Int(column.as_primitive::<Int64Type>().value(row)),
        ArrowType::Float32 => Value::Float(column.as_primitive::<Float32Type>().value(row)),
        ArrowType::Float64 => Value::Double(column.as_primitive::<Float64Type>().value(row)),
        ArrowType::Boolean => Value::Int(column.as_boolean().value(row) as i64),
        ArrowType::Utf8 => Value::Bytes(column.as_string::<i32>().value(row).as_bytes().to_vec()),
        ArrowType::Binary => Value::Bytes(column.as_binary::<i32>().value(row).to_vec()),
        ArrowType::Timestamp(..) => {
            let micros = column.as_primitive::<TimestampMicrosecondType>().value(row);
            match chrono::DateTime::from_timestamp_micros(micros) {
                Some(time) => Value::Date(
                    time.year().clamp(0, u16::MAX as i32) as u16,
                    time.month() as u8,
                    time.day() as u8,
                    time.hour() as u8,
                    time.minute() as u8,
                    time.second() as u8,
                    time.timestamp_subsec_micros(),
                ),
                None => Value::NULL,
            }
        }
        ArrowType::List(_) => {
            let items = column.as_list::<i32>().value(row);
            let mut json = Vec::with_capacity(items.len());
            for item in 0..items.len() {
                json.push(json_value(items.as_ref(), item));
            }
            Value::Bytes(serde_json::Value::Array(json).to_string().into_bytes())
        }
        _ => Value::NULL,
    }
}

fn json_value(column: &dyn Array, row: usize) -> serde_json::Value {
    use serde_json::Value;
    if column.is_null(row) {
        return Value::Null;
    }
    match column.data_type() {
        ArrowType::Int32 => Value::from(column.as_primitive::<Int32Type>().value(row)),
        ArrowType::Int64 => Value::from(column.as_primitive::<Int64Type>().value(row)),
        ArrowType::Float32 => Value::from(column.as_primitive::<Float32Type>().value(row) as f64),
        ArrowType::Float64 => Value::from(column.as_primitive::<Float64Type>().value(row)),
        ArrowType::Boolean => Value::from(column.as_boolean().value(row)),
        ArrowType::Utf8 => Value::from(column.as_string::<i32>().value(row)),
        _ => {
            let mut text = String::new();
            pg_text(column, row, &mut text);
            Value::from(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::builder::{ListBuilder, StringBuilder};
    use arrow_array::{BinaryArray, Int32Array, StringArray, TimestampMicrosecondArray};

    use super::*;

    #[test]
    fn csv_quotes_values_and_leaves_nulls_empty() {
        let text: ArrayRef = Arc::new(StringArray::from(vec![Some("a\"b,\nc"), None, Some("")]));
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), Some(-2), None]));
        let mut out = Vec::new();
        pg_csv(&[text, ints], &[0, 1, 2], &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\"\"b,\nc\",\"1\"\n,\"-2\"\n\"\",\n"
        );
    }

    #[test]
    fn pg_text_forms() {
        let mut out = String::new();
        pg_text(&StringArray::from(vec!["a\0b"]), 0, &mut out);
        assert_eq!(out, "ab");
        out.clear();
        let ts = TimestampMicrosecondArray::from(vec![1_700_000_000_123_456]).with_timezone("UTC");
        pg_text(&ts, 0, &mut out);
        assert_eq!(out, "2023-11-14 22:13:20.123456+00");
        out.clear();
        pg_text(&BinaryArray::from(vec![&b"\x00\xff"[..]]), 0, &mut out);
        assert_eq!(out, "\\x00ff");
        let mut list = ListBuilder::new(StringBuilder::new());
        list.values().append_value("x\"y");
        list.values().append_null();
        list.append(true);
        out.clear();
        pg_text(&list.finish(), 0, &mut out);
        assert_eq!(out, "{\"x\\\"y\",NULL}");
    }

    #[test]
    fn mysql_values() {
        let ts = TimestampMicrosecondArray::from(vec![1_700_000_000_123_456]).with_timezone("UTC");
        assert_eq!(
            mysql_value(&ts, 0),
            mysql_async::Value::Date(2023, 11, 14, 22, 13, 20, 123_456)
        );
        let ints = Int32Array::from(vec![None, Some(3)]);
        assert_eq!(mysql_value(&ints, 0), mysql_async::Value::NULL);
        assert_eq!(mysql_value(&ints, 1), mysql_async::Value::Int(3));
    }
}
