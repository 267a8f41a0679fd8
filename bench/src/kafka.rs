//! Real-time ingestion through Kafka: the data set's rows as JSON messages
//! in librdkafka's mock cluster (running in the benchmark process), consumed
//! by a REALTIME table until all are queryable; then freshness, the time
//! from a message's send to its row answering a query, at a fixed rate.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, DefaultProducerContext, Producer};
use rdkafka::ClientConfig;
use serde::Serialize;
use serde_json::{json, Value};

use super::load::Latency;
use super::server::Client;
use super::{data, BenchError};

/// The REALTIME table (and its schema and topic) the data set goes to.
pub const TABLE: &str = "stock_stream";
/// Partitions of its topic; the mock cluster keeps at most 5 MiB per
/// partition, so more partitions hold more messages.
pub const PARTITIONS: i32 = 16;
/// The table (and topic) freshness is measured on: fresh, as a new stream.
pub const LIVE_TABLE: &str = "stock_live";
const LIVE_PARTITIONS: i32 = 4;

/// The embedded cluster and a producer to it.
pub struct Kafka {
    // Field order: the producer goes before the cluster it talks to.
    producer: BaseProducer,
    cluster: MockCluster<'static, DefaultProducerContext>,
}

impl Kafka {
    pub fn start() -> Result<Kafka, BenchError> {
        let cluster = MockCluster::new(1).map_err(kafka_error)?;
        cluster
            .create_topic(TABLE, PARTITIONS, 1)
            .map_err(kafka_error)?;
        cluster
            .create_topic(LIVE_TABLE, LIVE_PARTITIONS, 1)
            .map_err(kafka_error)?;
        // Bulk loading: large zstd batches, so the data set fits the
        // cluster's retention.
        let producer = producer(&cluster.bootstrap_servers(), "zstd", "20")?;
        Ok(Kafka { producer, cluster })
    }

    /// The cluster's bootstrap servers.
    pub fn brokers(&self) -> String {
        self.cluster.bootstrap_servers()
    }

    /// A producer that sends within 5 ms (lz4), so freshness
    /// measures Gamay rather than the producer's batching.
    fn live_producer(&self) -> Result<BaseProducer, BenchError> {
        producer(&self.cluster.bootstrap_servers(), "lz4", "5")
    }

    fn flush(&self) -> Result<(), BenchError> {
        self.producer
            .flush(Duration::from_secs(120))
            .map_err(|err| BenchError::Kafka(format!("cannot flush the producer: {err}")))
    }

    /// Fails if the cluster dropped messages to stay within its retention.
    fn check_retained(&self) -> Result<(), BenchError> {
        for partition in 0..PARTITIONS {
            let (low, _) = self
                .producer
                .client()
                .fetch_watermarks(TABLE, partition, Duration::from_secs(10))
                .map_err(|err| BenchError::Kafka(err.to_string()))?;
            if low > 0 {
                return Err(BenchError::Kafka(format!(
                    "the embedded cluster dropped the first {low} messages of partition {partition} \
                     (it keeps 5 MiB per partition); use a smaller --kafka-rows"
                )));
            }
        }
        Ok(())
    }
}

fn kafka_error(err: KafkaError) -> BenchError {
    BenchError::Kafka(err.to_string())
}

fn producer(brokers: &str, compression: &str, linger_ms: &str) -> Result<BaseProducer, BenchError> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("compression.type", compression)
        .set("linger.ms", linger_ms)
        .set("batch.num.messages", "10000")
        .set("batch.size", "4000000")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .map_err(kafka_error)
}

/// Hands one message to the producer, waiting (up to a minute) while its
/// queue is full; any other refusal is an error naming the message.
fn send(
    producer: &BaseProducer,
    topic: &str,
    payload: &[u8],
    partition: i32,
) -> Result<(), BenchError> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let record = BaseRecord::<(), [u8]>::to(topic)
            .payload(payload)
            .partition(partition);
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _))
                if Instant::now() < deadline =>
            {
                producer.poll(Duration::from_millis(1));
            }
            Err((err, _)) => {
                let start = String::from_utf8_lossy(&payload[..payload.len().min(80)]).into_owned();
                return Err(BenchError::Kafka(format!(
                    "cannot produce a {}-byte message to {topic} ({start}...): {err}",
                    payload.len()
                )));
            }
        }
    }
}

/// The schema and REALTIME table `name` consuming topic `name`, as a user
/// would POST them.
fn configs(brokers: &str, name: &str) -> (Value, Value) {
    let mut schema: Value = serde_json::from_str(include_str!(
        "../../benches/data/stock_transactions.schema.json"
    ))
    .expect("the bundled schema is JSON");
    schema["schemaName"] = json!(name);
    let table = json!({
        "tableName": name,
        "tableType": "REALTIME",
        "segmentsConfig": {"timeColumnName": "update_at", "replication": "1"},
        "tableIndexConfig": {
            "invertedIndexColumns": ["user_id", "symbol", "exchange", "country", "side"],
            "rangeIndexColumns": ["price"]
        },
        "ingestionConfig": {"streamIngestionConfig": {"streamConfigMaps": [{
            "streamType": "kafka",
            "stream.kafka.topic.name": name,
            "stream.kafka.broker.list": brokers,
            "stream.kafka.consumer.prop.auto.offset.reset": "smallest",
            "realtime.segment.flush.threshold.rows": "1000000"
        }]}}
    });
    (schema, table)
}

