//! A cluster of real `gamay serve` processes on loopback: controllers,
//! brokers and servers sharing a PostgreSQL metastore (a schema of its own
//! per test) and a deep store, killed and restarted the way machines fail.
//! Every check is on what a client sees: the answers of `COUNT(*)`,
//! `SUM(id)` and `COUNT(DISTINCT id)` through a broker, and Pinot's
//! `partialResult` and `exceptions`.

mod cluster_support;
mod kafka;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cluster_support::{expected, Fleet, SETTLE};
use serde_json::json;

/// Rows per ingested file: each file is one segment.
const FILE_ROWS: i64 = 500;

#[test]
fn offline_segments_are_replicated_and_survive_a_dead_server() {
    let Some(mut fleet) = Fleet::start("replicas") else {
        return;
    };
    let controller = fleet.node("controller", "controller");
    let servers: Vec<_> = (0..3)
        .map(|i| fleet.node(&format!("server-{i}"), "server"))
        .collect();
    let broker = fleet.node("broker", "broker");
    fleet.create_table(controller, 2);
    for file in 0..6 {
        fleet.ingest(controller, file * FILE_ROWS..(file + 1) * FILE_ROWS);
    }
    let want = expected(0..6 * FILE_ROWS);
    fleet.wait_for_totals(broker, want, SETTLE);
    let placement = fleet.placement();
    assert_eq!(placement.len(), 6, "{placement:?}");
    for holders in placement.values() {
        assert_eq!(holders.len(), 2, "{placement:?}");
    }
    // Each segment is on two of the three servers, so any two hold them
    // all: a query asks two servers, not three.
    for _ in 0..6 {
        let answer = fleet.query(broker, "SELECT COUNT(*) FROM trades");
        assert_eq!(answer["numServersQueried"], 2, "{answer}");
    }
    // Multi-stage queries scan the servers' segments too.
    let answer = fleet.query(
        broker,
        "SET useMultistageEngine = true; SELECT COUNT(*), SUM(a.id) FROM trades a JOIN trades b ON a.id = b.id WHERE a.symbol = 'AAPL' AND b.price >= 0",
    );
    let aapl: Vec<i64> = (0..6 * FILE_ROWS).filter(|id| id % 3 == 0).collect();
    assert_eq!(
        answer["resultTable"]["rows"][0],
        serde_json::json!([aapl.len(), aapl.iter().sum::<i64>()]),
        "{answer}"
    );
    let answer = fleet.query(
        broker,
        "SET useMultistageEngine = true; SELECT COUNT(*) FROM trades WHERE id IN (SELECT id FROM trades WHERE symbol = 'MSFT')",
    );
    assert_eq!(
        answer["resultTable"]["rows"][0][0],
        2 * FILE_ROWS,
        "{answer}"
    );

    // A server dies: its replicas answer at once, nothing is missing.
    fleet.kill9(servers[0]);
    for _ in 0..20 {
        assert_eq!(fleet.totals(broker), want);
    }
    // Once its heartbeat lapses, its segments are placed on the others.
    fleet.wait_until(SETTLE, "the dead server's segments re-placed", |fleet| {
        let placement = fleet.placement();
        placement
            .values()
            .all(|holders| holders.len() == 2 && !holders.contains(&fleet.id(servers[0])))
    });
    assert_eq!(fleet.totals(broker), want);
}

#[test]
fn a_server_that_lost_its_disk_reloads_from_the_deep_store() {
    let Some(mut fleet) = Fleet::start("disk") else {
        return;
    };
    let controller = fleet.node("controller", "controller");
    let server = fleet.node("server-0", "server");
    let broker = fleet.node("broker", "broker");
    fleet.create_table(controller, 1);
    for file in 0..3 {
        fleet.ingest(controller, file * FILE_ROWS..(file + 1) * FILE_ROWS);
    }
    let want = expected(0..3 * FILE_ROWS);
    fleet.wait_for_totals(broker, want, SETTLE);
    fleet.kill9(server);
    fleet.wipe(server);
    let answer = fleet.query(broker, "SELECT COUNT(*) FROM trades");
    assert_eq!(answer["partialResult"], true, "{answer}");
    assert!(
        answer["exceptions"]
            .to_string()
            .contains("could not be served"),
        "{answer}"
    );
    fleet.restart(server);
    fleet.wait_for_totals(broker, want, SETTLE);
}

#[test]
fn a_new_server_takes_its_share_and_the_rebalance_dry_run_shows_it() {
    let Some(mut fleet) = Fleet::start("grow") else {
        return;
    };
    let controller = fleet.node("controller", "controller");
    let first = fleet.node("server-0", "server");
    let broker = fleet.node("broker", "broker");
    fleet.create_table(controller, 1);
    for file in 0..4 {
        fleet.ingest(controller, file * FILE_ROWS..(file + 1) * FILE_ROWS);
    }
    let want = expected(0..4 * FILE_ROWS);
    fleet.wait_for_totals(broker, want, SETTLE);
    let second = fleet.node("server-1", "server");
    fleet.wait_until(SETTLE, "half the segments on the new server", |fleet| {
        let placement = fleet.placement();
        let on = |node| {
            placement
                .values()
                .filter(|holders| holders.contains(&fleet.id(node)))
                .count()
        };
        on(first) == 2 && on(second) == 2
    });
    fleet.wait_for_totals(broker, want, SETTLE);
    let (status, plan) = fleet.call(
        controller,
        "POST",
        "/tables/trades/rebalance?type=OFFLINE&dryRun=true",
        "",
    );
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["status"], "NO_OP", "{plan}");
}

#[test]
fn brokers_and_controllers_stand_in_for_each_other() {
    let Some(mut fleet) = Fleet::start("standby") else {
        return;
    };
    let first_controller = fleet.node("controller-0", "controller");
    let second_controller = fleet.node("controller-1", "controller");
    let _servers: Vec<_> = (0..2)
        .map(|i| fleet.node(&format!("server-{i}"), "server"))
        .collect();
    let first_broker = fleet.node("broker-0", "broker");
    let second_broker = fleet.node("broker-1", "broker");
    fleet.create_table(first_controller, 1);
    fleet.ingest(first_controller, 0..FILE_ROWS);
    fleet.wait_for_totals(first_broker, expected(0..FILE_ROWS), SETTLE);

    // The lead controller dies: the other places what arrives next.
    fleet.kill9(first_controller);
    fleet.ingest(second_controller, FILE_ROWS..2 * FILE_ROWS);
    fleet.wait_for_totals(second_broker, expected(0..2 * FILE_ROWS), SETTLE);

    // One broker dies: the other answers.
    fleet.kill9(first_broker);
    assert_eq!(fleet.totals(second_broker), expected(0..2 * FILE_ROWS));
    // Controller calls reach the controller through any node.
    let (status, body) = fleet.call(second_broker, "GET", "/tables", "");
    assert_eq!(status, 200, "{body}");
    assert!(body.to_string().contains("trades"), "{body}");
    let _ = Duration::ZERO;
}

