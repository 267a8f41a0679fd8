//! Damaged segment files whose checksums were recomputed afterwards, as a
//! buggy tool or a hostile upload would write them: the reader refuses
//! them when it opens them, naming the block, and never panics. Each test
//! keeps a finding of the fuzzing in `tests/fuzz/segments.rs`.

use std::ops::Range;
use std::sync::Arc;

use serde_json::{json, Value as Json};

use super::format::TRAILER_LEN;
use super::tests::{stock_rows, stock_spec};
use super::*;
use crate::catalog;

/// A sealed segment's bytes and footer, to damage and write back.
struct Sealed {
    dir: tempfile::TempDir,
    bytes: Vec<u8>,
    footer_offset: usize,
    footer: Json,
}

/// 300 stock rows (several 256-id chunks) and a dictionary-encoded sorted
/// column `k` of 100 values (a sorted index of two 64-key packed blocks).
fn sealed() -> Sealed {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = stock_spec();
    let schema: catalog::Schema = catalog::parse_value(
        json!({"schemaName": "k", "dimensionFieldSpecs": [{"name": "k", "dataType": "STRING"}]}),
        "schema",
    )
    .unwrap()
    .value;
    let table: catalog::TableConfig =
        catalog::parse_value(json!({"tableName": "k", "tableType": "OFFLINE"}), "table")
            .unwrap()
            .value;
    let k = SegmentSpec::new(&schema, &table).columns.remove(0);
    spec.columns.push(k);
    spec.sorted_column = Some(spec.columns.len() - 1);
    // `note`: raw text, compressed in chunks.
    let schema: catalog::Schema = catalog::parse_value(
        json!({"schemaName": "n", "dimensionFieldSpecs": [{"name": "note", "dataType": "STRING"}]}),
        "schema",
    )
    .unwrap()
    .value;
    let table: catalog::TableConfig = catalog::parse_value(
        json!({"tableName": "n", "tableType": "OFFLINE",
            "tableIndexConfig": {"noDictionaryColumns": ["note"]}}),
        "table",
    )
    .unwrap()
    .value;
    spec.columns
        .push(SegmentSpec::new(&schema, &table).columns.remove(0));
    let rows: Vec<Vec<Cell>> = stock_rows(300)
        .into_iter()
        .enumerate()
        .map(|(i, mut row)| {
            row.push(Cell::One(Scalar::Str(format!("k{:03}", i / 3))));
            row.push(Cell::One(Scalar::Str(format!(
                "note {i} {}",
                "x".repeat(i % 40)
            ))));
            row
        })
        .collect();
    let mutable = MutableSegment::new(Arc::new(spec));
    mutable.append(&rows).unwrap();
    let info = SealInfo {
        late_docs: Vec::new(),
        segment_name: "good".into(),
        stream: None,
    };
    let (path, _) = mutable.seal(dir.path(), &info).unwrap();
    let bytes = std::fs::read(path).unwrap();
    let trailer = &bytes[bytes.len() - TRAILER_LEN..];
    let footer_offset = u64::from_le_bytes(trailer[0..8].try_into().unwrap()) as usize;
    let footer = serde_json::from_slice(&bytes[footer_offset..bytes.len() - TRAILER_LEN]).unwrap();
    Sealed {
        dir,
        bytes,
        footer_offset,
        footer,
    }
}

impl Sealed {
    fn data(&self) -> Vec<u8> {
        self.bytes[..self.footer_offset].to_vec()
    }

    fn column(&self, name: &str) -> usize {
        let columns = self.footer["columns"].as_array().unwrap();
        columns.iter().position(|c| c["name"] == name).unwrap()
    }

    fn block(&self, column: &str, kind: &str) -> Range<usize> {
        let blocks = self.footer["blocks"].as_array().unwrap();
        let block = blocks
            .iter()
            .find(|b| b["column"] == column && b["kind"] == kind)
            .unwrap();
        let offset = block["offset"].as_u64().unwrap() as usize;
        offset..offset + block["length"].as_u64().unwrap() as usize
    }

    /// Writes `data` and `footer` with every checksum recomputed, and opens it.
    fn open(&self, data: &[u8], footer: &Json) -> Result<ImmutableSegment> {
        let mut footer = footer.clone();
        for block in footer["blocks"].as_array_mut().unwrap() {
            let offset = block["offset"].as_u64().unwrap() as usize;
            let length = block["length"].as_u64().unwrap() as usize;
            block["crc32c"] = json!(crc32c::crc32c(&data[offset..offset + length]));
        }
        let footer = serde_json::to_vec(&footer).unwrap();
        let mut bytes = data.to_vec();
        bytes.extend_from_slice(&footer);
        bytes.extend_from_slice(&format::trailer(
            data.len() as u64,
            footer.len() as u64,
            crc32c::crc32c(&footer),
        ));
        let path = self.dir.path().join("damaged.seg");
        std::fs::write(&path, bytes).unwrap();
        ImmutableSegment::open(&path)
    }
}

