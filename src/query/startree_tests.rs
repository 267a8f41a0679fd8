//! Star-tree answers against the docs: random rows in sealed segments and a
//! consuming one (trees over its first rows, the rest scanned) with random
//! trees, random queries the trees cover (their answers must equal
//! the same query with `useStarTree=false`) and queries they do not (which
//! must not use a tree). Answers agree cell for cell of the same type
//! (`test_values::same`), and each cell has its column's declared type.

use std::sync::Arc;

use serde_json::{json, Value as Json};

use super::exec::{execute, execute_in_place, Deadline};
use super::options::QueryOptions;
use super::reduce;
use super::source::{MutableSnapshot, SegmentSource};
use super::sql::{self, Route, TableColumns};
use super::test_rng::Rng;
use super::test_values::{fits, same_rows};
use crate::catalog::{self, Schema, TableConfig};
use crate::expr::value::Value;
use crate::ingest::rows::json_row;
use crate::segment::{ImmutableSegment, MutableSegment, SealInfo, SegmentSpec};

const DIMS: [&str; 4] = ["exchange", "side", "country", "tier"];
const VALUES: [&[&str]; 4] = [
    &["NYSE", "NASDAQ", "LSE"],
    &["BUY", "SELL"],
    &["US", "BR", "DE", "JP", "IN"],
    &["1", "2", "3", "4"],
];

fn schema() -> Json {
    json!({
        "schemaName": "t",
        "dimensionFieldSpecs": [
            {"name": "exchange", "dataType": "STRING"},
            {"name": "side", "dataType": "STRING"},
            {"name": "country", "dataType": "STRING"},
            {"name": "tier", "dataType": "INT"},
            {"name": "trader", "dataType": "STRING"}
        ],
        "metricFieldSpecs": [
            {"name": "shares", "dataType": "INT"},
            {"name": "price", "dataType": "DOUBLE"}
        ],
        "dateTimeFieldSpecs": [
            {"name": "ts", "dataType": "LONG", "format": "1:MILLISECONDS:EPOCH", "granularity": "1:MILLISECONDS"}
        ]
    })
}

fn table(rng: &mut Rng) -> Json {
    let mut order: Vec<&str> = DIMS.to_vec();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    order.truncate(2 + rng.below(3));
    let skip: Vec<&str> = order
        .iter()
        .copied()
        .filter(|_| rng.below(3) == 0)
        .collect();
    json!({
        "tableName": "t",
        "tableType": "OFFLINE",
        "segmentsConfig": {"timeColumnName": "ts"},
        "tableIndexConfig": {
            "sortedColumn": ["ts"],
            "invertedIndexColumns": ["country"],
            "starTreeIndexConfigs": [{
                "dimensionsSplitOrder": order,
                "skipStarNodeCreationForDimensions": skip,
                "functionColumnPairs": ["COUNT__*", "SUM__shares", "SUM__price", "MIN__price", "MAX__price",
                    "DISTINCTCOUNTHLL__shares", "DISTINCTCOUNTHLL__country", "DISTINCTCOUNTHLL__trader",
                    "PERCENTILEEST__price"],
                "maxLeafRecords": 1 + rng.below(40)
            }]
        }
    })
}

fn rows(rng: &mut Rng, count: usize) -> Vec<Json> {
    (0..count)
        .map(|_| {
            json!({
                "exchange": VALUES[0][rng.below(3)],
                "side": VALUES[1][rng.below(2)],
                "country": VALUES[2][rng.below(5)],
                "tier": 1 + rng.below(4),
                "trader": format!("T{}", rng.below(5000)),
                "shares": rng.below(1000),
                "price": rng.below(100_000) as f64 / 100.0,
                "ts": 1_780_000_000_000i64 + rng.below(86_400_000) as i64,
            })
        })
        .collect()
}

