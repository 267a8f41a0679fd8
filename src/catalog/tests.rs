//! Catalog tests: the scenario's example files, validation messages, and
//! durability across reopen.

use serde_json::{json, Value};

use super::*;

const SCHEMA: &str = include_str!("../../schemas/stock_transactions.json");
const TABLE: &str = include_str!("../../tables/stock_transactions_realtime.json");

fn schema_parsed(value: &Value) -> Parsed<Schema> {
    parse(value.to_string().as_bytes(), "schema").unwrap()
}

fn table_parsed(value: &Value) -> Parsed<TableConfig> {
    parse(value.to_string().as_bytes(), "table config").unwrap()
}

fn example_schema() -> Value {
    serde_json::from_str(SCHEMA).unwrap()
}

fn example_table() -> Value {
    serde_json::from_str(TABLE).unwrap()
}

/// Validation message of `table` against the example schema.
fn table_error(table: Value) -> String {
    let schema: Parsed<Schema> = schema_parsed(&example_schema());
    let mut parsed = match parse::<TableConfig>(table.to_string().as_bytes(), "table config") {
        Ok(parsed) => parsed,
        Err(err) => return err.to_string(),
    };
    check_table_against(&mut parsed, &schema.value)
        .unwrap_err()
        .to_string()
}

fn schema_error(schema: Value) -> String {
    match parse::<Schema>(schema.to_string().as_bytes(), "schema") {
        Ok(parsed) => parsed.value.validate().unwrap_err().to_string(),
        Err(err) => err.to_string(),
    }
}

#[test]
fn example_files_are_valid_and_fully_recognized() {
    let schema = schema_parsed(&example_schema());
    assert!(schema.unrecognized.is_empty(), "{:?}", schema.unrecognized);
    schema.value.validate().unwrap();
    assert_eq!(
        schema.value.column_names(),
        ["id", "user_id", "symbol", "shares", "purchase", "update_at"]
    );
    let update_at = schema.value.column("update_at").unwrap();
    assert_eq!(update_at.data_type, DataType::Long);
    assert_eq!(
        DateTimeFormat::parse(update_at.format.unwrap()).unwrap(),
        DateTimeFormat::Epoch {
            size: 1,
            unit: TimeUnit::Milliseconds
        }
    );

    let mut table = table_parsed(&example_table());
    assert!(table.unrecognized.is_empty(), "{:?}", table.unrecognized);
    let written = check_table_against(&mut table, &schema.value).unwrap();
    assert!(written.warnings.is_empty(), "{:?}", written.warnings);
    assert_eq!(table.value.table_name, "stock_transactions_REALTIME");
    let stream = parse_stream_config(table.value.stream_config_map().unwrap(), "s").unwrap();
    assert_eq!(stream.topic, "topico-processado");
    assert_eq!(stream.brokers, ["localhost:9092"]);
    assert_eq!(stream.decoder, Decoder::Json);
}

#[test]
fn catalog_survives_reopen_and_cleans_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    {
        let catalog = Catalog::open(dir.path()).unwrap();
        catalog
            .add_schema(schema_parsed(&example_schema()), false, false)
            .unwrap();
        catalog.add_table(table_parsed(&example_table())).unwrap();
    }
    // A write interrupted by a crash leaves a temporary file behind.
    let leftover = dir.path().join("catalog/tables/.x_REALTIME.json.tmp-1-1");
    std::fs::write(&leftover, b"{\"tableName\":").unwrap();

    let catalog = Catalog::open(dir.path()).unwrap();
    assert!(!leftover.exists());
    assert_eq!(catalog.schema_names(), ["stock_transactions"]);
    assert_eq!(catalog.table_names(None), ["stock_transactions"]);
    let entry = catalog.table("stock_transactions_REALTIME").unwrap();
    assert_eq!(entry.json["tableName"], "stock_transactions_REALTIME");
    assert_eq!(
        entry.json["tableIndexConfig"]["invertedIndexColumns"],
        json!(["id"])
    );
}

#[test]
fn unreadable_catalog_file_is_reported_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    drop(Catalog::open(dir.path()).unwrap());
    let path = dir.path().join("catalog/schemas/broken.json");
    std::fs::write(&path, b"{\"schemaName\": \"bro").unwrap();
    let err = Catalog::open(dir.path()).err().unwrap().to_string();
    assert!(err.contains("broken.json"), "{err}");
    assert!(err.contains("EOF"), "{err}");
}

