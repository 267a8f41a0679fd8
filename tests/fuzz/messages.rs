//! Mutated Kafka messages through the path a consumer takes them: the
//! table's decoder (JSON straight into columns, JSON through transforms
//! and a filter, Debezium change events), the upsert or dedup key state,
//! the consuming segment, and from time to time a seal of that segment,
//! reopened and queried.
//!
//! The oracle: nothing panics or allocates absurdly; a message that cannot
//! become a row is reported with a reason and a message; a row the decoder
//! hands over is either appended or refused as a bad value, as the
//! consumer counts it. Payloads and keys are mutated as JSON (wrong types,
//! huge numbers, deep nesting, huge strings, nulls in primary keys) and as
//! bytes (invalid UTF-8, truncation).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gamay::catalog::{self, Decoder, Schema, TableConfig};
use gamay::ingest::decode::{Decoded, MessageDecoder};
use gamay::query::exec::{execute, Deadline};
use gamay::query::options::QueryOptions;
use gamay::query::sql::{self, Route, TableColumns};
use gamay::segment::{Cell, ImmutableSegment, MutableSegment, SealInfo, SegmentSpec};
use gamay::upsert::{Admit, Form, PartitionUpsert, State, UpsertSpec};
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

use super::alloc;
use super::budget::{Budget, Findings};
use super::bytes::mutate_bytes;
use super::mutate::Mutator;
use super::panics;

/// An allocation this large from a message of at most a few MiB is a
/// length trusted without a check.
const SOFT_ALLOC_BYTES: usize = 256 << 20;
/// Rows a consuming segment takes before it is sealed and queried.
const SEAL_EVERY: usize = 300;

pub fn schema() -> Value {
    json!({
        "schemaName": "msgs",
        "dimensionFieldSpecs": [
            {"name": "id", "dataType": "LONG"},
            {"name": "i", "dataType": "INT"},
            {"name": "b", "dataType": "BOOLEAN"},
            {"name": "s", "dataType": "STRING", "maxLength": 512},
            {"name": "j", "dataType": "JSON"},
            {"name": "by", "dataType": "BYTES"},
            {"name": "mv", "dataType": "STRING", "singleValueField": false},
            {"name": "mvi", "dataType": "INT", "singleValueField": false},
            {"name": "user.name", "dataType": "STRING"},
            {"name": "deleted", "dataType": "BOOLEAN"},
            {"name": "day", "dataType": "STRING"},
            {"name": "up", "dataType": "STRING"},
            {"name": "jv", "dataType": "STRING"}
        ],
        "metricFieldSpecs": [
            {"name": "f", "dataType": "FLOAT"},
            {"name": "d", "dataType": "DOUBLE", "defaultNullValue": -1},
            {"name": "big", "dataType": "BIG_DECIMAL"}
        ],
        "dateTimeFieldSpecs": [
            {"name": "ts", "dataType": "LONG", "format": "1:MILLISECONDS:EPOCH", "granularity": "1:MILLISECONDS"},
            {"name": "t", "dataType": "TIMESTAMP", "format": "TIMESTAMP", "granularity": "1:MILLISECONDS"},
            {"name": "hour", "dataType": "LONG", "format": "1:HOURS:EPOCH", "granularity": "1:HOURS"}
        ],
        "primaryKeyColumns": ["id"]
    })
}

/// The tables messages are decoded for, with how their stream is decoded.
fn tables() -> Vec<(&'static str, Value, Decoder)> {
    let base = |extra: Value| {
        let mut table = json!({
            "tableName": "msgs",
            "tableType": "REALTIME",
            "segmentsConfig": {"timeColumnName": "ts"},
            "tableIndexConfig": {"invertedIndexColumns": ["s"], "rangeIndexColumns": ["d"],
                                 "noDictionaryColumns": ["by", "f"]}
        });
        if let (Some(table), Some(extra)) = (table.as_object_mut(), extra.as_object()) {
            table.extend(extra.clone());
        }
        table
    };
    let transforms = json!({"ingestionConfig": {
        "transformConfigs": [
            {"columnName": "day", "transformFunction": "toDateTime(ts, 'yyyy-MM-dd')"},
            {"columnName": "hour", "transformFunction": "toEpochHours(ts)"},
            {"columnName": "jv", "transformFunction": "jsonPathString(j, '$.a.b', 'none')"},
            {"columnName": "up", "transformFunction": "UPPER(s)"}
        ],
        "filterConfig": {"filterFunction": "s = 'DROP'"}
    }});
    vec![
        ("plain", base(json!({})), Decoder::Json),
        ("transforms", base(transforms), Decoder::Json),
        (
            "upsert-debezium",
            base(
                json!({"upsertConfig": {"mode": "FULL", "comparisonColumn": "ts", "deleteRecordColumn": "deleted"}}),
            ),
            Decoder::Debezium,
        ),
        (
            "partial-upsert",
            base(
                json!({"upsertConfig": {"mode": "PARTIAL", "comparisonColumns": ["ts"],
                "partialUpsertStrategies": {"d": "INCREMENT", "mv": "UNION", "mvi": "APPEND", "i": "MAX", "s": "IGNORE"},
                "dropOutOfOrderRecord": true}}),
            ),
            Decoder::Json,
        ),
        (
            "dedup",
            base(json!({"dedupConfig": {"dedupEnabled": true}})),
            Decoder::Json,
        ),
    ]
}

