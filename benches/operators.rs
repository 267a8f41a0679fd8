//! Micro-benchmarks of the hot per-segment operators, over one sealed
//! segment built in memory (a temporary directory) from ROWS (default 5M)
//! deterministic trades of `schemas/stock_transactions.json`
//! (`TradeGenerator`, seed 42: Zipf-skewed symbols and users). The table
//! has sorted column `update_at` (one value per second, 20 trades each),
//! inverted indexes on `symbol` and `user_id`, a range index on `purchase`
//! and a bloom filter on `user_id`.
//!
//! 1. indexes: inverted-index posting lists (one value; the intersection
//!    and the union of two), a range-index query `purchase BETWEEN 1000 AND
//!    2000` (bucket bitmaps, then the partly covered buckets checked against
//!    the forward index) next to a plain scan of the forward ids, bloom
//!    filter probes, and sorted-index range lookups (value → dictionary id
//!    → doc range).
//! 2. decoding: JSON trade messages → rows (`MessageDecoder`), and reading
//!    whole columns of the sealed segment through the query engine's
//!    `ColumnSource` (batches of `docs::BATCH` docs), plus random single-doc
//!    reads (`ImmutableSegment::value`).
//! 3. aggregation: SQL parsed and planned once, then `query::exec::execute`
//!    (filter → doc set → aggregate, the per-segment operator) timed on the
//!    segment. Reduce (ORDER BY, LIMIT) is not included. THREADS (default 1)
//!    sizes the rayon pool the queries run in, so figures are per core.
//! 4. expressions: a filter and an aggregate over expressions no index
//!    serves, on the engine and as a hand-written loop over the same
//!    columns decoded into vectors beforehand (one core).
//!
//! Throughput is in elements/s; each benchmark's name says what an element
//! is (docs of the segment, postings, probes, lookups, messages, values).
//!
//! Run: `cargo bench --bench operators` (ROWS and THREADS override the
//! defaults; a name filter such as `-- indexes` runs one group). Figures go
//! in BENCHMARKS.md.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use gamay::catalog::{parse_value, Schema, TableConfig};
use gamay::index::bloom;
use gamay::index::range::{self, RangeIndex};
use gamay::ingest::decode::{Decoded, MessageDecoder};
use gamay::query::docs::{Docs, BATCH};
use gamay::query::exec::{execute, Deadline};
use gamay::query::plan::Plan;
use gamay::query::source::SegmentSource;
use gamay::query::sql::{self, Route, TableColumns};
use gamay::query::{reduce, QueryOptions};
use gamay::quickstart::generator::TradeGenerator;
use gamay::segment::stored::{Dictionary, Forward};
use gamay::segment::{bloom_hash, ImmutableSegment, Scalar, SealInfo, SegmentBuilder, SegmentSpec};
use roaring::RoaringBitmap;
use serde_json::{json, Value};

const TABLE: &str = "stock_transactions";
/// `update_at` of the first trade (epoch millis).
const START_MS: i64 = 1_793_502_000_000;
/// Trades per `update_at` second: the sorted column's dictionary stays
/// below half the docs, so it keeps a sorted index.
const TRADES_PER_SECOND: i64 = 20;
/// Messages decoded per iteration of the decode benchmark.
const MESSAGES: usize = 200_000;
/// Probes per iteration of the bloom-filter benchmarks.
const PROBES: usize = 1_000_000;
/// Lookups per iteration of the sorted-index benchmark.
const LOOKUPS: usize = 100_000;
/// Random single-doc reads per iteration.
const RANDOM_READS: usize = 100_000;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A deterministic xorshift64 sequence.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn schema() -> Schema {
    let json: Value = serde_json::from_str(include_str!("../schemas/stock_transactions.json"))
        .expect("schema JSON");
    parse_value(json, "schema").expect("schema").value
}

