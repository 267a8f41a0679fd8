//! What every [`Metastore`] does, written once and run on each
//! implementation through [`conformance_tests!`]. Each check gets two
//! handles on one metastore, as two nodes see it: for the local metastore
//! both are the same instance; for PostgreSQL two connected metastores.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{
    CatalogEntry, CatalogKind, Commit, ConnectorRecord, Error, Lease, Loaded, Metastore, Node,
    SegmentRecord, SegmentState, StreamChange, StreamControl,
};

/// A metastore under test, as two nodes see it, with whatever must live
/// as long as it (a temporary directory).
pub struct Subject {
    pub first: Arc<dyn Metastore>,
    pub second: Arc<dyn Metastore>,
    pub _keep: Option<tempfile::TempDir>,
}

/// One `#[tokio::test]` per check below, on the metastores `$open` (an
/// async fn returning `Option<Subject>`, `None` to skip) gives.
macro_rules! conformance_tests {
    ($open:path) => {
        $crate::metastore::conformance::conformance_tests!(@each $open;
            catalog_entries_are_put_replaced_and_removed,
            a_recorded_segment_needs_no_lease_and_a_commit_the_current_one,
            a_segment_changes_state_and_leaves_with_its_assignments,
            checkpoints_follow_each_partitions_commits,
            skipped_offsets_move_the_checkpoint_only_forward_under_the_lease,
            a_lease_goes_to_one_owner_at_a_time_and_each_grant_raises_the_epoch,
            a_released_or_expired_lease_goes_to_the_next_owner,
            nodes_are_live_while_they_beat_and_gone_when_they_leave,
            an_assignment_replaces_the_holders_of_a_recorded_segment,
            a_partition_assignment_replaces_the_tables_consumers,
            the_external_view_is_what_live_servers_report_loaded,
            connectors_keep_their_state_across_config_changes,
            consumption_controls_count_each_change,
            the_change_counter_moves_on_every_change,
        );
    };
    (@each $open:path; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                let Some(subject) = $open().await else {
                    return;
                };
                $crate::metastore::conformance::$check(&*subject.first, &*subject.second).await;
            }
        )*
    };
}
pub(crate) use conformance_tests;

pub const TABLE: &str = "trades_REALTIME";
pub const LONG: Duration = Duration::from_secs(3600);
/// A guard against a hang, not a timing: a change reaches the other
/// node's counter in milliseconds.
const NOTICE_DEADLINE: Duration = Duration::from_secs(10);

