//! Segment tests: random rows through the mutable segment, sealing and
//! reopening; indexes against brute force; corruption and truncation; the
//! checked-in format fixture; concurrent reading while appending.

use std::cmp::Ordering;
use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use roaring::RoaringBitmap;
use serde_json::{json, Value as Json};

use super::*;
use crate::catalog::{self, Schema, TableConfig};
use crate::index::bloom;
use crate::index::range::{coverage, Coverage};

fn spec_from(schema: Json, table: Json) -> SegmentSpec {
    let schema: catalog::Parsed<Schema> =
        catalog::parse(schema.to_string().as_bytes(), "schema").unwrap();
    let table: catalog::Parsed<TableConfig> =
        catalog::parse(table.to_string().as_bytes(), "table").unwrap();
    schema.value.validate().unwrap();
    SegmentSpec::new(&schema.value, &table.value)
}

/// Every physical type, single- and multi-value, raw and dictionary, each index.
fn wide_spec(sorted: bool) -> SegmentSpec {
    let schema = json!({
        "schemaName": "t",
        "dimensionFieldSpecs": [
            {"name": "row", "dataType": "LONG"},
            {"name": "i", "dataType": "INT"},
            {"name": "s", "dataType": "STRING"},
            {"name": "flag", "dataType": "BOOLEAN"},
            {"name": "tags", "dataType": "STRING", "singleValueField": false},
            {"name": "nums", "dataType": "INT", "singleValueField": false},
            {"name": "raw_s", "dataType": "STRING"},
            {"name": "b", "dataType": "BYTES"},
            {"name": "f", "dataType": "FLOAT"}
        ],
        "metricFieldSpecs": [
            {"name": "d", "dataType": "DOUBLE"},
            {"name": "l", "dataType": "LONG"}
        ],
        "dateTimeFieldSpecs": [
            {"name": "ts", "dataType": "LONG", "format": "1:MILLISECONDS:EPOCH", "granularity": "1:MILLISECONDS"}
        ]
    });
    let mut index = json!({
        "invertedIndexColumns": ["i", "s", "tags"],
        "rangeIndexColumns": ["ts", "d", "nums"],
        "bloomFilterColumns": ["s", "l"],
        "noDictionaryColumns": ["raw_s", "d"]
    });
    if sorted {
        index["sortedColumn"] = json!(["i"]);
    }
    spec_from(
        schema,
        json!({"tableName": "t", "tableType": "OFFLINE", "segmentsConfig": {"timeColumnName": "ts"}, "tableIndexConfig": index}),
    )
}

fn cell_strategy() -> impl Strategy<Value = Vec<Cell>> {
    let opt =
        |strategy: BoxedStrategy<Cell>| prop_oneof![1 => Just(Cell::Null), 8 => strategy].boxed();
    (
        opt((-20i32..20).prop_map(|v| Cell::One(Scalar::I32(v))).boxed()),
        opt("[a-e]{0,3}".prop_map(|v| Cell::One(Scalar::Str(v))).boxed()),
        opt(any::<bool>()
            .prop_map(|v| Cell::One(Scalar::I32(v as i32)))
            .boxed()),
        opt(
            proptest::collection::vec("[x-z]{1,2}".prop_map(Scalar::Str), 0..4)
                .prop_map(Cell::Many)
                .boxed(),
        ),
        opt(
            proptest::collection::vec((0i32..50).prop_map(Scalar::I32), 1..4)
                .prop_map(Cell::Many)
                .boxed(),
        ),
        opt("[a-z]{0,8}".prop_map(|v| Cell::One(Scalar::Str(v))).boxed()),
        opt(proptest::collection::vec(any::<u8>(), 0..4)
            .prop_map(|v| Cell::One(Scalar::Bytes(v)))
            .boxed()),
        opt((-1000i32..1000)
            .prop_map(|v| Cell::One(Scalar::F32(v as f32 / 8.0)))
            .boxed()),
        opt((-1e6f64..1e6)
            .prop_map(|v| Cell::One(Scalar::F64(v)))
            .boxed()),
        opt((-5i64..5)
            .prop_map(|v| Cell::One(Scalar::I64(v * 1_000_000_007)))
            .boxed()),
        opt((0i64..1_000)
            .prop_map(|v| Cell::One(Scalar::I64(1_700_000_000_000 + v)))
            .boxed()),
    )
        .prop_map(|(i, s, flag, tags, nums, raw_s, b, f, d, l, ts)| {
            vec![Cell::Null, i, s, flag, tags, nums, raw_s, b, f, d, l, ts]
        })
}

fn with_row_numbers(mut rows: Vec<Vec<Cell>>) -> Vec<Vec<Cell>> {
    for (index, row) in rows.iter_mut().enumerate() {
        row[0] = Cell::One(Scalar::I64(index as i64));
    }
    rows
}

/// What a reader must see for a cell: nulls become the default, an empty
/// multi-value list becomes the default alone, single values stay single.
fn expected(cell: &Cell, column: &ColumnSpec) -> Cell {
    match cell {
        Cell::Null => {
            if column.single_value {
                Cell::One(column.default_null.clone())
            } else {
                Cell::Many(vec![column.default_null.clone()])
            }
        }
        Cell::Many(values) if values.is_empty() => Cell::Many(vec![column.default_null.clone()]),
        other => other.clone(),
    }
}