/// Kafka ingestion figures.
#[derive(Clone, Debug, Serialize)]
pub struct KafkaIngest {
    pub messages: usize,
    pub partitions: i32,
    pub message_bytes: f64,
    /// Producing them into the embedded cluster (not a Gamay figure).
    pub produce_seconds: f64,
    /// From the table's creation until `COUNT(*)` sees every message.
    pub seconds: f64,
    pub messages_per_second: f64,
}

/// Produces the first `limit` rows of `parquet` as JSON messages, then
/// creates the REALTIME table and times it until all are queryable.
pub fn ingest(
    kafka: &Kafka,
    client: &Client,
    parquet: &Path,
    limit: usize,
) -> Result<KafkaIngest, BenchError> {
    let started = Instant::now();
    let mut bytes = 0usize;
    let mut partition = 0;
    let messages = data::json_rows(parquet, limit, |line| {
        send(&kafka.producer, TABLE, line, partition)?;
        bytes += line.len();
        partition = (partition + 1) % PARTITIONS;
        Ok(())
    })?;
    kafka.flush()?;
    kafka.check_retained()?;
    let produce_seconds = started.elapsed().as_secs_f64();

    let (schema, table) = configs(&kafka.cluster.bootstrap_servers(), TABLE);
    client.post("/schemas", &schema)?;
    let started = Instant::now();
    client.post("/tables", &table)?;
    let count = format!("SELECT COUNT(*) FROM {TABLE}");
    client.wait_for(&count, messages as f64, Duration::from_secs(60))?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(KafkaIngest {
        messages,
        partitions: PARTITIONS,
        message_bytes: bytes as f64 / messages.max(1) as f64,
        produce_seconds,
        seconds,
        messages_per_second: messages as f64 / seconds,
    })
}

/// Freshness figures.
#[derive(Clone, Debug, Serialize)]
pub struct Freshness {
    /// Partitions of the new topic and table it is measured on.
    pub partitions: i32,
    /// The rate asked for, and the rate the producer kept.
    pub rate: u64,
    pub achieved_rate: f64,
    pub seconds: f64,
    pub produced: u64,
    /// Probes sent (every thousandth message); `lag.runs` of them were seen.
    pub probes: usize,
    /// Send → first answer that includes the probe.
    pub lag: Latency,
}

/// Every this many messages one is a probe, whose lag is measured.
const PROBE_EVERY: u64 = 1000;
/// The exchange that marks a probe.
const PROBE: &str = "PROBE";
/// How long to wait for the last probes once producing has stopped.
const DRAIN: Duration = Duration::from_secs(30);

/// The probes' send times, whether or not a panicking thread poisoned them.
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Milliseconds since the epoch, as `update_at` holds them.
fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

/// A trade of the stream's shape with id `id`, stamped now; a probe's
/// exchange is [`PROBE`].
fn live_message(id: u64, probe: bool, buffer: &mut Vec<u8>) {
    use std::io::Write;
    let mix = id.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let symbol = mix % 500;
    let shares = 1 + (mix >> 16) % 1000;
    let price = 10.0 + symbol as f64 + ((mix >> 32) % 500) as f64 / 100.0;
    buffer.clear();
    let _ = write!(
        buffer,
        r#"{{"id":{id},"user_id":{},"symbol":"S{symbol:04}","exchange":"{}","country":"C{:02}","side":"{}","shares":{shares},"price":{price:.2},"purchase":{:.2},"update_at":{}}}"#,
        1 + (mix >> 8) % 100_000,
        if probe { PROBE } else { "NYSE" },
        (mix >> 40) % 50,
        if mix & 1 == 0 { "BUY" } else { "SELL" },
        shares as f64 * price,
        now_millis()
    );
}

