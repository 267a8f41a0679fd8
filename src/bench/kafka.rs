//! Real-time ingestion through Kafka: the data set's rows as JSON messages
//! in librdkafka's mock cluster (running in the benchmark process), consumed
//! by a REALTIME table until all are queryable; then freshness, the time
//! from a message's send to its row answering a query, at a fixed rate.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

    /// A producer that sends within 5 ms (lz4), so freshness
    /// measures Gamay rather than the producer's batching.
    fn live_producer(&self) -> Result<BaseProducer, BenchError> {
        producer(&self.cluster.bootstrap_servers(), "lz4", "5")
    }

    fn send(&self, payload: &[u8], partition: i32) {
        send(&self.producer, TABLE, payload, partition)
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

fn kafka_error(err: rdkafka::error::KafkaError) -> BenchError {
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

/// Hands one message to the producer, waiting while its queue is full.
fn send(producer: &BaseProducer, topic: &str, payload: &[u8], partition: i32) {
    loop {
        let record = BaseRecord::<(), [u8]>::to(topic)
            .payload(payload)
            .partition(partition);
        match producer.send(record) {
            Ok(()) => return,
            Err(_) => {
                producer.poll(Duration::from_millis(1));
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
        kafka.send(line, partition);
        bytes += line.len();
        partition = (partition + 1) % PARTITIONS;
    })?;
    kafka.flush()?;
    kafka.check_retained()?;
    let produce_seconds = started.elapsed().as_secs_f64();

    let (schema, table) = configs(&kafka.cluster.bootstrap_servers(), TABLE);
    client.post("/schemas", &schema)?;
    let started = Instant::now();
    client.post("/tables", &table)?;
    let count = format!("SELECT COUNT(*) FROM {TABLE}");
    client.wait_for(&count, messages as f64, Duration::from_secs(1800))?;
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
    pub rate: u64,
    pub seconds: f64,
    pub produced: u64,
    /// Send → visible to `SELECT MAX(id)`, for every thousandth message.
    pub lag: Latency,
}

/// A trade of the stream's shape with id `id`, stamped now.
fn live_message(id: u64, buffer: &mut Vec<u8>) {
    use std::io::Write;
    let mix = id.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let symbol = mix % 500;
    let shares = 1 + (mix >> 16) % 1000;
    let price = 10.0 + symbol as f64 + ((mix >> 32) % 500) as f64 / 100.0;
    buffer.clear();
    let _ = write!(
        buffer,
        r#"{{"id":{id},"user_id":{},"symbol":"S{symbol:04}","exchange":"NYSE","country":"C{:02}","side":"{}","shares":{shares},"price":{price:.2},"purchase":{:.2},"update_at":{}}}"#,
        1 + (mix >> 8) % 100_000,
        (mix >> 40) % 50,
        if mix & 1 == 0 { "BUY" } else { "SELL" },
        shares as f64 * price,
        crate::segment::now_millis()
    );
}

/// Creates a second REALTIME table on a topic of its own, then produces to
/// it at `rate` messages/s for `duration` (ids from `first_id`) while
/// polling `SELECT MAX(id)` on a kept-alive connection.
pub fn freshness(
    kafka: &Kafka,
    client: &Client,
    first_id: u64,
    rate: u64,
    duration: Duration,
) -> Result<Freshness, BenchError> {
    let sent_at: Mutex<Vec<(u64, Instant)>> = Mutex::default();
    let stop = AtomicBool::new(false);
    let (schema, table) = configs(&kafka.cluster.bootstrap_servers(), LIVE_TABLE);
    client.post("/schemas", &schema)?;
    client.post("/tables", &table)?;
    client.scalar(&format!("SELECT COUNT(*) FROM {LIVE_TABLE}"))?;
    // Its consumers connect before the first message is timed.
    std::thread::sleep(Duration::from_secs(1));
    let producer = &kafka.live_producer()?;
    let started = Instant::now();
    let (produced, lags) = std::thread::scope(|scope| {
        let producing = scope.spawn(|| {
            let mut sent = 0u64;
            let mut buffer = Vec::with_capacity(256);
            while !stop.load(Ordering::Acquire) {
                let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
                while sent < due {
                    let id = first_id + sent;
                    live_message(id, &mut buffer);
                    let partition = (sent % LIVE_PARTITIONS as u64) as i32;
                    send(producer, LIVE_TABLE, &buffer, partition);
                    if id.is_multiple_of(1000) {
                        sent_at
                            .lock()
                            .unwrap_or_else(|poisoned| poisoned.into_inner())
                            .push((id, Instant::now()));
                    }
                    sent += 1;
                }
                producer.poll(Duration::ZERO);
                std::thread::sleep(Duration::from_micros(500));
            }
            sent
        });
        let polled = poll_lags(client, &sent_at, duration);
        stop.store(true, Ordering::Release);
        let produced = producing.join().unwrap_or(0);
        (produced, polled)
    });
    let _ = producer.flush(Duration::from_secs(30));
    let lags = lags?;
    if lags.is_empty() {
        return Err(BenchError::Server(format!(
            "no message produced at {rate}/s became visible within {} s",
            duration.as_secs_f64()
        )));
    }
    Ok(Freshness {
        partitions: LIVE_PARTITIONS,
        rate,
        seconds: duration.as_secs_f64(),
        produced,
        lag: Latency::of(lags),
    })
}

fn poll_lags(
    client: &Client,
    sent_at: &Mutex<Vec<(u64, Instant)>>,
    duration: Duration,
) -> Result<Vec<f64>, BenchError> {
    let sql = format!("SELECT MAX(id) FROM {LIVE_TABLE}");
    let mut lags = Vec::new();
    let mut next = 0usize;
    let deadline = Instant::now() + duration;
    while Instant::now() < deadline {
        let visible = client.scalar(&sql)?;
        let now = Instant::now();
        let sent = sent_at
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        while next < sent.len() && sent[next].0 as f64 <= visible {
            lags.push(now.duration_since(sent[next].1).as_secs_f64() * 1000.0);
            next += 1;
        }
        drop(sent);
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(lags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_messages_fit_the_schema() {
        let mut buffer = Vec::new();
        live_message(123_456, &mut buffer);
        let message: Value = serde_json::from_slice(&buffer).unwrap();
        assert_eq!(message["id"], 123_456);
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
