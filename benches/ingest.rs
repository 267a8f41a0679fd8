//! Real-time ingestion throughput and freshness.
//!
//! 1. decode: JSON trade messages → rows (one core), as they are and through
//!    a transform and a filter.
//! 2. decode + append into a consuming segment (one core).
//! 3. end to end: messages already in Kafka (librdkafka's mock cluster,
//!    8 partitions) consumed into a REALTIME table, until all are queryable;
//!    then a group-by on the consuming segments, p50 and p99 over 200 runs,
//!    with and without the star-tree (`STAR_TREE=1` configures one on
//!    `symbol`).
//! 4. freshness: a producer at a fixed rate while a client polls
//!    `SELECT MAX(id)`; the time from a message's send to its id being
//!    visible, as percentiles.
//!
//! Run: `cargo bench --bench ingest` (MESSAGES, RATE, SECONDS,
//! QUERY_CLIENTS and STAR_TREE override the defaults). Figures go in BENCHMARKS.md.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gamay::catalog::{parse_value, Schema, TableConfig};
use gamay::ingest::decode::{Decoded, MessageDecoder};
use gamay::quickstart::generator::TradeGenerator;
use gamay::segment::{MutableSegment, SegmentSpec};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use serde_json::{json, Value};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn schema() -> Value {
    serde_json::from_str(include_str!("../schemas/stock_transactions.json")).unwrap()
}

/// The star-tree of `STAR_TREE=1` runs.
fn star_trees() -> Value {
    if env("STAR_TREE", 0) == 0 {
        return json!([]);
    }
    json!([{
        "dimensionsSplitOrder": ["symbol"],
        "functionColumnPairs": ["COUNT__*", "SUM__shares", "SUM__purchase"],
        "maxLeafRecords": 100
    }])
}

fn table(brokers: &str, topic: &str) -> Value {
    json!({
        "tableName": "stock_transactions",
        "tableType": "REALTIME",
        "segmentsConfig": {"timeColumnName": "update_at", "replication": "1"},
        "tableIndexConfig": {"invertedIndexColumns": ["symbol"], "starTreeIndexConfigs": star_trees()},
        "ingestionConfig": {"streamIngestionConfig": {"streamConfigMaps": [{
            "streamType": "kafka",
            "stream.kafka.topic.name": topic,
            "stream.kafka.broker.list": brokers,
            "stream.kafka.consumer.prop.auto.offset.reset": "smallest",
            "realtime.segment.flush.threshold.segment.rows": "500000"
        }]}}
    })
}

fn messages(count: usize) -> Vec<String> {
    let mut generator = TradeGenerator::new(42, 0);
    let now = 1_782_592_000_000;
    (0..count)
        .map(|i| generator.next(now + i as i64).to_string())
        .collect()
}

/// The benchmark's decoder; with `transforms`, `symbol` computed by a
/// transform and a filter that keeps every trade, as the query engine
/// plans and evaluates them.
fn decoder(transforms: bool) -> MessageDecoder {
    let schema: Schema = parse_value(schema(), "schema").unwrap().value;
    let mut table = table("localhost:9092", "t");
    if transforms {
        table["ingestionConfig"] = json!({
            "transformConfigs": [{"columnName": "symbol", "transformFunction": "UPPER(symbol)"}],
            "filterConfig": {"filterFunction": "shares < 0 AND symbol = 'NONE'"}
        });
    }
    let table: TableConfig = parse_value(table, "table").unwrap().value;
    let spec = Arc::new(SegmentSpec::new(&schema, &table));
    MessageDecoder::new(
        &schema,
        &table,
        spec,
        gamay::catalog::Decoder::Json,
        gamay::query::transform::compile,
    )
    .unwrap()
}