#[test]
fn a_reload_takes_in_what_another_catalog_on_the_store_changed() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Catalog::open(dir.path()).unwrap();
    let reader = Catalog::open(dir.path()).unwrap();
    assert!(reader.reload().unwrap().is_empty());

    writer
        .add_schema(schema_parsed(&example_schema()), false, false)
        .unwrap();
    writer.add_table(table_parsed(&example_table())).unwrap();
    let changes = reader.reload().unwrap();
    assert_eq!(changes.schemas_added, ["stock_transactions"]);
    assert_eq!(changes.tables_added, ["stock_transactions_REALTIME"]);
    let table = reader.table("stock_transactions_REALTIME").unwrap();
    // Nothing new: the entries are the same ones.
    assert!(reader.reload().unwrap().is_empty());
    assert!(Arc::ptr_eq(
        &table,
        &reader.table("stock_transactions_REALTIME").unwrap()
    ));

    let mut changed = example_table();
    changed["tableIndexConfig"]["invertedIndexColumns"] = json!(["id", "symbol"]);
    writer
        .update_table("stock_transactions", table_parsed(&changed))
        .unwrap();
    let changes = reader.reload().unwrap();
    assert_eq!(
        changes,
        CatalogChanges {
            tables_replaced: vec!["stock_transactions_REALTIME".into()],
            ..CatalogChanges::default()
        }
    );
    let table = reader.table("stock_transactions_REALTIME").unwrap();
    assert_eq!(
        table.json["tableIndexConfig"]["invertedIndexColumns"],
        json!(["id", "symbol"])
    );

    writer.delete_table("stock_transactions", None).unwrap();
    writer.delete_schema("stock_transactions").unwrap();
    let changes = reader.reload().unwrap();
    assert_eq!(changes.schemas_removed, ["stock_transactions"]);
    assert_eq!(changes.tables_removed, ["stock_transactions_REALTIME"]);
    assert!(reader.table_names(None).is_empty());
}

#[test]
fn a_reload_that_meets_an_unreadable_entry_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::open(dir.path()).unwrap();
    catalog
        .add_schema(schema_parsed(&example_schema()), false, false)
        .unwrap();
    let path = dir.path().join("catalog/schemas/broken.json");
    std::fs::write(&path, b"{\"schemaName\": \"bro").unwrap();
    std::fs::remove_file(dir.path().join("catalog/schemas/stock_transactions.json")).unwrap();
    let err = catalog.reload().unwrap_err();
    assert!(matches!(err, Error::CorruptFile { .. }), "{err}");
    assert_eq!(catalog.schema_names(), ["stock_transactions"]);
}

#[test]
fn unknown_keys_are_kept_and_reported() {
    let mut table = example_table();
    table["tableIndexConfig"]["someFutureIndex"] = json!({"enabled": true});
    table["fancyTopLevel"] = json!(1);
    let parsed = table_parsed(&table);
    let keys: Vec<&str> = parsed.unrecognized.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "/fancyTopLevel",
            "/tableIndexConfig/someFutureIndex/enabled"
        ]
    );

    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::open(dir.path()).unwrap();
    catalog
        .add_schema(schema_parsed(&example_schema()), false, false)
        .unwrap();
    catalog.add_table(parsed).unwrap();
    let stored = catalog.table("stock_transactions_REALTIME").unwrap();
    assert_eq!(stored.json["fancyTopLevel"], 1);
}

