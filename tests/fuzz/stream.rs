//! Mutated Kafka messages end to end: good trades with mutated messages
//! interleaved, produced to librdkafka's mock cluster (the real wire
//! protocol) and consumed by the real `gamay serve` process.
//!
//! What each mutated message must become is worked out here with the
//! library's own decoder and consuming segment, so the oracle is exact:
//! every good trade and every mutant that still makes a row is queryable,
//! every other mutant is counted as a bad message, the segments seal on
//! the way, and the server stays up.

use std::sync::Arc;
use std::time::Duration;

use gamay::catalog::{self, Decoder, Schema, TableConfig};
use gamay::ingest::decode::{Decoded, MessageDecoder};
use gamay::segment::{MutableSegment, SegmentSpec};
use rand::Rng;
use rdkafka::producer::{BaseRecord, Producer};
use serde_json::{json, Value};

use super::budget::{Budget, Findings};
use super::bytes::mutate_bytes;
use super::http::Server;
use super::kafka;
use super::mutate::Mutator;

/// Good trades in a run.
const GOOD: i64 = 2000;
/// Largest mutated message sent. The decoders see megabytes in
/// `messages.rs`; here large ones would only push unread messages out of
/// the mock cluster, which keeps a few megabytes per partition.
const MAX_MESSAGE: usize = 100_000;

/// What the table makes of a message.
#[derive(PartialEq)]
enum Fate {
    Row,
    /// Refused by the decoder: counted and sent to the dead-letter topic.
    Dead,
    /// Decoded, but a value the segment refuses: counted.
    Refused,
}

fn predict(decoder: &MessageDecoder, segment: &MutableSegment, payload: Option<&[u8]>) -> Fate {
    match decoder.decode(payload, None) {
        Decoded::Row(row) => match segment.append(&[row]) {
            Ok(_) => Fate::Row,
            Err(_) => Fate::Refused,
        },
        Decoded::Filtered | Decoded::Bad(..) => Fate::Dead,
    }
}

/// Messages ever written to partition 0 of `topic`: its high watermark
/// (the mock cluster deletes old messages past a few megabytes, so the
/// low watermark moves).
fn messages_in(cluster: &kafka::Mock, topic: &str) -> i64 {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .create()
        .expect("consumer");
    consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(5))
        .map_or(-1, |(_, high)| high)
}

pub fn run_target(ci_cases: u64) {
    let cluster = kafka::cluster("fuzz", 2);
    cluster.create_topic("fuzz-dead", 1, 1).expect("topic");
    let producer = kafka::producer(&cluster);
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("data"));
    let table = kafka::table(
        &cluster,
        "fuzz",
        json!({"realtime.segment.flush.threshold.segment.rows": "400", "deadLetterTopic": "fuzz-dead"}),
    );
    kafka::create(&server.url, &table);

    let schema: Schema = catalog::parse_value(kafka::schema(), "schema")
        .unwrap()
        .value;
    let config: TableConfig = catalog::parse_value(table, "table").unwrap().value;
    let spec = Arc::new(SegmentSpec::new(&schema, &config));
    let decoder = MessageDecoder::new(
        &schema,
        &config,
        spec.clone(),
        Decoder::Json,
        gamay::query::transform::compile,
    )
    .unwrap();
    let segment = MutableSegment::new(spec);

    let seeds: Vec<Value> = (0..20)
        .map(|id| serde_json::from_str(&kafka::trade(id)).unwrap())
        .collect();
    let mutator = Mutator::new(&seeds);
    let mut budget = Budget::from_env("stream", ci_cases);
    let mut findings = Findings::default();
    let mut messages: Vec<Option<Vec<u8>>> = (0..GOOD)
        .map(|id| Some(kafka::trade(id).into_bytes()))
        .collect();
    let (mut rows, mut bad, mut dead) = (GOOD as u64, 0u64, 0i64);
    while let Some((_, mut rng)) = budget.next_case() {
        let seed = &seeds[rng.random_range(0..seeds.len())];
        let payload = match rng.random_range(0..10) {
            0 => None,
            1..=3 => {
                let mut bytes = seed.to_string().into_bytes();
                mutate_bytes(&mut bytes, &mut rng);
                Some(bytes)
            }
            _ => Some(mutator.mutate(seed, &mut rng).bytes),
        };
        if payload
            .as_ref()
            .is_some_and(|payload| payload.len() > MAX_MESSAGE)
        {
            continue;
        }
        match predict(&decoder, &segment, payload.as_deref()) {
            Fate::Row => rows += 1,
            Fate::Dead => {
                bad += 1;
                dead += 1;
            }
            Fate::Refused => bad += 1,
        }
        let at = rng.random_range(0..=messages.len());
        messages.insert(at, payload);
    }
    for (i, payload) in messages.iter().enumerate() {
        loop {
            let mut record = BaseRecord::<[u8], [u8]>::to("fuzz").partition((i % 2) as i32);
            if let Some(payload) = payload {
                record = record.payload(payload.as_slice());
            }
            match producer.send(record) {
                Ok(()) => break,
                Err(_) => {
                    producer.poll(Duration::from_millis(10));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(60)).expect("flush");

    let count = || {
        kafka::row(&server.url, "SELECT COUNT(*) FROM stock_transactions")
            .first()
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let counted = || -> u64 {
        let (_, status) = kafka::call(
            &server.url,
            "GET",
            "/tables/stock_transactions/ingestionStatus",
            "",
        );
        status["badMessages"].as_u64().unwrap_or(0)
    };
    let settled = kafka::wait_until(Duration::from_secs(90), || {
        count() == rows && counted() == bad && messages_in(&cluster, "fuzz-dead") == dead
    });
    if !settled {
        findings.add(
            &budget,
            u64::MAX,
            format!(
                "expected {rows} rows, {bad} bad messages and {dead} dead letters; the table has {} rows, counted {} bad messages, and the dead-letter topic holds {}",
                count(),
                counted(),
                messages_in(&cluster, "fuzz-dead")
            ),
        );
    }
    let good = kafka::row(
        &server.url,
        &format!("SELECT COUNT(*) FROM stock_transactions WHERE id < {GOOD} AND symbol IN ('AAPL', 'MSFT', 'GOOG', 'AMZN', 'NVDA')"),
    );
    if good.first().and_then(Value::as_u64).unwrap_or(0) < GOOD as u64 {
        findings.add(
            &budget,
            u64::MAX,
            format!("good trades are missing: {good:?}"),
        );
    }
    let segments = kafka::sealed_segments(&server.url).len();
    for panic in server.panics() {
        findings.add(
            &budget,
            u64::MAX,
            format!("the server logged a panic: {panic}"),
        );
    }
    let (status, _) = kafka::call(&server.url, "GET", "/health", "");
    if status != 200 {
        findings.add(
            &budget,
            u64::MAX,
            format!("the server answered /health with {status}"),
        );
    }
    eprintln!(
        "fuzz stream: {} mutated among {GOOD} good messages in {:.1} s: {rows} rows, {bad} bad messages ({dead} dead letters) expected; {segments} segments sealed; {} finding(s)",
        messages.len() as i64 - GOOD,
        budget.elapsed().as_secs_f64(),
        findings.len()
    );
    findings.assert_none(&budget);
}
