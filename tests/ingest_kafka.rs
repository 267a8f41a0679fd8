//! Real-time ingestion against librdkafka's mock cluster: consumption into
//! queryable segments, sealing by rows, time and size, bad messages,
//! offset reset and lost offsets, pause / resume / force commit, restarts.

mod kafka;

use std::time::Duration;

use kafka::*;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(60);

#[test]
fn consumes_seals_by_rows_and_skips_bad_messages() {
    let cluster = cluster("trades", 2);
    let producer = producer(&cluster);
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(dir.path());
    create(
        &server.url,
        &table(
            &cluster,
            "trades",
            json!({"realtime.segment.flush.threshold.segment.rows": "700"}),
        ),
    );
    let mut payloads: Vec<String> = (0..3000).map(trade).collect();
    payloads[10] = "{not json".into();
    payloads[11] = "[1, 2, 3]".into();
    payloads[12] = json!({"id": "twelve", "symbol": "X"}).to_string();
    produce(&producer, "trades", &payloads, None);
    let good = expected((0..3000).filter(|id| !(10..=12).contains(id)));
    assert!(
        wait_until(WAIT, || totals(&server.url) == good),
        "{:?} != {good:?}",
        totals(&server.url)
    );

    // Rows of each partition: 1499 or 1500 → two sealed segments each (700
    // rows), the rest consuming.
    let sealed = sealed_segments(&server.url);
    assert!(
        wait_until(WAIT, || sealed_segments(&server.url).len() == 4),
        "{sealed:?}"
    );
    for meta in sealed_segments(&server.url) {
        assert_eq!(meta["totalDocs"], 700, "{meta}");
        let stream = &meta["stream"];
        let rows = stream["endOffset"].as_i64().unwrap() - stream["startOffset"].as_i64().unwrap();
        assert!(rows >= 700, "{meta}");
        assert!(meta["segmentName"]
            .as_str()
            .unwrap()
            .starts_with("stock_transactions__"));
    }

    let (_, response) = call(
        &server.url,
        "POST",
        "/query/sql",
        &json!({"sql": "SELECT COUNT(*) FROM stock_transactions"}).to_string(),
    );
    assert_eq!(response["numConsumingSegmentsQueried"], 2, "{response}");
    assert!(response["minConsumingFreshnessTimeMs"].as_i64().unwrap() > 0);

    let (status, info) = call(
        &server.url,
        "GET",
        "/tables/stock_transactions/consumingSegmentsInfo",
        "",
    );
    assert_eq!(status, 200, "{info}");
    let segments = info["_segmentToConsumingInfoMap"].as_object().unwrap();
    assert_eq!(segments.len(), 2, "{info}");
    for (name, entries) in segments {
        let entry = &entries[0];
        assert_eq!(entry["consumerState"], "CONSUMING", "{info}");
        assert!(
            name.contains("__2__"),
            "third segment of each partition: {name}"
        );
        let offsets = &entry["partitionOffsetInfo"];
        let partition = entry["partitionToOffsetMap"]
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .clone();
        assert_eq!(offsets["currentOffsetsMap"][&partition], "1500", "{info}");
    }

    let (_, status) = call(
        &server.url,
        "GET",
        "/tables/stock_transactions/ingestionStatus",
        "",
    );
    assert_eq!(status["badMessages"], 3, "{status}");
    let reasons = &status["badMessagesByReason"];
    assert_eq!(reasons["INVALID_JSON"], 1, "{status}");
    assert_eq!(reasons["NOT_AN_OBJECT"], 1, "{status}");
    assert_eq!(reasons["SCHEMA_VIOLATION"], 1, "{status}");
    let kept = status["lastBadMessages"].as_array().unwrap();
    assert_eq!(kept.len(), 3);
    assert!(kept.iter().any(
        |bad| bad["payload"] == "{not json" && bad["error"].as_str().unwrap().contains("JSON")
    ));

    // The same figures on /metrics, per partition.
    let (status, Value::String(metrics)) = call(&server.url, "GET", "/metrics", "") else {
        panic!("/metrics did not answer text");
    };
    assert_eq!(status, 200);
    let table = "stock_transactions_REALTIME";
    let samples = |name: &str| -> Vec<(String, f64)> {
        metrics
            .lines()
            .filter(|line| line.starts_with(&format!("{name}{{table=\"{table}\"")))
            .map(|line| {
                let (series, value) = line.rsplit_once(' ').unwrap();
                (series.to_string(), value.parse().unwrap())
            })
            .collect()
    };
    let sum = |name: &str| samples(name).iter().map(|(_, v)| v).sum::<f64>();
    assert_eq!(samples("gamay_ingest_rows_total").len(), 2, "{metrics}");
    assert_eq!(sum("gamay_ingest_rows_total"), 2997.0, "{metrics}");
    assert_eq!(sum("gamay_ingest_bad_messages_total"), 3.0, "{metrics}");
    assert!(samples("gamay_ingest_bad_messages_total")
        .iter()
        .any(|(series, _)| series.contains("reason=\"INVALID_JSON\"")));
    assert_eq!(sum("gamay_ingest_lag_messages"), 0.0, "{metrics}");
    assert_eq!(sum("gamay_ingest_consuming"), 2.0, "{metrics}");
    assert_eq!(sum("gamay_table_rows"), 2997.0, "{metrics}");
    assert_eq!(
        samples("gamay_table_segments"),
        vec![
            (
                format!("gamay_table_segments{{table=\"{table}\",state=\"sealed\"}}"),
                4.0
            ),
            (
                format!("gamay_table_segments{{table=\"{table}\",state=\"consuming\"}}"),
                2.0
            ),
        ]
    );
}

