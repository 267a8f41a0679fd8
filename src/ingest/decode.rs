//! Stream messages into rows: a JSON message is parsed, the table's
//! ingestion transforms fill their columns, the filter drops what it
//! matches, and the fields map to the schema's columns (see `rows.rs`).
//! A message that cannot become a row is reported with a [`BadReason`] and
//! a message naming what was wrong, never a panic.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value as Json;

use super::debezium::{self, Change};
use super::error::{Error, Result};
use super::rows::{field, json_cell};
use super::transform::{Compile, RecordExpr};
use crate::catalog::{Decoder, Schema, TableConfig};
use crate::segment::{Cell, ColumnSpec, SegmentSpec, ValueError};

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
    /// A message of a change stream that is not an insert, update, read or
    /// delete event (a truncate, or no `op`).
    NotAChangeEvent,
}

impl BadReason {
    pub const ALL: [BadReason; 6] = [
        BadReason::EmptyMessage,
        BadReason::InvalidJson,
        BadReason::NotAnObject,
        BadReason::SchemaViolation,
        BadReason::TransformFailed,
        BadReason::NotAChangeEvent,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    /// The name the API and the metrics use, e.g. `INVALID_JSON`.
    pub fn name(self) -> &'static str {
        match self {
            BadReason::EmptyMessage => "EMPTY_MESSAGE",
            BadReason::InvalidJson => "INVALID_JSON",
            BadReason::NotAnObject => "NOT_AN_OBJECT",
            BadReason::SchemaViolation => "SCHEMA_VIOLATION",
            BadReason::TransformFailed => "TRANSFORM_FAILED",
            BadReason::NotAChangeEvent => "NOT_A_CHANGE_EVENT",
        }
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
    transforms: Vec<Option<Box<dyn RecordExpr>>>,
    filter: Option<Box<dyn RecordExpr>>,
    /// Column index by field name, when fields map straight to columns (no
    /// transform, filter or nested `a.b` column): messages then decode
    /// field by field without building the whole JSON object.
    direct: Option<HashMap<String, usize>>,
    /// For a stream of Debezium change events, the column that marks a
    /// row as a delete (the upsert table's `deleteRecordColumn`).
    change_events: Option<String>,
}

impl MessageDecoder {
    /// The decoder for `table` (with its `schema`) writing rows of `spec`;
    /// `compile` makes its transforms and filter.
    pub fn new(
        schema: &Schema,
        table: &TableConfig,
        spec: Arc<SegmentSpec>,
        format: Decoder,
        compile: Compile,
    ) -> Result<MessageDecoder> {
        let change_events = match format {
            Decoder::Json => None,
            Decoder::Debezium => Some(
                table
                    .upsert_config
                    .as_ref()
                    .and_then(|upsert| upsert.delete_record_column.clone())
                    .ok_or(Error::NoDeleteColumn)?,
            ),
        };
        let mut transforms: Vec<Option<Box<dyn RecordExpr>>> =
            (0..spec.columns.len()).map(|_| None).collect();
        let mut set = |column: &str, text: &str, field: &str| -> Result<()> {
            let index = spec
                .column_index(column)
                .ok_or_else(|| Error::UnknownColumn {
                    field: field.to_string(),
                    column: column.to_string(),
                })?;
            transforms[index] = Some(compile(text).map_err(Error::setting(field))?);
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
                compile(text).map_err(Error::setting(
                    "ingestionConfig.filterConfig.filterFunction",
                ))
            })
            .transpose()?;
        let plain = change_events.is_none()
            && filter.is_none()
            && transforms.iter().all(Option::is_none)
            && spec.columns.iter().all(|column| !column.name.contains('.'));
        let direct = plain.then(|| {
            spec.columns
                .iter()
                .enumerate()
                .map(|(index, column)| (column.name.clone(), index))
                .collect()
        });
        Ok(MessageDecoder {
            spec,
            transforms,
            filter,
            direct,
            change_events,
        })
    }

    pub fn spec(&self) -> &Arc<SegmentSpec> {
        &self.spec
    }

