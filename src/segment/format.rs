//! The segment file format, version 1.
//!
//! One file per sealed segment, written once, then only memory-mapped and
//! read. All integers are little-endian.
//!
//! ```text
//! segment    := header block* footer trailer
//! header     := "GAMAYSEG" version:u32 reserved:u32                      16 bytes
//! block      := zero padding to a multiple of 8, then payload             (offsets in the footer)
//! footer     := UTF-8 JSON document: SegmentMeta (columns, stats, blocks)
//! trailer    := footer_offset:u64 footer_len:u64 footer_crc32c:u32
//!               version:u32 "GAMAYEND"                                    32 bytes
//!
//! payloads, per column (kind as named in the footer's block directory):
//! dict       := numbers: forpack of keys{cardinality}                      sorted ascending, distinct
//!             | text, bytes: offset:u32{cardinality+1} pad8 byte*          value i = bytes[offset[i]..offset[i+1]]
//! fwd        := dict SV: packed-ids{docs}
//!             | dict MV: start:u32{docs+1} pad8 packed-ids{values}
//!             | raw integers: forpack of keys{docs}
//!             | raw floats: value{docs}
//!             | raw text, bytes: offset:u32{docs+1} pad8 byte*
//!             | raw text, bytes with `compression`: chunks of values
//!               compressed with the codec (v5, see `codec/chunked.rs`)
//!               (absent for the sorted column when it keeps a sorted index)
//! nulls      := portable roaring bitmap of null doc ids
//! inverted   := offset:u32{cardinality+1} pad8 docset*                     one per dict id
//! sorted     := forpack of start{cardinality+1}                           docs of id i: start[i]..start[i+1]
//! range      := offset:u32{buckets+1} pad8 docset*                         bucket bounds in the footer
//! bloom      := block:[u32; 8]{n}                                         split-block bloom filter
//!
//! per star-tree (block column "0", "1", ... in `starTrees` order):
//! startree   := see `index/startree/codec.rs`
//!
//! packed-ids := u64 words of 256-value chunks, 8 interleaved lanes of
//!               `bits` bits per id (see `bitpack.rs`)
//! forpack    := frame-of-reference packed u64 keys in blocks of 64 (see
//!               `forpack.rs`); keys keep the order of the values, floats of
//!               a `decimalScale` column are `value x 10^scale` integers
//! docset     := portable roaring bitmap
//!             | 0xFF width:u8 count:u32 base:u32 offset-bits*             sorted docs base + offset
//! ```
//!
//! Every block carries a CRC32C in the directory and the footer carries its
//! own in the trailer; readers verify all of them when opening, and check
//! every offset and length against the file before using it. A reader refuses
//! versions it does not know. Changing a layout means a new version, a new
//! fixture under `tests/fixtures/`, and a reader for the old one.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::error::BlockError;
use super::types::Physical;
use crate::catalog::DataType;

pub const MAGIC_HEAD: &[u8; 8] = b"GAMAYSEG";
pub const MAGIC_TAIL: &[u8; 8] = b"GAMAYEND";
/// The version written. v2 adds raw float columns packed as scaled
/// integers (a raw column with `decimalScale`); v3 adds star-trees
/// (`startree` blocks, `starTrees` in the footer); v4 adds sketch metrics
/// to star-trees (`DISTINCTCOUNTHLL__c` and `PERCENTILEEST__c` pairs, each
/// record's sketch after the numeric metrics); v5 adds raw text and bytes
/// columns compressed in chunks (`compression` in the column's metadata).
/// Older files read unchanged.
pub const FORMAT_VERSION: u32 = 5;
/// The oldest version read.
pub const MIN_FORMAT_VERSION: u32 = 1;
pub const HEADER_LEN: usize = 16;
pub const TRAILER_LEN: usize = 32;
/// Blocks start at multiples of this, so `u64` arrays can be read in place.
pub const BLOCK_ALIGN: usize = 8;

/// What a block holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockKind {
    Dict,
    Fwd,
    Nulls,
    Inverted,
    Sorted,
    Range,
    Bloom,
    #[serde(rename = "startree")]
    StarTree,
}

impl BlockKind {
    pub fn name(self) -> &'static str {
        match self {
            BlockKind::Dict => "dict",
            BlockKind::Fwd => "fwd",
            BlockKind::Nulls => "nulls",
            BlockKind::Inverted => "inverted",
            BlockKind::Sorted => "sorted",
            BlockKind::Range => "range",
            BlockKind::Bloom => "bloom",
            BlockKind::StarTree => "startree",
        }
    }
}

