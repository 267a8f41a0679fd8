//! Upsert tables end to end: a keyed change stream (inserts, updates, late
//! updates, deletes) through librdkafka's mock cluster into a REALTIME
//! upsert table that seals every few dozen rows; queries over HTTP must
//! see exactly the latest version of each key, as a brute-force model
//! says, before and after a restart, in both query engines; `skipUpsert`
//! shows every version.

mod kafka;

use std::collections::BTreeMap;
use std::time::Duration;

use kafka::{call, wait_until, InProcess};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(60);
const TOPIC: &str = "accounts";
const KEYS: i64 = 40;

#[derive(Clone, Debug)]
struct Event {
    id: i64,
    balance: i64,
    ts: i64,
    deleted: bool,
}

fn schema() -> Value {
    json!({
        "schemaName": "accounts",
        "dimensionFieldSpecs": [
            {"name": "id", "dataType": "LONG"},
            {"name": "name", "dataType": "STRING"},
            {"name": "deleted", "dataType": "BOOLEAN"}
        ],
        "metricFieldSpecs": [{"name": "balance", "dataType": "LONG"}],
        "dateTimeFieldSpecs": [{"name": "ts", "dataType": "LONG",
                                "format": "1:MILLISECONDS:EPOCH", "granularity": "1:MILLISECONDS"}],
        "primaryKeyColumns": ["id"]
    })
}

fn table(cluster: &kafka::Mock) -> Value {
    json!({
        "tableName": "accounts",
        "tableType": "REALTIME",
        "segmentsConfig": {"timeColumnName": "ts", "replication": "1"},
        "tableIndexConfig": {"sortedColumn": ["id"], "invertedIndexColumns": ["name"]},
        "upsertConfig": {"mode": "FULL", "deleteRecordColumn": "deleted"},
        "ingestionConfig": {"streamIngestionConfig": {"streamConfigMaps": [{
            "streamType": "kafka",
            "stream.kafka.topic.name": TOPIC,
            "stream.kafka.broker.list": cluster.bootstrap_servers(),
            "stream.kafka.decoder.class.name": "org.apache.pinot.plugin.stream.kafka.KafkaJSONMessageDecoder",
            "stream.kafka.consumer.prop.auto.offset.reset": "smallest",
            "realtime.segment.flush.threshold.segment.rows": "37"
        }]}}
    })
}

/// Creates `schema` and `table`.
fn create(url: &str, schema: &Value, table: &Value) {
    for (path, body) in [("/schemas", schema), ("/tables", table)] {
        let (status, answer) = call(url, "POST", path, &body.to_string());
        assert_eq!(status, 200, "{path}: {answer}");
    }
}

/// `count` random events; about one update in six arrives late (a
/// timestamp older than the key's latest), one in eight is a delete.
fn events(rng: &mut StdRng, count: usize, clock: &mut i64) -> Vec<Event> {
    (0..count)
        .map(|_| {
            *clock += 10;
            let late = rng.random_bool(1.0 / 6.0);
            Event {
                id: rng.random_range(0..KEYS),
                balance: rng.random_range(0..10_000),
                ts: if late { *clock - 500 } else { *clock },
                deleted: rng.random_bool(1.0 / 8.0),
            }
        })
        .collect()
}

/// The latest version of each key: a later event replaces the held one
/// unless its timestamp is older; deleted keys are gone.
fn model(events: &[Event]) -> BTreeMap<i64, i64> {
    let mut held: BTreeMap<i64, &Event> = BTreeMap::new();
    for event in events {
        if held.get(&event.id).is_none_or(|old| event.ts >= old.ts) {
            held.insert(event.id, event);
        }
    }
    held.into_iter()
        .filter(|(_, event)| !event.deleted)
        .map(|(id, event)| (id, event.balance))
        .collect()
}

/// Sends the events, each to the partition of its key.
fn produce(producer: &rdkafka::producer::BaseProducer, events: &[Event]) {
    for partition in 0..2 {
        let messages: Vec<(String, Option<String>)> = events
            .iter()
            .filter(|event| event.id % 2 == partition as i64)
            .map(|event| {
                let row = json!({"id": event.id, "name": format!("user {}", event.id),
                                 "balance": event.balance, "ts": event.ts, "deleted": event.deleted});
                (event.id.to_string(), Some(row.to_string()))
            })
            .collect();
        kafka::produce_keyed(producer, TOPIC, &messages, partition);
    }
}

