//! Writing segment files: encodes each column's data, in final doc order,
//! into the blocks of `format.rs`, with its statistics and indexes.
//!
//! Both ways to a sealed segment end here: sealing a [`super::MutableSegment`]
//! (`seal.rs`) and building from a batch of rows (`builder.rs`). Columns are
//! produced and written one at a time, so peak memory is one column's data
//! plus its largest block.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use roaring::RoaringBitmap;
use serde_json::Value as Json;

use super::error::{BlockError, Error, Result};
use super::format::{self, BlockKind, BlockMeta, ColumnMeta, Encoding, SegmentMeta, StreamRange};
use super::spec::{ColumnSpec, SegmentSpec};
use super::startree::TreeInputs;
use super::stored::{encode_mv, KeyCodec};
use super::types::Physical;
use super::values::{dispatch, Prim, Values};
use crate::catalog::FieldRole;
use crate::codec::bitpack::{self, PackWriter};
use crate::codec::chunked;
use crate::codec::forpack;
use crate::codec::var::encode_var;
use crate::durable;
use crate::index::{bloom, inverted, range, sorted};

/// What the file records beyond the rows.
#[derive(Debug, Clone)]
pub struct SealInfo {
    pub segment_name: String,
    pub stream: Option<StreamRange>,
    /// An upsert segment's docs that arrived older than their key's
    /// version (never valid), kept with it for exports.
    pub late_docs: Vec<u32>,
}

/// The bloom-filter hash of a value: XXH3 of its canonical bytes.
pub fn bloom_hash(value: &super::Scalar) -> u64 {
    let mut values = Values::new(value.physical());
    values.push(value);
    bloom::hash_bytes(values.canonical(0))
}

/// Dictionary ids of every doc, in final doc order.
pub(crate) enum DocIds {
    Single(Vec<u32>),
    /// Doc `d` holds `ids[starts[d]..starts[d+1]]`.
    Multi {
        starts: Vec<u32>,
        ids: Vec<u32>,
    },
}

/// One column, ready to write.
pub(crate) enum ColumnData {
    /// Sorted distinct values and the ids of each doc.
    Dict { dictionary: Values, ids: DocIds },
    /// One value per doc.
    Raw { values: Values },
}

/// Writes a segment file at `dir/<segment_name>.seg` through a temporary
/// file, fsynced and renamed. `column(i)` yields column `i`'s data and nulls.
pub(crate) fn write_segment(
    dir: &Path,
    spec: &SegmentSpec,
    num_docs: usize,
    created_millis: i64,
    info: &SealInfo,
    mut column: impl FnMut(usize) -> std::result::Result<(ColumnData, RoaringBitmap), BlockError>,
) -> Result<(PathBuf, SegmentMeta)> {
    let target = dir.join(format!("{}.seg", info.segment_name));
    let temp = durable::temp_path(&target);
    let written = (|| {
        let mut out = BlockWriter::create(&temp)?;
        let mut columns = Vec::with_capacity(spec.columns.len());
        let mut trees = TreeInputs::new(spec);
        for (index, column_spec) in spec.columns.iter().enumerate() {
            let fail = |reason: BlockError| Error::Column {
                segment: info.segment_name.clone(),
                column: column_spec.name.clone(),
                reason,
            };
            let (data, nulls) = column(index).map_err(fail)?;
            trees.capture(index, &data);
            let meta = write_column(
                column_spec,
                data,
                &nulls,
                spec.sorted_column == Some(index),
                &mut out,
            )
            .map_err(fail)?;
            trees.written(index, &meta);
            columns.push(meta);
        }
        let tree_fail = |reason: BlockError| Error::Column {
            segment: info.segment_name.clone(),
            column: "(star-tree)".into(),
            reason,
        };
        let mut star_trees = Vec::new();
        for (index, (meta, bytes)) in trees.build(spec, &columns).into_iter().enumerate() {
            out.block(&index.to_string(), BlockKind::StarTree, &bytes)
                .map_err(tree_fail)?;
            star_trees.push(meta);
        }
        drop(trees);
        let time = spec.time_column.map(|index| &columns[index]);
        let meta = SegmentMeta {
            format_version: format::FORMAT_VERSION,
            segment_name: info.segment_name.clone(),
            table_name: spec.table_name.clone(),
            num_docs: num_docs as u64,
            created_millis,
            time_column: time.map(|column| column.name.clone()),
            min_time: time.and_then(|column| column.min.clone()),
            max_time: time.and_then(|column| column.max.clone()),
            stream: info.stream.clone(),
            late_docs: info.late_docs.clone(),
            columns,
            blocks: Vec::new(),
            star_trees,
        };
        out.finish(meta)
    })();
    match written {
        Ok(meta) => {
            durable::publish(&temp, &target).map_err(|err| Error::io(&target, err))?;
            Ok((target, meta))
        }
        Err(err) => {
            let _ = std::fs::remove_file(&temp);
            Err(err)
        }
    }
}