fn in_process() {
    let count = env("MESSAGES", 1_000_000) as usize;
    let payloads = messages(count);
    let bytes: usize = payloads.iter().map(String::len).sum();
    for (transforms, what) in [
        (false, "decode"),
        (true, "decode, a transform and a filter"),
    ] {
        let decoder = decoder(transforms);
        let started = Instant::now();
        let mut rows = 0usize;
        for payload in &payloads {
            if let Decoded::Row(row) = decoder.decode(Some(payload.as_bytes()), None) {
                rows += row.len();
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{what}: {count} messages ({:.0} bytes each) in {seconds:.2} s: {:.0} messages/s ({rows} cells)",
            bytes as f64 / count as f64,
            count as f64 / seconds
        );
    }
    let decoder = decoder(false);

    let segment = MutableSegment::new(decoder.spec().clone());
    let started = Instant::now();
    let mut batch = Vec::with_capacity(1024);
    for payload in &payloads {
        if let Decoded::Row(row) = decoder.decode(Some(payload.as_bytes()), None) {
            batch.push(row);
        }
        if batch.len() == 1024 {
            segment.append(&batch).unwrap();
            batch.clear();
        }
    }
    segment.append(&batch).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "decode + append: {} rows in {seconds:.2} s: {:.0} messages/s",
        segment.num_docs(),
        count as f64 / seconds
    );
}

fn producer(brokers: &str) -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("compression.type", "lz4")
        .set("linger.ms", "5")
        .set("batch.num.messages", "10000")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .unwrap()
}

fn send(producer: &BaseProducer, topic: &str, payload: &str, partition: i32) {
    loop {
        match producer.send(
            BaseRecord::<(), str>::to(topic)
                .payload(payload)
                .partition(partition),
        ) {
            Ok(()) => return,
            Err(_) => {
                producer.poll(Duration::from_millis(1));
            }
        }
    }
}

struct Server {
    url: String,
    _dir: tempfile::TempDir,
    _thread: std::thread::JoinHandle<()>,
}

fn start_server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut config = gamay::config::ServerConfig::new(dir.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime
            .block_on(gamay::api::serve(config, std::future::pending(), |addr| {
                sender.send(addr).unwrap()
            }))
            .unwrap();
    });
    Server {
        url: format!("http://{}", receiver.recv().unwrap()),
        _dir: dir,
        _thread: thread,
    }
}

fn post(url: &str, path: &str, body: &Value) -> Value {
    let response = ureq::post(&format!("{url}{path}"))
        .set("Content-Type", "application/json")
        .send_string(&body.to_string());
    match response {
        Ok(response) => serde_json::from_str(&response.into_string().unwrap()).unwrap(),
        Err(ureq::Error::Status(_, response)) => {
            serde_json::from_str(&response.into_string().unwrap()).unwrap()
        }
        Err(err) => panic!("{err}"),
    }
}

fn scalar(url: &str, sql: &str) -> i64 {
    let body = post(url, "/query/sql", &json!({ "sql": sql }));
    body["resultTable"]["rows"][0][0].as_f64().unwrap_or(0.0) as i64
}

