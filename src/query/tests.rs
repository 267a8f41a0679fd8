//! Consuming and sealed segments answer alike: the same rows, appended to
//! a `MutableSegment` and sealed into a file, give the same results for
//! every query. Answers compare strictly (`test_values`): the same type
//! in every cell, and each cell of its column's declared type.

use std::sync::Arc;

use serde_json::{json, Value as Json};

use super::exec::{execute, Deadline, Partial};
use super::options::QueryOptions;
use super::reduce;
use super::source::{MutableSnapshot, SegmentSource};
use super::sql::{self, Route, TableColumns};
use super::test_values::{fits, same, same_rows};
use crate::catalog::{self, Schema, TableConfig};
use crate::expr::value::Value;
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
    let rows = reduce::finish(&plan, merged).unwrap();
    for row in &rows {
        for (cell, output) in row.iter().zip(&plan.output) {
            assert!(fits(cell, output.ty), "{sql}: {cell:?} in {:?}", output.ty);
        }
    }
    rows
}

/// The fixture's rows, conformed to `spec`.
fn fixture_rows(spec: &SegmentSpec) -> Vec<Vec<crate::segment::Cell>> {
    ROWS_A
        .lines()
        .chain(ROWS_B.lines())
        .map(|line| json_row(&serde_json::from_str::<Json>(line).unwrap(), spec).unwrap())
        .collect()
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
        late_docs: Vec::new(),
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
            same_rows(&from_mutable, &from_sealed),
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
    assert_eq!(err.to_string(), super::exec::TIMED_OUT);
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
        assert!(same_rows(&whole, &split), "{sql}\none task: {whole:?}\nsplit:    {split:?}");
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

#[test]
fn aggregate_names_ignore_underscores_as_in_pinot() {
    let (schema, spec) = fixture();
    let spec = Arc::new(spec);
    let mutable = Arc::new(MutableSegment::new(spec.clone()));
    mutable.append(&fixture_rows(&spec)).unwrap();
    let snapshot = MutableSnapshot::new("trades__0__0".into(), mutable);
    let table = columns(&schema);
    let rows = run(
        "SELECT DISTINCT_COUNT(user_id), DISTINCTCOUNT(user_id), distinct_count_hll(exchange), \
         DISTINCTCOUNTHLL(exchange), PERCENTILE_EST(shares, 10), PERCENTILEEST(shares, 10), \
         PERCENTILE_TDIGEST_99(price), PERCENTILETDIGEST99(price), MIN_MAX_RANGE(price), MINMAXRANGE(price) \
         FROM trades",
        &table,
        &snapshot,
    );
    let row = &rows[0];
    for pair in row.chunks(2) {
        assert!(same(&pair[0], &pair[1]), "{row:?}");
    }
}

/// Runs `work` on a thread with a 2 MiB stack, as Tokio's and Rayon's
/// workers have: a recursion too deep for it aborts the test binary.
fn on_small_stack<R: Send + 'static>(work: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(work)
        .unwrap()
        .join()
        .unwrap()
}

/// Parses, plans, runs and explains `sql`, returning the first error.
fn try_run(
    sql: &str,
    table: &TableColumns,
    segment: &dyn SegmentSource,
) -> Result<Vec<Vec<Value>>, super::QueryError> {
    let mut options = QueryOptions::default();
    let Route::Single { query, .. } = sql::parse(sql, &mut options)? else {
        panic!("{sql} is not single-stage");
    };
    let plan = sql::plan(&query, table, options)?;
    let explained = super::explain::explain(&plan, &Default::default());
    assert!(!explained.rows.is_empty());
    let deadline = Deadline::new(std::time::Instant::now() + std::time::Duration::from_secs(30));
    let failed = |err: super::error::ExecError| super::QueryError::execution(err.to_string());
    let (partial, _) = execute(&plan, segment, &deadline).map_err(failed)?;
    let merged = reduce::merge(&plan, vec![partial]).map_err(failed)?;
    reduce::finish(&plan, merged).map_err(failed)
}

/// `term` `count` times (`#` numbered from 0), joined by `op`.
fn chain(count: usize, term: &str, op: &str) -> String {
    let terms: Vec<String> = (0..count)
        .map(|i| term.replace('#', &i.to_string()))
        .collect();
    terms.join(op)
}