#[test]
fn table_needs_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::open(dir.path()).unwrap();
    let err = catalog
        .add_table(table_parsed(&example_table()))
        .unwrap_err();
    assert!(matches!(err, Error::SchemaMissingForTable { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("needs schema `stock_transactions`"),
        "{err}"
    );
}

#[test]
fn conflicts_and_schema_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::open(dir.path()).unwrap();
    catalog
        .add_schema(schema_parsed(&example_schema()), false, false)
        .unwrap();
    let again = catalog.add_schema(schema_parsed(&example_schema()), false, false);
    assert!(matches!(again, Err(Error::SchemaExists { .. })));
    catalog.add_table(table_parsed(&example_table())).unwrap();
    let again = catalog.add_table(table_parsed(&example_table()));
    assert!(matches!(again, Err(Error::TableExists { .. })));
    let in_use = catalog.delete_schema("stock_transactions");
    assert!(matches!(in_use, Err(Error::SchemaInUse { .. })));
    assert_eq!(
        catalog.delete_table("stock_transactions", None).unwrap(),
        ["stock_transactions_REALTIME"]
    );
    catalog.delete_schema("stock_transactions").unwrap();
    assert!(catalog.schema_names().is_empty());
}

#[test]
fn incompatible_schema_change_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::open(dir.path()).unwrap();
    catalog
        .add_schema(schema_parsed(&example_schema()), false, false)
        .unwrap();
    let mut changed = example_schema();
    changed["dimensionFieldSpecs"][0]["dataType"] = json!("LONG");
    let err = catalog
        .update_schema("stock_transactions", schema_parsed(&changed), false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("column `id` changes dataType from INT to LONG"),
        "{err}"
    );
    catalog
        .update_schema("stock_transactions", schema_parsed(&changed), true)
        .unwrap();

    // A column a table indexes cannot be removed, even with force.
    catalog.add_table(table_parsed(&example_table())).unwrap();
    let mut removed = example_schema();
    removed["dimensionFieldSpecs"] =
        json!([{"name": "user_id", "dataType": "INT"}, {"name": "symbol", "dataType": "STRING"}]);
    let err = catalog
        .update_schema("stock_transactions", schema_parsed(&removed), true)
        .unwrap_err()
        .to_string();
    assert!(err.contains("invertedIndexColumns[0]"), "{err}");
}

#[test]
fn schema_validation_names_the_field() {
    let cases = [
        (
            json!({"schemaName": "s", "dimensionFieldSpecs": [{"name": "a", "dataType": "STRNG"}]}),
            "dimensionFieldSpecs[0].dataType",
            "did you mean `STRING`?",
        ),
        (
            json!({"schemaName": "s", "dimensionFieldSpecs": [{"name": "a", "dataType": "INT"}, {"name": "a", "dataType": "LONG"}]}),
            "dimensionFieldSpecs[1].name",
            "declared twice",
        ),
        (
            json!({"schemaName": "s", "dimensionFieldSpecs": [{"name": "a b", "dataType": "INT"}]}),
            "dimensionFieldSpecs[0].name",
            "contains ' '",
        ),
        (
            json!({"schemaName": "s", "dateTimeFieldSpecs": [{"name": "t", "dataType": "LONG", "format": "1:MILISECONDS:EPOCH", "granularity": "1:DAYS"}]}),
            "dateTimeFieldSpecs[0].format",
            "unknown time unit `MILISECONDS`",
        ),
        (
            json!({"schemaName": "s", "dateTimeFieldSpecs": [{"name": "t", "dataType": "LONG", "format": "EPOCH", "granularity": "DAYS"}]}),
            "dateTimeFieldSpecs[0].granularity",
            "malformed granularity",
        ),
        (
            json!({"schemaName": "s", "dateTimeFieldSpecs": [{"name": "t", "dataType": "STRING", "format": "1:MILLISECONDS:EPOCH", "granularity": "1:DAYS"}]}),
            "dateTimeFieldSpecs[0].dataType",
            "does not fit its format",
        ),
        (
            json!({"schemaName": "s", "metricFieldSpecs": [{"name": "m", "dataType": "STRING"}]}),
            "metricFieldSpecs[0].dataType",
            "metrics must be",
        ),
        (
            json!({"schemaName": "s", "dimensionFieldSpecs": [{"name": "a", "dataType": "INT", "defaultNullValue": "abc"}]}),
            "dimensionFieldSpecs[0].defaultNullValue",
            "not a valid INT",
        ),
        (
            json!({"schemaName": "s", "dimensionFieldSpecs": [{"name": "a", "dataType": "INT"}], "primaryKeyColumns": ["b"]}),
            "primaryKeyColumns[0]",
            "not a column",
        ),
        (
            json!({"schemaName": "../x", "dimensionFieldSpecs": [{"name": "a", "dataType": "INT"}]}),
            "schemaName",
            "must start with a letter",
        ),
        (
            json!({"schemaName": "s"}),
            "dimensionFieldSpecs",
            "no columns",
        ),
        (
            json!({"dimensionFieldSpecs": []}),
            "schemaName",
            "missing field `schemaName`",
        ),
    ];
    for (schema, field, needle) in cases {
        let message = schema_error(schema.clone());
        assert!(
            message.contains(field),
            "expected field {field} in: {message}"
        );
        assert!(
            message.contains(needle),
            "expected `{needle}` in: {message}"
        );
    }
}