/// An entry of the block directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockMeta {
    pub column: String,
    pub kind: BlockKind,
    pub offset: u64,
    pub length: u64,
    pub crc32c: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Encoding {
    Dictionary,
    Raw,
}

/// Per-column metadata and statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ColumnMeta {
    pub name: String,
    pub data_type: DataType,
    pub physical: Physical,
    pub single_value: bool,
    pub encoding: Encoding,
    /// Distinct values (dictionary size; for raw columns, an exact count).
    pub cardinality: u64,
    /// Bits per dictionary id in the forward index (0 for raw columns).
    pub bits_per_id: u32,
    /// Values in the column: docs for single-value, all entries for multi-value.
    pub total_values: u64,
    pub max_values_per_doc: u32,
    pub min: Option<Json>,
    pub max: Option<Json>,
    pub null_count: u64,
    /// Whether values never decrease in doc order (single-value only).
    pub sorted: bool,
    pub default_null_value: Json,
    /// Indexes built for the column, by block kind name.
    pub indexes: Vec<String>,
    /// Range index bucket bounds `[min, max]` (dict ids or raw values), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub range_buckets: Vec<(Json, Json)>,
    /// Floats packed as `value × 10^scale` integers (see `stored::KeyCodec`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimal_scale: Option<u8>,
    /// Bloom filter: number of 256-bit blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bloom_blocks: Option<u32>,
    /// For a raw text or bytes column: the codec its values are compressed
    /// with, in chunks (Pinot's `compressionCodec` name); none when stored
    /// as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
}

/// One star-tree of the segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StarTreeMeta {
    pub dimensions_split_order: Vec<String>,
    /// The stored metrics, `FUNCTION__column` (COUNT, SUM, MIN, MAX).
    pub function_column_pairs: Vec<String>,
    pub max_leaf_records: u64,
    pub records: u64,
    pub nodes: u64,
}

/// Where a real-time segment's rows came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamRange {
    pub topic: String,
    pub partition: i32,
    /// First offset in the segment.
    pub start_offset: i64,
    /// Offset after the last one in the segment (the next to consume).
    pub end_offset: i64,
}

/// The footer document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentMeta {
    pub format_version: u32,
    pub segment_name: String,
    pub table_name: String,
    pub num_docs: u64,
    pub created_millis: i64,
    pub time_column: Option<String>,
    /// Time column range, in the column's own values.
    pub min_time: Option<Json>,
    pub max_time: Option<Json>,
    pub stream: Option<StreamRange>,
    /// An upsert segment's docs that arrived older than their key's
    /// version held: never valid, and left out of exports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub late_docs: Vec<u32>,
    pub columns: Vec<ColumnMeta>,
    pub blocks: Vec<BlockMeta>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub star_trees: Vec<StarTreeMeta>,
}

/// Encodes the trailer.
pub fn trailer(footer_offset: u64, footer_len: u64, footer_crc: u32) -> [u8; TRAILER_LEN] {
    let mut out = [0u8; TRAILER_LEN];
    out[0..8].copy_from_slice(&footer_offset.to_le_bytes());
    out[8..16].copy_from_slice(&footer_len.to_le_bytes());
    out[16..20].copy_from_slice(&footer_crc.to_le_bytes());
    out[20..24].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    out[24..32].copy_from_slice(MAGIC_TAIL);
    out
}

/// Encodes the header.
pub fn header() -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out[0..8].copy_from_slice(MAGIC_HEAD);
    out[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    out
}

/// Decoded trailer fields.
pub struct Trailer {
    pub footer_offset: u64,
    pub footer_len: u64,
    pub footer_crc: u32,
    pub version: u32,
}

/// Decodes the trailer, checking its magic.
pub fn read_trailer(bytes: &[u8; TRAILER_LEN]) -> Result<Trailer, BlockError> {
    if &bytes[24..32] != MAGIC_TAIL {
        return Err(BlockError::Malformed(
            "the trailer magic is missing (the file is truncated or not a segment)".into(),
        ));
    }
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default());
    Ok(Trailer {
        footer_offset: u64_at(0),
        footer_len: u64_at(8),
        footer_crc: u32_at(16),
        version: u32_at(20),
    })
}

// Arrays are written and read in place as native integers: the format is
// little-endian, so big-endian hosts would need byte swapping first.
#[cfg(target_endian = "big")]
compile_error!("the segment format is read in place and needs a little-endian host");
