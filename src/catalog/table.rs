//! Pinot's table config: how a table is stored, indexed and fed.
//!
//! Types mirror Pinot's JSON field for field so a pasted config round-trips.
//! Sections Gamay keeps but does not act on (tenants, metadata) are held as
//! raw JSON; sections it does not know at all are reported back as
//! unrecognized properties by `json::parse`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::json::{lenient_bool, lenient_string, lenient_string_map, string_or_list};

/// OFFLINE (batch-loaded) or REALTIME (fed from a stream).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TableType {
    #[default]
    Offline,
    Realtime,
}

impl TableType {
    pub fn name(self) -> &'static str {
        match self {
            TableType::Offline => "OFFLINE",
            TableType::Realtime => "REALTIME",
        }
    }

    pub fn parse(text: &str) -> Result<TableType, String> {
        match text.trim().to_ascii_uppercase().as_str() {
            "OFFLINE" => Ok(TableType::Offline),
            "REALTIME" => Ok(TableType::Realtime),
            _ => Err(format!(
                "unknown tableType `{text}`; expected OFFLINE or REALTIME"
            )),
        }
    }

    /// `stock_transactions` → `stock_transactions_REALTIME`.
    pub fn with_type(self, raw_name: &str) -> String {
        format!("{raw_name}_{}", self.name())
    }
}

