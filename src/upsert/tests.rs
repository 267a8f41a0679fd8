//! The upsert state against a brute-force model: random streams of
//! inserts, updates, late (out-of-order) updates and deletes over a few
//! keys, with segments rolling, committing later (as the sealer does) and
//! restarts from the snapshot or by replay.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::{
    any, prop, prop_assert_eq, prop_oneof, proptest, Just, ProptestConfig, TestCaseError,
};
use proptest::strategy::Strategy as _;
use serde_json::json;

use super::*;
use crate::catalog::{Schema, TableConfig};
use crate::segment::{Cell, MutableSegment, Scalar, SealInfo, SegmentSpec, StreamRange};

fn schema() -> Schema {
    serde_json::from_value(json!({
        "schemaName": "accounts",
        "dimensionFieldSpecs": [
            {"name": "id", "dataType": "LONG"},
            {"name": "deleted", "dataType": "BOOLEAN"},
            {"name": "tags", "dataType": "STRING", "singleValueField": false},
            {"name": "late", "dataType": "BOOLEAN"}
        ],
        "metricFieldSpecs": [{"name": "v", "dataType": "LONG"}],
        "dateTimeFieldSpecs": [{"name": "ts", "dataType": "LONG",
                                "format": "1:MILLISECONDS:EPOCH", "granularity": "1:MILLISECONDS"}],
        "primaryKeyColumns": ["id"]
    }))
    .unwrap()
}

fn table(upsert: serde_json::Value) -> TableConfig {
    serde_json::from_value(json!({
        "tableName": "accounts",
        "tableType": "REALTIME",
        "segmentsConfig": {"timeColumnName": "ts"},
        "tableIndexConfig": {"sortedColumn": ["id"]},
        "upsertConfig": upsert
    }))
    .unwrap()
}

/// One record of the stream.
#[derive(Debug, Clone)]
struct Record {
    id: i64,
    v: i64,
    ts: Option<i64>,
    deleted: bool,
}

#[derive(Debug, Clone)]
enum Step {
    Record(Record),
    /// The consuming segment is handed to the sealer.
    Roll,
    /// The oldest rolled segment is committed.
    Commit,
    /// Another server committed what this one rolled: this one drops
    /// what it has not committed, takes in the committed segments and
    /// consumes the rest again (a replica in a cluster).
    Adopt,
    /// The process restarts; `snapshot` false loses the snapshot file.
    Restart {
        snapshot: bool,
    },
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    prop_oneof![
        12 => (0i64..6, 0i64..1000, prop::option::weighted(0.9, 0i64..12), prop::bool::weighted(0.15))
            .prop_map(|(id, v, ts, deleted)| Step::Record(Record { id, v, ts, deleted })),
        2 => Just(Step::Roll),
        2 => Just(Step::Commit),
        1 => Just(Step::Adopt),
        1 => any::<bool>().prop_map(|snapshot| Step::Restart { snapshot }),
    ]
}

/// The latest version of each key as Pinot decides: a record replaces the
/// held one unless both have a timestamp and its own is smaller.
fn model(records: &[Record]) -> BTreeMap<i64, i64> {
    let mut held: BTreeMap<i64, (Option<i64>, i64, bool)> = BTreeMap::new();
    for record in records {
        let replaces = match held.get(&record.id) {
            Some((Some(old), _, _)) => record.ts.is_none_or(|ts| ts >= *old),
            _ => true,
        };
        if replaces {
            held.insert(record.id, (record.ts, record.v, record.deleted));
        }
    }
    held.into_iter()
        .filter(|(_, (_, _, deleted))| !deleted)
        .map(|(id, (_, v, _))| (id, v))
        .collect()
}

fn row(spec: &SegmentSpec, record: &Record) -> Vec<Cell> {
    spec.columns
        .iter()
        .map(|column| match column.name.as_str() {
            "id" => Cell::One(Scalar::I64(record.id)),
            "deleted" => Cell::One(Scalar::I32(record.deleted as i32)),
            "tags" => Cell::Many(vec![Scalar::Str(format!("t{}", record.v % 3))]),
            "v" => Cell::One(Scalar::I64(record.v)),
            "ts" => record
                .ts
                .map_or(Cell::Null, |ts| Cell::One(Scalar::I64(ts))),
            _ => Cell::Null,
        })
        .collect()
}

