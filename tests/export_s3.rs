//! The S3 sink end to end: a Parquet export into a local directory laid out
//! as Hive time partitions in New York time across a DST change, read back
//! with the parquet crate; a replay that publishes nothing twice; a crash
//! between objects, of one segment or with several waiting; JSON lines with
//! a field partitioner; and the same export against an S3 server (moto)
//! through the S3 API.

#[path = "export/mod.rs"]
mod export;
#[path = "kafka/mod.rs"]
mod kafka;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use chrono::TimeZone;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{json, Value};

use export::{
    create_connector, create_table, export_until_fault, ingest, rows, saved_segments, saved_state,
    wait_caught_up, BASE_MS,
};
use kafka::{call, InProcess, Process};

const WAIT: Duration = Duration::from_secs(60);

fn s3_config(store: &Path) -> Value {
    json!({
        "connector.class": "io.confluent.connect.s3.S3SinkConnector",
        "tables": "trades",
        "s3.bucket.name": "exports",
        "s3.region": "us-east-1",
        "store.url": format!("file://{}", store.display()),
        "flush.size": "50",
        "rotate.interval.ms": "600000",
        "format.class": "io.confluent.connect.s3.format.parquet.ParquetFormat",
        "partitioner.class": "io.confluent.connect.storage.partitioner.TimeBasedPartitioner",
        "path.format": "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH",
        "partition.duration.ms": "3600000",
        "locale": "pt_BR",
        "timezone": "America/New_York",
        "timestamp.extractor": "RecordField",
        "timestamp.field": "ts"
    })
}

fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn read_parquet(path: &Path) -> (RecordBatch, usize, bool) {
    let file = std::fs::File::open(path).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let metadata = builder.metadata().clone();
    let groups = metadata.num_row_groups();
    let stats = (0..groups).all(|g| {
        metadata
            .row_group(g)
            .columns()
            .iter()
            .all(|column| column.statistics().is_some())
    });
    let batches: Vec<RecordBatch> = builder.build().unwrap().map(Result::unwrap).collect();
    let schema = batches[0].schema();
    let batch = datafusion::arrow::compute::concat_batches(&schema, &batches).unwrap();
    (batch, groups, stats)
}

/// The local New York hour directory of a UTC instant.
fn hour_dir(ms: i64) -> String {
    let local = chrono_tz::America::New_York
        .timestamp_millis_opt(ms)
        .unwrap();
    local.format("year=%Y/month=%m/day=%d/hour=%H").to_string()
}

