//! Export throughput: one sealed segment exported by the S3 sink's encoder
//! and, when the services are up, by the JDBC sink into PostgreSQL and
//! MariaDB. The segment holds the peer kit's data when INPUT names its
//! Parquet file (`stock1m.parquet`: 10 columns, the table of
//! `benches/data/`), else ROWS (default 1M) generated trades (6 columns).
//!
//! 1. Parquet (snappy) and JSON lines, one file per partition directory,
//!    on one thread: rows/s per core, with the default partitioner and with
//!    an hourly time partitioner.
//! 2. PostgreSQL (`GAMAY_TEST_POSTGRES`): the segment upserted into an empty
//!    table, then upserted again over the same keys (every row an update),
//!    each in one transaction with its watermark row.
//! 3. MariaDB (`GAMAY_TEST_MYSQL`): the same.
//!
//! Run: `eval "$(tests/services.sh)" && cargo bench --bench export`.
//! Figures go in BENCHMARKS.md.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use gamay::catalog::{parse_value, Schema, TableConfig};
use gamay::export::config::{parse, Sink};
use gamay::export::jdbc::export::{ensure_table, prepare, Outcome, Target, WriteJob};
use gamay::export::jdbc::mysql::MySql;
use gamay::export::jdbc::postgres::Postgres;
use gamay::export::jdbc::JdbcConfig;
use gamay::export::s3::export::encode_segment;
use gamay::ingest::files::FileFormat;
use gamay::quickstart::generator::TradeGenerator;
use gamay::segment::{ImmutableSegment, SegmentSpec};
use gamay::server::{ingest_file, IngestOptions, TableData};

fn rows() -> usize {
    std::env::var("ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn config(pairs: &[(&str, String)]) -> Sink {
    let raw: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    parse("bench", raw).unwrap_or_else(|p| panic!("{p:?}")).sink
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let peer_data = std::env::var("INPUT").ok();
    let (schema_json, table_json) = match peer_data {
        Some(_) => (
            include_str!("data/stock_transactions.schema.json"),
            include_str!("data/stock_transactions.offline.json"),
        ),
        None => (
            include_str!("../schemas/stock_transactions.json"),
            r#"{"tableName": "stock_transactions", "tableType": "OFFLINE",
                "segmentsConfig": {"timeColumnName": "update_at"}, "tableIndexConfig": {}}"#,
        ),
    };
    let schema: Schema = parse_value(serde_json::from_str(schema_json).unwrap(), "schema")
        .unwrap()
        .value;
    let table: TableConfig = parse_value(serde_json::from_str(table_json).unwrap(), "table")
        .unwrap()
        .value;
    let (input, format) = match peer_data {
        Some(path) => (std::path::PathBuf::from(path), FileFormat::Parquet),
        None => {
            let rows = rows();
            let input = dir.path().join("trades.jsonl");
            let mut generator = TradeGenerator::new(7, 0);
            let mut text = String::with_capacity(rows * 120);
            let start_ms = 1_793_502_000_000i64;
            for row in 0..rows {
                text.push_str(generator.next(start_ms + row as i64 * 50));
                text.push('\n');
            }
            std::fs::write(&input, text).unwrap();
            (input, FileFormat::Json)
        }
    };
    let data = TableData::open(&dir.path().join("table"), "stock_transactions_OFFLINE").unwrap();
    let mut options = IngestOptions::new("input", format);
    options.segment_rows = usize::MAX;
    let spec = Arc::new(SegmentSpec::new(&schema, &table));
    ingest_file(&data, spec, &input, &options, &|_| {}).unwrap();
    let segment: Arc<ImmutableSegment> = data.segments()[0].clone();
    let rows = segment.num_docs();
    println!("segment: {rows} rows, {} columns", schema.columns().count());

    let base = |format: &str| {
        vec![
            ("connector.class", "s3".to_string()),
            ("tables", "stock_transactions".to_string()),
            ("s3.bucket.name", "bench".to_string()),
            ("flush.size", rows.to_string()),
            ("format.class", format.to_string()),
        ]
    };
    let hourly = |format: &str| {
        let mut pairs = base(format);
        pairs.push(("partitioner.class", "HourlyPartitioner".to_string()));
        pairs.push(("timezone", "America/Sao_Paulo".to_string()));
        pairs.push(("timestamp.extractor", "Record".to_string()));
        pairs
    };
    for (label, pairs) in [
        ("parquet, one directory", base("parquet")),
        ("parquet, hourly in America/Sao_Paulo", hourly("parquet")),
        ("json lines, one directory", base("json")),
    ] {
        let Sink::S3(s3) = config(&pairs) else {
            unreachable!()
        };
        let started = Instant::now();
        let files = encode_segment(
            &s3,
            "stock_transactions",
            &schema,
            Some("update_at"),
            &segment,
        )
        .unwrap();
        let seconds = started.elapsed().as_secs_f64();
        let bytes: usize = files.iter().map(|(_, bytes, _)| bytes.len()).sum();
        println!(
            "s3 {label}: {} files, {:.1} MB, {:.2} s, {:.0} rows/s on one thread",
            files.len(),
            bytes as f64 / 1e6,
            seconds,
            rows as f64 / seconds
        );
    }

    let runtime = tokio::runtime::Runtime::new().unwrap();
    for (label, var, scheme) in [
        ("postgres", "GAMAY_TEST_POSTGRES", "jdbc:postgresql"),
        ("mariadb", "GAMAY_TEST_MYSQL", "jdbc:mariadb"),
    ] {
        let Ok(url) = std::env::var(var) else {
            println!("{label}: skipped ({var} is not set)");
            continue;
        };
        let address = url.split_once('@').map_or(url.as_str(), |(_, rest)| rest);
        let target = format!("bench_{}_{}", std::process::id(), label);
        let Sink::Jdbc(jdbc) = config(&[
            ("connector.class", "jdbc".to_string()),
            ("tables", "stock_transactions".to_string()),
            ("connection.url", format!("{scheme}://{address}")),
            ("connection.user", "gamay".to_string()),
            ("connection.password", "gamay".to_string()),
            ("table.name.format", target.clone()),
            ("insert.mode", "upsert".to_string()),
            ("pk.mode", "record_value".to_string()),
            ("pk.fields", "id".to_string()),
            ("auto.create", "true".to_string()),
        ]) else {
            unreachable!()
        };
        runtime.block_on(jdbc_bench(label, &jdbc, &schema, &table, &segment, &target));
    }
}

