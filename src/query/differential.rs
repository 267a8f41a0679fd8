//! Differential test: generated queries run on the single-table engine (over
//! indexed segments) and on DataFusion (over an Arrow table of the same
//! rows, a path that shares no code with the engine) must give the same
//! rows, cell for cell of the same type (`test_values::same`): integers
//! equal, doubles within 1e-9 relative. DataFusion is told Pinot's result
//! types where standard SQL's differ ([`AGGREGATES`]), and every cell of
//! the engine must be of the type its column declares.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema as ArrowSchema};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use serde_json::{json, Value as Json};

use super::exec::{execute, Deadline};
use super::multistage::arrow_rows;
use super::options::QueryOptions;
use super::reduce;
use super::sql::{self, Route, TableColumns};
use super::test_rng::Rng;
use super::test_values::{fits, same_rows};
use crate::catalog::{self, Schema, TableConfig};
use crate::ingest::rows::json_row;
use crate::segment::{ImmutableSegment, MutableSegment, SealInfo, SegmentSpec};

const SYMBOLS: [&str; 6] = ["AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "NVDA"];
const EXCHANGES: [&str; 4] = ["NYSE", "NASDAQ", "LSE", "TSE"];

fn schema_json() -> Json {
    json!({
        "schemaName": "t",
        "dimensionFieldSpecs": [
            {"name": "id", "dataType": "LONG"},
            {"name": "user_id", "dataType": "INT"},
            {"name": "symbol", "dataType": "STRING"},
            {"name": "exchange", "dataType": "STRING"},
            {"name": "side", "dataType": "STRING"}
        ],
        "metricFieldSpecs": [
            {"name": "shares", "dataType": "INT"},
            {"name": "price", "dataType": "DOUBLE"},
            {"name": "fee", "dataType": "FLOAT"},
            {"name": "amount", "dataType": "DOUBLE"}
        ],
        "dateTimeFieldSpecs": [
            {"name": "ts", "dataType": "LONG", "format": "1:MILLISECONDS:EPOCH", "granularity": "1:MILLISECONDS"}
        ]
    })
}

fn table_json() -> Json {
    json!({
        "tableName": "t",
        "tableType": "OFFLINE",
        "segmentsConfig": {"timeColumnName": "ts"},
        "tableIndexConfig": {
            "sortedColumn": ["ts"],
            "invertedIndexColumns": ["user_id", "symbol"],
            "rangeIndexColumns": ["price", "shares"],
            "bloomFilterColumns": ["exchange"],
            "noDictionaryColumns": ["fee", "id", "amount"]
        }
    })
}

fn rows(rng: &mut Rng, count: usize) -> Vec<Json> {
    (0..count)
        .map(|i| {
            json!({
                "id": i,
                "user_id": 1000 + rng.below(40),
                "symbol": rng.pick(&SYMBOLS),
                "exchange": rng.pick(&EXCHANGES),
                "side": if rng.below(2) == 0 { "BUY" } else { "SELL" },
                "shares": 1 + rng.below(500),
                "price": (10_000 + rng.below(20_000)) as f64 / 100.0,
                "fee": rng.below(64) as f32 / 8.0,
                // Cents: stored raw as decimal integers.
                "amount": (rng.below(2_000_000) as f64 - 50_000.0) / 100.0,
                "ts": 1_780_000_000_000i64 + (rng.below(86_400) as i64) * 1000,
            })
        })
        .collect()
}

fn arrow_table(rows: &[Json]) -> RecordBatch {
    let text = |name: &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(
            rows.iter()
                .map(|r| r[name].as_str().unwrap_or_default().to_string()),
        ))
    };
    let long = |name: &str| -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r[name].as_i64().unwrap_or(0)),
        ))
    };
    let int = |name: &str| -> ArrayRef {
        Arc::new(Int32Array::from_iter_values(
            rows.iter().map(|r| r[name].as_i64().unwrap_or(0) as i32),
        ))
    };
    let schema = ArrowSchema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("user_id", DataType::Int32, false),
        Field::new("symbol", DataType::Utf8, false),
        Field::new("exchange", DataType::Utf8, false),
        Field::new("side", DataType::Utf8, false),
        Field::new("shares", DataType::Int32, false),
        Field::new("price", DataType::Float64, false),
        Field::new("fee", DataType::Float32, false),
        Field::new("amount", DataType::Float64, false),
        Field::new("ts", DataType::Int64, false),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            long("id"),
            int("user_id"),
            text("symbol"),
            text("exchange"),
            text("side"),
            int("shares"),
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|r| r["price"].as_f64().unwrap_or(0.0)),
            )),
            Arc::new(Float32Array::from_iter_values(
                rows.iter().map(|r| r["fee"].as_f64().unwrap_or(0.0) as f32),
            )),
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|r| r["amount"].as_f64().unwrap_or(0.0)),
            )),
            long("ts"),
        ],
    )
    .unwrap()
}