#[test]
fn multi_value_and_null_defaults_are_accepted() {
    let schema = json!({
        "schemaName": "s",
        "dimensionFieldSpecs": [
            {"name": "tags", "dataType": "STRING", "singleValueField": false, "defaultNullValue": "null"},
            {"name": "flag", "dataType": "BOOLEAN", "notNull": true},
            {"name": "raw", "dataType": "BYTES", "defaultNullValue": "00ff"},
            {"name": "doc", "dataType": "JSON"}
        ],
        "metricFieldSpecs": [{"name": "price", "dataType": "DOUBLE", "defaultNullValue": 0}],
        "dateTimeFieldSpecs": [
            {"name": "ts", "dataType": "TIMESTAMP", "format": "TIMESTAMP", "granularity": "1:MILLISECONDS"},
            {"name": "day", "dataType": "STRING", "format": "SIMPLE_DATE_FORMAT|yyyy-MM-dd", "granularity": "1:DAYS"}
        ],
        "primaryKeyColumns": ["flag"]
    });
    let parsed = schema_parsed(&schema);
    parsed.value.validate().unwrap();
    assert!(parsed.unrecognized.is_empty());
    assert!(!parsed.value.column("tags").unwrap().single_value);
}

#[test]
fn table_validation_names_the_field() {
    let base = example_table();
    let with = |pointer: &str, value: Value| {
        let mut table = base.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let key = key.replace("~1", "/");
        table
            .pointer_mut(parent)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .insert(key, value);
        table
    };
    let stream = "/ingestionConfig/streamIngestionConfig/streamConfigMaps/0";
    let mut without_topic = base.clone();
    without_topic
        .pointer_mut(stream)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove("stream.kafka.topic.name");
    let mut without_brokers = base.clone();
    without_brokers
        .pointer_mut(stream)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove("stream.kafka.broker.list");
    let mut without_stream = base.clone();
    without_stream
        .as_object_mut()
        .unwrap()
        .remove("ingestionConfig");

    let cases = [
        (
            with("/tableIndexConfig/invertedIndexColumns", json!(["idd"])),
            "tableIndexConfig.invertedIndexColumns[0]",
            "column `idd` is not in schema `stock_transactions`; did you mean `id`?",
        ),
        (
            with("/segmentsConfig/timeColumnName", json!("updated_at")),
            "segmentsConfig.timeColumnName",
            "did you mean `update_at`?",
        ),
        (
            with("/segmentsConfig/timeColumnName", json!("shares")),
            "segmentsConfig.timeColumnName",
            "must be declared in dateTimeFieldSpecs",
        ),
        (
            with(
                "/tableIndexConfig/starTreeIndexConfigs",
                json!([{"dimensionsSplitOrder": ["symbol", "exchange"], "functionColumnPairs": ["SUM__shares"]}]),
            ),
            "tableIndexConfig.starTreeIndexConfigs[0].dimensionsSplitOrder[1]",
            "column `exchange` is not in schema",
        ),
        (
            with(
                "/tableIndexConfig/starTreeIndexConfigs",
                json!([{"dimensionsSplitOrder": ["symbol"], "functionColumnPairs": ["SUM__sharez"]}]),
            ),
            "functionColumnPairs[0]",
            "did you mean `shares`?",
        ),
        (
            with(
                "/tableIndexConfig/starTreeIndexConfigs",
                json!([{"dimensionsSplitOrder": ["symbol"], "functionColumnPairs": ["MEDIAN__shares"]}]),
            ),
            "functionColumnPairs[0]",
            "cannot be pre-aggregated",
        ),
        (
            with("/tableIndexConfig/rangeIndexColumns", json!(["price"])),
            "tableIndexConfig.rangeIndexColumns[0]",
            "column `price` is not in schema",
        ),
        (
            with("/tableIndexConfig/bloomFilterColumns", json!(["nope"])),
            "tableIndexConfig.bloomFilterColumns[0]",
            "not in schema",
        ),
        (
            with("/tableIndexConfig/noDictionaryColumns", json!(["id"])),
            "tableIndexConfig.noDictionaryColumns",
            "needs a dictionary",
        ),
        (
            with(
                "/fieldConfigList",
                json!([{"name": "symbol", "encodingType": "RAW", "compressionCodec": "BROTLI"}]),
            ),
            "fieldConfigList[0].compressionCodec",
            "expected PASS_THROUGH, LZ4, ZSTANDARD, SNAPPY or GZIP",
        ),
        (
            with("/tableIndexConfig/sortedColumn", json!(["id", "symbol"])),
            "tableIndexConfig.sortedColumn",
            "at most one sorted column",
        ),
        (
            without_topic,
            "stream.kafka.topic.name",
            "needs the Kafka topic",
        ),
        (
            without_brokers,
            "stream.kafka.broker.list",
            "needs the Kafka bootstrap servers",
        ),
        (
            without_stream,
            "streamConfigMaps",
            "needs a stream to consume",
        ),
        (
            with(
                &format!("{stream}/stream.kafka.decoder.class.name"),
                json!("com.acme.MyDecoder"),
            ),
            "stream.kafka.decoder.class.name",
            "decoder class `com.acme.MyDecoder` is not supported",
        ),
        (
            with("/tableType", json!("HYBRID")),
            "tableType",
            "expected OFFLINE or REALTIME",
        ),
        (
            with("/tableName", json!("stock_transactions_OFFLINE")),
            "tableName",
            "names an OFFLINE table",
        ),
        (
            with("/segmentsConfig/retentionTimeUnit", json!("FORTNIGHTS")),
            "segmentsConfig.retentionTimeUnit",
            "unknown time unit",
        ),
        (
            with(
                "/fieldConfigList",
                json!([{"name": "symbol", "indexes": {"invertd": {}}}]),
            ),
            "fieldConfigList[0].indexes.invertd",
            "did you mean `inverted`?",
        ),
        (
            with(
                "/ingestionConfig/transformConfigs",
                json!([{"columnName": "id", "transformFunction": "Groovy({1}, x)"}]),
            ),
            "transformConfigs[0].transformFunction",
            "Groovy scripts are not run",
        ),
        (
            with("/upsertConfig", json!({"mode": "FULL"})),
            "upsertConfig",
            "needs primaryKeyColumns",
        ),
    ];
    for (table, field, needle) in cases {
        let message = table_error(table);
        assert!(
            message.contains(field),
            "expected field {field} in: {message}"
        );
        assert!(
            message.contains(needle),
            "expected `{needle}` in: {message}"
        );
    }
}

