//! Stream messages into rows: a JSON message is parsed, the table's
//! ingestion transforms fill their columns, the filter drops what it
//! matches, and the fields map to the schema's columns (see `rows.rs`).
//! A message that cannot become a row is reported with a [`BadReason`] and
//! a message naming what was wrong, never a panic.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value as Json;

use super::rows::{field, json_cell};
use super::transform::Transform;
use crate::catalog::{Schema, TableConfig};
use crate::segment::{Cell, SegmentSpec};

/// Why a message was not ingested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BadReason {
    /// A message with no payload (a tombstone).
    EmptyMessage,
    InvalidJson,
    NotAnObject,
    /// A field whose value does not fit its column.
    SchemaViolation,
    TransformFailed,
}

impl BadReason {
    pub const ALL: [BadReason; 5] = [
        BadReason::EmptyMessage,
        BadReason::InvalidJson,
        BadReason::NotAnObject,
        BadReason::SchemaViolation,
        BadReason::TransformFailed,
    ];

    pub fn index(self) -> usize {
        self as usize
    }
}

/// What one message became.
#[derive(Debug)]
pub enum Decoded {
    Row(Vec<Cell>),
    /// Matched the table's filter; dropped on purpose.
    Filtered,
    Bad(BadReason, String),
}

/// Decodes a table's messages.
pub struct MessageDecoder {
    spec: Arc<SegmentSpec>,
    /// Per column of `spec`, the transform that computes it.
    transforms: Vec<Option<Transform>>,
    filter: Option<Transform>,
}

impl MessageDecoder {
    /// The decoder for `table` (with its `schema`) writing rows of `spec`.
    pub fn new(
        schema: &Schema,
        table: &TableConfig,
        spec: Arc<SegmentSpec>,
    ) -> Result<MessageDecoder, String> {
        let mut transforms: Vec<Option<Transform>> = vec![None; spec.columns.len()];
        let mut set = |column: &str, text: &str, field: &str| -> Result<(), String> {
            let index = spec
                .column_index(column)
                .ok_or_else(|| format!("{field}: column `{column}` is not in the schema"))?;
            transforms[index] =
                Some(Transform::parse(text).map_err(|reason| format!("{field}: {reason}"))?);
            Ok(())
        };
        // Pinot's older per-field transforms in the schema come first; the
        // table's ingestionConfig wins where both name a column.
        let legacy = schema
            .dimension_field_specs
            .iter()
            .chain(&schema.metric_field_specs)
            .map(|spec| (&spec.name, spec.transform_function.as_deref()))
            .chain(
                schema
                    .date_time_field_specs
                    .iter()
                    .map(|spec| (&spec.name, spec.transform_function.as_deref())),
            );
        for (name, text) in legacy {
            if let Some(text) = text {
                set(
                    name,
                    text,
                    &format!("schema field `{name}`.transformFunction"),
                )?;
            }
        }
        let ingestion = table.ingestion_config.as_ref();
        for (i, transform) in ingestion
            .map(|config| config.transform_configs.as_slice())
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            set(
                &transform.column_name,
                &transform.transform_function,
                &format!("ingestionConfig.transformConfigs[{i}]"),
            )?;
        }
        let filter = ingestion
            .and_then(|config| config.filter_config.as_ref())
            .and_then(|config| config.filter_function.as_deref())
            .map(|text| {
                Transform::parse(text).map_err(|reason| {
                    format!("ingestionConfig.filterConfig.filterFunction: {reason}")
                })
            })
            .transpose()?;
        Ok(MessageDecoder {
            spec,
            transforms,
            filter,
        })
    }

    pub fn spec(&self) -> &Arc<SegmentSpec> {
        &self.spec
    }

    /// Decodes one message payload.
    pub fn decode(&self, payload: Option<&[u8]>) -> Decoded {
        let payload = match payload {
            Some(payload) if !payload.is_empty() => payload,
            _ => return Decoded::Bad(BadReason::EmptyMessage, "the message has no payload".into()),
        };
        let record: Json = match serde_json::from_slice(payload) {
            Ok(record) => record,
            Err(err) => {
                return Decoded::Bad(BadReason::InvalidJson, format!("not valid JSON: {err}"))
            }
        };
        let Json::Object(record) = record else {
            return Decoded::Bad(
                BadReason::NotAnObject,
                format!("expected a JSON object, found {}", kind(&record)),
            );
        };
        if let Some(filter) = &self.filter {
            match filter.matches(&record) {
                Ok(true) => return Decoded::Filtered,
                Ok(false) => {}
                Err(reason) => return Decoded::Bad(BadReason::TransformFailed, reason),
            }
        }
        let mut row = Vec::with_capacity(self.spec.columns.len());
        for (column, transform) in self.spec.columns.iter().zip(&self.transforms) {
            let cell = match transform {
                None => json_cell(field(&record, &column.name), column),
                Some(transform) => match transform.eval(&record) {
                    Ok(value) => json_cell(Some(&value), column),
                    Err(reason) => return Decoded::Bad(BadReason::TransformFailed, reason),
                },
            };
            match cell {
                Ok(cell) => row.push(cell),
                Err(reason) => {
                    return Decoded::Bad(
                        BadReason::SchemaViolation,
                        format!("column `{}`: {reason}", column.name),
                    )
                }
            }
        }
        Decoded::Row(row)
    }
}