fn predicate(rng: &mut Rng, depth: usize) -> String {
    if depth > 0 && rng.below(3) == 0 {
        let op = if rng.below(2) == 0 { "AND" } else { "OR" };
        let inner = format!(
            "({} {op} {})",
            predicate(rng, depth - 1),
            predicate(rng, depth - 1)
        );
        return if rng.below(5) == 0 {
            format!("NOT {inner}")
        } else {
            inner
        };
    }
    match rng.below(16) {
        14 => rng
            .pick(&[
                "shares > user_id - 1000",
                "price >= fee * 20",
                "shares <= price",
                "symbol < exchange",
                "side <> symbol",
                "shares = user_id - 1000",
                "side LIKE '%EL%'",
                "side NOT LIKE 'B_Y'",
            ])
            .to_string(),
        15 => format!(
            "(shares {} user_id - 1000) = (price > {})",
            rng.pick(&["<", ">="]),
            100 + rng.below(200)
        ),
        12 => format!(
            "CASE WHEN side = 'SELL' THEN shares ELSE 0 END > {}",
            rng.below(300)
        ),
        13 => format!(
            "(symbol = '{}') OR (exchange <> '{}' AND shares > {})",
            rng.pick(&SYMBOLS),
            rng.pick(&EXCHANGES),
            rng.below(300)
        ),
        11 => format!(
            "user_id {} {}",
            rng.pick(&["<", "<=", ">", ">="]),
            1000 + rng.below(40)
        ),
        0 => format!("symbol = '{}'", rng.pick(&SYMBOLS)),
        1 => format!(
            "symbol IN ('{}', '{}')",
            rng.pick(&SYMBOLS),
            rng.pick(&SYMBOLS)
        ),
        2 => format!("exchange <> '{}'", rng.pick(&EXCHANGES)),
        3 => format!("user_id = {}", 1000 + rng.below(45)),
        4 => format!(
            "user_id NOT IN ({}, {})",
            1000 + rng.below(40),
            1000 + rng.below(40)
        ),
        5 => format!(
            "price BETWEEN {} AND {}",
            100 + rng.below(100),
            150 + rng.below(150)
        ),
        6 => format!(
            "price {} {}.{}",
            rng.pick(&["<", "<=", ">", ">="]),
            100 + rng.below(200),
            rng.below(100)
        ),
        7 => format!(
            "{} {} {}",
            rng.pick(&["shares", "user_id - 1000"]),
            rng.pick(&["<", "<=", ">", ">=", "=", "<>"]),
            rng.below(300)
        ),
        8 => format!(
            "ts >= {}",
            1_780_000_000_000i64 + rng.below(86_400) as i64 * 1000
        ),
        9 => format!("symbol LIKE '{}%'", &rng.pick(&SYMBOLS)[..1]),
        _ => format!("shares * 2 + fee > {}", rng.below(900)),
    }
}