fn predicate(rng: &mut Rng, dims: &[String]) -> String {
    let dim = rng.below(dims.len());
    let name = &dims[dim];
    let index = DIMS.iter().position(|d| d == name).unwrap_or(0);
    let values = VALUES[index];
    let literal = |v: &str| {
        if name == "tier" {
            v.to_string()
        } else {
            format!("'{v}'")
        }
    };
    let pick = |rng: &mut Rng| literal(values[rng.below(values.len())]);
    match rng.below(9) {
        0 => format!("{name} = {}", pick(rng)),
        1 => format!("{name} IN ({}, {})", pick(rng), pick(rng)),
        2 => format!("{name} NOT IN ({})", pick(rng)),
        3 => format!("{name} <> {}", pick(rng)),
        4 => format!("({name} = {} OR {name} = {})", pick(rng), pick(rng)),
        5 => format!("{name} >= {}", pick(rng)),
        // Covers every doc: dropped, the tree still answers.
        6 => "ts >= 1780000000000".to_string(),
        // Covers half the docs: the docs answer.
        7 => "ts >= 1780043200000".to_string(),
        // Cuts a few docs off: the tree answers less the docs cut off,
        // when the aggregates can be taken away.
        _ => WINDOWS[rng.below(WINDOWS.len())].to_string(),
    }
}

/// Time windows that leave out a few of a day's docs.
const WINDOWS: [&str; 3] = [
    "ts >= 1780005000000",
    "ts < 1780080000000",
    "ts BETWEEN 1780003000000 AND 1780083000000",
];

fn covered_query(rng: &mut Rng, dims: &[String]) -> String {
    let keys: Vec<&String> = dims.iter().filter(|_| rng.below(2) == 0).collect();
    let aggregates = [
        "COUNT(*)",
        "SUM(shares)",
        "SUM(price)",
        "MIN(price)",
        "MAX(price)",
        "AVG(price)",
        "MINMAXRANGE(price)",
        "DISTINCTCOUNTHLL(shares)",
        "DISTINCTCOUNTHLL(country)",
        "DISTINCTCOUNTHLL(trader)",
        "PERCENTILEEST(price, 90)",
        "PERCENTILEEST(price, 10)",
    ];
    let mut select: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    select.push(aggregates[rng.below(aggregates.len())].to_string());
    select.push(aggregates[rng.below(aggregates.len())].to_string());
    let mut sql = format!("SELECT {} FROM t", select.join(", "));
    let predicates: Vec<String> = (0..rng.below(3)).map(|_| predicate(rng, dims)).collect();
    if !predicates.is_empty() {
        sql.push_str(&format!(" WHERE {}", predicates.join(" AND ")));
    }
    if !keys.is_empty() {
        let order: Vec<String> = (1..=keys.len()).map(|i| i.to_string()).collect();
        sql.push_str(&format!(
            " GROUP BY {} ORDER BY {} LIMIT 10000",
            keys.iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            order.join(", ")
        ));
    }
    sql
}

/// Queries no tree of these tests covers.
const UNCOVERED: [&str; 9] = [
    "SELECT PERCENTILE(price, 50) FROM t",
    "SELECT COUNT(DISTINCT exchange) FROM t",
    "SELECT SUM(shares * 2) FROM t",
    "SELECT COUNT(*) FROM t WHERE shares > 500",
    "SELECT SUM(price) FROM t WHERE exchange = 'NYSE' OR side = 'BUY'",
    "SELECT COUNT(*) FILTER (WHERE side = 'BUY') FROM t",
    "SELECT ts, COUNT(*) FROM t GROUP BY ts LIMIT 5",
    "SELECT DISTINCTCOUNTHLL(price) FROM t",
    "SELECT PERCENTILEEST(shares, 50) FROM t",
];