fn write_column(
    spec: &ColumnSpec,
    data: ColumnData,
    nulls: &RoaringBitmap,
    is_sorted_column: bool,
    out: &mut BlockWriter,
) -> std::result::Result<ColumnMeta, BlockError> {
    let mut meta = match data {
        ColumnData::Dict { dictionary, ids } => {
            let scale = decimal_scale(&dictionary);
            let raw = match &ids {
                DocIds::Single(ids) if is_sorted_column => {
                    !spec.star_tree_dimension && near_unique_integers(spec, &dictionary, ids.len())
                }
                DocIds::Single(ids) => prefers_raw(spec, &dictionary, scale, ids),
                DocIds::Multi { .. } => false,
            };
            match ids {
                DocIds::Single(ids) if raw => {
                    let values = dictionary.gather(&ids);
                    drop(ids);
                    let mut meta = write_raw(spec, &values, scale, out)?;
                    if is_sorted_column && meta.sorted {
                        // Docs are in value order: predicates binary-search
                        // the packed values in place.
                        meta.indexes.push("sorted".into());
                    }
                    meta
                }
                ids => write_dict(spec, &dictionary, scale, &ids, is_sorted_column, out)?,
            }
        }
        ColumnData::Raw { values } => {
            let scale = match spec.physical {
                Physical::F32 | Physical::F64 => decimal_scale(&values),
                _ => None,
            };
            write_raw(spec, &values, scale, out)?
        }
    };
    meta.null_count = nulls.len();
    if !nulls.is_empty() {
        let mut bytes = Vec::new();
        let _ = nulls.serialize_into(&mut bytes);
        out.block(&spec.name, BlockKind::Nulls, &bytes)?;
    }
    Ok(meta)
}

/// Whether a column without indexes is smaller stored raw than
/// dictionary-encoded: high-cardinality metrics (amounts) and integer ids
/// usually are. Floats are stored raw only when they are metrics, integers
/// whatever their role (raw integers are frame-of-reference packed).
fn prefers_raw(spec: &ColumnSpec, dictionary: &Values, scale: Option<u8>, ids: &[u32]) -> bool {
    let Some(width) = spec.physical.width() else {
        return false;
    };
    if !spec.single_value
        || spec.inverted
        || spec.range
        || spec.bloom.is_some()
        || spec.star_tree_dimension
    {
        return false;
    }
    let integer = matches!(spec.physical, Physical::I32 | Physical::I64);
    if !integer && spec.role != FieldRole::Metric {
        return false;
    }
    let bits = bitpack::bits_for_cardinality(dictionary.len());
    let encoded = forpack::encoded_len(&fixed_keys(dictionary, scale))
        + bitpack::words_for(ids.len(), bits) * 8;
    let raw = if integer || scale.is_some() {
        // Integers, and decimals as scaled integers, are packed.
        let keys: Vec<u64> = ids
            .iter()
            .map(|&id| value_key(dictionary, id as usize, scale))
            .collect();
        forpack::encoded_len(&keys)
    } else {
        ids.len() * width
    };
    // Scans look values up in the dictionary at random; one larger than the
    // caches costs a miss per value, so large dictionaries give way to
    // raw values up to a quarter bigger.
    let large_dictionary = dictionary.len() > LARGE_DICTIONARY;
    if large_dictionary {
        raw * 4 <= encoded * 5
    } else {
        raw <= encoded
    }
}

/// Distinct values beyond which a dictionary (8 bytes a value decoded) no
/// longer fits in a core's cache.
const LARGE_DICTIONARY: usize = 1 << 16;