/// Aggregates as the engine is asked them, and as DataFusion must be asked
/// them to give Pinot's single-stage answer: SUM, MIN and MAX are DOUBLE
/// whatever their input (standard SQL, and Pinot's multi-stage engine, keep
/// an integer column's type, or widen it to LONG for SUM), and SUM over no
/// rows is 0, not NULL.
const AGGREGATES: [(&str, &str); 20] = [
    ("COUNT(*)", "COUNT(*)"),
    ("SUM(shares)", "COALESCE(SUM(CAST(shares AS DOUBLE)), 0.0)"),
    ("MIN(price)", "MIN(price)"),
    ("MAX(fee)", "CAST(MAX(fee) AS DOUBLE)"),
    ("AVG(price)", "AVG(price)"),
    ("SUM(price * shares)", "COALESCE(SUM(price * shares), 0.0)"),
    ("COUNT(DISTINCT user_id)", "COUNT(DISTINCT user_id)"),
    (
        "MAX(shares) - MIN(shares)",
        "CAST(MAX(shares) AS DOUBLE) - CAST(MIN(shares) AS DOUBLE)",
    ),
    ("SUM(amount)", "COALESCE(SUM(amount), 0.0)"),
    ("MIN(amount)", "MIN(amount)"),
    ("AVG(amount)", "AVG(amount)"),
    ("MAX(amount) - MIN(amount)", "MAX(amount) - MIN(amount)"),
    (
        "SUM(CASE WHEN side = 'BUY' THEN shares ELSE -shares END)",
        "COALESCE(SUM(CAST(CASE WHEN side = 'BUY' THEN shares ELSE -shares END AS DOUBLE)), 0.0)",
    ),
    (
        "SUM(CASE WHEN symbol = 'AAPL' THEN price WHEN exchange <> 'NYSE' THEN fee ELSE shares END)",
        "COALESCE(SUM(CASE WHEN symbol = 'AAPL' THEN price WHEN exchange <> 'NYSE' THEN CAST(fee AS DOUBLE) ELSE CAST(shares AS DOUBLE) END), 0.0)",
    ),
    // Constants on either side of double arithmetic, and an input shared
    // with SUM(amount) and AVG(amount) (TPC-H Q1's shape).
    (
        "SUM(amount * (1 - fee))",
        "COALESCE(SUM(amount * (1 - CAST(fee AS DOUBLE))), 0.0)",
    ),
    (
        "SUM(amount * (1 - fee) * (1 + price / 100))",
        "COALESCE(SUM(amount * (1 - CAST(fee AS DOUBLE)) * (1 + price / 100)), 0.0)",
    ),
    ("AVG(2.5 - price * 2)", "AVG(2.5 - price * 2)"),
    // A function with a constant argument, and a negation.
    (
        "SUM(ABS(amount - 100) + -price)",
        "COALESCE(SUM(ABS(amount - 100) + -price), 0.0)",
    ),
    // Casts between numbers.
    (
        "SUM(CAST(price * 3 AS LONG))",
        "COALESCE(SUM(CAST(CAST(price * 3 AS BIGINT) AS DOUBLE)), 0.0)",
    ),
    (
        "AVG(CAST(shares AS DOUBLE) / 7)",
        "AVG(CAST(shares AS DOUBLE) / 7)",
    ),
];

/// `data` sealed into segments of `per_segment` rows in `dir`.
fn sealed(
    spec: &Arc<SegmentSpec>,
    data: &[Json],
    per_segment: usize,
    dir: &std::path::Path,
) -> Vec<ImmutableSegment> {
    data.chunks(per_segment)
        .enumerate()
        .map(|(index, part)| {
            let segment = MutableSegment::new(spec.clone());
            let cells: Vec<_> = part
                .iter()
                .map(|row| json_row(row, spec).unwrap())
                .collect();
            segment.append(&cells).unwrap();
            let info = SealInfo {
                late_docs: Vec::new(),
                segment_name: format!("t_{index}"),
                stream: None,
            };
            let (path, _) = segment.seal(dir, &info).unwrap();
            ImmutableSegment::open(&path).unwrap()
        })
        .collect()
}

/// A query for the engine and the same query for DataFusion.
fn query(rng: &mut Rng) -> (String, String) {
    let filter = if rng.below(4) == 0 {
        String::new()
    } else {
        format!(" WHERE {}", predicate(rng, 2))
    };
    if rng.below(5) == 0 {
        let columns = rng.pick(&[
            "id, symbol, price",
            "id, shares * price, side",
            "id, fee, user_id",
        ]);
        let order = rng.pick(&["id", "ts DESC, id", "ts, id DESC", "price DESC, id"]);
        let sql = format!("SELECT {columns} FROM t{filter} ORDER BY {order} LIMIT 40");
        return (sql.clone(), sql);
    }
    let key_sets: [&[&str]; 10] = [
        &[],
        &["symbol"],
        &["exchange", "side"],
        &["user_id"],
        &["shares % 7"],
        &["side", "symbol"],
        // Runs of the sorted column.
        &["ts - ts % 3600000"],
        &["ts"],
        &["ts + 7"],
        // Not runs: must not be taken for them.
        &["ts % 3600000"],
    ];
    let keys: &[&str] = key_sets[rng.below(key_sets.len())];
    let mut chosen: Vec<(&str, &str)> = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let aggregate = *rng.pick(&AGGREGATES);
        if !chosen.contains(&aggregate) {
            chosen.push(aggregate);
        }
    }
    let statement = |aggregates: Vec<&str>| {
        let select: Vec<&str> = keys.iter().copied().chain(aggregates).collect();
        let mut sql = format!("SELECT {} FROM t{filter}", select.join(", "));
        if !keys.is_empty() {
            let order: Vec<String> = (1..=keys.len()).map(|i| i.to_string()).collect();
            sql.push_str(&format!(
                " GROUP BY {} ORDER BY {} LIMIT 10000",
                keys.join(", "),
                order.join(", ")
            ));
        }
        sql
    };
    (
        statement(chosen.iter().map(|(ours, _)| *ours).collect()),
        statement(chosen.iter().map(|(_, theirs)| *theirs).collect()),
    )
}

