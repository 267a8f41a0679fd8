//! Sealing: a [`MutableSegment`] becomes an immutable segment file.
//!
//! Dictionaries are sorted and ids remapped; when the table has a sorted
//! column, docs are reordered by it (a stable counting sort on its ids).
//! Each column is then encoded on its own, block by block, into a temporary
//! file that is fsynced and renamed into place (`durable::publish`), so a
//! crash leaves either no segment or a whole one.
//!
//! Peak memory beyond the mutable segment itself: the doc permutation and its
//! inverse (8 bytes per doc, only with a sorted column), plus, for the one
//! column being written, its ids in doc order (4 bytes per value), its
//! dictionary order and remap table (8 bytes per distinct value), its largest
//! block (at most the packed forward index or the index bitmaps), and for a
//! raw range index a sort order (4 bytes per doc).

use std::cmp::Ordering;
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use roaring::RoaringBitmap;
use serde_json::Value as Json;

use super::bitpack::{self, PackWriter};
use super::error::{Error, Result};
use super::format::{self, BlockKind, BlockMeta, ColumnMeta, Encoding, SegmentMeta, StreamRange};
use super::mutable::{Forward, MutableColumn, MutableSegment, Store};
use super::spec::ColumnSpec;
use super::stored::{encode_mv, encode_var};
use super::types::{Physical, Scalar};
use crate::catalog::FieldRole;
use crate::durable;
use crate::index::{bloom, inverted::InvertedBuilder, range, sorted};

/// What the file records beyond the rows.
#[derive(Debug, Clone)]
pub struct SealInfo {
    pub segment_name: String,
    pub stream: Option<StreamRange>,
}

impl MutableSegment {
    /// Writes the segment to `dir/<segment_name>.seg` and returns its path
    /// and footer. Appends wait while sealing runs.
    pub fn seal(&self, dir: &Path, info: &SealInfo) -> Result<(PathBuf, SegmentMeta)> {
        let _writer = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let num_docs = self.num_docs();
        let target = dir.join(format!("{}.seg", info.segment_name));
        let temp = durable::temp_path(&target);
        let result = self.write_file(&temp, num_docs, info);
        let meta = match result {
            Ok(meta) => meta,
            Err(err) => {
                let _ = std::fs::remove_file(&temp);
                return Err(err);
            }
        };
        durable::publish(&temp, &target).map_err(|err| Error::io(&target, err))?;
        Ok((target, meta))
    }

    fn write_file(&self, path: &Path, num_docs: usize, info: &SealInfo) -> Result<SegmentMeta> {
        let mut out = BlockWriter::create(path)?;
        let order = self.doc_order(num_docs);
        let mut columns = Vec::with_capacity(self.columns.len());
        for column in &self.columns {
            columns.push(
                seal_column(column, num_docs, order.as_ref(), &mut out).map_err(|reason| {
                    Error::Column {
                        segment: info.segment_name.clone(),
                        column: column.spec.name.clone(),
                        reason,
                    }
                })?,
            );
        }
        let spec = self.spec();
        let time = spec.time_column.map(|index| &columns[index]);
        let meta = SegmentMeta {
            format_version: format::FORMAT_VERSION,
            segment_name: info.segment_name.clone(),
            table_name: spec.table_name.clone(),
            num_docs: num_docs as u64,
            created_millis: self.created_millis(),
            time_column: time.map(|column| column.name.clone()),
            min_time: time.and_then(|column| column.min.clone()),
            max_time: time.and_then(|column| column.max.clone()),
            stream: info.stream.clone(),
            columns,
            blocks: Vec::new(),
        };
        out.finish(meta)
    }