fn kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoder(table_extra: serde_json::Value) -> MessageDecoder {
        let schema: Schema = crate::catalog::parse_value(serde_json::json!({
            "schemaName": "t",
            "dimensionFieldSpecs": [
                {"name": "id", "dataType": "LONG"},
                {"name": "side", "dataType": "STRING"},
                {"name": "tags", "dataType": "STRING", "singleValueField": false},
                {"name": "user.name", "dataType": "STRING"}
            ],
            "metricFieldSpecs": [{"name": "price", "dataType": "DOUBLE"}],
            "dateTimeFieldSpecs": [{"name": "day", "dataType": "LONG", "format": "1:DAYS:EPOCH", "granularity": "1:DAYS"}]
        }), "schema")
        .unwrap()
        .value;
        let mut table = serde_json::json!({"tableName": "t", "tableType": "OFFLINE"});
        table
            .as_object_mut()
            .unwrap()
            .extend(table_extra.as_object().unwrap().clone());
        let table: TableConfig = crate::catalog::parse_value(table, "table").unwrap().value;
        let spec = Arc::new(SegmentSpec::new(&schema, &table));
        MessageDecoder::new(&schema, &table, spec).unwrap()
    }

    #[test]
    fn decodes_fields_nested_objects_arrays_and_transforms() {
        let decoder = decoder(serde_json::json!({"ingestionConfig": {
            "transformConfigs": [{"columnName": "day", "transformFunction": "toEpochDays(ts)"}],
            "filterConfig": {"filterFunction": "side = 'TEST'"}
        }}));
        let Decoded::Row(row) = decoder.decode(Some(
            br#"{"id": 7, "side": "BUY", "tags": ["a", "b"], "user": {"name": "ann"}, "price": 1.5, "ts": 86400000}"#,
        )) else {
            panic!("not a row")
        };
        let text = format!("{row:?}");
        for expected in [
            "I64(7)", "\"BUY\"", "\"a\"", "\"ann\"", "F64(1.5)", "I64(1)",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
        assert!(matches!(
            decoder.decode(Some(br#"{"id": 1, "side": "TEST"}"#)),
            Decoded::Filtered
        ));
    }

    #[test]
    fn bad_messages_name_their_reason() {
        let decoder = decoder(serde_json::json!({}));
        let cases: [(&[u8], BadReason, &str); 4] = [
            (b"{not json", BadReason::InvalidJson, "not valid JSON"),
            (b"[1, 2]", BadReason::NotAnObject, "found an array"),
            (
                br#"{"id": "seven"}"#,
                BadReason::SchemaViolation,
                "column `id`",
            ),
            (b"", BadReason::EmptyMessage, "no payload"),
        ];
        for (payload, reason, text) in cases {
            match decoder.decode(Some(payload)) {
                Decoded::Bad(found, message) => {
                    assert_eq!(found, reason, "{message}");
                    assert!(message.contains(text), "{message}");
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            decoder.decode(None),
            Decoded::Bad(BadReason::EmptyMessage, _)
        ));
    }
}
