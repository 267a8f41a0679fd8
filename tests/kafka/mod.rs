//! Shared helpers for the real-time ingestion tests: librdkafka's mock
//! cluster (the real Kafka wire protocol), a producer of trade messages, and
//! a Gamay server run in this process or as a child process.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gamay::config::ServerConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, DefaultProducerContext, Producer};
use rdkafka::ClientConfig;
use serde_json::{json, Value};

pub type Mock = MockCluster<'static, DefaultProducerContext>;

/// A mock cluster with `topic` of `partitions` partitions.
pub fn cluster(topic: &str, partitions: i32) -> Mock {
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic(topic, partitions, 1).expect("topic");
    cluster
}

pub fn producer(cluster: &Mock) -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("compression.type", "lz4")
        .set("linger.ms", "5")
        .create()
        .expect("producer")
}

/// A trade message; `id` is unique per message.
pub fn trade(id: i64) -> String {
    let symbols = ["AAPL", "MSFT", "GOOG", "AMZN", "NVDA"];
    json!({
        "id": id,
        "user_id": id % 97,
        "symbol": symbols[(id % 5) as usize],
        "shares": (id % 13) + 1,
        "purchase": ((id % 1000) as f64) / 4.0,
        "update_at": 1_782_592_000_000i64 + id * 1000,
    })
    .to_string()
}

