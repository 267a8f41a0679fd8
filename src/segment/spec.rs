//! What a segment stores for each column, derived from a table's schema and
//! its index settings: types, encodings and the indexes to build.

use std::collections::{BTreeMap, BTreeSet};

use super::types::{default_null_value, Physical, Scalar};
use crate::catalog::{DataType, FieldRole, Schema, StarTreeIndexConfig, TableConfig};
use crate::codec::chunked::{Compression, DEFAULT_COMPRESSION};
use crate::index::bloom::DEFAULT_FPP;
use crate::index::startree::MetricFunc;

/// Pinot's default `maxLeafRecords`.
pub const DEFAULT_MAX_LEAF_RECORDS: usize = 10_000;
/// Largest cardinality of a dimension of the default star-tree.
pub const DEFAULT_TREE_MAX_CARDINALITY: u64 = 10_000;

/// One star-tree to build, resolved against the segment's columns.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeConfig {
    /// Column indexes, in split order.
    pub dimensions: Vec<usize>,
    pub skip_star: Vec<bool>,
    /// Stored metrics: the function and its column (`None` for COUNT).
    pub metrics: Vec<(MetricFunc, Option<usize>)>,
    pub max_leaf_records: usize,
}

impl TreeConfig {
    /// `FUNCTION__column` names of the stored metrics.
    pub fn pair_names(&self, columns: &[ColumnSpec]) -> Vec<String> {
        self.metrics
            .iter()
            .map(|(func, column)| match column {
                Some(column) => format!("{}__{}", func.name(), columns[*column].name),
                None => "COUNT__*".to_string(),
            })
            .collect()
    }
}

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
    /// A dimension of a star-tree: its dictionary ids are the tree's keys.
    pub star_tree_dimension: bool,
    /// For a date-time column of format `size:unit:EPOCH`: the length of
    /// one stored unit in nanoseconds (a day for `1:DAYS:EPOCH`), so dates
    /// and timestamps read from files land in the column's own unit.
    pub epoch_unit_nanos: Option<u64>,
    /// How a raw text or bytes column's values are compressed: the field's
    /// `compressionCodec`, else [`DEFAULT_COMPRESSION`]; `None` for
    /// `PASS_THROUGH`. Other columns ignore it (raw numbers are bit-packed).
    pub compression: Option<Compression>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SegmentSpec {
    pub table_name: String,
    pub columns: Vec<ColumnSpec>,
    pub time_column: Option<usize>,
    pub sorted_column: Option<usize>,
    /// Configured star-trees (`starTreeIndexConfigs`).
    pub star_trees: Vec<TreeConfig>,
    /// `enableDefaultStarTree`: one more tree, chosen when sealing from the
    /// columns' cardinalities.
    pub default_star_tree: bool,
}

/// The length of one stored unit of an `size:unit:EPOCH` date-time
/// format, in nanoseconds.
fn epoch_unit_nanos(format: Option<&str>) -> Option<u64> {
    match crate::catalog::datetime::DateTimeFormat::parse(format?).ok()? {
        crate::catalog::datetime::DateTimeFormat::Epoch { size, unit } => {
            unit.nanos().checked_mul(u64::from(size))
        }
        _ => None,
    }
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
        // Upsert and dedup tables keep docs in arrival order when sealing,
        // so the key map's locations stay right: no sorted column.
        let keyed = table.upsert().is_some() || table.dedup().is_some();
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
        // A codec name validation refused never reaches here; one that
        // does not parse keeps the default.
        let codecs: BTreeMap<&str, Option<Compression>> = table
            .field_config_list
            .iter()
            .filter_map(|field| {
                let codec = field.codec()?;
                Some((field.name.as_str(), Compression::from_pinot(codec).ok()?))
            })
            .collect();
        let mut tree_dimensions: BTreeSet<&str> = index
            .star_tree_index_configs
            .iter()
            .flat_map(|tree| tree.dimensions_split_order.iter().map(String::as_str))
            .collect();
        if index.enable_default_star_tree == Some(true) {
            // The default tree's candidates: dictionary-encoded single-value
            // dimensions (and the time column), as in Pinot.
            tree_dimensions.extend(
                schema
                    .columns()
                    .filter(|c| {
                        c.single_value && c.role != FieldRole::Metric && !raw.contains(c.name)
                    })
                    .map(|c| c.name),
            );
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
                || tree_dimensions.contains(name)
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
                star_tree_dimension: tree_dimensions.contains(name),
                epoch_unit_nanos: epoch_unit_nanos(column.format),
                compression: codecs
                    .get(name)
                    .copied()
                    .unwrap_or(Some(DEFAULT_COMPRESSION)),
            });
        }
        let position = |name: &str| columns.iter().position(|column| column.name == name);
        let time_column = table
            .segments_config
            .time_column_name
            .as_deref()
            .and_then(position);
        let sorted_column = sorted
            .filter(|_| !keyed)
            .and_then(position)
            .filter(|&index| columns[index].single_value);
        let star_trees = index
            .star_tree_index_configs
            .iter()
            .filter_map(|tree| resolve_tree(tree, &columns))
            .collect();
        SegmentSpec {
            table_name: table.name_with_type(),
            columns,
            time_column,
            sorted_column,
            star_trees,
            default_star_tree: index.enable_default_star_tree == Some(true),
        }
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|column| column.name == name)
    }
}

