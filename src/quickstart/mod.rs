//! `gamay quickstart`: the whole pipeline on one machine with nothing
//! installed. An embedded Kafka-protocol cluster (librdkafka's mock cluster)
//! with a 4-partition topic, the `stock_transactions` schema and REALTIME
//! table from `schemas/` and `tables/` pointed at it, a generator producing
//! a steady stream of trades, and the server answering SQL.
//! `--kafka HOST:PORT` uses an existing cluster instead.

pub mod generator;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use serde_json::Value;

use crate::catalog::{self, Catalog, Schema, TableConfig};
use crate::config::ServerConfig;
use crate::error::{Error, Result};
use generator::TradeGenerator;

/// The scenario's schema and table, as shipped in `schemas/` and `tables/`.
pub const SCHEMA_JSON: &str = include_str!("../../schemas/stock_transactions.json");
pub const TABLE_JSON: &str = include_str!("../../tables/stock_transactions_realtime.json");

/// Partitions of the embedded cluster's topic.
pub const PARTITIONS: i32 = 4;

/// What `gamay quickstart` runs.
pub struct Options {
    pub listen: std::net::SocketAddr,
    /// Where the data lives; a fresh temporary directory when `None`.
    pub data_dir: Option<PathBuf>,
    /// An existing Kafka cluster; the embedded one when `None`.
    pub kafka: Option<String>,
    /// Messages per second the generator produces (0: none).
    pub rate: u64,
}

fn quickstart_error(message: String) -> Error {
    Error::Serve(std::io::Error::other(message))
}

/// Runs the quickstart until `shutdown` resolves.
pub async fn run(
    options: Options,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    // The embedded cluster lives as long as this function.
    let (embedded, brokers) = match &options.kafka {
        Some(brokers) => (None, brokers.clone()),
        None => {
            let cluster = MockCluster::new(1).map_err(|err| {
                quickstart_error(format!("cannot start the embedded Kafka cluster: {err}"))
            })?;
            let brokers = cluster.bootstrap_servers();
            (Some(cluster), brokers)
        }
    };
    let (schema, table) = configs(&brokers)?;
    let topic = table
        .pointer("/ingestionConfig/streamIngestionConfig/streamConfigMaps/0")
        .and_then(|stream| stream.get(catalog::stream::KEY_TOPIC))
        .and_then(Value::as_str)
        .unwrap_or("topico-processado")
        .to_string();
    if let Some(cluster) = &embedded {
        cluster
            .create_topic(&topic, PARTITIONS, 1)
            .map_err(|err| quickstart_error(format!("cannot create topic {topic}: {err}")))?;
    }

    let temporary = options.data_dir.is_none();
    let data_dir = options.data_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("gamay-quickstart-{}", std::process::id()))
    });
    install_configs(&data_dir, &schema, &table)?;

    let stop = Arc::new(AtomicBool::new(false));
    let produced = Arc::new(AtomicU64::new(0));
    let producer_thread = if options.rate > 0 {
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("compression.type", "lz4")
            .set("linger.ms", "5")
            .create()
            .map_err(|err| quickstart_error(format!("cannot create the trade producer: {err}")))?;
        let (stop, produced, topic, rate) =
            (stop.clone(), produced.clone(), topic.clone(), options.rate);
        Some(
            std::thread::Builder::new()
                .name("gamay-trades".into())
                .spawn(move || produce(producer, &topic, rate, &stop, &produced))
                .map_err(Error::Serve)?,
        )
    } else {
        None
    };

    let mut config = ServerConfig::new(&data_dir);
    config.listen = options.listen;
    let kafka_text = match &options.kafka {
        Some(brokers) => format!("Kafka at {brokers}"),
        None => format!("an embedded Kafka cluster at {brokers} ({PARTITIONS} partitions)"),
    };
    let rate = options.rate;
    let served = crate::api::serve(config, shutdown, move |addr| {
        print_banner(addr, &kafka_text, &topic, rate);
    })
    .await;

    stop.store(true, Ordering::Release);
    if let Some(thread) = producer_thread {
        let _ = thread.join();
    }
    println!(
        "quickstart stopped; {} trades were produced",
        produced.load(Ordering::Relaxed)
    );
    drop(embedded);
    if temporary {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    served
}