/// Whether the sorted column is better stored raw: integers that are mostly
/// distinct (timestamps, ids) pack as well raw as their dictionary would,
/// and docs in value order need no sorted index to be searched.
fn near_unique_integers(spec: &ColumnSpec, dictionary: &Values, num_docs: usize) -> bool {
    matches!(spec.physical, Physical::I32 | Physical::I64) && dictionary.len() * 2 > num_docs
}

/// Most decimal digits tried when packing floats as scaled integers.
const MAX_DECIMAL_SCALE: u8 = 6;

/// The smallest scale at which every float of `values` is exactly
/// `integer / 10^scale` (two for prices in cents), if there is one.
fn decimal_scale(values: &Values) -> Option<u8> {
    let physical = match values {
        Values::F32(_) => Physical::F32,
        Values::F64(_) => Physical::F64,
        _ => return None,
    };
    (0..=MAX_DECIMAL_SCALE).find(|&scale| {
        let codec = KeyCodec {
            physical,
            decimal_scale: Some(scale),
        };
        (0..values.len()).all(|index| codec.key(&values.scalar(index)).is_some())
    })
}

/// The packed key of fixed-width value `index`.
fn value_key(values: &Values, index: usize, scale: Option<u8>) -> u64 {
    if let (Some(scale), Values::F32(_) | Values::F64(_)) = (scale, values) {
        let value = values.scalar(index);
        let codec = KeyCodec {
            physical: value.physical(),
            decimal_scale: Some(scale),
        };
        // `decimal_scale` checked that every value has a key at this scale.
        return codec.key(&value).unwrap_or(0);
    }
    match values {
        Values::I32(v) => forpack::key_i64(v[index] as i64),
        Values::I64(v) => forpack::key_i64(v[index]),
        Values::F32(v) => forpack::key_f64(v[index] as f64),
        Values::F64(v) => forpack::key_f64(v[index]),
        Values::Var(_) => 0,
    }
}

fn fixed_keys(values: &Values, scale: Option<u8>) -> Vec<u64> {
    (0..values.len())
        .map(|index| value_key(values, index, scale))
        .collect()
}

fn base_meta(spec: &ColumnSpec, encoding: Encoding) -> ColumnMeta {
    ColumnMeta {
        name: spec.name.clone(),
        data_type: spec.data_type,
        physical: spec.physical,
        single_value: spec.single_value,
        encoding,
        cardinality: 0,
        bits_per_id: 0,
        total_values: 0,
        max_values_per_doc: 1,
        min: None,
        max: None,
        null_count: 0,
        sorted: false,
        default_null_value: spec.default_null.to_json(spec.data_type),
        indexes: Vec::new(),
        range_buckets: Vec::new(),
        decimal_scale: None,
        bloom_blocks: None,
        compression: None,
    }
}

/// The bytes of a dictionary or raw integer block: packed keys; of raw
/// floats: the array as it is; of text and bytes: `offset:u32{n+1} pad8 bytes`.
fn encode_values(
    values: &Values,
    as_keys: bool,
    scale: Option<u8>,
) -> std::result::Result<Vec<u8>, BlockError> {
    if as_keys && !matches!(values, Values::Var(_)) {
        return Ok(forpack::encode(&fixed_keys(values, scale)));
    }
    dispatch!(values, v => Ok(bytemuck::cast_slice(v).to_vec()),
        var => Ok(encode_var(var.offsets.iter().copied(), &var.bytes)?))
}