#[test]
fn engine_matches_datafusion() {
    engine_matches_datafusion_with(table_json(), 1000, 0x9E37_79B9_7F4A_7C15);
}

/// The same with `side` stored raw and compressed with ZSTANDARD, in one
/// segment of three chunks: its filters, groups and selections read text
/// decompressed a chunk at a time.
#[test]
fn engine_matches_datafusion_on_compressed_text() {
    let mut table = table_json();
    table["tableIndexConfig"]["noDictionaryColumns"]
        .as_array_mut()
        .unwrap()
        .push(json!("side"));
    table["fieldConfigList"] = json!([{"name": "side", "encodingType": "RAW",
        "compressionCodec": "ZSTANDARD"}]);
    engine_matches_datafusion_with(table, 3000, 0x2545_F491_4F6C_DD1D);
}

fn engine_matches_datafusion_with(table: Json, per_segment: usize, seed: u64) {
    let mut rng = Rng(seed);
    let schema: catalog::Parsed<Schema> =
        catalog::parse(schema_json().to_string().as_bytes(), "schema").unwrap();
    let table: catalog::Parsed<TableConfig> =
        catalog::parse(table.to_string().as_bytes(), "table").unwrap();
    let spec = Arc::new(SegmentSpec::new(&schema.value, &table.value));
    let data = rows(&mut rng, 3000);
    let dir = tempfile::tempdir().unwrap();
    let segments = sealed(&spec, &data, per_segment, dir.path());
    let columns = TableColumns::of_schema("t", &schema.value);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let context = SessionContext::new();
    let batch = arrow_table(&data);
    context
        .register_table(
            "t",
            Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]]).unwrap()),
        )
        .unwrap();
    let mut checked = 0;
    for _ in 0..300 {
        let (sql, oracle) = query(&mut rng);
        let mut options = QueryOptions::default();
        let Route::Single { query, .. } = sql::parse(&sql, &mut options).unwrap() else {
            panic!("{sql}: not a single-table query");
        };
        let plan = sql::plan(&query, &columns, options).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let deadline =
            Deadline::new(std::time::Instant::now() + std::time::Duration::from_secs(60));
        let partials = segments
            .iter()
            .map(|segment| execute(&plan, segment, &deadline).map(|(p, _)| p))
            .collect::<Result<Vec<_>, _>>()
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let merged = reduce::merge(&plan, partials).unwrap();
        let ours = reduce::finish(&plan, merged).unwrap();
        let theirs = runtime.block_on(async {
            let frame = context
                .sql(&oracle)
                .await
                .unwrap_or_else(|e| panic!("{oracle}: {e}"));
            arrow_rows(&frame.collect().await.unwrap()).unwrap()
        });
        for row in &ours {
            for (cell, output) in row.iter().zip(&plan.output) {
                assert!(
                    fits(cell, output.ty),
                    "{sql}: {cell:?} in {} column {}",
                    output.ty.name(),
                    output.name
                );
            }
        }
        assert!(
            same_rows(&ours, &theirs),
            "{sql}\n{oracle}\n gamay:      {:?}\n datafusion: {:?}",
            &ours[..ours.len().min(5)],
            &theirs[..theirs.len().min(5)]
        );
        checked += 1;
    }
    assert_eq!(checked, 300);
}

/// A DataFusion session with `segments` as the multi-stage table `t`, on
/// `partitions` target partitions.
fn segment_context(
    schema: &Schema,
    segments: Vec<ImmutableSegment>,
    partitions: usize,
) -> SessionContext {
    use super::multistage::SegmentTable;
    use crate::expr::ColumnRef;
    use crate::query::source::SegmentSource;

    let segments: Vec<Arc<dyn SegmentSource>> = segments
        .into_iter()
        .map(|segment| Arc::new(segment) as Arc<dyn SegmentSource>)
        .collect();
    let mut columns: Vec<ColumnRef> = TableColumns::of_schema("t", schema)
        .columns
        .into_iter()
        .map(|(name, (ty, default))| ColumnRef { name, ty, default })
        .collect();
    columns.sort_by(|a, b| a.name.cmp(&b.name));
    let config = datafusion::prelude::SessionConfig::new().with_target_partitions(partitions);
    let context = SessionContext::new_with_config(config);
    context
        .register_table("t", Arc::new(SegmentTable::new(columns, segments)))
        .unwrap();
    context
}

