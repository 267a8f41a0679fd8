//! Checks a table config against its schema.
//!
//! Every problem is collected (not just the first), each with the path of the
//! offending field and a message that says what would be valid. Settings that
//! Pinot knows but Gamay does not act on are accepted with a warning, so a
//! pasted config keeps working while the user learns what is ignored.

use std::collections::BTreeSet;

use crate::codec::chunked::{Compression, DEFAULT_COMPRESSION};

use super::datetime::TimeUnit;
use super::names::{self, did_you_mean};
use super::schema::{DataType, FieldRole, Schema};
use super::stream::{self, parse_stream_config};
use super::table::{StarTreeIndexConfig, TableConfig, TableType};
use super::{Error, Problem};

/// Aggregation functions a star-tree can pre-aggregate.
pub const STAR_TREE_FUNCTIONS: [&str; 9] = [
    "COUNT",
    "SUM",
    "MIN",
    "MAX",
    "AVG",
    "MINMAXRANGE",
    "DISTINCTCOUNTHLL",
    "PERCENTILEEST",
    "PERCENTILETDIGEST",
];

/// Index types Gamay builds.
pub const SUPPORTED_INDEXES: [&str; 6] = [
    "inverted",
    "range",
    "bloom",
    "sorted",
    "forward",
    "dictionary",
];
/// Index types Pinot has that Gamay accepts in a config but does not build.
const UNBUILT_INDEXES: [&str; 8] = [
    "json",
    "text",
    "fst",
    "ifst",
    "h3",
    "vector",
    "timestamp",
    "null",
];

/// Validates `table` against `schema`; on success returns warnings about
/// settings that are accepted but have no effect in Gamay.
pub fn validate_table(table: &TableConfig, schema: &Schema) -> Result<Vec<String>, Error> {
    let mut check = Checker {
        schema,
        problems: Vec::new(),
        warnings: Vec::new(),
    };
    check.names(table);
    check.segments(table);
    check.index_lists(table);
    for (index, tree) in table
        .table_index_config
        .star_tree_index_configs
        .iter()
        .enumerate()
    {
        check.star_tree(index, tree);
    }
    check.field_configs(table);
    check.ingestion(table);
    check.upsert_and_dedup(table);
    check.limits(table);
    if check.problems.is_empty() {
        Ok(check.warnings)
    } else {
        Err(Error::Invalid {
            what: format!("table config `{}`", table.name_with_type()),
            problems: check.problems,
        })
    }
}

struct Checker<'a> {
    schema: &'a Schema,
    problems: Vec<Problem>,
    warnings: Vec<String>,
}