/// Creates a second REALTIME table on a topic of its own, then produces to
/// it at `rate` messages/s for `duration`. Every thousandth message is a
/// probe; all probes go to partition 0, in order, so the newest probe id
/// `SELECT MAX(id) ... WHERE exchange = 'PROBE'` answers means that probe
/// and every earlier one are visible. Polls every 2 ms on a kept-alive
/// connection, until every probe is seen (or [`DRAIN`] after the end).
pub fn freshness(
    kafka: &Kafka,
    client: &Client,
    rate: u64,
    duration: Duration,
) -> Result<Freshness, BenchError> {
    let (schema, table) = configs(&kafka.cluster.bootstrap_servers(), LIVE_TABLE);
    client.post("/schemas", &schema)?;
    client.post("/tables", &table)?;
    client.scalar(&format!("SELECT COUNT(*) FROM {LIVE_TABLE}"))?;
    // Its consumers connect before the first message is timed.
    std::thread::sleep(Duration::from_secs(1));
    let producer = &kafka.live_producer()?;
    let sent_at: Mutex<Vec<(u64, Instant)>> = Mutex::default();
    let done = AtomicBool::new(false);
    let (produced, production, lags) = std::thread::scope(|scope| {
        let producing = scope.spawn(|| {
            let result = produce(producer, &sent_at, rate, duration);
            done.store(true, Ordering::Release);
            result
        });
        let lags = poll_lags(client, &sent_at, &done);
        let produced = producing
            .join()
            .unwrap_or_else(|_| Err(BenchError::Kafka("the producer thread panicked".into())));
        (produced, duration, lags)
    });
    let produced = produced?;
    let lags = lags?;
    let _ = producer.flush(Duration::from_secs(30));
    let probes = locked(&sent_at).len();
    if lags.is_empty() {
        return Err(BenchError::Server(format!(
            "none of the {probes} probes produced at {rate}/s became visible in {LIVE_TABLE}"
        )));
    }
    Ok(Freshness {
        partitions: LIVE_PARTITIONS,
        rate,
        achieved_rate: produced as f64 / production.as_secs_f64(),
        seconds: duration.as_secs_f64(),
        produced,
        probes,
        lag: Latency::of(lags),
    })
}

/// Sends at `rate` for `duration`, in bursts of at most a millisecond's
/// worth; records each probe's send time.
fn produce(
    producer: &BaseProducer,
    sent_at: &Mutex<Vec<(u64, Instant)>>,
    rate: u64,
    duration: Duration,
) -> Result<u64, BenchError> {
    let started = Instant::now();
    let burst = (rate / 1000).max(1);
    let mut sent = 0u64;
    let mut buffer = Vec::with_capacity(256);
    while started.elapsed() < duration {
        let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
        let until = due.min(sent + burst);
        while sent < until {
            let probe = sent.is_multiple_of(PROBE_EVERY);
            live_message(sent, probe, &mut buffer);
            let partition = if probe {
                0
            } else {
                (sent % LIVE_PARTITIONS as u64) as i32
            };
            send(producer, LIVE_TABLE, &buffer, partition)?;
            if probe {
                locked(sent_at).push((sent, Instant::now()));
            }
            sent += 1;
        }
        producer.poll(Duration::ZERO);
        if sent >= due {
            std::thread::sleep(Duration::from_micros(500));
        }
    }
    Ok(sent)
}

fn poll_lags(
    client: &Client,
    sent_at: &Mutex<Vec<(u64, Instant)>>,
    done: &AtomicBool,
) -> Result<Vec<f64>, BenchError> {
    let sql = format!("SELECT MAX(id) FROM {LIVE_TABLE} WHERE exchange = '{PROBE}'");
    let mut lags = Vec::new();
    let mut next = 0usize;
    let mut drained_by: Option<Instant> = None;
    loop {
        let visible = client.scalar(&sql)?;
        let now = Instant::now();
        let sent = locked(sent_at);
        if let Some(visible) = visible {
            while next < sent.len() && sent[next].0 as f64 <= visible {
                lags.push(now.duration_since(sent[next].1).as_secs_f64() * 1000.0);
                next += 1;
            }
        }
        let all_seen = next == sent.len();
        drop(sent);
        if done.load(Ordering::Acquire) {
            let deadline = *drained_by.get_or_insert(now + DRAIN);
            if all_seen || now > deadline {
                return Ok(lags);
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_messages_fit_the_schema() {
        let mut buffer = Vec::new();
        live_message(123_456, true, &mut buffer);
        let message: Value = serde_json::from_slice(&buffer).unwrap();
        assert_eq!(message["id"], 123_456);
        assert_eq!(message["exchange"], PROBE);
        live_message(7, false, &mut buffer);
        let other: Value = serde_json::from_slice(&buffer).unwrap();
        assert_eq!(other["exchange"], "NYSE");
        let (schema, table) = configs("127.0.0.1:9092", "t");
        let names: Vec<&str> = [
            "dimensionFieldSpecs",
            "metricFieldSpecs",
            "dateTimeFieldSpecs",
        ]
        .iter()
        .flat_map(|key| schema[key].as_array().unwrap())
        .map(|field| field["name"].as_str().unwrap())
        .collect();
        let mut keys: Vec<&str> = message
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut names = names;
        names.sort_unstable();
        assert_eq!(keys, names);
        assert_eq!(table["tableName"], "t");
        assert_eq!(schema["schemaName"], "t");
        let price = message["price"].as_f64().unwrap();
        assert!((10.0..515.0).contains(&price));
    }
}
