//! Mutated segment files: the loader must refuse them with an error, and
//! whatever it accepts must answer queries, never panic, never read out
//! of bounds and never allocate from a length field without checking it.
//!
//! The files mutated are built fresh from rows with every index kind
//! (sorted, inverted, range, bloom, star-trees with sketches, raw and
//! dictionary columns, multi-value, nulls), through both the batch
//! builder and the sealing of a consuming segment, plus the checked-in
//! fixtures of older format versions. Every block carries a CRC, so most
//! mutations fix the checksums afterwards: block payloads damaged with
//! their CRC recomputed, footer fields set to extreme values (counts,
//! offsets, lengths, bit widths) with the footer CRC and trailer
//! rewritten. Those reach the parsers behind the checksums.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gamay::catalog::{self, Schema, TableConfig};
use gamay::ingest::rows::json_row;
use gamay::query::exec::{execute, Deadline};
use gamay::query::options::QueryOptions;
use gamay::query::reduce;
use gamay::query::sql::{self, Route, TableColumns};
use gamay::segment::format::TRAILER_LEN;
use gamay::segment::{ImmutableSegment, MutableSegment, SealInfo, SegmentBuilder, SegmentSpec};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::alloc;
use super::budget::{Budget, Findings};
use super::bytes::mutate_bytes;
use super::mutate::Mutator;
use super::panics;

/// An allocation this large from a file of at most a few hundred KiB is
/// a length field trusted without a check.
const SOFT_ALLOC_BYTES: usize = 64 << 20;