    /// With a sorted column: `order[new_doc] = old_doc`, stable by arrival.
    fn doc_order(&self, num_docs: usize) -> Option<Order> {
        let column = &self.columns[self.spec().sorted_column?];
        let (Forward::DictSv(ids), Some(dict)) = (&column.forward, &column.dict) else {
            return None;
        };
        let remap = sorted_remap(&dict.values);
        let ids = ids.to_vec(num_docs);
        let mut counts = vec![0u32; remap.len() + 1];
        for &id in &ids {
            counts[remap[id as usize] as usize + 1] += 1;
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        let mut new_of_old = vec![0u32; num_docs];
        let mut old_of_new = vec![0u32; num_docs];
        for (old, &id) in ids.iter().enumerate() {
            let slot = &mut counts[remap[id as usize] as usize];
            old_of_new[*slot as usize] = old as u32;
            new_of_old[old] = *slot;
            *slot += 1;
        }
        Some(Order {
            old_of_new,
            new_of_old,
        })
    }
}

struct Order {
    old_of_new: Vec<u32>,
    new_of_old: Vec<u32>,
}

/// `remap[old_id]` = rank of the value among the distinct values.
fn sorted_remap(values: &Store) -> Vec<u32> {
    let len = values.len();
    let mut order: Vec<u32> = (0..len as u32).collect();
    match values {
        Store::I32(v) => order.sort_unstable_by_key(|&i| *v.get(i as usize)),
        Store::I64(v) => order.sort_unstable_by_key(|&i| *v.get(i as usize)),
        Store::F32(v) => {
            order.sort_unstable_by(|&a, &b| v.get(a as usize).total_cmp(v.get(b as usize)))
        }
        Store::F64(v) => {
            order.sort_unstable_by(|&a, &b| v.get(a as usize).total_cmp(v.get(b as usize)))
        }
        Store::Var(v) => order.sort_unstable_by(|&a, &b| v.get(a as usize).cmp(v.get(b as usize))),
    }
    let mut remap = vec![0u32; len];
    for (rank, &old) in order.iter().enumerate() {
        remap[old as usize] = rank as u32;
    }
    remap
}

/// Canonical bytes of a value, for bloom hashing.
fn canonical_bytes(value: &Scalar) -> Vec<u8> {
    match value {
        Scalar::I32(v) => v.to_le_bytes().to_vec(),
        Scalar::I64(v) => v.to_le_bytes().to_vec(),
        Scalar::F32(v) => v.to_le_bytes().to_vec(),
        Scalar::F64(v) => v.to_le_bytes().to_vec(),
        Scalar::Str(v) => v.as_bytes().to_vec(),
        Scalar::Bytes(v) => v.clone(),
    }
}

/// The bloom hash of a value, as stored in bloom blocks.
pub fn bloom_hash(value: &Scalar) -> u64 {
    bloom::hash_bytes(&canonical_bytes(value))
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
        bloom_blocks: None,
    }
}

fn seal_column(
    column: &MutableColumn,
    num_docs: usize,
    order: Option<&Order>,
    out: &mut BlockWriter,
) -> Result<ColumnMeta, String> {
    let spec = &column.spec;
    let old_doc = |new: usize| order.map_or(new, |order| order.old_of_new[new] as usize);
    let mut meta = match (&column.forward, &column.dict) {
        (Forward::Raw(store), _) => {
            let values: Vec<Scalar> = (0..num_docs)
                .map(|doc| store.get(old_doc(doc), spec.physical))
                .collect();
            seal_raw(spec, &values, out)?
        }
        (Forward::DictSv(ids), Some(dict)) => {
            let remap = sorted_remap(&dict.values);
            let stored = ids.to_vec(num_docs);
            let ids: Vec<u32> = (0..num_docs)
                .map(|doc| remap[stored[old_doc(doc)] as usize])
                .collect();
            let values = sorted_values(&dict.values, &remap, spec.physical);
            if prefers_raw(spec, &values, num_docs) {
                let raw: Vec<Scalar> = ids.iter().map(|&id| values[id as usize].clone()).collect();
                seal_raw(spec, &raw, out)?
            } else {
                seal_dict(spec, &values, DocIds::Single(&ids), out)?
            }
        }
        (Forward::DictMv { ends, ids }, Some(dict)) => {
            let remap = sorted_remap(&dict.values);
            let ends = ends.to_vec(num_docs);
            let stored = ids.to_vec(ends.last().copied().unwrap_or(0) as usize);
            let mut starts = Vec::with_capacity(num_docs + 1);
            let mut flat = Vec::with_capacity(stored.len());
            starts.push(0u32);
            for doc in 0..num_docs {
                let old = old_doc(doc);
                let begin = if old == 0 { 0 } else { ends[old - 1] as usize };
                flat.extend(
                    stored[begin..ends[old] as usize]
                        .iter()
                        .map(|&id| remap[id as usize]),
                );
                starts.push(flat.len() as u32);
            }
            let values = sorted_values(&dict.values, &remap, spec.physical);
            seal_dict(
                spec,
                &values,
                DocIds::Multi {
                    starts: &starts,
                    ids: &flat,
                },
                out,
            )?
        }
        _ => return Err("dictionary forward index without a dictionary".into()),
    };

    let nulls = {
        let stored = column
            .nulls
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut nulls = RoaringBitmap::new();
        for doc in stored.iter().filter(|&doc| (doc as usize) < num_docs) {
            nulls.insert(order.map_or(doc, |order| order.new_of_old[doc as usize]));
        }
        nulls
    };
    meta.null_count = nulls.len();
    if !nulls.is_empty() {
        let mut bytes = Vec::new();
        let _ = nulls.serialize_into(&mut bytes);
        out.block(&spec.name, BlockKind::Nulls, &bytes)?;
    }
    Ok(meta)
}