fn write_dict(
    spec: &ColumnSpec,
    dictionary: &Values,
    scale: Option<u8>,
    ids: &DocIds,
    is_sorted_column: bool,
    out: &mut BlockWriter,
) -> std::result::Result<ColumnMeta, BlockError> {
    let mut meta = base_meta(spec, Encoding::Dictionary);
    let cardinality = dictionary.len();
    let bits = bitpack::bits_for_cardinality(cardinality);
    meta.cardinality = cardinality as u64;
    meta.bits_per_id = bits;
    meta.decimal_scale = scale;
    if cardinality > 0 {
        meta.min = Some(dictionary.scalar(0).to_json(spec.data_type));
        meta.max = Some(dictionary.scalar(cardinality - 1).to_json(spec.data_type));
    }
    out.block(
        &spec.name,
        BlockKind::Dict,
        &encode_values(dictionary, true, meta.decimal_scale)?,
    )?;

    let (flat, starts) = match ids {
        DocIds::Single(ids) => (ids.as_slice(), None),
        DocIds::Multi { starts, ids } => (ids.as_slice(), Some(starts.as_slice())),
    };
    let mut words = vec![0u64; bitpack::words_for(flat.len(), bits)];
    let mut writer = PackWriter::new(bits);
    for &id in flat {
        writer.push(id, &mut words);
    }
    meta.total_values = flat.len() as u64;
    match starts {
        None => {
            meta.sorted = flat.windows(2).all(|pair| pair[0] <= pair[1]);
            // The sorted column keeps only its sorted index: doc ranges per
            // id answer both "which docs hold id" and "which id has doc".
            let sorted_starts = if is_sorted_column && meta.sorted {
                sorted::build(flat.iter().copied(), cardinality, flat.len())
            } else {
                None
            };
            match sorted_starts {
                Some(sorted_starts) => {
                    out.block(
                        &spec.name,
                        BlockKind::Sorted,
                        &sorted::encode(&sorted_starts),
                    )?;
                    meta.indexes.push("sorted".into());
                }
                None => out.block(&spec.name, BlockKind::Fwd, bytemuck::cast_slice(&words))?,
            }
        }
        Some(starts) => {
            meta.max_values_per_doc = starts
                .windows(2)
                .map(|pair| pair[1] - pair[0])
                .max()
                .unwrap_or(0);
            out.block(&spec.name, BlockKind::Fwd, &encode_mv(starts, &words))?;
        }
    }
    drop(words);

    // (doc, id) pairs in doc order.
    let entries = || -> Box<dyn Iterator<Item = (u32, u32)> + '_> {
        match starts {
            None => Box::new(flat.iter().enumerate().map(|(doc, &id)| (doc as u32, id))),
            Some(starts) => Box::new(starts.windows(2).enumerate().flat_map(move |(doc, pair)| {
                flat[pair[0] as usize..pair[1] as usize]
                    .iter()
                    .map(move |&id| (doc as u32, id))
            })),
        }
    };
    if spec.inverted {
        out.block(
            &spec.name,
            BlockKind::Inverted,
            &inverted::build(entries, cardinality)?,
        )?;
        meta.indexes.push("inverted".into());
    }
    if spec.range {
        let built = range::build_dict(entries_vec(&entries), cardinality);
        out.block(&spec.name, BlockKind::Range, &built.encode()?)?;
        meta.range_buckets = built
            .bounds
            .iter()
            .map(|(lo, hi)| (Json::from(*lo), Json::from(*hi)))
            .collect();
        meta.indexes.push("range".into());
    }
    if let Some(fpp) = spec.bloom {
        write_bloom(spec, dictionary, fpp, &mut meta, out)?;
    }
    Ok(meta)
}

fn entries_vec<'a>(
    entries: &impl Fn() -> Box<dyn Iterator<Item = (u32, u32)> + 'a>,
) -> Vec<(u32, u32)> {
    entries().collect()
}

/// A range index block and its bucket bounds for the footer.
type RangeBlock = (Vec<u8>, Vec<(Json, Json)>);

fn raw_range<T: Prim>(
    values: &[T],
    spec: &ColumnSpec,
) -> std::result::Result<RangeBlock, BlockError> {
    let built = range::build_values(values, T::cmp_total);
    let bounds = built
        .bounds
        .iter()
        .map(|(lo, hi)| {
            (
                lo.to_scalar().to_json(spec.data_type),
                hi.to_scalar().to_json(spec.data_type),
            )
        })
        .collect();
    Ok((built.encode()?, bounds))
}