/// The largest `n` whose query `make(n)` passes the shape check; the
/// next one must be refused with a 400 naming `limit`.
fn longest_accepted(make: &dyn Fn(usize) -> String, limit: usize) -> usize {
    let accepted = |n: usize| sql::parse(&make(n), &mut QueryOptions::default()).is_ok();
    let (mut low, mut high) = (1, 4 * limit);
    assert!(accepted(low) && !accepted(high), "{}", make(low));
    while high - low > 1 {
        let mid = (low + high) / 2;
        if accepted(mid) {
            low = mid;
        } else {
            high = mid;
        }
    }
    let Err(err) = sql::parse(&make(high), &mut QueryOptions::default()) else {
        unreachable!()
    };
    assert_eq!(err.code, super::error::VALIDATION);
    assert!(
        err.message.contains(&format!("limit of {limit}")),
        "{}",
        err.message
    );
    low
}

fn fixture_snapshot() -> (TableColumns, MutableSnapshot) {
    let (schema, spec) = fixture();
    let spec = Arc::new(spec);
    let mutable = Arc::new(MutableSegment::new(spec.clone()));
    mutable.append(&fixture_rows(&spec)).unwrap();
    (
        columns(&schema),
        MutableSnapshot::new("trades__0__0".into(), mutable),
    )
}

/// A query of `n` chained terms and the value it answers.
type Case<'a> = (&'a dyn Fn(usize) -> String, &'a dyn Fn(usize) -> Value);

#[test]
fn expressions_nested_up_to_the_limit_run_on_a_small_stack() {
    on_small_stack(|| {
        let (table, snapshot) = fixture_snapshot();
        let depth = sql::MAX_EXPRESSION_DEPTH;
        let single = |sql: &str| try_run(sql, &table, &snapshot).unwrap()[0][0].clone();
        let cases: [Case; 4] = [
            (
                &|n| {
                    format!(
                        "SELECT {} FROM trades ORDER BY id LIMIT 1",
                        chain(n, "price", " + ")
                    )
                },
                &|n| Value::Double(100.0 * n as f64),
            ),
            (
                &|n| {
                    format!(
                        "SELECT COUNT(*) FROM trades WHERE price{} > 100",
                        chain(n, "", " + 0")
                    )
                },
                &|_| Value::Long(59),
            ),
            (
                &|n| {
                    format!(
                    "SELECT side, {} AS s FROM trades GROUP BY side HAVING COUNT(*) > 0 ORDER BY s DESC LIMIT 1",
                    chain(n, "SUM(shares)", " + ")
                )
                },
                &|_| Value::Str("BUY".into()),
            ),
            (
                &|n| {
                    format!(
                        "SELECT ts{} AS h, COUNT(*) FROM trades GROUP BY h ORDER BY h LIMIT 1",
                        chain(n, "", " + 1")
                    )
                },
                &|n| Value::Long(1_780_000_000_000 + n as i64 - 1),
            ),
        ];
        for (make, expected) in cases {
            let n = longest_accepted(make, depth);
            assert!(n > depth / 2, "{n}: {}", make(n));
            assert_eq!(single(&make(n)), expected(n), "{}", make(n));
        }
        // The sums of one side, to check the HAVING case's group.
        let buy = single("SELECT SUM(shares) FROM trades WHERE side = 'BUY'");
        let sell = single("SELECT SUM(shares) FROM trades WHERE side = 'SELL'");
        assert!(buy.as_f64() > sell.as_f64(), "{buy:?} {sell:?}");
    });
}

