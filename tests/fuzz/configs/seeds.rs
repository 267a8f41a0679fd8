//! Valid documents the config fuzzing starts from: a schema with every
//! data type and date-time format, OFFLINE and REALTIME table configs
//! (indexes, star-trees, upsert, partial upsert, dedup, transforms,
//! quota, legacy `streamConfigs`, Debezium), a `/tableConfigs` envelope,
//! and S3 and JDBC sink connectors. REALTIME tables point at the run's
//! librdkafka mock cluster (so their consumers start and stop at once),
//! JDBC sinks and S3 endpoints at a loopback port nothing listens on, file
//! stores under the data directory.

use std::sync::OnceLock;

use serde_json::{json, Value};

/// Where JDBC sinks and S3 endpoints point: nothing listens on port 1.
pub const NOWHERE: &str = "127.0.0.1:1";

static BROKERS: OnceLock<String> = OnceLock::new();

/// Points the REALTIME seeds at `list` (the mock cluster's bootstrap
/// servers); until then they point [`NOWHERE`].
pub fn use_brokers(list: &str) {
    let _ = BROKERS.set(list.to_string());
}

fn brokers() -> &'static str {
    BROKERS.get().map_or(NOWHERE, String::as_str)
}

pub fn schema(name: &str) -> Value {
    json!({
        "schemaName": name,
        "enableColumnBasedNullHandling": true,
        "dimensionFieldSpecs": [
            {"name": "id", "dataType": "LONG", "notNull": true},
            {"name": "user_id", "dataType": "INT"},
            {"name": "symbol", "dataType": "STRING", "defaultNullValue": "none", "maxLength": 64},
            {"name": "tags", "dataType": "STRING", "singleValueField": false},
            {"name": "active", "dataType": "BOOLEAN"},
            {"name": "payload", "dataType": "JSON"},
            {"name": "raw", "dataType": "BYTES"},
            {"name": "user.name", "dataType": "STRING"},
            {"name": "deleted", "dataType": "BOOLEAN"}
        ],
        "metricFieldSpecs": [
            {"name": "shares", "dataType": "INT", "defaultNullValue": 0},
            {"name": "price", "dataType": "DOUBLE"},
            {"name": "fee", "dataType": "FLOAT"},
            {"name": "amount", "dataType": "BIG_DECIMAL"}
        ],
        "dateTimeFieldSpecs": [
            {"name": "ts", "dataType": "LONG", "format": "1:MILLISECONDS:EPOCH", "granularity": "1:MILLISECONDS"},
            {"name": "day", "dataType": "STRING", "format": "SIMPLE_DATE_FORMAT|yyyy-MM-dd", "granularity": "1:DAYS"},
            {"name": "at", "dataType": "TIMESTAMP", "format": "TIMESTAMP", "granularity": "1:SECONDS"},
            {"name": "hour", "dataType": "LONG", "format": "EPOCH|HOURS|1", "granularity": "1:HOURS"}
        ],
        "primaryKeyColumns": ["id"]
    })
}

fn stream(extra: Value) -> Value {
    let mut stream = json!({
        "streamType": "kafka",
        "stream.kafka.topic.name": "fuzz-topic",
        "stream.kafka.broker.list": brokers(),
        "stream.kafka.consumer.type": "lowlevel",
        "stream.kafka.decoder.class.name": "org.apache.pinot.plugin.stream.kafka.KafkaJSONMessageDecoder",
        "stream.kafka.consumer.factory.class.name": "org.apache.pinot.plugin.stream.kafka20.KafkaConsumerFactory",
        "stream.kafka.consumer.prop.auto.offset.reset": "smallest",
        "realtime.segment.flush.threshold.rows": "0",
        "realtime.segment.flush.threshold.time": "6h",
        "realtime.segment.flush.threshold.segment.size": "100M"
    });
    if let (Some(stream), Some(extra)) = (stream.as_object_mut(), extra.as_object()) {
        stream.extend(extra.clone());
    }
    stream
}

