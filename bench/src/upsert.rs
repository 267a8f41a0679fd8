//! An upsert table on the Kafka data set: the same topic as the plain
//! REALTIME table, consumed again into a table whose primary key is
//! `account = id % keys` (two versions per key, some arriving late by
//! their `update_at`). Measures its consumption rate, its key map's bytes
//! per key, and each kit query's latency on it next to the plain table
//! holding the same messages, once both tables' rows are sealed.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};

use super::kafka;
use super::load::{self, Latency, Query};
use super::server::Client;
use super::BenchError;

/// The upsert table (and its schema).
pub const TABLE: &str = "stock_upsert";

/// One kit query on the plain and the upsert table.
#[derive(Clone, Debug, Serialize)]
pub struct UpsertQuery {
    pub name: String,
    pub plain: Latency,
    pub upsert: Latency,
    /// Upsert p50 over plain p50.
    pub ratio: f64,
}

/// Upsert figures.
#[derive(Clone, Debug, Serialize)]
pub struct UpsertBench {
    pub messages: usize,
    /// Distinct primary keys in the stream.
    pub keys: usize,
    /// From the table's creation until every message is stored.
    pub seconds: f64,
    pub messages_per_second: f64,
    /// Keys the table's maps hold, and their bytes.
    pub primary_keys: u64,
    pub key_map_bytes: u64,
    pub bytes_per_key: f64,
    /// Rows queries see (the latest version of each key).
    pub visible_rows: u64,
    pub queries: Vec<UpsertQuery>,
}

/// The number of keys for `messages`: half as many, a multiple of the
/// topic's partitions so each key stays in one partition (messages go to
/// partition `id % partitions`).
fn key_count(messages: usize) -> usize {
    let partitions = kafka::PARTITIONS as usize;
    (messages / 2 / partitions).max(1) * partitions
}

fn configs(brokers: &str, keys: usize) -> (Value, Value) {
    let mut schema: Value = serde_json::from_str(include_str!(
        "../../benches/data/stock_transactions.schema.json"
    ))
    .expect("the bundled schema is JSON");
    schema["schemaName"] = json!(TABLE);
    if let Some(dimensions) = schema["dimensionFieldSpecs"].as_array_mut() {
        dimensions.push(json!({"name": "account", "dataType": "LONG"}));
    }
    schema["primaryKeyColumns"] = json!(["account"]);
    let table = json!({
        "tableName": TABLE,
        "tableType": "REALTIME",
        "segmentsConfig": {"timeColumnName": "update_at", "replication": "1"},
        "tableIndexConfig": {
            "invertedIndexColumns": ["user_id", "symbol", "exchange", "country", "side"],
            "rangeIndexColumns": ["price"]
        },
        "upsertConfig": {"mode": "FULL"},
        "ingestionConfig": {
            "transformConfigs": [
                {"columnName": "account", "transformFunction": format!("mod(id, {keys})")}
            ],
            "streamIngestionConfig": {"streamConfigMaps": [{
                "streamType": "kafka",
                "stream.kafka.topic.name": kafka::TABLE,
                "stream.kafka.broker.list": brokers,
                "stream.kafka.consumer.prop.auto.offset.reset": "smallest",
                "realtime.segment.flush.threshold.rows": "1000000"
            }]}
        }
    });
    (schema, table)
}

/// Creates the upsert table on the plain table's topic (already holding
/// `messages`), waits until every message is stored, then runs each
/// query `runs` times on both tables, alternating.
pub fn run(
    brokers: &str,
    client: &Client,
    messages: usize,
    queries: &[Query],
    runs: usize,
) -> Result<UpsertBench, BenchError> {
    let keys = key_count(messages);
    let (schema, table) = configs(brokers, keys);
    client.post("/schemas", &schema)?;
    let started = Instant::now();
    client.post("/tables", &table)?;
    let every_version = format!("SET skipUpsert = true; SELECT COUNT(*) FROM {TABLE}");
    client.wait_for(&every_version, messages as f64, Duration::from_secs(60))?;
    let seconds = started.elapsed().as_secs_f64();
    // Both tables' rows sealed, so the two are compared on like segments.
    for table in [kafka::TABLE, TABLE] {
        client.post(&format!("/tables/{table}/forceCommit"), &json!({}))?;
        wait_sealed(client, table, Duration::from_secs(120))?;
    }
    let metadata = client.get(&format!("/tables/{TABLE}/metadata"))?;
    let primary_keys = metadata["upsertPrimaryKeys"].as_u64().unwrap_or(0);
    let key_map_bytes = metadata["upsertKeyMapBytes"].as_u64().unwrap_or(0);
    let visible_rows = client
        .scalar(&format!("SELECT COUNT(*) FROM {TABLE}"))?
        .unwrap_or(0.0) as u64;
    let on = |query: &Query, table: &str| Query {
        sql: query.sql.replace("stock_transactions", table),
        ..query.clone()
    };
    let mut compared = Vec::with_capacity(queries.len());
    for query in queries {
        let plain = load::latencies(client, &[on(query, kafka::TABLE)], runs)?;
        let upsert = load::latencies(client, &[on(query, TABLE)], runs)?;
        let (Some(plain), Some(upsert)) = (plain.into_iter().next(), upsert.into_iter().next())
        else {
            continue;
        };
        compared.push(UpsertQuery {
            name: query.name.clone(),
            ratio: upsert.latency.p50_ms / plain.latency.p50_ms.max(1e-6),
            plain: plain.latency,
            upsert: upsert.latency,
        });
    }
    Ok(UpsertBench {
        messages,
        keys,
        seconds,
        messages_per_second: messages as f64 / seconds,
        primary_keys,
        key_map_bytes,
        bytes_per_key: key_map_bytes as f64 / primary_keys.max(1) as f64,
        visible_rows,
        queries: compared,
    })
}

/// Waits until no row of `table` is in a consuming segment.
fn wait_sealed(client: &Client, table: &str, within: Duration) -> Result<(), BenchError> {
    let deadline = Instant::now() + within;
    loop {
        let metadata = client.get(&format!("/tables/{table}/metadata"))?;
        if metadata["numConsumingRows"].as_u64() == Some(0) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(BenchError::Server(format!(
                "{table} still had {} rows in consuming segments after {} s",
                metadata["numConsumingRows"],
                within.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_in_one_partition() {
        assert_eq!(key_count(10), kafka::PARTITIONS as usize);
        let keys = key_count(1_000_000);
        assert_eq!(keys % kafka::PARTITIONS as usize, 0);
        assert!((490_000..=500_000).contains(&keys), "{keys}");
    }
}