fn table() -> TableConfig {
    let json = json!({
        "tableName": TABLE,
        "tableType": "OFFLINE",
        "segmentsConfig": {"timeColumnName": "update_at"},
        "tableIndexConfig": {
            "sortedColumn": ["update_at"],
            "invertedIndexColumns": ["symbol", "user_id"],
            "rangeIndexColumns": ["purchase"],
            "bloomFilterColumns": ["user_id"]
        }
    });
    parse_value(json, "table").expect("table").value
}

fn decoder(schema: &Schema, table: &TableConfig) -> MessageDecoder {
    let spec = Arc::new(SegmentSpec::new(schema, table));
    MessageDecoder::new(
        schema,
        table,
        spec,
        gamay::catalog::Decoder::Json,
        gamay::query::transform::compile,
    )
    .expect("decoder")
}

/// `count` trade messages; trade `i` at second `i / TRADES_PER_SECOND`.
fn messages(seed: u64, count: usize) -> Vec<String> {
    let mut generator = TradeGenerator::new(seed, 0);
    (0..count)
        .map(|i| {
            let at = START_MS + i as i64 / TRADES_PER_SECOND * 1000;
            generator.next(at).to_string()
        })
        .collect()
}

/// The sealed segment every benchmark reads, built once.
struct Fixture {
    segment: ImmutableSegment,
    schema: Schema,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build_fixture)
}

fn build_fixture() -> Fixture {
    let rows = env("ROWS", 5_000_000);
    let started = Instant::now();
    let (schema, table) = (schema(), table());
    let decoder = decoder(&schema, &table);
    let mut builder = SegmentBuilder::new(decoder.spec().clone());
    let mut generator = TradeGenerator::new(42, 0);
    let mut batch = Vec::with_capacity(1 << 16);
    for i in 0..rows {
        let at = START_MS + i as i64 / TRADES_PER_SECOND * 1000;
        match decoder.decode(Some(generator.next(at).as_bytes()), None) {
            Decoded::Row(row) => batch.push(row),
            other => panic!("trade {i} did not decode: {other:?}"),
        }
        if batch.len() == batch.capacity() {
            builder.append(&batch).expect("append");
            batch.clear();
        }
    }
    builder.append(&batch).expect("append");
    let dir = tempfile::tempdir().expect("temporary directory");
    let info = SealInfo {
        late_docs: Vec::new(),
        segment_name: format!("{TABLE}_0"),
        stream: None,
    };
    let (path, _) = builder.build(dir.path(), &info).expect("build the segment");
    let segment = ImmutableSegment::open(&path).expect("open the segment");
    eprintln!(
        "segment: {} docs, {:.1} MB, built in {:.1} s",
        segment.num_docs(),
        segment.size_bytes() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    for column in &segment.meta().columns {
        eprintln!(
            "  {:<10} {:?}, cardinality {}, indexes {:?}",
            column.name, column.encoding, column.cardinality, column.indexes
        );
    }
    Fixture {
        segment,
        schema,
        _dir: dir,
    }
}

fn column_index(segment: &ImmutableSegment, name: &str) -> usize {
    segment
        .column_index(name)
        .unwrap_or_else(|| panic!("no column `{name}`"))
}

/// The dictionary id of `value`, which the column must hold.
fn dict_id(dictionary: &Dictionary<'_>, value: Scalar) -> u32 {
    dictionary
        .index_of(&value)
        .unwrap_or_else(|_| panic!("{value:?} is not in the dictionary"))
}

/// Dictionary ids `first..=last` of the values in `[low, high]`, if any.
fn id_range(dictionary: &Dictionary<'_>, low: Scalar, high: Scalar) -> Option<(u32, u32)> {
    let first = match dictionary.index_of(&low) {
        Ok(id) | Err(id) => id,
    };
    let last = match dictionary.index_of(&high) {
        Ok(id) => id,
        Err(0) => return None,
        Err(at) => at - 1,
    };
    (first <= last).then_some((first, last))
}

fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
}