/// The shipped schema, and the table pointed at `brokers`.
fn configs(brokers: &str) -> Result<(Value, Value)> {
    let schema: Value = serde_json::from_str(SCHEMA_JSON)
        .map_err(|err| quickstart_error(format!("schemas/stock_transactions.json: {err}")))?;
    let mut table: Value = serde_json::from_str(TABLE_JSON).map_err(|err| {
        quickstart_error(format!("tables/stock_transactions_realtime.json: {err}"))
    })?;
    let streams = table
        .pointer_mut("/ingestionConfig/streamIngestionConfig/streamConfigMaps")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| quickstart_error("the quickstart table has no streamConfigMaps".into()))?;
    for stream in streams {
        stream[catalog::stream::KEY_BROKERS] = Value::String(brokers.to_string());
        // Segments seal every 100,000 rows per partition or every 10 minutes,
        // so a quickstart shows sealed and consuming segments soon.
        stream[catalog::stream::KEY_FLUSH_SEGMENT_ROWS] = Value::String("100000".into());
        stream[catalog::stream::KEY_FLUSH_TIME] = Value::String("10m".into());
    }
    Ok((schema, table))
}

/// Stores the schema and table in the catalog (replacing earlier ones).
fn install_configs(data_dir: &std::path::Path, schema: &Value, table: &Value) -> Result<()> {
    let _lock = crate::durable::lock_dir(data_dir)?;
    let catalog = Catalog::open(data_dir)?;
    let parsed_schema = catalog::parse_value::<Schema>(schema.clone(), "schema")?;
    catalog.add_schema(parsed_schema, true, true)?;
    let parsed_table = catalog::parse_value::<TableConfig>(table.clone(), "table config")?;
    let name = parsed_table.value.name_with_type();
    if catalog.table(&name).is_some() {
        catalog.update_table(&name, parsed_table)?;
    } else {
        catalog.add_table(parsed_table)?;
    }
    Ok(())
}

/// Produces `rate` trades per second until `stop`.
fn produce(
    producer: BaseProducer,
    topic: &str,
    rate: u64,
    stop: &AtomicBool,
    produced: &AtomicU64,
) {
    let mut generator = TradeGenerator::new(crate::segment::now_millis() as u64, 1);
    let started = Instant::now();
    let mut sent: u64 = 0;
    while !stop.load(Ordering::Acquire) {
        let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
        while sent < due {
            let now = crate::segment::now_millis();
            let message = generator.next(now);
            let key = (sent % 1024).to_string();
            match producer.send(BaseRecord::to(topic).payload(message).key(&key)) {
                Ok(()) => sent += 1,
                Err((err, _)) => {
                    tracing::debug!(error = %err, "producer queue full");
                    producer.poll(Duration::from_millis(10));
                    break;
                }
            }
        }
        produced.store(sent, Ordering::Relaxed);
        producer.poll(Duration::from_millis(10));
    }
    let _ = producer.flush(Duration::from_secs(5));
}

fn print_banner(addr: std::net::SocketAddr, kafka: &str, topic: &str, rate: u64) {
    let url = format!("http://{addr}");
    println!("gamay listening on {url}");
    println!();
    println!("Gamay quickstart: {rate} trades/s flow into topic `{topic}` on {kafka},");
    println!("consumed into the REALTIME table stock_transactions (schemas/, tables/).");
    println!("Rows are queryable the moment they arrive. Open the console at {url}/");
    println!("or try:");
    println!();
    for sql in [
        "SELECT COUNT(*) FROM stock_transactions",
        "SELECT symbol, SUM(shares) AS total_shares FROM stock_transactions GROUP BY symbol ORDER BY total_shares DESC LIMIT 10",
        "SELECT symbol, COUNT(*) AS trades, SUM(purchase) AS spent FROM stock_transactions WHERE user_id = 1 GROUP BY symbol ORDER BY spent DESC LIMIT 5",
    ] {
        println!("  curl -s -X POST {url}/query/sql -H 'Content-Type: application/json' -d '{{\"sql\": \"{sql}\"}}'");
    }
    println!();
    println!("  curl -s {url}/tables/stock_transactions/consumingSegmentsInfo");
    println!("  curl -s {url}/segments/stock_transactions");
    println!("  curl -s {url}/metrics");
    println!();
    println!("Ctrl-C stops everything.");
}