pub fn offline_table(name: &str) -> Value {
    json!({
        "tableName": name,
        "tableType": "OFFLINE",
        "segmentsConfig": {
            "timeColumnName": "ts", "timeType": "MILLISECONDS", "replication": "1",
            "retentionTimeUnit": "DAYS", "retentionTimeValue": "365", "segmentPushType": "APPEND"
        },
        "tableIndexConfig": {
            "sortedColumn": ["ts"],
            "invertedIndexColumns": ["symbol", "tags"],
            "rangeIndexColumns": ["price"],
            "bloomFilterColumns": ["symbol"],
            "bloomFilterConfigs": {"user_id": {"fpp": 0.01, "maxSizeInBytes": 100000}},
            "noDictionaryColumns": ["fee"],
            "loadMode": "MMAP",
            "nullHandlingEnabled": true,
            "starTreeIndexConfigs": [{
                "dimensionsSplitOrder": ["symbol", "user_id"],
                "skipStarNodeCreationForDimensions": [],
                "functionColumnPairs": ["COUNT__*", "SUM__shares", "MAX__price", "DISTINCTCOUNTHLL__user_id"],
                "maxLeafRecords": 100
            }],
            "segmentPartitionConfig": {"columnPartitionMap": {"user_id": {"functionName": "Murmur", "numPartitions": 4}}}
        },
        "fieldConfigList": [
            {"name": "symbol", "encodingType": "DICTIONARY", "indexes": {"inverted": {}, "bloom": {"fpp": 0.01}}},
            {"name": "price", "encodingType": "DICTIONARY", "indexTypes": ["RANGE"]}
        ],
        "ingestionConfig": {
            "transformConfigs": [{"columnName": "hour", "transformFunction": "toEpochHours(ts)"}],
            "filterConfig": {"filterFunction": "symbol = 'TEST'"},
            "continueOnError": true,
            "batchIngestionConfig": {"segmentIngestionType": "APPEND", "segmentIngestionFrequency": "DAILY"}
        },
        "quota": {"storage": "10G", "maxQueriesPerSecond": "100"},
        "query": {"timeoutMs": 10000},
        "routing": {"segmentPrunerTypes": ["time"]},
        "tenants": {"broker": "DefaultTenant", "server": "DefaultTenant"},
        "metadata": {"customConfigs": {"owner": "fuzz"}}
    })
}

pub fn upsert_table(name: &str) -> Value {
    json!({
        "tableName": name,
        "tableType": "REALTIME",
        "segmentsConfig": {"timeColumnName": "ts", "replicasPerPartition": "1", "retentionTimeUnit": "DAYS", "retentionTimeValue": "7"},
        "tableIndexConfig": {"sortedColumn": ["id"], "invertedIndexColumns": ["symbol"]},
        "upsertConfig": {"mode": "FULL", "comparisonColumn": "ts", "deleteRecordColumn": "deleted", "enableSnapshot": true},
        "ingestionConfig": {
            "streamIngestionConfig": {"streamConfigMaps": [stream(json!({"deadLetterTopic": "fuzz-dead", "stopOnDecodeError": "false"}))]},
            "transformConfigs": [{"columnName": "day", "transformFunction": "toDateTime(ts, 'yyyy-MM-dd')"}]
        },
        "routing": {"instanceSelectorType": "strictReplicaGroup"}
    })
}

pub fn partial_upsert_table(name: &str) -> Value {
    json!({
        "tableName": name,
        "tableType": "REALTIME",
        "segmentsConfig": {"timeColumnName": "ts"},
        "tableIndexConfig": {
            "streamConfigs": stream(json!({"stream.kafka.decoder.prop.format": "debezium"}))
        },
        "upsertConfig": {
            "mode": "PARTIAL",
            "partialUpsertStrategies": {"shares": "INCREMENT", "tags": "UNION"},
            "defaultPartialUpsertStrategy": "OVERWRITE",
            "comparisonColumns": ["ts"],
            "deleteRecordColumn": "deleted",
            "dropOutOfOrderRecord": false
        }
    })
}