async fn jdbc_bench(
    label: &str,
    config: &JdbcConfig,
    schema: &Schema,
    table: &TableConfig,
    segment: &ImmutableSegment,
    target_table: &str,
) {
    let mut target: Box<dyn Target> = match label {
        "postgres" => Box::new(Postgres::connect(config).await.unwrap()),
        _ => Box::new(MySql::connect(config).await.unwrap()),
    };
    target.exported("bench").await.unwrap();
    let started = Instant::now();
    let prepared = prepare(config, "stock_transactions", schema, table, segment, None).unwrap();
    let read = started.elapsed().as_secs_f64();
    ensure_table(target.as_mut(), config, &prepared)
        .await
        .unwrap();
    let columns: Vec<&str> = prepared.columns.iter().map(|c| c.name.as_str()).collect();
    let key: Vec<&str> = prepared.key.iter().map(String::as_str).collect();
    for pass in ["into an empty table", "over the same keys"] {
        let segment_name = format!("{}-{pass}", segment.name());
        let job = WriteJob {
            connector: "bench",
            source_table: "stock_transactions_OFFLINE",
            segment: &segment_name,
            table: target_table,
            columns: &columns,
            key: &key,
            mode: config.insert_mode,
            values: &prepared.values,
            rows: &prepared.rows,
            deletes: &prepared.deletes,
            batch_size: config.batch_size,
        };
        let started = Instant::now();
        let outcome = target.write(&job).await.unwrap();
        let seconds = started.elapsed().as_secs_f64();
        assert!(matches!(outcome, Outcome::Written { .. }));
        println!(
            "{label} upsert {pass}: {} rows in {:.2} s, {:.0} rows/s (reading the segment took {:.2} s more)",
            prepared.rows.len(),
            seconds,
            prepared.rows.len() as f64 / seconds,
            read
        );
    }
    let drop = format!("DROP TABLE {target_table}");
    target.execute(&drop).await.unwrap();
}
