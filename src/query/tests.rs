//! Consuming and sealed segments answer alike: the same rows, appended to
//! a `MutableSegment` and sealed into a file, give the same results for
//! every query.

use std::sync::Arc;

use serde_json::Value as Json;

use super::exec::{execute, Deadline, Partial};
use super::options::QueryOptions;
use super::reduce;
use super::source::{MutableSnapshot, SegmentSource};
use super::sql::{self, Route, TableColumns};
use super::value::Value;
use crate::catalog::{self, Schema, TableConfig};
use crate::ingest::rows::json_row;
use crate::segment::{ImmutableSegment, MutableSegment, SealInfo, SegmentSpec};

const SCHEMA: &str = include_str!("../../tests/sql/data/trades.schema.json");
const TABLE: &str = include_str!("../../tests/sql/data/trades.table.json");
const ROWS_A: &str = include_str!("../../tests/sql/data/trades_a.jsonl");
const ROWS_B: &str = include_str!("../../tests/sql/data/trades_b.jsonl");

fn fixture() -> (Schema, SegmentSpec) {
    let schema: catalog::Parsed<Schema> = catalog::parse(SCHEMA.as_bytes(), "schema").unwrap();
    let table: catalog::Parsed<TableConfig> = catalog::parse(TABLE.as_bytes(), "table").unwrap();
    let spec = SegmentSpec::new(&schema.value, &table.value);
    (schema.value, spec)
}

fn columns(schema: &Schema) -> TableColumns {
    TableColumns::of_schema("trades", schema)
}

fn run(sql: &str, table: &TableColumns, segment: &dyn SegmentSource) -> Vec<Vec<Value>> {
    let mut options = QueryOptions::default();
    let Route::Single { query, .. } = sql::parse(sql, &mut options).unwrap() else {
        panic!("{sql} is not single-stage");
    };
    let plan = sql::plan(&query, table, options).unwrap();
    let deadline = Deadline::new(std::time::Instant::now() + std::time::Duration::from_secs(30));
    let (partial, _) = execute(&plan, segment, &deadline).unwrap();
    let merged: Partial = reduce::merge(&plan, vec![partial]).unwrap();
    reduce::finish(&plan, merged).unwrap()
}

/// The fixture's rows, conformed to `spec`.
fn fixture_rows(spec: &SegmentSpec) -> Vec<Vec<crate::segment::Cell>> {
    ROWS_A
        .lines()
        .chain(ROWS_B.lines())
        .map(|line| json_row(&serde_json::from_str::<Json>(line).unwrap(), spec).unwrap())
        .collect()
}

fn close(a: &[Vec<Value>], b: &[Vec<Value>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.len() == y.len()
                && x.iter().zip(y).all(|(p, q)| match (p, q) {
                    (Value::Double(p), Value::Double(q)) => {
                        (p - q).abs() <= 1e-9 * p.abs().max(q.abs()).max(1.0)
                    }
                    _ => p == q,
                })
        })
}

#[test]
fn consuming_and_sealed_segments_agree() {
    let (schema, spec) = fixture();
    let spec = Arc::new(spec);
    let mutable = Arc::new(MutableSegment::new(spec.clone()));
    let rows = fixture_rows(&spec);
    mutable.append(&rows).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let info = SealInfo {
        segment_name: "trades_0".into(),
        stream: None,
    };
    let (path, _) = mutable.seal(dir.path(), &info).unwrap();
    let sealed = ImmutableSegment::open(&path).unwrap();
    let snapshot = MutableSnapshot::new("trades__0__0".into(), mutable.clone());
    assert!(snapshot.consuming_since().is_some());
    assert!(SegmentSource::consuming_since(&sealed).is_none());
    let table = columns(&schema);
    for sql in [
        "SELECT COUNT(*), SUM(shares), MIN(price), MAX(fee), AVG(price) FROM trades",
        "SELECT symbol, COUNT(*), SUM(price) FROM trades GROUP BY symbol ORDER BY symbol",
        "SELECT exchange, side, COUNT(DISTINCT user_id) FROM trades WHERE price > 120 GROUP BY exchange, side ORDER BY 1, 2",
        "SELECT id, symbol FROM trades WHERE symbol IN ('AAPL', 'TSLA') AND ts >= 1780010000000 ORDER BY id LIMIT 100",
        "SELECT COUNT(*) FROM trades WHERE tags = 'cloud' OR symbol IS NULL",
        "SELECT ts - ts % 3600000 AS h, COUNT(*) FROM trades WHERE user_id BETWEEN 101 AND 105 GROUP BY ts - ts % 3600000 ORDER BY h",
        "SELECT id, price FROM trades WHERE REGEXP_LIKE(exchange, 'N.*') ORDER BY price DESC, id LIMIT 7",
        "SELECT DISTINCT side FROM trades ORDER BY side",
        // Sketches: the same estimates from ids, raw values and arrays.
        "SELECT side, DISTINCTCOUNTHLL(user_id), DISTINCTCOUNTHLL(symbol), DISTINCTCOUNTHLL(fee), DISTINCTCOUNTHLL(tags), PERCENTILEEST(price, 90), PERCENTILEEST(fee, 50) FROM trades GROUP BY side ORDER BY side",
        "SELECT DISTINCTCOUNTHLL(price), PERCENTILEEST(shares, 10) FROM trades WHERE exchange <> 'LSE'",
    ] {
        let from_mutable = run(sql, &table, &snapshot);
        let from_sealed = run(sql, &table, &sealed);
        assert!(!from_mutable.is_empty(), "{sql}");
        assert!(
            close(&from_mutable, &from_sealed),
            "{sql}\nconsuming: {from_mutable:?}\nsealed:    {from_sealed:?}"
        );
    }
    // Rows appended after a snapshot stay out of it.
    let before = snapshot.num_docs();
    mutable.append(&rows[..3]).unwrap();
    assert_eq!(snapshot.num_docs(), before);
    let count = run(
        "SELECT COUNT(*) FROM trades WHERE id < 3",
        &table,
        &snapshot,
    );
    assert_eq!(count, vec![vec![Value::Long(3)]]);
    let fresh = MutableSnapshot::new("trades__0__0".into(), mutable);
    let count = run("SELECT COUNT(*) FROM trades WHERE id < 3", &table, &fresh);
    assert_eq!(count, vec![vec![Value::Long(6)]]);
}

