//! The wire format over the trades fixture (`tests/sql/data`): plans of
//! real queries encode, decode and run to the same answers as the
//! originals on sealed, star-tree and consuming segments; the partial
//! results and errors of those runs come back whole; hostile bytes (random,
//! cut short, mutated, nested past the bound) are refused without a panic.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::{json, Value as Json};

use super::buf::Writer;
use super::*;
use crate::catalog::{self, Schema, TableConfig};
use crate::expr::value::Value;
use crate::expr::Expr;
use crate::ingest::rows::json_row;
use crate::query::agg::{Acc, AggFunc, DistinctSet, IdBits, IdPairs};
use crate::query::exec::{execute, execute_in_place, Deadline, Groups, Partial, Row, SegmentStats};
use crate::query::filter::{Filter, Pred};
use crate::query::options::QueryOptions;
use crate::query::plan::PlanKind;
use crate::query::reduce;
use crate::query::source::{MutableSnapshot, SegmentSource};
use crate::query::sql::{self, Route, TableColumns};
use crate::query::test_values::{same, same_rows};
use crate::segment::{Cell, ImmutableSegment, MutableSegment, SealInfo, SegmentSpec};
use crate::sketch::{Hll, Quantiles};

const SCHEMA: &str = include_str!("../../../tests/sql/data/trades.schema.json");
const TABLE: &str = include_str!("../../../tests/sql/data/trades.table.json");
const ROWS_A: &str = include_str!("../../../tests/sql/data/trades_a.jsonl");
const ROWS_B: &str = include_str!("../../../tests/sql/data/trades_b.jsonl");

/// Queries that reach every expression, filter, predicate, aggregate and
/// function the planner builds (checked by `plans_round_trip_and_run_alike`).
const QUERIES: &[&str] = &[
    "SELECT COUNT(*), SUM(shares), MIN(price), MAX(fee), AVG(price), MINMAXRANGE(shares) FROM trades",
    "SELECT symbol, COUNT(*), SUM(price) FROM trades GROUP BY symbol ORDER BY symbol",
    "SELECT exchange, side, COUNT(DISTINCT user_id), DISTINCTCOUNT(symbol), DISTINCTCOUNTHLL(user_id) FROM trades WHERE price > 120 GROUP BY exchange, side ORDER BY 1, 2",
    // A star-tree answers this one on two of the three segments.
    "SELECT exchange, side, COUNT(*), SUM(shares), SUM(price), MIN(price), MAX(price), DISTINCTCOUNTHLL(user_id), DISTINCTCOUNTHLL(symbol), PERCENTILEEST(price, 90) FROM trades GROUP BY exchange, side ORDER BY 1, 2 LIMIT 100",
    "SELECT DISTINCTCOUNTHLL(symbol), PERCENTILEEST(price, 50), COUNT(*) FROM trades WHERE exchange = 'NYSE'",
    "SELECT side, PERCENTILE(price, 50), PERCENTILE95(shares), PERCENTILEEST(fee, 50), PERCENTILETDIGEST(price, 99.9), PERCENTILEEST90(shares) FROM trades GROUP BY side ORDER BY side",
    "SELECT id, symbol FROM trades WHERE symbol IN ('AAPL', 'TSLA') AND ts >= 1780010000000 ORDER BY id LIMIT 100",
    "SELECT id, price FROM trades WHERE symbol NOT IN ('AAPL') AND price <= 150 AND shares < 90 AND fee >= 0.5 ORDER BY price DESC, id LIMIT 5 OFFSET 2",
    "SELECT COUNT(*) FROM trades WHERE tags = 'cloud' OR symbol IS NULL OR exchange IS NOT NULL AND side <> 'BUY'",
    "SELECT ts - ts % 3600000 AS h, COUNT(*) FROM trades WHERE user_id BETWEEN 101 AND 105 GROUP BY ts - ts % 3600000 ORDER BY h",
    "SELECT id, price FROM trades WHERE REGEXP_LIKE(exchange, 'N.*') AND symbol LIKE 'A%' AND side NOT LIKE 'S_L%' ORDER BY price DESC, id LIMIT 7",
    "SELECT DISTINCT side FROM trades ORDER BY side",
    "SELECT * FROM trades WHERE NOT (price BETWEEN 110 AND 130) AND id NOT BETWEEN 5 AND 9 ORDER BY id LIMIT 20",
    "SELECT symbol, SUM(shares) AS s, AVG(price) FROM trades WHERE active = true GROUP BY symbol HAVING COUNT(*) > 1 AND SUM(shares) >= 10 ORDER BY s DESC, symbol LIMIT 3 OFFSET 1",
    "SELECT id, -price, NOT active, price * 2 + shares / 4 - 1, shares % 7, \
     CASE WHEN price > 120 THEN 'high' WHEN price > 110 THEN 'mid' ELSE 'low' END, \
     CASE side WHEN 'BUY' THEN 1 END, CAST(price AS INT), CAST(shares AS VARCHAR), CAST(id AS DOUBLE), \
     shares IN (10, 47), price BETWEEN 100 AND 120, symbol LIKE '%A%', symbol IS NULL, symbol IS NOT NULL, \
     X'0aff', NULL, 2.5, 'text', price <> 100, price < 110, price <= 110.5, shares > 10 OR NOT active \
     FROM trades ORDER BY id LIMIT 10",
    "SELECT id, DATETRUNC('hour', ts), DATETIMECONVERT(ts, '1:MILLISECONDS:EPOCH', '1:HOURS:EPOCH', '1:HOURS'), \
     TOEPOCHSECONDS(ts), TOEPOCHMINUTES(ts), TOEPOCHHOURS(ts), TOEPOCHDAYS(ts), FROMEPOCHSECONDS(TOEPOCHSECONDS(ts)), \
     FROMEPOCHMINUTES(10), FROMEPOCHHOURS(10), FROMEPOCHDAYS(10), UPPER(symbol), LOWER(exchange), SUBSTR(symbol, 1, 3), \
     SUBSTRING(exchange FROM 2 FOR 2), CONCAT(symbol, side, '-'), LENGTH(exchange), ABS(-price), FLOOR(price), CEIL(fee), \
     ROUND(price, 1), MOD(shares, 3) FROM trades ORDER BY id LIMIT 10",
    "SELECT id, toDateTime(ts, 'yyyy-MM-dd HH:mm'), fromDateTime('2026-05-28', 'yyyy-MM-dd'), \
     jsonPathString(CONCAT('{\"s\": \"', symbol), '$.s'), jsonPathLong('{\"a\": [1, 2]}', '$.a[1]'), \
     jsonPathDouble('{}', '$.p', 0.5), jsonFormat(price) FROM trades ORDER BY id LIMIT 10",
    "SELECT COUNT(*), SUM(shares) FILTER (WHERE side = 'BUY'), AVG(price) FILTER (WHERE shares * 2 > 100) FROM trades WHERE price * 2 > 200 OR UPPER(symbol) = 'AAPL'",
    "SELECT COUNT(*) FROM trades WHERE true",
    "SELECT COUNT(*) FROM trades WHERE symbol = NULL",
    "SELECT COUNT(*) FROM trades WHERE id = 1 OR id = 2 OR id = 3 OR symbol = 'MSFT'",
    "SET useStarTree = false; SET numGroupsLimit = 3; SET timeoutMs = 5000; SET maxRowsScanned = 1000000; \
     SET isSecondaryWorkload = true; SET skipUpsert = true; SET maxInListItems = 50; SET maxResultRows = 500; \
     SET maxQueryMemoryBytes = 100000000; SELECT symbol, COUNT(*) FROM trades GROUP BY symbol ORDER BY 2 DESC, 1 LIMIT 10",
    "SELECT DATETRUNC('day', ts), exchange, COUNT(*) FROM trades GROUP BY 1, 2 ORDER BY COUNT(*) DESC LIMIT 4",
    "SELECT tags, COUNT(*) FROM trades GROUP BY tags ORDER BY 1",
    "SELECT id, tags FROM trades WHERE tags IN ('tech', 'auto') ORDER BY id DESC LIMIT 4",
    "SELECT CAST(symbol AS INT) FROM trades LIMIT 3",
    "SELECT exchange, MAX(price) - MIN(price), SUM(price) / COUNT(*) FROM trades GROUP BY exchange HAVING MAX(price) > 0 ORDER BY 2 DESC",
    "SELECT COUNT(*) FROM trades WHERE symbol >= 'B' AND symbol < 'T'",
    "SELECT symbol, DISTINCTCOUNTHLL(tags), DISTINCTCOUNT(tags), DISTINCTCOUNT(price) FROM trades GROUP BY symbol ORDER BY symbol",
    "SELECT side, DISTINCTCOUNT(fee), DISTINCTCOUNT(ts) FROM trades GROUP BY side ORDER BY side",
    "SELECT id FROM trades ORDER BY id LIMIT 0",
];