#[test]
fn long_and_or_chains_run_up_to_their_limit_on_a_small_stack() {
    on_small_stack(|| {
        let (table, snapshot) = fixture_snapshot();
        let terms = sql::MAX_CONDITION_TERMS;
        let count = |sql: &str| try_run(sql, &table, &snapshot).map(|rows| rows[0][0].clone());
        // Equalities on one column become one IN; other chains stay ORs.
        let equalities = |n: usize| {
            format!(
                "SELECT COUNT(*) FROM trades WHERE {}",
                chain(n, "id = #", " OR ")
            )
        };
        let mixed = |n: usize| {
            format!(
                "SELECT COUNT(*) FROM trades WHERE {}",
                chain(n, "(id = # AND id >= 0)", " OR ")
            )
        };
        // The ANDs inside count too, along the path through them.
        for (make, most) in [
            (&equalities as &dyn Fn(usize) -> String, terms + 1),
            (&mixed, terms),
        ] {
            let n = longest_accepted(make, terms);
            assert_eq!(n, most);
            assert_eq!(count(&make(n)).unwrap(), Value::Long(60));
            assert_eq!(count(&make(1750)).unwrap(), Value::Long(60));
            assert_eq!(count(&make(30)).unwrap(), Value::Long(30));
        }
        let ands = format!(
            "SELECT COUNT(*) FROM trades WHERE {}",
            chain(terms + 1, "id <> #", " AND ")
        );
        assert_eq!(count(&ands).unwrap(), Value::Long(0));
        // In SELECT, a chain is a balanced tree of ANDs/ORs.
        let selected = format!(
            "SELECT {} FROM trades ORDER BY id LIMIT 1",
            chain(5000, "id = #", " OR ")
        );
        assert_eq!(count(&selected).unwrap(), Value::Long(1));
    });
}

/// Times a 100,000-item IN over 1,000,000 rows on a sealed segment: a raw
/// column (values scanned), a dictionary column (ids looked up), an
/// expression (evaluated per row) and an inverted index (bitmaps joined). `IN_ROWS` and `IN_ITEMS` change the
/// sizes. Run with `cargo test --lib in_list_timing -- --ignored --nocapture`.
#[test]
#[ignore]
fn in_list_timing() {
    let size = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (rows, items) = (size("IN_ROWS", 1_000_000), size("IN_ITEMS", 100_000));
    let (schema, spec) = fixture();
    let spec = Arc::new(spec);
    let mutable = Arc::new(MutableSegment::new(spec.clone()));
    let mut batch = Vec::new();
    for i in 0..rows {
        let line = json!({
            "id": i, "user_id": i, "symbol": "AAPL", "exchange": "NYSE", "side": "BUY",
            "tags": ["tech"], "active": true, "shares": i % 100, "price": (i % 4096) as f64 / 8.0,
            "fee": (i % 200_000) as f64 / 4.0, "ts": 1_780_000_000_000i64 + i as i64,
        });
        batch.push(json_row(&line, &spec).unwrap());
        if batch.len() == 65_536 {
            mutable.append(&batch).unwrap();
            batch.clear();
        }
    }
    mutable.append(&batch).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let info = SealInfo {
        late_docs: Vec::new(),
        segment_name: "trades_0".into(),
        stream: None,
    };
    let (path, _) = mutable.seal(dir.path(), &info).unwrap();
    let sealed = ImmutableSegment::open(&path).unwrap();
    let table = columns(&schema);
    // Every other item is in the data: fee steps by 0.25 up to 50,000.
    let list = |scale: f64| {
        let values: Vec<String> = (0..items)
            .map(|i| format!("{}", i as f64 * scale))
            .collect();
        values.join(", ")
    };
    for (what, sql) in [
        (
            "raw FLOAT column",
            format!("SELECT COUNT(*) FROM trades WHERE fee IN ({})", list(0.5)),
        ),
        (
            "dictionary LONG column",
            format!("SELECT COUNT(*) FROM trades WHERE id IN ({})", list(2.0)),
        ),
        (
            "expression",
            format!(
                "SELECT COUNT(*) FROM trades WHERE id + 0 IN ({})",
                list(2.0)
            ),
        ),
        (
            "inverted INT column",
            format!(
                "SELECT COUNT(*) FROM trades WHERE user_id IN ({})",
                list(2.0)
            ),
        ),
    ] {
        let mut options = QueryOptions::default();
        let Route::Single { query, .. } = sql::parse(&sql, &mut options).unwrap() else {
            panic!("not single-stage");
        };
        let plan = sql::plan(&query, &table, options).unwrap();
        let deadline =
            Deadline::new(std::time::Instant::now() + std::time::Duration::from_secs(3600));
        let started = std::time::Instant::now();
        let (partial, _) = execute(&plan, &sealed, &deadline).unwrap();
        let elapsed = started.elapsed();
        let merged = reduce::merge(&plan, vec![partial]).unwrap();
        let count = reduce::finish(&plan, merged).unwrap();
        println!("{items} items over {rows} rows, {what}: {elapsed:?} ({count:?})");
    }
}