#[test]
fn restart_resumes_from_the_checkpoint_without_loss_or_duplicates() {
    let cluster = cluster("trades", 2);
    let producer = producer(&cluster);
    let dir = tempfile::tempdir().unwrap();
    let first = InProcess::start(dir.path());
    create(
        &first.url,
        &table(
            &cluster,
            "trades",
            json!({"realtime.segment.flush.threshold.segment.rows": "400"}),
        ),
    );
    produce(
        &producer,
        "trades",
        &(0..1000).map(trade).collect::<Vec<_>>(),
        None,
    );
    let want = expected(0..1000);
    assert!(wait_until(WAIT, || totals(&first.url) == want));
    drop(first);

    // Messages produced while the server is down arrive after the restart;
    // the rows that were only in consuming segments are consumed again.
    produce(
        &producer,
        "trades",
        &(1000..1500).map(trade).collect::<Vec<_>>(),
        None,
    );
    let second = InProcess::start(dir.path());
    let want = expected(0..1500);
    assert!(
        wait_until(WAIT, || totals(&second.url) == want),
        "{:?} != {want:?}",
        totals(&second.url)
    );
}

#[test]
fn seals_by_time_and_by_size() {
    let cluster = cluster("trades", 1);
    let producer = producer(&cluster);
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(dir.path());
    create(
        &server.url,
        &table(
            &cluster,
            "trades",
            json!({
                "realtime.segment.flush.threshold.rows": "0",
                "realtime.segment.flush.autotune.initialRows": "300",
                "realtime.segment.flush.threshold.segment.size": "8K",
            }),
        ),
    );
    // The size of a sealed segment sets the next ones' rows; segments opened
    // before the first seal completes still take initialRows, so the rest is
    // produced once it has.
    produce(
        &producer,
        "trades",
        &(0..300).map(trade).collect::<Vec<_>>(),
        Some(0),
    );
    assert!(wait_until(WAIT, || !sealed_segments(&server.url).is_empty()));
    produce(
        &producer,
        "trades",
        &(300..3000).map(trade).collect::<Vec<_>>(),
        Some(0),
    );
    assert!(wait_until(WAIT, || totals(&server.url) == expected(0..3000)));
    assert!(wait_until(WAIT, || sealed_segments(&server.url).len() >= 3));
    let mut sealed = sealed_segments(&server.url);
    sealed.sort_by_key(|meta| meta["stream"]["startOffset"].as_i64());
    // The first segment takes initialRows; once one is sealed, the next are
    // sized so their file comes near 8 KiB at the bytes per row seen.
    assert_eq!(sealed[0]["totalDocs"], 300, "{sealed:?}");
    assert!(
        sealed.iter().any(|meta| {
            let size = meta["sizeInBytes"].as_f64().unwrap();
            meta["totalDocs"].as_i64().unwrap() > 300 && (4096.0..16384.0).contains(&size)
        }),
        "{sealed:?}"
    );

    // By time: a table whose segments live one second.
    let timed = dir.path().join("timed");
    drop(server);
    let server = InProcess::start(&timed);
    create(
        &server.url,
        &table(
            &cluster,
            "trades",
            json!({"realtime.segment.flush.threshold.time": "1s"}),
        ),
    );
    assert!(wait_until(WAIT, || !sealed_segments(&server.url).is_empty()));
    assert!(wait_until(WAIT, || totals(&server.url) == expected(0..3000)));
}