pub fn segment(name: &str, partition: i32, start: i64, end: i64) -> SegmentRecord {
    SegmentRecord {
        table: TABLE.into(),
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

fn offline(name: &str) -> SegmentRecord {
    SegmentRecord {
        table: "trades_OFFLINE".into(),
        segment: name.into(),
        partition: None,
        offsets: None,
        time_range: None,
        rows: 10,
        size_bytes: 100,
        crc: 7,
        uri: format!("file:///deep/trades_OFFLINE/{name}"),
        state: SegmentState::Online,
    }
}

fn node(id: &str) -> Node {
    Node {
        id: id.into(),
        url: format!("http://{id}:9000"),
        roles: vec!["server".into()],
    }
}

fn servers(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

fn entry(kind: CatalogKind, name: &str, json: &str) -> CatalogEntry {
    CatalogEntry {
        kind,
        name: name.into(),
        json: json.into(),
    }
}

async fn lease(store: &dyn Metastore, partition: i32, owner: &str) -> Lease {
    store
        .acquire_lease(TABLE, partition, owner, LONG)
        .await
        .unwrap()
        .unwrap()
}

pub async fn catalog_entries_are_put_replaced_and_removed(a: &dyn Metastore, b: &dyn Metastore) {
    assert!(a.catalog().await.unwrap().is_empty());
    let table = entry(
        CatalogKind::Table,
        "trades_OFFLINE",
        r#"{"tableName":"trades"}"#,
    );
    let schema = entry(CatalogKind::Schema, "trades", r#"{"schemaName":"trades"}"#);
    a.put_catalog(&table).await.unwrap();
    a.put_catalog(&schema).await.unwrap();
    // By kind (schemas first), then name; the JSON as given, byte for byte.
    assert_eq!(b.catalog().await.unwrap(), [schema.clone(), table.clone()]);

    let replaced = entry(
        CatalogKind::Table,
        "trades_OFFLINE",
        "{\n  \"tableName\": \"trades_OFFLINE\"\n}",
    );
    b.put_catalog(&replaced).await.unwrap();
    assert_eq!(a.catalog().await.unwrap(), [schema.clone(), replaced]);

    // A schema and a table may share a name; removing one leaves the other.
    let same_name = entry(CatalogKind::Table, "trades", "{}");
    a.put_catalog(&same_name).await.unwrap();
    a.remove_catalog(CatalogKind::Table, "trades_OFFLINE")
        .await
        .unwrap();
    a.remove_catalog(CatalogKind::Table, "trades")
        .await
        .unwrap();
    assert_eq!(b.catalog().await.unwrap(), [schema]);
    // Removing what is not there is not an error.
    a.remove_catalog(CatalogKind::Table, "trades")
        .await
        .unwrap();
}

pub async fn a_recorded_segment_needs_no_lease_and_a_commit_the_current_one(
    a: &dyn Metastore,
    b: &dyn Metastore,
) {
    // OFFLINE segments are recorded without a lease, each name once.
    a.record_segment(&offline("s1")).await.unwrap();
    a.record_segment(&offline("s0")).await.unwrap();
    let err = b.record_segment(&offline("s0")).await.unwrap_err();
    assert!(matches!(err, Error::Duplicate { .. }), "{err}");
    // A record with offsets goes only through a commit.
    let err = a
        .record_segment(&segment("trades__0__0", 0, 0, 10))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Offsets(_)), "{err}");
    assert!(a.segments(TABLE).await.unwrap().is_empty());
    // Several at once are all recorded, or none: a batch with one name
    // already taken leaves the others out.
    let err = a
        .record_segments(&[offline("s2"), offline("s1"), offline("s3")])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Duplicate { .. }), "{err}");
    let names = |records: Vec<SegmentRecord>| -> Vec<String> {
        records.into_iter().map(|record| record.segment).collect()
    };
    assert_eq!(
        names(a.all_segments().await.unwrap()),
        vec!["s0".to_string(), "s1".to_string()]
    );
    a.record_segments(&[offline("s2"), offline("s3")])
        .await
        .unwrap();
    assert_eq!(b.all_segments().await.unwrap().len(), 4);
    for name in ["s2", "s3"] {
        assert!(a.remove_segment(&offline(name).table, name).await.unwrap());
    }

    let stale = a
        .acquire_lease(TABLE, 3, "server-a", Duration::ZERO)
        .await
        .unwrap()
        .unwrap();
    let current = lease(b, 3, "server-b").await;

    // The stalled first owner's commit changes nothing.
    let first = segment("trades__3__0", 3, 0, 1000);
    assert_eq!(
        a.commit_segment(&stale, &first).await.unwrap(),
        Commit::Fenced
    );
    assert_eq!(a.checkpoint(TABLE, 3).await.unwrap(), None);
    assert!(a.segments(TABLE).await.unwrap().is_empty());

    // The current owner's commit records the segment and the checkpoint.
    assert_eq!(
        b.commit_segment(&current, &first).await.unwrap(),
        Commit::Committed
    );
    assert_eq!(a.checkpoint(TABLE, 3).await.unwrap(), Some(1000));
    assert_eq!(
        a.segments(TABLE).await.unwrap(),
        std::slice::from_ref(&first)
    );

    // The same segment again, a reused name, a gap and an overlap are refused.
    let err = b.commit_segment(&current, &first).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::OutOfOrder {
                checkpoint: 1000,
                start: 0,
                ..
            }
        ),
        "{err}"
    );
    let mut again = first.clone();
    again.offsets = Some((1000, 1500));
    let err = b.commit_segment(&current, &again).await.unwrap_err();
    assert!(matches!(err, Error::Duplicate { .. }), "{err}");
    let gap = segment("trades__3__1", 3, 1200, 2000);
    let err = b.commit_segment(&current, &gap).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("must start where the last one ended"),
        "{err}"
    );
    let overlap = segment("trades__3__1", 3, 900, 2000);
    let err = b.commit_segment(&current, &overlap).await.unwrap_err();
    assert!(matches!(err, Error::OutOfOrder { .. }), "{err}");
    // A fenced commit is fenced before its offsets are looked at.
    assert_eq!(
        a.commit_segment(&stale, &gap).await.unwrap(),
        Commit::Fenced
    );

    let next = segment("trades__3__1", 3, 1000, 2000);
    assert_eq!(
        b.commit_segment(&current, &next).await.unwrap(),
        Commit::Committed
    );
    assert_eq!(a.checkpoint(TABLE, 3).await.unwrap(), Some(2000));
    assert_eq!(a.segments(TABLE).await.unwrap(), [first, next]);

    // A record of another partition does not go under this lease, and one
    // without a partition is no real-time segment.
    let elsewhere = segment("trades__4__0", 4, 0, 10);
    let err = b.commit_segment(&current, &elsewhere).await.unwrap_err();
    assert!(matches!(err, Error::OtherLease { .. }), "{err}");
    let mut unordered = offline("s9");
    unordered.table = TABLE.into();
    let err = b.commit_segment(&current, &unordered).await.unwrap_err();
    assert!(matches!(err, Error::NotRealtime(_)), "{err}");

    // Every table's records, by table and name.
    let all: Vec<(String, String)> = a
        .all_segments()
        .await
        .unwrap()
        .into_iter()
        .map(|record| (record.table, record.segment))
        .collect();
    let expected = [
        ("trades_OFFLINE", "s0"),
        ("trades_OFFLINE", "s1"),
        (TABLE, "trades__3__0"),
        (TABLE, "trades__3__1"),
    ];
    assert_eq!(
        all,
        expected.map(|(table, segment)| (table.to_string(), segment.to_string()))
    );
}