fn is_null(cell: &Cell) -> bool {
    matches!(cell, Cell::Null) || matches!(cell, Cell::Many(values) if values.is_empty())
}

fn seal_into(segment: &MutableSegment, dir: &Path, name: &str) -> ImmutableSegment {
    let info = SealInfo {
        late_docs: Vec::new(),
        segment_name: name.into(),
        stream: None,
    };
    let (path, _) = segment.seal(dir, &info).unwrap();
    ImmutableSegment::open(&path).unwrap()
}

/// The original row of each sealed doc, found through the `row` column.
fn row_of(segment: &ImmutableSegment, doc: usize) -> usize {
    match segment.value(0, doc) {
        Cell::One(Scalar::I64(row)) => row as usize,
        other => panic!("row column holds {other:?}"),
    }
}

fn values_of(cell: &Cell) -> Vec<Scalar> {
    match cell {
        Cell::Null => Vec::new(),
        Cell::One(value) => vec![value.clone()],
        Cell::Many(values) => values.clone(),
    }
}

fn check_indexes(segment: &ImmutableSegment, rows: &[Vec<Cell>], spec: &SegmentSpec) {
    for (index, column) in spec.columns.iter().enumerate() {
        let view = segment.column(index);
        let docs_with = |value: &Scalar| -> RoaringBitmap {
            (0..segment.num_docs())
                .filter(|&doc| values_of(&segment.value(index, doc)).contains(value))
                .map(|doc| doc as u32)
                .collect()
        };
        // Nulls: the bitmap marks exactly the docs whose row had a null.
        let expected_nulls: RoaringBitmap = (0..segment.num_docs())
            .filter(|&doc| is_null(&rows[row_of(segment, doc)][index]))
            .map(|doc| doc as u32)
            .collect();
        assert_eq!(
            view.nulls.clone().unwrap_or_default(),
            expected_nulls,
            "nulls of {}",
            column.name
        );
        assert_eq!(view.meta.null_count, expected_nulls.len());

        if let Some(dictionary) = view.dictionary {
            for id in 0..dictionary.len() as u32 {
                let value = dictionary.get(id);
                assert_eq!(dictionary.index_of(&value), Ok(id));
                if id > 0 {
                    assert_eq!(
                        dictionary.get(id - 1).total_cmp(&value),
                        Ordering::Less,
                        "dictionary of {} is sorted",
                        column.name
                    );
                }
                if let Some(inverted) = view.inverted {
                    assert_eq!(
                        inverted.docs(id).unwrap(),
                        docs_with(&value),
                        "inverted {} = {value}",
                        column.name
                    );
                }
                if let Some(sorted) = view.sorted {
                    let docs: RoaringBitmap = sorted.docs(id, id).collect();
                    assert_eq!(docs, docs_with(&value), "sorted {} = {value}", column.name);
                }
            }
            if view.range.is_some() {
                let card = dictionary.len() as u32;
                let index_ = segment
                    .range_index(index, |json| json.as_u64().map(|v| v as u32))
                    .unwrap();
                for (low, high) in [
                    (0, card / 2),
                    (card / 3, card.saturating_sub(1)),
                    (card / 2, card / 2),
                ] {
                    let (full, partial) = index_
                        .lookup(|lo, hi| coverage(lo, hi, Some(&low), Some(&high), u32::cmp))
                        .unwrap();
                    let in_range = |doc: u32| {
                        values_of(&segment.value(index, doc as usize))
                            .iter()
                            .any(|v| {
                                let id = dictionary.index_of(v).unwrap();
                                (low..=high).contains(&id)
                            })
                    };
                    let mut answer = full.clone();
                    answer.extend(partial.iter().filter(|&doc| in_range(doc)));
                    let brute: RoaringBitmap = (0..segment.num_docs() as u32)
                        .filter(|&doc| in_range(doc))
                        .collect();
                    assert_eq!(answer, brute, "range on {}", column.name);
                    assert!(full.iter().all(in_range));
                }
            }
        } else if view.range.is_some() {
            let index_ = segment
                .range_index(index, |json| Scalar::from_json(column.data_type, json).ok())
                .unwrap();
            let values: Vec<Scalar> = (0..segment.num_docs())
                .map(|doc| values_of(&segment.value(index, doc))[0].clone())
                .collect();
            if let (Some(low), Some(high)) =
                (values.iter().min_by(|a, b| a.total_cmp(b)), values.first())
            {
                let (low, high) = if low.total_cmp(high) == Ordering::Greater {
                    (high, low)
                } else {
                    (low, high)
                };
                let (full, partial) = index_
                    .lookup(|lo, hi| coverage(lo, hi, Some(low), Some(high), Scalar::total_cmp))
                    .unwrap();
                let inside = |doc: u32| {
                    let v = &values[doc as usize];
                    v.total_cmp(low) != Ordering::Less && v.total_cmp(high) != Ordering::Greater
                };
                let mut answer = full;
                answer.extend(partial.iter().filter(|&doc| inside(doc)));
                let brute: RoaringBitmap = (0..values.len() as u32)
                    .filter(|&doc| inside(doc))
                    .collect();
                assert_eq!(answer, brute, "raw range on {}", column.name);
            }
        }
        if let Some(words) = view.bloom {
            for doc in 0..segment.num_docs() {
                for value in values_of(&segment.value(index, doc)) {
                    assert!(
                        bloom::might_contain(words, bloom_hash(&value)),
                        "bloom of {} misses {value}",
                        column.name
                    );
                }
            }
        }
    }
}