fn query(url: &str, sql: &str, options: &str) -> Value {
    let mut body = json!({ "sql": sql });
    if !options.is_empty() {
        body["queryOptions"] = json!(options);
    }
    let (status, body) = call(url, "POST", "/query/sql", &body.to_string());
    assert_eq!(status, 200, "{sql}: {body}");
    assert_eq!(body["exceptions"], json!([]), "{sql}: {body}");
    body
}

fn rows(url: &str, sql: &str, options: &str) -> Vec<Vec<Value>> {
    let body = query(url, sql, options);
    serde_json::from_value(body["resultTable"]["rows"].clone()).unwrap()
}

fn count(url: &str, options: &str) -> i64 {
    rows(url, "SELECT COUNT(*) FROM accounts", options)
        .first()
        .and_then(|row| row[0].as_i64())
        .unwrap_or(0)
}

/// Every query shape agrees with the model.
fn check(url: &str, events: &[Event]) {
    let model = model(events);
    let listed: BTreeMap<i64, i64> = rows(
        url,
        "SELECT id, balance FROM accounts ORDER BY id LIMIT 1000",
        "",
    )
    .into_iter()
    .map(|row| (row[0].as_i64().unwrap(), row[1].as_f64().unwrap() as i64))
    .collect();
    assert_eq!(listed, model);
    assert_eq!(count(url, ""), model.len() as i64);
    let low: i64 = model
        .iter()
        .filter(|(id, _)| **id < 20)
        .map(|(_, b)| b)
        .sum();
    let sum = rows(url, "SELECT SUM(balance) FROM accounts WHERE id < 20", "");
    assert_eq!(sum[0][0].as_f64().unwrap() as i64, low);
    let by_name = rows(
        url,
        "SELECT name, COUNT(*) FROM accounts WHERE name = 'user 3' GROUP BY name",
        "",
    );
    assert_eq!(by_name.len(), model.contains_key(&3) as usize);
    let multistage = rows(
        url,
        "SELECT COUNT(*), SUM(balance) FROM accounts",
        "useMultistageEngine=true",
    );
    assert_eq!(multistage[0][0].as_i64().unwrap(), model.len() as i64);
    assert_eq!(
        multistage[0][1].as_f64().unwrap_or(0.0) as i64,
        model.values().sum::<i64>()
    );
}

#[test]
fn queries_see_the_latest_version_of_each_key_across_seals_and_restarts() {
    let cluster = kafka::cluster(TOPIC, 2);
    let producer = kafka::producer(&cluster);
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let mut clock = 1_700_000_000_000i64;
    let mut all = events(&mut rng, 600, &mut clock);

    let server = InProcess::start(dir.path());
    create(&server.url, &schema(), &table(&cluster));
    produce(&producer, &all);
    assert!(
        wait_until(WAIT, || count(&server.url, "skipUpsert=true")
            == all.len() as i64),
        "every version arrives: {} of {}",
        count(&server.url, "skipUpsert=true"),
        all.len()
    );
    check(&server.url, &all);
    let distinct = all
        .iter()
        .map(|event| event.id)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let (status, metadata) = call(&server.url, "GET", "/tables/accounts/metadata", "");
    assert_eq!(status, 200, "{metadata}");
    assert_eq!(metadata["upsertPrimaryKeys"], json!(distinct), "{metadata}");
    assert!(
        metadata["upsertKeyMapBytes"].as_u64().unwrap() > 0,
        "{metadata}"
    );
    let metrics = ureq::get(&format!("{}/metrics", server.url))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let line = format!("gamay_upsert_primary_keys{{table=\"accounts_REALTIME\"}} {distinct}");
    assert!(metrics.contains(&line), "{line} not in:\n{metrics}");
    // Segments seal in the background, after their rows are visible.
    let sealed = || {
        let (status, segments) = call(&server.url, "GET", "/segments/accounts", "");
        assert_eq!(status, 200, "{segments}");
        let count = segments[0]["REALTIME"].as_array().map_or(0, Vec::len);
        (count, segments)
    };
    assert!(wait_until(WAIT, || sealed().0 >= 10), "{:?}", sealed());
    // Each sealed segment records its late docs (for exports elsewhere).
    let mut latest: BTreeMap<i64, i64> = BTreeMap::new();
    let mut late = 0;
    for event in &all {
        if latest.get(&event.id).is_some_and(|ts| event.ts < *ts) {
            late += 1;
        } else {
            latest.insert(event.id, event.ts);
        }
    }
    let mut recorded = 0;
    for name in sealed().1[0]["REALTIME"].as_array().unwrap() {
        let path = format!("/segments/accounts/{}/metadata", name.as_str().unwrap());
        let (status, metadata) = call(&server.url, "GET", &path, "");
        assert_eq!(status, 200, "{metadata}");
        recorded += metadata["upsertLateDocs"].as_u64().unwrap();
    }
    assert!(recorded > 0 && recorded <= late, "{recorded} of {late}");
    drop(server);

    // Restarted: the sealed segments' state comes back from the snapshots,
    // the rest is consumed again.
    let server = InProcess::start(dir.path());
    assert!(
        wait_until(WAIT, || count(&server.url, "skipUpsert=true")
            == all.len() as i64),
        "every version after the restart"
    );
    check(&server.url, &all);

    let more = events(&mut rng, 300, &mut clock);
    produce(&producer, &more);
    all.extend(more);
    assert!(
        wait_until(WAIT, || count(&server.url, "skipUpsert=true")
            == all.len() as i64),
        "the later events arrive"
    );
    check(&server.url, &all);
}