/// The process under test: the table's upsert state and its segments.
struct Harness {
    spec: Arc<SegmentSpec>,
    upsert_spec: UpsertSpec,
    dir: tempfile::TempDir,
    upsert: TableUpsert,
    sealed: Vec<Arc<ImmutableSegment>>,
    /// Rolled segments not committed yet, oldest first, with their records.
    rolled: Vec<(String, Arc<MutableSegment>, Vec<Record>)>,
    consuming: Option<(String, Arc<MutableSegment>, u32, Vec<Record>)>,
    sequence: u64,
    offset: i64,
}

impl Harness {
    fn new(upsert: serde_json::Value) -> Harness {
        let table = table(upsert);
        let spec = Arc::new(SegmentSpec::new(&schema(), &table));
        let upsert_spec = UpsertSpec::of(&schema(), &table, &spec).unwrap().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let upsert = TableUpsert::open(upsert_spec.clone(), dir.path(), &[]).unwrap();
        Harness {
            spec,
            upsert_spec,
            dir,
            upsert,
            sealed: Vec::new(),
            rolled: Vec::new(),
            consuming: None,
            sequence: 0,
            offset: 0,
        }
    }

    fn record(&mut self, record: Record) {
        if self.consuming.is_none() {
            let name = format!("accounts__0__{}", self.sequence);
            self.sequence += 1;
            let segment = Arc::new(MutableSegment::new(self.spec.clone()));
            let state = self.upsert.partition(0).unwrap();
            let id = state
                .change(|state| state.add(name.clone(), Form::Consuming(segment.clone()), false));
            self.consuming = Some((name, segment, id, Vec::new()));
        }
        let Some((_, segment, id, records)) = self.consuming.as_mut() else {
            return;
        };
        let state = self.upsert.partition(0).unwrap();
        let mut cells = row(&self.spec, &record);
        state.change(|state| {
            if let Admit::Append(key) = state.admit(&mut cells) {
                let doc = segment.num_docs() as u32;
                segment.append(std::slice::from_ref(&cells)).unwrap();
                state.apply(*id, doc, key).unwrap();
            }
        });
        records.push(record);
    }

    fn roll(&mut self) {
        if let Some((name, segment, _, records)) = self.consuming.take() {
            self.rolled.push((name, segment, records));
        }
    }

    fn commit(&mut self) {
        if self.rolled.is_empty() {
            return;
        }
        let (name, segment, records) = self.rolled.remove(0);
        let sealed = self.seal(&name, &segment, records.len());
        self.upsert.write_snapshot(0, &name).unwrap();
        self.sealed.push(sealed.clone());
        self.upsert.committed(0, &name, Some(sealed));
    }

    /// Seals the oldest rolled segment as `name`, from offset `self.offset` on.
    fn seal(&mut self, name: &str, segment: &MutableSegment, rows: usize) -> Arc<ImmutableSegment> {
        let info = SealInfo {
            late_docs: Vec::new(),
            segment_name: name.to_string(),
            stream: Some(StreamRange {
                topic: "accounts".into(),
                partition: 0,
                start_offset: self.offset,
                end_offset: self.offset + rows as i64,
            }),
        };
        self.offset += rows as i64;
        let (path, _) = segment.seal(self.dir.path(), &info).unwrap();
        Arc::new(ImmutableSegment::open(&path).unwrap())
    }

    /// The rolled segments are committed elsewhere, under other names (the
    /// same records in the same order): the state drops everything not
    /// committed and takes them in. Returns the records that were
    /// consuming, to consume again.
    fn adopt(&mut self) -> Vec<Record> {
        let mut committed = Vec::new();
        for (name, segment, records) in std::mem::take(&mut self.rolled) {
            let sealed = self.seal(&format!("{name}-elsewhere"), &segment, records.len());
            committed.push(sealed);
        }
        let again = self
            .consuming
            .take()
            .map(|(_, _, _, records)| records)
            .unwrap_or_default();
        self.upsert.adopt(0, &committed).unwrap();
        self.sealed.extend(committed);
        again
    }