fn round_trip(rows: Vec<Vec<Cell>>, sorted: bool) {
    let rows = with_row_numbers(rows);
    let spec = Arc::new(wide_spec(sorted));
    let mutable = MutableSegment::new(spec.clone());
    assert_eq!(mutable.append(&rows).unwrap(), rows.len());
    assert_eq!(mutable.num_docs(), rows.len());
    for (doc, row) in rows.iter().enumerate() {
        for (index, column) in spec.columns.iter().enumerate() {
            assert_eq!(
                mutable.value(index, doc),
                expected(&row[index], column),
                "mutable doc {doc} column {}",
                column.name
            );
            assert_eq!(mutable.is_null(index, doc as u32), is_null(&row[index]));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let sealed = seal_into(&mutable, dir.path(), "seg_0");
    assert_eq!(sealed.num_docs(), rows.len());
    let mut seen = vec![false; rows.len()];
    for doc in 0..sealed.num_docs() {
        let row = row_of(&sealed, doc);
        seen[row] = true;
        for (index, column) in spec.columns.iter().enumerate() {
            assert_eq!(
                sealed.value(index, doc),
                expected(&rows[row][index], column),
                "sealed doc {doc} column {}",
                column.name
            );
        }
    }
    assert!(seen.iter().all(|&seen| seen));
    if sorted {
        let column = spec.sorted_column.unwrap();
        let meta = &sealed.meta().columns[column];
        assert!(meta.sorted);
        assert!(meta.indexes.contains(&"sorted".to_string()));
        // Few distinct values keep a dictionary and a sorted index; mostly
        // distinct integers are stored raw in value order.
        assert_eq!(
            sealed.column(column).sorted.is_some(),
            meta.encoding == Encoding::Dictionary
        );
    }
    check_indexes(&sealed, &rows, &spec);

    // The batch builder writes the same rows the same way.
    let mut builder = SegmentBuilder::new(spec.clone());
    builder.append(&rows).unwrap();
    let (path, _) = builder
        .build(
            dir.path(),
            &SealInfo {
                late_docs: Vec::new(),
                segment_name: "built".into(),
                stream: None,
            },
        )
        .unwrap();
    let built = ImmutableSegment::open(&path).unwrap();
    assert_eq!(built.num_docs(), rows.len());
    for doc in 0..built.num_docs() {
        let row = row_of(&built, doc);
        for (index, column) in spec.columns.iter().enumerate() {
            assert_eq!(
                built.value(index, doc),
                expected(&rows[row][index], column),
                "built doc {doc} column {}",
                column.name
            );
        }
    }
    check_indexes(&built, &rows, &spec);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn rows_round_trip_through_mutable_and_sealed(rows in proptest::collection::vec(cell_strategy(), 1..300)) {
        round_trip(rows, false);
    }

    #[test]
    fn rows_round_trip_with_a_sorted_column(rows in proptest::collection::vec(cell_strategy(), 1..300)) {
        round_trip(rows, true);
    }
}

pub(super) fn stock_spec() -> SegmentSpec {
    let schema: Json =
        serde_json::from_str(include_str!("../../schemas/stock_transactions.json")).unwrap();
    let mut table: Json = serde_json::from_str(include_str!(
        "../../tables/stock_transactions_realtime.json"
    ))
    .unwrap();
    table["tableIndexConfig"]["sortedColumn"] = json!(["update_at"]);
    table["tableIndexConfig"]["rangeIndexColumns"] = json!(["purchase"]);
    table["tableIndexConfig"]["bloomFilterColumns"] = json!(["symbol"]);
    spec_from(schema, table)
}

pub(super) fn stock_rows(count: i64) -> Vec<Vec<Cell>> {
    (0..count)
        .map(|i| {
            vec![
                Cell::One(Scalar::I32(i as i32)),
                Cell::One(Scalar::I32((i * 7 % 13) as i32)),
                if i % 10 == 3 {
                    Cell::Null
                } else {
                    Cell::One(Scalar::Str(format!("S{:04}", i % 5)))
                },
                Cell::One(Scalar::I32((i * 31 % 100) as i32)),
                Cell::One(Scalar::F64(i as f64 * 1.25)),
                Cell::One(Scalar::I64(1_782_592_000_000 + (count - i) * 60_000)),
            ]
        })
        .collect()
}

const FIXTURE: &str = "tests/fixtures/segment_v1.seg";

/// Rewrites the format fixture; run only when the format version changes
/// (GAMAY_WRITE_FIXTURE=1 cargo test write_fixture), and keep the old one.
#[test]
fn write_fixture() {
    if std::env::var_os("GAMAY_WRITE_FIXTURE").is_none() {
        return;
    }
    // v2 adds raw decimal floats: `purchase` has no dictionary here; v3
    // adds star-trees; v4 their sketch metrics; v5 compressed raw text.
    let schema: Json =
        serde_json::from_str(include_str!("../../schemas/stock_transactions.json")).unwrap();
    let mut table: Json = serde_json::from_str(include_str!(
        "../../tables/stock_transactions_realtime.json"
    ))
    .unwrap();
    table["tableIndexConfig"]["sortedColumn"] = json!(["update_at"]);
    table["tableIndexConfig"]["rangeIndexColumns"] = json!(["purchase"]);
    table["tableIndexConfig"]["noDictionaryColumns"] = json!(["purchase"]);
    table["tableIndexConfig"]["bloomFilterColumns"] = json!(["symbol"]);
    table["tableIndexConfig"]["starTreeIndexConfigs"] = json!([{
        "dimensionsSplitOrder": ["symbol", "user_id"],
        "functionColumnPairs": ["COUNT__*", "SUM__shares", "MAX__purchase",
            "DISTINCTCOUNTHLL__user_id", "PERCENTILEEST__shares"],
        "maxLeafRecords": 4
    }]);
    // v5: `note`, raw text compressed in chunks (the default codec).
    let mut schema = schema;
    schema["dimensionFieldSpecs"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "note", "dataType": "STRING"}));
    table["tableIndexConfig"]["noDictionaryColumns"] = json!(["purchase", "note"]);
    let spec = spec_from(schema, table);
    let at = spec.column_index("note").unwrap();
    let mutable = MutableSegment::new(Arc::new(spec));
    mutable.append(&noted(stock_rows(100), at)).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    let info = SealInfo {
        late_docs: Vec::new(),
        segment_name: format!("segment_v{}", super::format::FORMAT_VERSION),
        stream: Some(StreamRange {
            topic: "topico-processado".into(),
            partition: 0,
            start_offset: 1000,
            end_offset: 1100,
        }),
    };
    mutable.seal(&dir, &info).unwrap();
}