fn indexes(c: &mut Criterion) {
    let fixture = fixture();
    let segment = &fixture.segment;
    let num_docs = segment.num_docs();

    let symbol = segment.column(column_index(segment, "symbol"));
    let user = segment.column(column_index(segment, "user_id"));
    let symbols = symbol.dictionary.expect("symbol dictionary");
    let users = user.dictionary.expect("user_id dictionary");
    let symbol_postings = symbol.inverted.expect("symbol inverted index");
    let user_postings = user.inverted.expect("user_id inverted index");
    let s3 = dict_id(&symbols, Scalar::Str("S0003".into()));
    let s4 = dict_id(&symbols, Scalar::Str("S0004".into()));
    let u7 = dict_id(&users, Scalar::I32(7));
    let len = |bitmap: RoaringBitmap| bitmap.len();
    let (n3, n4) = (
        len(symbol_postings.docs(s3).unwrap()),
        len(symbol_postings.docs(s4).unwrap()),
    );
    let n7 = len(user_postings.docs(u7).unwrap());
    eprintln!("postings: symbol S0003 {n3}, symbol S0004 {n4}, user_id 7 {n7}");

    let mut group = c.benchmark_group("indexes");
    configure(&mut group);

    group.throughput(Throughput::Elements(n3));
    group.bench_function("inverted: symbol = 'S0003' (postings)", |b| {
        b.iter(|| symbol_postings.docs(black_box(s3)).unwrap())
    });
    group.throughput(Throughput::Elements(n7));
    group.bench_function("inverted: user_id = 7 (postings)", |b| {
        b.iter(|| user_postings.docs(black_box(u7)).unwrap())
    });
    group.throughput(Throughput::Elements(n3 + n7));
    group.bench_function(
        "inverted: symbol = 'S0003' AND user_id = 7 (postings in)",
        |b| {
            b.iter(|| {
                let a = symbol_postings.docs(black_box(s3)).unwrap();
                let b = user_postings.docs(black_box(u7)).unwrap();
                a & b
            })
        },
    );
    group.throughput(Throughput::Elements(n3 + n4));
    group.bench_function(
        "inverted: symbol IN ('S0003', 'S0004') (postings in)",
        |b| {
            b.iter(|| {
                let a = symbol_postings.docs(black_box(s3)).unwrap();
                let b = symbol_postings.docs(black_box(s4)).unwrap();
                a | b
            })
        },
    );

    // purchase BETWEEN 1000 AND 2000 on the dictionary-encoded column: the
    // range index's buckets are dictionary-id ranges.
    let purchase_index = column_index(segment, "purchase");
    let purchase = segment.column(purchase_index);
    let purchases = purchase.dictionary.expect("purchase dictionary");
    let Forward::DictSv(purchase_ids) = purchase.forward else {
        panic!("purchase is not a single-value dictionary column");
    };
    let (low, high) = id_range(&purchases, Scalar::F64(1000.0), Scalar::F64(2000.0))
        .expect("purchases between 1000 and 2000");
    let range_index: RangeIndex<'_, u32> = segment
        .range_index(purchase_index, |json| json.as_u64().map(|id| id as u32))
        .expect("purchase range index");
    let range_query = || {
        let (full, partial) = range_index
            .lookup(|lo, hi| range::coverage(lo, hi, Some(&low), Some(&high), u32::cmp))
            .unwrap();
        let checked = RoaringBitmap::from_sorted_iter(partial.iter().filter(|&doc| {
            let id = purchase_ids.get(doc as usize);
            low <= id && id <= high
        }))
        .unwrap();
        full | checked
    };
    let scan_query = || {
        let mut count = 0usize;
        purchase_ids.for_each_chunk(|_, chunk| {
            count += chunk.iter().filter(|&&id| low <= id && id <= high).count();
        });
        count
    };
    let matched = range_query().len();
    assert_eq!(matched as usize, scan_query());
    eprintln!(
        "range: purchase BETWEEN 1000 AND 2000 matches {matched} docs ({} buckets)",
        range_index.bounds().len()
    );
    group.throughput(Throughput::Elements(num_docs as u64));
    group.bench_function(
        "range index: purchase BETWEEN 1000 AND 2000 (segment docs)",
        |b| b.iter(range_query),
    );
    group.bench_function(
        "forward scan: purchase BETWEEN 1000 AND 2000, count (segment docs)",
        |b| b.iter(scan_query),
    );

    // Bloom filter of user_id: ids 1..=200000, about half never traded.
    let words = user.bloom.expect("user_id bloom filter");
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let probes: Vec<i32> = (0..PROBES)
        .map(|_| (rng.next() % 200_000) as i32 + 1)
        .collect();
    let hashes: Vec<u64> = probes
        .iter()
        .map(|&id| bloom_hash(&Scalar::I32(id)))
        .collect();
    let positives = hashes
        .iter()
        .filter(|&&hash| bloom::might_contain(words, hash))
        .count();
    eprintln!(
        "bloom: user_id filter of {} blocks, {positives} of {PROBES} probes positive",
        words.len() / 8
    );
    group.throughput(Throughput::Elements(PROBES as u64));
    group.bench_function("bloom: user_id hash + probe (probes)", |b| {
        b.iter(|| {
            black_box(&probes)
                .iter()
                .filter(|&&id| bloom::might_contain(words, bloom_hash(&Scalar::I32(id))))
                .count()
        })
    });
    group.bench_function("bloom: user_id probe, prehashed (probes)", |b| {
        b.iter(|| {
            black_box(&hashes)
                .iter()
                .filter(|&&hash| bloom::might_contain(words, hash))
                .count()
        })
    });

    // Sorted index of update_at: one-minute windows at deterministic times.
    let update_at = segment.column(column_index(segment, "update_at"));
    let times = update_at.dictionary.expect("update_at dictionary");
    let sorted = update_at.sorted.expect("update_at sorted index");
    let span_ms = (num_docs as i64 / TRADES_PER_SECOND) * 1000;
    let windows: Vec<(i64, i64)> = (0..LOOKUPS)
        .map(|_| {
            let low = START_MS + (rng.next() % span_ms as u64) as i64;
            (low, low + 60_000)
        })
        .collect();
    group.throughput(Throughput::Elements(LOOKUPS as u64));
    group.bench_function(
        "sorted: update_at BETWEEN t AND t + 1 min → doc range (lookups)",
        |b| {
            b.iter(|| {
                let mut docs = 0u64;
                for &(low, high) in black_box(&windows) {
                    if let Some((first, last)) =
                        id_range(&times, Scalar::I64(low), Scalar::I64(high))
                    {
                        docs += sorted.docs(first, last).len() as u64;
                    }
                }
                docs
            })
        },
    );
    group.finish();
}