#[test]
fn a_secured_cluster_answers_and_keeps_its_internal_route_to_itself() {
    let Some(mut fleet) = Fleet::start("secured") else {
        return;
    };
    let reader = fleet.secure();
    let controller = fleet.node("controller", "controller");
    let _server = fleet.node("server-0", "server");
    let broker = fleet.node("broker", "broker");
    fleet.create_table(controller, 1);
    fleet.ingest(controller, 0..FILE_ROWS);
    fleet.wait_for_totals(broker, expected(0..FILE_ROWS), SETTLE);
    // A reader queries through the broker, which asks the server as the
    // cluster's administrator.
    let (status, answer) = fleet.call_as(
        broker,
        Some(&reader),
        "POST",
        "/query/sql",
        r#"{"sql": "SELECT COUNT(*) FROM trades"}"#,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["resultTable"]["rows"][0][0], 500, "{answer}");
    // The internal route is not for callers, readers included.
    let (status, _) = fleet.call_as(broker, None, "POST", "/internal/query", "x");
    assert_eq!(status, 401);
    let (status, _) = fleet.call_as(broker, Some(&reader), "POST", "/internal/query", "x");
    assert_eq!(status, 403);
    // A node without the cluster's token does not start.
    let printed = fleet.refused_without_token("broker-1", "broker");
    assert!(printed.contains("--cluster-token-file"), "{printed}");
}

/// The REALTIME table of the Kafka tests (`stock_transactions`), with its
/// type.
const REALTIME: &str = "stock_transactions_REALTIME";

/// Offsets are counted once: every partition's recorded segments start at
/// 0 and each starts where the one before ended, holding one row per
/// offset (every message is good).
/// COUNT(*), SUM(id), COUNT(DISTINCT id) of the rows an S3 sink wrote as
/// JSON lines under `root`.
fn lake_totals(root: &std::path::Path) -> (i64, i64, i64) {
    let mut ids = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "json") {
                for line in std::fs::read_to_string(&path).unwrap().lines() {
                    let row: serde_json::Value = serde_json::from_str(line).unwrap();
                    ids.push(row["id"].as_i64().unwrap());
                }
            }
        }
    }
    let count = ids.len() as i64;
    let sum = ids.iter().sum();
    ids.sort_unstable();
    ids.dedup();
    (count, sum, ids.len() as i64)
}