/// The multi-stage engine's scans (filters pushed into the segments,
/// segments split into partitions, columns read into Arrow) must give
/// DataFusion over the same rows in memory the same answers, for the
/// generated filters alone and under a join.
#[test]
fn multistage_scans_match_datafusion() {
    let mut rng = Rng(0x51_7CC1_B727_220A);
    let schema: catalog::Parsed<Schema> =
        catalog::parse(schema_json().to_string().as_bytes(), "schema").unwrap();
    // `side` stored raw: text read where it lies, not through a dictionary.
    let mut table_json = table_json();
    table_json["tableIndexConfig"]["noDictionaryColumns"]
        .as_array_mut()
        .unwrap()
        .push(json!("side"));
    let table: catalog::Parsed<TableConfig> =
        catalog::parse(table_json.to_string().as_bytes(), "table").unwrap();
    let spec = Arc::new(SegmentSpec::new(&schema.value, &table.value));
    // Two segments, each larger than a scan batch, so each is split.
    let data = rows(&mut rng, 40_000);
    let dir = tempfile::tempdir().unwrap();
    let segments = sealed(&spec, &data, 20_000, dir.path());
    let ours = segment_context(&schema.value, segments, 4);
    let theirs = SessionContext::new();
    let batch = arrow_table(&data);
    theirs
        .register_table(
            "t",
            Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]]).unwrap()),
        )
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let run = |context: &SessionContext, sql: &str| {
        runtime.block_on(async {
            let frame = context
                .sql(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            arrow_rows(&frame.collect().await.unwrap()).unwrap()
        })
    };
    let mut split = false;
    for round in 0..120 {
        let sql = if round % 3 == 0 {
            format!(
                "SELECT x.symbol, COUNT(*), SUM(y.price), MIN(y.side) FROM \
                 (SELECT * FROM t WHERE {}) x JOIN t y ON x.id = y.id + 1 \
                 GROUP BY x.symbol ORDER BY 1",
                predicate(&mut rng, 2)
            )
        } else {
            query(&mut rng).1
        };
        if !split {
            let plan = run(&ours, &format!("EXPLAIN {sql}"));
            split =
                format!("{plan:?}").contains("parts=3") || format!("{plan:?}").contains("parts=4");
        }
        let (a, b) = (run(&ours, &sql), run(&theirs, &sql));
        assert!(
            same_rows(&a, &b),
            "{sql}\n segments: {:?}\n memory:   {:?}",
            &a[..a.len().min(5)],
            &b[..b.len().min(5)]
        );
    }
    assert!(split, "no scan was split into partitions");
}

/// A scan over many segments makes a few partitions per core, cut at equal
/// ranks of the matching docs, and reads every row once.
#[test]
fn multistage_scans_split_into_a_few_partitions_per_core() {
    use crate::expr::value::Value;

    let mut rng = Rng(0x2A11_7E5D_0C4B_9913);
    let schema: catalog::Parsed<Schema> =
        catalog::parse(schema_json().to_string().as_bytes(), "schema").unwrap();
    let table: catalog::Parsed<TableConfig> =
        catalog::parse(table_json().to_string().as_bytes(), "table").unwrap();
    let spec = Arc::new(SegmentSpec::new(&schema.value, &table.value));
    let data = rows(&mut rng, 30_000);
    let dir = tempfile::tempdir().unwrap();
    let segments = sealed(&spec, &data, 3_000, dir.path());
    assert_eq!(segments.len(), 10);
    let context = segment_context(&schema.value, segments, 2);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let run = |sql: &str| {
        runtime.block_on(async {
            let frame = context.sql(sql).await.unwrap();
            arrow_rows(&frame.collect().await.unwrap()).unwrap()
        })
    };
    let plan = format!("{:?}", run("EXPLAIN SELECT SUM(price) FROM t"));
    // 30,000 docs: 4 partitions of at least a scan batch (8,192) each,
    // where 2 cores would allow 8. Cut at docs 7,500, 15,000 and 22,500,
    // they split the 3rd and the 8th segments: 12 parts.
    assert!(plan.contains("partitions=4, parts=12"), "{plan}");
    let sql = "SELECT symbol, SUM(price * 1.1), COUNT(*) FROM t GROUP BY symbol ORDER BY symbol";
    let first = run(sql);
    let counted: i64 = first
        .iter()
        .map(|row| match &row[2] {
            Value::Long(count) => *count,
            other => panic!("count {other:?}"),
        })
        .sum();
    assert_eq!(counted, 30_000);
    let filtered = run("SELECT COUNT(*) FROM t WHERE shares > 100");
    let expected = data
        .iter()
        .filter(|row| row["shares"].as_i64().unwrap_or(0) > 100)
        .count() as i64;
    assert_eq!(format!("{filtered:?}"), format!("[[Long({expected})]]"));
}