pub async fn a_segment_changes_state_and_leaves_with_its_assignments(
    a: &dyn Metastore,
    b: &dyn Metastore,
) {
    a.record_segment(&offline("s0")).await.unwrap();
    a.record_segment(&offline("s1")).await.unwrap();
    a.assign("trades_OFFLINE", "s0", &servers(&["s1", "s2"]))
        .await
        .unwrap();
    a.assign("trades_OFFLINE", "s1", &servers(&["s2"]))
        .await
        .unwrap();

    assert!(b
        .set_segment_state("trades_OFFLINE", "s0", SegmentState::Deleting)
        .await
        .unwrap());
    assert!(!b
        .set_segment_state("trades_OFFLINE", "s9", SegmentState::Deleting)
        .await
        .unwrap());
    let states: Vec<SegmentState> = a
        .segments("trades_OFFLINE")
        .await
        .unwrap()
        .iter()
        .map(|record| record.state)
        .collect();
    assert_eq!(states, [SegmentState::Deleting, SegmentState::Online]);

    assert!(b.remove_segment("trades_OFFLINE", "s0").await.unwrap());
    assert!(!b.remove_segment("trades_OFFLINE", "s0").await.unwrap());
    let names: Vec<String> = a
        .segments("trades_OFFLINE")
        .await
        .unwrap()
        .into_iter()
        .map(|record| record.segment)
        .collect();
    assert_eq!(names, ["s1"]);
    let routing = a.routing().await.unwrap();
    assert_eq!(routing["trades_OFFLINE"].keys().collect::<Vec<_>>(), ["s1"]);

    // The name is free again, and the old holders did not come back with it.
    a.record_segment(&offline("s0")).await.unwrap();
    assert!(!a.routing().await.unwrap()["trades_OFFLINE"].contains_key("s0"));
}