/// The fixture's `note` of row `i`: text of many lengths, some repeating.
fn note(i: usize) -> String {
    format!("order {i} {}", "noted ".repeat(i % 9))
}

/// Rows with the fixture's `note` inserted as column `at`.
fn noted(rows: Vec<Vec<Cell>>, at: usize) -> Vec<Vec<Cell>> {
    rows.into_iter()
        .enumerate()
        .map(|(i, mut row)| {
            row.insert(at, Cell::One(Scalar::Str(note(i))));
            row
        })
        .collect()
}

#[test]
fn format_version_5_fixture_reads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/segment_v5.seg");
    let segment = ImmutableSegment::open(&path).unwrap();
    assert_eq!(segment.meta().format_version, 5);
    let index = segment.column_index("note").unwrap();
    let meta = &segment.meta().columns[index];
    assert_eq!(meta.encoding, Encoding::Raw);
    assert_eq!(meta.compression.as_deref(), Some("LZ4"));
    for doc in 0..segment.num_docs() {
        // Sealing sorted the docs by update_at, which falls as `id` rises.
        let Cell::One(Scalar::I32(id)) = segment.value(segment.column_index("id").unwrap(), doc)
        else {
            panic!("no id in doc {doc}");
        };
        assert_eq!(
            segment.value(index, doc),
            Cell::One(Scalar::Str(note(id as usize)))
        );
    }
}