#[test]
fn multi_value_sorted_column_is_refused() {
    let mut schema = example_schema();
    schema["dimensionFieldSpecs"][2]["singleValueField"] = json!(false);
    let schema = schema_parsed(&schema);
    let mut table = example_table();
    table["tableIndexConfig"]["sortedColumn"] = json!(["symbol"]);
    let mut parsed = table_parsed(&table);
    let err = check_table_against(&mut parsed, &schema.value)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sorted column `symbol` is multi-valued"),
        "{err}"
    );
}

#[test]
fn legacy_stream_configs_and_lenient_values() {
    let mut table = example_table();
    let map = table["ingestionConfig"]["streamIngestionConfig"]["streamConfigMaps"][0].clone();
    table.as_object_mut().unwrap().remove("ingestionConfig");
    table["tableIndexConfig"]["streamConfigs"] = map;
    table["tableIndexConfig"]["streamConfigs"]["realtime.segment.flush.threshold.rows"] =
        json!(100000);
    table["segmentsConfig"]["retentionTimeValue"] = json!(60);
    table["segmentsConfig"]["replication"] = json!(1);
    table["tableIndexConfig"]["sortedColumn"] = json!("user_id");
    let schema = schema_parsed(&example_schema());
    let mut parsed = table_parsed(&table);
    check_table_against(&mut parsed, &schema.value).unwrap();
    let stream = parse_stream_config(parsed.value.stream_config_map().unwrap(), "s").unwrap();
    assert_eq!(stream.flush_rows, 100_000);
    assert_eq!(parsed.value.table_index_config.sorted_column, ["user_id"]);
}