/// Every exported row's id, checking each file on the way: its directory
/// matches its rows' New York hour, it holds at most 50 rows spanning less
/// than ten minutes, its columns have the exported types, and each row's
/// values are the ones ingested (version 0).
fn check_export(root: &Path) -> BTreeMap<i32, usize> {
    let mut ids: BTreeMap<i32, usize> = BTreeMap::new();
    let table_root = root.join("exports/topics/trades");
    let found = files(&table_root);
    assert!(!found.is_empty(), "no files under {}", table_root.display());
    for path in found {
        let relative = path
            .strip_prefix(&table_root)
            .unwrap()
            .to_string_lossy()
            .to_string();
        assert!(relative.ends_with(".parquet"), "{relative}");
        let (batch, groups, stats) = read_parquet(&path);
        assert!(
            groups >= 1 && stats,
            "{relative}: row groups {groups}, statistics {stats}"
        );
        assert!(
            batch.num_rows() <= 50,
            "{relative}: {} rows",
            batch.num_rows()
        );
        let schema = batch.schema();
        assert_eq!(
            schema.field_with_name("traded").unwrap().data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert!(matches!(
            schema.field_with_name("tags").unwrap().data_type(),
            DataType::List(_)
        ));
        let id = batch
            .column_by_name("id")
            .unwrap()
            .as_primitive::<Int32Type>();
        let ts = batch
            .column_by_name("ts")
            .unwrap()
            .as_primitive::<Int64Type>();
        let traded = batch
            .column_by_name("traded")
            .unwrap()
            .as_primitive::<TimestampMicrosecondType>();
        let note = batch.column_by_name("note").unwrap().as_string::<i32>();
        let shares = batch
            .column_by_name("shares")
            .unwrap()
            .as_primitive::<Int32Type>();
        let price = batch
            .column_by_name("price")
            .unwrap()
            .as_primitive::<Float64Type>();
        let (first, last) = (ts.value(0), ts.value(batch.num_rows() - 1));
        assert!(
            last - first < 600_000,
            "{relative}: spans {} ms",
            last - first
        );
        for row in 0..batch.num_rows() {
            let dir = hour_dir(ts.value(row));
            assert!(
                relative.starts_with(&dir),
                "{relative} holds a row of {dir}"
            );
            assert_eq!(traded.value(row), (ts.value(row) + 123) * 1000);
            let expected = export::note(id.value(row) as i64);
            let got = (!note.is_null(row)).then(|| note.value(row).to_string());
            assert_eq!(got, expected, "note of id {}", id.value(row));
            let id_value = id.value(row) as i64;
            assert_eq!(
                shares.value(row) as i64,
                id_value % 100,
                "shares of {id_value}"
            );
            assert_eq!(
                price.value(row),
                export::price(id_value, 0),
                "price of {id_value}"
            );
            *ids.entry(id.value(row)).or_default() += 1;
        }
    }
    ids
}

fn assert_each_once(ids: &BTreeMap<i32, usize>, expected: std::ops::Range<i32>) {
    let keys: BTreeSet<i32> = ids.keys().copied().collect();
    assert_eq!(keys, expected.collect::<BTreeSet<i32>>());
    let doubled: Vec<_> = ids.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        doubled.is_empty(),
        "rows exported more than once: {doubled:?}"
    );
}

/// Parquet in Hive time partitions, local New York hours across the fall-
/// back change (01:00 local holds two UTC hours), each row once; recreating
/// the connector (its state gone) publishes nothing new; a new segment adds
/// its files.
#[test]
fn parquet_export_in_local_time_partitions_is_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("data/lake");
    let server = InProcess::start(&dir.path().join("data"));
    create_table(&server.url);
    ingest(&server.url, &rows(0..600, 0));
    create_connector(&server.url, "s3-sink", &s3_config(&store));
    let status = wait_caught_up(&server.url, "s3-sink", 600, WAIT);
    let ids = check_export(&store);
    assert_each_once(&ids, 0..600);
    // 05:00-06:59Z are both 01:00 in New York on 2026-11-01.
    let repeated = store.join("exports/topics/trades/year=2026/month=11/day=01/hour=01");
    let in_repeated: usize = files(&repeated)
        .iter()
        .map(|p| read_parquet(p).0.num_rows())
        .sum();
    assert_eq!(in_repeated, 120);
    let written = status["filesWritten"].as_u64().unwrap();
    assert_eq!(written as usize, files(&store).len());
    let (code, metrics) = call(&server.url, "GET", "/metrics", "");
    assert_eq!(code, 200);
    let metrics = metrics.as_str().unwrap().to_string();
    let labels = r#"{connector="s3-sink",type="s3"}"#;
    for (name, value) in [
        ("gamay_connector_rows_total", 600),
        ("gamay_connector_files_total", written),
        ("gamay_connector_lag_rows", 0),
        ("gamay_connector_failures_in_a_row", 0),
    ] {
        let line = format!("{name}{labels} {value}");
        assert!(
            metrics.lines().any(|l| l == line),
            "no `{line}` in\n{metrics}"
        );
    }
    let running = r#"gamay_connector_state{connector="s3-sink",type="s3",state="RUNNING"} 1"#;
    assert!(metrics.lines().any(|l| l == running), "{metrics}");

    let before = files(&store);
    let (code, body) = call(&server.url, "DELETE", "/connectors/s3-sink", "");
    assert_eq!(code, 204, "{body}");
    create_connector(&server.url, "s3-sink", &s3_config(&store));
    wait_caught_up(&server.url, "s3-sink", 600, WAIT);
    assert_eq!(files(&store), before, "a replay published new objects");

    ingest(&server.url, &rows(600..700, 0));
    wait_caught_up(&server.url, "s3-sink", 700, WAIT);
    assert_each_once(&check_export(&store), 0..700);
    assert_eq!(BASE_MS % 3_600_000, 0);
}