fn refused(opened: Result<ImmutableSegment>, block: &str, why: &str) {
    let message = opened.err().expect("the damaged file opened").to_string();
    assert!(
        message.contains("segment damaged is corrupted") && message.contains(block),
        "{message}"
    );
    assert!(message.contains(why), "{message}");
}

/// Forward ids past the dictionary opened and then panicked on lookup.
#[test]
fn dictionary_ids_past_the_dictionary_are_refused() {
    let sealed = sealed();
    let meta = &sealed.footer["columns"][sealed.column("symbol")];
    let (cardinality, bits) = (
        meta["cardinality"].as_u64().unwrap(),
        meta["bitsPerId"].as_u64().unwrap(),
    );
    assert!(
        cardinality < 1 << bits,
        "no id is out of range at {bits} bits"
    );
    let mut data = sealed.data();
    // Every id becomes 2^bits - 1.
    data[sealed.block("symbol", "fwd")].fill(0xFF);
    refused(
        sealed.open(&data, &sealed.footer),
        "symbol.fwd",
        "past the dictionary",
    );
}

/// Counts near `u64::MAX` overflowed the size arithmetic of the readers.
#[test]
fn huge_counts_in_the_footer_are_refused() {
    let sealed = sealed();
    let symbol = sealed.column("symbol");
    let sorted = sealed.column("k");
    for (pointer, value) in [
        (format!("/columns/{symbol}/cardinality"), json!(i64::MAX)),
        (format!("/columns/{symbol}/cardinality"), json!(u64::MAX)),
        (format!("/columns/{sorted}/cardinality"), json!(u64::MAX)),
        ("/numDocs".to_string(), json!(u64::MAX)),
        ("/numDocs".to_string(), json!(i64::MAX)),
    ] {
        let mut footer = sealed.footer.clone();
        *footer.pointer_mut(&pointer).unwrap() = value.clone();
        let opened = sealed.open(&sealed.data(), &footer);
        assert!(opened.is_err(), "{pointer} = {value} opened");
    }
}

/// The sorted index's last start is read when it is parsed, before the
/// full check: damaged block starts and widths read past the packed words.
#[test]
fn damaged_sorted_index_tables_are_refused() {
    let sealed = sealed();
    let range = sealed.block("k", "sorted");
    let block = &sealed.bytes[range.clone()];
    let blocks = u64::from_le_bytes(block[8..16].try_into().unwrap()) as usize;
    let starts_at = range.start + 16 + blocks * 8;
    let widths_at = (16 + blocks * 8 + (blocks + 1) * 4).next_multiple_of(8) + range.start;

    let mut data = sealed.data();
    for start in data[starts_at..starts_at + (blocks + 1) * 4].chunks_mut(4) {
        start.copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    }
    refused(sealed.open(&data, &sealed.footer), "k.sorted", "");

    let mut data = sealed.data();
    data[widths_at..widths_at + blocks].fill(0x7F);
    refused(sealed.open(&data, &sealed.footer), "k.sorted", "");
}

/// A compressed chunk that does not decompress, or a codec the footer names
/// wrongly, is refused when the segment opens, not when a query reads it.
#[test]
fn damaged_compressed_chunks_are_refused() {
    let sealed = sealed();
    let note = sealed.column("note");
    assert_eq!(sealed.footer["columns"][note]["compression"], "LZ4");
    let range = sealed.block("note", "fwd");
    let mut data = sealed.data();
    // The first chunk's compressed bytes, after its directory and length.
    let chunks = u32::from_le_bytes(data[range.start + 4..range.start + 8].try_into().unwrap());
    let first = range.start + 8 + chunks as usize * 8 + 4;
    data[first..first + 16].fill(0xEE);
    refused(sealed.open(&data, &sealed.footer), "note.fwd", "");

    for (codec, why) in [
        ("ZSTANDARD", "does not decompress"),
        ("BROTLI", "unknown compression"),
    ] {
        let mut footer = sealed.footer.clone();
        footer["columns"][note]["compression"] = json!(codec);
        refused(sealed.open(&sealed.data(), &footer), "note.fwd", why);
    }
}