pub async fn checkpoints_follow_each_partitions_commits(a: &dyn Metastore, b: &dyn Metastore) {
    assert!(a.checkpoints(TABLE).await.unwrap().is_empty());
    let zero = lease(a, 0, "server-a").await;
    let one = lease(b, 1, "server-b").await;
    for (lease, record) in [
        (&zero, segment("trades__0__0", 0, 0, 100)),
        (&one, segment("trades__1__0", 1, 50, 70)),
        (&zero, segment("trades__0__1", 0, 100, 250)),
    ] {
        assert_eq!(
            a.commit_segment(lease, &record).await.unwrap(),
            Commit::Committed
        );
    }
    let checkpoints = b.checkpoints(TABLE).await.unwrap();
    assert_eq!(
        checkpoints.into_iter().collect::<Vec<_>>(),
        [(0, 250), (1, 70)]
    );
    assert_eq!(b.checkpoint(TABLE, 1).await.unwrap(), Some(70));
    assert_eq!(b.checkpoint(TABLE, 2).await.unwrap(), None);
    assert!(b.checkpoints("other_REALTIME").await.unwrap().is_empty());
}

pub async fn skipped_offsets_move_the_checkpoint_only_forward_under_the_lease(
    a: &dyn Metastore,
    b: &dyn Metastore,
) {
    let held = lease(a, 0, "server-a").await;
    // No checkpoint yet: the skip sets it.
    assert_eq!(
        a.skip_offsets(&held, 0, 50).await.unwrap(),
        Commit::Committed
    );
    assert_eq!(b.checkpoint(TABLE, 0).await.unwrap(), Some(50));
    // A segment starts where the skip ended; the next skip goes from its end.
    let record = segment("trades__0__0", 0, 50, 60);
    assert_eq!(
        a.commit_segment(&held, &record).await.unwrap(),
        Commit::Committed
    );
    assert_eq!(
        a.skip_offsets(&held, 60, 90).await.unwrap(),
        Commit::Committed
    );
    // Done already (a retry): no change, no error.
    assert_eq!(
        a.skip_offsets(&held, 60, 90).await.unwrap(),
        Commit::Committed
    );
    assert_eq!(b.checkpoint(TABLE, 0).await.unwrap(), Some(90));
    // Not from the checkpoint, or backwards: refused, nothing moves.
    for (from, to) in [(70, 95), (90, 80)] {
        let err = a.skip_offsets(&held, from, to).await.unwrap_err();
        assert!(
            matches!(err, Error::BadSkip { checkpoint: 90, .. }),
            "{err}"
        );
    }
    // A lease granted since fences the old holder's skip.
    a.release_lease(&held).await.unwrap();
    let newer = lease(b, 0, "server-b").await;
    assert_eq!(
        a.skip_offsets(&held, 90, 120).await.unwrap(),
        Commit::Fenced
    );
    assert_eq!(
        b.skip_offsets(&newer, 90, 120).await.unwrap(),
        Commit::Committed
    );
    assert_eq!(a.checkpoint(TABLE, 0).await.unwrap(), Some(120));
}

