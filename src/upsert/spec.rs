//! What a table's `upsertConfig` or `dedupConfig` means for ingestion,
//! resolved against its segment layout: the positions of the primary key,
//! comparison and delete columns, the partial-upsert strategy of every
//! other column, and the TTLs.

use super::error::Error;
use crate::catalog::{DataType, Schema, TableConfig};
use crate::segment::{Physical, SegmentSpec};

/// How a partial upsert merges a column of a new version with the previous
/// version's value (Pinot's `partialUpsertStrategies`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// The new value, or the old one when the new one is null.
    Overwrite,
    /// Old plus new.
    Increment,
    /// The old values followed by the new ones (multi-value columns).
    Append,
    /// The old values and the new ones not among them (multi-value columns).
    Union,
    /// The old value; the new one only when there was none.
    Ignore,
    Max,
    Min,
}

impl Strategy {
    pub fn parse(text: &str) -> Option<Strategy> {
        Some(match text.to_ascii_uppercase().as_str() {
            "OVERWRITE" => Strategy::Overwrite,
            "INCREMENT" => Strategy::Increment,
            "APPEND" => Strategy::Append,
            "UNION" => Strategy::Union,
            "IGNORE" => Strategy::Ignore,
            "MAX" => Strategy::Max,
            "MIN" => Strategy::Min,
            _ => return None,
        })
    }
}

/// What a new record with a key already seen does.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// It replaces the previous version whole.
    Full,
    /// It is merged into the previous version, one strategy per column (in
    /// the segment's column order; primary key columns keep their value).
    Partial(Vec<Strategy>),
    /// It is dropped: the first version of a key is the only one.
    Dedup,
}

/// An upsert or dedup table's settings, by column position.
#[derive(Debug, Clone, PartialEq)]
pub struct UpsertSpec {
    pub mode: Mode,
    pub key_columns: Vec<usize>,
    /// The key columns' types, to read keys from decoded rows as stored.
    pub key_types: Vec<DataType>,
    /// Which of two versions is newer: the first column both have a value
    /// in decides (greater or equal wins); with none, the later arrival.
    pub comparison_columns: Vec<usize>,
    /// A column whose true value deletes the key.
    pub delete_column: Option<usize>,
    /// Keys whose newest comparison value is older than the largest seen by
    /// more than this (in the comparison column's units) leave the map.
    pub metadata_ttl: Option<f64>,
    /// The same for deleted keys.
    pub deleted_keys_ttl: Option<f64>,
    /// The key is one integer column, held in the map exactly.
    pub exact_keys: bool,
    /// `dropOutOfOrderRecord`: a record older than the version held is
    /// not stored at all.
    pub drop_out_of_order: bool,
    /// `outOfOrderRecordColumn`: a BOOLEAN column set to whether the record
    /// arrived older than the version held.
    pub out_of_order_column: Option<usize>,
}

impl UpsertSpec {
    /// The upsert or dedup settings of `table`, or `None` when it has
    /// neither. Names were checked by validation; one that still does not
    /// resolve is reported.
    pub fn of(
        schema: &Schema,
        table: &TableConfig,
        spec: &SegmentSpec,
    ) -> Result<Option<UpsertSpec>, Error> {
        let position = |name: &str, what: &'static str| {
            spec.columns
                .iter()
                .position(|column| column.name == name)
                .ok_or_else(|| Error::NoColumn {
                    what,
                    name: name.to_string(),
                })
        };
        let upsert = table.upsert();
        let dedup = table.dedup();
        if upsert.is_none() && dedup.is_none() {
            return Ok(None);
        }
        if schema.primary_key_columns.is_empty() {
            return Err(Error::NoPrimaryKey(schema.schema_name.clone()));
        }
        let key_columns = schema
            .primary_key_columns
            .iter()
            .map(|name| position(name, "primaryKeyColumns"))
            .collect::<Result<Vec<_>, _>>()?;
        let key_types = key_columns
            .iter()
            .map(|column| spec.columns[*column].data_type)
            .collect();
        let exact_keys = key_columns.len() == 1
            && matches!(
                spec.columns[key_columns[0]].physical,
                Physical::I32 | Physical::I64
            )
            && spec.columns[key_columns[0]].single_value;
        let time_column = table.segments_config.time_column_name.as_deref();
        let Some(upsert) = upsert else {
            let dedup = dedup.cloned().unwrap_or_default();
            let time = dedup.dedup_time_column.as_deref().or(time_column);
            return Ok(Some(UpsertSpec {
                mode: Mode::Dedup,
                key_columns,
                key_types,
                comparison_columns: time
                    .map(|name| position(name, "dedupConfig.dedupTimeColumn"))
                    .transpose()?
                    .into_iter()
                    .collect(),
                delete_column: None,
                metadata_ttl: dedup.metadata_ttl.filter(|ttl| *ttl > 0.0),
                deleted_keys_ttl: None,
                exact_keys,
                drop_out_of_order: false,
                out_of_order_column: None,
            }));
        };
        let mut comparison: Vec<&str> = upsert
            .comparison_columns
            .iter()
            .chain(upsert.comparison_column.iter())
            .map(String::as_str)
            .collect();
        if comparison.is_empty() {
            comparison.extend(time_column);
        }
        let comparison_columns = comparison
            .iter()
            .map(|name| position(name, "upsertConfig.comparisonColumns"))
            .collect::<Result<Vec<_>, _>>()?;
        let delete_column = upsert
            .delete_record_column
            .as_deref()
            .map(|name| position(name, "upsertConfig.deleteRecordColumn"))
            .transpose()?;
        let partial = upsert
            .mode
            .as_deref()
            .is_some_and(|mode| mode.eq_ignore_ascii_case("PARTIAL"));
        let mode = if partial {
            let default = match &upsert.default_partial_upsert_strategy {
                Some(text) => Strategy::parse(text).ok_or_else(|| Error::UnknownStrategy {
                    setting: "upsertConfig.defaultPartialUpsertStrategy".into(),
                    strategy: text.clone(),
                })?,
                None => Strategy::Overwrite,
            };
            let mut strategies = vec![default; spec.columns.len()];
            for (name, text) in &upsert.partial_upsert_strategies {
                let at = position(name, "upsertConfig.partialUpsertStrategies")?;
                strategies[at] = Strategy::parse(text).ok_or_else(|| Error::UnknownStrategy {
                    setting: format!("upsertConfig.partialUpsertStrategies.{name}"),
                    strategy: text.clone(),
                })?;
            }
            Mode::Partial(strategies)
        } else {
            Mode::Full
        };
        Ok(Some(UpsertSpec {
            mode,
            key_columns,
            key_types,
            comparison_columns,
            delete_column,
            metadata_ttl: upsert.metadata_ttl.filter(|ttl| *ttl > 0.0),
            deleted_keys_ttl: upsert.deleted_keys_ttl.filter(|ttl| *ttl > 0.0),
            exact_keys,
            drop_out_of_order: upsert.drop_out_of_order_record.unwrap_or(false),
            out_of_order_column: upsert
                .out_of_order_record_column
                .as_deref()
                .map(|name| position(name, "upsertConfig.outOfOrderRecordColumn"))
                .transpose()?,
        }))
    }
}