    /// Everything not committed is lost and consumed again.
    fn restart(&mut self, snapshot: bool) -> Rebuilt {
        let mut again: Vec<Record> = Vec::new();
        for (_, _, records) in self.rolled.drain(..) {
            again.extend(records);
        }
        if let Some((_, _, _, records)) = self.consuming.take() {
            again.extend(records);
        }
        if !snapshot {
            let _ = std::fs::remove_file(snapshot::path(&self.dir.path().join("upsert"), 0));
        }
        self.upsert =
            TableUpsert::open(self.upsert_spec.clone(), self.dir.path(), &self.sealed).unwrap();
        let how = self
            .upsert
            .rebuilt()
            .get(&0)
            .copied()
            .unwrap_or(Rebuilt::Snapshot);
        for record in again {
            self.record(record);
        }
        how
    }

    /// A column of the valid docs, by id.
    fn column(&self, name: &str) -> BTreeMap<i64, Option<Cell>> {
        let at = self
            .spec
            .columns
            .iter()
            .position(|c| c.name == name)
            .unwrap();
        let id = self
            .spec
            .columns
            .iter()
            .position(|c| c.name == "id")
            .unwrap();
        let mut out = BTreeMap::new();
        for view in self.upsert.views() {
            for segment in &view.segments {
                for doc in segment
                    .valid
                    .iter()
                    .filter(|doc| (*doc as usize) < segment.docs)
                {
                    let Some(Cell::One(Scalar::I64(key))) = segment.form.cell(id, doc) else {
                        panic!("no id");
                    };
                    out.insert(key, segment.form.cell(at, doc));
                }
            }
        }
        out
    }

    /// Docs stored over all segments.
    fn stored(&self) -> usize {
        self.upsert
            .views()
            .iter()
            .flat_map(|view| view.segments.iter().map(|segment| segment.docs))
            .sum()
    }

    /// What a query sees: (id, v) of each valid doc, and how many docs
    /// every version has.
    fn visible(&self) -> (Vec<(i64, i64)>, usize) {
        let mut rows = Vec::new();
        let mut all = 0;
        for view in self.upsert.views() {
            for segment in &view.segments {
                all += segment.docs;
                for doc in segment.valid.iter() {
                    if doc as usize >= segment.docs {
                        continue;
                    }
                    let read = |column: &str| {
                        let at = self.spec.columns.iter().position(|c| c.name == column);
                        match segment.form.cell(at.unwrap(), doc) {
                            Some(Cell::One(Scalar::I64(v))) => v,
                            other => panic!("{column}: {other:?}"),
                        }
                    };
                    rows.push((read("id"), read("v")));
                }
            }
        }
        rows.sort();
        (rows, all)
    }
}

fn check(harness: &Harness, records: &[Record]) -> Result<(), TestCaseError> {
    let expected: Vec<(i64, i64)> = model(records).into_iter().collect();
    let (visible, _) = harness.visible();
    prop_assert_eq!(visible, expected);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn queries_see_the_latest_version_of_each_key(
        steps in prop::collection::vec(step(), 1..120)
    ) {
        let mut harness = Harness::new(json!({"mode": "FULL", "deleteRecordColumn": "deleted"}));
        let mut records = Vec::new();
        for step in steps {
            match step {
                Step::Record(record) => {
                    records.push(record.clone());
                    harness.record(record);
                }
                Step::Roll => harness.roll(),
                Step::Commit => harness.commit(),
                Step::Adopt => {
                    let again = harness.adopt();
                    // As of the commit, before anything is consumed again.
                    check(&harness, &records[..records.len() - again.len()])?;
                    for record in again {
                        harness.record(record);
                    }
                }
                Step::Restart { snapshot } => {
                    let had_segments = !harness.sealed.is_empty();
                    let how = harness.restart(snapshot);
                    if had_segments {
                        prop_assert_eq!(how, if snapshot { Rebuilt::Snapshot } else { Rebuilt::Replay });
                    }
                }
            }
            check(&harness, &records)?;
        }
        let (_, all) = harness.visible();
        prop_assert_eq!(all, records.len());
    }
}

#[test]
fn a_snapshot_of_a_commit_ignores_what_later_segments_replaced() {
    let mut harness = Harness::new(json!({"mode": "FULL"}));
    let record = |id, v, ts| Record {
        id,
        v,
        ts: Some(ts),
        deleted: false,
    };
    harness.record(record(1, 10, 1));
    harness.record(record(2, 20, 1));
    harness.roll();
    // Replaces key 1 before the first segment commits.
    harness.record(record(1, 11, 2));
    harness.commit();
    let saved = snapshot::read(&snapshot::path(&harness.dir.path().join("upsert"), 0))
        .unwrap()
        .unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].valid.iter().collect::<Vec<_>>(), vec![0, 1]);
    assert_eq!(harness.visible().0, vec![(1, 11), (2, 20)]);
    assert_eq!(harness.restart(true), Rebuilt::Snapshot);
    assert_eq!(harness.visible().0, vec![(1, 11), (2, 20)]);
}