#[test]
fn star_tree_answers_equal_the_docs() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let schema: catalog::Parsed<Schema> =
        catalog::parse(schema().to_string().as_bytes(), "schema").unwrap();
    let columns = TableColumns::of_schema("t", &schema.value);
    let deadline = Deadline::new(std::time::Instant::now() + std::time::Duration::from_secs(120));
    let (mut used, mut consuming_used) = (0, 0);
    for round in 0..12 {
        let table_json = table(&mut rng);
        let dims: Vec<String> = table_json["tableIndexConfig"]["starTreeIndexConfigs"][0]
            ["dimensionsSplitOrder"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_string())
            .collect();
        let table: catalog::Parsed<TableConfig> =
            catalog::parse(table_json.to_string().as_bytes(), "table").unwrap();
        let spec = Arc::new(SegmentSpec::new(&schema.value, &table.value));
        let dir = tempfile::tempdir().unwrap();
        let mut segments: Vec<Arc<dyn SegmentSource>> = Vec::new();
        for index in 0..2 {
            // Enough rows that no predicate of UNCOVERED holds for all of them.
            let count = 50 + rng.below(350);
            let data = rows(&mut rng, count);
            let segment = MutableSegment::new(spec.clone());
            let cells: Vec<_> = data
                .iter()
                .map(|row| json_row(row, &spec).unwrap())
                .collect();
            segment.append(&cells).unwrap();
            let info = SealInfo {
                late_docs: Vec::new(),
                segment_name: format!("t_{round}_{index}"),
                stream: None,
            };
            let (path, _) = segment.seal(dir.path(), &info).unwrap();
            let sealed = ImmutableSegment::open(&path).unwrap();
            assert_eq!(sealed.star_trees().len(), 1);
            segments.push(Arc::new(sealed));
        }
        // A consuming segment: trees over its first rows, then more rows.
        let consuming = Arc::new(MutableSegment::new(spec.clone()));
        let (built, tail) = (1 + rng.below(300), rng.below(100));
        let cells: Vec<_> = rows(&mut rng, built + tail)
            .iter()
            .map(|row| json_row(row, &spec).unwrap())
            .collect();
        consuming.append(&cells[..built]).unwrap();
        assert!(consuming.start_tree_build());
        consuming.build_star_trees().unwrap();
        consuming.append(&cells[built..]).unwrap();
        let snapshot = MutableSnapshot::new(format!("t_{round}_consuming"), consuming);
        assert_eq!(snapshot.star_trees().len(), 1);
        assert_eq!(snapshot.star_tree_docs(), built);
        segments.push(Arc::new(snapshot));
        let run = |sql: &str, use_star_tree: bool| {
            let mut options = QueryOptions {
                use_star_tree,
                ..QueryOptions::default()
            };
            let Route::Single { query, .. } = sql::parse(sql, &mut options).unwrap() else {
                panic!("{sql}: not a single-table query");
            };
            let plan =
                sql::plan(&query, &columns, options).unwrap_or_else(|e| panic!("{sql}: {e}"));
            let (mut star, mut consuming_star) = (false, false);
            let partials = segments
                .iter()
                .map(|segment| {
                    // As the broker does: in place when a tree answers.
                    execute_in_place(&plan, segment.as_ref(), &deadline)
                        .unwrap_or_else(|| execute(&plan, segment.as_ref(), &deadline))
                        .map(|(partial, stats)| {
                            star |= stats.star_tree;
                            consuming_star |= stats.star_tree && stats.consuming_since.is_some();
                            partial
                        })
                })
                .collect::<Result<Vec<_>, _>>()
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            let rows = reduce::finish(&plan, reduce::merge(&plan, partials).unwrap()).unwrap();
            for row in &rows {
                for (cell, output) in row.iter().zip(&plan.output) {
                    assert!(fits(cell, output.ty), "{sql}: {cell:?} in {:?}", output.ty);
                }
            }
            (rows, star, consuming_star)
        };
        for _ in 0..25 {
            let sql = covered_query(&mut rng, &dims);
            let (tree, star, consuming_star) = run(&sql, true);
            let (docs, no_star, _) = run(&sql, false);
            assert!(!no_star, "{sql}: used a star-tree with useStarTree=false");
            used += usize::from(star);
            consuming_used += usize::from(consuming_star);
            assert!(
                same_rows(&tree, &docs),
                "{sql}\n tree: {tree:?}\n docs: {docs:?}"
            );
        }
        // Sealed segments answer windows from the tree, less the docs
        // outside them.
        for window in WINDOWS {
            let sql = format!(
                "SELECT {0}, COUNT(*), SUM(shares), AVG(price) FROM t WHERE {window} AND {1} <> {2} GROUP BY {0} ORDER BY 1 LIMIT 100",
                dims[0], dims[1], if dims[1] == "tier" { "2" } else { "'zz'" }
            );
            let (tree, star, _) = run(&sql, true);
            let (docs, _, _) = run(&sql, false);
            assert!(star, "{sql}: the tree answers windows");
            assert_eq!(
                tree.len(),
                docs.len(),
                "{sql}\n tree: {tree:?}\n docs: {docs:?}"
            );
            assert!(
                same_rows(&tree, &docs),
                "{sql}\n tree: {tree:?}\n docs: {docs:?}"
            );
        }
        for sql in UNCOVERED {
            let (_, star, _) = run(sql, true);
            assert!(!star, "{sql}: a star-tree does not cover it");
        }
    }
    // Most covered queries find a tree to use (time windows that cut half
    // the docs, or cut some with aggregates that cannot be taken away, and
    // time predicates on consuming segments read the docs).
    assert!(used > 150, "only {used} of 300 queries used a star-tree");
    assert!(
        consuming_used > 120,
        "only {consuming_used} of 300 queries used a consuming segment's star-tree"
    );
}