#[test]
fn in_lists_agree_on_every_path_and_have_a_size_limit() {
    // `ts` sorted and raw, `symbol` raw, `user_id` with an inverted index.
    let schema: catalog::Parsed<Schema> = catalog::parse(SCHEMA.as_bytes(), "schema").unwrap();
    let mut table: Json = serde_json::from_str(TABLE).unwrap();
    table["tableIndexConfig"]["noDictionaryColumns"] = json!(["fee", "ts", "symbol"]);
    let table: catalog::Parsed<TableConfig> =
        catalog::parse(table.to_string().as_bytes(), "table").unwrap();
    let spec = Arc::new(SegmentSpec::new(&schema.value, &table.value));
    let mutable = Arc::new(MutableSegment::new(spec.clone()));
    mutable.append(&fixture_rows(&spec)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let info = SealInfo {
        late_docs: Vec::new(),
        segment_name: "trades_0".into(),
        stream: None,
    };
    let (path, _) = mutable.seal(dir.path(), &info).unwrap();
    let sealed = ImmutableSegment::open(&path).unwrap();
    let snapshot = MutableSnapshot::new("trades__0__0".into(), mutable);
    let table = columns(&schema.value);
    let all_ts: Vec<i64> = run(
        "SELECT ts FROM trades ORDER BY ts LIMIT 100",
        &table,
        &sealed,
    )
    .iter()
    .map(|row| row[0].as_i64().unwrap())
    .collect();
    // Every third timestamp, among 100,000 values that mostly miss.
    let mut wanted: Vec<String> = all_ts.iter().step_by(3).map(|ts| ts.to_string()).collect();
    wanted.extend((0..100_000 - wanted.len()).map(|i| (i * 7 + 1).to_string()));
    let list = wanted.join(", ");
    let expected = Value::Long(all_ts.iter().step_by(3).count() as i64);
    for sql in [
        format!("SELECT COUNT(*) FROM trades WHERE ts IN ({list})"),
        format!("SELECT COUNT(*) FROM trades WHERE ts + 0 IN ({list})"),
        format!("SELECT COUNT(*) FROM trades WHERE NOT (ts NOT IN ({list}))"),
    ] {
        for segment in [&sealed as &dyn SegmentSource, &snapshot] {
            let count = run(&sql, &table, segment);
            assert_eq!(count, vec![vec![expected.clone()]], "{}", &sql[..60]);
        }
    }
    // Numbers as text, text columns and the inverted index agree with
    // the same IN over an expression, which no index answers.
    for (column, list) in [
        ("user_id", "'100', 101.0, 9999"),
        ("symbol", "'AAPL', 'TSLA', 'nope'"),
        ("exchange", "'NYSE'"),
    ] {
        let indexed = format!("SELECT COUNT(*) FROM trades WHERE {column} IN ({list})");
        let expression =
            format!("SELECT COUNT(*) FROM trades WHERE CONCAT({column}, '') IN ({list})");
        let count = run(&indexed, &table, &sealed);
        assert_ne!(count, vec![vec![Value::Long(0)]], "{indexed}");
        assert_eq!(count, run(&indexed, &table, &snapshot), "{indexed}");
        if column != "user_id" {
            assert_eq!(count, run(&expression, &table, &sealed), "{expression}");
        }
    }
    // Past 100,000 items an IN is refused, unless the option raises it.
    let longer = format!("SELECT COUNT(*) FROM trades WHERE ts IN ({list}, 1)");
    let err = sql::parse(&longer, &mut QueryOptions::default())
        .err()
        .unwrap();
    assert_eq!(err.code, super::error::VALIDATION);
    assert_eq!(
        err.message,
        "the IN list has 100001 items, more than the limit of 100000 (raise it with SET maxInListItems = ...)"
    );
    let raised = format!("SET maxInListItems = 100001; {longer}");
    assert_eq!(run(&raised, &table, &sealed), vec![vec![expected]]);
}

#[test]
fn the_engine_is_chosen_on_the_syntax_tree_not_the_text() {
    let single = |sql: &str| {
        let route = sql::parse(sql, &mut QueryOptions::default()).unwrap();
        matches!(route, Route::Single { .. })
    };
    // Only text: string literals and quoted names.
    assert!(single(
        "SELECT COUNT(*) FROM t WHERE symbol = 'x (SELECT y'"
    ));
    assert!(single("SELECT COUNT(*) FROM t WHERE symbol = 'a OVER b'"));
    assert!(single("SELECT symbol AS \"(SELECT \" FROM t"));
    // Subqueries and window functions anywhere.
    assert!(!single(
        "SELECT COUNT(*) FROM t WHERE id IN (SELECT id FROM t)"
    ));
    assert!(!single(
        "SELECT COUNT(*) FROM t WHERE EXISTS (SELECT 1 FROM t)"
    ));
    assert!(!single("SELECT (SELECT MAX(id) FROM t) FROM t"));
    assert!(!single("SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM t"));
    assert!(!single(
        "SELECT id, SUM(id) OVER w FROM t WINDOW w AS (ORDER BY id)"
    ));
}

#[test]
fn like_on_a_raw_text_column_agrees_with_the_dictionary_and_expression_paths() {
    // `symbol` raw in one table, dictionary-encoded in the other.
    let schema: catalog::Parsed<Schema> = catalog::parse(SCHEMA.as_bytes(), "schema").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sealed_with = |raw: bool, name: &str| {
        let mut table: Json = serde_json::from_str(TABLE).unwrap();
        if raw {
            table["tableIndexConfig"]["noDictionaryColumns"] = json!(["symbol"]);
        }
        let table: catalog::Parsed<TableConfig> =
            catalog::parse(table.to_string().as_bytes(), "table").unwrap();
        let spec = Arc::new(SegmentSpec::new(&schema.value, &table.value));
        let mutable = Arc::new(MutableSegment::new(spec.clone()));
        mutable.append(&fixture_rows(&spec)).unwrap();
        let info = SealInfo {
            late_docs: Vec::new(),
            segment_name: name.into(),
            stream: None,
        };
        let (path, _) = mutable.seal(dir.path(), &info).unwrap();
        ImmutableSegment::open(&path).unwrap()
    };
    let raw = sealed_with(true, "raw_0");
    let dictionary = sealed_with(false, "dict_0");
    let table = columns(&schema.value);
    for condition in [
        "symbol LIKE 'A%'",
        "symbol NOT LIKE '%L'",
        "symbol LIKE '_S%'",
        "symbol LIKE '%A%L%'",
        "symbol LIKE 'AAPL'",
        "symbol NOT LIKE '%'",
        "REGEXP_LIKE(symbol, '^(AAPL|TSLA)$')",
        "REGEXP_LIKE(symbol, 'P.*L')",
    ] {
        let sql = format!("SELECT COUNT(*) FROM trades WHERE {condition}");
        let expression = sql.replace("symbol", "CONCAT(symbol, '')");
        let count = run(&sql, &table, &raw);
        if !condition.contains("NOT LIKE '%'") {
            assert_ne!(count, vec![vec![Value::Long(0)]], "{sql}");
        }
        assert_eq!(count, run(&sql, &table, &dictionary), "{sql}");
        assert_eq!(count, run(&expression, &table, &raw), "{expression}");
    }
}

#[test]
fn conjuncts_scanned_together_agree_with_each_one_alone() {
    // `side`, `exchange` and `shares` have dictionaries but no index the
    // filter uses, `fee` is stored raw: their conjuncts are tested in one
    // pass. `NOT (NOT a OR NOT b)` runs each on its own.
    let (schema, spec) = fixture();
    let spec = Arc::new(spec);
    let dir = tempfile::tempdir().unwrap();
    let mutable = Arc::new(MutableSegment::new(spec.clone()));
    mutable.append(&fixture_rows(&spec)).unwrap();
    let info = SealInfo {
        late_docs: Vec::new(),
        segment_name: "fused_0".into(),
        stream: None,
    };
    let (path, _) = mutable.seal(dir.path(), &info).unwrap();
    let sealed = ImmutableSegment::open(&path).unwrap();
    let (table, snapshot) = fixture_snapshot();
    assert_eq!(table.columns.len(), columns(&schema).columns.len());
    let segments: [&dyn SegmentSource; 2] = [&sealed, &snapshot];
    for conjuncts in [
        vec!["side = 'BUY'", "shares > 20"],
        vec!["side = 'BUY'", "fee >= 1.0", "shares < 40"],
        vec!["exchange <> 'NYSE'", "fee < 2", "shares * 2 > 30"],
        vec!["shares * 2 > 30", "side <> 'SELL'", "fee > 0.5"],
        vec!["exchange IN ('NYSE', 'LSE')", "side LIKE 'S%'"],
        vec!["shares >= 20", "shares < 45", "side = 'BUY'"],
        // Two conjuncts on one dictionary column are read as one.
        vec![
            "exchange IN ('NYSE', 'LSE')",
            "exchange >= 'M'",
            "shares < 60",
        ],
        vec!["exchange <= 'NASDAQ'", "fee > 0.1", "exchange > 'M'"],
    ] {
        let together = format!(
            "SELECT COUNT(*), SUM(shares) FROM trades WHERE {}",
            conjuncts.join(" AND ")
        );
        let negated: Vec<String> = conjuncts.iter().map(|c| format!("NOT ({c})")).collect();
        let apart = format!(
            "SELECT COUNT(*), SUM(shares) FROM trades WHERE NOT ({})",
            negated.join(" OR ")
        );
        for segment in segments {
            let rows = run(&together, &table, segment);
            assert_ne!(rows[0][0], Value::Long(0), "{together}");
            assert_eq!(rows, run(&apart, &table, segment), "{together}");
        }
    }
    // An expression is evaluated only on the docs the conjuncts before it
    // kept: here it divides by zero on every other doc.
    for segment in segments {
        let guarded = "SELECT COUNT(*) FROM trades \
                       WHERE side = 'BUY' AND 7 % (CASE WHEN side = 'BUY' THEN 2 ELSE 0 END) = 1";
        let buys = "SELECT COUNT(*) FROM trades WHERE side = 'BUY'";
        assert_eq!(run(guarded, &table, segment), run(buys, &table, segment));
    }
}

#[test]
fn ranges_over_raw_longs_compare_exactly() {
    // `id` stored raw; two ids that are one apart past 2^53, where doubles
    // cannot tell them apart.
    let schema: catalog::Parsed<Schema> = catalog::parse(SCHEMA.as_bytes(), "schema").unwrap();
    let mut table: Json = serde_json::from_str(TABLE).unwrap();
    table["tableIndexConfig"]["noDictionaryColumns"] = json!(["id", "fee"]);
    let table: catalog::Parsed<TableConfig> =
        catalog::parse(table.to_string().as_bytes(), "table").unwrap();
    let spec = Arc::new(SegmentSpec::new(&schema.value, &table.value));
    let rows: Vec<_> = ROWS_A
        .lines()
        .enumerate()
        .map(|(index, line)| {
            let mut row: Json = serde_json::from_str(line).unwrap();
            if index < 2 {
                row["id"] = json!(9_007_199_254_740_992i64 + index as i64);
                row["side"] = json!("BUY");
            }
            json_row(&row, &spec).unwrap()
        })
        .collect();
    let mutable = Arc::new(MutableSegment::new(spec.clone()));
    mutable.append(&rows).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let info = SealInfo {
        late_docs: Vec::new(),
        segment_name: "longs_0".into(),
        stream: None,
    };
    let (path, _) = mutable.seal(dir.path(), &info).unwrap();
    let sealed = ImmutableSegment::open(&path).unwrap();
    let snapshot = MutableSnapshot::new("longs__0__0".into(), mutable);
    let table = columns(&schema.value);
    for segment in [&sealed as &dyn SegmentSource, &snapshot] {
        for (sql, expected) in [
            ("SELECT COUNT(*) FROM trades WHERE id >= 9007199254740993", 1),
            ("SELECT COUNT(*) FROM trades WHERE id > 9007199254740992", 1),
            ("SELECT COUNT(*) FROM trades WHERE id < 9007199254740993 AND id > 9007199254740000", 1),
            ("SELECT COUNT(*) FROM trades WHERE id >= 9007199254740993 AND side = 'BUY'", 1),
            ("SELECT COUNT(*) FROM trades WHERE side = 'BUY' AND id <= 9007199254740992 AND id > 1000", 1),
        ] {
            assert_eq!(run(sql, &table, segment), vec![vec![Value::Long(expected)]], "{sql}");
        }
    }
}