#[test]
fn offset_reset_largest_skips_what_came_before() {
    let cluster = cluster("trades", 2);
    let producer = producer(&cluster);
    produce(
        &producer,
        "trades",
        &(0..200).map(trade).collect::<Vec<_>>(),
        None,
    );
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(dir.path());
    create(
        &server.url,
        &table(
            &cluster,
            "trades",
            json!({"stream.kafka.consumer.prop.auto.offset.reset": "largest"}),
        ),
    );
    // Wait until both partitions are assigned at the end, then produce more.
    assert!(wait_until(WAIT, || {
        let (_, info) = call(
            &server.url,
            "GET",
            "/tables/stock_transactions/consumingSegmentsInfo",
            "",
        );
        info["_segmentToConsumingInfoMap"]
            .as_object()
            .is_some_and(|m| {
                m.len() == 2 && m.values().all(|e| e[0]["consumerState"] == "CONSUMING")
            })
    }));
    produce(
        &producer,
        "trades",
        &(200..300).map(trade).collect::<Vec<_>>(),
        None,
    );
    assert!(wait_until(WAIT, || totals(&server.url) == expected(200..300)));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(totals(&server.url), expected(200..300));

    // Where `largest` put each partition was recorded: after a restart (no
    // segment sealed yet) the rows are consumed again from there, not from
    // the end of the topic as it is now.
    drop(server);
    let server = InProcess::start(dir.path());
    assert!(
        wait_until(WAIT, || totals(&server.url) == expected(200..300)),
        "{:?}",
        totals(&server.url)
    );
}

#[test]
fn pause_resume_and_force_commit() {
    let cluster = cluster("trades", 2);
    let producer = producer(&cluster);
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(dir.path());
    create(&server.url, &table(&cluster, "trades", json!({})));
    produce(
        &producer,
        "trades",
        &(0..500).map(trade).collect::<Vec<_>>(),
        None,
    );
    assert!(wait_until(WAIT, || totals(&server.url) == expected(0..500)));

    // Force commit: both consuming segments seal although no threshold tripped.
    let (status, job) = call(
        &server.url,
        "POST",
        "/tables/stock_transactions/forceCommit",
        "",
    );
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["forceCommitStatus"], "SUCCESS");
    let id = job["forceCommitJobId"].as_str().unwrap().to_string();
    assert!(wait_until(WAIT, || {
        let (_, status) = call(
            &server.url,
            "GET",
            &format!("/tables/forceCommitStatus/{id}"),
            "",
        );
        status["numberOfSegmentsYetToBeCommitted"] == 0
    }));
    let sealed = sealed_segments(&server.url);
    assert_eq!(sealed.len(), 2, "{sealed:?}");
    assert_eq!(
        sealed
            .iter()
            .map(|m| m["totalDocs"].as_i64().unwrap())
            .sum::<i64>(),
        500
    );
    assert_eq!(totals(&server.url), expected(0..500));

    // Pause: consuming segments commit and nothing new is read.
    produce(
        &producer,
        "trades",
        &(500..600).map(trade).collect::<Vec<_>>(),
        None,
    );
    assert!(wait_until(WAIT, || totals(&server.url) == expected(0..600)));
    let (status, paused) = call(
        &server.url,
        "POST",
        "/tables/stock_transactions/pauseConsumption",
        "",
    );
    assert_eq!(status, 200, "{paused}");
    assert_eq!(paused["pauseFlag"], true);
    assert!(wait_until(WAIT, || {
        let (_, status) = call(
            &server.url,
            "GET",
            "/tables/stock_transactions/pauseStatus",
            "",
        );
        status["pauseFlag"] == true && status["consumingSegments"].as_array().unwrap().is_empty()
    }));
    assert_eq!(sealed_segments(&server.url).len(), 4);
    produce(
        &producer,
        "trades",
        &(600..700).map(trade).collect::<Vec<_>>(),
        None,
    );
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(totals(&server.url), expected(0..600));

    // Resume from where it stopped: the messages sent while paused arrive.
    let (status, body) = call(
        &server.url,
        "POST",
        "/tables/stock_transactions/resumeConsumption?consumeFrom=sometime",
        "",
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("lastConsumed"),
        "{body}"
    );
    let (status, resumed) = call(
        &server.url,
        "POST",
        "/tables/stock_transactions/resumeConsumption?consumeFrom=lastConsumed",
        "",
    );
    assert_eq!(status, 200, "{resumed}");
    assert_eq!(resumed["pauseFlag"], false);
    assert!(wait_until(WAIT, || totals(&server.url) == expected(0..700)));

    let (status, body) = call(&server.url, "POST", "/tables/nothere/pauseConsumption", "");
    assert_eq!(status, 404, "{body}");
}