/// A crash after some objects of a segment are published: the restarted
/// job finds them in place (same names, same bytes), removes what the
/// crash left half-written and publishes the rest, so every row is there
/// once and every file is a whole object.
#[test]
fn a_crash_between_objects_leaves_each_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("data/lake");
    let data = dir.path().join("data");
    let config = s3_config(&store);
    export_until_fault(&data, "export.after_put@3", &[600], "s3-sink", &config);
    let published = objects(files(&store));
    let partial = published.len();
    assert!(partial >= 3, "{partial} objects before the crash");
    // A write the crash cut short, as the local store stages it.
    let mut cut_short = published[0].clone().into_os_string();
    cut_short.push("#77");
    std::fs::write(&cut_short, b"PAR1 half an object").unwrap();
    let server = Process::start(&data, None);
    let status = wait_caught_up(&server.url, "s3-sink", 600, WAIT);
    assert_each_once(&check_export(&store), 0..600);
    assert!(files(&store).len() > partial);
    assert_eq!(status["watermark"]["trades_OFFLINE"]["segmentsExported"], 1);
}

/// Whole objects: files the local store did not stage (`#` marks those).
fn objects(found: Vec<PathBuf>) -> Vec<PathBuf> {
    found
        .into_iter()
        .filter(|p| !p.to_string_lossy().contains('#'))
        .collect()
}

/// Four sealed segments wait when the connector starts, and the crash comes
/// at the 20th object: the first segment's 15 (one per ten minutes of its
/// 150 rows) are published and saved in the connector's state, the second
/// is part way, two more wait behind it. The restarted server publishes
/// every row once, with its values, and reports four segments, 600 rows
/// and as many files as the store holds.
#[test]
fn a_crash_with_segments_waiting_leaves_each_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("data/lake");
    let data = dir.path().join("data");
    let config = s3_config(&store);
    export_until_fault(&data, "export.after_put@20", &[150; 4], "s3-sink", &config);
    let published = objects(files(&store)).len();
    assert!((20..30).contains(&published), "{published} objects");
    let state = saved_state(&data, "s3-sink");
    assert_eq!(saved_segments(&state, "trades_OFFLINE"), 1, "{state}");
    assert_eq!(state["rowsWritten"], 150, "{state}");
    assert_eq!(state["filesWritten"], 15, "{state}");

    let server = Process::start(&data, None);
    let status = wait_caught_up(&server.url, "s3-sink", 600, WAIT);
    assert_each_once(&check_export(&store), 0..600);
    assert_eq!(status["watermark"]["trades_OFFLINE"]["segmentsExported"], 4);
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    let files_now = files(&store).len();
    assert_eq!(status["filesWritten"], files_now, "{status}");
    assert_eq!(
        objects(files(&store)).len(),
        files_now,
        "a staged file is left"
    );
    let state = saved_state(&data, "s3-sink");
    assert_eq!(saved_segments(&state, "trades_OFFLINE"), 4, "{state}");
    assert_eq!(state["rowsWritten"], 600, "{state}");
}