/// Raw text and bytes columns, with each codec Pinot names, read back every
/// value across many chunks, in order and out of order, and record their
/// codec in the footer.
#[test]
fn raw_text_and_bytes_read_back_with_every_codec() {
    let schema = json!({
        "schemaName": "c",
        "dimensionFieldSpecs": [
            {"name": "id", "dataType": "INT"},
            {"name": "text", "dataType": "STRING"},
            {"name": "blob", "dataType": "BYTES"}
        ]
    });
    let rows: Vec<Vec<Cell>> = (0..5000usize)
        .map(|i| {
            vec![
                Cell::One(Scalar::I32(i as i32)),
                if i % 11 == 0 {
                    Cell::Null
                } else {
                    Cell::One(Scalar::Str(format!("{i}: {}", "ab".repeat(i % 200))))
                },
                Cell::One(Scalar::Bytes(vec![(i % 251) as u8; i % 37])),
            ]
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    for codec in [
        None,
        Some("PASS_THROUGH"),
        Some("LZ4"),
        Some("ZSTANDARD"),
        Some("SNAPPY"),
        Some("GZIP"),
    ] {
        let mut fields = Vec::new();
        if let Some(codec) = codec {
            fields.push(json!({"name": "text", "encodingType": "RAW", "compressionCodec": codec}));
            // Pinot's newer place for the codec.
            fields.push(json!({"name": "blob", "encodingType": "RAW",
                "indexes": {"forward": {"compressionCodec": codec}}}));
        }
        let table = json!({"tableName": "c", "tableType": "OFFLINE",
            "tableIndexConfig": {"noDictionaryColumns": ["text", "blob"]},
            "fieldConfigList": fields});
        let mutable = MutableSegment::new(Arc::new(spec_from(schema.clone(), table)));
        mutable.append(&rows).unwrap();
        let name = format!("c_{}", codec.unwrap_or("default"));
        let segment = seal_into(&mutable, dir.path(), &name);
        let stored = match codec {
            None => Some("LZ4"),
            Some("PASS_THROUGH") => None,
            Some(other) => Some(other),
        };
        for column in ["text", "blob"] {
            let index = segment.column_index(column).unwrap();
            assert_eq!(segment.meta().columns[index].encoding, Encoding::Raw);
            assert_eq!(
                segment.meta().columns[index].compression.as_deref(),
                stored,
                "{name} {column}"
            );
            let view = segment.column(index);
            let spec = &mutable.spec().columns[index];
            let docs: Vec<usize> = (0..rows.len())
                .chain((0..rows.len()).rev().step_by(13))
                .collect();
            for doc in docs {
                assert_eq!(
                    (view.is_null(doc as u32), view.value(doc)),
                    (
                        is_null(&rows[doc][index]),
                        expected(&rows[doc][index], spec)
                    ),
                    "{name} {column} doc {doc}"
                );
            }
        }
    }
}

#[test]
fn format_version_4_fixture_reads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/segment_v4.seg");
    let segment = ImmutableSegment::open(&path).unwrap();
    assert_eq!(segment.meta().format_version, 4);
    // v4: the star-tree stores sketches of user_id and shares.
    let [tree] = segment.star_trees() else {
        panic!("one star-tree expected");
    };
    assert_eq!(
        tree.meta.function_column_pairs,
        [
            "COUNT__*",
            "SUM__shares",
            "MAX__purchase",
            "DISTINCTCOUNTHLL__user_id",
            "PERCENTILEEST__shares"
        ]
    );
    let query = crate::index::startree::query::TreeQuery {
        allowed: &[None, None],
        grouped: &[false, false],
    };
    let (mut hll, mut quantiles) = (
        crate::sketch::Hll::default(),
        crate::sketch::Quantiles::default(),
    );
    tree.tree.visit(&query, |record| {
        let r = record as usize;
        hll.merge_encoded(tree.tree.sketches[3].get(r)).unwrap();
        quantiles
            .merge_encoded(tree.tree.sketches[4].get(r))
            .unwrap();
    });
    let (mut want_hll, mut want_quantiles) = (
        crate::sketch::Hll::default(),
        crate::sketch::Quantiles::default(),
    );
    for row in stock_rows(100) {
        let (Cell::One(Scalar::I32(user)), Cell::One(Scalar::I32(shares))) = (&row[1], &row[3])
        else {
            panic!("unexpected row {row:?}");
        };
        want_hll.insert_hash(crate::sketch::hash_i64(i64::from(*user)));
        want_quantiles.insert(f64::from(*shares));
    }
    assert_eq!(hll, want_hll);
    assert_eq!(quantiles.count(), 100);
    for p in [0.0, 50.0, 99.0] {
        assert_eq!(quantiles.quantile(p), want_quantiles.quantile(p));
    }
}

#[test]
fn format_version_3_fixture_reads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/segment_v3.seg");
    let segment = ImmutableSegment::open(&path).unwrap();
    assert_eq!(segment.meta().format_version, 3);
    // v3: a star-tree over symbol and user_id.
    let [tree] = segment.star_trees() else {
        panic!("one star-tree expected");
    };
    assert_eq!(tree.meta.dimensions_split_order, ["symbol", "user_id"]);
    assert_eq!(
        tree.meta.function_column_pairs,
        ["COUNT__*", "SUM__shares", "MAX__purchase"]
    );
    let query = crate::index::startree::query::TreeQuery {
        allowed: &[None, None],
        grouped: &[false, false],
    };
    let (mut count, mut shares, mut max) = (0.0, 0.0, f64::NEG_INFINITY);
    tree.tree.visit(&query, |record| {
        let r = record as usize;
        count += tree.tree.metrics[0][r];
        shares += tree.tree.metrics[1][r];
        max = f64::max(max, tree.tree.metrics[2][r]);
    });
    let rows = stock_rows(100);
    let cell = |row: &Vec<Cell>, at: usize| match &row[at] {
        Cell::One(Scalar::I32(v)) => f64::from(*v),
        Cell::One(Scalar::F64(v)) => *v,
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(count, 100.0);
    assert_eq!(shares, rows.iter().map(|row| cell(row, 3)).sum::<f64>());
    assert_eq!(
        max,
        rows.iter().map(|row| cell(row, 4)).fold(f64::MIN, f64::max)
    );
}

#[test]
fn format_version_2_fixture_reads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/segment_v2.seg");
    let segment = ImmutableSegment::open(&path).unwrap();
    assert_eq!(segment.meta().format_version, 2);
    let purchase = segment.column_index("purchase").unwrap();
    let view = segment.column(purchase);
    // v2: a raw float column of decimals, packed as scaled integers.
    assert_eq!(view.meta.encoding, super::Encoding::Raw);
    assert_eq!(view.meta.decimal_scale, Some(2));
    assert!(matches!(
        view.forward,
        super::stored::Forward::RawPacked { .. }
    ));
    let rows = stock_rows(100);
    for doc in 0..100 {
        assert_eq!(segment.value(purchase, doc), rows[99 - doc][4]);
    }
}