/// Connector `name`'s status through `node`: its state and worker.
fn connector_status(fleet: &Fleet, node: cluster_support::NodeRef, name: &str) -> (String, String) {
    let (status, body) = fleet.call(node, "GET", &format!("/connectors/{name}/status"), "");
    assert_eq!(status, 200, "{body}");
    let connector = &body["connector"];
    (
        connector["state"].as_str().unwrap_or_default().to_string(),
        connector["worker_id"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

#[test]
fn a_connector_runs_on_one_server_and_resumes_on_another_when_it_dies() {
    let Some(mut fleet) = Fleet::start("connect") else {
        return;
    };
    let shared = fleet.share_file_stores();
    let controller = fleet.node("controller", "controller");
    let servers: Vec<_> = (0..2)
        .map(|i| fleet.node(&format!("server-{i}"), "server"))
        .collect();
    let broker = fleet.node("broker", "broker");
    fleet.create_table(controller, 1);
    fleet.ingest(controller, 0..FILE_ROWS);
    fleet.ingest(controller, FILE_ROWS..2 * FILE_ROWS);
    // The sink's watermark table is the database's own, shared by runs.
    let name = &format!("to_postgres_{}", std::process::id());
    let create = json!({"name": name, "config": fleet.jdbc_sink("exported")});
    let (status, body) = fleet.call(broker, "POST", "/connectors", &create.to_string());
    assert_eq!(status, 201, "{body}");
    // Every node knows it; a second create anywhere is refused.
    fleet.wait_until(SETTLE, "the connector on every node", |fleet| {
        fleet.call(controller, "GET", "/connectors", "").1 == json!([name])
    });
    let (status, body) = fleet.call(controller, "POST", "/connectors", &create.to_string());
    assert_eq!(status, 409, "{body}");
    let lake = json!({"name": "to_lake", "config": {
        "connector.class": "s3",
        "tables": "trades",
        "s3.bucket.name": "exports",
        "store.url": format!("file://{}", shared.display()),
        "flush.size": "100000",
        "format.class": "io.confluent.connect.s3.format.json.JsonFormat",
    }});
    let (status, body) = fleet.call(controller, "POST", "/connectors", &lake.to_string());
    assert_eq!(status, 201, "{body}");
    fleet.wait_until(SETTLE, "the first rows exported", |fleet| {
        fleet.exported_totals("exported") == Some(expected(0..2 * FILE_ROWS))
            && lake_totals(&shared) == expected(0..2 * FILE_ROWS)
    });
    // One server runs it, and every node says which.
    let (state, worker) = connector_status(&fleet, broker, name);
    assert_eq!(state, "RUNNING");
    let ids: Vec<String> = servers.iter().map(|&server| fleet.id(server)).collect();
    assert!(ids.contains(&worker), "{worker} is not one of {ids:?}");
    assert_eq!(connector_status(&fleet, controller, name).1, worker);

    // Its server dies mid-stream: the other resumes from the watermark,
    // reading what the dead one held from the deep store, each row once.
    let running = fleet.by_id(&worker);
    fleet.ingest(controller, 2 * FILE_ROWS..3 * FILE_ROWS);
    fleet.kill9(running);
    fleet.ingest(controller, 3 * FILE_ROWS..4 * FILE_ROWS);
    fleet.wait_until(SETTLE, "every row exported after the failover", |fleet| {
        fleet.exported_totals("exported") == Some(expected(0..4 * FILE_ROWS))
            && lake_totals(&shared) == expected(0..4 * FILE_ROWS)
    });
    let (state, successor) = connector_status(&fleet, broker, name);
    assert_eq!(state, "RUNNING");
    assert!(
        successor != worker && ids.contains(&successor),
        "{successor}"
    );

    // Paused through one node, it stops on the node running it.
    let (status, body) = fleet.call(controller, "PUT", &format!("/connectors/{name}/pause"), "");
    assert_eq!(status, 202, "{body}");
    fleet.wait_until(SETTLE, "paused everywhere", |fleet| {
        connector_status(fleet, broker, name).0 == "PAUSED"
    });
    fleet.ingest(controller, 4 * FILE_ROWS..5 * FILE_ROWS);
    std::thread::sleep(Duration::from_secs(2 * cluster_support::LEASE_SECONDS));
    assert_eq!(
        fleet.exported_totals("exported"),
        Some(expected(0..4 * FILE_ROWS))
    );
    let (status, body) = fleet.call(broker, "PUT", &format!("/connectors/{name}/resume"), "");
    assert_eq!(status, 202, "{body}");
    fleet.wait_until(SETTLE, "the rows held back while paused", |fleet| {
        fleet.exported_totals("exported") == Some(expected(0..5 * FILE_ROWS))
    });

    // Deleted through one node, it is gone from all.
    let (status, body) = fleet.call(broker, "DELETE", &format!("/connectors/{name}"), "");
    assert_eq!(status, 204, "{body}");
    fleet.wait_until(SETTLE, "the connector gone everywhere", |fleet| {
        fleet
            .call(controller, "GET", &format!("/connectors/{name}"), "")
            .0
            == 404
    });
}

fn assert_each_offset_once(fleet: &Fleet) -> i64 {
    let segments = fleet.stream_segments(REALTIME);
    let mut next: std::collections::BTreeMap<i32, i64> = std::collections::BTreeMap::new();
    let mut rows = 0;
    for &(partition, start, end, count) in &segments {
        let at = next.entry(partition).or_insert(0);
        assert_eq!(
            start, *at,
            "a gap or an overlap in partition {partition}: {segments:?}"
        );
        assert_eq!(count, end - start, "{segments:?}");
        *at = end;
        rows += count;
    }
    rows
}

/// Waits until the broker answers `ids`' totals, then asks again and again:
/// queries take the committed segments' replicas in turn (and a
/// partition's other consumer when its holder fails), so a server that
/// counts an offset twice shows: no row may come twice and no total may
/// pass what was produced. A replica may lag behind the lease holder (it
/// holds a full segment until the holder commits, and starts over from
/// each new checkpoint), and an answer may report a segment whose only
/// loaded copy died while others load it: both are allowed here.
fn settled(fleet: &Fleet, broker: usize, ids: std::ops::Range<i64>) {
    let want = expected(ids);
    fleet.wait_for_totals_of(broker, "stock_transactions", want, SETTLE);
    for _ in 0..12 {
        never_twice(fleet, broker, want);
    }
}

/// One query's answer: complete ones count no row twice and stay within
/// `want`; partial ones say what they left out.
fn never_twice(fleet: &Fleet, broker: usize, want: (i64, i64, i64)) {
    within(
        fleet,
        fleet.try_totals_of(broker, "stock_transactions"),
        want,
    );
}

/// A complete answer counts nothing twice (its count equals its distinct
/// count) and stays within `want`; a partial one says what it left out.
fn within(fleet: &Fleet, got: Result<(i64, i64, i64), serde_json::Value>, want: (i64, i64, i64)) {
    match got {
        Ok((count, sum, distinct)) => assert!(
            count == distinct && count <= want.0 && sum <= want.1,
            "{:?} against {want:?}\n{}",
            (count, sum, distinct),
            fleet.logs()
        ),
        Err(partial) => assert!(
            partial["partialResult"] == true
                && partial["exceptions"]
                    .to_string()
                    .contains("could not be served"),
            "{partial}"
        ),
    }
}

/// Partition `partition`'s lease holder and epoch, once it has one (a
/// lease is briefly free while the partition moves between servers).
fn holder_of(fleet: &Fleet, partition: i32) -> (String, i64) {
    let deadline = std::time::Instant::now() + SETTLE;
    loop {
        if let Some(holder) = fleet.lease_holder(REALTIME, partition) {
            return holder;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "partition {partition} never had a lease holder\n{}",
            fleet.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A two-partition topic `trades` of a mock Kafka cluster in its own
/// process, and a producer of trades to it.
struct Trades {
    topic: kafka::Mock,
    producer: rdkafka::producer::BaseProducer,
}

impl Trades {
    fn new() -> Trades {
        let topic = kafka::cluster("trades", 2);
        let producer = kafka::producer(&topic);
        Trades { topic, producer }
    }

    /// Produces the trades of `ids`, spread over the partitions.
    fn produce(&self, ids: std::ops::Range<i64>) {
        let payloads: Vec<String> = ids.map(kafka::trade).collect();
        kafka::produce(&self.producer, "trades", &payloads, None);
    }
}

/// Waits until each partition of the fleet's REALTIME table has two
/// consumers.
fn two_consumers_each(fleet: &Fleet) {
    fleet.wait_until(SETTLE, "two consumers per partition", |fleet| {
        let consumers = fleet.partition_consumers(REALTIME);
        consumers.len() == 2 && consumers.values().all(|servers| servers.len() == 2)
    });
}

/// A controller, a broker and `server-0` (with `fault` armed), and a
/// REALTIME table on `topic` with two replicas per partition, once
/// `server-0` holds both partitions' leases.
fn realtime_table(
    fleet: &mut Fleet,
    topic: &kafka::Mock,
    fault: &str,
) -> (
    cluster_support::NodeRef,
    cluster_support::NodeRef,
    cluster_support::NodeRef,
) {
    let controller = fleet.node("controller", "controller");
    let broker = fleet.node("broker", "broker");
    let first = fleet.node_with_fault("server-0", "server", fault);
    let (status, body) = fleet.call(controller, "POST", "/schemas", &kafka::schema().to_string());
    assert_eq!(status, 200, "{body}");
    let mut table = kafka::table(
        topic,
        "trades",
        serde_json::json!({"realtime.segment.flush.threshold.segment.rows": "200"}),
    );
    table["segmentsConfig"]["replicasPerPartition"] = "2".into();
    let (status, body) = fleet.call(controller, "POST", "/tables", &table.to_string());
    assert_eq!(status, 200, "{body}");
    fleet.wait_until(SETTLE, "server-0 holding both leases", |fleet| {
        (0..2).all(|p| {
            fleet
                .lease_holder(REALTIME, p)
                .is_some_and(|(owner, _)| owner == "server-0")
        })
    });
    (controller, broker, first)
}

#[test]
fn realtime_partitions_commit_each_offset_once_across_dead_and_stalled_servers() {
    let Some(mut fleet) = Fleet::start("realtime") else {
        return;
    };
    let trades = Trades::new();
    let (topic, produce) = (&trades.topic, |ids| trades.produce(ids));
    // Alone at first, server-0 takes both partitions' leases; it aborts on
    // its second seal, the file written and neither uploaded nor committed.
    let (_controller, broker, first) = realtime_table(&mut fleet, topic, "seal.after_write@2");
    for i in 1..3 {
        fleet.node(&format!("server-{i}"), "server");
    }
    two_consumers_each(&fleet);

    // Killed mid-seal: the other replicas take the leases over from the
    // checkpoint, and queries keep answering meanwhile.
    produce(0..1000);
    let deadline = std::time::Instant::now() + SETTLE;
    while !fleet.exited(first) {
        assert!(
            std::time::Instant::now() < deadline,
            "server-0 never reached its fault point\n{}",
            fleet.logs()
        );
        let answer = fleet.query(broker, "SELECT COUNT(*) FROM stock_transactions");
        assert!(answer["resultTable"].is_object(), "{answer}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let answer = fleet.query(broker, "SELECT COUNT(*) FROM stock_transactions");
    assert!(answer["resultTable"]["rows"][0][0].is_number(), "{answer}");
    settled(&fleet, broker, 0..1000);
    for partition in 0..2 {
        let holder = fleet.lease_holder(REALTIME, partition);
        assert!(holder.is_some_and(|(owner, _)| owner != "server-0"));
    }
    fleet.restart_unarmed(first);

    // Killed mid-ingest: partition 0's holder dies with rows only in its
    // consuming segment.
    produce(1000..1300);
    let (holder, _) = holder_of(&fleet, 0);
    let killed = fleet.by_id(&holder);
    fleet.kill9(killed);
    produce(1300..2000);
    settled(&fleet, broker, 0..2000);
    assert!(fleet
        .lease_holder(REALTIME, 0)
        .is_some_and(|(owner, _)| owner != holder));

    // Stopped past its lease: partition 1's holder stalls while another
    // takes its lease and commits; resumed, it commits nothing and no
    // row is counted twice.
    let (stalled_id, epoch) = holder_of(&fleet, 1);
    let stalled = fleet.by_id(&stalled_id);
    produce(2000..2100);
    settled(&fleet, broker, 0..2100);
    fleet.signal(stalled, libc::SIGSTOP);
    fleet.wait_until(
        SETTLE,
        "another server taking partition 1's lease",
        |fleet| {
            fleet
                .lease_holder(REALTIME, 1)
                .is_some_and(|(owner, at)| owner != stalled_id && at > epoch)
        },
    );
    produce(2100..2700);
    settled(&fleet, broker, 0..2700);
    fleet.signal(stalled, libc::SIGCONT);
    produce(2700..2800);
    settled(&fleet, broker, 0..2800);
    // Time for anything the resumed server still had under way.
    std::thread::sleep(Duration::from_secs(2 * cluster_support::LEASE_SECONDS));
    let committed = assert_each_offset_once(&fleet);
    assert!(committed >= 2000, "{:?}", fleet.stream_segments(REALTIME));
    settled(&fleet, broker, 0..2800);

    // Partition 0's holder dies with every replica caught up: its other
    // consumer answers for the partition at once, from the same
    // checkpoint, before any lease moves.
    fleet.wait_until(SETTLE, "two live consumers per partition", |fleet| {
        let consumers = fleet.partition_consumers(REALTIME);
        consumers
            .values()
            .all(|servers| servers.len() == 2 && !servers.contains(&holder))
    });
    // Time for a replica added back to consume up to the end.
    std::thread::sleep(Duration::from_secs(cluster_support::LEASE_SECONDS));
    settled(&fleet, broker, 0..2800);
    let (holder, _) = holder_of(&fleet, 0);
    fleet.kill9(fleet.by_id(&holder));
    for _ in 0..12 {
        never_twice(&fleet, broker, expected(0..2800));
    }
    settled(&fleet, broker, 0..2800);
}

#[test]
fn a_lease_holder_stopped_mid_commit_is_fenced_when_it_resumes() {
    let Some(mut fleet) = Fleet::start("fenced") else {
        return;
    };
    let trades = Trades::new();
    let (topic, produce) = (&trades.topic, |ids| trades.produce(ids));
    // Alone at first, server-0 takes both leases; its second seal stalls
    // with its file written, just before it asks the cluster to commit.
    let (_controller, broker, slow) =
        realtime_table(&mut fleet, topic, "seal.before_commit@2~8000");
    fleet.node("server-1", "server");
    two_consumers_each(&fleet);
    produce(0..600);
    fleet.wait_until(SETTLE, "server-0 stalling mid-commit", |fleet| {
        fleet
            .log(slow)
            .contains("fault point seal.before_commit reached")
    });
    // Stopped past its lease: server-1 takes both partitions over and
    // commits what server-0 was committing.
    fleet.signal(slow, libc::SIGSTOP);
    fleet.wait_until(SETTLE, "server-1 holding both leases", |fleet| {
        (0..2).all(|p| {
            fleet
                .lease_holder(REALTIME, p)
                .is_some_and(|(owner, _)| owner == "server-1")
        })
    });
    produce(600..1000);
    settled(&fleet, broker, 0..1000);
    let before = fleet.stream_segments(REALTIME);
    fleet.signal(slow, libc::SIGCONT);
    fleet.wait_until(SETTLE, "server-0's stale commit fenced", |fleet| {
        fleet.log(slow).contains("the segment is discarded")
    });
    produce(1000..1100);
    settled(&fleet, broker, 0..1100);
    let after = fleet.stream_segments(REALTIME);
    for segment in &before {
        assert!(after.contains(segment), "{before:?} {after:?}");
    }
    assert_each_offset_once(&fleet);
}

#[test]
fn pause_resume_and_force_commit_reach_every_consumer_through_any_node() {
    let Some(mut fleet) = Fleet::start("controls") else {
        return;
    };
    let trades = Trades::new();
    let (topic, produce) = (&trades.topic, |ids| trades.produce(ids));
    let (controller, broker, _) = realtime_table(&mut fleet, topic, "seal.after_write@1000");
    fleet.node("server-1", "server");
    two_consumers_each(&fleet);
    let committed_rows = |fleet: &Fleet| -> i64 {
        fleet
            .stream_segments(REALTIME)
            .iter()
            .map(|segment| segment.3)
            .sum()
    };
    // Fewer rows than a segment holds: all of them consuming.
    produce(0..150);
    settled(&fleet, broker, 0..150);
    assert_eq!(committed_rows(&fleet), 0);

    // Paused through the broker: the lease holders commit what they hold,
    // and nothing more is consumed.
    let (status, body) = fleet.call(
        broker,
        "POST",
        "/tables/stock_transactions/pauseConsumption",
        "",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["pauseFlag"], true, "{body}");
    fleet.wait_until(SETTLE, "the consuming rows committed", |fleet| {
        committed_rows(fleet) == 150
    });
    let (_, paused) = fleet.call(
        controller,
        "GET",
        "/tables/stock_transactions/pauseStatus",
        "",
    );
    assert_eq!(paused["pauseFlag"], true, "{paused}");
    produce(150..300);
    std::thread::sleep(Duration::from_secs(2 * cluster_support::LEASE_SECONDS));
    let totals = fleet.try_totals_of(broker, "stock_transactions");
    assert_eq!(totals, Ok(expected(0..150)));

    // Resumed where it stopped: what came meanwhile is consumed.
    let (status, body) = fleet.call(
        controller,
        "POST",
        "/tables/stock_transactions/resumeConsumption",
        "",
    );
    assert_eq!(status, 200, "{body}");
    settled(&fleet, broker, 0..300);

    // A force commit seals every partition now, below its threshold.
    let (status, job) = fleet.call(broker, "POST", "/tables/stock_transactions/forceCommit", "");
    assert_eq!(status, 200, "{job}");
    let id = job["forceCommitJobId"].as_str().unwrap().to_string();
    fleet.wait_until(SETTLE, "the force commit done", |fleet| {
        let (status, progress) = fleet.call(
            controller,
            "GET",
            &format!("/tables/forceCommitStatus/{id}"),
            "",
        );
        status == 200 && progress["numberOfSegmentsYetToBeCommitted"] == 0
    });
    assert_eq!(committed_rows(&fleet), 300);
    assert_eq!(assert_each_offset_once(&fleet), 300);
    settled(&fleet, broker, 0..300);

    // Paused again, then resumed from the latest offsets: what came in
    // between is skipped, in the cluster's checkpoints too, so what
    // follows commits.
    let pause = "/tables/stock_transactions/pauseConsumption";
    let (status, body) = fleet.call(broker, "POST", pause, "");
    assert_eq!(status, 200, "{body}");
    std::thread::sleep(Duration::from_secs(cluster_support::LEASE_SECONDS));
    produce(300..400);
    let before = fleet.stream_segments(REALTIME);
    let resume = "/tables/stock_transactions/resumeConsumption?consumeFrom=largest";
    let (status, body) = fleet.call(controller, "POST", resume, "");
    assert_eq!(status, 200, "{body}");
    fleet.wait_until(SETTLE, "the skip recorded in both checkpoints", |fleet| {
        fleet.metastore_checkpoints(REALTIME).values().sum::<i64>() == 400
    });
    produce(400..450);
    let (count, sum, distinct) = expected(0..300);
    let later = expected(400..450);
    let want = (count + later.0, sum + later.1, distinct + later.2);
    fleet.wait_for_totals_of(broker, "stock_transactions", want, SETTLE);
    let (status, job) = fleet.call(broker, "POST", "/tables/stock_transactions/forceCommit", "");
    assert_eq!(status, 200, "{job}");
    fleet.wait_until(SETTLE, "the rows after the skip committed", |fleet| {
        committed_rows(fleet) == 350
    });
    // Each partition's segments after the skip start at or past its end.
    let after = fleet.stream_segments(REALTIME);
    assert_eq!(after.len(), before.len() + 2, "{after:?}");
    for &(partition, start, end, rows) in &after {
        assert_eq!(rows, end - start, "{after:?}");
        let overlapping = after
            .iter()
            .any(|s| s.0 == partition && s.1 > start && s.1 < end);
        assert!(!overlapping, "{after:?}");
    }
    fleet.wait_for_totals_of(broker, "stock_transactions", want, SETTLE);
}

#[test]
fn replicas_start_where_the_lease_holder_did_before_the_first_commit() {
    let Some(mut fleet) = Fleet::start("start") else {
        return;
    };
    let trades = Trades::new();
    // Produced before the table: `largest` leaves them out.
    trades.produce(0..100);
    let controller = fleet.node("controller", "controller");
    let broker = fleet.node("broker", "broker");
    let first = fleet.node("server-0", "server");
    let (status, body) = fleet.call(controller, "POST", "/schemas", &kafka::schema().to_string());
    assert_eq!(status, 200, "{body}");
    let mut table = kafka::table(
        &trades.topic,
        "trades",
        serde_json::json!({
            "realtime.segment.flush.threshold.segment.rows": "100000",
            "stream.kafka.consumer.prop.auto.offset.reset": "largest",
        }),
    );
    table["segmentsConfig"]["replicasPerPartition"] = "2".into();
    let (status, body) = fleet.call(controller, "POST", "/tables", &table.to_string());
    assert_eq!(status, 200, "{body}");
    // The lease holder records where it starts, before any segment.
    fleet.wait_until(SETTLE, "both partitions' starts recorded", |fleet| {
        fleet.metastore_checkpoints(REALTIME).values().sum::<i64>() == 100
    });
    trades.produce(100..200);
    fleet.wait_for_totals_of(broker, "stock_transactions", expected(100..200), SETTLE);
    // A replica joins later, when `largest` is past those 100 messages: it
    // starts where the holder did all the same.
    fleet.node("server-1", "server");
    two_consumers_each(&fleet);
    trades.produce(200..250);
    fleet.wait_for_totals_of(broker, "stock_transactions", expected(100..250), SETTLE);
    // With the holder gone, the replica alone answers, every row there.
    fleet.kill9(first);
    fleet.wait_until(SETTLE, "server-1 holding both leases", |fleet| {
        (0..2).all(|p| {
            fleet
                .lease_holder(REALTIME, p)
                .is_some_and(|(owner, _)| owner == "server-1")
        })
    });
    fleet.wait_for_totals_of(broker, "stock_transactions", expected(100..250), SETTLE);
    assert!(fleet.stream_segments(REALTIME).is_empty());
}

/// Segment → the servers the external view says hold it.
fn external_view(fleet: &Fleet, node: cluster_support::NodeRef) -> BTreeMap<String, Vec<String>> {
    let (status, view) = fleet.call(node, "GET", "/tables/trades/externalview", "");
    assert_eq!(status, 200, "{view}");
    let mut out = BTreeMap::new();
    for (segment, servers) in view["OFFLINE"].as_object().into_iter().flatten() {
        let mut holders: Vec<String> = Vec::new();
        for (server, state) in servers.as_object().into_iter().flatten() {
            assert_eq!(state, "ONLINE", "{view}");
            holders.push(server.clone());
        }
        out.insert(segment.clone(), holders);
    }
    out
}

#[test]
fn a_rebalance_after_adding_a_server_never_makes_a_query_partial() {
    let Some(mut fleet) = Fleet::start("moves") else {
        return;
    };
    let controller = fleet.node("controller", "controller");
    let first = fleet.node("server-0", "server");
    let broker = fleet.node("broker", "broker");
    fleet.create_table(controller, 1);
    for file in 0..6 {
        fleet.ingest(controller, file * FILE_ROWS..(file + 1) * FILE_ROWS);
    }
    let want = expected(0..6 * FILE_ROWS);
    fleet.wait_for_totals(broker, want, SETTLE);

    // The new server joins (which starts the moves) and a rebalance is
    // asked for too; every query meanwhile is whole.
    let second = fleet.node("server-1", "server");
    let (status, answer) = fleet.call(
        controller,
        "POST",
        "/tables/trades/rebalance?type=OFFLINE",
        "",
    );
    assert_eq!(status, 200, "{answer}");
    let deadline = Instant::now() + SETTLE;
    let mut queries = 0;
    loop {
        assert_eq!(fleet.totals(broker), want, "after {queries} queries");
        queries += 1;
        let held = (fleet.held_by(first), fleet.held_by(second));
        if held.0.len() == 3 && held.1.len() == 3 {
            let placement = fleet.placement();
            if placement.values().all(|holders| holders.len() == 1) {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the moves never finished: {held:?}\n{}",
            fleet.logs()
        );
    }
    for _ in 0..20 {
        assert_eq!(fleet.totals(broker), want);
    }

    // The external view is what the servers hold, as every node sees it.
    let mut held: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for server in [first, second] {
        for segment in fleet.held_by(server) {
            held.entry(segment).or_default().push(fleet.id(server));
        }
    }
    assert_eq!(held.len(), 6, "{held:?}");
    fleet.wait_until(SETTLE, "the external view to match the servers", |fleet| {
        external_view(fleet, broker) == held && external_view(fleet, controller) == held
    });
    for server in [first, second] {
        let (status, info) = fleet.call(
            broker,
            "GET",
            &format!("/instances/{}", fleet.id(server)),
            "",
        );
        assert_eq!(status, 200, "{info}");
        assert_eq!(info["numSegments"], 3, "{info}");
        assert_eq!(info["roles"], serde_json::json!(["server"]), "{info}");
        assert!(info["lastHeartbeatMillis"].as_u64().unwrap() > 0, "{info}");
    }
    let (status, plan) = fleet.call(
        controller,
        "POST",
        "/tables/trades/rebalance?type=OFFLINE&dryRun=true",
        "",
    );
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["status"], "NO_OP", "{plan}");

    // Each node's metrics tell its part.
    let metrics = |node| {
        let (status, text) = fleet.call(node, "GET", "/metrics", "");
        assert_eq!(status, 200);
        text.as_str().unwrap_or_default().to_string()
    };
    let text = metrics(broker);
    assert!(
        text.contains("gamay_cluster_node_role{role=\"broker\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("gamay_broker_queries_scattered_total"),
        "{text}"
    );
    assert!(
        text.contains("gamay_broker_server_request_duration_seconds_bucket{"),
        "{text}"
    );
    assert!(
        text.contains("gamay_broker_segments_missing_total"),
        "{text}"
    );
    let text = metrics(second);
    assert!(
        text.contains("gamay_deep_store_downloads_total 3"),
        "{text}"
    );
    assert!(
        text.contains("gamay_cluster_segments_held{table=\"trades_OFFLINE\"} 3"),
        "{text}"
    );
    let text = metrics(controller);
    assert!(text.contains("gamay_controller_leader 1"), "{text}");
    assert!(text.contains("gamay_deep_store_uploads_total 6"), "{text}");
}

#[test]
fn a_deleted_segment_leaves_every_broker_and_the_deep_store() {
    let Some(mut fleet) = Fleet::start("delete") else {
        return;
    };
    let controller = fleet.node("controller", "controller");
    let servers: Vec<_> = (0..2)
        .map(|i| fleet.node(&format!("server-{i}"), "server"))
        .collect();
    let brokers: Vec<_> = (0..2)
        .map(|i| fleet.node(&format!("broker-{i}"), "broker"))
        .collect();
    fleet.create_table(controller, 2);
    for file in 0..3 {
        fleet.ingest(controller, file * FILE_ROWS..(file + 1) * FILE_ROWS);
    }
    let want = expected(0..3 * FILE_ROWS);
    for broker in &brokers {
        fleet.wait_for_totals(*broker, want, SETTLE);
    }
    let placement = fleet.placement();
    let victim = placement.keys().next().unwrap().clone();
    assert!(fleet.in_deep_store("trades_OFFLINE", &victim));
    let (status, body) = fleet.call(
        controller,
        "DELETE",
        &format!("/segments/trades/{victim}"),
        "",
    );
    assert_eq!(status, 200, "{body}");

    // Every broker answers without its rows, and never partially.
    for broker in &brokers {
        fleet.wait_until(SETTLE, "the deleted segment's rows gone", |fleet| {
            fleet.totals(*broker).0 == 2 * FILE_ROWS
        });
    }
    fleet.wait_until(
        SETTLE,
        "the servers to drop it and the deep store to lose it",
        |fleet| {
            servers
                .iter()
                .all(|server| !fleet.held_by(*server).contains(&victim))
                && !fleet.in_deep_store("trades_OFFLINE", &victim)
                && !fleet.placement().contains_key(&victim)
        },
    );
    assert!(!external_view(&fleet, brokers[0]).contains_key(&victim));
    let (status, _) = fleet.call(
        controller,
        "DELETE",
        &format!("/segments/trades/{victim}"),
        "",
    );
    assert_eq!(status, 404, "a removed segment is gone from the records");
    for broker in &brokers {
        assert_eq!(fleet.totals(*broker).0, 2 * FILE_ROWS);
    }
}

#[test]
fn retention_removes_old_segments_across_the_cluster() {
    let Some(mut fleet) = Fleet::start("retention") else {
        return;
    };
    let controller = fleet.node("controller", "controller");
    let _server = fleet.node("server-0", "server");
    let broker = fleet.node("broker", "broker");
    fleet.create_table_with(
        controller,
        1,
        serde_json::json!({"retentionTimeUnit": "DAYS", "retentionTimeValue": "30"}),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // Sixty days old, then now.
    fleet.ingest_at(controller, 0..FILE_ROWS, now - 60 * 86_400_000);
    let old: Vec<String> = fleet.segment_states().into_keys().collect();
    assert!(
        old.len() <= 1,
        "the old segment is recorded, or already gone: {old:?}"
    );
    fleet.ingest_at(controller, FILE_ROWS..2 * FILE_ROWS, now);
    fleet.wait_for_totals(broker, expected(FILE_ROWS..2 * FILE_ROWS), SETTLE);
    fleet.wait_until(SETTLE, "only the recent segment placed", |fleet| {
        fleet.placement().len() == 1
    });
    // The old segment goes (record and file, as no server holds it), the
    // new one stays.
    fleet.wait_until(SETTLE, "the old segment's record and file gone", |fleet| {
        let states = fleet.segment_states();
        states.len() == 1
            && states.values().all(|state| state == "ONLINE")
            && old
                .iter()
                .all(|segment| !fleet.in_deep_store("trades_OFFLINE", segment))
    });
}

#[test]
fn a_deleted_table_leaves_the_records_the_servers_and_the_deep_store() {
    let Some(mut fleet) = Fleet::start("droptable") else {
        return;
    };
    let controller = fleet.node("controller", "controller");
    let _servers: Vec<_> = (0..2)
        .map(|i| fleet.node(&format!("server-{i}"), "server"))
        .collect();
    let broker = fleet.node("broker", "broker");
    fleet.create_table(controller, 2);
    for file in 0..2 {
        fleet.ingest(controller, file * FILE_ROWS..(file + 1) * FILE_ROWS);
    }
    fleet.wait_for_totals(broker, expected(0..2 * FILE_ROWS), SETTLE);
    let segments: Vec<String> = fleet.placement().keys().cloned().collect();
    assert_eq!(segments.len(), 2);
    fleet.wait_until(SETTLE, "both servers to report both segments", |fleet| {
        fleet.reported_loaded().len() == 4
    });
    let (status, body) = fleet.call(broker, "DELETE", "/tables/trades?type=OFFLINE", "");
    assert_eq!(status, 200, "{body}");
    fleet.wait_until(
        SETTLE,
        "the table's records, files and local data gone",
        |fleet| {
            fleet.segment_states().is_empty()
                && segments
                    .iter()
                    .all(|segment| !fleet.in_deep_store("trades_OFFLINE", segment))
                && fleet.reported_loaded().is_empty()
        },
    );
}

/// How long a partition's consumption takes to resume after its lease
/// holder dies: a measurement for BENCHMARKS.md, not a check of speed
/// (`cargo test --test cluster failover -- --ignored --nocapture`).
#[test]
#[ignore]
fn failover_of_a_partitions_consumption_is_measured() {
    let Some(mut fleet) = Fleet::start("failover") else {
        return;
    };
    let trades = Trades::new();
    let (topic, produce) = (&trades.topic, |ids| trades.produce(ids));
    let controller = fleet.node("controller", "controller");
    let broker = fleet.node("broker", "broker");
    fleet.node("server-0", "server");
    let (status, body) = fleet.call(controller, "POST", "/schemas", &kafka::schema().to_string());
    assert_eq!(status, 200, "{body}");
    let mut table = kafka::table(
        topic,
        "trades",
        serde_json::json!({"realtime.segment.flush.threshold.segment.rows": "200"}),
    );
    table["segmentsConfig"]["replicasPerPartition"] = "2".into();
    let (status, body) = fleet.call(controller, "POST", "/tables", &table.to_string());
    assert_eq!(status, 200, "{body}");
    fleet.node("server-1", "server");
    produce(0..1000);
    settled(&fleet, broker, 0..1000);
    let (holder, _) = holder_of(&fleet, 0);
    fleet.kill9(fleet.by_id(&holder));
    let killed = Instant::now();
    produce(1000..1100);
    let mut lease_moved = None;
    while lease_moved.is_none() && killed.elapsed() < SETTLE {
        if fleet
            .lease_holder(REALTIME, 0)
            .is_some_and(|(owner, _)| owner != holder)
        {
            lease_moved = Some(killed.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let lease_moved = lease_moved.expect("another server took the lease");
    fleet.wait_for_totals_of(broker, "stock_transactions", expected(0..1100), SETTLE);
    let answered = killed.elapsed();
    eprintln!(
        "failover: lease timeout {} s; partition 0's lease taken over {:.2} s after its holder was killed; rows produced after the kill answered through the broker after {:.2} s",
        cluster_support::LEASE_SECONDS,
        lease_moved.as_secs_f64(),
        answered.as_secs_f64()
    );
}

/// Keys of the upsert stream below.
const KEYS: i64 = 300;

/// Messages `ns` of an upsert stream: message `n` is a new version of key
/// `n % KEYS`, sent to partition `key % 2` (a topic partitioned by its
/// primary key), carrying `n` as `user_id` and a time that grows with `n`,
/// so each key's latest version is its largest `n`.
fn produce_versions(trades: &Trades, ns: std::ops::Range<i64>) {
    let mut by_partition: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for n in ns {
        let key = n % KEYS;
        let mut trade: serde_json::Value = serde_json::from_str(&kafka::trade(key)).unwrap();
        trade["user_id"] = json!(n);
        trade["update_at"] = json!(1_782_592_000_000i64 + n * 1000);
        by_partition
            .entry((key % 2) as i32)
            .or_default()
            .push(trade.to_string());
    }
    for (partition, payloads) in by_partition {
        kafka::produce(&trades.producer, "trades", &payloads, Some(partition));
    }
}

/// `COUNT(*)`, `SUM(user_id)` and `COUNT(DISTINCT id)` of the versions
/// queries see after messages `0..n`: each key's latest (upsert), or its
/// first (dedup).
fn latest_versions(n: i64, dedup: bool) -> (i64, i64, i64) {
    let keys = n.min(KEYS);
    let sum = (0..keys)
        .map(|key| {
            if dedup {
                key
            } else {
                key + (n - 1 - key) / KEYS * KEYS
            }
        })
        .sum();
    (keys, sum, keys)
}

/// The broker's `latest_versions`, or the partial answer.
fn version_totals(
    fleet: &Fleet,
    broker: cluster_support::NodeRef,
) -> Result<(i64, i64, i64), serde_json::Value> {
    fleet.try_triple(
        broker,
        "SELECT COUNT(*), SUM(user_id), COUNT(DISTINCT id) FROM stock_transactions",
    )
}

/// Waits until the broker answers the latest versions after `0..n`, then
/// asks again and again: an answer may lag (a replica) or be reported
/// partial, but never counts a key twice or a version past the latest.
fn versions_settled(fleet: &Fleet, broker: cluster_support::NodeRef, n: i64, dedup: bool) {
    let want = latest_versions(n, dedup);
    let deadline = Instant::now() + SETTLE;
    loop {
        let got = version_totals(fleet, broker);
        if got.as_ref().is_ok_and(|got| *got == want) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never answered {want:?}; last {got:?}\n{}",
            fleet.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for _ in 0..12 {
        within(fleet, version_totals(fleet, broker), want);
    }
}

#[test]
fn an_upsert_table_answers_each_keys_latest_version_across_a_dead_lease_holder() {
    keyed_table_across_a_dead_lease_holder(false);
}

#[test]
fn a_dedup_table_keeps_each_keys_first_version_across_a_dead_lease_holder() {
    keyed_table_across_a_dead_lease_holder(true);
}

/// Versions of 300 keys through an upsert (or dedup) table with two
/// consumers per partition on three servers, across a dead lease holder
/// and a replica that follows commits it did not make.
fn keyed_table_across_a_dead_lease_holder(dedup: bool) {
    let Some(mut fleet) = Fleet::start(if dedup { "dedup" } else { "upsert" }) else {
        return;
    };
    let trades = Trades::new();
    let controller = fleet.node("controller", "controller");
    let broker = fleet.node("broker", "broker");
    for i in 0..3 {
        fleet.node(&format!("server-{i}"), "server");
    }
    let mut schema = kafka::schema();
    schema["primaryKeyColumns"] = json!(["id"]);
    let (status, body) = fleet.call(controller, "POST", "/schemas", &schema.to_string());
    assert_eq!(status, 200, "{body}");
    let mut table = kafka::table(
        &trades.topic,
        "trades",
        json!({"realtime.segment.flush.threshold.segment.rows": "150"}),
    );
    table["segmentsConfig"]["replicasPerPartition"] = "2".into();
    if dedup {
        table["dedupConfig"] = json!({"dedupEnabled": true});
    } else {
        table["upsertConfig"] = json!({"mode": "FULL"});
    }
    table["routing"] = json!({"instanceSelectorType": "strictReplicaGroup"});
    let (status, body) = fleet.call(controller, "POST", "/tables", &table.to_string());
    assert_eq!(status, 200, "{body}");
    two_consumers_each(&fleet);

    produce_versions(&trades, 0..1200);
    versions_settled(&fleet, broker, 1200, dedup);
    // Each committed segment is held by its partition's consumers, so
    // each of them has the partition's whole history.
    fleet.wait_until(SETTLE, "segments on their partition's consumers", |fleet| {
        let consumers = fleet.partition_consumers(REALTIME);
        let placed: Vec<(String, Vec<String>)> = fleet
            .placement()
            .into_iter()
            .filter(|(segment, _)| segment.starts_with("stock_transactions__"))
            .collect();
        !placed.is_empty()
            && placed.iter().all(|(segment, servers)| {
                let partition: i32 = segment.split("__").nth(1).unwrap().parse().unwrap();
                consumers.get(&partition) == Some(servers)
            })
    });

    // Partition 0's lease holder dies with versions only in its consuming
    // segment: the other consumer takes the lease and carries on from the
    // checkpoint with the same key state.
    produce_versions(&trades, 1200..1290);
    let (holder, _) = holder_of(&fleet, 0);
    fleet.kill9(fleet.by_id(&holder));
    produce_versions(&trades, 1290..2400);
    fleet.wait_until(
        SETTLE,
        "another server taking partition 0's lease",
        |fleet| {
            fleet
                .lease_holder(REALTIME, 0)
                .is_some_and(|(owner, _)| owner != holder)
        },
    );
    versions_settled(&fleet, broker, 2400, dedup);
    if !dedup {
        // A dedup table's segments hold fewer rows than offsets.
        assert!(assert_each_offset_once(&fleet) >= 1500);
    }

    // A replica that follows a commit it did not make swaps its own rows
    // for the committed segment: later versions still replace them.
    fleet.wait_until(SETTLE, "two live consumers per partition", |fleet| {
        let consumers = fleet.partition_consumers(REALTIME);
        consumers.len() == 2
            && consumers
                .values()
                .all(|servers| servers.len() == 2 && !servers.contains(&holder))
    });
    produce_versions(&trades, 2400..3000);
    versions_settled(&fleet, broker, 3000, dedup);
}