pub fn dedup_table(name: &str) -> Value {
    json!({
        "tableName": name,
        "tableType": "REALTIME",
        "segmentsConfig": {"timeColumnName": "ts"},
        "tableIndexConfig": {"enableDefaultStarTree": true, "rangeIndexColumns": ["ts"]},
        "dedupConfig": {"dedupEnabled": true, "hashFunction": "NONE", "metadataTTL": 3600, "dedupTimeColumn": "ts"},
        "ingestionConfig": {
            "streamIngestionConfig": {"streamConfigMaps": [stream(json!({"realtime.segment.flush.threshold.rows": "5000"}))]},
            "filterConfig": {"filterFunction": "price < 0"}
        },
        "quota": {"maxQueriesPerSecond": 10}
    })
}

/// Every table seed, named `name`.
pub fn tables(name: &str) -> Vec<Value> {
    vec![
        offline_table(name),
        upsert_table(name),
        partial_upsert_table(name),
        dedup_table(name),
    ]
}

/// A `/tableConfigs` document: the schema and both table types.
pub fn table_configs(name: &str) -> Value {
    json!({
        "tableName": name,
        "schema": schema(name),
        "offline": offline_table(name),
        "realtime": upsert_table(name)
    })
}

/// Connector configs exporting `table`; file stores under `lake`.
pub fn connectors(table: &str, lake: &str) -> Vec<Value> {
    vec![
        json!({
            "connector.class": "io.confluent.connect.s3.S3SinkConnector",
            "tables": table,
            "s3.bucket.name": "exports",
            "s3.region": "us-east-1",
            "store.url": format!("file://{lake}/exports"),
            "topics.dir": "out",
            "flush.size": "50",
            "rotate.interval.ms": "600000",
            "format.class": "io.confluent.connect.s3.format.parquet.ParquetFormat",
            "partitioner.class": "io.confluent.connect.storage.partitioner.TimeBasedPartitioner",
            "path.format": "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH",
            "partition.duration.ms": "3600000",
            "locale": "pt_BR",
            "timezone": "America/New_York",
            "timestamp.extractor": "RecordField",
            "timestamp.field": "ts",
            "tasks.max": "1",
            "errors.tolerance": "none",
            "key.converter": "org.apache.kafka.connect.storage.StringConverter"
        }),
        json!({
            "connector.class": "s3",
            "tables": format!("{table}_OFFLINE"),
            "s3.bucket.name": "exports",
            "store.url": format!("http://{NOWHERE}"),
            "s3.path.style.access.enabled": "true",
            "aws.access.key.id": "AKIAFUZZ",
            "aws.secret.access.key": "not-a-secret",
            "flush.size": 1000,
            "format.class": "io.confluent.connect.s3.format.json.JsonFormat",
            "partitioner.class": "io.confluent.connect.storage.partitioner.FieldPartitioner",
            "partition.field.name": "symbol"
        }),
        json!({
            "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
            "tables": table,
            "connection.url": format!("jdbc:postgresql://{NOWHERE}/db?sslmode=disable"),
            "connection.user": "fuzz",
            "connection.password": "not-a-secret",
            "table.name.format": "fuzz_${topic}",
            "insert.mode": "upsert",
            "pk.mode": "record_value",
            "pk.fields": "id",
            "auto.create": "true",
            "auto.evolve": "true",
            "batch.size": "500",
            "max.retries": "3",
            "retry.backoff.ms": "100",
            "db.timezone": "UTC",
            "delete.enabled": "false"
        }),
        json!({
            "connector.class": "jdbc",
            "tables": table,
            "connection.url": format!("jdbc:mysql://{NOWHERE}/db"),
            "insert.mode": "insert",
            "pk.mode": "none",
            "fields.whitelist": "id,symbol,price",
            "auto.create": true
        }),
    ]
}