#[test]
fn lost_offsets_follow_auto_offset_reset_and_are_reported() {
    let cluster = cluster("trades", 1);
    let producer = producer(&cluster);
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(dir.path());
    create(&server.url, &table(&cluster, "trades", json!({})));
    produce(
        &producer,
        "trades",
        &(0..10).map(trade).collect::<Vec<_>>(),
        Some(0),
    );
    assert!(wait_until(WAIT, || totals(&server.url) == expected(0..10)));
    let (status, _) = call(
        &server.url,
        "POST",
        "/tables/stock_transactions/pauseConsumption",
        "",
    );
    assert_eq!(status, 200);
    assert!(wait_until(WAIT, || sealed_segments(&server.url).len() == 1));

    // While paused, the partition overflows the mock broker's 5 MiB log:
    // its oldest messages are deleted before Gamay reads them.
    // Random padding, so compression cannot shrink it.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let big: Vec<String> = (10..60)
        .map(|id| {
            let padding: String = (0..200_000)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    char::from(b'a' + (seed % 26) as u8)
                })
                .collect();
            let mut message: Value = serde_json::from_str(&trade(id)).unwrap();
            message["padding"] = Value::String(padding);
            message.to_string()
        })
        .collect();
    for message in &big {
        produce(&producer, "trades", std::slice::from_ref(message), Some(0));
    }
    let (status, _) = call(
        &server.url,
        "POST",
        "/tables/stock_transactions/resumeConsumption",
        "",
    );
    assert_eq!(status, 200);
    let lost = || {
        let (_, status) = call(
            &server.url,
            "GET",
            "/tables/stock_transactions/ingestionStatus",
            "",
        );
        status["lostOffsets"].as_i64().unwrap_or(0)
    };
    assert!(wait_until(WAIT, || lost() > 0), "no lost offsets reported");
    let lost = lost();
    // Everything the broker still had arrives; exactly the lost ones are missing.
    let want = 10 + (50 - lost);
    assert!(
        wait_until(WAIT, || totals(&server.url).0 == want),
        "{:?}, lost {lost}",
        totals(&server.url)
    );
    let (_, info) = call(
        &server.url,
        "GET",
        "/tables/stock_transactions/consumingSegmentsInfo",
        "",
    );
    let entry = &info["_segmentToConsumingInfoMap"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()[0];
    assert_eq!(entry["lostOffsets"], lost, "{info}");
}