/// A valid record; `id` repeats so upserts find earlier versions.
fn record(rng: &mut StdRng) -> Value {
    let side = ["BUY", "SELL", "DROP", "ção"][rng.random_range(0..4)];
    json!({
        "id": rng.random_range(0..40),
        "i": rng.random_range(-100..100),
        "b": rng.random_bool(0.5),
        "s": side,
        "j": {"a": {"b": rng.random_range(0..9)}, "list": [1, "x", null]},
        "by": "deadbeef",
        "mv": ["a", "b"],
        "mvi": [1, 2, 3],
        "user": {"name": "ann"},
        "deleted": false,
        "f": 1.5,
        "d": rng.random_range(0..1000) as f64 / 8.0,
        "big": "12345678901234567890.125",
        "ts": 1_780_000_000_000i64 + rng.random_range(0..1_000_000),
        "t": 1_777_630_000_000i64
    })
}

/// A message for `decoder`: payload and key.
fn message(decoder: Decoder, rng: &mut StdRng) -> (Option<Value>, Value) {
    let row = record(rng);
    let key = json!({"id": row["id"]});
    if decoder == Decoder::Json {
        return (Some(row), key);
    }
    let event = match rng.random_range(0..5) {
        0 => json!({"op": "c", "before": null, "after": row, "ts_ms": 1}),
        1 => json!({"op": "u", "before": row, "after": row}),
        2 => json!({"op": "d", "before": row, "after": null}),
        3 => json!({"schema": {"type": "struct"}, "payload": {"op": "r", "after": row}}),
        _ => return (None, key),
    };
    (Some(event), key)
}

/// One table's consuming segment and key state.
struct Target {
    name: &'static str,
    decoder: MessageDecoder,
    spec: Arc<SegmentSpec>,
    upsert: Option<UpsertSpec>,
    columns: TableColumns,
    segment: Arc<MutableSegment>,
    state: Option<(PartitionUpsert, u32)>,
    sealed: usize,
}

impl Target {
    fn new(name: &'static str, table: Value, format: Decoder) -> Target {
        let schema: Schema = catalog::parse_value(schema(), "schema").unwrap().value;
        let table: TableConfig = catalog::parse_value(table, "table").unwrap().value;
        let spec = Arc::new(SegmentSpec::new(&schema, &table));
        let decoder = MessageDecoder::new(
            &schema,
            &table,
            spec.clone(),
            format,
            gamay::query::transform::compile,
        )
        .unwrap();
        let upsert = UpsertSpec::of(&schema, &table, &spec).unwrap();
        let columns = TableColumns::of_schema("msgs", &schema);
        let mut target = Target {
            name,
            decoder,
            spec: spec.clone(),
            upsert,
            columns,
            segment: Arc::new(MutableSegment::new(spec)),
            state: None,
            sealed: 0,
        };
        target.fresh_segment();
        target
    }

    /// A new consuming segment, taken into a new key state.
    fn fresh_segment(&mut self) {
        self.segment = Arc::new(MutableSegment::new(self.spec.clone()));
        self.state = self.upsert.clone().map(|spec| {
            let state = PartitionUpsert::new(State::new(Arc::new(spec)).unwrap());
            let id = state.change(|state| {
                state.add(
                    "consuming".into(),
                    Form::Consuming(self.segment.clone()),
                    false,
                )
            });
            (state, id)
        });
    }