/// Writes a column without a dictionary: integers frame-of-reference packed,
/// floats that are all decimals (`scale`) packed as scaled integers, text
/// and bytes compressed in chunks with the column's codec, other values as
/// they are.
fn write_raw(
    spec: &ColumnSpec,
    values: &Values,
    scale: Option<u8>,
    out: &mut BlockWriter,
) -> std::result::Result<ColumnMeta, BlockError> {
    let mut meta = base_meta(spec, Encoding::Raw);
    let integer = matches!(spec.physical, Physical::I32 | Physical::I64);
    let scale = if integer { None } else { scale };
    meta.decimal_scale = scale;
    meta.total_values = values.len() as u64;
    meta.sorted = values.is_sorted();
    meta.cardinality = values.distinct_count() as u64;
    if let Some((min, max)) = values.min_max() {
        meta.min = Some(values.scalar(min).to_json(spec.data_type));
        meta.max = Some(values.scalar(max).to_json(spec.data_type));
    }
    let forward = match (values, spec.compression) {
        (Values::Var(var), Some(compression)) => {
            meta.compression = Some(compression.name().to_string());
            chunked::encode(&var.offsets, &var.bytes, compression)?
        }
        _ => encode_values(values, integer || scale.is_some(), scale)?,
    };
    out.block(&spec.name, BlockKind::Fwd, &forward)?;
    if spec.range {
        let built = dispatch!(values, v => Some(raw_range(v, spec)?), _var => None);
        if let Some((block, bounds)) = built {
            out.block(&spec.name, BlockKind::Range, &block)?;
            meta.range_buckets = bounds;
            meta.indexes.push("range".into());
        }
    }
    if let Some(fpp) = spec.bloom {
        let (distinct, _) = values.dictionary_encode();
        write_bloom(spec, &distinct, fpp, &mut meta, out)?;
    }
    Ok(meta)
}

fn write_bloom(
    spec: &ColumnSpec,
    distinct: &Values,
    fpp: f64,
    meta: &mut ColumnMeta,
    out: &mut BlockWriter,
) -> std::result::Result<(), BlockError> {
    let blocks = bloom::blocks_for(distinct.len(), fpp);
    let mut builder = bloom::BloomBuilder::new(blocks);
    for index in 0..distinct.len() {
        builder.insert_hash(bloom::hash_bytes(distinct.canonical(index)));
    }
    out.block(
        &spec.name,
        BlockKind::Bloom,
        bytemuck::cast_slice(builder.words()),
    )?;
    meta.bloom_blocks = Some(blocks as u32);
    meta.indexes.push("bloom".into());
    Ok(())
}

/// Writes blocks at 8-byte-aligned offsets, recording their CRC32C.
struct BlockWriter {
    file: BufWriter<File>,
    path: PathBuf,
    offset: u64,
    blocks: Vec<BlockMeta>,
}

impl BlockWriter {
    fn create(path: &Path) -> Result<BlockWriter> {
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|err| Error::io(path, err))?;
        let mut writer = BlockWriter {
            file: BufWriter::with_capacity(1 << 20, file),
            path: path.to_path_buf(),
            offset: 0,
            blocks: Vec::new(),
        };
        writer
            .write(&format::header())
            .map_err(|err| io(path, err))?;
        Ok(writer)
    }

    fn write(&mut self, bytes: &[u8]) -> std::result::Result<(), BlockError> {
        self.file
            .write_all(bytes)
            .map_err(|source| BlockError::Write {
                path: self.path.clone(),
                source,
            })?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    fn block(
        &mut self,
        column: &str,
        kind: BlockKind,
        bytes: &[u8],
    ) -> std::result::Result<(), BlockError> {
        let padding =
            (self.offset as usize).next_multiple_of(format::BLOCK_ALIGN) - self.offset as usize;
        self.write(&[0u8; format::BLOCK_ALIGN][..padding])?;
        self.blocks.push(BlockMeta {
            column: column.to_string(),
            kind,
            offset: self.offset,
            length: bytes.len() as u64,
            crc32c: crc32c::crc32c(bytes),
        });
        self.write(bytes)
    }

    fn finish(mut self, mut meta: SegmentMeta) -> Result<SegmentMeta> {
        meta.blocks = std::mem::take(&mut self.blocks);
        let footer = serde_json::to_vec(&meta).map_err(|err| io(&self.path, err))?;
        let footer_offset = self.offset;
        self.write(&footer).map_err(|err| io(&self.path, err))?;
        let trailer = format::trailer(footer_offset, footer.len() as u64, crc32c::crc32c(&footer));
        self.write(&trailer).map_err(|err| io(&self.path, err))?;
        let file = self
            .file
            .into_inner()
            .map_err(|err| Error::io(&self.path, err.into_error()))?;
        file.sync_all().map_err(|err| Error::io(&self.path, err))?;
        Ok(meta)
    }
}

/// A failure of the file as a whole (its header or footer), reported as
/// I/O on `path` with `err`'s message.
fn io(path: &Path, err: impl std::fmt::Display) -> Error {
    Error::io(path, std::io::Error::other(err.to_string()))
}