/// A `file://` store writes only inside the server's file store roots
/// (`<data-dir>/lake` by default): other directories, `..` and symlinks
/// leading out are refused with a 400 naming `store.url`.
#[test]
fn file_stores_outside_the_roots_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let outside = dir.path().join("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    let server = InProcess::start(&data);
    std::os::unix::fs::symlink(&outside, data.join("lake/link")).unwrap();
    for url in [
        format!("file://{}", outside.display()),
        "file:///etc".to_string(),
        format!("file://{}/lake/../..", data.display()),
        format!("file://{}/lake/link", data.display()),
    ] {
        let mut config = s3_config(&outside);
        config["store.url"] = json!(url);
        let body = json!({"name": "escape", "config": config});
        let (code, body) = call(&server.url, "POST", "/connectors", &body.to_string());
        assert_eq!(code, 400, "{url}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains("store.url"), "{url}: {message}");
    }
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    let inside = s3_config(&data.join("lake/exports"));
    create_connector(&server.url, "inside", &inside);
}

/// JSON lines under `symbol=<value>` directories (FieldPartitioner), the
/// values URI-encoded, one object per line.
#[test]
fn json_lines_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("data/lake");
    let server = InProcess::start(&dir.path().join("data"));
    create_table(&server.url);
    ingest(&server.url, &rows(0..200, 0));
    let config = json!({
        "connector.class": "s3",
        "topics.dir": "out",
        "tables": "trades_OFFLINE",
        "s3.bucket.name": "exports",
        "store.url": format!("file://{}", store.display()),
        "flush.size": "1000",
        "format.class": "io.confluent.connect.s3.format.json.JsonFormat",
        "partitioner.class": "io.confluent.connect.storage.partitioner.FieldPartitioner",
        "partition.field.name": "symbol"
    });
    create_connector(&server.url, "json", &config);
    wait_caught_up(&server.url, "json", 200, WAIT);
    let root = store.join("exports/out/trades");
    let mut seen = BTreeSet::new();
    for path in files(&root) {
        let relative = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .to_string();
        assert!(relative.ends_with(".json"), "{relative}");
        let symbol = relative
            .split('/')
            .next()
            .unwrap()
            .strip_prefix("symbol=")
            .unwrap()
            .to_string();
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let row: Value = serde_json::from_str(line).unwrap();
            assert_eq!(row["symbol"], symbol.as_str());
            let id = row["id"].as_i64().unwrap();
            assert_eq!(row["note"].as_str().map(str::to_string), export::note(id));
            assert!(seen.insert(id), "id {id} twice");
        }
    }
    assert_eq!(seen, (0..200).collect());
}

