//! Upsert state throughput and restart time, on one partition.
//!
//! 1. ingest: DOCS rows over KEYS keys (every key inserted once, then
//!    updated in random order, one row in five stamped 1,000 s early, which
//!    loses when its key's version held is newer) appended into consuming
//!    segments of SEGMENT rows that seal and
//!    commit as the consumer's would, each row taken into the key state;
//!    against the same rows appended into a table without upserts.
//! 2. restart: the state rebuilt from the committed segments, from the
//!    snapshot and by replaying every row.
//!
//! Run: `cargo bench --bench upsert` (DOCS, KEYS and SEGMENT override the
//! defaults). Figures go in BENCHMARKS.md.

use std::sync::Arc;
use std::time::Instant;

use gamay::catalog::{parse_value, Schema, TableConfig};
use gamay::segment::{
    Cell, ImmutableSegment, MutableSegment, Scalar, SealInfo, SegmentSpec, StreamRange,
};
use gamay::upsert::{snapshot, Admit, Form, Rebuilt, TableUpsert, UpsertSpec};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn configs() -> (Schema, TableConfig) {
    let schema = parse_value(
        json!({
            "schemaName": "accounts",
            "dimensionFieldSpecs": [
                {"name": "id", "dataType": "LONG"},
                {"name": "country", "dataType": "STRING"}
            ],
            "metricFieldSpecs": [{"name": "balance", "dataType": "DOUBLE"}],
            "dateTimeFieldSpecs": [{"name": "ts", "dataType": "LONG",
                "format": "1:MILLISECONDS:EPOCH", "granularity": "1:MILLISECONDS"}],
            "primaryKeyColumns": ["id"]
        }),
        "schema",
    )
    .unwrap()
    .value;
    let table = parse_value(
        json!({
            "tableName": "accounts", "tableType": "REALTIME",
            "segmentsConfig": {"timeColumnName": "ts"},
            "tableIndexConfig": {"invertedIndexColumns": ["country"]},
            "upsertConfig": {"mode": "FULL"}
        }),
        "table",
    )
    .unwrap()
    .value;
    (schema, table)
}

/// The rows: keys in order, then updates in random order.
fn rows(docs: usize, keys: usize) -> Vec<Vec<Cell>> {
    let mut rng = StdRng::seed_from_u64(1);
    let mut ids: Vec<i64> = (0..keys as i64).collect();
    let mut updates: Vec<i64> = (0..(docs - keys)).map(|i| (i % keys) as i64).collect();
    updates.shuffle(&mut rng);
    ids.extend(updates);
    ids.iter()
        .enumerate()
        .map(|(at, id)| {
            let late = rng.random_bool(0.2);
            let ts = at as i64 * 10 - if late { 1_000_000 } else { 0 };
            vec![
                Cell::One(Scalar::I64(*id)),
                Cell::One(Scalar::Str(format!("C{:02}", id % 50))),
                Cell::One(Scalar::F64(rng.random_range(0.0..1000.0))),
                Cell::One(Scalar::I64(ts)),
            ]
        })
        .collect()
}

fn seal(
    dir: &std::path::Path,
    name: &str,
    segment: &MutableSegment,
    start: i64,
) -> Arc<ImmutableSegment> {
    let info = SealInfo {
        late_docs: Vec::new(),
        segment_name: name.to_string(),
        stream: Some(StreamRange {
            topic: "accounts".into(),
            partition: 0,
            start_offset: start,
            end_offset: start + segment.num_docs() as i64,
        }),
    };
    let (path, _) = segment.seal(dir, &info).unwrap();
    Arc::new(ImmutableSegment::open(&path).unwrap())
}

fn main() {
    let docs = env("DOCS", 2_000_000);
    let keys = env("KEYS", 1_000_000).min(docs);
    let per_segment = env("SEGMENT", 250_000);
    let (schema, table) = configs();
    let spec = Arc::new(SegmentSpec::new(&schema, &table));
    let upsert_spec = UpsertSpec::of(&schema, &table, &spec).unwrap().unwrap();
    let input = rows(docs, keys);
    println!("{docs} rows over {keys} keys, segments of {per_segment} rows");

    // Plain appends, one row at a time as the upsert path does.
    let started = Instant::now();
    for chunk in input.chunks(per_segment) {
        let segment = MutableSegment::new(spec.clone());
        for row in chunk {
            segment.append(std::slice::from_ref(row)).unwrap();
        }
    }
    let plain = started.elapsed().as_secs_f64();

    let dir = tempfile::tempdir().unwrap();
    let upsert = TableUpsert::open(upsert_spec.clone(), dir.path(), &[]).unwrap();
    let state = upsert.partition(0).unwrap();
    let mut sealed = Vec::new();
    let mut seal_seconds = 0.0;
    let started = Instant::now();
    let mut late = 0usize;
    for (number, chunk) in input.chunks(per_segment).enumerate() {
        let name = format!("accounts__0__{number}");
        let segment = Arc::new(MutableSegment::new(spec.clone()));
        let id = state.change(|s| s.add(name.clone(), Form::Consuming(segment.clone()), false));
        for batch in chunk.chunks(1024) {
            state.change(|s| {
                for row in batch {
                    let mut row = row.clone();
                    let Admit::Append(key) = s.admit(&mut row) else {
                        continue;
                    };
                    let doc = segment.num_docs() as u32;
                    segment.append(std::slice::from_ref(&row)).unwrap();
                    if s.apply(id, doc, key).unwrap() == gamay::upsert::Applied::OutOfOrder {
                        late += 1;
                    }
                }
            });
        }
        let sealing = Instant::now();
        let done = seal(dir.path(), &name, &segment, (number * per_segment) as i64);
        upsert.write_snapshot(0, &name).unwrap();
        upsert.committed(0, &name, Some(done.clone()));
        sealed.push(done);
        seal_seconds += sealing.elapsed().as_secs_f64();
    }
    let with_upsert = started.elapsed().as_secs_f64() - seal_seconds;
    let (held, bytes) = upsert.key_stats();
    println!(
        "ingest: plain {:.0} rows/s, upsert {:.0} rows/s ({:.2}x the time); {late} late; \
         {held} keys in {bytes} bytes ({:.1} per key); sealing and snapshots {seal_seconds:.2} s",
        docs as f64 / plain,
        docs as f64 / with_upsert,
        with_upsert / plain,
        bytes as f64 / held as f64,
    );
    let snapshot_bytes = std::fs::metadata(snapshot::path(&dir.path().join("upsert"), 0))
        .map(|m| m.len())
        .unwrap_or(0);

    for use_snapshot in [true, false] {
        if !use_snapshot {
            std::fs::remove_file(snapshot::path(&dir.path().join("upsert"), 0)).unwrap();
        }
        let started = Instant::now();
        let rebuilt = TableUpsert::open(upsert_spec.clone(), dir.path(), &sealed).unwrap();
        let seconds = started.elapsed().as_secs_f64();
        let how = rebuilt.rebuilt().get(&0).copied();
        assert_eq!(
            how,
            Some(if use_snapshot {
                Rebuilt::Snapshot
            } else {
                Rebuilt::Replay
            })
        );
        assert_eq!(rebuilt.key_stats().0, keys);
        println!(
            "restart from {how:?}: {seconds:.2} s for {} segments{}",
            sealed.len(),
            if use_snapshot {
                format!(" (snapshot {snapshot_bytes} bytes)")
            } else {
                String::new()
            }
        );
    }
}
