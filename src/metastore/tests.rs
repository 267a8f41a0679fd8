//! The metastore against a real PostgreSQL (`GAMAY_TEST_POSTGRES`, which
//! `tests/services.sh` starts); each test works in a schema of its own.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio_postgres::NoTls;

use super::migrations;
use super::postgres::PgMetastore;
use super::{Commit, Error, Node, SegmentRecord, SegmentState};

/// The database URL and a fresh schema's name, or `None` when no
/// PostgreSQL is configured (a failure under `GAMAY_REQUIRE_SERVICES=1`).
async fn fresh_schema() -> Option<(String, String)> {
    let Ok(url) = std::env::var("GAMAY_TEST_POSTGRES") else {
        assert!(
            std::env::var("GAMAY_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "GAMAY_TEST_POSTGRES is not set: run the tests through tests/run"
        );
        return None;
    };
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let schema = format!(
        "gamay_meta_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let (client, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .await
        .unwrap();
    Some((url, schema))
}

async fn open(url: &str, schema: &str) -> Result<PgMetastore, Error> {
    let mut config: tokio_postgres::Config = url.parse().unwrap();
    config.options(format!("-c search_path={schema}"));
    PgMetastore::connect_with(config).await
}

fn segment(name: &str, partition: i32, start: i64, end: i64) -> SegmentRecord {
    SegmentRecord {
        table: "trades_REALTIME".into(),
        segment: name.into(),
        partition: Some(partition),
        offsets: Some((start, end)),
        time_range: Some((1_700_000_000_000, 1_700_000_060_000)),
        rows: end - start,
        size_bytes: 4096,
        crc: 0x1234_5678,
        uri: format!("s3://lake/trades/{name}"),
        state: SegmentState::Online,
    }
}

const LONG: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn the_schema_is_created_once_and_a_newer_one_refused() {
    let Some((url, schema)) = fresh_schema().await else {
        return;
    };
    // Several nodes starting together apply each step once.
    let (a, b, c) = tokio::join!(
        open(&url, &schema),
        open(&url, &schema),
        open(&url, &schema)
    );
    let store = a.unwrap();
    b.unwrap();
    c.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), migrations::latest());
    assert!(store.segments("trades_REALTIME").await.unwrap().is_empty());

    let (client, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "UPDATE {schema}.gamay_metastore_version SET version = version + 1"
        ))
        .await
        .unwrap();
    let err = open(&url, &schema).await.err().unwrap();
    assert!(matches!(err, Error::NewerSchema { .. }), "{err}");
    assert!(err.to_string().contains("upgrade Gamay"), "{err}");
}

#[tokio::test]
async fn a_lease_goes_to_one_owner_at_a_time_and_each_grant_raises_the_epoch() {
    let Some((url, schema)) = fresh_schema().await else {
        return;
    };
    let store = open(&url, &schema).await.unwrap();
    let other = open(&url, &schema).await.unwrap();

    // Two servers race for the same partition: one wins.
    let (first, second) = tokio::join!(
        store.acquire_lease("trades_REALTIME", 0, "server-a", LONG),
        other.acquire_lease("trades_REALTIME", 0, "server-b", LONG)
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert!(first.is_some() != second.is_some(), "{first:?} {second:?}");
    let (winner, loser) = match &first {
        Some(_) => ("server-a", "server-b"),
        None => ("server-b", "server-a"),
    };
    let lease = first.or(second).unwrap();
    assert_eq!((lease.owner.as_str(), lease.epoch), (winner, 1));
    assert!(store.renew_lease(&lease).await.unwrap());
    assert_eq!(
        store
            .acquire_lease("trades_REALTIME", 0, loser, LONG)
            .await
            .unwrap(),
        None
    );
    // Another partition is free.
    let other_partition = store
        .acquire_lease("trades_REALTIME", 1, loser, LONG)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other_partition.epoch, 1);

    // The holder restarts: its new grant fences the old one.
    let again = store
        .acquire_lease("trades_REALTIME", 0, winner, LONG)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.epoch, 2);
    assert!(!store.renew_lease(&lease).await.unwrap());

    // An expired lease goes to whoever asks next.
    let short = store
        .acquire_lease("trades_REALTIME", 0, winner, Duration::ZERO)
        .await
        .unwrap()
        .unwrap();
    let taken = other
        .acquire_lease("trades_REALTIME", 0, loser, LONG)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (taken.owner.as_str(), taken.epoch),
        (loser, short.epoch + 1)
    );
}