#[test]
fn format_version_1_fixture_still_reads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let segment = ImmutableSegment::open(&path).unwrap();
    let meta = segment.meta();
    assert_eq!(meta.format_version, 1);
    assert_eq!(meta.num_docs, 100);
    assert_eq!(meta.table_name, "stock_transactions_REALTIME");
    assert_eq!(meta.stream.as_ref().unwrap().end_offset, 1100);
    assert_eq!(meta.time_column.as_deref(), Some("update_at"));
    assert_eq!(meta.min_time, Some(json!(1_782_592_000_000i64 + 60_000)));
    let rows = stock_rows(100);
    // Sorted by update_at, which decreases with i: doc d holds row 99 - d.
    for doc in 0..100 {
        let row = &rows[99 - doc];
        let id = segment.column_index("id").unwrap();
        assert_eq!(segment.value(id, doc), row[0]);
        let symbol = segment.column_index("symbol").unwrap();
        let expected_symbol = match &row[2] {
            Cell::Null => Cell::One(Scalar::Str("null".into())),
            other => other.clone(),
        };
        assert_eq!(segment.value(symbol, doc), expected_symbol);
        assert_eq!(
            segment.value(segment.column_index("purchase").unwrap(), doc),
            row[4]
        );
    }
    let id = segment.column(segment.column_index("id").unwrap());
    assert_eq!(
        id.inverted
            .unwrap()
            .docs(0)
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        vec![99]
    );
    let symbol = segment.column(segment.column_index("symbol").unwrap());
    assert_eq!(symbol.meta.null_count, 10);
    assert!(symbol.bloom.is_some());
    assert_eq!(
        segment
            .column(segment.column_index("update_at").unwrap())
            .meta
            .indexes,
        ["sorted"]
    );
}

#[test]
fn every_corrupted_byte_is_caught_or_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let mutable = MutableSegment::new(Arc::new(stock_spec()));
    mutable.append(&stock_rows(40)).unwrap();
    let original = seal_into(&mutable, dir.path(), "good");
    let bytes = std::fs::read(original.path()).unwrap();
    let snapshot = |segment: &ImmutableSegment| -> Vec<Cell> {
        (0..segment.num_docs())
            .flat_map(|doc| (0..6).map(move |column| (doc, column)))
            .map(|(doc, column)| segment.value(column, doc))
            .collect()
    };
    let expected = snapshot(&original);
    let path = dir.path().join("bad.seg");
    for at in 0..bytes.len() {
        let mut corrupted = bytes.clone();
        corrupted[at] ^= 0x5a;
        std::fs::write(&path, &corrupted).unwrap();
        match ImmutableSegment::open(&path) {
            Err(err) => {
                let message = err.to_string();
                assert!(message.contains("segment bad"), "{message}");
            }
            // Bytes no reader uses (header reserve, alignment padding).
            Ok(segment) => assert_eq!(
                snapshot(&segment),
                expected,
                "flip at {at} changed the data unnoticed"
            ),
        }
    }
}

#[test]
fn truncated_files_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let mutable = MutableSegment::new(Arc::new(stock_spec()));
    mutable.append(&stock_rows(40)).unwrap();
    let original = seal_into(&mutable, dir.path(), "good");
    let bytes = std::fs::read(original.path()).unwrap();
    let path = dir.path().join("cut.seg");
    for len in (0..bytes.len()).step_by(7) {
        std::fs::write(&path, &bytes[..len]).unwrap();
        let err = ImmutableSegment::open(&path).err().unwrap().to_string();
        assert!(err.contains("segment cut is corrupted"), "{err}");
    }
    std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    let err = ImmutableSegment::open(&path).err().unwrap().to_string();
    assert!(err.contains("block `trailer`"), "{err}");
}

#[test]
fn unknown_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mutable = MutableSegment::new(Arc::new(stock_spec()));
    mutable.append(&stock_rows(3)).unwrap();
    let original = seal_into(&mutable, dir.path(), "v");
    let mut bytes = std::fs::read(original.path()).unwrap();
    bytes[8] = 6;
    let path = dir.path().join("v6.seg");
    std::fs::write(&path, &bytes).unwrap();
    let err = ImmutableSegment::open(&path).err().unwrap().to_string();
    assert!(
        err.contains("format version 6; this Gamay reads versions 1 to 5"),
        "{err}"
    );
}

#[test]
fn bad_rows_are_refused_whole() {
    let mutable = MutableSegment::new(Arc::new(stock_spec()));
    let mut rows = stock_rows(3);
    rows[1][1] = Cell::One(Scalar::Str("not a number".into()));
    let err = mutable.append(&rows).unwrap_err().to_string();
    assert!(err.contains("row 1: column `user_id`"), "{err}");
    assert_eq!(mutable.num_docs(), 1);
    assert_eq!(mutable.value(0, 0), Cell::One(Scalar::I32(0)));
    let short = vec![vec![Cell::Null]];
    assert!(mutable
        .append(&short)
        .unwrap_err()
        .to_string()
        .contains("1 values for 6 columns"));
}

