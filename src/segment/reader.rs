//! `ImmutableSegment`: a sealed segment file, memory-mapped and verified.
//!
//! Opening checks, in order: the file is long enough for a header and a
//! trailer; both magics; the format version; the footer's bounds and CRC;
//! the footer parses; every block lies inside the file, is aligned, and
//! matches its CRC; every column's blocks have the sizes its metadata
//! implies and every forward-index id lies inside its dictionary. Only then
//! are column views handed out, so accessors afterwards index within
//! bounds. The checksums are not trusted to mean the contents are sane: a
//! file damaged and re-checksummed is refused the same way. A failure
//! names the segment and the block.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use memmap2::Mmap;
use roaring::RoaringBitmap;
use serde_json::Value as Json;

use super::error::{BlockError, Error, Result};
use super::format::{
    self, BlockKind, ColumnMeta, Encoding, SegmentMeta, StarTreeMeta, HEADER_LEN, TRAILER_LEN,
};
use super::stored::{self, Dictionary, Fixed, Forward, KeyCodec, PackedIds};
use super::types::{Cell, Physical, Scalar};
use crate::codec::chunked::{Chunked, Compression, VarBlock, VarReader};
use crate::codec::forpack::ForPacked;
use crate::codec::var::Var;
use crate::index::inverted::InvertedIndex;
use crate::index::range::RangeIndex;
use crate::index::sorted::SortedIndex;
use crate::index::startree::{codec, MetricFunc, StarTree};

/// A sealed, immutable segment.
pub struct ImmutableSegment {
    name: String,
    path: PathBuf,
    map: Mmap,
    meta: SegmentMeta,
    /// Per column, its blocks' byte ranges by kind.
    blocks: Vec<HashMap<BlockKind, Range<usize>>>,
    by_name: HashMap<String, usize>,
    /// Numeric dictionaries decoded on first use by queries.
    decoded: Vec<OnceLock<DecodedDictionary>>,
    /// Null bitmaps read on first use by [`ImmutableSegment::cell`].
    nulls: Vec<OnceLock<Option<RoaringBitmap>>>,
    star_trees: Vec<SegmentTree>,
    /// Unique among the segments this process has opened (see
    /// [`ImmutableSegment::load_id`]).
    load_id: u64,
}

/// The next [`ImmutableSegment::load_id`].
static NEXT_LOAD_ID: AtomicU64 = AtomicU64::new(1);

/// A star-tree of the segment, with its dimensions and metrics resolved to
/// column indexes.
#[derive(Debug)]
pub struct SegmentTree {
    pub meta: StarTreeMeta,
    pub tree: StarTree,
    pub dimensions: Vec<usize>,
    /// Per stored metric: its function and column (`None` for COUNT).
    pub metrics: Vec<(MetricFunc, Option<usize>)>,
}

impl SegmentTree {
    fn decode(
        meta: &StarTreeMeta,
        bytes: &[u8],
        columns: &HashMap<String, usize>,
    ) -> std::result::Result<SegmentTree, BlockError> {
        let metrics = tree_metrics(meta, &|name| columns.get(name).copied())?;
        let funcs: Vec<MetricFunc> = metrics.iter().map(|(func, _)| *func).collect();
        let tree = codec::decode(bytes, &funcs)?;
        SegmentTree::resolve(meta.clone(), tree, &|name| columns.get(name).copied())
    }

    /// A built tree with its footer entry, its columns looked up by name.
    pub fn resolve(
        meta: StarTreeMeta,
        tree: StarTree,
        column: &dyn Fn(&str) -> Option<usize>,
    ) -> std::result::Result<SegmentTree, BlockError> {
        let dimensions = meta
            .dimensions_split_order
            .iter()
            .map(|name| column(name).ok_or_else(|| unknown_column(name)))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let metrics = tree_metrics(&meta, column)?;
        if tree.dims.len() != dimensions.len()
            || tree.records() as u64 != meta.records
            || tree.funcs.len() != metrics.len()
        {
            return Err(BlockError::Malformed(
                "the star-tree block does not match its footer entry".into(),
            ));
        }
        Ok(SegmentTree {
            meta,
            tree,
            dimensions,
            metrics,
        })
    }
}

