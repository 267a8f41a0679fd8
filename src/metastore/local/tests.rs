use std::sync::Arc;
use std::time::Duration;

use super::LocalMetastore;
use crate::metastore::conformance::{self, conformance_tests, Subject, LONG, TABLE};
use crate::metastore::{CatalogEntry, CatalogKind, Commit, Error, Metastore, Node};

async fn open() -> Option<Subject> {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Metastore> = Arc::new(LocalMetastore::open(dir.path()).unwrap());
    Some(Subject {
        first: store.clone(),
        second: store,
        _keep: Some(dir),
    })
}

conformance_tests!(open);

#[tokio::test]
async fn what_outlives_the_process_is_there_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalMetastore::open(dir.path()).unwrap();
    let schema = CatalogEntry {
        kind: CatalogKind::Schema,
        name: "trades".into(),
        json: "{\"schemaName\": \"trades\"}".into(),
    };
    store.put_catalog(&schema).await.unwrap();
    let lease = store
        .acquire_lease(TABLE, 0, "server-a", LONG)
        .await
        .unwrap()
        .unwrap();
    let record = conformance::segment("trades__0__0", 0, 0, 100);
    assert_eq!(
        store.commit_segment(&lease, &record).await.unwrap(),
        Commit::Committed
    );
    store
        .assign(TABLE, "trades__0__0", &["s1".to_string()])
        .await
        .unwrap();
    store.put_connector("to-s3", "{}").await.unwrap();
    store.put_connector_state("to-s3", "[1]").await.unwrap();
    store
        .heartbeat(&Node {
            id: "server-a".into(),
            url: "http://a:9000".into(),
            roles: vec!["server".into()],
        })
        .await
        .unwrap();
    let routing = store.routing().await.unwrap();
    let connectors = store.connectors().await.unwrap();
    drop(store);

    let store = LocalMetastore::open(dir.path()).unwrap();
    assert_eq!(store.catalog().await.unwrap(), [schema]);
    assert_eq!(store.segments(TABLE).await.unwrap(), [record]);
    assert_eq!(store.checkpoint(TABLE, 0).await.unwrap(), Some(100));
    assert_eq!(store.routing().await.unwrap(), routing);
    assert_eq!(store.connectors().await.unwrap(), connectors);
    // No node is alive until it beats again, and every lease ended with
    // the process; the next grant fences the old holder.
    assert!(store.live_nodes(LONG).await.unwrap().is_empty());
    assert!(store.leases(TABLE).await.unwrap().is_empty());
    let next = store
        .acquire_lease(TABLE, 0, "server-b", LONG)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.epoch, lease.epoch + 1);
    let late = conformance::segment("trades__0__1", 0, 100, 200);
    assert_eq!(
        store.commit_segment(&lease, &late).await.unwrap(),
        Commit::Fenced
    );
}

#[tokio::test]
async fn one_instance_holds_a_directory_and_leads() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalMetastore::open(dir.path()).unwrap();
    let Err(err) = LocalMetastore::open(dir.path()) else {
        panic!("a second instance opened the same directory");
    };
    assert!(matches!(err, Error::Busy(_)), "{err}");
    assert!(store.lead().await.unwrap());
    assert!(store.lead().await.unwrap());
}

#[tokio::test]
async fn an_unreadable_file_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("metastore.json"), "{\"version\": 1").unwrap();
    let Err(err) = LocalMetastore::open(dir.path()) else {
        panic!("a truncated file opened");
    };
    assert!(matches!(err, Error::CorruptFile { .. }), "{err}");
    assert!(err.to_string().contains("metastore.json"), "{err}");

    std::fs::write(
        dir.path().join("metastore.json"),
        r#"{"version": 2, "catalog": [], "segments": [], "checkpoints": [], "leases": [],
            "assignments": [], "connectors": []}"#,
    )
    .unwrap();
    let Err(err) = LocalMetastore::open(dir.path()) else {
        panic!("a newer file opened");
    };
    assert!(err.to_string().contains("version 2"), "{err}");
}

#[tokio::test]
async fn what_changes_no_answer_does_not_move_the_counter() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalMetastore::open(dir.path()).unwrap();
    let node = Node {
        id: "server-a".into(),
        url: "http://a:9000".into(),
        roles: vec!["server".into()],
    };
    store.heartbeat(&node).await.unwrap();
    let lease = store
        .acquire_lease(TABLE, 0, "server-a", LONG)
        .await
        .unwrap()
        .unwrap();
    let counter = store.changes();

    // Still alive, still held, and writes that are refused or find
    // nothing to change.
    store.heartbeat(&node).await.unwrap();
    assert!(store.renew_lease(&lease).await.unwrap());
    assert_eq!(
        store
            .acquire_lease(TABLE, 0, "server-b", Duration::ZERO)
            .await
            .unwrap(),
        None
    );
    store
        .remove_catalog(CatalogKind::Table, "absent_OFFLINE")
        .await
        .unwrap();
    assert!(!store.remove_segment(TABLE, "absent").await.unwrap());
    assert!(!store.remove_connector("absent").await.unwrap());
    store.leave("absent").await.unwrap();
    let late = conformance::segment("trades__0__0", 0, 0, 1);
    let mut stale = lease.clone();
    stale.epoch -= 1;
    assert_eq!(
        store.commit_segment(&stale, &late).await.unwrap(),
        Commit::Fenced
    );
    assert!(store.put_connector_state("absent", "{}").await.is_err());
    assert!(!counter.has_changed().unwrap());
}