#[test]
fn readers_see_whole_rows_while_rows_are_appended() {
    let mutable = Arc::new(MutableSegment::new(Arc::new(stock_spec())));
    let rows = stock_rows(20_000);
    let reader = {
        let mutable = mutable.clone();
        std::thread::spawn(move || {
            let mut observed = 0;
            while observed < 20_000 {
                let visible = mutable.num_docs();
                // Every visible row is complete: its id matches its position
                // and its live inverted index postings are there.
                for doc in visible.saturating_sub(50)..visible {
                    assert_eq!(mutable.value(0, doc), Cell::One(Scalar::I32(doc as i32)));
                    let id = mutable.dict_id(0, &Scalar::I32(doc as i32)).unwrap();
                    assert!(mutable.inverted_docs(0, id).unwrap().contains(doc as u32));
                }
                observed = visible;
            }
        })
    };
    for chunk in rows.chunks(100) {
        mutable.append(chunk).unwrap();
    }
    reader.join().unwrap();
}

#[test]
fn auto_raw_for_high_cardinality_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec_from(
        json!({"schemaName": "m", "dimensionFieldSpecs": [{"name": "k", "dataType": "INT"}],
               "metricFieldSpecs": [{"name": "unique", "dataType": "DOUBLE"}, {"name": "few", "dataType": "DOUBLE"}]}),
        json!({"tableName": "m", "tableType": "OFFLINE"}),
    );
    let mutable = MutableSegment::new(Arc::new(spec));
    // Doubles with scattered bit patterns: neither decimals nor close
    // together, so their dictionary cannot beat eight bytes each.
    let scattered =
        |i: i32| f64::from_bits((i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 2);
    let rows: Vec<Vec<Cell>> = (0..1000)
        .map(|i| {
            vec![
                Cell::One(Scalar::I32(i % 3)),
                Cell::One(Scalar::F64(scattered(i))),
                Cell::One(Scalar::F64((i % 4) as f64)),
            ]
        })
        .collect();
    mutable.append(&rows).unwrap();
    let sealed = seal_into(&mutable, dir.path(), "m0");
    assert_eq!(sealed.meta().columns[1].encoding, Encoding::Raw);
    assert_eq!(sealed.meta().columns[2].encoding, Encoding::Dictionary);
    assert_eq!(sealed.meta().columns[1].cardinality, 1000);
    assert_eq!(sealed.value(1, 10), Cell::One(Scalar::F64(scattered(10))));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Two-decimal doubles pack as scaled integers; lookups of values the
    /// dictionary holds and of values it could not hold both land right.
    #[test]
    fn decimal_dictionaries_pack_and_search(cents in proptest::collection::vec(-100_000i64..100_000, 1..400), probes in proptest::collection::vec(-1200.0f64..1200.0, 1..50)) {
        let spec = spec_from(
            json!({"schemaName": "p", "dimensionFieldSpecs": [{"name": "price", "dataType": "DOUBLE"}, {"name": "ratio", "dataType": "FLOAT"}]}),
            json!({"tableName": "p", "tableType": "OFFLINE"}),
        );
        let rows: Vec<Vec<Cell>> = cents
            .iter()
            .map(|c| vec![Cell::One(Scalar::F64(*c as f64 / 100.0)), Cell::One(Scalar::F32((*c % 64) as f32 / 8.0))])
            .collect();
        let mut builder = SegmentBuilder::new(Arc::new(spec));
        builder.append(&rows).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = builder.build(dir.path(), &SealInfo { late_docs: Vec::new(), segment_name: "p".into(), stream: None }).unwrap();
        let segment = ImmutableSegment::open(&path).unwrap();
        prop_assert!(segment.meta().columns[0].decimal_scale.is_some_and(|scale| scale <= 2));
        prop_assert!(segment.meta().columns[1].decimal_scale.is_some_and(|scale| scale <= 3));
        for (doc, row) in rows.iter().enumerate() {
            prop_assert_eq!(&segment.value(0, doc), &row[0]);
            prop_assert_eq!(&segment.value(1, doc), &row[1]);
        }
        let dictionary = segment.column(0).dictionary.unwrap();
        let values: Vec<Scalar> = (0..dictionary.len() as u32).map(|id| dictionary.get(id)).collect();
        let held = cents.iter().map(|c| *c as f64 / 100.0);
        for probe in probes.iter().copied().chain(held).chain([f64::NAN, -0.0, 0.001, f64::INFINITY]) {
            let probe = Scalar::F64(probe);
            let below = values.iter().filter(|v| v.total_cmp(&probe) == Ordering::Less).count() as u32;
            let expected = if values.contains(&probe) { Ok(below) } else { Err(below) };
            prop_assert_eq!(dictionary.index_of(&probe), expected, "probe {}", probe);
        }
    }
}