/// The stored metrics of a `FUNCTION__column` pair: AVG keeps a sum and a
/// count, MINMAXRANGE a minimum and a maximum, DISTINCTCOUNTHLL and
/// PERCENTILEEST their sketches. PERCENTILETDIGEST is not stored: queries
/// that need it read the docs.
fn pair_metrics(function: &str, column: Option<usize>) -> Vec<(MetricFunc, Option<usize>)> {
    match (function.to_ascii_uppercase().as_str(), column) {
        ("COUNT", _) => vec![(MetricFunc::Count, None)],
        ("SUM", Some(c)) => vec![(MetricFunc::Sum, Some(c))],
        ("MIN", Some(c)) => vec![(MetricFunc::Min, Some(c))],
        ("MAX", Some(c)) => vec![(MetricFunc::Max, Some(c))],
        ("AVG", Some(c)) => vec![(MetricFunc::Sum, Some(c)), (MetricFunc::Count, None)],
        ("MINMAXRANGE", Some(c)) => vec![(MetricFunc::Min, Some(c)), (MetricFunc::Max, Some(c))],
        ("DISTINCTCOUNTHLL", Some(c)) => vec![(MetricFunc::Hll, Some(c))],
        ("PERCENTILEEST", Some(c)) => vec![(MetricFunc::Quantiles, Some(c))],
        _ => Vec::new(),
    }
}

/// A configured tree against the columns; `None` when a dimension is
/// missing or multi-valued (table validation reports those).
fn resolve_tree(tree: &StarTreeIndexConfig, columns: &[ColumnSpec]) -> Option<TreeConfig> {
    let position = |name: &str| columns.iter().position(|column| column.name == name);
    let dimensions: Vec<usize> = tree
        .dimensions_split_order
        .iter()
        .map(|name| position(name).filter(|&index| columns[index].single_value))
        .collect::<Option<_>>()?;
    if dimensions.is_empty() {
        return None;
    }
    let skip_star = tree
        .dimensions_split_order
        .iter()
        .map(|name| tree.skip_star_node_creation_for_dimensions.contains(name))
        .collect();
    let pairs = tree
        .function_column_pairs
        .iter()
        .filter_map(|pair| pair.split_once("__"))
        .map(|(function, column)| (function.to_string(), column.to_string()))
        .chain(tree.aggregation_configs.iter().map(|config| {
            (
                config.aggregation_function.clone(),
                config.column_name.clone(),
            )
        }));
    let mut metrics: Vec<(MetricFunc, Option<usize>)> = Vec::new();
    for (function, column) in pairs {
        // Numbers, except for distinct counts, which hash any value.
        let counts_distinct = function.eq_ignore_ascii_case("DISTINCTCOUNTHLL");
        let column = position(&column).filter(|&index| {
            columns[index].single_value
                && (counts_distinct || columns[index].physical.width().is_some())
        });
        for metric in pair_metrics(&function, column) {
            if !metrics.contains(&metric) {
                metrics.push(metric);
            }
        }
    }
    Some(TreeConfig {
        dimensions,
        skip_star,
        metrics,
        max_leaf_records: tree
            .max_leaf_records
            .map_or(DEFAULT_MAX_LEAF_RECORDS, |records| records.max(1) as usize),
    })
}