/// Sorted distinct values, given the remap from arrival ids to ranks.
fn sorted_values(store: &Store, remap: &[u32], physical: Physical) -> Vec<Scalar> {
    let mut values = vec![Scalar::I32(0); remap.len()];
    for (old, &rank) in remap.iter().enumerate() {
        values[rank as usize] = store.get(old, physical);
    }
    values
}

/// Whether a metric column is smaller stored raw than dictionary-encoded:
/// high-cardinality metrics (prices, amounts) usually are.
fn prefers_raw(spec: &ColumnSpec, values: &[Scalar], num_docs: usize) -> bool {
    let Some(width) = spec.physical.width() else {
        return false;
    };
    if spec.role != FieldRole::Metric
        || !spec.single_value
        || spec.inverted
        || spec.range
        || spec.bloom.is_some()
    {
        return false;
    }
    let bits = bitpack::bits_for_cardinality(values.len()) as usize;
    let dictionary = values.len() * width + bitpack::words_for(num_docs, bits as u32) * 8;
    num_docs * width <= dictionary
}

enum DocIds<'a> {
    Single(&'a [u32]),
    Multi { starts: &'a [u32], ids: &'a [u32] },
}

fn encode_values(values: &[Scalar], physical: Physical) -> Result<Vec<u8>, String> {
    if physical.width().is_none() {
        let bytes: Vec<Vec<u8>> = values.iter().map(canonical_bytes).collect();
        return encode_var(bytes.iter().map(Vec::as_slice));
    }
    let mut out = Vec::with_capacity(values.len() * physical.width().unwrap_or(8));
    for value in values {
        out.extend_from_slice(&canonical_bytes(value));
    }
    Ok(out)
}

fn seal_dict(
    spec: &ColumnSpec,
    values: &[Scalar],
    ids: DocIds<'_>,
    out: &mut BlockWriter,
) -> Result<ColumnMeta, String> {
    let mut meta = base_meta(spec, Encoding::Dictionary);
    let cardinality = values.len();
    let bits = bitpack::bits_for_cardinality(cardinality);
    meta.cardinality = cardinality as u64;
    meta.bits_per_id = bits;
    meta.min = values.first().map(|v| v.to_json(spec.data_type));
    meta.max = values.last().map(|v| v.to_json(spec.data_type));
    out.block(
        &spec.name,
        BlockKind::Dict,
        &encode_values(values, spec.physical)?,
    )?;

    let (flat, starts) = match ids {
        DocIds::Single(ids) => (ids, None),
        DocIds::Multi { starts, ids } => (ids, Some(starts)),
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
            out.block(&spec.name, BlockKind::Fwd, bytemuck::cast_slice(&words))?;
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
        let mut builder = InvertedBuilder::new(cardinality);
        for (doc, id) in entries() {
            builder.add(doc, id);
        }
        out.block(&spec.name, BlockKind::Inverted, &builder.encode())?;
        meta.indexes.push("inverted".into());
    }
    if meta.sorted && starts.is_none() {
        if let Some(starts) = sorted::build(flat.iter().copied(), cardinality, flat.len()) {
            out.block(&spec.name, BlockKind::Sorted, &sorted::encode(&starts))?;
            meta.indexes.push("sorted".into());
        }
    }
    if spec.range {
        let pairs: Vec<(u32, u32)> = entries().collect();
        let built = range::build_dict(pairs.iter().copied(), cardinality);
        out.block(&spec.name, BlockKind::Range, &built.encode())?;
        meta.range_buckets = built
            .bounds
            .iter()
            .map(|(lo, hi)| (Json::from(*lo), Json::from(*hi)))
            .collect();
        meta.indexes.push("range".into());
    }
    if let Some(fpp) = spec.bloom {
        write_bloom(spec, values.iter(), values.len(), fpp, &mut meta, out)?;
    }
    Ok(meta)
}