/// A crash between the snapshot and the commit, or right after a commit:
/// the restarted server (snapshot or replay) and the messages consumed
/// again from the checkpoints give the model's answer.
#[test]
fn a_crash_around_a_commit_leaves_the_latest_versions() {
    for fault in ["seal.after_snapshot@3", "seal.after_commit@4"] {
        let cluster = kafka::cluster(TOPIC, 2);
        let producer = kafka::producer(&cluster);
        let dir = tempfile::tempdir().unwrap();
        let mut rng = StdRng::seed_from_u64(11);
        let mut clock = 1_700_000_000_000i64;
        let all = events(&mut rng, 500, &mut clock);

        let mut server = kafka::Process::start(dir.path(), Some(fault));
        create(&server.url, &schema(), &table(&cluster));
        produce(&producer, &all);
        assert!(
            server.wait_for_exit(WAIT),
            "the server did not reach {fault}"
        );

        let server = kafka::Process::start(dir.path(), None);
        assert!(
            wait_until(WAIT, || count(&server.url, "skipUpsert=true")
                == all.len() as i64),
            "after {fault}: {} of {} versions",
            count(&server.url, "skipUpsert=true"),
            all.len()
        );
        check(&server.url, &all);
    }
}

/// A partial-upsert table fed messages that carry only the columns they
/// change: balances add up (INCREMENT), names are overwritten when given,
/// tags gather (UNION), and a late message changes nothing.
#[test]
fn partial_upserts_merge_messages_that_carry_some_columns() {
    let cluster = kafka::cluster(TOPIC, 1);
    let producer = kafka::producer(&cluster);
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(dir.path());
    let mut schema = schema();
    schema["dimensionFieldSpecs"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "tags", "dataType": "STRING", "singleValueField": false}));
    let mut table = table(&cluster);
    table["upsertConfig"] = json!({
        "mode": "PARTIAL",
        "partialUpsertStrategies": {"balance": "INCREMENT", "tags": "UNION"}
    });
    create(&server.url, &schema, &table);

    let messages = [
        json!({"id": 1, "name": "ana", "balance": 10, "tags": ["a"], "ts": 100}),
        json!({"id": 2, "name": "bo", "balance": 5, "ts": 100}),
        json!({"id": 1, "balance": 7, "tags": ["b"], "ts": 200}),
        json!({"id": 1, "name": "ana maria", "ts": 300}),
        json!({"id": 2, "balance": 1, "tags": ["x", "a"], "ts": 150}),
        // Late for key 1 (ts 250 < 300): changes nothing.
        json!({"id": 1, "name": "late", "balance": 1000, "ts": 250}),
        json!({"id": 2, "balance": -2, "tags": ["x"], "ts": 400}),
    ];
    let keyed: Vec<(String, Option<String>)> = messages
        .iter()
        .map(|message| (message["id"].to_string(), Some(message.to_string())))
        .collect();
    kafka::produce_keyed(&producer, TOPIC, &keyed, 0);
    assert!(
        wait_until(WAIT, || count(&server.url, "skipUpsert=true") == 7),
        "every message arrives"
    );
    let found = rows(
        &server.url,
        "SELECT id, name, balance, tags FROM accounts ORDER BY id",
        "",
    );
    assert_eq!(
        found,
        vec![
            vec![json!(1), json!("ana maria"), json!(17), json!(["a", "b"])],
            vec![json!(2), json!("bo"), json!(4), json!(["x", "a"])],
        ]
    );
}