    /// Appends a decoded row as the consumer does; `Err` for an outcome
    /// the consumer would log as an error rather than count.
    fn append(&mut self, mut row: Vec<Cell>) -> Result<&'static str, String> {
        let segment = self.segment.clone();
        let appended = |row: &[Cell]| match segment.append(std::slice::from_ref(&row.to_vec())) {
            Ok(_) => Ok("appended"),
            Err(gamay::segment::Error::BadValue { .. }) => Ok("bad value"),
            Err(err) => Err(format!("a decoded row was not appended: {err}")),
        };
        let Some((state, id)) = &self.state else {
            return appended(&row);
        };
        state.change(|state| match state.admit(&mut row) {
            Admit::Append(key) => {
                let doc = segment.num_docs() as u32;
                let outcome = appended(&row)?;
                if outcome == "appended" {
                    state
                        .apply(*id, doc, key)
                        .map_err(|err| format!("primary key not recorded: {err}"))?;
                }
                Ok(outcome)
            }
            Admit::Duplicate | Admit::Late => Ok("dropped as a duplicate or late"),
            Admit::NoKey => Ok("no primary key"),
        })
    }

    /// Seals the consuming segment, reopens it and queries it.
    fn seal_and_query(&mut self, dir: &Path) -> Result<(), String> {
        let answered = self.seal_and_query_once(dir);
        self.fresh_segment();
        answered
    }

    fn seal_and_query_once(&mut self, dir: &Path) -> Result<(), String> {
        self.sealed += 1;
        let info = SealInfo {
            late_docs: Vec::new(),
            segment_name: format!("{}_{}", self.name, self.sealed),
            stream: None,
        };
        let (path, _) = self
            .segment
            .seal(dir, &info)
            .map_err(|err| format!("sealing failed: {err}"))?;
        let sealed = ImmutableSegment::open(&path)
            .map_err(|err| format!("a sealed segment is refused: {err}"))?;
        for sql in [
            "SELECT COUNT(*), SUM(d), MAX(f), MIN(t), DISTINCTCOUNTHLL(s), MAX(hour) FROM msgs",
            "SELECT * FROM msgs ORDER BY ts DESC LIMIT 50",
            "SELECT s, b, COUNT(*), MAX(mvi) FROM msgs WHERE mvi > 1 OR j IS NOT NULL OR mv = 'a' GROUP BY s, b LIMIT 10",
        ] {
            let mut options = QueryOptions::default();
            let Ok(Route::Single { query, .. }) = sql::parse(sql, &mut options) else {
                return Err(format!("{sql} does not parse"));
            };
            let plan = sql::plan(&query, &self.columns, options).map_err(|err| err.to_string())?;
            let deadline = Deadline::new(Instant::now() + Duration::from_secs(30));
            execute(&plan, &sealed, &deadline).map_err(|err| format!("{sql}: {err}"))?;
        }
        let _ = std::fs::remove_file(&path);
        Ok(())
    }
}

/// A payload (or none) and key, mutated.
fn mutated(
    decoder: Decoder,
    mutator: &Mutator,
    rng: &mut StdRng,
) -> (Option<Vec<u8>>, Option<Vec<u8>>, String) {
    let (payload, key) = message(decoder, rng);
    let key_bytes = Some(key.to_string().into_bytes());
    let Some(mut payload) = payload else {
        // A tombstone: its key is what matters.
        let mut key = key.to_string().into_bytes();
        let what = mutate_bytes(&mut key, rng);
        return (None, Some(key), format!("tombstone with key {what}"));
    };
    match rng.random_range(0..10) {
        0..=5 => {
            let mutant = mutator.mutate(&payload, rng);
            (Some(mutant.bytes), key_bytes, mutant.steps.join("; "))
        }
        6 | 7 => {
            let mut bytes = payload.to_string().into_bytes();
            let what = mutate_bytes(&mut bytes, rng);
            (Some(bytes), key_bytes, what)
        }
        // Nulls and junk in the primary key, wherever the record is.
        8 => {
            let junks = [json!(null), json!("x"), json!(1e300), json!([1]), json!({})];
            let junk = junks[rng.random_range(0..junks.len())].clone();
            for pointer in ["/id", "/after/id", "/before/id", "/payload/after/id"] {
                if let Some(slot) = payload.pointer_mut(pointer) {
                    *slot = junk.clone();
                }
            }
            (
                Some(payload.to_string().into_bytes()),
                key_bytes,
                format!("primary key {junk}"),
            )
        }
        // Valid payload, mutated key (Debezium deletes fall back to it).
        _ => {
            let mut key = key.to_string().into_bytes();
            let what = mutate_bytes(&mut key, rng);
            (
                Some(payload.to_string().into_bytes()),
                Some(key),
                format!("key {what}"),
            )
        }
    }
}

