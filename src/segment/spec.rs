//! What a segment stores for each column, derived from a table's schema and
//! its index settings: types, encodings and the indexes to build.

use std::collections::BTreeSet;

use super::types::{default_null_value, Physical, Scalar};
use crate::catalog::{DataType, FieldRole, Schema, TableConfig};
use crate::index::bloom::DEFAULT_FPP;

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSpec {
    pub name: String,
    pub data_type: DataType,
    pub physical: Physical,
    pub role: FieldRole,
    pub single_value: bool,
    /// The value stored for a null.
    pub default_null: Scalar,
    /// Dictionary-encoded (false for single-value noDictionaryColumns).
    pub dictionary: bool,
    pub inverted: bool,
    pub range: bool,
    /// Bloom filter false-positive rate, when a bloom filter is configured.
    pub bloom: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SegmentSpec {
    pub table_name: String,
    pub columns: Vec<ColumnSpec>,
    pub time_column: Option<usize>,
    pub sorted_column: Option<usize>,
}

impl SegmentSpec {
    /// The segment layout of `table`, whose schema is `schema`.
    pub fn new(schema: &Schema, table: &TableConfig) -> SegmentSpec {
        let index = &table.table_index_config;
        let mut inverted: BTreeSet<&str> = index
            .inverted_index_columns
            .iter()
            .map(String::as_str)
            .collect();
        let mut range: BTreeSet<&str> = index
            .range_index_columns
            .iter()
            .map(String::as_str)
            .collect();
        let mut bloom: BTreeSet<&str> = index
            .bloom_filter_columns
            .iter()
            .map(String::as_str)
            .collect();
        let mut raw: BTreeSet<&str> = index
            .no_dictionary_columns
            .iter()
            .map(String::as_str)
            .collect();
        let mut sorted: Option<&str> = index.sorted_column.first().map(String::as_str);
        bloom.extend(index.bloom_filter_configs.keys().map(String::as_str));
        for field in &table.field_config_list {
            let name = field.name.as_str();
            if field
                .encoding_type
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case("RAW"))
            {
                raw.insert(name);
            }
            let legacy = field
                .index_type
                .iter()
                .chain(field.index_types.iter())
                .map(|kind| kind.to_ascii_lowercase());
            for kind in field
                .indexes
                .keys()
                .map(|kind| kind.to_ascii_lowercase())
                .chain(legacy)
            {
                match kind.as_str() {
                    "inverted" => {
                        inverted.insert(name);
                    }
                    "range" => {
                        range.insert(name);
                    }
                    "bloom" => {
                        bloom.insert(name);
                    }
                    "sorted" => sorted = sorted.or(Some(name)),
                    _ => {}
                }
            }
        }
        let mut columns = Vec::new();
        for column in schema.columns() {
            let name = column.name;
            let fpp = index
                .bloom_filter_configs
                .get(name)
                .and_then(|config| config.fpp)
                .unwrap_or(DEFAULT_FPP);
            // Multi-value columns, indexed columns and the sorted column keep
            // their dictionary whatever the config says: their indexes work on ids.
            let keeps_dictionary = !column.single_value
                || inverted.contains(name)
                || sorted == Some(name)
                || (range.contains(name) && Physical::of(column.data_type).width().is_none());
            columns.push(ColumnSpec {
                name: name.to_string(),
                data_type: column.data_type,
                physical: Physical::of(column.data_type),
                role: column.role,
                single_value: column.single_value,
                default_null: default_null_value(&column),
                dictionary: keeps_dictionary || !raw.contains(name),
                inverted: inverted.contains(name),
                range: range.contains(name),
                bloom: bloom.contains(name).then_some(fpp),
            });
        }
        let position = |name: &str| columns.iter().position(|column| column.name == name);
        let time_column = table
            .segments_config
            .time_column_name
            .as_deref()
            .and_then(position);
        let sorted_column = sorted
            .and_then(position)
            .filter(|&index| columns[index].single_value);
        SegmentSpec {
            table_name: table.name_with_type(),
            columns,
            time_column,
            sorted_column,
        }
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|column| column.name == name)
    }
}