fn decoding(c: &mut Criterion) {
    let (schema, table) = (schema(), table());
    let decoder = decoder(&schema, &table);
    let payloads = messages(7, MESSAGES);
    let bytes: usize = payloads.iter().map(String::len).sum();
    eprintln!(
        "decode: {MESSAGES} messages, {:.0} bytes each",
        bytes as f64 / MESSAGES as f64
    );

    let mut group = c.benchmark_group("decoding");
    configure(&mut group);
    group.throughput(Throughput::Elements(MESSAGES as u64));
    group.bench_function("JSON message → row, MessageDecoder (messages)", |b| {
        b.iter(|| {
            let mut cells = 0usize;
            for payload in &payloads {
                if let Decoded::Row(row) = decoder.decode(Some(payload.as_bytes()), None) {
                    cells += row.len();
                }
            }
            cells
        })
    });

    let segment = &fixture().segment;
    let num_docs = segment.num_docs() as u32;
    let batches = || {
        (0..num_docs)
            .step_by(BATCH)
            .map(move |start| Docs::Range(start, (start + BATCH as u32).min(num_docs)))
    };
    let column = |name: &str| SegmentSource::column(segment, name).expect("column");
    let user_id = column("user_id");
    let shares = column("shares");
    let purchase = column("purchase");
    let symbol = column("symbol");
    // Decode numeric dictionaries before timing (done once per segment).
    for source in [&user_id, &shares, &purchase] {
        black_box(source.values(Docs::Range(0, 1)));
    }
    group.throughput(Throughput::Elements(num_docs as u64));
    group.bench_function("forward: user_id dictionary ids, all docs (values)", |b| {
        let mut ids = Vec::with_capacity(BATCH);
        b.iter(|| {
            let mut sum = 0u64;
            for docs in batches() {
                user_id.ids(docs, &mut ids);
                sum += ids.iter().map(|&id| id as u64).sum::<u64>();
            }
            sum
        })
    });
    group.bench_function("forward: shares values, all docs (values)", |b| {
        b.iter(|| {
            for docs in batches() {
                black_box(shares.values(docs));
            }
        })
    });
    group.bench_function("forward: purchase as f64, all docs (values)", |b| {
        let mut values = Vec::with_capacity(BATCH);
        b.iter(|| {
            let mut sum = 0.0;
            for docs in batches() {
                purchase.f64_values(docs, &mut values);
                sum += values.iter().sum::<f64>();
            }
            sum
        })
    });
    group.bench_function("forward: symbol strings, all docs (values)", |b| {
        b.iter(|| {
            for docs in batches() {
                black_box(symbol.values(docs));
            }
        })
    });
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let docs: Vec<usize> = (0..RANDOM_READS)
        .map(|_| (rng.next() % num_docs as u64) as usize)
        .collect();
    let purchase_index = column_index(segment, "purchase");
    group.throughput(Throughput::Elements(RANDOM_READS as u64));
    group.bench_function(
        "ImmutableSegment::value: purchase of random docs (values)",
        |b| {
            b.iter(|| {
                for &doc in black_box(&docs) {
                    black_box(segment.value(purchase_index, doc));
                }
            })
        },
    );
    group.finish();
}