/// The same export through the S3 API (moto): objects land under the
/// bucket, each row once, and a replay publishes nothing new.
#[test]
fn parquet_export_to_an_s3_server() {
    let Some(endpoint) = export::service("GAMAY_TEST_S3") else {
        return;
    };
    let bucket = format!(
        "gamay-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    );
    let created = ureq::put(&format!("{endpoint}/{bucket}"))
        .set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0")
        .call();
    assert!(created.is_ok(), "cannot create bucket: {created:?}");
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(&dir.path().join("data"));
    create_table(&server.url);
    ingest(&server.url, &rows(0..600, 0));
    let mut config = s3_config(dir.path());
    config["s3.bucket.name"] = json!(bucket);
    config["store.url"] = json!(endpoint);
    config["aws.access.key.id"] = json!("test");
    config["aws.secret.access.key"] = json!("test");
    create_connector(&server.url, "s3", &config);
    let status = wait_caught_up(&server.url, "s3", 600, WAIT);
    let (code, shown) = call(&server.url, "GET", "/connectors/s3", "");
    assert_eq!(code, 200);
    assert_eq!(shown["config"]["aws.secret.access.key"], "[hidden]");
    // A config read back and sent again keeps the secrets it shows hidden.
    let (code, body) = call(
        &server.url,
        "PUT",
        "/connectors/s3/config",
        &shown["config"].to_string(),
    );
    assert_eq!(code, 200, "{body}");
    let stored =
        std::fs::read_to_string(dir.path().join("data/catalog/connectors/s3.json")).unwrap();
    assert!(
        stored.contains("\"aws.secret.access.key\": \"test\""),
        "{stored}"
    );
    assert!(!stored.contains("[hidden]"), "{stored}");

    // Read everything back through the S3 API into a local mirror.
    let mirror = dir.path().join("mirror");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let keys = runtime.block_on(async {
        use futures_util::TryStreamExt;
        use object_store::{ObjectStore, ObjectStoreExt};
        let s3 = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&bucket)
            .with_region("us-east-1")
            .with_endpoint(&endpoint)
            .with_allow_http(true)
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .build()
            .unwrap();
        let listed: Vec<_> = s3.list(None).try_collect().await.unwrap();
        for meta in &listed {
            let bytes = s3.get(&meta.location).await.unwrap().bytes().await.unwrap();
            let path = mirror.join("exports").join(meta.location.as_ref());
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
        listed.len()
    });
    assert_eq!(keys as u64, status["filesWritten"].as_u64().unwrap());
    assert_each_once(&check_export(&mirror), 0..600);
}

/// A REALTIME table fed from Kafka, exported by `topics`: every segment
/// is exported as it seals, under names carrying the Kafka partition and
/// the segment's start offset, each message once (the seed's connector
/// JSON, pointed at a local directory).
#[test]
fn realtime_segments_are_exported_as_they_seal() {
    let topic = "topico-processado";
    let cluster = kafka::cluster(topic, 2);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("data/lake");
    let server = InProcess::start(&dir.path().join("data"));
    let table = kafka::table(
        &cluster,
        topic,
        json!({"realtime.segment.flush.threshold.segment.rows": "250"}),
    );
    kafka::create(&server.url, &table);
    let config = json!({
        "connector.class": "io.confluent.connect.s3.S3SinkConnector",
        "topics": topic,
        "s3.bucket.name": "meu-bucket",
        "s3.region": "us-east-1",
        "store.url": format!("file://{}", store.display()),
        "flush.size": "10000",
        "rotate.interval.ms": "600000",
        "format.class": "io.confluent.connect.s3.format.parquet.ParquetFormat",
        "partitioner.class": "io.confluent.connect.storage.partitioner.TimeBasedPartitioner",
        "path.format": "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH",
        "partition.duration.ms": "3600000",
        "locale": "pt_BR",
        "timezone": "America/Sao_Paulo",
        "timestamp.extractor": "Record"
    });
    create_connector(&server.url, "s3-sink-connector", &config);
    let producer = kafka::producer(&cluster);
    let messages: Vec<String> = (0..1000).map(kafka::trade).collect();
    kafka::produce(&producer, topic, &messages, None);
    // 500 messages per partition seal into two segments of 250 each.
    wait_caught_up(&server.url, "s3-sink-connector", 1000, WAIT);
    let root = store.join("meu-bucket/topics/stock_transactions");
    let mut ids = BTreeMap::new();
    let mut names = BTreeSet::new();
    for path in files(&root) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        names.insert(name.split('+').take(3).collect::<Vec<_>>().join("+"));
        let (batch, _, _) = read_parquet(&path);
        let id = batch
            .column_by_name("id")
            .unwrap()
            .as_primitive::<Int32Type>();
        let at = batch
            .column_by_name("update_at")
            .unwrap()
            .as_primitive::<Int64Type>();
        for row in 0..batch.num_rows() {
            let local = chrono_tz::America::Sao_Paulo
                .timestamp_millis_opt(at.value(row))
                .unwrap()
                .format("year=%Y/month=%m/day=%d/hour=%H")
                .to_string();
            let relative = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .to_string();
            assert!(
                relative.starts_with(&local),
                "{relative} holds a row of {local}"
            );
            *ids.entry(id.value(row)).or_insert(0usize) += 1;
        }
    }
    assert_each_once(&ids, 0..1000);
    let expected: BTreeSet<String> = [
        "stock_transactions+0+0000000000",
        "stock_transactions+0+0000000250",
        "stock_transactions+1+0000000000",
        "stock_transactions+1+0000000250",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(names, expected);
}