#[test]
fn partial_upserts_merge_each_column_by_its_strategy() {
    let mut harness = Harness::new(json!({
        "mode": "PARTIAL",
        "defaultPartialUpsertStrategy": "OVERWRITE",
        "partialUpsertStrategies": {"v": "INCREMENT", "tags": "UNION"}
    }));
    for (v, ts) in [(5, 1), (7, 2), (100, 0), (1, 3)] {
        harness.record(Record {
            id: 1,
            v,
            ts: Some(ts),
            deleted: false,
        });
    }
    // The late record (ts 0) is kept out and not merged: 5 + 7 + 1.
    assert_eq!(harness.visible().0, vec![(1, 13)]);
    harness.roll();
    harness.commit();
    assert_eq!(harness.restart(true), Rebuilt::Snapshot);
    harness.record(Record {
        id: 1,
        v: 2,
        ts: Some(4),
        deleted: false,
    });
    assert_eq!(harness.visible().0, vec![(1, 15)]);
    let state = harness.upsert.partition(0).unwrap();
    let view = state.view();
    let segment = view.segments.last().unwrap();
    let doc = segment.valid.iter().next().unwrap();
    let tags = harness
        .spec
        .columns
        .iter()
        .position(|c| c.name == "tags")
        .unwrap();
    let expected: Vec<Scalar> = ["t2", "t1"]
        .iter()
        .map(|t| Scalar::Str(t.to_string()))
        .collect();
    assert_eq!(segment.form.cell(tags, doc), Some(Cell::Many(expected)));
}

#[test]
fn dedup_keeps_the_first_version_and_drops_the_rest() {
    let table: TableConfig = serde_json::from_value(json!({
        "tableName": "accounts",
        "tableType": "REALTIME",
        "segmentsConfig": {"timeColumnName": "ts"},
        "dedupConfig": {"dedupEnabled": true}
    }))
    .unwrap();
    let spec = Arc::new(SegmentSpec::new(&schema(), &table));
    let upsert_spec = UpsertSpec::of(&schema(), &table, &spec).unwrap().unwrap();
    assert_eq!(upsert_spec.mode, Mode::Dedup);
    let dir = tempfile::tempdir().unwrap();
    let upsert = TableUpsert::open(upsert_spec, dir.path(), &[]).unwrap();
    let state = upsert.partition(0).unwrap();
    let segment = Arc::new(MutableSegment::new(spec));
    let id = state.change(|state| state.add("s".into(), Form::Consuming(segment.clone()), false));
    let mut kept = Vec::new();
    for (key, v) in [(1, 1), (2, 2), (1, 3), (3, 4), (2, 5)] {
        let mut cells = row(
            &segment.spec().clone(),
            &Record {
                id: key,
                v,
                ts: Some(v),
                deleted: false,
            },
        );
        state.change(|state| {
            if let Admit::Append(key) = state.admit(&mut cells) {
                let doc = segment.num_docs() as u32;
                segment.append(std::slice::from_ref(&cells)).unwrap();
                state.apply(id, doc, key).unwrap();
                kept.push(v);
            }
        });
    }
    assert_eq!(kept, vec![1, 2, 4]);
    assert_eq!(segment.num_docs(), 3);
    assert_eq!(state.view().segments[0].valid.len(), 3);
}

#[test]
fn a_sorted_column_does_not_reorder_upsert_segments() {
    let table = table(json!({"mode": "FULL"}));
    assert_eq!(SegmentSpec::new(&schema(), &table).sorted_column, None);
}

fn at(id: i64, v: i64, ts: i64) -> Record {
    Record {
        id,
        v,
        ts: Some(ts),
        deleted: false,
    }
}