fn unknown_column(name: &str) -> BlockError {
    BlockError::Malformed(format!("the star-tree names an unknown column `{name}`"))
}

/// The block and reason of a codec's refusal.
fn malformed(block: &'static str) -> impl Fn(crate::codec::Error) -> (&'static str, BlockError) {
    move |reason| (block, reason.into())
}

/// The reason of a block the footer needs and does not list.
fn missing() -> BlockError {
    BlockError::Malformed("missing".into())
}

/// The function and column of each `FUNCTION__column` pair of a tree.
fn tree_metrics(
    meta: &StarTreeMeta,
    column: &dyn Fn(&str) -> Option<usize>,
) -> std::result::Result<Vec<(MetricFunc, Option<usize>)>, BlockError> {
    let mut metrics = Vec::new();
    for pair in &meta.function_column_pairs {
        let (function, name) = pair.split_once("__").ok_or_else(|| {
            BlockError::Malformed(format!("`{pair}` is not a function-column pair"))
        })?;
        let func = match function {
            "COUNT" => MetricFunc::Count,
            "SUM" => MetricFunc::Sum,
            "MIN" => MetricFunc::Min,
            "MAX" => MetricFunc::Max,
            "DISTINCTCOUNTHLL" => MetricFunc::Hll,
            "PERCENTILEEST" => MetricFunc::Quantiles,
            other => {
                return Err(BlockError::Malformed(format!(
                    "unknown star-tree function `{other}`"
                )))
            }
        };
        let column = match func {
            MetricFunc::Count => None,
            _ => Some(column(name).ok_or_else(|| unknown_column(name))?),
        };
        metrics.push((func, column));
    }
    Ok(metrics)
}

/// A numeric dictionary decoded into an array, for lookups by id in scans.
#[derive(Debug)]
pub enum DecodedDictionary {
    Long(Vec<i64>),
    Double(Vec<f64>),
    /// Text and bytes dictionaries stay in the file.
    NotNumeric,
}

/// Borrowed views of one column's blocks.
pub struct ColumnView<'a> {
    pub meta: &'a ColumnMeta,
    pub dictionary: Option<Dictionary<'a>>,
    pub forward: Forward<'a>,
    pub nulls: Option<RoaringBitmap>,
    pub inverted: Option<InvertedIndex<'a>>,
    pub sorted: Option<SortedIndex<'a>>,
    pub range: Option<Range<usize>>,
    pub bloom: Option<&'a [u32]>,
    /// For raw text or bytes: the reader [`ColumnView::value`] keeps, so
    /// reading docs in order decompresses each chunk once.
    text: RefCell<Option<VarReader<'a>>>,
}