#[test]
fn groups_only_outside_the_window_are_dropped() {
    let schema: catalog::Parsed<Schema> =
        catalog::parse(schema().to_string().as_bytes(), "schema").unwrap();
    let mut table_json = table(&mut Rng(7));
    table_json["tableIndexConfig"]["starTreeIndexConfigs"][0]["dimensionsSplitOrder"] =
        json!(["exchange", "side"]);
    table_json["tableIndexConfig"]["starTreeIndexConfigs"][0]
        ["skipStarNodeCreationForDimensions"] = json!([]);
    let table: catalog::Parsed<TableConfig> =
        catalog::parse(table_json.to_string().as_bytes(), "table").unwrap();
    let spec = Arc::new(SegmentSpec::new(&schema.value, &table.value));
    // LSE trades only before the window.
    let cells: Vec<_> = (0..100i64)
        .map(|i| {
            let exchange = if i < 5 {
                "LSE"
            } else {
                ["NYSE", "NASDAQ"][i as usize % 2]
            };
            let row = json!({"exchange": exchange, "side": "BUY", "country": "US", "tier": 1,
                "shares": i, "price": 1.5, "ts": 1_780_000_000_000i64 + i * 1000});
            json_row(&row, &spec).unwrap()
        })
        .collect();
    let segment = MutableSegment::new(spec);
    segment.append(&cells).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let info = SealInfo {
        late_docs: Vec::new(),
        segment_name: "window".into(),
        stream: None,
    };
    let (path, _) = segment.seal(dir.path(), &info).unwrap();
    let sealed = ImmutableSegment::open(&path).unwrap();
    let columns = TableColumns::of_schema("t", &schema.value);
    let deadline = Deadline::new(std::time::Instant::now() + std::time::Duration::from_secs(60));
    let sql = "SELECT exchange, SUM(shares), COUNT(*) FROM t WHERE ts >= 1780000010000 GROUP BY exchange ORDER BY 1";
    let run = |use_star_tree: bool| {
        let mut options = QueryOptions {
            use_star_tree,
            ..QueryOptions::default()
        };
        let Route::Single { query, .. } = sql::parse(sql, &mut options).unwrap() else {
            panic!("not a single-table query");
        };
        let plan = sql::plan(&query, &columns, options).unwrap();
        let (partial, stats) = execute(&plan, &sealed, &deadline).unwrap();
        (reduce::finish(&plan, partial).unwrap(), stats)
    };
    let (tree, stats) = run(true);
    assert!(stats.star_tree, "the tree answers the window");
    // The tree's records plus the 10 docs before the window.
    assert!(stats.docs_scanned < 20, "{stats:?}");
    let (docs, _) = run(false);
    assert!(same_rows(&tree, &docs), "tree: {tree:?}\n docs: {docs:?}");
    let expected = vec![
        vec![
            Value::Str("NASDAQ".into()),
            Value::Double(2475.0),
            Value::Long(45),
        ],
        vec![
            Value::Str("NYSE".into()),
            Value::Double(2430.0),
            Value::Long(45),
        ],
    ];
    assert!(same_rows(&tree, &expected), "{tree:?}");
}