#[test]
fn a_passed_deadline_stops_the_segment_work() {
    let (schema, spec) = fixture();
    let spec = Arc::new(spec);
    let mutable = Arc::new(MutableSegment::new(spec.clone()));
    let row = json_row(
        &serde_json::from_str::<Json>(ROWS_A.lines().next().unwrap()).unwrap(),
        &spec,
    )
    .unwrap();
    mutable.append(&vec![row; 5000]).unwrap();
    let snapshot = MutableSnapshot::new("trades__0__0".into(), mutable);
    let mut options = QueryOptions::default();
    let Route::Single { query, .. } = sql::parse(
        "SELECT symbol, SUM(price) FROM trades GROUP BY symbol",
        &mut options,
    )
    .unwrap() else {
        panic!("not single-stage");
    };
    let plan = sql::plan(&query, &columns(&schema), options).unwrap();
    let deadline = Deadline::new(std::time::Instant::now());
    let err = execute(&plan, &snapshot, &deadline).unwrap_err();
    assert_eq!(err, super::exec::TIMED_OUT);
    // Cancellation stops work the same way before the deadline.
    let deadline = Deadline::new(std::time::Instant::now() + std::time::Duration::from_secs(60));
    deadline.cancel();
    assert!(execute(&plan, &snapshot, &deadline).is_err());
}

#[test]
fn split_aggregation_matches_one_pass() {
    let (schema, spec) = fixture();
    let spec = Arc::new(spec);
    let mutable = Arc::new(MutableSegment::new(spec.clone()));
    let template = fixture_rows(&spec);
    // 300,000 rows: enough for the doc set to split across tasks.
    let rows: Vec<_> = template.iter().cycle().take(300_000).cloned().collect();
    mutable.append(&rows).unwrap();
    let snapshot = MutableSnapshot::new("trades__0__0".into(), mutable);
    let table = columns(&schema);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let four = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    for sql in [
        "SELECT COUNT(*), SUM(shares), MAX(price), COUNT(DISTINCT user_id) FROM trades",
        "SELECT symbol, COUNT(*), AVG(price), MIN(fee) FROM trades GROUP BY symbol ORDER BY symbol",
        "SELECT ts - ts % 7200000 AS h, SUM(shares) FILTER (WHERE side = 'BUY') FROM trades WHERE exchange <> 'LSE' GROUP BY ts - ts % 7200000 ORDER BY h LIMIT 100",
    ] {
        let whole = one.install(|| run(sql, &table, &snapshot));
        let split = four.install(|| run(sql, &table, &snapshot));
        assert!(close(&whole, &split), "{sql}\none task: {whole:?}\nsplit:    {split:?}");
    }
}

#[test]
fn approximate_aggregates_come_close_to_exact_ones() {
    let (schema, spec) = fixture();
    let spec = Arc::new(spec);
    let mutable = Arc::new(MutableSegment::new(spec.clone()));
    mutable.append(&fixture_rows(&spec)).unwrap();
    let snapshot = MutableSnapshot::new("trades__0__0".into(), mutable);
    let table = columns(&schema);
    let rows = run(
        "SELECT DISTINCTCOUNTHLL(user_id), COUNT(DISTINCT user_id), DISTINCTCOUNTHLL(id), \
         PERCENTILEEST(price, 50), PERCENTILE(price, 50), PERCENTILEEST(shares, 95), PERCENTILE(shares, 95) FROM trades",
        &table,
        &snapshot,
    );
    let row = &rows[0];
    let number = |at: usize| row[at].as_f64().unwrap();
    // 256 registers count small sets exactly or nearly so.
    assert!((number(0) - number(1)).abs() <= 1.0, "{row:?}");
    assert!((number(2) - 60.0).abs() <= 3.0, "{row:?}");
    // Within 1%, then cut to a whole number as Pinot's PERCENTILEEST is.
    for (estimate, exact) in [(3, 4), (5, 6)] {
        assert!(
            (number(estimate) - number(exact).trunc()).abs() <= 0.01 * number(exact) + 1.0,
            "{row:?}"
        );
        assert!(matches!(row[estimate], Value::Long(_)), "{row:?}");
    }
}