fn seal_raw(
    spec: &ColumnSpec,
    values: &[Scalar],
    out: &mut BlockWriter,
) -> Result<ColumnMeta, String> {
    let mut meta = base_meta(spec, Encoding::Raw);
    meta.total_values = values.len() as u64;
    meta.sorted = values
        .windows(2)
        .all(|pair| pair[0].total_cmp(&pair[1]) != Ordering::Greater);
    let mut distinct: Vec<&Scalar> = values.iter().collect();
    distinct.sort_unstable_by(|a, b| a.total_cmp(b));
    distinct.dedup_by(|a, b| a.total_cmp(b) == Ordering::Equal);
    meta.cardinality = distinct.len() as u64;
    meta.min = distinct.first().map(|v| v.to_json(spec.data_type));
    meta.max = distinct.last().map(|v| v.to_json(spec.data_type));
    out.block(
        &spec.name,
        BlockKind::Fwd,
        &encode_values(values, spec.physical)?,
    )?;

    if spec.range && spec.physical.width().is_some() {
        let built = range::build_values(values, Scalar::total_cmp);
        out.block(&spec.name, BlockKind::Range, &built.encode())?;
        meta.range_buckets = built
            .bounds
            .iter()
            .map(|(lo, hi)| (lo.to_json(spec.data_type), hi.to_json(spec.data_type)))
            .collect();
        meta.indexes.push("range".into());
    }
    if let Some(fpp) = spec.bloom {
        let unique: HashSet<Vec<u8>> = values.iter().map(canonical_bytes).collect();
        let count = unique.len();
        drop(unique);
        write_bloom(spec, distinct.iter().copied(), count, fpp, &mut meta, out)?;
    }
    Ok(meta)
}

fn write_bloom<'v>(
    spec: &ColumnSpec,
    values: impl Iterator<Item = &'v Scalar>,
    count: usize,
    fpp: f64,
    meta: &mut ColumnMeta,
    out: &mut BlockWriter,
) -> Result<(), String> {
    let blocks = bloom::blocks_for(count, fpp);
    let mut builder = bloom::BloomBuilder::new(blocks);
    for value in values {
        builder.insert_hash(bloom_hash(value));
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
            .map_err(|reason| Error::io(path, std::io::Error::other(reason)))?;
        Ok(writer)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.file
            .write_all(bytes)
            .map_err(|err| format!("writing {}: {err}", self.path.display()))?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    fn block(&mut self, column: &str, kind: BlockKind, bytes: &[u8]) -> Result<(), String> {
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
        let io = |path: &Path, reason: String| Error::io(path, std::io::Error::other(reason));
        meta.blocks = std::mem::take(&mut self.blocks);
        let footer = serde_json::to_vec(&meta).map_err(|err| io(&self.path, err.to_string()))?;
        let footer_offset = self.offset;
        self.write(&footer)
            .map_err(|reason| io(&self.path, reason))?;
        let trailer = format::trailer(footer_offset, footer.len() as u64, crc32c::crc32c(&footer));
        self.write(&trailer)
            .map_err(|reason| io(&self.path, reason))?;
        let file = self
            .file
            .into_inner()
            .map_err(|err| Error::io(&self.path, err.into_error()))?;
        file.sync_all().map_err(|err| Error::io(&self.path, err))?;
        Ok(meta)
    }
}