/// Segments of the fixture's rows: rows A sealed with a star-tree, rows B
/// sealed without one, and rows B consuming, with trees over their first
/// rows.
struct Fixture {
    table: TableColumns,
    segments: Vec<Arc<dyn SegmentSource>>,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let schema: catalog::Parsed<Schema> = catalog::parse(SCHEMA.as_bytes(), "schema").unwrap();
    let config = |json: &Json| -> TableConfig {
        let parsed: catalog::Parsed<TableConfig> =
            catalog::parse(json.to_string().as_bytes(), "table").unwrap();
        parsed.value
    };
    let mut table: Json = serde_json::from_str(TABLE).unwrap();
    let plain = Arc::new(SegmentSpec::new(&schema.value, &config(&table)));
    table["tableIndexConfig"]["starTreeIndexConfigs"] = json!([{
        "dimensionsSplitOrder": ["exchange", "side"],
        "functionColumnPairs": ["COUNT__*", "SUM__shares", "SUM__price", "MIN__price", "MAX__price",
            "DISTINCTCOUNTHLL__user_id", "DISTINCTCOUNTHLL__symbol", "PERCENTILEEST__price"],
        "maxLeafRecords": 3
    }]);
    let starred = Arc::new(SegmentSpec::new(&schema.value, &config(&table)));
    let dir = tempfile::tempdir().unwrap();
    let rows = |spec: &SegmentSpec, text: &str| -> Vec<Vec<Cell>> {
        text.lines()
            .map(|line| json_row(&serde_json::from_str::<Json>(line).unwrap(), spec).unwrap())
            .collect()
    };
    let sealed = |spec: &Arc<SegmentSpec>, text: &str, name: &str| -> Arc<dyn SegmentSource> {
        let segment = MutableSegment::new(spec.clone());
        segment.append(&rows(spec, text)).unwrap();
        let info = SealInfo {
            late_docs: Vec::new(),
            segment_name: name.into(),
            stream: None,
        };
        let (path, _) = segment.seal(dir.path(), &info).unwrap();
        Arc::new(ImmutableSegment::open(&path).unwrap())
    };
    let mut segments = vec![
        sealed(&starred, ROWS_A, "trades_0"),
        sealed(&plain, ROWS_B, "trades_1"),
    ];
    let consuming = Arc::new(MutableSegment::new(starred.clone()));
    let cells = rows(&starred, ROWS_B);
    consuming.append(&cells[..12]).unwrap();
    assert!(consuming.start_tree_build());
    consuming.build_star_trees().unwrap();
    consuming.append(&cells[12..]).unwrap();
    segments.push(Arc::new(MutableSnapshot::new(
        "trades__0__0".into(),
        consuming,
    )));
    Fixture {
        table: TableColumns::of_schema("trades", &schema.value),
        segments,
        _dir: dir,
    }
}

