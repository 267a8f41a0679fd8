//! Two-phase moves against the local metastore: servers are nodes that
//! beat, "loading" is a report, and each round is what the leader does
//! when the metastore announces a change.

use std::collections::BTreeSet;
use std::time::Duration;

use super::*;
use crate::metastore::local::LocalMetastore;
use crate::metastore::{Node, SegmentRecord};

const TABLE: &str = "trades_OFFLINE";
const TIMEOUT: Duration = Duration::from_secs(3600);

fn open() -> (tempfile::TempDir, LocalMetastore) {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalMetastore::open(dir.path()).unwrap();
    (dir, store)
}

async fn join(store: &LocalMetastore, id: &str) {
    let node = Node {
        id: id.into(),
        url: format!("http://{id}"),
        roles: vec![SERVER_ROLE.into()],
    };
    store.heartbeat(&node).await.unwrap();
}

async fn record(store: &LocalMetastore, names: &[String]) {
    for name in names {
        let record = SegmentRecord {
            table: TABLE.into(),
            segment: name.clone(),
            partition: None,
            offsets: None,
            time_range: None,
            rows: 1,
            size_bytes: 1,
            crc: 0,
            uri: format!("file:///deep/{TABLE}/{name}"),
            state: SegmentState::Online,
        };
        store.record_segment(&record).await.unwrap();
    }
}

/// Every server loads what it is assigned and drops what it is not, as
/// `holdings.rs` does, reporting each.
async fn servers_follow(store: &LocalMetastore) {
    let routing = store.routing().await.unwrap();
    let view = store.external_view(TIMEOUT).await.unwrap();
    let assigned = routing.get(TABLE).cloned().unwrap_or_default();
    let loaded = view.get(TABLE).cloned().unwrap_or_default();
    for server in live_servers(store, TIMEOUT).await.unwrap() {
        let wants: Vec<String> = assigned
            .iter()
            .filter(|(_, holders)| holders.contains(&server))
            .map(|(segment, _)| segment.clone())
            .collect();
        let extra: Vec<String> = loaded
            .iter()
            .filter(|(segment, holders)| holders.contains(&server) && !wants.contains(segment))
            .map(|(segment, _)| segment.clone())
            .collect();
        store
            .report_loaded(&server, TABLE, &wants, &extra)
            .await
            .unwrap();
    }
}

fn names(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("s{i}")).collect()
}

async fn loaded_count(store: &LocalMetastore, segment: &str) -> usize {
    let view = store.external_view(TIMEOUT).await.unwrap();
    view.get(TABLE)
        .and_then(|segments| segments.get(segment))
        .map_or(0, Vec::len)
}

#[tokio::test]
async fn a_joining_server_gains_segments_before_the_old_holders_let_go() {
    let (_dir, store) = open();
    let segments = names(6);
    record(&store, &segments).await;
    join(&store, "a").await;
    join(&store, "b").await;
    let two = |_: &str| Wanted::replicas(2);
    round(&store, TIMEOUT, &two, None, false).await.unwrap();
    servers_follow(&store).await;
    for segment in &segments {
        assert_eq!(loaded_count(&store, segment).await, 2);
    }

    join(&store, "c").await;
    let first = round(&store, TIMEOUT, &two, None, false).await.unwrap();
    assert!(!first.moves.is_empty(), "c takes a share");
    assert!(first.in_progress > 0);
    // Phase one: c is added, nobody is removed yet.
    let routing = store.routing().await.unwrap();
    let moving: Vec<&String> = routing[TABLE]
        .iter()
        .filter(|(_, holders)| holders.contains(&"c".to_string()))
        .map(|(segment, _)| segment)
        .collect();
    assert!(!moving.is_empty());
    for segment in &moving {
        assert_eq!(routing[TABLE][*segment].len(), 3, "{routing:?}");
    }
    // A round before c loads anything changes nothing.
    let again = round(&store, TIMEOUT, &two, None, false).await.unwrap();
    assert_eq!(store.routing().await.unwrap(), routing);
    assert_eq!(again.in_progress, first.in_progress);

    // Rounds and loads alternate until it settles; no segment ever has
    // fewer than two loaded replicas.
    for _ in 0..4 {
        servers_follow(&store).await;
        for segment in &segments {
            assert!(loaded_count(&store, segment).await >= 2);
        }
        round(&store, TIMEOUT, &two, None, false).await.unwrap();
        for segment in &segments {
            assert!(loaded_count(&store, segment).await >= 2);
        }
    }
    servers_follow(&store).await;
    let settled = round(&store, TIMEOUT, &two, None, false).await.unwrap();
    assert!(settled.moves.is_empty(), "{settled:?}");
    assert_eq!(settled.in_progress, 0);
    let routing = store.routing().await.unwrap();
    let mut per_server = BTreeMap::new();
    for holders in routing[TABLE].values() {
        assert_eq!(holders.len(), 2);
        for holder in holders {
            *per_server.entry(holder.clone()).or_insert(0) += 1;
        }
    }
    assert_eq!(per_server.len(), 3, "{per_server:?}");
    assert!(per_server.values().all(|count| *count == 4));
}