impl ImmutableSegment {
    /// Opens and verifies the segment file at `path`.
    pub fn open(path: &Path) -> Result<ImmutableSegment> {
        let name = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let corrupted = |block: &str, reason: BlockError| Error::Corrupted {
            segment: name.clone(),
            block: block.to_string(),
            reason,
        };
        let bad = |block: &str, reason: String| corrupted(block, BlockError::Malformed(reason));
        let file = File::open(path).map_err(|err| Error::io(path, err))?;
        // SAFETY: segment files are written once under a temporary name and
        // renamed into place; nothing writes to a published segment file, and
        // deleting one unlinks it without changing the mapped pages. A process
        // outside Gamay truncating the file could still fault the mapping;
        // that is the documented hazard of memory-mapped storage.
        let map = unsafe { Mmap::map(&file) }.map_err(|err| Error::io(path, err))?;
        let len = map.len();
        if len < HEADER_LEN + TRAILER_LEN {
            return Err(bad(
                "header",
                format!("the file is {len} bytes, shorter than a header and trailer"),
            ));
        }
        if &map[0..8] != format::MAGIC_HEAD {
            return Err(bad(
                "header",
                "the header magic is missing (not a Gamay segment)".into(),
            ));
        }
        let mut trailer_bytes = [0u8; TRAILER_LEN];
        trailer_bytes.copy_from_slice(&map[len - TRAILER_LEN..]);
        let trailer =
            format::read_trailer(&trailer_bytes).map_err(|reason| corrupted("trailer", reason))?;
        let header_version = u32::from_le_bytes([map[8], map[9], map[10], map[11]]);
        for version in [header_version, trailer.version] {
            if !(format::MIN_FORMAT_VERSION..=format::FORMAT_VERSION).contains(&version) {
                return Err(Error::UnsupportedVersion {
                    segment: name.clone(),
                    version,
                    supported: format::FORMAT_VERSION,
                });
            }
        }
        let footer_end = trailer.footer_offset.checked_add(trailer.footer_len);
        if trailer.footer_offset < HEADER_LEN as u64
            || footer_end != Some((len - TRAILER_LEN) as u64)
        {
            return Err(bad(
                "footer",
                format!(
                    "footer at {}+{} does not end where the trailer starts ({})",
                    trailer.footer_offset,
                    trailer.footer_len,
                    len - TRAILER_LEN
                ),
            ));
        }
        let footer = &map[trailer.footer_offset as usize..len - TRAILER_LEN];
        if crc32c::crc32c(footer) != trailer.footer_crc {
            return Err(bad("footer", "checksum mismatch".into()));
        }
        let meta: SegmentMeta = serde_json::from_slice(footer)
            .map_err(|err| bad("footer", format!("unreadable metadata: {err}")))?;

        let by_name: HashMap<String, usize> = meta
            .columns
            .iter()
            .enumerate()
            .map(|(index, column)| (column.name.clone(), index))
            .collect();
        let mut blocks = vec![HashMap::new(); meta.columns.len()];
        let mut tree_blocks: Vec<Option<Range<usize>>> = vec![None; meta.star_trees.len()];
        for block in &meta.blocks {
            let label = format!("{}.{}", block.column, block.kind.name());
            // Star-tree blocks are named by the tree's position in the footer.
            let target = if block.kind == BlockKind::StarTree {
                match block.column.parse::<usize>() {
                    Ok(tree) if tree < tree_blocks.len() => Err(tree),
                    _ => {
                        return Err(bad(
                            &label,
                            "star-tree block of a tree the footer does not list".into(),
                        ))
                    }
                }
            } else {
                match by_name.get(&block.column) {
                    Some(&column) => Ok(column),
                    None => {
                        return Err(bad(
                            &label,
                            "block of a column the footer does not list".into(),
                        ))
                    }
                }
            };
            let end = block.offset.checked_add(block.length);
            if block.offset < HEADER_LEN as u64
                || end.is_none_or(|end| end > trailer.footer_offset)
                || block.offset % format::BLOCK_ALIGN as u64 != 0
            {
                return Err(bad(
                    &label,
                    format!(
                        "block at {}+{} lies outside the data area or is misaligned",
                        block.offset, block.length
                    ),
                ));
            }
            let range = block.offset as usize..(block.offset + block.length) as usize;
            if crc32c::crc32c(&map[range.clone()]) != block.crc32c {
                return Err(bad(&label, "checksum mismatch".into()));
            }
            let twice = match target {
                Ok(column) => blocks[column].insert(block.kind, range).is_some(),
                Err(tree) => tree_blocks[tree].replace(range).is_some(),
            };
            if twice {
                return Err(bad(&label, "block listed twice".into()));
            }
        }
        let mut star_trees = Vec::with_capacity(tree_blocks.len());
        for (index, (tree_meta, range)) in meta.star_trees.iter().zip(tree_blocks).enumerate() {
            let label = format!("{index}.startree");
            let range = range.ok_or_else(|| bad(&label, "the block is missing".into()))?;
            star_trees.push(
                SegmentTree::decode(tree_meta, &map[range], &by_name)
                    .map_err(|reason| corrupted(&label, reason))?,
            );
        }
        let segment = ImmutableSegment {
            name,
            path: path.to_path_buf(),
            map,
            meta,
            decoded: (0..blocks.len()).map(|_| OnceLock::new()).collect(),
            nulls: (0..blocks.len()).map(|_| OnceLock::new()).collect(),
            blocks,
            by_name,
            star_trees,
            load_id: NEXT_LOAD_ID.fetch_add(1, Ordering::Relaxed),
        };
        for index in 0..segment.meta.columns.len() {
            segment.verify_column(index)?;
        }
        Ok(segment)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A number no other segment opened by this process has: a file
    /// opened again (replaced under the same name, or reloaded) gets a new
    /// one, so anything kept by it describes exactly these docs.
    pub fn load_id(&self) -> u64 {
        self.load_id
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn meta(&self) -> &SegmentMeta {
        &self.meta
    }

    pub fn num_docs(&self) -> usize {
        self.meta.num_docs as usize
    }

    pub fn size_bytes(&self) -> usize {
        self.map.len()
    }

    /// The segment's star-trees, in configuration order.
    pub fn star_trees(&self) -> &[SegmentTree] {
        &self.star_trees
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    fn block(&self, column: usize, kind: BlockKind) -> Option<&[u8]> {
        self.blocks[column]
            .get(&kind)
            .map(|range| &self.map[range.clone()])
    }

    fn verify_column(&self, index: usize) -> Result<()> {
        let meta = &self.meta.columns[index];
        let fail = |block: &str, reason: BlockError| Error::Corrupted {
            segment: self.name.clone(),
            block: format!("{}.{block}", meta.name),
            reason,
        };
        let view = self
            .try_column(index)
            .map_err(|(block, reason)| fail(block, reason))?;
        view.forward
            .validate()
            .map_err(|reason| fail("fwd", reason))?;
        if let Some(dictionary) = &view.dictionary {
            dictionary
                .validate()
                .map_err(|reason| fail("dict", reason))?;
            view.forward
                .validate_ids(dictionary.len())
                .map_err(|reason| fail("fwd", reason))?;
        }
        if let Some(inverted) = &view.inverted {
            inverted
                .validate()
                .map_err(|reason| fail("inverted", reason.into()))?;
        }
        if let Some(sorted) = &view.sorted {
            sorted
                .validate()
                .map_err(|reason| fail("sorted", reason.into()))?;
        }
        if view.range.is_some() {
            let bounds: Vec<(Json, Json)> = meta.range_buckets.clone();
            let block = self.block(index, BlockKind::Range).unwrap_or_default();
            let range =
                RangeIndex::parse(block, bounds).map_err(|reason| fail("range", reason.into()))?;
            range
                .validate()
                .map_err(|reason| fail("range", reason.into()))?;
        }
        Ok(())
    }

    /// Views of column `index`'s blocks. Infallible after `open` verified them.
    pub fn column(&self, index: usize) -> ColumnView<'_> {
        match self.try_column(index) {
            Ok(view) => view,
            // `open` ran `try_column` on every column and the mapping is
            // immutable, so this cannot happen; keep a defined outcome anyway.
            Err((block, reason)) => panic!(
                "segment {} column {index} block {block}: {reason}",
                self.name
            ),
        }
    }

    /// The dictionary, forward index and sorted index of column `index`.
    #[allow(clippy::type_complexity)]
    fn try_values(
        &self,
        index: usize,
    ) -> Result<
        (Option<Dictionary<'_>>, Forward<'_>, Option<SortedIndex<'_>>),
        (&'static str, BlockError),
    > {
        let meta = &self.meta.columns[index];
        let docs = self.num_docs();
        let cardinality = meta.cardinality as usize;
        let dictionary = match meta.encoding {
            Encoding::Dictionary => {
                let bytes = self
                    .block(index, BlockKind::Dict)
                    .ok_or(("dict", missing()))?;
                Some(
                    Dictionary::parse(
                        KeyCodec {
                            physical: meta.physical,
                            decimal_scale: meta.decimal_scale,
                        },
                        bytes,
                        cardinality,
                    )
                    .map_err(|reason| ("dict", reason))?,
                )
            }
            Encoding::Raw => None,
        };
        let sorted = match self.block(index, BlockKind::Sorted) {
            None => None,
            Some(bytes) => Some(
                SortedIndex::parse(bytes, cardinality, docs)
                    .map_err(|reason| ("sorted", reason.into()))?,
            ),
        };
        let fwd = || self.block(index, BlockKind::Fwd).ok_or(("fwd", missing()));
        let forward = match (meta.encoding, meta.single_value, sorted) {
            // The sorted column stores only its sorted index.
            (Encoding::Dictionary, true, Some(sorted))
                if self.block(index, BlockKind::Fwd).is_none() =>
            {
                Forward::Sorted(sorted)
            }
            (Encoding::Dictionary, true, _) => Forward::DictSv(
                PackedIds::parse(fwd()?, meta.bits_per_id, docs)
                    .map_err(|reason| ("fwd", reason))?,
            ),
            (Encoding::Dictionary, false, _) => {
                Forward::parse_mv(fwd()?, meta.bits_per_id, docs, meta.total_values as usize)
                    .map_err(|reason| ("fwd", reason))?
            }
            (Encoding::Raw, _, _) => match meta.physical {
                Physical::I32 | Physical::I64 => Forward::RawPacked {
                    keys: ForPacked::parse(fwd()?, docs).map_err(malformed("fwd"))?,
                    codec: KeyCodec {
                        physical: meta.physical,
                        decimal_scale: None,
                    },
                },
                Physical::F32 | Physical::F64 if meta.decimal_scale.is_some() => {
                    Forward::RawPacked {
                        keys: ForPacked::parse(fwd()?, docs).map_err(malformed("fwd"))?,
                        codec: KeyCodec {
                            physical: meta.physical,
                            decimal_scale: meta.decimal_scale,
                        },
                    }
                }
                Physical::F32 | Physical::F64 => Forward::RawFixed(
                    Fixed::parse(meta.physical, fwd()?, docs).map_err(|reason| ("fwd", reason))?,
                ),
                Physical::Str | Physical::Bytes => {
                    let text = meta.physical == Physical::Str;
                    Forward::RawVar(match meta.compression.as_deref() {
                        None => VarBlock::Plain(
                            Var::parse(fwd()?, docs, text).map_err(malformed("fwd"))?,
                        ),
                        Some(name) => {
                            let compression = Compression::from_pinot(name)
                                .ok()
                                .flatten()
                                .ok_or_else(|| {
                                    (
                                        "fwd",
                                        BlockError::Malformed(format!(
                                            "unknown compression `{name}`"
                                        )),
                                    )
                                })?;
                            VarBlock::Chunked(
                                Chunked::parse(fwd()?, docs, text, compression)
                                    .map_err(malformed("fwd"))?,
                            )
                        }
                    })
                }
            },
        };
        Ok((dictionary, forward, sorted))
    }

    fn try_column(&self, index: usize) -> Result<ColumnView<'_>, (&'static str, BlockError)> {
        let meta = &self.meta.columns[index];
        let cardinality = meta.cardinality as usize;
        let (dictionary, forward, sorted) = self.try_values(index)?;
        let nulls = match self.block(index, BlockKind::Nulls) {
            None => None,
            Some(bytes) => Some(
                RoaringBitmap::deserialize_from(bytes)
                    .map_err(|err| ("nulls", BlockError::Bitmap(err)))?,
            ),
        };
        let inverted = match self.block(index, BlockKind::Inverted) {
            None => None,
            Some(bytes) => Some(
                InvertedIndex::parse(bytes, cardinality)
                    .map_err(|reason| ("inverted", reason.into()))?,
            ),
        };
        let bloom = match self.block(index, BlockKind::Bloom) {
            None => None,
            Some(bytes) => {
                let words: &[u32] = bytemuck::try_cast_slice(bytes)
                    .map_err(|err| ("bloom", BlockError::Cast(err)))?;
                if meta.bloom_blocks.map(|blocks| blocks as usize * 8) != Some(words.len()) {
                    return Err((
                        "bloom",
                        BlockError::Malformed(format!(
                            "{} words do not match the block count",
                            words.len()
                        )),
                    ));
                }
                Some(words)
            }
        };
        Ok(ColumnView {
            text: RefCell::new(None),
            meta,
            dictionary,
            forward,
            nulls,
            inverted,
            sorted,
            range: self.blocks[index].get(&BlockKind::Range).cloned(),
            bloom,
        })
    }

    /// Column `index`'s dictionary as an array of numbers, decoded once.
    pub fn decoded_dictionary(&self, index: usize) -> &DecodedDictionary {
        self.decoded[index].get_or_init(|| {
            let view = self.column(index);
            let Some(Dictionary::Packed { keys, codec }) = view.dictionary else {
                return DecodedDictionary::NotNumeric;
            };
            let mut scalars = Vec::with_capacity(keys.len());
            keys.for_each_block(|_, block| {
                scalars.extend(block.iter().map(|key| codec.scalar(*key)));
            });
            match view.meta.physical {
                Physical::I32 | Physical::I64 => DecodedDictionary::Long(
                    scalars
                        .iter()
                        .map(|scalar| match scalar {
                            Scalar::I32(v) => *v as i64,
                            Scalar::I64(v) => *v,
                            _ => 0,
                        })
                        .collect(),
                ),
                _ => DecodedDictionary::Double(
                    scalars
                        .iter()
                        .map(|scalar| scalar.as_f64().unwrap_or(0.0))
                        .collect(),
                ),
            }
        })
    }

    /// The range index of column `index` with bucket bounds typed by `parse`.
    pub fn range_index<K>(
        &self,
        index: usize,
        parse: impl Fn(&Json) -> Option<K>,
    ) -> Option<RangeIndex<'_, K>> {
        let meta = &self.meta.columns[index];
        let block = self.block(index, BlockKind::Range)?;
        let bounds: Option<Vec<(K, K)>> = meta
            .range_buckets
            .iter()
            .map(|(lo, hi)| Some((parse(lo)?, parse(hi)?)))
            .collect();
        RangeIndex::parse(block, bounds?).ok()
    }

    /// The value(s) of column `index` in `doc` (nulls as the stored default).
    pub fn value(&self, index: usize, doc: usize) -> Cell {
        self.column(index).value(doc)
    }

    /// The value(s) of column `index` in `doc`, `None` when null: one
    /// value read without opening the column's other indexes (its null
    /// bitmap is read once and kept).
    pub fn cell(&self, index: usize, doc: u32) -> Option<Cell> {
        let nulls = self.nulls[index].get_or_init(|| {
            self.block(index, BlockKind::Nulls)
                .and_then(|bytes| RoaringBitmap::deserialize_from(bytes).ok())
        });
        if nulls.as_ref().is_some_and(|nulls| nulls.contains(doc)) {
            return None;
        }
        let (dictionary, forward, _) = match self.try_values(index) {
            Ok(parts) => parts,
            // `open` verified every column's blocks.
            Err(_) => return None,
        };
        Some(value_at(dictionary.as_ref(), &forward, doc as usize))
    }
}

impl<'a> ColumnView<'a> {
    /// The value(s) of `doc` (nulls as the stored default).
    pub fn value(&self, doc: usize) -> Cell {
        let text = self.with_text(|reader| {
            let text = reader.is_text();
            stored::var_scalar(reader.get(doc), text)
        });
        match text {
            Some(value) => Cell::One(value),
            None => value_at(self.dictionary.as_ref(), &self.forward, doc),
        }
    }

    /// For a raw text or bytes column: calls `read` with the column's
    /// reader, kept between calls. `None` for other columns.
    pub fn with_text<T>(&self, read: impl FnOnce(&mut VarReader<'a>) -> T) -> Option<T> {
        let Forward::RawVar(block) = &self.forward else {
            return None;
        };
        let mut cached = self.text.borrow_mut();
        Some(read(cached.get_or_insert_with(|| block.reader())))
    }

    /// Whether `doc` is null.
    pub fn is_null(&self, doc: u32) -> bool {
        self.nulls.as_ref().is_some_and(|nulls| nulls.contains(doc))
    }
}

/// The value(s) of `doc` from a column's dictionary and forward index.
fn value_at(dictionary: Option<&Dictionary<'_>>, forward: &Forward<'_>, doc: usize) -> Cell {
    let value_of = |id: u32| match dictionary {
        Some(dictionary) => dictionary.get(id),
        None => Scalar::I32(0),
    };
    match forward {
        Forward::DictSv(ids) => Cell::One(value_of(ids.get(doc))),
        Forward::DictMv { starts, ids } => Cell::Many(
            (starts[doc] as usize..starts[doc + 1] as usize)
                .map(|at| value_of(ids.get(at)))
                .collect(),
        ),
        Forward::Sorted(sorted) => Cell::One(value_of(sorted.id_of(doc as u32))),
        Forward::RawPacked { keys, codec } => Cell::One(codec.scalar(keys.get(doc))),
        Forward::RawFixed(fixed) => Cell::One(fixed.get(doc)),
        Forward::RawVar(var) => {
            let mut reader = var.reader();
            Cell::One(stored::var_scalar(reader.get(doc), var.is_text()))
        }
    }
}