fn plan_of(sql: &str, table: &TableColumns) -> Plan {
    let mut options = QueryOptions::default();
    let Route::Single { query, .. } =
        sql::parse(sql, &mut options).unwrap_or_else(|e| panic!("{sql}: {e}"))
    else {
        panic!("{sql} is not a single-table query");
    };
    sql::plan(&query, table, options).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn request_of(plan: Plan, index: usize) -> ServerRequest {
    ServerRequest {
        plan,
        tables: vec!["trades_OFFLINE".into(), "trades_REALTIME".into()],
        segments: index
            .is_multiple_of(2)
            .then(|| vec!["trades_0".into(), "trades__0__0".into()]),
        timeout_ms: 9_500 + index as u64,
    }
}

/// What running a plan on the fixture gives: each segment's partial and
/// statistics, and the final rows.
struct Answer {
    partials: Vec<(Partial, SegmentStats)>,
    rows: Vec<Vec<Value>>,
}

/// Runs `plan` on every segment as the broker does (in place when a
/// star-tree answers), then merges and finishes.
fn run(plan: &Plan, fixture: &Fixture) -> Result<Answer, String> {
    let deadline = Deadline::new(Instant::now() + Duration::from_secs(60));
    let mut partials = Vec::new();
    for segment in &fixture.segments {
        let result = execute_in_place(plan, segment.as_ref(), &deadline)
            .unwrap_or_else(|| execute(plan, segment.as_ref(), &deadline));
        partials.push(result.map_err(|e| e.to_string())?);
    }
    let parts = partials.iter().map(|(p, _)| p.clone()).collect();
    let merged = reduce::merge(plan, parts).map_err(|e| e.to_string())?;
    let rows = reduce::finish(plan, merged).map_err(|e| e.to_string())?;
    Ok(Answer { partials, rows })
}

fn explained(plan: &Plan) -> String {
    let table = crate::query::explain::explain(plan, &Default::default());
    format!("{:?}", table.rows)
}

#[test]
fn plans_round_trip_and_run_alike() {
    let fixture = &fixture();
    let mut seen = BTreeSet::new();
    let mut star_tree = false;
    for (index, sql) in QUERIES.iter().enumerate() {
        let plan = plan_of(sql, &fixture.table);
        note_plan(&plan, &mut seen);
        let request = request_of(plan, index);
        let bytes = encode_request(&request);
        let decoded = decode_request(&bytes).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(encode_request(&decoded), bytes, "{sql}");
        assert_eq!(decoded.tables, request.tables);
        assert_eq!(decoded.segments, request.segments);
        assert_eq!(decoded.timeout_ms, request.timeout_ms);
        let (original, copy) = (&request.plan, &decoded.plan);
        assert_eq!(copy.columns, original.columns, "{sql}");
        assert_eq!(copy.output, original.output, "{sql}");
        assert_eq!(copy.options, original.options, "{sql}");
        assert_eq!(
            (copy.table.as_str(), copy.limit, copy.offset),
            (original.table.as_str(), original.limit, original.offset)
        );
        assert_eq!(explained(copy), explained(original), "{sql}");
        match (run(original, fixture), run(copy, fixture)) {
            (Ok(a), Ok(b)) => {
                assert!(
                    same_rows(&a.rows, &b.rows),
                    "{sql}\noriginal: {:?}\ndecoded:  {:?}",
                    a.rows,
                    b.rows
                );
                star_tree |= a.partials.iter().any(|(_, stats)| stats.star_tree);
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "{sql}"),
            (a, b) => panic!(
                "{sql}: the original {} and the decoded plan {}",
                if a.is_ok() { "ran" } else { "failed" },
                if b.is_ok() { "ran" } else { "failed" }
            ),
        }
    }
    assert!(star_tree, "no query was answered by a star-tree");
    let mut expected: Vec<String> = [
        "Column", "Literal", "Neg", "Not", "Binary", "Func", "Case", "Cast", "InList", "Between",
        "Like", "IsNull", "Key", "Agg",
    ]
    .iter()
    .map(|name| format!("expr {name}"))
    .collect();
    for kind in ["Null", "Long", "Double", "Str", "Bytes"] {
        expected.push(format!("literal {kind}"));
    }
    for op in super::expr::BIN_OPS {
        expected.push(format!("op {op:?}"));
    }
    for name in crate::expr::functions::NAMES {
        expected.push(format!("func {name}"));
    }
    for name in crate::query::agg::NAMES {
        expected.push(format!("agg {name}"));
    }
    for name in ["Const", "And", "Or", "Not", "Column", "Expr"] {
        expected.push(format!("filter {name}"));
    }
    for name in ["In", "Range", "Regex", "IsNull"] {
        expected.push(format!("pred {name}"));
    }
    for name in [
        "Aggregate",
        "Select",
        "having",
        "offset",
        "aggregate filter",
    ] {
        expected.push(format!("plan {name}"));
    }
    let missing: Vec<&String> = expected.iter().filter(|n| !seen.contains(*n)).collect();
    assert!(missing.is_empty(), "no query reaches {missing:?}");
}

fn note_plan(plan: &Plan, seen: &mut BTreeSet<String>) {
    if let Some(filter) = &plan.filter {
        note_filter(filter, seen);
    }
    if plan.offset > 0 {
        seen.insert("plan offset".into());
    }
    match &plan.kind {
        PlanKind::Aggregate {
            group_by,
            aggregates,
            select,
            having,
            order_by,
        } => {
            seen.insert("plan Aggregate".into());
            let mut exprs: Vec<&Expr> = group_by.iter().chain(select).collect();
            exprs.extend(order_by.iter().map(|(e, _)| e));
            if let Some(having) = having {
                seen.insert("plan having".into());
                exprs.push(having);
            }
            for aggregate in aggregates {
                seen.insert(format!("agg {}", aggregate.func.name()));
                exprs.extend(&aggregate.arg);
                if let Some(filter) = &aggregate.filter {
                    seen.insert("plan aggregate filter".into());
                    note_filter(filter, seen);
                }
            }
            exprs.into_iter().for_each(|e| note_expr(e, seen));
        }
        PlanKind::Select { select, order_by } => {
            seen.insert("plan Select".into());
            select.iter().for_each(|e| note_expr(e, seen));
            order_by.iter().for_each(|(e, _)| note_expr(e, seen));
        }
    }
}

#[recursive::recursive]
fn note_filter(filter: &Filter, seen: &mut BTreeSet<String>) {
    let name = match filter {
        Filter::Const(_) => "Const",
        Filter::And(children) | Filter::Or(children) => {
            children.iter().for_each(|child| note_filter(child, seen));
            if matches!(filter, Filter::And(_)) {
                "And"
            } else {
                "Or"
            }
        }
        Filter::Not(child) => {
            note_filter(child, seen);
            "Not"
        }
        Filter::Column { pred, .. } => {
            let pred = match pred {
                Pred::In(_) => "In",
                Pred::Range(..) => "Range",
                Pred::Regex(_) => "Regex",
                Pred::IsNull => "IsNull",
            };
            seen.insert(format!("pred {pred}"));
            "Column"
        }
        Filter::Expr(expr) => {
            note_expr(expr, seen);
            "Expr"
        }
    };
    seen.insert(format!("filter {name}"));
}

#[recursive::recursive]
fn note_expr(expr: &Expr, seen: &mut BTreeSet<String>) {
    let mut children: Vec<&Expr> = Vec::new();
    let name = match expr {
        Expr::Column(_) => "Column",
        Expr::Literal(value) => {
            let kind = match value {
                Value::Null => "Null",
                Value::Long(_) => "Long",
                Value::Double(_) => "Double",
                Value::Str(_) => "Str",
                Value::Bytes(_) => "Bytes",
                Value::Array(_) => "Array",
            };
            seen.insert(format!("literal {kind}"));
            "Literal"
        }
        Expr::Neg(inner) | Expr::Not(inner) => {
            children.push(inner);
            if matches!(expr, Expr::Neg(_)) {
                "Neg"
            } else {
                "Not"
            }
        }
        Expr::Binary { op, left, right } => {
            seen.insert(format!("op {op:?}"));
            children.extend([&**left, &**right]);
            "Binary"
        }
        Expr::Func { func, args } => {
            seen.insert(format!("func {}", func.name()));
            children.extend(args);
            "Func"
        }
        Expr::Case {
            branches,
            otherwise,
        } => {
            for (when, then) in branches {
                children.extend([when, then]);
            }
            children.extend(otherwise.as_deref());
            "Case"
        }
        Expr::Cast { expr, .. } => {
            children.push(expr);
            "Cast"
        }
        Expr::InList { expr, .. } => {
            children.push(expr);
            "InList"
        }
        Expr::Between {
            expr, low, high, ..
        } => {
            children.extend([&**expr, &**low, &**high]);
            "Between"
        }
        Expr::Like { expr, .. } => {
            children.push(expr);
            "Like"
        }
        Expr::IsNull { .. } => "IsNull",
        Expr::Key(..) => "Key",
        Expr::Agg(..) => "Agg",
    };
    seen.insert(format!("expr {name}"));
    children
        .into_iter()
        .for_each(|child| note_expr(child, seen));
}

#[test]
fn a_plan_key_leaves_out_the_timeout_only() {
    let fixture = &fixture();
    let sql = "SELECT symbol, SUM(price) FROM trades GROUP BY symbol";
    let plan = plan_of(sql, &fixture.table);
    let mut other = plan.clone();
    other.options.timeout_ms += 1;
    assert_eq!(super::plan_key(&plan), super::plan_key(&other));
    other.options.use_result_cache = false;
    assert_ne!(super::plan_key(&plan), super::plan_key(&other));
    let mut other = plan.clone();
    other.options.num_groups_limit = 3;
    assert_ne!(super::plan_key(&plan), super::plan_key(&other));
    let other = plan_of(&sql.replace("SUM", "MAX"), &fixture.table);
    assert_ne!(super::plan_key(&plan), super::plan_key(&other));
}

#[test]
fn options_and_explicit_columns_round_trip() {
    let fixture = &fixture();
    let mut plan = plan_of(
        "SELECT id FROM trades WHERE price > 100 ORDER BY id LIMIT 3",
        &fixture.table,
    );
    plan.options = QueryOptions {
        timeout_ms: 1,
        use_star_tree: false,
        num_groups_limit: usize::MAX,
        use_multistage: true,
        skip_upsert: true,
        max_query_memory_bytes: 0,
        max_result_rows: u64::MAX,
        max_rows_in_join: 7,
        max_rows_scanned: u64::MAX - 1,
        max_in_list_items: 1,
        secondary_workload: true,
        use_result_cache: false,
    };
    // Columns beyond those the plan reads, as the multi-stage engine's
    // scans have.
    let extra = plan_of("SELECT symbol, fee FROM trades", &fixture.table);
    plan.columns.extend(extra.columns);
    let request = request_of(plan, 1);
    let bytes = encode_request(&request);
    let decoded = decode_request(&bytes).unwrap();
    assert_eq!(decoded.plan.options, request.plan.options);
    assert_eq!(decoded.plan.columns, request.plan.columns);
    assert_eq!(decoded.segments, None);
    assert_eq!(encode_request(&decoded), bytes);
}

fn stats_of(r: &ServerResponse) -> String {
    format!(
        "{:?}",
        (
            r.segments_queried,
            r.segments_processed,
            r.segments_matched,
            r.consuming_queried,
            r.min_consuming_freshness_ms,
            r.total_docs,
            r.docs_scanned,
            r.entries_in_filter,
            r.entries_post_filter,
            r.groups_limit_reached,
            &r.missing,
        )
    )
}

/// Encodes `response`, decodes it, and checks it came back whole: the same
/// bytes again, the same statistics, a partial that fits the plan and
/// finishes to the same rows.
fn answer_round_trip(plan: &Plan, response: ServerResponse) -> ServerResponse {
    let bytes = encode_response(&Ok(response));
    let Ok(Ok(decoded)) = decode_response(&bytes) else {
        panic!("{:?}", decode_response(&bytes));
    };
    assert_eq!(encode_response(&Ok(decoded)), bytes);
    let Ok(Ok(decoded)) = decode_response(&bytes) else {
        unreachable!()
    };
    check_response(plan, &decoded).unwrap();
    decoded
}

#[test]
fn answers_round_trip_and_finish_alike() {
    let fixture = &fixture();
    for sql in QUERIES {
        let plan = plan_of(sql, &fixture.table);
        let Ok(answer) = run(&plan, fixture) else {
            continue;
        };
        // Each segment's answer, decoded, merges to the same rows.
        let mut decoded_parts = Vec::new();
        let mut server = ServerResponse::default();
        for (partial, stats) in &answer.partials {
            let response = ServerResponse {
                partial: Some(partial.clone()),
                segments_queried: 1,
                segments_processed: 1,
                segments_matched: u64::from(stats.docs_scanned > 0),
                consuming_queried: u64::from(stats.consuming_since.is_some()),
                min_consuming_freshness_ms: stats.consuming_since,
                total_docs: stats.total_docs,
                docs_scanned: stats.docs_scanned,
                entries_in_filter: stats.entries_in_filter,
                entries_post_filter: stats.entries_post_filter,
                groups_limit_reached: stats.groups_limit_reached,
                missing: Vec::new(),
            };
            let expected = stats_of(&response);
            let decoded = answer_round_trip(&plan, response);
            assert_eq!(stats_of(&decoded), expected, "{sql}");
            server.total_docs += decoded.total_docs;
            decoded_parts.extend(decoded.partial);
        }
        let merged = reduce::merge(&plan, decoded_parts).unwrap();
        let rows = reduce::finish(&plan, merged.clone()).unwrap();
        assert!(same_rows(&rows, &answer.rows), "{sql}: {rows:?}");
        // The server's merged answer, as it would send it.
        server.partial = Some(merged);
        server.segments_queried = 3;
        server.min_consuming_freshness_ms = Some(-5);
        server.missing = vec!["trades_7".into(), "trades__1__3".into()];
        let decoded = answer_round_trip(&plan, server);
        let rows = reduce::finish(&plan, decoded.partial.unwrap()).unwrap();
        assert!(same_rows(&rows, &answer.rows), "{sql}: {rows:?}");
    }
    let plan = plan_of("SELECT COUNT(*) FROM trades", &fixture.table);
    let empty = answer_round_trip(&plan, ServerResponse::default());
    assert!(empty.partial.is_none());
}

#[test]
fn errors_round_trip() {
    for (code, message) in [
        (
            crate::query::error::EXECUTION_TIMEOUT,
            "the query ran past its timeout",
        ),
        (
            crate::query::error::EXECUTION,
            "`x` is not a number, but column `price` is DOUBLE ✓",
        ),
        (crate::query::error::INTERNAL, ""),
        (i32::MIN, "min"),
        (i32::MAX, "max"),
        (-1, "negative"),
    ] {
        let error = QueryError::new(code, message);
        let bytes = encode_response(&Err(error.clone()));
        assert_eq!(decode_response(&bytes).unwrap().unwrap_err(), error);
    }
}

/// Every kind of aggregation state, with the edge values each can hold,
/// including the two that stay inside a segment (dictionary ids).
fn every_state() -> Groups {
    let keys = vec![
        Value::Null,
        Value::Long(i64::MIN),
        Value::Double(-0.0),
        Value::Str("ü".into()),
        Value::Bytes(vec![0, 255]),
        Value::Array(vec![Value::Long(1), Value::Array(vec![Value::Null])]),
    ];
    let mut accs = Vec::new();
    let groups: Vec<u32> = vec![0, 1, 2, 0, 1, 2, 0];
    let values = [0.0, -1.5, f64::MAX, 7.0, 1e-300, 3.0, f64::NAN];
    for func in [
        AggFunc::Count,
        AggFunc::Sum,
        AggFunc::Min,
        AggFunc::Max,
        AggFunc::Avg,
        AggFunc::MinMaxRange,
        AggFunc::Percentile(50.0),
        AggFunc::PercentileEst(99.0),
        AggFunc::DistinctCountHll,
    ] {
        let mut acc = Acc::new(func);
        acc.resize(3);
        acc.update_f64(&groups[..6], &values[..6]);
        accs.push(acc);
    }
    // Min and max stay at their infinite start in an empty group.
    let mut empty = Acc::new(AggFunc::Min);
    empty.resize(3);
    accs.push(empty);
    // A dense HyperLogLog next to a sparse one.
    let mut hll = Acc::new(AggFunc::DistinctCountHll);
    hll.resize(3);
    for value in 0..5000 {
        hll.update_value(1, Value::Long(value));
    }
    hll.update_value(2, Value::Str("one".into()));
    accs.push(hll);
    let mut distinct = Acc::new(AggFunc::DistinctCount);
    distinct.resize(3);
    for value in [
        Value::Long(i64::MIN),
        Value::Long(-1),
        Value::Long(0),
        Value::Long(i64::MAX),
        Value::Double(2.0),
        Value::Double(0.5),
        Value::Double(1e300),
        Value::Str("x".into()),
        Value::Bytes(vec![1]),
        Value::Array(vec![Value::Str("a".into())]),
    ] {
        distinct.update_value(0, value.clone());
        distinct.update_value(2, value);
    }
    accs.push(distinct);
    let mut bits = IdBits::new(130);
    bits.resize(3);
    bits.insert(&[0, 2, 2, 1], &[0, 129, 64, 3]);
    accs.push(Acc::DistinctBits(bits));
    let mut pairs = IdPairs::new(1000);
    pairs.resize(3);
    pairs.insert(&[2, 0, 2, 1], &[999, 5, 999, 0]);
    accs.push(Acc::DistinctPairs(pairs));
    Groups {
        arity: 2,
        keys,
        accs,
        len: 3,
        sorted: false,
    }
}

#[test]
fn every_state_round_trips() {
    let groups = every_state();
    let response = ServerResponse {
        partial: Some(Partial::Groups(groups.clone())),
        ..ServerResponse::default()
    };
    let bytes = encode_response(&Ok(response));
    let Ok(Ok(decoded)) = decode_response(&bytes) else {
        panic!("{:?}", decode_response(&bytes));
    };
    assert_eq!(encode_response(&Ok(decoded)), bytes);
    let Ok(Ok(ServerResponse {
        partial: Some(Partial::Groups(copy)),
        ..
    })) = decode_response(&bytes)
    else {
        unreachable!()
    };
    assert_eq!((copy.arity, copy.len, copy.sorted), (2, 3, false));
    assert!(copy.keys.iter().zip(&groups.keys).all(|(a, b)| same(a, b)));
    for (a, b) in copy.accs.iter().zip(&groups.accs) {
        let func = match a {
            Acc::Quantiles(_) => AggFunc::PercentileEst(99.0),
            Acc::Values(_) => AggFunc::Percentile(50.0),
            _ => AggFunc::Count,
        };
        for group in 0..3 {
            assert!(
                same(&a.finish(func, group), &b.finish(func, group)),
                "{a:?}"
            );
        }
        match (a, b) {
            (Acc::Hll(a), Acc::Hll(b)) => assert_eq!(a, b),
            (Acc::Quantiles(a), Acc::Quantiles(b)) => assert_eq!(a, b),
            (Acc::Distinct(a), Acc::Distinct(b)) => {
                for (a, b) in a.iter().zip(b) {
                    assert_eq!(distinct_parts(a), distinct_parts(b));
                }
            }
            (Acc::DistinctBits(a), Acc::DistinctBits(b)) => assert_eq!(a.parts(), b.parts()),
            (Acc::DistinctPairs(a), Acc::DistinctPairs(b)) => assert_eq!(a.parts(), b.parts()),
            (Acc::Min(a), Acc::Min(b)) | (Acc::Sum(a), Acc::Sum(b)) => {
                assert_eq!(bits(a), bits(b))
            }
            _ => {}
        }
    }
    let sketches = |acc: &Acc| match acc {
        Acc::Hll(v) => v.iter().map(Hll::estimate).collect::<Vec<_>>(),
        Acc::Quantiles(v) => v.iter().map(Quantiles::count).collect(),
        _ => Vec::new(),
    };
    assert!(copy
        .accs
        .iter()
        .any(|acc| sketches(acc).iter().any(|n| *n > 1000)));
}

fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

fn distinct_parts(set: &DistinctSet) -> (Vec<i64>, String) {
    let mut others: Vec<&Value> = set.others().collect();
    others.sort_by(|a, b| a.total_cmp(b));
    (set.longs().collect(), format!("{others:?}"))
}

#[test]
fn answers_that_do_not_fit_the_plan_are_refused() {
    let fixture = &fixture();
    let plan = plan_of(
        "SELECT side, COUNT(*) FROM trades GROUP BY side",
        &fixture.table,
    );
    let selection = plan_of("SELECT id, side FROM trades", &fixture.table);
    let answer = run(&plan, fixture).unwrap();
    let partial = answer.partials[0].0.clone();
    let with = |partial: Partial| ServerResponse {
        partial: Some(partial),
        ..ServerResponse::default()
    };
    assert!(check_response(&plan, &with(partial.clone())).is_ok());
    let err = check_response(&selection, &with(partial.clone())).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the server's answer does not fit the plan: groups answer a selection"
    );
    let Partial::Groups(mut groups) = partial else {
        panic!("not groups")
    };
    groups.accs[0] = Acc::new(AggFunc::Sum);
    groups.accs[0].resize(groups.len);
    let err = check_response(&plan, &with(Partial::Groups(groups.clone()))).unwrap_err();
    assert!(err.to_string().contains("is not a count state"), "{err}");
    groups.accs.clear();
    assert!(check_response(&plan, &with(Partial::Groups(groups))).is_err());
    let row = Row {
        values: vec![Value::Long(1)],
        order: Vec::new(),
    };
    let err = check_response(&selection, &with(Partial::Rows(vec![row]))).unwrap_err();
    assert!(err.to_string().contains("a row of 1 values"), "{err}");
}