#[test]
fn stop_on_decode_error_and_dead_letters() {
    let cluster = cluster("trades", 1);
    cluster.create_topic("trades-dlq", 1, 1).unwrap();
    let producer = producer(&cluster);
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(dir.path());
    create(
        &server.url,
        &table(&cluster, "trades", json!({"deadLetterTopic": "trades-dlq"})),
    );
    let mut payloads: Vec<String> = (0..100).map(trade).collect();
    payloads[50] = "garbage".into();
    produce(&producer, "trades", &payloads, Some(0));
    assert!(wait_until(WAIT, || totals(&server.url).0 == 99));

    // The bad message went to the dead-letter topic.
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::Message;
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("group.id", "dlq-check")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&["trades-dlq"]).unwrap();
    let mut dead = None;
    for _ in 0..100 {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) {
            dead = Some(message.payload().unwrap().to_vec());
            break;
        }
    }
    assert_eq!(dead.as_deref(), Some(&b"garbage"[..]));

    // With stopOnDecodeError the partition stops at the bad message.
    drop(server);
    let strict = dir.path().join("strict");
    let server = InProcess::start(&strict);
    create(
        &server.url,
        &table(&cluster, "trades", json!({"stopOnDecodeError": "true"})),
    );
    assert!(wait_until(WAIT, || totals(&server.url).0 == 50));
    let (_, info) = call(
        &server.url,
        "GET",
        "/tables/stock_transactions/consumingSegmentsInfo",
        "",
    );
    let entry = info["_segmentToConsumingInfoMap"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()[0]
        .clone();
    assert_eq!(entry["consumerState"], "STOPPED", "{info}");
    assert!(
        entry["lastError"].as_str().unwrap().contains("offset 50"),
        "{info}"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(totals(&server.url).0, 50);
}

#[test]
fn retention_deletes_expired_segments() {
    let cluster = cluster("trades", 1);
    let producer = producer(&cluster);
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(dir.path());
    let mut config = table(
        &cluster,
        "trades",
        json!({"realtime.segment.flush.threshold.segment.rows": "100"}),
    );
    // The trades are from mid-2026: older than 30 days.
    config["segmentsConfig"]["retentionTimeUnit"] = json!("DAYS");
    config["segmentsConfig"]["retentionTimeValue"] = json!("30");
    create(&server.url, &config);
    produce(
        &producer,
        "trades",
        &(0..250).map(trade).collect::<Vec<_>>(),
        Some(0),
    );
    // Two segments seal and are then deleted; the 50 consuming rows stay.
    assert!(
        wait_until(WAIT, || totals(&server.url).0 == 50
            && sealed_segments(&server.url).is_empty()),
        "{:?}",
        totals(&server.url)
    );
    let (_, info) = call(
        &server.url,
        "GET",
        "/tables/stock_transactions/ingestionStatus",
        "",
    );
    assert_eq!(info["partitions"][0]["currentOffset"], 250, "{info}");
}

#[test]
fn unreachable_brokers_are_retried_and_reported() {
    let closed = {
        let spare = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        spare.local_addr().unwrap().to_string()
    };
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(dir.path());
    let cluster = cluster("unused", 1);
    let mut config = table(&cluster, "trades", json!({}));
    config["ingestionConfig"]["streamIngestionConfig"]["streamConfigMaps"][0]
        ["stream.kafka.broker.list"] = json!(closed);
    let (status, body) = call(&server.url, "POST", "/schemas", &schema().to_string());
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(&server.url, "POST", "/tables", &config.to_string());
    assert_eq!(status, 200, "{body}");
    assert!(
        body["warnings"].to_string().contains("cannot be reached"),
        "{body}"
    );
    assert!(wait_until(WAIT, || {
        let (_, info) = call(
            &server.url,
            "GET",
            "/tables/stock_transactions/ingestionStatus",
            "",
        );
        info["tableError"]
            .as_str()
            .is_some_and(|e| e.contains("trades"))
    }));
    // The server keeps answering.
    assert_eq!(totals(&server.url), (0, 0, 0));
}

#[test]
fn kafka_settings_outside_the_allow_list_are_refused() {
    let cluster = cluster("trades", 1);
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(dir.path());
    let (status, body) = call(&server.url, "POST", "/schemas", &schema().to_string());
    assert_eq!(status, 200, "{body}");
    for (key, value, said) in [
        (
            "stream.kafka.consumer.prop.plugin.library.paths",
            "/tmp/evil.so",
            "native code",
        ),
        (
            "sasl.kerberos.kinit.cmd",
            "touch /tmp/owned",
            "shell command",
        ),
        (
            "stream.kafka.consumer.prop.ssl.key.location",
            "/etc/shadow",
            "ssl.key.pem",
        ),
        (
            "stream.kafka.consumer.prop.fetch.wait.max.mz",
            "20",
            "did you mean `fetch.wait.max.ms`",
        ),
    ] {
        let mut extra = serde_json::Map::new();
        extra.insert(key.to_string(), json!(value));
        let config = table(&cluster, "trades", Value::Object(extra));
        let (status, body) = call(&server.url, "POST", "/tables", &config.to_string());
        assert_eq!(status, 400, "{key}: {body}");
        let text = body.to_string();
        assert!(text.contains(key) && text.contains(said), "{key}: {body}");
    }
    let (status, _) = call(&server.url, "GET", "/tables/stock_transactions", "");
    assert_eq!(status, 404);
}

#[test]
fn a_stored_table_with_a_refused_kafka_setting_does_not_consume_and_says_why() {
    let cluster = cluster("trades", 1);
    let dir = tempfile::tempdir().unwrap();
    {
        let server = InProcess::start(dir.path());
        create(&server.url, &table(&cluster, "trades", json!({})));
    }
    // As a config stored before the allow-list existed would hold it.
    let path = dir
        .path()
        .join("catalog/tables/stock_transactions_REALTIME.json");
    let mut stored: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    stored["ingestionConfig"]["streamIngestionConfig"]["streamConfigMaps"][0]
        ["stream.kafka.consumer.prop.plugin.library.paths"] = json!("/tmp/evil.so");
    std::fs::write(&path, stored.to_string()).unwrap();

    let server = InProcess::start(dir.path());
    let (status, body) = call(
        &server.url,
        "GET",
        "/tables/stock_transactions/ingestionStatus",
        "",
    );
    assert_eq!(status, 503, "{body}");
    let text = body.to_string();
    assert!(
        text.contains("not consuming") && text.contains("plugin.library.paths"),
        "{body}"
    );
    // The rest of the server works.
    let (status, body) = call(&server.url, "GET", "/tables", "");
    assert_eq!(status, 200, "{body}");
}

#[test]
fn partitions_that_appear_later_are_consumed() {
    // The table is created before its topic exists: the supervisor reports
    // the missing topic, keeps looking, and starts a consumer for each
    // partition once they appear.
    let cluster = rdkafka::mocking::MockCluster::new(1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(dir.path());
    create(&server.url, &table(&cluster, "late", json!({})));
    assert!(wait_until(WAIT, || {
        let (_, info) = call(
            &server.url,
            "GET",
            "/tables/stock_transactions/ingestionStatus",
            "",
        );
        info["tableError"]
            .as_str()
            .is_some_and(|e| e.contains("late"))
    }));
    cluster.create_topic("late", 3, 1).unwrap();
    let producer = producer(&cluster);
    for partition in 0..3 {
        let ids = (partition as i64 * 100)..(partition as i64 * 100 + 100);
        produce(
            &producer,
            "late",
            &ids.map(trade).collect::<Vec<_>>(),
            Some(partition),
        );
    }
    assert!(
        wait_until(WAIT, || totals(&server.url) == expected(0..300)),
        "{:?}",
        totals(&server.url)
    );
    let (_, info) = call(
        &server.url,
        "GET",
        "/tables/stock_transactions/ingestionStatus",
        "",
    );
    assert_eq!(info["partitions"].as_array().unwrap().len(), 3, "{info}");
    assert!(info["tableError"].is_null(), "{info}");
}

#[test]
fn consuming_segments_answer_from_star_trees() {
    let cluster = cluster("trades", 1);
    let producer = producer(&cluster);
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(dir.path());
    let mut config = table(&cluster, "trades", json!({}));
    config["tableIndexConfig"]["starTreeIndexConfigs"] = json!([{
        "dimensionsSplitOrder": ["symbol", "user_id"],
        "functionColumnPairs": ["COUNT__*", "SUM__shares", "MAX__purchase"],
        "maxLeafRecords": 10
    }]);
    create(&server.url, &config);
    produce(
        &producer,
        "trades",
        &(0..10_000).map(trade).collect::<Vec<_>>(),
        Some(0),
    );
    assert!(wait_until(WAIT, || totals(&server.url) == expected(0..10_000)));
    assert!(sealed_segments(&server.url).is_empty());

    let sql = "SELECT symbol, COUNT(*), SUM(shares), MAX(purchase) FROM stock_transactions \
               WHERE user_id IN (1, 2, 3, 50) GROUP BY symbol ORDER BY symbol";
    let run = |options: &str| {
        let body = json!({ "sql": sql, "queryOptions": options }).to_string();
        let (status, body) = call(&server.url, "POST", "/query/sql", &body);
        assert_eq!(status, 200, "{body}");
        body
    };
    // The tree is built off the consuming thread; once it is, the filter
    // reads only the rows past its records (fewer than 4096 of them).
    let filtered = |body: Value| body["numEntriesScannedInFilter"].as_i64().unwrap();
    assert!(wait_until(WAIT, || filtered(run("")) < 4096), "{}", run(""));
    let tree = run("");
    let docs = run("useStarTree=false");
    // user_id = id % 97: 104 rows each for 1, 2 and 3, 103 for 50.
    assert_eq!(docs["numDocsScanned"], 3 * 104 + 103, "{docs}");
    assert_eq!(filtered(docs.clone()), 10_000, "{docs}");
    assert_eq!(tree["totalDocs"], 10_000);
    assert_eq!(tree["resultTable"], docs["resultTable"]);
    assert_eq!(tree["resultTable"]["rows"].as_array().unwrap().len(), 5);
}
