//! The metastore against a real PostgreSQL (`GAMAY_TEST_POSTGRES`, which
//! `tests/services.sh` starts); each test works in a schema of its own.
//! The behaviour both implementations share is checked in
//! [`super::conformance`]; here is what only PostgreSQL has: migrations,
//! the leader's advisory lock, notices between processes.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::NoTls;

use super::conformance::{conformance_tests, Subject};
use super::migrations;
use super::postgres::{PgMetastore, Tls};
use super::{CatalogEntry, CatalogKind, Error, Metastore};

/// The database URL and a fresh schema's name, or `None` when no
/// PostgreSQL is configured (a failure under `GAMAY_REQUIRE_SERVICES=1`).
pub(super) async fn fresh_schema() -> Option<(String, String)> {
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

fn config(url: &str, schema: &str) -> tokio_postgres::Config {
    let mut config: tokio_postgres::Config = url.parse().unwrap();
    config.options(format!("-c search_path={schema}"));
    // Names this test's connections in `pg_stat_activity`.
    config.application_name(schema);
    config
}

pub(super) async fn open(url: &str, schema: &str) -> Result<PgMetastore, Error> {
    PgMetastore::connect_with(config(url, schema), Tls::off()).await
}

/// The metastore over TLS as its URL asks, against the test server's TLS-only
/// roles: verified with the test CA (and a client certificate), refused
/// plain, and refused when the certificate does not chain to the roots.
#[tokio::test]
async fn the_metastore_connects_over_tls_as_its_url_says() {
    let Some((_, schema)) = fresh_schema().await else {
        return;
    };
    let (Ok(url), Ok(dir)) = (
        std::env::var("GAMAY_TEST_POSTGRES_TLS"),
        std::env::var("GAMAY_TEST_TLS_DIR"),
    ) else {
        panic!("GAMAY_TEST_POSTGRES_TLS and GAMAY_TEST_TLS_DIR come with GAMAY_TEST_POSTGRES");
    };
    let search = format!("options=-c%20search_path%3D{schema}");
    let verified = format!("{url}?sslmode=verify-full&sslrootcert={dir}/ca.pem&{search}");
    let metastore = PgMetastore::connect(&verified).await.unwrap();
    metastore.put_connector("c", "{}").await.unwrap();
    assert_eq!(metastore.connectors().await.unwrap().len(), 1);
    // The role takes TLS connections only.
    let plain = format!("{url}?sslmode=disable&{search}");
    let refused = PgMetastore::connect(&plain)
        .await
        .err()
        .expect("a plain connection");
    assert!(refused.to_string().contains("cannot connect"), "{refused}");
    // The test CA is not among Mozilla's roots.
    let unchained = format!("{url}?sslmode=verify-full&{search}");
    let refused = PgMetastore::connect(&unchained)
        .await
        .err()
        .expect("an untrusted chain");
    assert!(refused.to_string().contains("cannot connect"), "{refused}");
    // A client certificate, for the role that logs in with one.
    let host = url.rsplit_once('@').unwrap().1;
    let cert = format!(
        "postgres://gamay_cert@{host}?sslmode=verify-full&sslrootcert={dir}/ca.pem&sslcert={dir}/client.pem&sslkey={dir}/client.key&{search}"
    );
    let metastore = PgMetastore::connect(&cert).await.unwrap();
    assert_eq!(metastore.connectors().await.unwrap().len(), 1);
}

/// Two metastores on one fresh schema, as two processes have them.
async fn subject() -> Option<Subject> {
    let (url, schema) = fresh_schema().await?;
    Some(Subject {
        first: Arc::new(open(&url, &schema).await.unwrap()),
        second: Arc::new(open(&url, &schema).await.unwrap()),
        _keep: None,
    })
}

conformance_tests!(subject);

/// Ends the server sessions of a test's connections of `role`, as a
/// network failure or a restarted database would; how many it ended.
async fn terminate(url: &str, schema: &str, role: &str) -> i64 {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE application_name = $1",
            &[&format!("{schema}/{role}")],
        )
        .await
        .unwrap();
    row.get(0)
}