fn end_to_end() {
    let count = env("MESSAGES", 1_000_000) as usize;
    let partitions = 8;
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("trades", partitions, 1).unwrap();
    let brokers = cluster.bootstrap_servers();
    let producer = producer(&brokers);
    let payloads = messages(count);
    for (i, payload) in payloads.iter().enumerate() {
        send(
            &producer,
            "trades",
            payload,
            (i % partitions as usize) as i32,
        );
    }
    producer.flush(Duration::from_secs(60)).unwrap();
    drop(payloads);

    let server = start_server();
    post(&server.url, "/schemas", &schema());
    // Dashboard clients querying throughout (QUERY_CLIENTS, default none).
    let clients = env("QUERY_CLIENTS", 0);
    let done = Arc::new(AtomicBool::new(false));
    let queries = Arc::new(AtomicI64::new(0));
    let client_threads: Vec<_> = (0..clients)
        .map(|client| {
            let (url, done, queries) = (server.url.clone(), done.clone(), queries.clone());
            std::thread::spawn(move || {
                let sql = [
                    "SELECT symbol, SUM(shares) AS s FROM stock_transactions WHERE user_id = 7 GROUP BY symbol ORDER BY s DESC LIMIT 10",
                    "SELECT COUNT(*), SUM(purchase) FROM stock_transactions WHERE symbol = 'S0003'",
                ][client as usize % 2];
                while !done.load(Ordering::Acquire) {
                    scalar(&url, sql);
                    queries.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let started = Instant::now();
    post(&server.url, "/tables", &table(&brokers, "trades"));
    loop {
        let visible = scalar(&server.url, "SELECT COUNT(*) FROM stock_transactions");
        if visible as usize >= count {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let seconds = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Release);
    for thread in client_threads {
        let _ = thread.join();
    }
    // Dashboard queries on the consuming segments, one at a time, now that
    // every row is in.
    std::thread::sleep(Duration::from_secs(2));
    for options in ["", "useStarTree=false"] {
        let sql = "SELECT symbol, COUNT(*), SUM(purchase) AS p FROM stock_transactions GROUP BY symbol ORDER BY p DESC LIMIT 10";
        let mut times: Vec<f64> = (0..200)
            .map(|_| {
                let started = Instant::now();
                post(
                    &server.url,
                    "/query/sql",
                    &json!({ "sql": sql, "queryOptions": options }),
                );
                started.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "group by symbol over {count} consuming rows ({}): p50 {:.2} ms, p99 {:.2} ms",
            if options.is_empty() {
                "default options"
            } else {
                options
            },
            times[times.len() / 2],
            times[times.len() * 99 / 100]
        );
    }
    println!(
        "end to end: {count} messages from {partitions} partitions queryable in {seconds:.2} s: {:.0} messages/s on {} cores; {clients} query clients ran {:.0} queries/s",
        count as f64 / seconds,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        queries.load(Ordering::Relaxed) as f64 / seconds
    );
}

fn freshness() {
    let rate = env("RATE", 100_000);
    let seconds = env("SECONDS", 10);
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("live", 4, 1).unwrap();
    let brokers = cluster.bootstrap_servers();
    let server = start_server();
    post(&server.url, "/schemas", &schema());
    post(&server.url, "/tables", &table(&brokers, "live"));
    std::thread::sleep(Duration::from_secs(2));

    // The producer records when each thousandth id was handed to Kafka.
    let sent_at: Arc<Mutex<Vec<(i64, Instant)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let last_id = Arc::new(AtomicI64::new(-1));
    let producing = {
        let (sent_at, stop, last_id, brokers) = (
            sent_at.clone(),
            stop.clone(),
            last_id.clone(),
            brokers.clone(),
        );
        std::thread::spawn(move || {
            let producer = producer(&brokers);
            let mut generator = TradeGenerator::new(7, 0);
            let started = Instant::now();
            let mut sent: u64 = 0;
            while !stop.load(Ordering::Acquire) {
                let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
                while sent < due {
                    let id = generator.next_id();
                    let payload = generator.next(gamay::segment::now_millis()).to_string();
                    send(&producer, "live", &payload, (sent % 4) as i32);
                    if id % 1000 == 0 {
                        sent_at.lock().unwrap().push((id, Instant::now()));
                    }
                    last_id.store(id, Ordering::Release);
                    sent += 1;
                }
                producer.poll(Duration::ZERO);
                std::thread::sleep(Duration::from_micros(500));
            }
            producer.flush(Duration::from_secs(10)).unwrap();
            sent
        })
    };
    let mut lags = Vec::new();
    let mut next = 0usize;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        let visible = scalar(&server.url, "SELECT MAX(id) FROM stock_transactions");
        let now = Instant::now();
        let sent = sent_at.lock().unwrap();
        while next < sent.len() && sent[next].0 <= visible {
            lags.push(now.duration_since(sent[next].1).as_secs_f64() * 1000.0);
            next += 1;
        }
        drop(sent);
        std::thread::sleep(Duration::from_millis(2));
    }
    stop.store(true, Ordering::Release);
    let produced = producing.join().unwrap();
    lags.sort_by(f64::total_cmp);
    let pct = |p: f64| lags[((lags.len() as f64 * p) as usize).min(lags.len() - 1)];
    println!(
        "freshness at {rate} messages/s for {seconds} s ({produced} produced, {} samples): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lags.len(),
        pct(0.5),
        pct(0.99),
        lags.last().copied().unwrap_or(0.0)
    );
}

fn main() {
    let only = std::env::args().nth(1).filter(|arg| !arg.starts_with('-'));
    let run = |name: &str| only.as_deref().is_none_or(|only| name.contains(only));
    if run("decode") {
        in_process();
    }
    if run("end_to_end") {
        end_to_end();
    }
    if run("freshness") {
        freshness();
    }
}