/// A request's bytes up to its plan, for hand-made plans.
fn request_head(w: &mut Writer) {
    w.u8(VERSION);
    w.u8(1);
    w.varint(1000);
    w.usize(0);
    w.u8(0);
    w.str("t");
}

#[test]
fn errors_say_what_and_where() {
    let mut w = Writer::new();
    request_head(&mut w);
    w.u8(1); // a filter
    w.u8(5); // an expression filter
    let at = w.out().len();
    w.u8(77);
    let bytes = w.finish();
    let err = decode_request(&bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("unknown expression tag 77 at byte {at}")
    );

    let fixture = &fixture();
    let plan = plan_of("SELECT COUNT(*) FROM trades", &fixture.table);
    let mut bytes = encode_request(&request_of(plan, 0));
    bytes[0] = 9;
    assert_eq!(
        decode_request(&bytes).unwrap_err().to_string(),
        "wire format version 9 is not supported; this build reads version 2"
    );
    bytes[0] = VERSION;
    assert_eq!(
        decode_response(&bytes).unwrap_err().to_string(),
        "expected a server answer (message kind 2), got message kind 1"
    );
    bytes.push(0);
    assert!(matches!(
        decode_request(&bytes),
        Err(WireError::Trailing { extra: 1, .. })
    ));
    assert!(matches!(
        decode_request(&[]),
        Err(WireError::Truncated { at: 0, len: 0, .. })
    ));

    // A pattern that does not compile, and a function with too many arguments.
    let mut w = Writer::new();
    request_head(&mut w);
    w.u8(1);
    w.u8(4);
    w.str("symbol");
    w.u8(7);
    w.u8(0);
    w.u8(2);
    w.str("(unclosed");
    let err = decode_request(&w.finish()).unwrap_err();
    assert!(
        err.to_string()
            .contains("is not a valid regular expression"),
        "{err}"
    );
    let mut w = Writer::new();
    request_head(&mut w);
    w.u8(1);
    w.u8(5);
    w.u8(5); // a function
    w.u8(9); // ABS
    w.usize(2);
    for _ in 0..2 {
        w.u8(1);
        w.u8(0);
    }
    let err = decode_request(&w.finish()).unwrap_err();
    assert!(
        err.to_string().contains("abs takes 1 arguments, got 2"),
        "{err}"
    );
}