    /// Decodes one message payload.
    /// Decodes one message: its payload and, for change events (whose
    /// tombstones carry only a key), its key.
    pub fn decode(&self, payload: Option<&[u8]>, key: Option<&[u8]>) -> Decoded {
        if let Some(delete_column) = &self.change_events {
            let (mut record, deleted) = match debezium::change(payload, key) {
                Ok(Change::Upsert(record)) => (record, false),
                Ok(Change::Delete(record)) => (record, true),
                Err((reason, message)) => return Decoded::Bad(reason, message),
            };
            record.insert(delete_column.clone(), Json::Bool(deleted));
            return self.decode_record(record);
        }
        let payload = match payload {
            Some(payload) if !payload.is_empty() => payload,
            _ => return Decoded::Bad(BadReason::EmptyMessage, "the message has no payload".into()),
        };
        if let Some(direct) = &self.direct {
            return self.decode_direct(direct, payload);
        }
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
        self.decode_record(record)
    }

    /// A parsed record through the filter and the transforms into a row.
    fn decode_record(&self, record: serde_json::Map<String, Json>) -> Decoded {
        if let Some(filter) = &self.filter {
            match filter.matches(&record) {
                Ok(true) => return Decoded::Filtered,
                Ok(false) => {}
                Err(reason) => return Decoded::Bad(BadReason::TransformFailed, reason.to_string()),
            }
        }
        let mut row = Vec::with_capacity(self.spec.columns.len());
        for (column, transform) in self.spec.columns.iter().zip(&self.transforms) {
            let cell = match transform {
                None => json_cell(field(&record, &column.name), column),
                Some(transform) => match transform.eval(&record) {
                    Ok(value) => json_cell(Some(&value), column),
                    Err(reason) => {
                        return Decoded::Bad(BadReason::TransformFailed, reason.to_string())
                    }
                },
            };
            match cell {
                Ok(cell) => row.push(cell),
                Err(reason) => return schema_violation(column, reason),
            }
        }
        Decoded::Row(row)
    }
}

impl MessageDecoder {
    /// Fields straight into their columns' slots; unknown fields skipped.
    fn decode_direct(&self, columns: &HashMap<String, usize>, payload: &[u8]) -> Decoded {
        let mut deserializer = serde_json::Deserializer::from_slice(payload);
        let fields = match DirectRow::deserialize_in(columns, &mut deserializer)
            .and_then(|fields| deserializer.end().map(|()| fields))
        {
            Ok(Some(fields)) => fields,
            Ok(None) => {
                // Not an object: say what it is.
                let found = serde_json::from_slice::<Json>(payload)
                    .map(|value| kind(&value))
                    .unwrap_or("something else");
                return Decoded::Bad(
                    BadReason::NotAnObject,
                    format!("expected a JSON object, found {found}"),
                );
            }
            Err(err) => {
                return Decoded::Bad(BadReason::InvalidJson, format!("not valid JSON: {err}"))
            }
        };
        let mut row = Vec::with_capacity(self.spec.columns.len());
        for (column, value) in self.spec.columns.iter().zip(&fields) {
            match json_cell(value.as_ref(), column) {
                Ok(cell) => row.push(cell),
                Err(reason) => return schema_violation(column, reason),
            }
        }
        Decoded::Row(row)
    }
}

/// A JSON object read into per-column slots (`None` when the document is
/// not an object).
struct DirectRow<'a> {
    columns: &'a HashMap<String, usize>,
}