impl Checker<'_> {
    fn problem(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Reports `column` if the schema lacks it; returns whether it exists.
    fn column(&mut self, field: &str, column: &str) -> bool {
        if self.schema.has_column(column) {
            return true;
        }
        let message = format!(
            "column `{column}` is not in schema `{}`{}",
            self.schema.schema_name,
            did_you_mean(column, self.schema.column_names())
        );
        self.problem(field, message);
        false
    }

    fn columns(&mut self, field: &str, columns: &[String]) {
        for (index, column) in columns.iter().enumerate() {
            self.column(&format!("{field}[{index}]"), column);
        }
    }

    fn data_type(&self, column: &str) -> Option<DataType> {
        self.schema.column(column).map(|column| column.data_type)
    }

    fn names(&mut self, table: &TableConfig) {
        if let Err(message) = names::check_table_name(table.raw_name()) {
            self.problem("tableName", format!("table name {message}"));
        }
        if table.raw_name() != self.schema.schema_name {
            let message = format!(
                "table `{}` must use the schema of the same name, not `{}`",
                table.raw_name(),
                self.schema.schema_name
            );
            self.problem("tableName", message);
        }
        if let Some(declared) = &table.segments_config.schema_name {
            if declared != &self.schema.schema_name {
                let message = format!(
                    "schemaName `{declared}` differs from the table's schema `{}`; a table uses the schema with its own name",
                    self.schema.schema_name
                );
                self.problem("segmentsConfig.schemaName", message);
            }
        }
    }

    fn segments(&mut self, table: &TableConfig) {
        let segments = &table.segments_config;
        if let Some(time_column) = &segments.time_column_name {
            if self.column("segmentsConfig.timeColumnName", time_column) {
                let role = self.schema.column(time_column).map(|column| column.role);
                if role != Some(FieldRole::DateTime) {
                    self.problem(
                        "segmentsConfig.timeColumnName",
                        format!(
                            "time column `{time_column}` must be declared in dateTimeFieldSpecs"
                        ),
                    );
                }
            }
        } else if table.table_type == TableType::Realtime {
            self.warnings.push(
                "segmentsConfig.timeColumnName is not set: segments cannot be pruned by time and retention does not apply".into(),
            );
        }
        if let Some(unit) = &segments.retention_time_unit {
            if let Err(message) = TimeUnit::parse(unit) {
                self.problem("segmentsConfig.retentionTimeUnit", message);
            }
        }
        for (field, value) in [
            (
                "segmentsConfig.retentionTimeValue",
                &segments.retention_time_value,
            ),
            ("segmentsConfig.replication", &segments.replication),
            (
                "segmentsConfig.replicasPerPartition",
                &segments.replicas_per_partition,
            ),
        ] {
            if let Some(value) = value {
                if !matches!(value.trim().parse::<u64>(), Ok(n) if n > 0) {
                    self.problem(field, format!("`{value}` must be a positive integer"));
                }
            }
        }
        if segments.retention_time_value.is_some() != segments.retention_time_unit.is_some() {
            self.problem(
                "segmentsConfig.retentionTimeValue",
                "retentionTimeValue and retentionTimeUnit must be given together",
            );
        }
    }

    fn index_lists(&mut self, table: &TableConfig) {
        let index = &table.table_index_config;
        let lists: [(&str, &Vec<String>); 8] = [
            (
                "tableIndexConfig.invertedIndexColumns",
                &index.inverted_index_columns,
            ),
            ("tableIndexConfig.sortedColumn", &index.sorted_column),
            (
                "tableIndexConfig.rangeIndexColumns",
                &index.range_index_columns,
            ),
            (
                "tableIndexConfig.bloomFilterColumns",
                &index.bloom_filter_columns,
            ),
            (
                "tableIndexConfig.noDictionaryColumns",
                &index.no_dictionary_columns,
            ),
            (
                "tableIndexConfig.onHeapDictionaryColumns",
                &index.on_heap_dictionary_columns,
            ),
            (
                "tableIndexConfig.varLengthDictionaryColumns",
                &index.var_length_dictionary_columns,
            ),
            (
                "tableIndexConfig.jsonIndexColumns",
                &index.json_index_columns,
            ),
        ];
        for (field, columns) in lists {
            self.columns(field, columns);
        }
        if index.sorted_column.len() > 1 {
            self.problem(
                "tableIndexConfig.sortedColumn",
                format!(
                    "a table has at most one sorted column, found {}",
                    index.sorted_column.len()
                ),
            );
        }
        if let Some(sorted) = index.sorted_column.first() {
            if self
                .schema
                .column(sorted)
                .is_some_and(|column| !column.single_value)
            {
                self.problem(
                    "tableIndexConfig.sortedColumn",
                    format!("sorted column `{sorted}` is multi-valued; rows can only be sorted by a single-value column"),
                );
            }
        }
        for column in &index.no_dictionary_columns {
            if self.schema.column(column).is_some_and(|c| !c.single_value) {
                self.warnings.push(format!(
                    "tableIndexConfig.noDictionaryColumns: multi-value column `{column}` is kept dictionary-encoded"
                ));
            }
            if index.inverted_index_columns.contains(column) {
                self.problem(
                    "tableIndexConfig.noDictionaryColumns",
                    format!("column `{column}` is also in invertedIndexColumns; an inverted index needs a dictionary, so remove it from one list"),
                );
            }
            if index.sorted_column.contains(column) {
                self.problem(
                    "tableIndexConfig.noDictionaryColumns",
                    format!("column `{column}` is also the sortedColumn; a sorted index needs a dictionary"),
                );
            }
        }
        for (column, config) in &index.bloom_filter_configs {
            self.column(
                &format!("tableIndexConfig.bloomFilterConfigs.{column}"),
                column,
            );
            if let Some(fpp) = config.fpp {
                if !(fpp > 0.0 && fpp < 1.0) {
                    self.problem(
                        format!("tableIndexConfig.bloomFilterConfigs.{column}.fpp"),
                        format!(
                            "false-positive probability {fpp} must be between 0 and 1, e.g. 0.05"
                        ),
                    );
                }
            }
        }
        if let Some(mode) = &index.load_mode {
            if !matches!(mode.to_ascii_uppercase().as_str(), "MMAP" | "HEAP") {
                self.problem(
                    "tableIndexConfig.loadMode",
                    format!("unknown load mode `{mode}`; expected MMAP or HEAP"),
                );
            }
        }
        if !index.json_index_columns.is_empty() {
            self.warnings.push("tableIndexConfig.jsonIndexColumns: Gamay does not build JSON indexes; JSON columns are scanned".into());
        }
        if let Some(partitioning) = &index.segment_partition_config {
            for (column, config) in &partitioning.column_partition_map {
                let field =
                    format!("tableIndexConfig.segmentPartitionConfig.columnPartitionMap.{column}");
                self.column(&field, column);
                const FUNCTIONS: [&str; 5] =
                    ["Murmur", "Murmur3", "Modulo", "HashCode", "ByteArray"];
                if !FUNCTIONS
                    .iter()
                    .any(|f| f.eq_ignore_ascii_case(&config.function_name))
                {
                    self.problem(
                        format!("{field}.functionName"),
                        format!(
                            "unknown partition function `{}`; expected one of {}",
                            config.function_name,
                            FUNCTIONS.join(", ")
                        ),
                    );
                }
                if config.num_partitions == 0 {
                    self.problem(format!("{field}.numPartitions"), "must be at least 1");
                }
            }
        }
    }

    fn star_tree(&mut self, index: usize, tree: &StarTreeIndexConfig) {
        let field = format!("tableIndexConfig.starTreeIndexConfigs[{index}]");
        if tree.dimensions_split_order.is_empty() {
            self.problem(
                format!("{field}.dimensionsSplitOrder"),
                "a star-tree needs at least one dimension to split on",
            );
        }
        let mut seen = BTreeSet::new();
        for (i, dimension) in tree.dimensions_split_order.iter().enumerate() {
            let dim_field = format!("{field}.dimensionsSplitOrder[{i}]");
            if !seen.insert(dimension.as_str()) {
                self.problem(
                    &dim_field,
                    format!("dimension `{dimension}` is listed twice"),
                );
            }
            if self.column(&dim_field, dimension) {
                if let Some(column) = self.schema.column(dimension) {
                    if !column.single_value {
                        self.problem(&dim_field, format!("star-tree dimension `{dimension}` is multi-valued; star-tree dimensions must be single-valued"));
                    }
                }
            }
        }
        for (i, dimension) in tree
            .skip_star_node_creation_for_dimensions
            .iter()
            .enumerate()
        {
            if !tree.dimensions_split_order.contains(dimension) {
                self.problem(
                    format!("{field}.skipStarNodeCreationForDimensions[{i}]"),
                    format!("`{dimension}` is not in dimensionsSplitOrder"),
                );
            }
        }
        if tree.function_column_pairs.is_empty() && tree.aggregation_configs.is_empty() {
            self.problem(
                format!("{field}.functionColumnPairs"),
                "a star-tree needs at least one aggregation, e.g. \"COUNT__*\" or \"SUM__shares\"",
            );
        }
        for (i, pair) in tree.function_column_pairs.iter().enumerate() {
            let pair_field = format!("{field}.functionColumnPairs[{i}]");
            match pair.split_once("__") {
                Some((function, column)) => self.star_tree_pair(&pair_field, function, column),
                None => self.problem(
                    pair_field,
                    format!("`{pair}` is not a function-column pair; write FUNCTION__column, e.g. SUM__shares or COUNT__*"),
                ),
            }
        }
        for (i, config) in tree.aggregation_configs.iter().enumerate() {
            let config_field = format!("{field}.aggregationConfigs[{i}]");
            self.star_tree_pair(
                &config_field,
                &config.aggregation_function,
                &config.column_name,
            );
        }
        if tree.max_leaf_records == Some(0) {
            self.problem(
                format!("{field}.maxLeafRecords"),
                "must be at least 1 (Pinot's default is 10000)",
            );
        }
    }

    fn star_tree_pair(&mut self, field: &str, function: &str, column: &str) {
        let upper = function.to_ascii_uppercase();
        if !STAR_TREE_FUNCTIONS.contains(&upper.as_str()) {
            self.problem(
                field,
                format!(
                    "aggregation `{function}` cannot be pre-aggregated in a star-tree{}; expected one of {}",
                    did_you_mean(&upper, STAR_TREE_FUNCTIONS),
                    STAR_TREE_FUNCTIONS.join(", ")
                ),
            );
            return;
        }
        if upper == "COUNT" {
            if column != "*" {
                self.problem(
                    field,
                    format!("COUNT is stored as COUNT__*, not COUNT__{column}"),
                );
            }
            return;
        }
        if self.column(field, column) && upper != "DISTINCTCOUNTHLL" {
            let data_type = self.data_type(column);
            if !data_type.is_some_and(DataType::is_numeric) {
                self.problem(
                    field,
                    format!(
                        "{upper} needs a numeric column, but `{column}` is {}",
                        data_type.map(|t| t.name()).unwrap_or("?")
                    ),
                );
            }
        }
    }

    fn field_configs(&mut self, table: &TableConfig) {
        for (i, config) in table.field_config_list.iter().enumerate() {
            let field = format!("fieldConfigList[{i}]");
            self.column(&format!("{field}.name"), &config.name);
            if let Some(encoding) = &config.encoding_type {
                if !matches!(encoding.to_ascii_uppercase().as_str(), "RAW" | "DICTIONARY") {
                    self.problem(
                        format!("{field}.encodingType"),
                        format!("unknown encoding `{encoding}`; expected RAW or DICTIONARY"),
                    );
                }
            }
            if let Some(codec) = config.codec() {
                const UNBUILT_CODECS: [&str; 6] = [
                    "DELTA",
                    "DELTADELTA",
                    "CLP",
                    "CLPV2",
                    "CLPV2_ZSTD",
                    "CLPV2_LZ4",
                ];
                let upper = codec.to_ascii_uppercase();
                if UNBUILT_CODECS.contains(&upper.as_str()) {
                    self.warnings.push(format!(
                        "{field}: Gamay does not build `{codec}` compression; column `{}` is stored with {}",
                        config.name,
                        DEFAULT_COMPRESSION.name()
                    ));
                } else if let Err(reason) = Compression::from_pinot(codec) {
                    self.problem(format!("{field}.compressionCodec"), reason);
                }
            }
            let legacy = config.index_type.iter().chain(config.index_types.iter());
            let kinds: Vec<String> = config
                .indexes
                .keys()
                .cloned()
                .chain(legacy.map(|kind| kind.to_ascii_lowercase()))
                .collect();
            for kind in kinds {
                let lower = kind.to_ascii_lowercase();
                if SUPPORTED_INDEXES.contains(&lower.as_str()) {
                    continue;
                }
                if UNBUILT_INDEXES.contains(&lower.as_str()) {
                    self.warnings.push(format!(
                        "{field}: Gamay does not build `{kind}` indexes; column `{}` is scanned instead",
                        config.name
                    ));
                } else {
                    let known = SUPPORTED_INDEXES
                        .iter()
                        .chain(UNBUILT_INDEXES.iter())
                        .copied();
                    self.problem(
                        format!("{field}.indexes.{kind}"),
                        format!(
                            "unknown index type `{kind}`{}; expected one of {}",
                            did_you_mean(&lower, known),
                            SUPPORTED_INDEXES.join(", ")
                        ),
                    );
                }
            }
        }
    }

    fn ingestion(&mut self, table: &TableConfig) {
        let ingestion = table.ingestion_config.as_ref();
        if table.table_type == TableType::Realtime {
            let maps = ingestion
                .and_then(|config| config.stream_ingestion_config.as_ref())
                .map(|stream| stream.stream_config_maps.len())
                .unwrap_or(0);
            let field = if maps > 0 {
                "ingestionConfig.streamIngestionConfig.streamConfigMaps[0]"
            } else {
                "tableIndexConfig.streamConfigs"
            };
            match table.stream_config_map() {
                None => self.problem(
                    "ingestionConfig.streamIngestionConfig.streamConfigMaps",
                    format!(
                        "a REALTIME table needs a stream to consume: give `{}` and `{}` in ingestionConfig.streamIngestionConfig.streamConfigMaps",
                        stream::KEY_TOPIC,
                        stream::KEY_BROKERS
                    ),
                ),
                Some(map) => match parse_stream_config(map, field) {
                    Err(problems) => self.problems.extend(problems),
                    Ok(config) => self.change_events(table, &config, field),
                },
            }
            if maps > 1 {
                self.problem(
                    "ingestionConfig.streamIngestionConfig.streamConfigMaps",
                    format!("{maps} streams are configured; Gamay consumes one topic per table"),
                );
            }
        }
        let Some(ingestion) = ingestion else { return };
        let mut targets = BTreeSet::new();
        for (i, transform) in ingestion.transform_configs.iter().enumerate() {
            let field = format!("ingestionConfig.transformConfigs[{i}]");
            self.column(&format!("{field}.columnName"), &transform.column_name);
            if !targets.insert(transform.column_name.as_str()) {
                self.problem(
                    format!("{field}.columnName"),
                    format!("column `{}` has two transforms", transform.column_name),
                );
            }
            self.expression(
                &format!("{field}.transformFunction"),
                &transform.transform_function,
            );
        }
        if let Some(filter) = ingestion
            .filter_config
            .as_ref()
            .and_then(|f| f.filter_function.as_ref())
        {
            self.expression("ingestionConfig.filterConfig.filterFunction", filter);
        }
    }

    /// Ingestion expressions run built-in functions only: no user code.
    fn expression(&mut self, field: &str, expression: &str) {
        let trimmed = expression.trim();
        if trimmed.is_empty() {
            self.problem(field, "expression is empty");
        } else if trimmed.to_ascii_lowercase().starts_with("groovy(") {
            self.problem(
                field,
                "Groovy scripts are not run (they execute arbitrary code); use built-in functions such as toEpochSeconds(ts) or a SQL predicate",
            );
        }
    }

    /// Change events carry deletes, which a row can only hold in the upsert
    /// table's `deleteRecordColumn`.
    fn change_events(&mut self, table: &TableConfig, config: &stream::StreamConfig, field: &str) {
        if config.decoder != stream::Decoder::Debezium {
            return;
        }
        let delete_column = table
            .upsert_config
            .as_ref()
            .and_then(|upsert| upsert.delete_record_column.as_deref());
        if delete_column.is_none() {
            self.problem(
                format!("{field}.{}", stream::KEY_DECODER_FORMAT),
                "Debezium change events need an upsert table with upsertConfig.deleteRecordColumn (a BOOLEAN column) to keep their deletes",
            );
        }
    }

    /// A partial-upsert strategy that cannot apply to `column`'s type.
    fn strategy_fits(&mut self, field: &str, column: &str, strategy: &str) {
        let Some(spec) = self.schema.column(column) else {
            return;
        };
        let strategy = strategy.to_ascii_uppercase();
        let numeric = spec.data_type.is_numeric() || spec.data_type == DataType::Timestamp;
        let problem = match strategy.as_str() {
            "APPEND" | "UNION" if spec.single_value => {
                Some(format!("{strategy} merges lists: `{column}` is single-value; use OVERWRITE, or make it multi-value"))
            }
            "INCREMENT" | "MAX" | "MIN" if !numeric || !spec.single_value => Some(format!(
                "{strategy} needs a single-value number column; `{column}` is {}",
                spec.data_type.name()
            )),
            _ => None,
        };
        if let Some(problem) = problem {
            self.problem(field, problem);
        }
    }

    fn upsert_and_dedup(&mut self, table: &TableConfig) {
        let upsert = table.upsert();
        let dedup = table.dedup();
        for (name, enabled) in [
            ("upsertConfig", upsert.is_some()),
            ("dedupConfig", dedup.is_some()),
        ] {
            if !enabled {
                continue;
            }
            if table.table_type != TableType::Realtime {
                self.problem(name, format!("{name} applies to REALTIME tables only"));
            }
            if self.schema.primary_key_columns.is_empty() {
                self.problem(
                    name,
                    format!(
                        "{name} needs primaryKeyColumns in schema `{}`",
                        self.schema.schema_name
                    ),
                );
            }
        }
        if upsert.is_some() && dedup.is_some() {
            self.problem(
                "dedupConfig",
                "a table cannot have both upsert and dedup enabled",
            );
        }
        const HASHES: [&str; 3] = ["NONE", "MD5", "MURMUR3"];
        if let Some(upsert) = upsert {
            let mode = upsert
                .mode
                .as_deref()
                .unwrap_or("FULL")
                .to_ascii_uppercase();
            if !matches!(mode.as_str(), "FULL" | "PARTIAL") {
                self.problem(
                    "upsertConfig.mode",
                    format!("unknown upsert mode `{mode}`; expected FULL, PARTIAL or NONE"),
                );
            }
            const STRATEGIES: [&str; 7] = [
                "OVERWRITE",
                "INCREMENT",
                "APPEND",
                "UNION",
                "IGNORE",
                "MAX",
                "MIN",
            ];
            let strategies = upsert
                .partial_upsert_strategies
                .iter()
                .map(|(column, strategy)| (Some(column), strategy))
                .chain(
                    upsert
                        .default_partial_upsert_strategy
                        .iter()
                        .map(|strategy| (None, strategy)),
                );
            for (column, strategy) in strategies {
                let field = match column {
                    Some(column) => format!("upsertConfig.partialUpsertStrategies.{column}"),
                    None => "upsertConfig.defaultPartialUpsertStrategy".into(),
                };
                if !STRATEGIES.contains(&strategy.to_ascii_uppercase().as_str()) {
                    self.problem(
                        &field,
                        format!(
                            "unknown strategy `{strategy}`; expected one of {}",
                            STRATEGIES.join(", ")
                        ),
                    );
                }
                if let Some(column) = column {
                    if self.column(&field, column)
                        && self.schema.primary_key_columns.contains(column)
                    {
                        self.problem(&field, format!("`{column}` is a primary key column and cannot have a merge strategy"));
                    }
                    self.strategy_fits(&field, column, strategy);
                }
            }
            let comparison: Vec<&String> = upsert
                .comparison_column
                .iter()
                .chain(upsert.comparison_columns.iter())
                .collect();
            for (i, column) in comparison.iter().enumerate() {
                let field = format!("upsertConfig.comparisonColumns[{i}]");
                if self.column(&field, column)
                    && !self.schema.column(column).is_some_and(|c| c.single_value)
                {
                    self.problem(
                        field,
                        format!("comparison column `{column}` must be single-value"),
                    );
                }
            }
            for (field, ttl) in [
                ("upsertConfig.metadataTTL", upsert.metadata_ttl),
                ("upsertConfig.deletedKeysTTL", upsert.deleted_keys_ttl),
            ] {
                let Some(ttl) = ttl.filter(|ttl| *ttl != 0.0) else {
                    continue;
                };
                if ttl < 0.0 {
                    self.problem(field, format!("{ttl} is negative; give a duration in the comparison column's units, or 0 for none"));
                    continue;
                }
                let time = table.segments_config.time_column_name.as_ref();
                let single = match comparison.as_slice() {
                    [] => time,
                    [one] => Some(*one),
                    _ => None,
                };
                let numeric = single
                    .and_then(|column| self.data_type(column))
                    .is_some_and(|ty| ty.is_numeric() || ty == DataType::Timestamp);
                if !numeric {
                    self.problem(
                        field,
                        "a TTL needs exactly one numeric comparison column (or the time column)",
                    );
                }
            }
            if upsert.deleted_keys_ttl.is_some_and(|ttl| ttl > 0.0)
                && upsert.delete_record_column.is_none()
            {
                self.problem(
                    "upsertConfig.deletedKeysTTL",
                    "deletedKeysTTL applies to deleted keys: set upsertConfig.deleteRecordColumn too",
                );
            }
            if let Some(column) = &upsert.delete_record_column {
                let ty = self.data_type(column);
                if ty.is_some_and(|ty| !matches!(ty, DataType::Boolean | DataType::String)) {
                    self.problem(
                        "upsertConfig.deleteRecordColumn",
                        format!(
                            "`{column}` must be a BOOLEAN (or STRING \"true\"/\"false\") column"
                        ),
                    );
                }
            }
            if let Some(column) = &upsert.out_of_order_record_column {
                if self
                    .data_type(column)
                    .is_some_and(|ty| ty != DataType::Boolean)
                {
                    self.problem(
                        "upsertConfig.outOfOrderRecordColumn",
                        format!("`{column}` must be a BOOLEAN column"),
                    );
                }
            }
            for (field, column) in [
                (
                    "upsertConfig.deleteRecordColumn",
                    &upsert.delete_record_column,
                ),
                (
                    "upsertConfig.outOfOrderRecordColumn",
                    &upsert.out_of_order_record_column,
                ),
            ] {
                if let Some(column) = column {
                    self.column(field, column);
                }
            }
            if let Some(hash) = &upsert.hash_function {
                if !HASHES.contains(&hash.to_ascii_uppercase().as_str()) {
                    self.problem(
                        "upsertConfig.hashFunction",
                        format!("unknown hash function `{hash}`; expected NONE, MD5 or MURMUR3"),
                    );
                }
            }
            if let Some(mode) = &upsert.consistency_mode {
                if !matches!(
                    mode.to_ascii_uppercase().as_str(),
                    "NONE" | "SYNC" | "SNAPSHOT"
                ) {
                    self.problem(
                        "upsertConfig.consistencyMode",
                        format!(
                            "unknown consistency mode `{mode}`; expected NONE, SYNC or SNAPSHOT"
                        ),
                    );
                }
            }
            let index = &table.table_index_config;
            if !index.star_tree_index_configs.is_empty()
                || index.enable_default_star_tree == Some(true)
            {
                self.problem(
                    "tableIndexConfig.starTreeIndexConfigs",
                    "upsert tables cannot have a star-tree: pre-aggregated records would still count replaced rows",
                );
            }
        }
        if let Some(dedup) = dedup {
            if let Some(hash) = &dedup.hash_function {
                if !HASHES.contains(&hash.to_ascii_uppercase().as_str()) {
                    self.problem(
                        "dedupConfig.hashFunction",
                        format!("unknown hash function `{hash}`; expected NONE, MD5 or MURMUR3"),
                    );
                }
            }
            if let Some(column) = &dedup.dedup_time_column {
                self.column("dedupConfig.dedupTimeColumn", column);
            }
        }
    }

    fn limits(&mut self, table: &TableConfig) {
        if let Some(quota) = &table.quota {
            if let Some(storage) = &quota.storage {
                if let Err(message) = stream::parse_size(storage) {
                    self.problem("quota.storage", message);
                }
            }
            if let Some(qps) = &quota.max_queries_per_second {
                if !matches!(qps.trim().parse::<f64>(), Ok(n) if n > 0.0 && n.is_finite()) {
                    self.problem(
                        "quota.maxQueriesPerSecond",
                        format!("`{qps}` must be a positive number"),
                    );
                }
            }
        }
        if let Some(query) = &table.query {
            if query.timeout_ms == Some(0) {
                self.problem("query.timeoutMs", "must be at least 1 millisecond");
            }
        }
        if let Some(routing) = &table.routing {
            if let Some(selector) = &routing.instance_selector_type {
                const SELECTORS: [&str; 3] = ["balanced", "replicaGroup", "strictReplicaGroup"];
                if !SELECTORS.iter().any(|s| s.eq_ignore_ascii_case(selector)) {
                    self.problem(
                        "routing.instanceSelectorType",
                        format!(
                            "unknown instance selector `{selector}`; expected one of {}",
                            SELECTORS.join(", ")
                        ),
                    );
                }
            }
            for (i, pruner) in routing.segment_pruner_types.iter().enumerate() {
                const PRUNERS: [&str; 3] = ["partition", "time", "simplePartition"];
                if !PRUNERS.iter().any(|p| p.eq_ignore_ascii_case(pruner)) {
                    self.problem(
                        format!("routing.segmentPrunerTypes[{i}]"),
                        format!(
                            "unknown segment pruner `{pruner}`; expected one of {}",
                            PRUNERS.join(", ")
                        ),
                    );
                }
            }
        }
    }
}