#[tokio::test]
async fn a_commit_takes_effect_only_under_the_current_lease() {
    let Some((url, schema)) = fresh_schema().await else {
        return;
    };
    let mut store = open(&url, &schema).await.unwrap();
    let mut other = open(&url, &schema).await.unwrap();
    let stale = store
        .acquire_lease("trades_REALTIME", 3, "server-a", Duration::ZERO)
        .await
        .unwrap()
        .unwrap();
    let current = other
        .acquire_lease("trades_REALTIME", 3, "server-b", LONG)
        .await
        .unwrap()
        .unwrap();

    // The stalled first owner's commit changes nothing.
    let first = segment("trades__3__0", 3, 0, 1000);
    assert_eq!(
        store.commit_segment(&stale, &first).await.unwrap(),
        Commit::Fenced
    );
    assert_eq!(store.checkpoint("trades_REALTIME", 3).await.unwrap(), None);
    assert!(store.segments("trades_REALTIME").await.unwrap().is_empty());

    // The current owner's commit records the segment and the checkpoint.
    assert_eq!(
        other.commit_segment(&current, &first).await.unwrap(),
        Commit::Committed
    );
    assert_eq!(
        store.checkpoint("trades_REALTIME", 3).await.unwrap(),
        Some(1000)
    );
    assert_eq!(
        store.segments("trades_REALTIME").await.unwrap(),
        vec![first.clone()]
    );

    // The same segment again, a gap and an overlap are refused.
    let err = other.commit_segment(&current, &first).await.err().unwrap();
    assert!(
        matches!(
            err,
            Error::OutOfOrder {
                checkpoint: 1000,
                ..
            }
        ),
        "{err}"
    );
    let mut again = first.clone();
    again.offsets = Some((1000, 1500));
    let err = other.commit_segment(&current, &again).await.err().unwrap();
    assert!(matches!(err, Error::Duplicate { .. }), "{err}");
    let gap = segment("trades__3__1", 3, 1200, 2000);
    let err = other.commit_segment(&current, &gap).await.err().unwrap();
    assert!(
        err.to_string()
            .contains("must start where the last one ended"),
        "{err}"
    );

    let next = segment("trades__3__1", 3, 1000, 2000);
    assert_eq!(
        other.commit_segment(&current, &next).await.unwrap(),
        Commit::Committed
    );
    assert_eq!(
        store.checkpoint("trades_REALTIME", 3).await.unwrap(),
        Some(2000)
    );
    assert_eq!(store.segments("trades_REALTIME").await.unwrap().len(), 2);

    // A record of another partition does not go under this lease.
    let elsewhere = segment("trades__4__0", 4, 0, 10);
    assert!(matches!(
        other.commit_segment(&current, &elsewhere).await,
        Err(Error::OtherLease { .. })
    ));
}

fn node(id: &str) -> Node {
    Node {
        id: id.into(),
        url: format!("http://{id}:9000"),
        roles: vec!["server".into()],
    }
}