/// Sends `payloads` to `partition` (round robin over `partitions` when
/// `None`), waiting until every one is acknowledged.
pub fn produce(producer: &BaseProducer, topic: &str, payloads: &[String], partition: Option<i32>) {
    for (i, payload) in payloads.iter().enumerate() {
        loop {
            let mut record = BaseRecord::<(), str>::to(topic).payload(payload.as_str());
            if let Some(partition) = partition {
                record = record.partition(partition);
            } else {
                record = record.partition((i % 2) as i32);
            }
            match producer.send(record) {
                Ok(()) => break,
                Err((_, _)) => {
                    producer.poll(Duration::from_millis(10));
                }
            }
        }
        if i % 1000 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

/// Sends `(key, payload)` messages to `partition`, in order (a `None`
/// payload is a tombstone), waiting until every one is acknowledged.
pub fn produce_keyed(
    producer: &BaseProducer,
    topic: &str,
    messages: &[(String, Option<String>)],
    partition: i32,
) {
    for (key, payload) in messages {
        loop {
            let mut record = BaseRecord::<str, str>::to(topic)
                .key(key.as_str())
                .partition(partition);
            if let Some(payload) = payload {
                record = record.payload(payload.as_str());
            }
            match producer.send(record) {
                Ok(()) => break,
                Err((_, _)) => {
                    producer.poll(Duration::from_millis(10));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

/// The stock_transactions schema (as in `schemas/`).
pub fn schema() -> Value {
    serde_json::from_str(include_str!("../../schemas/stock_transactions.json")).unwrap()
}

/// A REALTIME table on `topic` of `cluster` with extra stream settings.
pub fn table(cluster: &Mock, topic: &str, extra: Value) -> Value {
    let mut stream = json!({
        "streamType": "kafka",
        "stream.kafka.topic.name": topic,
        "stream.kafka.broker.list": cluster.bootstrap_servers(),
        "stream.kafka.consumer.type": "lowlevel",
        "stream.kafka.decoder.class.name": "org.apache.pinot.plugin.stream.kafka.KafkaJSONMessageDecoder",
        "stream.kafka.consumer.prop.auto.offset.reset": "smallest",
    });
    stream
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({
        "tableName": "stock_transactions",
        "tableType": "REALTIME",
        "segmentsConfig": {"timeColumnName": "update_at", "replication": "1"},
        "tableIndexConfig": {"invertedIndexColumns": ["symbol"]},
        "ingestionConfig": {"streamIngestionConfig": {"streamConfigMaps": [stream]}}
    })
}

/// A Gamay server in this process; dropping it shuts it down cleanly.
pub struct InProcess {
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InProcess {
    pub fn start(data_dir: &Path) -> InProcess {
        InProcess::start_with(ServerConfig::new(data_dir))
    }

    /// [`InProcess::start`] with `config`, on a free loopback port.
    pub fn start_with(mut config: ServerConfig) -> InProcess {
        config.listen = "127.0.0.1:0".parse().unwrap();
        let (sender, receiver) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime
                .block_on(gamay::api::serve(
                    config,
                    async move {
                        let _ = stopped.await;
                    },
                    |addr| sender.send(addr).unwrap(),
                ))
                .unwrap();
        });
        let url = format!("http://{}", receiver.recv().unwrap());
        InProcess {
            url,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `gamay serve` as a child process, optionally with a fault point armed.
pub struct Process {
    child: Child,
    pub url: String,
}

impl Process {
    pub fn start(data_dir: &Path, fault: Option<&str>) -> Process {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gamay"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        match fault {
            Some(fault) => command.env("GAMAY_FAULT", fault),
            None => command.env_remove("GAMAY_FAULT"),
        };
        let mut child = command.spawn().expect("spawn gamay");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("gamay listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        Process { child, url }
    }

    /// Waits for the process to end by itself (a fault point aborted it).
    pub fn wait_for_exit(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn call(url: &str, method: &str, path: &str, body: &str) -> (u16, Value) {
    let request = ureq::request(method, &format!("{url}{path}"))
        .timeout(Duration::from_secs(20))
        .set("Content-Type", "application/json");
    let response = if body.is_empty() {
        request.call()
    } else {
        request.send_string(body)
    };
    let response = match response {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(err) => panic!("{method} {path}: {err}"),
    };
    let status = response.status();
    let text = response.into_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Creates the schema and `table`.
pub fn create(url: &str, table: &Value) {
    let (status, body) = call(url, "POST", "/schemas", &schema().to_string());
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(url, "POST", "/tables", &table.to_string());
    assert_eq!(status, 200, "{body}");
}

/// Runs `sql`, returning the first row.
pub fn row(url: &str, sql: &str) -> Vec<Value> {
    let (status, body) = call(
        url,
        "POST",
        "/query/sql",
        &json!({ "sql": sql }).to_string(),
    );
    assert_eq!(status, 200, "{sql}: {body}");
    body["resultTable"]["rows"][0]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// COUNT(*), SUM(id), COUNT(DISTINCT id) of the table.
pub fn totals(url: &str) -> (i64, i64, i64) {
    let row = row(
        url,
        "SELECT COUNT(*), SUM(id), COUNT(DISTINCT id) FROM stock_transactions",
    );
    if row.is_empty() {
        return (0, 0, 0);
    }
    (
        row[0].as_i64().unwrap(),
        row[1].as_f64().unwrap() as i64,
        row[2].as_i64().unwrap(),
    )
}

/// What the table must hold after ingesting ids `ids`.
pub fn expected(ids: impl Iterator<Item = i64>) -> (i64, i64, i64) {
    let ids: Vec<i64> = ids.collect();
    (ids.len() as i64, ids.iter().sum(), ids.len() as i64)
}

/// Polls `check` until it returns true or `within` passes.
pub fn wait_until(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    check()
}

/// Sealed segments of the table, by name, with their metadata.
pub fn sealed_segments(url: &str) -> Vec<Value> {
    let (status, body) = call(url, "GET", "/segments/stock_transactions", "");
    assert_eq!(status, 200, "{body}");
    let mut out = Vec::new();
    for entry in body.as_array().unwrap() {
        if let Some(names) = entry.get("REALTIME").and_then(Value::as_array) {
            for name in names {
                let name = name.as_str().unwrap();
                let (_, meta) = call(
                    url,
                    "GET",
                    &format!("/segments/stock_transactions_REALTIME/{name}/metadata"),
                    "",
                );
                out.push(meta);
            }
        }
    }
    out
}