/// Polls `lead` until it answers `true`: the server releases a closed
/// session's locks shortly after, not at once.
async fn leads_soon(store: &PgMetastore) {
    for _ in 0..200 {
        if store.lead().await.unwrap() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the leader lock was not released");
}

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
    assert!(store.all_segments().await.unwrap().is_empty());

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
async fn one_process_leads_until_its_session_ends() {
    let Some((url, schema)) = fresh_schema().await else {
        return;
    };
    let first = open(&url, &schema).await.unwrap();
    let second = open(&url, &schema).await.unwrap();
    assert!(first.lead().await.unwrap());
    assert!(!second.lead().await.unwrap());
    // Asking again while leading keeps the lock.
    assert!(first.lead().await.unwrap());
    assert!(!second.lead().await.unwrap());

    // Another schema is another cluster, with a leader of its own.
    let Some((_, elsewhere)) = fresh_schema().await else {
        return;
    };
    assert!(open(&url, &elsewhere).await.unwrap().lead().await.unwrap());

    // The leader goes away: the other takes over.
    drop(first);
    leads_soon(&second).await;
    assert!(second.lead().await.unwrap());
}

#[tokio::test]
async fn a_broken_leader_connection_is_leadership_lost() {
    let Some((url, schema)) = fresh_schema().await else {
        return;
    };
    let first = open(&url, &schema).await.unwrap();
    assert!(first.lead().await.unwrap());
    // The leader connection breaks: the server drops its session and lock.
    assert_eq!(terminate(&url, &schema, "leader").await, 1);
    let second = open(&url, &schema).await.unwrap();
    leads_soon(&second).await;
    // The first reconnects and finds the lock taken.
    assert!(!first.lead().await.unwrap());
    drop(second);
    leads_soon(&first).await;
}

fn table_entry() -> CatalogEntry {
    CatalogEntry {
        kind: CatalogKind::Table,
        name: "trades_OFFLINE".into(),
        json: "{}".into(),
    }
}

#[tokio::test]
async fn a_write_in_one_process_moves_the_others_counter() {
    let Some((url, schema)) = fresh_schema().await else {
        return;
    };
    let writer = open(&url, &schema).await.unwrap();
    let follower = open(&url, &schema).await.unwrap();
    // A write in another schema (another cluster) is not heard.
    let Some((_, elsewhere)) = fresh_schema().await else {
        return;
    };
    let stranger = open(&url, &elsewhere).await.unwrap();
    let mut counter = follower.changes();
    stranger.put_catalog(&table_entry()).await.unwrap();
    writer.put_catalog(&table_entry()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), counter.changed())
        .await
        .expect("the counter did not move")
        .unwrap();
    // The one write in this schema; the other schema's was not counted.
    assert_eq!(*counter.borrow_and_update(), 1);
}

#[tokio::test]
async fn a_broken_listener_reconnects_and_moves_the_counter() {
    let Some((url, schema)) = fresh_schema().await else {
        return;
    };
    let store = open(&url, &schema).await.unwrap();
    let mut counter = store.changes();
    assert_eq!(terminate(&url, &schema, "listener").await, 1);
    // Changes may have been missed while it was away: it says so.
    tokio::time::timeout(Duration::from_secs(10), counter.changed())
        .await
        .expect("the counter did not move after the listener reconnected")
        .unwrap();
    counter.borrow_and_update();
    // And it hears writes again.
    store.put_catalog(&table_entry()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), counter.changed())
        .await
        .expect("the counter did not move after a write")
        .unwrap();
}

#[tokio::test]
async fn a_broken_connection_is_replaced_on_the_next_call() {
    let Some((url, schema)) = fresh_schema().await else {
        return;
    };
    let store = open(&url, &schema).await.unwrap();
    store.put_catalog(&table_entry()).await.unwrap();
    assert_eq!(terminate(&url, &schema, "writer").await, 1);
    assert_eq!(terminate(&url, &schema, "reader").await, 1);
    // The server closing a connection reaches the client soon after; until
    // it does, a call may still fail on the old connection.
    let mut replaced = false;
    for _ in 0..200 {
        let wrote = store
            .remove_catalog(CatalogKind::Table, "trades_OFFLINE")
            .await;
        if wrote.is_ok()
            && store
                .catalog()
                .await
                .is_ok_and(|entries| entries.is_empty())
        {
            replaced = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(replaced, "the metastore did not reconnect");
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
    let store = open(&url, &schema).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), migrations::latest());
    assert_eq!(store.segments("t_OFFLINE").await.unwrap().len(), 1);
    store
        .assign("t_OFFLINE", "s0", &["s1".to_string()])
        .await
        .unwrap();
    assert_eq!(store.routing().await.unwrap()["t_OFFLINE"]["s0"], ["s1"]);
    // What the later steps added works on the migrated database.
    store.put_connector("to-s3", "{}").await.unwrap();
    assert_eq!(store.connectors().await.unwrap().len(), 1);
}