#[tokio::test]
async fn nodes_are_live_while_they_beat_and_gone_when_they_leave() {
    let Some((url, schema)) = fresh_schema().await else {
        return;
    };
    let store = open(&url, &schema).await.unwrap();
    for id in ["server-b", "server-a"] {
        store.heartbeat(&node(id)).await.unwrap();
    }
    let mut moved = node("server-b");
    moved.url = "http://10.0.0.7:9000".into();
    moved.roles = vec!["server".into(), "broker".into()];
    store.heartbeat(&moved).await.unwrap();
    assert_eq!(
        store.live_nodes(LONG).await.unwrap(),
        vec![node("server-a"), moved]
    );
    // A heartbeat older than the timeout is a dead node.
    assert!(store.live_nodes(Duration::ZERO).await.unwrap().is_empty());
    store.leave("server-a").await.unwrap();
    let live: Vec<String> = store
        .live_nodes(LONG)
        .await
        .unwrap()
        .into_iter()
        .map(|node| node.id)
        .collect();
    assert_eq!(live, ["server-b"]);
}

#[tokio::test]
async fn an_assignment_replaces_the_holders_of_a_recorded_segment() {
    let Some((url, schema)) = fresh_schema().await else {
        return;
    };
    let mut store = open(&url, &schema).await.unwrap();
    let lease = store
        .acquire_lease("trades_REALTIME", 0, "server-a", LONG)
        .await
        .unwrap()
        .unwrap();
    for (name, start, end) in [("trades__0__0", 0, 10), ("trades__0__1", 10, 20)] {
        let record = segment(name, 0, start, end);
        assert_eq!(
            store.commit_segment(&lease, &record).await.unwrap(),
            Commit::Committed
        );
    }
    let servers = |ids: &[&str]| ids.iter().map(|id| id.to_string()).collect::<Vec<_>>();
    store
        .assign("trades_REALTIME", "trades__0__0", &servers(&["s1", "s2"]))
        .await
        .unwrap();
    store
        .assign("trades_REALTIME", "trades__0__1", &servers(&["s2", "s3"]))
        .await
        .unwrap();
    store
        .assign(
            "trades_REALTIME",
            "trades__0__0",
            &servers(&["s3", "s1", "s3"]),
        )
        .await
        .unwrap();
    let assigned = store.assignments("trades_REALTIME").await.unwrap();
    assert_eq!(assigned["trades__0__0"], servers(&["s1", "s3"]));
    assert_eq!(assigned["trades__0__1"], servers(&["s2", "s3"]));
    assert!(store.assignments("other_OFFLINE").await.unwrap().is_empty());
    let routing = store.routing().await.unwrap();
    assert_eq!(routing.len(), 1);
    assert_eq!(routing["trades_REALTIME"], assigned);

    // A segment nobody recorded cannot be assigned, and the failed
    // transaction leaves the earlier assignment.
    let err = store
        .assign("trades_REALTIME", "trades__0__9", &servers(&["s1"]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unrecorded { .. }), "{err}");
    assert_eq!(
        store.assignments("trades_REALTIME").await.unwrap(),
        assigned
    );
}

#[tokio::test]
async fn an_older_schema_is_migrated_step_by_step() {
    let Some((url, schema)) = fresh_schema().await else {
        return;
    };
    let (client, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
    tokio::spawn(connection);
    // A database a build of schema version 1 made, holding a segment.
    client
        .batch_execute(&format!(
            "SET search_path = {schema};
             CREATE TABLE gamay_metastore_version (version INTEGER NOT NULL);
             INSERT INTO gamay_metastore_version VALUES (1);
             {}
             INSERT INTO gamay_segments (table_name, segment_name, num_rows, size_bytes, crc, uri, state)
             VALUES ('t_OFFLINE', 's0', 5, 100, 1, 'file:///deep/t_OFFLINE/s0', 'ONLINE');",
            migrations::STEPS[0]
        ))
        .await
        .unwrap();
    let mut store = open(&url, &schema).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), migrations::latest());
    assert_eq!(store.segments("t_OFFLINE").await.unwrap().len(), 1);
    store
        .assign("t_OFFLINE", "s0", &["s1".to_string()])
        .await
        .unwrap();
    assert_eq!(store.assignments("t_OFFLINE").await.unwrap()["s0"], ["s1"]);
}
