//! The metastore at cluster scale, on the PostgreSQL `GAMAY_TEST_POSTGRES`
//! names (`eval "$(tests/services.sh)"` starts one): 100 nodes, 1,000
//! tables of 100 segments (100,000 segments, three holders each), then
//! segment commits under a lease (each one transaction) and full reads
//! of the routing (what a broker refreshes from). Prints p50/p99.
//!
//!     cargo bench --bench metastore

use std::time::{Duration, Instant};

use gamay::metastore::postgres::PgMetastore;
use gamay::metastore::{Commit, Metastore, Node, SegmentRecord, SegmentState};
use tokio_postgres::NoTls;

const NODES: usize = 100;
const TABLES: usize = 1000;
const SEGMENTS_PER_TABLE: usize = 100;
const COMMITS: usize = 2000;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Ok(url) = std::env::var("GAMAY_TEST_POSTGRES") else {
        eprintln!("metastore bench: GAMAY_TEST_POSTGRES is not set; run `eval \"$(tests/services.sh)\"` first");
        return;
    };
    let schema = format!("gamay_meta_bench_{}", std::process::id());
    let (client, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let mut config: tokio_postgres::Config = url.parse().unwrap();
    config.options(format!("-c search_path={schema}"));
    let store = PgMetastore::connect_with(config, gamay::metastore::postgres::Tls::off())
        .await
        .unwrap();

    for n in 0..NODES {
        let node = Node {
            id: format!("server-{n:03}"),
            url: format!("http://10.0.{}.{}:9000", n / 256, n % 256),
            roles: vec!["server".into()],
        };
        store.heartbeat(&node).await.unwrap();
    }
    let started = Instant::now();
    client
        .batch_execute(&format!(
            "SET search_path = {schema};
             INSERT INTO gamay_segments (table_name, segment_name, partition_id, start_offset,
                 end_offset, start_time_ms, end_time_ms, num_rows, size_bytes, crc, uri, state)
             SELECT 't' || t || '_REALTIME', 't' || t || '__0__' || s, 0, s * 1000, (s + 1) * 1000,
                    s * 60000, (s + 1) * 60000, 1000, 1048576, s,
                    's3://lake/t' || t || '_REALTIME/t' || t || '__0__' || s, 'ONLINE'
             FROM generate_series(0, {}) t, generate_series(0, {}) s;
             INSERT INTO gamay_checkpoints
             SELECT 't' || t || '_REALTIME', 0, {} FROM generate_series(0, {}) t;
             INSERT INTO gamay_assignments
             SELECT 't' || t || '_REALTIME', 't' || t || '__0__' || s,
                    'server-' || lpad(((t * 7 + s + r * 33) % {NODES})::text, 3, '0')
             FROM generate_series(0, {}) t, generate_series(0, {}) s, generate_series(0, 2) r;
             ANALYZE gamay_segments; ANALYZE gamay_assignments; ANALYZE gamay_servers;",
            TABLES - 1,
            SEGMENTS_PER_TABLE - 1,
            SEGMENTS_PER_TABLE * 1000,
            TABLES - 1,
            TABLES - 1,
            SEGMENTS_PER_TABLE - 1,
        ))
        .await
        .unwrap();
    println!(
        "metastore: {NODES} nodes, {TABLES} tables, {} segments with 3 holders each, loaded in {:.1} s",
        TABLES * SEGMENTS_PER_TABLE,
        started.elapsed().as_secs_f64()
    );

    let mut leases = Vec::new();
    for t in 0..TABLES {
        let owner = format!("server-{:03}", t % NODES);
        let lease = store
            .acquire_lease(
                &format!("t{t}_REALTIME"),
                0,
                &owner,
                Duration::from_secs(3600),
            )
            .await
            .unwrap()
            .unwrap();
        leases.push(lease);
    }
    let mut next = vec![SEGMENTS_PER_TABLE as i64; TABLES];
    let mut commits = Vec::with_capacity(COMMITS);
    for i in 0..COMMITS {
        let t = (i * 7919) % TABLES;
        let s = next[t];
        next[t] += 1;
        let record = SegmentRecord {
            table: format!("t{t}_REALTIME"),
            segment: format!("t{t}__0__{s}"),
            partition: Some(0),
            offsets: Some((s * 1000, (s + 1) * 1000)),
            time_range: Some((s * 60000, (s + 1) * 60000)),
            rows: 1000,
            size_bytes: 1 << 20,
            crc: s,
            uri: format!("s3://lake/t{t}_REALTIME/t{t}__0__{s}"),
            state: SegmentState::Online,
        };
        let started = Instant::now();
        let outcome = store.commit_segment(&leases[t], &record).await.unwrap();
        commits.push(started.elapsed());
        assert_eq!(outcome, Commit::Committed);
    }
    commits.sort();
    println!(
        "segment commit (one transaction, fenced by the lease): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {COMMITS}",
        percentile(&commits, 0.5),
        percentile(&commits, 0.99),
        percentile(&commits, 1.0),
    );

    let mut reads = Vec::new();
    let mut holders = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let routing = store.routing().await.unwrap();
        reads.push(started.elapsed());
        holders = routing
            .values()
            .flat_map(|segments| segments.values())
            .map(Vec::len)
            .sum::<usize>();
    }
    reads.sort();
    println!(
        "routing read ({holders} segment holders): p50 {:.0} ms, max {:.0} ms over {} reads",
        percentile(&reads, 0.5),
        percentile(&reads, 1.0),
        reads.len()
    );
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}