#[tokio::test]
async fn a_dead_servers_segments_are_placed_again_at_once() {
    let (_dir, store) = open();
    let segments = names(4);
    record(&store, &segments).await;
    join(&store, "a").await;
    join(&store, "b").await;
    let one = |_: &str| Wanted::replicas(1);
    round(&store, TIMEOUT, &one, None, false).await.unwrap();
    servers_follow(&store).await;
    store.leave("a").await.unwrap();
    let done = round(&store, TIMEOUT, &one, None, false).await.unwrap();
    assert_eq!(done.in_progress, 0, "nothing waits for a dead server");
    let routing = store.routing().await.unwrap();
    for segment in &segments {
        assert_eq!(routing[TABLE][segment], ["b"]);
    }
    // The dead server's reports are gone too.
    let view = store.external_view(Duration::MAX).await.unwrap();
    assert!(view[TABLE].values().all(|holders| holders == &["b"]));
}

#[tokio::test]
async fn a_dry_run_shows_the_moves_and_writes_nothing() {
    let (_dir, store) = open();
    record(&store, &names(4)).await;
    join(&store, "a").await;
    let one = |_: &str| Wanted::replicas(1);
    round(&store, TIMEOUT, &one, None, false).await.unwrap();
    servers_follow(&store).await;
    join(&store, "b").await;
    let before = store.routing().await.unwrap();
    let dry = round(&store, TIMEOUT, &one, None, true).await.unwrap();
    assert_eq!(dry.moves[TABLE].len(), 2, "{dry:?}");
    for change in &dry.moves[TABLE] {
        assert_eq!(
            (change.gain.as_slice(), change.lose.as_slice()),
            (&["b".to_string()][..], &["a".to_string()][..])
        );
    }
    assert_eq!(store.routing().await.unwrap(), before);
}

#[tokio::test]
async fn deleted_segments_leave_the_routing_and_go_once_nobody_holds_them() {
    let (_dir, store) = open();
    record(&store, &names(2)).await;
    join(&store, "a").await;
    let one = |_: &str| Wanted::replicas(1);
    round(&store, TIMEOUT, &one, None, false).await.unwrap();
    servers_follow(&store).await;
    store
        .set_segment_state(TABLE, "s0", SegmentState::Deleting)
        .await
        .unwrap();
    assert!(
        deletable(&store, TIMEOUT).await.unwrap().is_empty(),
        "a still holds s0"
    );
    round(&store, TIMEOUT, &one, None, false).await.unwrap();
    assert!(!store.routing().await.unwrap()[TABLE].contains_key("s0"));
    servers_follow(&store).await;
    assert_eq!(
        deletable(&store, TIMEOUT).await.unwrap(),
        [(TABLE.to_string(), "s0".to_string())]
    );
}