#[test]
fn unsupported_pinot_indexes_warn() {
    let mut table = example_table();
    table["fieldConfigList"] =
        json!([{"name": "symbol", "encodingType": "DICTIONARY", "indexes": {"text": {}}}]);
    let schema = schema_parsed(&example_schema());
    let mut parsed = table_parsed(&table);
    let written = check_table_against(&mut parsed, &schema.value).unwrap();
    assert_eq!(written.warnings.len(), 1);
    assert!(
        written.warnings[0].contains("does not build `text` indexes"),
        "{:?}",
        written.warnings
    );
}

#[test]
fn compression_codecs_gamay_does_not_build_warn() {
    let mut table = example_table();
    table["fieldConfigList"] = json!([
        {"name": "symbol", "encodingType": "RAW", "compressionCodec": "CLP"},
        {"name": "user_id", "encodingType": "RAW", "indexes": {"forward": {"compressionCodec": "ZSTANDARD"}}}
    ]);
    let schema = schema_parsed(&example_schema());
    let mut parsed = table_parsed(&table);
    let written = check_table_against(&mut parsed, &schema.value).unwrap();
    assert_eq!(written.warnings.len(), 1, "{:?}", written.warnings);
    assert!(
        written.warnings[0]
            .contains("does not build `CLP` compression; column `symbol` is stored with LZ4"),
        "{:?}",
        written.warnings
    );
}

#[test]
fn upsert_settings_that_cannot_work_are_refused_by_name() {
    let mut schema = example_schema();
    schema["primaryKeyColumns"] = json!(["id"]);
    let schema = schema_parsed(&schema);
    let cases = [
        (
            json!({"mode": "PARTIAL", "partialUpsertStrategies": {"symbol": "APPEND"}}),
            "upsertConfig.partialUpsertStrategies.symbol",
            "`symbol` is single-value",
        ),
        (
            json!({"mode": "PARTIAL", "partialUpsertStrategies": {"symbol": "INCREMENT"}}),
            "upsertConfig.partialUpsertStrategies.symbol",
            "needs a single-value number column",
        ),
        (
            json!({"mode": "FULL", "comparisonColumns": ["shares", "purchase"], "metadataTTL": 3600}),
            "upsertConfig.metadataTTL",
            "exactly one numeric comparison column",
        ),
        (
            json!({"mode": "FULL", "deletedKeysTTL": 60}),
            "upsertConfig.deletedKeysTTL",
            "set upsertConfig.deleteRecordColumn",
        ),
        (
            json!({"mode": "FULL", "deleteRecordColumn": "purchase"}),
            "upsertConfig.deleteRecordColumn",
            "must be a BOOLEAN",
        ),
        (
            json!({"mode": "FULL", "outOfOrderRecordColumn": "symbol"}),
            "upsertConfig.outOfOrderRecordColumn",
            "must be a BOOLEAN",
        ),
        (
            json!({"mode": "FULL", "metadataTTL": -5}),
            "upsertConfig.metadataTTL",
            "is negative",
        ),
    ];
    for (upsert, field, needle) in cases {
        let mut table = example_table();
        table["upsertConfig"] = upsert.clone();
        let mut parsed = table_parsed(&table);
        let message = match check_table_against(&mut parsed, &schema.value) {
            Ok(_) => panic!("accepted: {upsert}"),
            Err(err) => err.to_string(),
        };
        assert!(message.contains(field), "expected {field} in: {message}");
        assert!(
            message.contains(needle),
            "expected `{needle}` in: {message}"
        );
    }
    let mut table = example_table();
    table["upsertConfig"] = json!({"mode": "PARTIAL", "metadataTTL": 86400000,
        "partialUpsertStrategies": {"shares": "INCREMENT", "purchase": "MAX"}});
    let mut parsed = table_parsed(&table);
    check_table_against(&mut parsed, &schema.value).unwrap();
}