/// Parses and plans `sql` against the fixture's table.
fn plan(sql: &str, schema: &Schema) -> Plan {
    let mut options = QueryOptions::default();
    let Route::Single { query, .. } = sql::parse(sql, &mut options).expect("parse") else {
        panic!("{sql} is not single-stage");
    };
    let columns = TableColumns::of_schema(TABLE, schema);
    sql::plan(&query, &columns, options).expect("plan")
}

fn deadline() -> Deadline {
    Deadline::new(Instant::now() + Duration::from_secs(3600))
}

fn aggregation(c: &mut Criterion) {
    let fixture = fixture();
    let segment = &fixture.segment;
    let num_docs = segment.num_docs();
    let threads = env("THREADS", 1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool");
    // One hour of trades from the middle of the segment.
    let middle = START_MS + (num_docs as i64 / TRADES_PER_SECOND / 2) * 1000;
    let window = format!("update_at BETWEEN {middle} AND {}", middle + 3_600_000);
    let queries = [
        (
            "filtered: COUNT(*), SUM(purchase) WHERE user_id = 7",
            format!("SELECT COUNT(*), SUM(purchase) FROM {TABLE} WHERE user_id = 7"),
        ),
        (
            "filtered: COUNT(*), SUM(shares) WHERE purchase BETWEEN 1000 AND 2000",
            format!(
                "SELECT COUNT(*), SUM(shares) FROM {TABLE} WHERE purchase BETWEEN 1000 AND 2000"
            ),
        ),
        (
            "unfiltered: SUM(shares), MAX(purchase)",
            format!("SELECT SUM(shares), MAX(purchase) FROM {TABLE}"),
        ),
        (
            "group by: symbol, SUM(shares)",
            format!(
                "SELECT symbol, SUM(shares) FROM {TABLE} GROUP BY symbol ORDER BY SUM(shares) DESC LIMIT 10"
            ),
        ),
        (
            "group by: user_id, COUNT(*)",
            format!(
                "SELECT user_id, COUNT(*) FROM {TABLE} GROUP BY user_id ORDER BY COUNT(*) DESC LIMIT 10"
            ),
        ),
        (
            "group by: symbol, SUM(shares) WHERE user_id = 7",
            format!(
                "SELECT symbol, SUM(shares) FROM {TABLE} WHERE user_id = 7 GROUP BY symbol ORDER BY SUM(shares) DESC LIMIT 10"
            ),
        ),
        (
            "group by: symbol, COUNT(*) WHERE update_at in one hour",
            format!(
                "SELECT symbol, COUNT(*) FROM {TABLE} WHERE {window} GROUP BY symbol ORDER BY COUNT(*) DESC LIMIT 10"
            ),
        ),
    ];

    let mut group = c.benchmark_group("aggregation");
    configure(&mut group);
    group.throughput(Throughput::Elements(num_docs as u64));
    for (name, sql) in &queries {
        let plan = plan(sql, &fixture.schema);
        // Once, to show what the query matched and answered.
        let (partial, stats) = pool
            .install(|| execute(&plan, segment, &deadline()))
            .expect("execute");
        let merged = reduce::merge(&plan, vec![partial]).expect("merge");
        let rows = reduce::finish(&plan, merged).expect("finish");
        eprintln!(
            "{sql}\n  {} docs matched; first rows {:?}",
            stats.docs_scanned,
            &rows[..rows.len().min(2)]
        );
        group.bench_function(format!("{name} (segment docs)"), |b| {
            let deadline = deadline();
            b.iter(|| pool.install(|| execute(&plan, segment, &deadline).expect("execute")))
        });
    }
    group.finish();
}

/// An expression filter and an aggregate over an expression, which no
/// index serves, on the engine and as a hand-written loop over the same
/// columns already decoded into vectors: how far the engine's scan is from
/// the fastest plain Rust over the values.
fn expressions(c: &mut Criterion) {
    let fixture = fixture();
    let segment = &fixture.segment;
    let num_docs = segment.num_docs();
    let all = Docs::Range(0, num_docs as u32);
    let column = |name: &str| SegmentSource::column(segment, name).expect("column");
    let mut shares = Vec::new();
    column("shares").f64_values(all, &mut shares);
    let shares: Vec<i64> = shares.iter().map(|v| *v as i64).collect();
    let mut purchase = Vec::new();
    column("purchase").f64_values(all, &mut purchase);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("rayon pool");

    let mut group = c.benchmark_group("expressions");
    configure(&mut group);
    group.throughput(Throughput::Elements(num_docs as u64));
    let one = plan(
        &format!("SELECT COUNT(*), SUM(shares * 2 + 1) FROM {TABLE} WHERE shares * 3 > 300"),
        &fixture.schema,
    );
    let two = plan(
        &format!(
            "SELECT COUNT(*), SUM(purchase * (1 - shares / 1000)) FROM {TABLE} WHERE purchase > shares * 10"
        ),
        &fixture.schema,
    );
    for (name, plan) in [("shares", &one), ("purchase and shares", &two)] {
        let (partial, _) = pool
            .install(|| execute(plan, segment, &deadline()))
            .expect("execute");
        let rows = reduce::finish(plan, reduce::merge(plan, vec![partial]).expect("merge"))
            .expect("finish");
        eprintln!("expressions over {name}: {:?}", rows.first());
        group.bench_function(format!("engine: {name} (segment docs)"), |b| {
            let deadline = deadline();
            b.iter(|| pool.install(|| execute(plan, segment, &deadline).expect("execute")))
        });
    }
    group.bench_function("hand-written loop: shares (segment docs)", |b| {
        b.iter(|| {
            let (mut count, mut sum) = (0u64, 0i64);
            for x in black_box(&shares) {
                if x * 3 > 300 {
                    count += 1;
                    sum += x * 2 + 1;
                }
            }
            (count, sum)
        })
    });
    group.bench_function(
        "hand-written loop: purchase and shares (segment docs)",
        |b| {
            b.iter(|| {
                let (mut count, mut sum) = (0u64, 0.0f64);
                for (p, s) in black_box(&purchase).iter().zip(black_box(&shares)) {
                    if *p > (s * 10) as f64 {
                        count += 1;
                        sum += p * (1.0 - *s as f64 / 1000.0);
                    }
                }
                (count, sum)
            })
        },
    );
    group.finish();
}

criterion_group!(benches, indexes, decoding, aggregation, expressions);
criterion_main!(benches);