pub fn schema() -> Value {
    json!({
        "schemaName": "fz",
        "dimensionFieldSpecs": [
            {"name": "id", "dataType": "LONG"},
            {"name": "user_id", "dataType": "INT"},
            {"name": "symbol", "dataType": "STRING"},
            {"name": "exchange", "dataType": "STRING"},
            {"name": "side", "dataType": "STRING"},
            {"name": "tags", "dataType": "STRING", "singleValueField": false},
            {"name": "active", "dataType": "BOOLEAN"},
            {"name": "note", "dataType": "STRING"},
            {"name": "raw", "dataType": "BYTES"},
            {"name": "payload", "dataType": "JSON"},
            {"name": "counts", "dataType": "LONG", "singleValueField": false}
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

pub fn table() -> Value {
    json!({
        "tableName": "fz",
        "tableType": "OFFLINE",
        "segmentsConfig": {"timeColumnName": "ts"},
        "tableIndexConfig": {
            "sortedColumn": ["ts"],
            "invertedIndexColumns": ["user_id", "symbol", "tags", "counts"],
            "rangeIndexColumns": ["price", "shares", "amount"],
            "bloomFilterColumns": ["exchange", "id"],
            "noDictionaryColumns": ["fee", "amount", "note", "raw", "id"],
            "starTreeIndexConfigs": [{
                "dimensionsSplitOrder": ["symbol", "side", "user_id"],
                "functionColumnPairs": ["COUNT__*", "SUM__shares", "MIN__price", "MAX__price",
                                        "DISTINCTCOUNTHLL__user_id", "PERCENTILEEST__price"],
                "maxLeafRecords": 4
            }],
            "enableDefaultStarTree": true
        }
    })
}

/// Rows with repeats, nulls, multi-values and every type.
pub fn rows(count: usize, seed: u64) -> Vec<Value> {
    let mut rng = StdRng::seed_from_u64(seed);
    let symbols = ["AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "ção", ""];
    let exchanges = ["NYSE", "NASDAQ", "LSE"];
    (0..count)
        .map(|i| {
            let mut row = json!({
                "id": i as i64 * 7919 - 1000,
                "user_id": rng.random_range(0..50),
                "symbol": symbols[rng.random_range(0..symbols.len())],
                "exchange": exchanges[i % 3],
                "side": if rng.random_bool(0.5) { "BUY" } else { "SELL" },
                "tags": (0..rng.random_range(0..4)).map(|t| format!("t{t}")).collect::<Vec<_>>(),
                "active": rng.random_bool(0.3),
                "note": format!("note {}", rng.random_range(0..1000)),
                "raw": format!("{:02x}{:02x}", i % 256, rng.random_range(0..256)),
                "payload": {"k": i, "v": [1, 2]},
                "shares": rng.random_range(-5..500),
                "price": (rng.random_range(0..100_000) as f64) / 100.0,
                "fee": rng.random::<f32>(),
                "amount": (rng.random_range(0..10_000) as f64) / 4.0,
                "counts": [rng.random_range(0..9), i as i64],
                "ts": 1_780_000_000_000i64 + (i as i64) * 60_000,
            });
            if i % 11 == 0 {
                row["symbol"] = Value::Null;
                row["price"] = Value::Null;
            }
            row
        })
        .collect()
}

/// Queries touching every column, index and the star-tree.
const QUERIES: &[&str] = &[
    "SELECT COUNT(*), SUM(shares), MIN(price), MAX(price), AVG(fee), SUM(amount) FROM fz",
    "SELECT * FROM fz ORDER BY ts DESC LIMIT 20",
    "SELECT * FROM fz WHERE id > 100 LIMIT 1000",
    "SELECT symbol, side, COUNT(*), SUM(shares), MIN(price), MAX(price) FROM fz GROUP BY symbol, side ORDER BY 1, 2",
    "SELECT symbol, DISTINCTCOUNTHLL(user_id), PERCENTILEEST(price, 90) FROM fz GROUP BY symbol",
    "SELECT COUNT(*) FROM fz WHERE user_id IN (1, 2, 3) AND symbol = 'AAPL'",
    "SELECT COUNT(*) FROM fz WHERE tags = 't1' OR counts = 3",
    "SELECT COUNT(*) FROM fz WHERE price BETWEEN 10 AND 500 AND shares > 100 AND amount < 1000",
    "SELECT COUNT(*) FROM fz WHERE exchange = 'LSE' AND id = 7919",
    "SELECT COUNT(*) FROM fz WHERE ts >= 1780000600000 AND ts < 1780003000000",
    "SELECT id, note, raw, payload, fee FROM fz WHERE note LIKE 'note 1%' ORDER BY id LIMIT 50",
    "SELECT DISTINCT side, active FROM fz",
    "SELECT COUNT(*) FROM fz WHERE symbol IS NULL OR price IS NOT NULL",
    "SELECT user_id, COUNT(DISTINCT symbol), MAX(ts) FROM fz WHERE active = true GROUP BY user_id ORDER BY 3 DESC LIMIT 5",
    "SELECT side, COUNT(*) FROM fz WHERE tags IN ('t0', 't2') GROUP BY side",
    "SELECT SUM(counts), MAX(counts) FROM fz WHERE REGEXP_LIKE(exchange, 'N.*')",
];

/// A segment file split into its parts, so mutations can fix checksums.
pub struct Parsed {
    bytes: Vec<u8>,
    footer_offset: usize,
    footer: Value,
    version: [u8; 4],
}

/// Splits a segment file; `None` when it has no readable footer.
pub fn split(bytes: &[u8]) -> Option<Parsed> {
    let len = bytes.len();
    let trailer = bytes.get(len.checked_sub(TRAILER_LEN)?..)?;
    let footer_offset = u64::from_le_bytes(trailer[0..8].try_into().ok()?) as usize;
    let footer = serde_json::from_slice(bytes.get(footer_offset..len - TRAILER_LEN)?).ok()?;
    Some(Parsed {
        bytes: bytes.to_vec(),
        footer_offset,
        footer,
        version: trailer[20..24].try_into().ok()?,
    })
}

/// The data area and `footer`, with a trailer that matches it.
fn join(parsed: &Parsed, data: &[u8], footer: &Value) -> Vec<u8> {
    let footer = serde_json::to_vec(footer).unwrap();
    let mut out = data.to_vec();
    let offset = out.len() as u64;
    out.extend_from_slice(&footer);
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&(footer.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(&footer).to_le_bytes());
    out.extend_from_slice(&parsed.version);
    out.extend_from_slice(b"GAMAYEND");
    out
}

/// Recomputes the CRC of every block that lies inside `data`.
fn fix_block_crcs(data: &[u8], footer: &mut Value) {
    let Some(blocks) = footer.get_mut("blocks").and_then(Value::as_array_mut) else {
        return;
    };
    for block in blocks {
        let offset = block.get("offset").and_then(Value::as_u64);
        let length = block.get("length").and_then(Value::as_u64);
        if let (Some(offset), Some(length)) = (offset, length) {
            let end = offset.checked_add(length);
            if let Some(end) = end.filter(|end| *end as usize <= data.len()) {
                let crc = crc32c::crc32c(&data[offset as usize..end as usize]);
                block["crc32c"] = json!(crc);
            }
        }
    }
}

/// Numbers chosen to break size arithmetic.
fn extreme(rng: &mut StdRng, near: u64) -> Value {
    match rng.random_range(0..12) {
        0 => json!(0),
        1 => json!(1),
        2 => json!(near.saturating_add(1)),
        3 => json!(near.saturating_sub(1)),
        4 => json!(near.saturating_mul(2)),
        5 => json!(u32::MAX),
        6 => json!(u32::MAX as u64 + 1),
        7 => json!(u64::MAX),
        8 => json!(i64::MAX),
        9 => json!(1u64 << 40),
        10 => json!(-1),
        _ => json!(rng.random_range(0..64)),
    }
}

/// Every numeric field of the footer, by JSON pointer.
fn numbers(value: &Value, at: String, out: &mut Vec<(String, u64)>) {
    match value {
        Value::Number(number) => out.push((at, number.as_u64().unwrap_or(0))),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                numbers(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                numbers(
                    item,
                    format!("{at}/{}", key.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        _ => {}
    }
}

/// One mutation of `parsed`'s file, with what was done.
pub fn mutate(parsed: &Parsed, mutator: &Mutator, rng: &mut StdRng) -> (Vec<u8>, String) {
    let data = &parsed.bytes[..parsed.footer_offset];
    match rng.random_range(0..20) {
        // Raw damage, checksums left as they are.
        0..=3 => {
            let mut bytes = parsed.bytes.clone();
            let what = mutate_bytes(&mut bytes, rng);
            (bytes, what)
        }
        // A block's payload damaged, its CRC recomputed.
        4..=9 => {
            let mut data = data.to_vec();
            let blocks = parsed.footer["blocks"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if blocks.is_empty() {
                return (parsed.bytes.clone(), "nothing".into());
            }
            // A footer damaged in an earlier round may hold anything.
            let index = rng.random_range(0..blocks.len());
            let block = &blocks[index];
            let field = |key: &str| block.get(key).and_then(Value::as_u64).unwrap_or(0) as usize;
            let (offset, length) = (field("offset"), field("length"));
            let Some(payload) = offset
                .checked_add(length)
                .and_then(|end| data.get(offset..end))
            else {
                return (parsed.bytes.clone(), "nothing".into());
            };
            let mut payload = payload.to_vec();
            let mut what = String::new();
            for _ in 0..rng.random_range(1..4) {
                what.push_str(&mutate_bytes(&mut payload, rng));
                what.push_str("; ");
            }
            // Same length: written in place. Else the block moves to the end.
            let mut footer = parsed.footer.clone();
            if payload.len() == length {
                data[offset..offset + length].copy_from_slice(&payload);
            } else {
                data.resize(data.len().next_multiple_of(8), 0);
                if let Some(moved) = footer["blocks"][index].as_object_mut() {
                    moved.insert("offset".into(), json!(data.len()));
                    moved.insert("length".into(), json!(payload.len()));
                }
                data.extend_from_slice(&payload);
            }
            fix_block_crcs(&data, &mut footer);
            let label = |key: &str| block.get(key).map(Value::to_string).unwrap_or_default();
            let label = format!("{}.{}", label("column"), label("kind"));
            (
                join(parsed, &data, &footer),
                format!("block {label}: {what}CRC fixed"),
            )
        }
        // Footer numbers set to extremes, checksums fixed.
        10..=16 => {
            let mut footer = parsed.footer.clone();
            let mut fields = Vec::new();
            numbers(&footer, String::new(), &mut fields);
            if fields.is_empty() {
                return (parsed.bytes.clone(), "nothing".into());
            }
            let mut what = Vec::new();
            for _ in 0..rng.random_range(1..3) {
                let (pointer, near) = &fields[rng.random_range(0..fields.len())];
                let value = extreme(rng, *near);
                if let Some(slot) = footer.pointer_mut(pointer) {
                    what.push(format!("{pointer} = {value}"));
                    *slot = value;
                }
            }
            fix_block_crcs(data, &mut footer);
            (
                join(parsed, data, &footer),
                format!("footer {}; CRCs fixed", what.join(", ")),
            )
        }
        // The footer mutated structurally, checksums fixed.
        _ => {
            let mutant = mutator.mutate(&parsed.footer, rng);
            let Some(mut footer) = mutant.json() else {
                return (parsed.bytes.clone(), "nothing".into());
            };
            fix_block_crcs(data, &mut footer);
            let what = format!("footer {}; CRCs fixed", mutant.steps.join("; "));
            (join(parsed, data, &footer), what)
        }
    }
}

/// Opens `path` and, if it opens, reads every value and runs the queries.
/// `Err` names a panic.
fn exercise(path: &Path, columns: &TableColumns) -> Result<bool, String> {
    panics::catch_any(|| {
        let Ok(segment) = ImmutableSegment::open(path) else {
            return false;
        };
        let meta = segment.meta().clone();
        for index in 0..meta.columns.len() {
            segment.decoded_dictionary(index);
            let view = segment.column(index);
            for doc in 0..segment.num_docs() {
                view.value(doc);
                view.is_null(doc as u32);
                segment.cell(index, doc as u32);
            }
        }
        for sql in QUERIES {
            let _ = run(sql, columns, &segment);
        }
        true
    })
}

fn run(sql: &str, columns: &TableColumns, segment: &ImmutableSegment) -> Result<(), String> {
    let mut options = QueryOptions::default();
    let Ok(Route::Single { query, .. }) = sql::parse(sql, &mut options) else {
        return Err(format!("{sql} does not parse"));
    };
    let plan = sql::plan(&query, columns, options).map_err(|err| err.to_string())?;
    let deadline = Deadline::new(Instant::now() + Duration::from_secs(10));
    let failed = |err: gamay::query::error::ExecError| err.to_string();
    let (partial, _) = execute(&plan, segment, &deadline).map_err(failed)?;
    let merged = reduce::merge(&plan, vec![partial]).map_err(failed)?;
    reduce::finish(&plan, merged).map_err(failed)?;
    Ok(())
}

/// Builds the fresh segments: batch-built and sealed from a consuming one.
fn build(dir: &Path, schema: &Schema, table: &TableConfig) -> Vec<Vec<u8>> {
    let spec = Arc::new(SegmentSpec::new(schema, table));
    let cells: Vec<_> = rows(700, 1)
        .iter()
        .map(|row| json_row(row, &spec).unwrap())
        .collect();
    let mut builder = SegmentBuilder::new(spec.clone());
    builder.append(&cells).unwrap();
    let info = |name: &str| SealInfo {
        late_docs: Vec::new(),
        segment_name: name.into(),
        stream: None,
    };
    let (built, _) = builder.build(dir, &info("built")).unwrap();
    let mutable = MutableSegment::new(spec);
    mutable.append(&cells[..300]).unwrap();
    let (sealed, _) = mutable.seal(dir, &info("sealed")).unwrap();
    let mut files = vec![
        std::fs::read(built).unwrap(),
        std::fs::read(sealed).unwrap(),
    ];
    for version in 1..=4 {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("tests/fixtures/segment_v{version}.seg"));
        files.push(std::fs::read(fixture).unwrap());
    }
    files
}

pub fn run_target(ci_cases: u64) {
    let dir = tempfile::tempdir().unwrap();
    let schema: Schema = catalog::parse_value(schema(), "schema").unwrap().value;
    let table: TableConfig = catalog::parse_value(table(), "table").unwrap().value;
    let columns = TableColumns::of_schema("fz", &schema);
    let files: Vec<Parsed> = build(dir.path(), &schema, &table)
        .iter()
        .map(|bytes| split(bytes).expect("a fresh segment splits"))
        .collect();
    // The unmutated files open and answer every query.
    for (i, file) in files.iter().enumerate() {
        let path = dir.path().join(format!("base{i}.seg"));
        std::fs::write(&path, &file.bytes).unwrap();
        let segment = ImmutableSegment::open(&path).unwrap();
        if i < 2 {
            for sql in QUERIES {
                run(sql, &columns, &segment).unwrap_or_else(|err| panic!("{sql}: {err}"));
            }
        }
    }
    let footers: Vec<Value> = files.iter().map(|file| file.footer.clone()).collect();
    let mutator = Mutator::new(&footers);
    let mut budget = Budget::from_env("segments", ci_cases);
    let mut findings = Findings::default();
    let (mut opened, mut refused) = (0u64, 0u64);
    let path = dir.path().join("mutant.seg");
    while let Some((case, mut rng)) = budget.next_case() {
        let file = &files[rng.random_range(0..files.len())];
        let (bytes, what) = mutate(file, &mutator, &mut rng);
        std::fs::write(&path, &bytes).unwrap();
        let (outcome, largest) = alloc::watch(case, || exercise(&path, &columns));
        match outcome {
            Ok(true) => opened += 1,
            Ok(false) => refused += 1,
            Err(panic) => findings.add(&budget, case, format!("panic {panic} after: {what}")),
        }
        if largest > SOFT_ALLOC_BYTES {
            findings.add(
                &budget,
                case,
                format!(
                    "a {largest}-byte allocation from a {}-byte file after: {what}",
                    bytes.len()
                ),
            );
        }
    }
    eprintln!(
        "fuzz segments: {} mutated files in {:.1} s: {refused} refused, {opened} opened and queried, {} finding(s)",
        opened + refused + findings.len() as u64,
        budget.elapsed().as_secs_f64(),
        findings.len()
    );
    findings.assert_none(&budget);
}
