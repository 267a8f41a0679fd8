//! Turning input records into rows of cells, by the table's columns.
//!
//! JSON records (from files or Kafka messages) map fields to columns by name;
//! a column named `parent.child` also matches the nested field
//! `{"parent": {"child": ...}}`, so nested documents flatten as Pinot's
//! complex-type handling does. Missing fields and JSON nulls are nulls.

use serde_json::Value as Json;

use crate::segment::{Cell, ColumnSpec, Scalar, SegmentSpec, ValueError};

/// Why a record could not become a row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    pub column: String,
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.column.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "column `{}`: {}", self.column, self.reason)
        }
    }
}

/// Converts one JSON value into a cell of `column`.
pub fn json_cell(value: Option<&Json>, column: &ColumnSpec) -> Result<Cell, ValueError> {
    let value = match value {
        None | Some(Json::Null) => return Ok(Cell::Null),
        Some(value) => value,
    };
    match value {
        Json::Array(items) if !column.single_value => {
            let mut values = Vec::with_capacity(items.len());
            for item in items {
                if item.is_null() {
                    continue;
                }
                values.push(Scalar::from_json(column.data_type, item)?);
            }
            Ok(Cell::Many(values))
        }
        Json::Array(items) if column.data_type != crate::catalog::DataType::Json => {
            match items.as_slice() {
                [] => Ok(Cell::Null),
                [one] => Ok(Cell::One(Scalar::from_json(column.data_type, one)?)),
                _ => Err(ValueError::NotSingle { count: items.len() }),
            }
        }
        _ if !column.single_value => Ok(Cell::Many(vec![Scalar::from_json(
            column.data_type,
            value,
        )?])),
        _ => Ok(Cell::One(Scalar::from_json(column.data_type, value)?)),
    }
}

/// The field `name` of `record`, walking dots into nested objects when the
/// flat key is absent.
pub fn field<'a>(record: &'a serde_json::Map<String, Json>, name: &str) -> Option<&'a Json> {
    if let Some(value) = record.get(name) {
        return Some(value);
    }
    let (head, rest) = name.split_once('.')?;
    match record.get(head)? {
        Json::Object(inner) => field(inner, rest),
        _ => None,
    }
}

/// Converts a JSON object into a row of `spec`'s columns.
pub fn json_row(record: &Json, spec: &SegmentSpec) -> Result<Vec<Cell>, RowError> {
    let Json::Object(record) = record else {
        return Err(RowError {
            column: String::new(),
            reason: format!("expected a JSON object, found {}", short(record)),
        });
    };
    let mut row = Vec::with_capacity(spec.columns.len());
    for column in &spec.columns {
        let cell = json_cell(field(record, &column.name), column).map_err(|reason| RowError {
            column: column.name.clone(),
            reason: reason.to_string(),
        })?;
        row.push(cell);
    }
    Ok(row)
}

fn short(value: &Json) -> String {
    let text = value.to_string();
    if text.len() > 60 {
        format!("{}...", &text[..text.floor_char_boundary(60)])
    } else {
        text
    }
}