#[test]
fn a_move_keeps_loaded_old_holders_until_the_new_ones_load() {
    let live: BTreeSet<&str> = ["a", "b", "c"].into_iter().collect();
    let s = |ids: &[&str]| ids.iter().map(|id| id.to_string()).collect::<Vec<_>>();
    // b is new and not loaded: a stays.
    assert_eq!(
        phase(&s(&["a"]), &s(&["b"]), &s(&["a"]), &live),
        s(&["a", "b"])
    );
    // b loaded: a goes.
    assert_eq!(
        phase(&s(&["a", "b"]), &s(&["b"]), &s(&["a", "b"]), &live),
        s(&["b"])
    );
    // An old holder that never loaded it, or is dead, is not waited for.
    assert_eq!(
        phase(&s(&["a", "x"]), &s(&["b"]), &s(&["x"]), &live),
        s(&["b"])
    );
    // Mid-move, placement starts from the new holders.
    assert_eq!(settled(&s(&["a", "b"]), &s(&["a"]), &live, 1), s(&["b"]));
    assert_eq!(
        settled(&s(&["a", "b", "c"]), &s(&["a", "b"]), &live, 2),
        s(&["a", "c"])
    );
}

#[tokio::test]
async fn an_upsert_tables_segments_follow_their_partitions_consumers() {
    let (_dir, store) = open();
    for id in ["a", "b", "c", "d"] {
        join(&store, id).await;
    }
    for (i, name) in names(6).iter().enumerate() {
        let record = SegmentRecord {
            table: TABLE.into(),
            segment: name.clone(),
            partition: Some((i % 2) as i32),
            offsets: None,
            time_range: None,
            rows: 10,
            size_bytes: 1,
            crc: 0,
            uri: format!("file:///deep/{TABLE}/{name}"),
            state: SegmentState::Online,
        };
        store.record_segment(&record).await.unwrap();
    }
    let consumers = |first: [&str; 2], second: [&str; 2]| {
        BTreeMap::from([
            (0, first.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            (1, second.iter().map(|s| s.to_string()).collect()),
        ])
    };
    store
        .assign_partitions(TABLE, &consumers(["a", "b"], ["c", "d"]))
        .await
        .unwrap();
    let keyed = |_: &str| Wanted {
        replicas: 2,
        by_partition: true,
    };
    let placed = |routing: &crate::metastore::Routing| -> Vec<(String, Vec<String>)> {
        routing[TABLE]
            .iter()
            .map(|(s, h)| (s.clone(), h.clone()))
            .collect()
    };
    round(&store, TIMEOUT, &keyed, None, false).await.unwrap();
    for (segment, holders) in placed(&store.routing().await.unwrap()) {
        let partition = segment[1..].parse::<usize>().unwrap() % 2;
        let want = if partition == 0 {
            ["a", "b"]
        } else {
            ["c", "d"]
        };
        assert_eq!(holders, want, "{segment}");
    }
    // Partition 0 moves from b to c: c loads its segments before b lets go.
    store
        .assign_partitions(TABLE, &consumers(["a", "c"], ["c", "d"]))
        .await
        .unwrap();
    servers_follow(&store).await;
    round(&store, TIMEOUT, &keyed, None, false).await.unwrap();
    let moving = placed(&store.routing().await.unwrap());
    assert!(moving
        .iter()
        .filter(|(segment, _)| segment == "s0")
        .all(|(_, holders)| holders == &["a", "b", "c"]));
    servers_follow(&store).await;
    round(&store, TIMEOUT, &keyed, None, false).await.unwrap();
    for (segment, holders) in placed(&store.routing().await.unwrap()) {
        let partition = segment[1..].parse::<usize>().unwrap() % 2;
        let want = if partition == 0 {
            ["a", "c"]
        } else {
            ["c", "d"]
        };
        assert_eq!(holders, want, "{segment}");
    }
}