/// A hostile message of `depth` nested levels of `level`, after `head`.
fn nested(head: impl Fn(&mut Writer), level: &[u8], depth: usize, tail: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    head(&mut w);
    for _ in 0..depth {
        w.out().extend_from_slice(level);
    }
    w.out().extend_from_slice(tail);
    w.finish()
}

#[test]
fn nesting_past_the_bound_is_refused() {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let filter_head = |w: &mut Writer| {
                request_head(w);
                w.u8(1);
            };
            let expr_head = |w: &mut Writer| {
                filter_head(w);
                w.u8(5);
            };
            let answer_head = |w: &mut Writer| {
                w.u8(VERSION);
                w.u8(2);
                w.u8(0);
                // Statistics: ten zero fields, no missing segments.
                w.out().extend_from_slice(&[0; 11]);
                w.u8(1); // a partial
                w.u8(1); // rows
                w.usize(1);
                w.usize(1);
            };
            for depth in [MAX_DEPTH + 1, 100_000] {
                // NOT NOT ... , -(-(...)), [[[...]]]
                let requests = [
                    nested(filter_head, &[3], depth, &[0, 1]),
                    nested(expr_head, &[2], depth, &[1, 0]),
                ];
                for bytes in requests {
                    let err = decode_request(&bytes).unwrap_err();
                    assert!(matches!(err, WireError::TooDeep { .. }), "{err}");
                }
                let bytes = nested(answer_head, &[5, 1], depth, &[0]);
                let err = decode_response(&bytes).unwrap_err();
                assert!(matches!(err, WireError::TooDeep { .. }), "{err}");
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn the_deepest_plans_round_trip_on_a_small_stack() {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let fixture = &fixture();
            let chain = |n: usize, term: &str, op: &str| vec![term; n].join(op);
            let cases: [&dyn Fn(usize) -> String; 4] = [
                &|n| format!("SELECT {} FROM trades LIMIT 1", chain(n, "price", " + ")),
                &|n| {
                    format!(
                        "SELECT COUNT(*) FROM trades WHERE price{} > 100",
                        chain(n, "", " + 0")
                    )
                },
                &|n| {
                    format!(
                        "SELECT ABS({}price{}) FROM trades",
                        "ABS(".repeat(n),
                        ")".repeat(n)
                    )
                },
                &|n| {
                    format!(
                        "SELECT side, {} AS s FROM trades GROUP BY side HAVING COUNT(*) > 0",
                        chain(n, "SUM(shares)", " + ")
                    )
                },
            ];
            for make in cases {
                let accepted =
                    |n: usize| sql::parse(&make(n), &mut QueryOptions::default()).is_ok();
                let (mut low, mut high) = (1, 4 * sql::MAX_EXPRESSION_DEPTH);
                while high - low > 1 {
                    let mid = (low + high) / 2;
                    if accepted(mid) {
                        low = mid;
                    } else {
                        high = mid;
                    }
                }
                let sql = make(low);
                let plan = plan_of(&sql, &fixture.table);
                let bytes = encode_request(&request_of(plan, 0));
                let decoded = decode_request(&bytes).unwrap_or_else(|e| panic!("{e}: {sql}"));
                assert_eq!(encode_request(&decoded), bytes);
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

/// Valid messages to damage: every query's request, and the answers of
/// those that run, with the plan each answers.
struct Corpus {
    requests: Vec<Vec<u8>>,
    answers: Vec<(Plan, Partial, Vec<u8>)>,
}

fn corpus(fixture: &Fixture) -> Corpus {
    let mut corpus = Corpus {
        requests: Vec::new(),
        answers: Vec::new(),
    };
    for (index, sql) in QUERIES.iter().enumerate() {
        let plan = plan_of(sql, &fixture.table);
        corpus
            .requests
            .push(encode_request(&request_of(plan.clone(), index)));
        if let Ok(answer) = run(&plan, fixture) {
            let parts = answer.partials.into_iter().map(|(p, _)| p).collect();
            let partial = reduce::merge(&plan, parts).unwrap();
            let response = ServerResponse {
                partial: Some(partial.clone()),
                total_docs: 60,
                ..ServerResponse::default()
            };
            let bytes = encode_response(&Ok(response));
            corpus.answers.push((plan, partial, bytes));
        }
    }
    // An error, and every kind of state (which fits no plan, but its
    // bytes reach every state's decoder), beside a COUNT(*) answer.
    let (plan, partial, _) = corpus.answers[0].clone();
    let error = QueryError::new(250, "the query ran past its timeout");
    let states = ServerResponse {
        partial: Some(Partial::Groups(every_state())),
        ..ServerResponse::default()
    };
    for answer in [Err(error), Ok(states)] {
        let bytes = encode_response(&answer);
        corpus.answers.push((plan.clone(), partial.clone(), bytes));
    }
    corpus
}

/// Decodes `bytes` as a request and, when that works, runs its plan on the
/// fixture: neither may panic (an error is fine).
fn survive_request(bytes: &[u8], fixture: &Fixture) {
    if let Ok(request) = decode_request(bytes) {
        let _ = run(&request.plan, fixture);
    }
}

/// Decodes `bytes` as an answer and, when it fits `plan`, merges it with
/// `other` and finishes: none of it may panic.
fn survive_answer(bytes: &[u8], plan: &Plan, other: &Partial) {
    match decode_response(bytes) {
        Ok(Ok(response)) if check_response(plan, &response).is_ok() => {
            if let Some(partial) = response.partial {
                if let Ok(merged) = reduce::merge(plan, vec![partial, other.clone()]) {
                    let _ = reduce::finish(plan, merged);
                }
            }
        }
        Ok(_) => {}
        Err(err) => assert!(!err.to_string().is_empty()),
    }
}

/// Where to cut `len` bytes short: everywhere in small messages, at about
/// 2,000 points and in the last 64 bytes of larger ones (each decode reads
/// up to the cut, so every cut of a large message would be quadratic).
fn cuts(len: usize) -> impl Iterator<Item = usize> {
    let step = (len / 2000).max(1);
    (0..len).filter(move |end| end % step == 0 || len - end <= 64)
}

#[test]
fn truncations_are_refused() {
    let corpus = corpus(&fixture());
    for bytes in &corpus.requests {
        for end in cuts(bytes.len()) {
            assert!(decode_request(&bytes[..end]).is_err(), "{end} of {bytes:?}");
        }
    }
    for (_, _, bytes) in &corpus.answers {
        for end in cuts(bytes.len()) {
            assert!(
                decode_response(&bytes[..end]).is_err(),
                "{end} of {bytes:?}"
            );
        }
    }
}

/// One change to a message: a byte set, a bit flipped, bytes cut out,
/// bytes put in, the message cut short.
#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Flip(usize, u8),
    Remove(usize, usize),
    Insert(usize, Vec<u8>),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set(at, byte)),
        4 => (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip(at, bit)),
        1 => (any::<usize>(), 1usize..16).prop_map(|(at, n)| Mutation::Remove(at, n)),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..12))
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(bytes: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    for mutation in mutations {
        let len = bytes.len().max(1);
        match mutation {
            Mutation::Set(at, byte) => {
                if let Some(slot) = bytes.get_mut(at % len) {
                    *slot = *byte;
                }
            }
            Mutation::Flip(at, bit) => {
                if let Some(slot) = bytes.get_mut(at % len) {
                    *slot ^= 1 << bit;
                }
            }
            Mutation::Remove(at, n) => {
                let start = (at % len).min(bytes.len());
                let end = (start + n).min(bytes.len());
                bytes.drain(start..end);
            }
            Mutation::Insert(at, more) => {
                let at = (at % len).min(bytes.len());
                bytes.splice(at..at, more.iter().copied());
            }
            Mutation::Truncate(at) => bytes.truncate(at % len),
        }
    }
    bytes
}

/// Cases of each hostile-input test.
const HOSTILE_CASES: u32 = 3000;

#[test]
fn random_bytes_never_panic() {
    let fixture = &fixture();
    let corpus = corpus(fixture);
    let (plan, partial, _) = &corpus.answers[0];
    let mut runner = TestRunner::new(ProptestConfig::with_cases(HOSTILE_CASES));
    let inputs = (prop::collection::vec(any::<u8>(), 0..400), any::<bool>());
    runner
        .run(&inputs, |(bytes, headed)| {
            let mut request = bytes.clone();
            let mut answer = bytes;
            // With a valid header, the bytes reach the bodies' decoders.
            if headed {
                request.splice(0..0, [VERSION, 1]);
                answer.splice(0..0, [VERSION, 2]);
            }
            survive_request(&request, fixture);
            survive_answer(&answer, plan, partial);
            Ok(())
        })
        .unwrap();
}

#[test]
fn mutated_messages_never_panic() {
    let fixture = &fixture();
    let corpus = corpus(fixture);
    let mut runner = TestRunner::new(ProptestConfig::with_cases(HOSTILE_CASES));
    let inputs = (any::<usize>(), prop::collection::vec(mutation(), 1..4));
    runner
        .run(&inputs, |(which, mutations)| {
            let request = &corpus.requests[which % corpus.requests.len()];
            survive_request(&mutate(request, &mutations), fixture);
            let (plan, partial, bytes) = &corpus.answers[which % corpus.answers.len()];
            survive_answer(&mutate(bytes, &mutations), plan, partial);
            Ok(())
        })
        .unwrap();
}

/// Sizes and encode + decode times of a typical GROUP BY plan and of
/// 1,000-group partial results. Run with `cargo test --lib
/// wire_sizes_and_timings -- --ignored --nocapture` (add `--release` for
/// optimized figures).
#[test]
#[ignore]
fn wire_sizes_and_timings() {
    let fixture = &fixture();
    let plan = plan_of(
        "SELECT symbol, exchange, COUNT(*), SUM(shares), AVG(price), DISTINCTCOUNTHLL(user_id) \
         FROM trades WHERE ts >= 1780000000000 AND side IN ('BUY', 'SELL') AND price > 10 \
         GROUP BY symbol, exchange ORDER BY COUNT(*) DESC LIMIT 10",
        &fixture.table,
    );
    let request = request_of(plan, 1);
    let bytes = encode_request(&request);
    let rounds = 20_000;
    let started = Instant::now();
    for _ in 0..rounds {
        let bytes = encode_request(&request);
        std::hint::black_box(decode_request(&bytes).unwrap());
    }
    let per = started.elapsed() / rounds;
    println!(
        "GROUP BY plan: {} bytes, encode + decode {per:?}",
        bytes.len()
    );

    // 1,000 groups of one string key.
    let groups = 1000;
    let keys: Vec<Value> = (0..groups)
        .map(|g| Value::Str(format!("SYM{g:04}")))
        .collect();
    let ids: Vec<u32> = (0..20 * groups as u32).map(|i| i % groups as u32).collect();
    let values: Vec<f64> = (0..ids.len())
        .map(|i| ((i * 37) % 1000) as f64 / 4.0)
        .collect();
    let states = |funcs: &[AggFunc]| -> Vec<Acc> {
        funcs
            .iter()
            .map(|func| {
                let mut acc = Acc::new(*func);
                acc.resize(groups);
                acc.update_f64(&ids, &values);
                acc
            })
            .collect()
    };
    let numbers = [
        AggFunc::Count,
        AggFunc::Sum,
        AggFunc::Avg,
        AggFunc::Min,
        AggFunc::Max,
    ];
    let sketches = [
        AggFunc::Count,
        AggFunc::DistinctCountHll,
        AggFunc::PercentileEst(90.0),
    ];
    for (name, funcs) in [
        ("COUNT, SUM, AVG, MIN, MAX", &numbers[..]),
        ("COUNT, DISTINCTCOUNTHLL, PERCENTILEEST", &sketches[..]),
    ] {
        let response = Ok(ServerResponse {
            partial: Some(Partial::Groups(Groups {
                arity: 1,
                keys: keys.clone(),
                accs: states(funcs),
                len: groups,
                sorted: true,
            })),
            ..ServerResponse::default()
        });
        let bytes = encode_response(&response);
        let rounds = 500;
        let started = Instant::now();
        for _ in 0..rounds {
            let bytes = encode_response(&response);
            std::hint::black_box(decode_response(&bytes).unwrap().unwrap());
        }
        let per = started.elapsed() / rounds;
        println!(
            "1,000 groups of {name}: {} bytes, encode + decode {per:?}",
            bytes.len()
        );
    }
}