impl DirectRow<'_> {
    fn deserialize_in<'de, D: serde::Deserializer<'de>>(
        columns: &HashMap<String, usize>,
        deserializer: D,
    ) -> Result<Option<Vec<Option<Json>>>, D::Error> {
        serde::de::DeserializeSeed::deserialize(DirectRow { columns }, deserializer)
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for DirectRow<'_> {
    type Value = Option<Vec<Option<Json>>>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for DirectRow<'_> {
    type Value = Option<Vec<Option<Json>>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields: Vec<Option<Json>> = vec![None; self.columns.len()];
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match self.columns.get(key.as_ref()) {
                Some(&index) => fields[index] = Some(map.next_value()?),
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(Some(fields))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

fn schema_violation(column: &ColumnSpec, reason: ValueError) -> Decoded {
    Decoded::Bad(
        BadReason::SchemaViolation,
        format!("column `{}`: {reason}", column.name),
    )
}

pub(super) fn kind(value: &Json) -> &'static str {
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
        json_decoder(&schema, table)
    }

    /// The JSON decoder of `table`, compiling with the query engine.
    fn json_decoder(schema: &Schema, table: serde_json::Value) -> MessageDecoder {
        let table: TableConfig = crate::catalog::parse_value(table, "table").unwrap().value;
        let spec = Arc::new(SegmentSpec::new(schema, &table));
        MessageDecoder::new(
            schema,
            &table,
            spec,
            Decoder::Json,
            crate::query::transform::compile,
        )
        .unwrap()
    }

    #[test]
    fn decodes_fields_nested_objects_arrays_and_transforms() {
        let decoder = decoder(serde_json::json!({"ingestionConfig": {
            "transformConfigs": [{"columnName": "day", "transformFunction": "toEpochDays(ts)"}],
            "filterConfig": {"filterFunction": "side = 'TEST'"}
        }}));
        let Decoded::Row(row) = decoder.decode(Some(
            br#"{"id": 7, "side": "BUY", "tags": ["a", "b"], "user": {"name": "ann"}, "price": 1.5, "ts": 86400000}"#,
        ), None) else {
            panic!("not a row")
        };
        let text = format!("{row:?}");
        for expected in [
            "I64(7)", "\"BUY\"", "\"a\"", "\"ann\"", "F64(1.5)", "I64(1)",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
        assert!(matches!(
            decoder.decode(Some(br#"{"id": 1, "side": "TEST"}"#), None),
            Decoded::Filtered
        ));
    }

    #[test]
    fn direct_decoding_matches_the_general_path() {
        let schema: Schema = crate::catalog::parse_value(
            serde_json::json!({
                "schemaName": "t",
                "dimensionFieldSpecs": [
                    {"name": "id", "dataType": "LONG"},
                    {"name": "side", "dataType": "STRING"},
                    {"name": "tags", "dataType": "STRING", "singleValueField": false}
                ],
                "metricFieldSpecs": [{"name": "price", "dataType": "DOUBLE"}]
            }),
            "schema",
        )
        .unwrap()
        .value;
        let make = |filter: Option<&str>| {
            let mut table = serde_json::json!({"tableName": "t", "tableType": "OFFLINE"});
            if let Some(filter) = filter {
                table["ingestionConfig"] =
                    serde_json::json!({"filterConfig": {"filterFunction": filter}});
            }
            json_decoder(&schema, table)
        };
        let direct = make(None);
        let general = make(Some("1 = 0"));
        assert!(direct.direct.is_some() && general.direct.is_none());
        for payload in [
            &br#"{"id": 1, "side": "BUY", "tags": ["a", "b"], "price": 2.5}"#[..],
            br#"{"extra": {"deep": [1, {"x": 2}]}, "id": "7", "price": 3}"#,
            br#"{"id": 1, "id": 2, "tags": "solo", "side": null}"#,
            br#"{"id": 9007199254740993, "price": 1e3}"#,
            br#"{"id": 1.5}"#,
            br#"{"id": 1} trailing"#,
            b"42",
            br#""text""#,
        ] {
            let (a, b) = (
                direct.decode(Some(payload), None),
                general.decode(Some(payload), None),
            );
            let text = String::from_utf8_lossy(payload);
            match (&a, &b) {
                (Decoded::Row(x), Decoded::Row(y)) => assert_eq!(x, y, "{text}"),
                (Decoded::Bad(x, m), Decoded::Bad(y, n)) => {
                    assert_eq!(x, y, "{text}: {m} / {n}")
                }
                _ => panic!("{text}: {a:?} vs {b:?}"),
            }
        }
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
            match decoder.decode(Some(payload), None) {
                Decoded::Bad(found, message) => {
                    assert_eq!(found, reason, "{message}");
                    assert!(message.contains(text), "{message}");
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            decoder.decode(None, None),
            Decoded::Bad(BadReason::EmptyMessage, _)
        ));
    }
}