#[test]
fn late_records_are_flagged_or_dropped_as_configured() {
    let mut flagged = Harness::new(json!({"mode": "FULL", "outOfOrderRecordColumn": "late"}));
    for record in [at(1, 1, 10), at(1, 2, 5), at(2, 3, 1), at(1, 4, 10)] {
        flagged.record(record);
    }
    assert_eq!(flagged.visible().0, vec![(1, 4), (2, 3)]);
    assert_eq!(flagged.stored(), 4);
    let one = |v: i32| Some(Cell::One(Scalar::I32(v)));
    let late = flagged.column("late");
    assert_eq!(
        late.values().cloned().collect::<Vec<_>>(),
        vec![one(0), one(0)]
    );

    let mut dropped = Harness::new(json!({"mode": "FULL", "dropOutOfOrderRecord": true}));
    for record in [at(1, 1, 10), at(1, 2, 5), at(1, 4, 11)] {
        dropped.record(record);
    }
    assert_eq!(dropped.visible().0, vec![(1, 4)]);
    assert_eq!(dropped.stored(), 2);
}

#[test]
fn keys_past_the_ttls_leave_the_map() {
    let mut harness = Harness::new(json!({"mode": "FULL", "deleteRecordColumn": "deleted",
                                          "metadataTTL": 100, "deletedKeysTTL": 30}));
    harness.record(at(1, 1, 10));
    harness.record(Record {
        id: 2,
        v: 2,
        ts: Some(20),
        deleted: true,
    });
    harness.roll();
    harness.commit();
    harness.record(at(3, 3, 60));
    harness.roll();
    harness.commit();
    let keys = |harness: &Harness| {
        harness
            .upsert
            .partition(0)
            .unwrap()
            .read(|state| state.keys())
    };
    // Largest 60: the delete of key 2 (at 20) is past deletedKeysTTL.
    assert_eq!(keys(&harness), 2);
    harness.record(at(4, 4, 200));
    harness.roll();
    harness.commit();
    // Largest 200: the first segment (newest 20) and the second (60) are
    // past metadataTTL; their docs stay visible.
    assert_eq!(keys(&harness), 1);
    assert_eq!(harness.visible().0, vec![(1, 1), (3, 3), (4, 4)]);
    // A key that left the map is taken as new again.
    harness.record(at(2, 9, 210));
    assert_eq!(harness.visible().0, vec![(1, 1), (2, 9), (3, 3), (4, 4)]);
}

#[test]
fn a_name_dropped_empty_is_tracked_once_when_it_comes_back() {
    let mut harness = Harness::new(json!({"mode": "FULL"}));
    // A consuming segment rolled over before it took a doc: its name is
    // the next segment's.
    let state = harness.upsert.partition(0).unwrap();
    let empty = Arc::new(MutableSegment::new(harness.spec.clone()));
    state.change(|state| state.add("accounts__0__0".into(), Form::Consuming(empty), false));
    let records = vec![at(1, 10, 1), at(2, 20, 1), at(1, 11, 2)];
    for record in &records {
        harness.record(record.clone());
    }
    harness.roll();
    harness.commit();
    // Nothing uncommitted is left: the committed segment's docs stay.
    harness.upsert.adopt(0, &[]).unwrap();
    check(&harness, &records).unwrap();
}

#[test]
fn committed_segments_taken_in_out_of_order_are_replayed_in_order() {
    let mut harness = Harness::new(json!({"mode": "FULL"}));
    let first = vec![at(1, 10, 5), at(2, 20, 5)];
    let second = vec![at(1, 11, 5)];
    let third = vec![at(1, 12, 5), at(2, 21, 5)];
    for record in &first {
        harness.record(record.clone());
    }
    harness.roll();
    harness.commit();
    let mut sealed = Vec::new();
    for (name, batch) in [("s1", &second), ("s2", &third)] {
        let segment = Arc::new(MutableSegment::new(harness.spec.clone()));
        for record in batch {
            segment
                .append(std::slice::from_ref(&row(&harness.spec, record)))
                .unwrap();
        }
        sealed.push(harness.seal(name, &segment, batch.len()));
    }
    // A load cut short: the third segment is in, the second is not.
    let state = harness.upsert.partition(0).unwrap();
    state.change(|state| state.replay("s2".into(), sealed[1].clone()).unwrap());
    let mut committed = harness.sealed.clone();
    committed.extend(sealed.iter().cloned());
    harness.upsert.adopt(0, &committed).unwrap();
    let all: Vec<Record> = first.iter().chain(&second).chain(&third).cloned().collect();
    check(&harness, &all).unwrap();
}