pub fn run_target(ci_cases: u64) {
    let dir = tempfile::tempdir().unwrap();
    let mut targets: Vec<(Target, Decoder)> = tables()
        .into_iter()
        .map(|(name, table, format)| (Target::new(name, table, format), format))
        .collect();
    let mut seed_rng = <StdRng as rand::SeedableRng>::seed_from_u64(7);
    let mut seeds = Vec::new();
    for decoder in [Decoder::Json, Decoder::Debezium] {
        for _ in 0..20 {
            if let (Some(payload), _) = message(decoder, &mut seed_rng) {
                seeds.push(payload);
            }
        }
    }
    // Unmutated messages decode into rows (or are filtered).
    for (target, format) in &targets {
        for _ in 0..20 {
            let (payload, key) = message(*format, &mut seed_rng);
            let payload = payload.map(|payload| payload.to_string().into_bytes());
            let key = key.to_string().into_bytes();
            match target.decoder.decode(payload.as_deref(), Some(&key)) {
                Decoded::Row(_) | Decoded::Filtered => {}
                Decoded::Bad(reason, message) => {
                    panic!(
                        "table {}: a seed message is {reason:?}: {message}",
                        target.name
                    )
                }
            }
        }
    }
    let mutator = Mutator::new(&seeds);
    let mut budget = Budget::from_env("messages", ci_cases);
    let mut findings = Findings::default();
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    while let Some((case, mut rng)) = budget.next_case() {
        let pick = rng.random_range(0..targets.len());
        let (target, format) = &mut targets[pick];
        let (payload, key, what) = mutated(*format, &mutator, &mut rng);
        let context = format!("table {}: {what}", target.name);
        let (outcome, largest) = alloc::watch(case, || {
            panics::catch_any(|| -> Result<String, String> {
                match target.decoder.decode(payload.as_deref(), key.as_deref()) {
                    Decoded::Row(row) => target.append(row).map(str::to_string),
                    Decoded::Filtered => Ok("filtered".into()),
                    Decoded::Bad(reason, message) if message.trim().is_empty() => {
                        Err(format!("bad message {reason:?} without a message"))
                    }
                    Decoded::Bad(reason, _) => Ok(format!("bad: {}", reason.name())),
                }
            })
        });
        match outcome {
            Ok(Ok(outcome)) => *outcomes.entry(outcome).or_default() += 1,
            Ok(Err(problem)) => findings.add(&budget, case, format!("{problem} ({context})")),
            Err(panic) => findings.add(&budget, case, format!("panic {panic} ({context})")),
        }
        if largest > SOFT_ALLOC_BYTES {
            findings.add(
                &budget,
                case,
                format!("a {largest}-byte allocation ({context})"),
            );
        }
        if target.segment.num_docs() >= SEAL_EVERY {
            let sealed = panics::catch_any(|| target.seal_and_query(dir.path()));
            match sealed {
                Ok(Ok(())) => {}
                Ok(Err(problem)) => {
                    findings.add(&budget, case, format!("table {}: {problem}", target.name))
                }
                Err(panic) => findings.add(
                    &budget,
                    case,
                    format!("table {}: seal or query panicked {panic}", target.name),
                ),
            }
        }
    }
    for (target, _) in &mut targets {
        if target.segment.num_docs() > 0 {
            if let Err(problem) = target.seal_and_query(dir.path()) {
                findings.add(
                    &budget,
                    u64::MAX,
                    format!("table {}: {problem}", target.name),
                );
            }
        }
    }
    let sealed: usize = targets.iter().map(|(target, _)| target.sealed).sum();
    eprintln!(
        "fuzz messages: {} mutated messages in {:.1} s, {sealed} segments sealed and queried, {} finding(s)\n  {outcomes:?}",
        outcomes.values().sum::<u64>() + findings.len() as u64,
        budget.elapsed().as_secs_f64(),
        findings.len()
    );
    findings.assert_none(&budget);
}