impl fmt::Display for TableType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for TableType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for TableType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TableType::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TableConfig {
    pub table_name: String,
    pub table_type: TableType,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub is_dim_table: Option<bool>,
    #[serde(default)]
    pub segments_config: SegmentsConfig,
    #[serde(default)]
    pub table_index_config: TableIndexConfig,
    #[serde(default)]
    pub field_config_list: Vec<FieldConfig>,
    #[serde(default)]
    pub ingestion_config: Option<IngestionConfig>,
    #[serde(default)]
    pub upsert_config: Option<UpsertConfig>,
    #[serde(default)]
    pub dedup_config: Option<DedupConfig>,
    #[serde(default)]
    pub quota: Option<QuotaConfig>,
    #[serde(default)]
    pub query: Option<QueryConfig>,
    #[serde(default)]
    pub routing: Option<RoutingConfig>,
    /// Server and broker tenants: one process serves every table, so these
    /// are kept for round-trips only.
    #[serde(default)]
    pub tenants: Option<Value>,
    #[serde(default)]
    pub metadata: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentsConfig {
    #[serde(default)]
    pub time_column_name: Option<String>,
    #[serde(default)]
    pub time_type: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub replication: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub replicas_per_partition: Option<String>,
    #[serde(default)]
    pub retention_time_unit: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub retention_time_value: Option<String>,
    #[serde(default)]
    pub segment_push_type: Option<String>,
    #[serde(default)]
    pub segment_push_frequency: Option<String>,
    /// Deprecated in Pinot: the table's schema is the one with its raw name.
    #[serde(default)]
    pub schema_name: Option<String>,
    #[serde(default)]
    pub completion_config: Option<Value>,
    #[serde(default)]
    pub peer_segment_download_scheme: Option<String>,
    #[serde(default)]
    pub deleted_segments_retention_period: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TableIndexConfig {
    #[serde(default)]
    pub inverted_index_columns: Vec<String>,
    #[serde(default, deserialize_with = "string_or_list")]
    pub sorted_column: Vec<String>,
    #[serde(default)]
    pub range_index_columns: Vec<String>,
    #[serde(default)]
    pub range_index_version: Option<u32>,
    #[serde(default)]
    pub bloom_filter_columns: Vec<String>,
    #[serde(default)]
    pub bloom_filter_configs: BTreeMap<String, BloomFilterConfig>,
    #[serde(default)]
    pub no_dictionary_columns: Vec<String>,
    #[serde(default)]
    pub on_heap_dictionary_columns: Vec<String>,
    #[serde(default)]
    pub var_length_dictionary_columns: Vec<String>,
    #[serde(default)]
    pub json_index_columns: Vec<String>,
    #[serde(default)]
    pub star_tree_index_configs: Vec<StarTreeIndexConfig>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub enable_default_star_tree: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub enable_dynamic_star_tree_creation: Option<bool>,
    #[serde(default)]
    pub load_mode: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub null_handling_enabled: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub create_inverted_index_during_segment_generation: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub aggregate_metrics: Option<bool>,
    #[serde(default)]
    pub segment_partition_config: Option<SegmentPartitionConfig>,
    /// Legacy home of the stream settings (before `ingestionConfig`).
    #[serde(default, deserialize_with = "lenient_string_map")]
    pub stream_configs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BloomFilterConfig {
    #[serde(default)]
    pub fpp: Option<f64>,
    #[serde(default)]
    pub max_size_in_bytes: Option<u64>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub load_on_heap: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentPartitionConfig {
    #[serde(default)]
    pub column_partition_map: BTreeMap<String, ColumnPartitionConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ColumnPartitionConfig {
    pub function_name: String,
    pub num_partitions: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StarTreeIndexConfig {
    #[serde(default)]
    pub dimensions_split_order: Vec<String>,
    #[serde(default)]
    pub skip_star_node_creation_for_dimensions: Vec<String>,
    #[serde(default)]
    pub function_column_pairs: Vec<String>,
    #[serde(default)]
    pub aggregation_configs: Vec<StarTreeAggregationConfig>,
    #[serde(default)]
    pub max_leaf_records: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StarTreeAggregationConfig {
    pub column_name: String,
    pub aggregation_function: String,
    #[serde(default)]
    pub compression_codec: Option<String>,
}

/// Per-column settings (`fieldConfigList`), Pinot's newer home for indexes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldConfig {
    pub name: String,
    #[serde(default)]
    pub encoding_type: Option<String>,
    /// Legacy single index type (`"indexType": "INVERTED"`).
    #[serde(default)]
    pub index_type: Option<String>,
    #[serde(default)]
    pub index_types: Vec<String>,
    /// `{"inverted": {}, "range": {}, "bloom": {"fpp": 0.01}, ...}`.
    #[serde(default)]
    pub indexes: BTreeMap<String, Value>,
    #[serde(default)]
    pub compression_codec: Option<String>,
    #[serde(default, deserialize_with = "lenient_string_map")]
    pub properties: BTreeMap<String, String>,
    #[serde(default)]
    pub timestamp_config: Option<Value>,
}

impl FieldConfig {
    /// The field's `compressionCodec`, set on the field or in its forward
    /// index's settings (`indexes.forward.compressionCodec`, Pinot's newer
    /// place).
    pub fn codec(&self) -> Option<&str> {
        self.compression_codec.as_deref().or_else(|| {
            self.indexes
                .iter()
                .find(|(kind, _)| kind.eq_ignore_ascii_case("forward"))
                .and_then(|(_, config)| config.get("compressionCodec")?.as_str())
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestionConfig {
    #[serde(default)]
    pub stream_ingestion_config: Option<StreamIngestionConfig>,
    #[serde(default)]
    pub batch_ingestion_config: Option<Value>,
    #[serde(default)]
    pub transform_configs: Vec<TransformConfig>,
    #[serde(default)]
    pub filter_config: Option<FilterConfig>,
    #[serde(default)]
    pub complex_type_config: Option<ComplexTypeConfig>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub continue_on_error: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub row_time_value_check: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub segment_time_value_check: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamIngestionConfig {
    #[serde(default, deserialize_with = "string_maps")]
    pub stream_config_maps: Vec<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub pauseless_consumption_enabled: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub track_filtered_message_offsets: Option<bool>,
}

fn string_maps<'de, D>(deserializer: D) -> Result<Vec<BTreeMap<String, String>>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    struct Lenient(#[serde(deserialize_with = "lenient_string_map")] BTreeMap<String, String>);
    let maps = Option::<Vec<Lenient>>::deserialize(deserializer)?.unwrap_or_default();
    Ok(maps.into_iter().map(|Lenient(map)| map).collect())
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransformConfig {
    pub column_name: String,
    pub transform_function: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterConfig {
    #[serde(default)]
    pub filter_function: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComplexTypeConfig {
    #[serde(default)]
    pub fields_to_unnest: Vec<String>,
    #[serde(default)]
    pub delimiter: Option<String>,
    #[serde(default)]
    pub collection_not_unnested_to_json: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpsertConfig {
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub partial_upsert_strategies: BTreeMap<String, String>,
    #[serde(default)]
    pub default_partial_upsert_strategy: Option<String>,
    #[serde(default)]
    pub comparison_column: Option<String>,
    #[serde(default)]
    pub comparison_columns: Vec<String>,
    #[serde(default)]
    pub delete_record_column: Option<String>,
    #[serde(default, rename = "deletedKeysTTL")]
    pub deleted_keys_ttl: Option<f64>,
    #[serde(default, rename = "metadataTTL")]
    pub metadata_ttl: Option<f64>,
    #[serde(default)]
    pub hash_function: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub enable_snapshot: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub enable_preload: Option<bool>,
    #[serde(default)]
    pub consistency_mode: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub drop_out_of_order_record: Option<bool>,
    #[serde(default)]
    pub out_of_order_record_column: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DedupConfig {
    #[serde(default, deserialize_with = "lenient_bool")]
    pub dedup_enabled: Option<bool>,
    #[serde(default)]
    pub hash_function: Option<String>,
    #[serde(default, rename = "metadataTTL")]
    pub metadata_ttl: Option<f64>,
    #[serde(default)]
    pub dedup_time_column: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaConfig {
    #[serde(default, deserialize_with = "lenient_string")]
    pub storage: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub max_queries_per_second: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryConfig {
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub disable_groovy: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub use_approximate_function: Option<bool>,
    #[serde(default)]
    pub expression_override_map: BTreeMap<String, String>,
    #[serde(default)]
    pub max_query_response_size_bytes: Option<u64>,
    #[serde(default)]
    pub max_server_response_size_bytes: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingConfig {
    #[serde(default)]
    pub segment_pruner_types: Vec<String>,
    #[serde(default)]
    pub instance_selector_type: Option<String>,
}

impl TableConfig {
    /// The upsert settings, unless absent or `mode` NONE.
    pub fn upsert(&self) -> Option<&UpsertConfig> {
        self.upsert_config.as_ref().filter(|config| {
            !config
                .mode
                .as_deref()
                .is_some_and(|mode| mode.eq_ignore_ascii_case("NONE"))
        })
    }

    /// The dedup settings, when `dedupEnabled`.
    pub fn dedup(&self) -> Option<&DedupConfig> {
        self.dedup_config
            .as_ref()
            .filter(|config| config.dedup_enabled.unwrap_or(false))
    }

    /// The raw table name (without `_OFFLINE` / `_REALTIME`).
    pub fn raw_name(&self) -> &str {
        super::names::raw_table_name(&self.table_name)
    }

    /// The table name with its type suffix, as Pinot stores it.
    pub fn name_with_type(&self) -> String {
        self.table_type.with_type(self.raw_name())
    }

    /// The stream settings: the first of `ingestionConfig.streamIngestionConfig.streamConfigMaps`,
    /// else the legacy `tableIndexConfig.streamConfigs`.
    pub fn stream_config_map(&self) -> Option<&BTreeMap<String, String>> {
        let from_ingestion = self
            .ingestion_config
            .as_ref()
            .and_then(|ingestion| ingestion.stream_ingestion_config.as_ref())
            .and_then(|stream| stream.stream_config_maps.first());
        match from_ingestion {
            Some(map) => Some(map),
            None if !self.table_index_config.stream_configs.is_empty() => {
                Some(&self.table_index_config.stream_configs)
            }
            None => None,
        }
    }
}