#[test]
fn range_coverage() {
    assert_eq!(
        coverage(&5, &10, Some(&0), Some(&20), i32::cmp),
        Coverage::Full
    );
    assert_eq!(
        coverage(&5, &10, Some(&6), Some(&20), i32::cmp),
        Coverage::Partial
    );
    assert_eq!(coverage(&5, &10, Some(&11), None, i32::cmp), Coverage::None);
    assert_eq!(coverage(&5, &10, None, Some(&4), i32::cmp), Coverage::None);
    assert_eq!(coverage(&5, &10, None, None, i32::cmp), Coverage::Full);
}

#[test]
fn default_star_tree_follows_pinots_rule() {
    let schema: Json =
        serde_json::from_str(include_str!("../../schemas/stock_transactions.json")).unwrap();
    let mut table: Json = serde_json::from_str(include_str!(
        "../../tables/stock_transactions_realtime.json"
    ))
    .unwrap();
    table["tableIndexConfig"]["enableDefaultStarTree"] = json!(true);
    let mutable = MutableSegment::new(Arc::new(spec_from(schema, table)));
    mutable.append(&stock_rows(100)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let segment = seal_into(&mutable, dir.path(), "default_tree");
    let [tree] = segment.star_trees() else {
        panic!("one default star-tree expected");
    };
    let dims = &tree.meta.dimensions_split_order;
    // Dictionary dimensions, most distinct first, the time column last.
    assert!(
        dims.contains(&"user_id".to_string()) && dims.contains(&"symbol".to_string()),
        "{dims:?}"
    );
    assert_eq!(dims.last().map(String::as_str), Some("update_at"));
    let cards: Vec<u64> = dims[..dims.len() - 1]
        .iter()
        .map(|name| segment.meta().columns[segment.column_index(name).unwrap()].cardinality)
        .collect();
    assert!(
        cards.windows(2).all(|pair| pair[0] >= pair[1]),
        "{dims:?} {cards:?}"
    );
    assert_eq!(
        tree.meta.function_column_pairs,
        ["COUNT__*", "SUM__shares", "SUM__purchase"]
    );
    let dimensions = vec![None; dims.len()];
    let grouped = vec![false; dims.len()];
    let query = crate::index::startree::query::TreeQuery {
        allowed: &dimensions,
        grouped: &grouped,
    };
    let mut count = 0.0;
    tree.tree.visit(&query, |record| {
        count += tree.tree.metrics[0][record as usize]
    });
    assert_eq!(count, 100.0);
}

#[test]
fn consuming_star_trees_are_rebuilt_as_rows_arrive() {
    let schema: Json =
        serde_json::from_str(include_str!("../../schemas/stock_transactions.json")).unwrap();
    let mut table: Json = serde_json::from_str(include_str!(
        "../../tables/stock_transactions_realtime.json"
    ))
    .unwrap();
    let mutable = MutableSegment::new(Arc::new(spec_from(schema.clone(), table.clone())));
    mutable.append(&stock_rows(5000)).unwrap();
    assert!(!mutable.star_trees_due(), "no tree configured");

    table["tableIndexConfig"]["starTreeIndexConfigs"] = json!([{
        "dimensionsSplitOrder": ["symbol"],
        "functionColumnPairs": ["COUNT__*", "SUM__shares"]
    }]);
    let mutable = MutableSegment::new(Arc::new(spec_from(schema, table)));
    let rows = stock_rows(4100 + 4096);
    mutable.append(&rows[..4095]).unwrap();
    assert!(
        !mutable.star_trees_due(),
        "fewer rows than a first build needs"
    );
    mutable.append(&rows[4095..4096]).unwrap();
    assert!(mutable.star_trees_due());
    assert!(mutable.start_tree_build());
    assert!(!mutable.start_tree_build(), "one build at a time");
    mutable.build_star_trees().unwrap();
    let trees = mutable.star_trees().unwrap();
    assert_eq!((trees.docs, trees.trees.len()), (4096, 1));
    let count: f64 = trees.trees[0].tree.metrics[0].iter().sum::<f64>();
    assert!(count >= 4096.0, "the star records count every row again");
    assert!(!mutable.star_trees_due(), "nothing new");

    // A few new rows: due once the spacing after the last build passed,
    // half a second at least (asked as of given instants, not waited for).
    let half_second = std::time::Duration::from_millis(500);
    assert!(trees.spacing() >= half_second, "{:?}", trees.spacing());
    let spaced_until = trees.spaced_until();
    assert!(!mutable.star_trees_due_at(spaced_until), "nothing new");
    mutable.append(&rows[4096..4100]).unwrap();
    let just_before = spaced_until - std::time::Duration::from_millis(1);
    assert!(!mutable.star_trees_due_at(just_before), "due too soon");
    assert!(mutable.star_trees_due_at(spaced_until));

    // Half the covered rows and at least 4096 new: due at once.
    assert!(mutable.start_tree_build());
    mutable.build_star_trees().unwrap();
    let trees = mutable.star_trees().unwrap();
    assert_eq!(trees.docs, 4100);
    let at_once = trees.spaced_until() - half_second;
    mutable.append(&rows[4100..8195]).unwrap();
    assert!(!mutable.star_trees_due_at(at_once));
    mutable.append(&rows[8195..]).unwrap();
    assert!(mutable.star_trees_due_at(at_once));
}