pub async fn a_lease_goes_to_one_owner_at_a_time_and_each_grant_raises_the_epoch(
    a: &dyn Metastore,
    b: &dyn Metastore,
) {
    // Two servers race for the same partition: one wins.
    let (first, second) = tokio::join!(
        a.acquire_lease(TABLE, 0, "server-a", LONG),
        b.acquire_lease(TABLE, 0, "server-b", LONG)
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert!(first.is_some() != second.is_some(), "{first:?} {second:?}");
    let (winner, loser) = match &first {
        Some(_) => ("server-a", "server-b"),
        None => ("server-b", "server-a"),
    };
    let held = first.or(second).unwrap();
    assert_eq!((held.owner.as_str(), held.epoch), (winner, 1));
    assert!(a.renew_lease(&held).await.unwrap());
    assert_eq!(b.acquire_lease(TABLE, 0, loser, LONG).await.unwrap(), None);
    // Another partition is free.
    let other_partition = lease(b, 1, loser).await;
    assert_eq!(other_partition.epoch, 1);
    // The unexpired leases, by partition, as granted.
    assert_eq!(
        a.leases(TABLE).await.unwrap(),
        [held.clone(), other_partition.clone()]
    );
    assert!(a.leases("other_REALTIME").await.unwrap().is_empty());

    // The holder restarts: its new grant fences the old one.
    let again = lease(a, 0, winner).await;
    assert_eq!(again.epoch, 2);
    assert!(!a.renew_lease(&held).await.unwrap());
    // Releasing the fenced lease leaves the current one alone.
    b.release_lease(&held).await.unwrap();
    assert_eq!(a.leases(TABLE).await.unwrap()[0], again);
}

pub async fn a_released_or_expired_lease_goes_to_the_next_owner(
    a: &dyn Metastore,
    b: &dyn Metastore,
) {
    let held = lease(a, 0, "server-a").await;
    a.release_lease(&held).await.unwrap();
    assert!(b.leases(TABLE).await.unwrap().is_empty());
    // Once another owner takes it, the old holder cannot renew it.
    let taken = lease(b, 0, "server-b").await;
    assert_eq!(taken.epoch, held.epoch + 1);
    assert!(!a.renew_lease(&held).await.unwrap());

    // An expired lease goes to whoever asks next.
    let short = a
        .acquire_lease(TABLE, 1, "server-a", Duration::ZERO)
        .await
        .unwrap()
        .unwrap();
    assert!(a
        .leases(TABLE)
        .await
        .unwrap()
        .iter()
        .all(|lease| lease.partition != 1));
    let next = lease(b, 1, "server-b").await;
    assert_eq!(
        (next.owner.as_str(), next.epoch),
        ("server-b", short.epoch + 1)
    );
    assert_eq!(a.leases(TABLE).await.unwrap(), [taken, next]);
}

pub async fn nodes_are_live_while_they_beat_and_gone_when_they_leave(
    a: &dyn Metastore,
    b: &dyn Metastore,
) {
    for id in ["server-b", "server-a"] {
        a.heartbeat(&node(id)).await.unwrap();
    }
    let mut moved = node("server-b");
    moved.url = "http://10.0.0.7:9000".into();
    moved.roles = vec!["server".into(), "broker".into()];
    b.heartbeat(&moved).await.unwrap();
    assert_eq!(a.live_nodes(LONG).await.unwrap(), [node("server-a"), moved]);
    let ages = b.heartbeat_ages(LONG).await.unwrap();
    assert_eq!(ages.keys().collect::<Vec<_>>(), ["server-a", "server-b"]);
    assert!(ages.values().all(|age| *age < LONG), "{ages:?}");
    // A heartbeat older than the timeout is a dead node.
    assert!(a.live_nodes(Duration::ZERO).await.unwrap().is_empty());
    b.leave("server-a").await.unwrap();
    b.leave("server-z").await.unwrap();
    let live: Vec<String> = a
        .live_nodes(LONG)
        .await
        .unwrap()
        .into_iter()
        .map(|node| node.id)
        .collect();
    assert_eq!(live, ["server-b"]);
}

pub async fn an_assignment_replaces_the_holders_of_a_recorded_segment(
    a: &dyn Metastore,
    b: &dyn Metastore,
) {
    let held = lease(a, 0, "server-a").await;
    for (name, start, end) in [("trades__0__0", 0, 10), ("trades__0__1", 10, 20)] {
        let record = segment(name, 0, start, end);
        assert_eq!(
            a.commit_segment(&held, &record).await.unwrap(),
            Commit::Committed
        );
    }
    a.record_segment(&offline("s0")).await.unwrap();
    a.assign(TABLE, "trades__0__0", &servers(&["s1", "s2"]))
        .await
        .unwrap();
    b.assign(TABLE, "trades__0__1", &servers(&["s3", "s2"]))
        .await
        .unwrap();
    a.assign(TABLE, "trades__0__0", &servers(&["s3", "s1", "s3"]))
        .await
        .unwrap();
    a.assign("trades_OFFLINE", "s0", &servers(&["s1"]))
        .await
        .unwrap();
    let routing = b.routing().await.unwrap();
    assert_eq!(routing.len(), 2);
    assert_eq!(routing[TABLE]["trades__0__0"], servers(&["s1", "s3"]));
    assert_eq!(routing[TABLE]["trades__0__1"], servers(&["s2", "s3"]));
    assert_eq!(routing["trades_OFFLINE"]["s0"], servers(&["s1"]));

    // No holders: the segment leaves the routing.
    b.assign("trades_OFFLINE", "s0", &[]).await.unwrap();
    let routing = a.routing().await.unwrap();
    assert!(!routing.contains_key("trades_OFFLINE"), "{routing:?}");

    // A segment nobody recorded cannot be assigned, and the failed
    // assignment leaves the earlier one.
    for holders in [servers(&["s1"]), Vec::new()] {
        let err = a.assign(TABLE, "trades__0__9", &holders).await.unwrap_err();
        assert!(matches!(err, Error::Unrecorded { .. }), "{err}");
    }
    assert_eq!(b.routing().await.unwrap(), routing);
}

pub async fn a_partition_assignment_replaces_the_tables_consumers(
    a: &dyn Metastore,
    b: &dyn Metastore,
) {
    let mut counter = b.changes();
    let wanted: BTreeMap<i32, Vec<String>> = [
        (0, servers(&["s2", "s1", "s2"])),
        (1, servers(&["s3"])),
        (2, Vec::new()),
    ]
    .into_iter()
    .collect();
    a.assign_partitions(TABLE, &wanted).await.unwrap();
    moves(&mut counter, "partitions assigned").await;
    a.assign_partitions(
        "other_REALTIME",
        &[(0, servers(&["s1"]))].into_iter().collect(),
    )
    .await
    .unwrap();
    let assigned = b.partition_assignments().await.unwrap();
    assert_eq!(assigned.len(), 2, "{assigned:?}");
    assert_eq!(assigned[TABLE].len(), 2, "{assigned:?}");
    assert_eq!(assigned[TABLE][&0], servers(&["s1", "s2"]));
    assert_eq!(assigned[TABLE][&1], servers(&["s3"]));

    // A new assignment replaces the table's whole one, and leaves other
    // tables alone; an empty one removes it.
    b.assign_partitions(TABLE, &[(1, servers(&["s1"]))].into_iter().collect())
        .await
        .unwrap();
    let assigned = a.partition_assignments().await.unwrap();
    assert_eq!(assigned[TABLE].len(), 1, "{assigned:?}");
    assert_eq!(assigned[TABLE][&1], servers(&["s1"]));
    assert_eq!(assigned["other_REALTIME"][&0], servers(&["s1"]));
    a.assign_partitions(TABLE, &BTreeMap::new()).await.unwrap();
    let assigned = b.partition_assignments().await.unwrap();
    assert!(!assigned.contains_key(TABLE), "{assigned:?}");
}

pub async fn the_external_view_is_what_live_servers_report_loaded(
    a: &dyn Metastore,
    b: &dyn Metastore,
) {
    for id in ["s1", "s2", "s3"] {
        a.heartbeat(&node(id)).await.unwrap();
    }
    a.report_loaded("s2", TABLE, &servers(&["x", "y"]), &[])
        .await
        .unwrap();
    b.report_loaded("s1", TABLE, &servers(&["x"]), &[])
        .await
        .unwrap();
    b.report_loaded("s1", "trades_OFFLINE", &servers(&["o"]), &[])
        .await
        .unwrap();
    // Loading again and dropping what was never reported change nothing.
    a.report_loaded("s2", TABLE, &servers(&["y"]), &servers(&["z"]))
        .await
        .unwrap();
    let view = b.external_view(LONG).await.unwrap();
    assert_eq!(view.len(), 2);
    assert_eq!(view[TABLE]["x"], servers(&["s1", "s2"]));
    assert_eq!(view[TABLE]["y"], servers(&["s2"]));
    assert_eq!(view["trades_OFFLINE"]["o"], servers(&["s1"]));

    // A drop removes the server from the segment, and a segment no server
    // holds leaves the view.
    a.report_loaded("s2", TABLE, &[], &servers(&["x", "y"]))
        .await
        .unwrap();
    let view = b.external_view(LONG).await.unwrap();
    assert_eq!(view[TABLE]["x"], servers(&["s1"]));
    assert!(!view[TABLE].contains_key("y"), "{view:?}");

    // A full report replaces everything the server reported before.
    let mut held = Loaded::new();
    held.insert(TABLE.into(), servers(&["y", "z"]));
    b.replace_loaded("s1", &held).await.unwrap();
    let view = a.external_view(LONG).await.unwrap();
    assert!(!view.contains_key("trades_OFFLINE"), "{view:?}");
    assert_eq!(view[TABLE].keys().collect::<Vec<_>>(), ["y", "z"]);
    assert_eq!(view[TABLE]["y"], servers(&["s1"]));

    // Reports of servers that stopped beating (or never beat) are not read.
    a.report_loaded("ghost", TABLE, &servers(&["y"]), &[])
        .await
        .unwrap();
    assert_eq!(a.external_view(LONG).await.unwrap(), view);
    assert!(a.external_view(Duration::ZERO).await.unwrap().is_empty());
    a.leave("s1").await.unwrap();
    assert!(b.external_view(LONG).await.unwrap().is_empty());

    // Pruning forgets every server's reports but those kept.
    a.report_loaded("s3", TABLE, &servers(&["x"]), &[])
        .await
        .unwrap();
    let pruned = b.prune_loaded(&servers(&["s3"])).await.unwrap();
    assert_eq!(pruned, 3, "s1's two reports and the ghost's");
    a.heartbeat(&node("s1")).await.unwrap();
    a.heartbeat(&node("ghost")).await.unwrap();
    let view = b.external_view(LONG).await.unwrap();
    assert_eq!(view.len(), 1);
    assert_eq!(view[TABLE].len(), 1);
    assert_eq!(view[TABLE]["x"], servers(&["s3"]));
    assert_eq!(b.prune_loaded(&servers(&["s3"])).await.unwrap(), 0);
}

pub async fn connectors_keep_their_state_across_config_changes(
    a: &dyn Metastore,
    b: &dyn Metastore,
) {
    a.put_connector("to-s3", r#"{"topics":"trades"}"#)
        .await
        .unwrap();
    a.put_connector("to-pg", r#"{"topics":"orders"}"#)
        .await
        .unwrap();
    let record = |name: &str, config: &str, state: Option<&str>| ConnectorRecord {
        name: name.into(),
        config: config.into(),
        state: state.map(String::from),
    };
    assert_eq!(
        b.connectors().await.unwrap(),
        [
            record("to-pg", r#"{"topics":"orders"}"#, None),
            record("to-s3", r#"{"topics":"trades"}"#, None),
        ]
    );
    b.put_connector_state("to-s3", r#"{"watermark":5}"#)
        .await
        .unwrap();
    a.put_connector("to-s3", r#"{"topics":"trades,quotes"}"#)
        .await
        .unwrap();
    assert_eq!(
        b.connectors().await.unwrap()[1],
        record(
            "to-s3",
            r#"{"topics":"trades,quotes"}"#,
            Some(r#"{"watermark":5}"#)
        )
    );
    assert!(!b.create_connector("to-pg", "{}").await.unwrap());
    assert!(b.create_connector("to-gcs", "{}").await.unwrap());
    assert!(a.remove_connector("to-gcs").await.unwrap());
    assert!(a.remove_connector("to-pg").await.unwrap());
    assert!(!a.remove_connector("to-pg").await.unwrap());
    let err = b
        .put_connector_state("to-pg", r#"{"watermark":1}"#)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownConnector(_)), "{err}");
    assert_eq!(b.connectors().await.unwrap().len(), 1);
    // Under the connector's lease: a holder that lost it records nothing.
    let old = a
        .acquire_lease("connector:to-s3", -1, "server-a", LONG)
        .await
        .unwrap()
        .unwrap();
    let write = |store: &'static str| format!(r#"{{"by":"{store}"}}"#);
    let committed = a
        .put_connector_state_leased(&old, "to-s3", &write("a"))
        .await
        .unwrap();
    assert_eq!(committed, Commit::Committed);
    a.release_lease(&old).await.unwrap();
    let new = b
        .acquire_lease("connector:to-s3", -1, "server-b", LONG)
        .await
        .unwrap()
        .unwrap();
    let stale = a
        .put_connector_state_leased(&old, "to-s3", &write("stale"))
        .await
        .unwrap();
    assert_eq!(stale, Commit::Fenced);
    b.put_connector_state_leased(&new, "to-s3", &write("b"))
        .await
        .unwrap();
    assert_eq!(
        a.connectors().await.unwrap()[0].state.as_deref(),
        Some(write("b").as_str())
    );
}

pub async fn consumption_controls_count_each_change(a: &dyn Metastore, b: &dyn Metastore) {
    assert!(b.stream_controls().await.unwrap().is_empty());
    let paused = a.control_stream(TABLE, &StreamChange::Pause).await.unwrap();
    assert!(paused.paused);
    let resume = StreamChange::Resume {
        from: Some("largest".into()),
    };
    b.control_stream(TABLE, &resume).await.unwrap();
    let commit = |job: &str| StreamChange::ForceCommit { job: job.into() };
    a.control_stream(TABLE, &commit("j1")).await.unwrap();
    let both = futures_util::future::join(
        a.control_stream(TABLE, &commit("j2")),
        b.control_stream(TABLE, &commit("j2")),
    )
    .await;
    both.0.unwrap();
    both.1.unwrap();
    let controls = a.stream_controls().await.unwrap();
    let want = StreamControl {
        paused: false,
        resume_from: Some("largest".into()),
        resumes: 1,
        force_commits: 3,
        force_commit_job: Some("j2".into()),
    };
    assert_eq!(controls.get(TABLE), Some(&want), "{controls:?}");
    assert_eq!(controls.len(), 1);
}

/// Waits for `counter` to move past what it last saw.
async fn moves(counter: &mut watch::Receiver<u64>, what: &str) {
    tokio::time::timeout(NOTICE_DEADLINE, counter.changed())
        .await
        .unwrap_or_else(|_| panic!("the change counter did not move after {what}"))
        .unwrap();
    counter.borrow_and_update();
}

pub async fn the_change_counter_moves_on_every_change(a: &dyn Metastore, b: &dyn Metastore) {
    let mut counter = b.changes();
    let table = entry(CatalogKind::Table, "trades_OFFLINE", "{}");
    a.put_catalog(&table).await.unwrap();
    moves(&mut counter, "a catalog entry put").await;
    a.remove_catalog(CatalogKind::Table, "trades_OFFLINE")
        .await
        .unwrap();
    moves(&mut counter, "a catalog entry removed").await;

    a.record_segment(&offline("s0")).await.unwrap();
    moves(&mut counter, "a segment recorded").await;
    let held = lease(a, 0, "server-a").await;
    moves(&mut counter, "a lease granted").await;
    let record = segment("trades__0__0", 0, 0, 10);
    a.commit_segment(&held, &record).await.unwrap();
    moves(&mut counter, "a segment committed").await;
    a.set_segment_state("trades_OFFLINE", "s0", SegmentState::Deleting)
        .await
        .unwrap();
    moves(&mut counter, "a segment state changed").await;
    a.assign(TABLE, "trades__0__0", &servers(&["s1"]))
        .await
        .unwrap();
    moves(&mut counter, "a segment assigned").await;
    a.remove_segment(TABLE, "trades__0__0").await.unwrap();
    moves(&mut counter, "a segment removed").await;
    a.release_lease(&held).await.unwrap();
    moves(&mut counter, "a lease released").await;

    a.heartbeat(&node("server-a")).await.unwrap();
    moves(&mut counter, "a node joined").await;
    a.leave("server-a").await.unwrap();
    moves(&mut counter, "a node left").await;
    a.report_loaded("server-a", TABLE, &servers(&["x"]), &[])
        .await
        .unwrap();
    moves(&mut counter, "a segment reported loaded").await;
    a.replace_loaded("server-a", &Loaded::new()).await.unwrap();
    moves(&mut counter, "a server's loaded segments replaced").await;

    a.put_connector("to-s3", "{}").await.unwrap();
    moves(&mut counter, "a connector put").await;
    a.put_connector_state("to-s3", "{}").await.unwrap();
    moves(&mut counter, "a connector's state put").await;
    a.remove_connector("to-s3").await.unwrap();
    moves(&mut counter, "a connector removed").await;
    a.control_stream(TABLE, &StreamChange::Pause).await.unwrap();
    moves(&mut counter, "a table paused").await;
}
