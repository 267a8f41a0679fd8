//! `MutableSegment`: the segment rows are appended to, queryable while it grows.
//!
//! Concurrency contract: one writer, many readers. Writes (`append`) are
//! serialized by an internal mutex, which holds the only [`AppendWriter`]s
//! of the columns' [`AppendVec`]s; a row becomes visible when the writer stores the new
//! document count with `Release` ordering, after every column (and the live
//! inverted index and null bitmaps) holds it. Readers load the count with
//! `Acquire` and read only below it, so they see a consistent prefix of rows
//! and take no lock to scan values. Dictionary lookups by value and the live
//! inverted index sit behind `RwLock`s that the writer holds only while it
//! adds a new distinct value or a row's postings.
//!
//! Every column is dictionary-encoded here (ids in arrival order, values
//! unsorted) except single-value noDictionary columns, stored raw; sealing
//! sorts the dictionaries (see `seal.rs`). Star-trees over a prefix of the
//! rows are rebuilt as it grows (`mutable_trees.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use roaring::RoaringBitmap;

use super::append_vec::{AppendVec, AppendWriter};
use super::error::{Error, Result, ValueError};
use super::mutable_trees::ConsumingTrees;
use super::spec::{ColumnSpec, SegmentSpec};
use super::types::{conform_scalar, Cell, Physical, Scalar};
use crate::catalog::FieldRole;
use crate::sync::{Recover, RecoverRw};

/// Values of one physical type, appended in order (the readers' side).
pub(crate) enum Store {
    I32(Arc<AppendVec<i32>>),
    I64(Arc<AppendVec<i64>>),
    F32(Arc<AppendVec<f32>>),
    F64(Arc<AppendVec<f64>>),
    Var(Arc<AppendVec<Box<[u8]>>>),
}

/// The writer of a [`Store`].
enum StoreWriter {
    I32(AppendWriter<i32>),
    I64(AppendWriter<i64>),
    F32(AppendWriter<f32>),
    F64(AppendWriter<f64>),
    Var(AppendWriter<Box<[u8]>>),
}

impl StoreWriter {
    /// `value` already has this store's physical type.
    fn push(&mut self, value: &Scalar) {
        match (self, value) {
            (StoreWriter::I32(store), Scalar::I32(v)) => store.push(*v),
            (StoreWriter::I64(store), Scalar::I64(v)) => store.push(*v),
            (StoreWriter::F32(store), Scalar::F32(v)) => store.push(*v),
            (StoreWriter::F64(store), Scalar::F64(v)) => store.push(*v),
            (StoreWriter::Var(store), Scalar::Str(v)) => store.push(v.as_bytes().into()),
            (StoreWriter::Var(store), Scalar::Bytes(v)) => store.push(v.as_slice().into()),
            // `conform` makes this unreachable; storing nothing would shift
            // every later value, so fail loudly in tests.
            _ => debug_assert!(false, "value of the wrong physical type"),
        }
    }

    fn len(&self) -> usize {
        match self {
            StoreWriter::I32(store) => store.len(),
            StoreWriter::I64(store) => store.len(),
            StoreWriter::F32(store) => store.len(),
            StoreWriter::F64(store) => store.len(),
            StoreWriter::Var(store) => store.len(),
        }
    }
}

impl Store {
    fn new(physical: Physical) -> (Store, StoreWriter) {
        match physical {
            Physical::I32 => {
                let (vec, writer) = AppendVec::new();
                (Store::I32(vec), StoreWriter::I32(writer))
            }
            Physical::I64 => {
                let (vec, writer) = AppendVec::new();
                (Store::I64(vec), StoreWriter::I64(writer))
            }
            Physical::F32 => {
                let (vec, writer) = AppendVec::new();
                (Store::F32(vec), StoreWriter::F32(writer))
            }
            Physical::F64 => {
                let (vec, writer) = AppendVec::new();
                (Store::F64(vec), StoreWriter::F64(writer))
            }
            Physical::Str | Physical::Bytes => {
                let (vec, writer) = AppendVec::new();
                (Store::Var(vec), StoreWriter::Var(writer))
            }
        }
    }

    pub(crate) fn get(&self, index: usize, physical: Physical) -> Scalar {
        match self {
            Store::I32(store) => Scalar::I32(*store.get(index)),
            Store::I64(store) => Scalar::I64(*store.get(index)),
            Store::F32(store) => Scalar::F32(*store.get(index)),
            Store::F64(store) => Scalar::F64(*store.get(index)),
            Store::Var(store) => {
                let bytes = store.get(index);
                if physical == Physical::Str {
                    Scalar::Str(String::from_utf8_lossy(bytes).into_owned())
                } else {
                    Scalar::Bytes(bytes.to_vec())
                }
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Store::I32(store) => store.len(),
            Store::I64(store) => store.len(),
            Store::F32(store) => store.len(),
            Store::F64(store) => store.len(),
            Store::Var(store) => store.len(),
        }
    }
}

type FastMap<K> = HashMap<K, u32, foldhash::fast::RandomState>;

/// Value → id maps: numbers by their bits, text and bytes by their bytes.
#[derive(Default)]
struct Ids {
    bits: FastMap<u64>,
    bytes: FastMap<Box<[u8]>>,
}

/// The bits of a fixed-width value, or its bytes.
fn bits_or_bytes(value: &Scalar) -> Result<u64, &[u8]> {
    match value {
        Scalar::I32(v) => Ok(*v as u32 as u64),
        Scalar::I64(v) => Ok(*v as u64),
        Scalar::F32(v) => Ok(v.to_bits() as u64),
        Scalar::F64(v) => Ok(v.to_bits()),
        Scalar::Str(v) => Err(v.as_bytes()),
        Scalar::Bytes(v) => Err(v.as_slice()),
    }
}

impl Ids {
    fn get(&self, value: &Scalar) -> Option<u32> {
        match bits_or_bytes(value) {
            Ok(bits) => self.bits.get(&bits).copied(),
            Err(bytes) => self.bytes.get(bytes).copied(),
        }
    }
}

/// A dictionary that grows: ids in order of first appearance.
pub(crate) struct GrowingDict {
    pub(crate) values: Store,
    ids: RwLock<Ids>,
}

impl GrowingDict {
    pub(crate) fn id_of(&self, value: &Scalar) -> Option<u32> {
        read(&self.ids).get(value)
    }

    /// The id of `value`, adding it through `values` (this dictionary's
    /// writer) if new; one hash lookup either way.
    fn intern(&self, values: &mut StoreWriter, value: &Scalar) -> u32 {
        let mut ids = write(&self.ids);
        let next = values.len() as u32;
        let id = match bits_or_bytes(value) {
            Ok(bits) => *ids.bits.entry(bits).or_insert(next),
            Err(bytes) => match ids.bytes.get(bytes) {
                Some(&id) => id,
                None => {
                    ids.bytes.insert(bytes.into(), next);
                    next
                }
            },
        };
        if id == next {
            values.push(value);
        }
        id
    }
}

// One per column, so the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Forward {
    /// Dictionary ids, one per doc.
    DictSv(Arc<AppendVec<u32>>),
    /// `ends[doc]` is the end of the doc's ids in `ids`.
    DictMv {
        ends: Arc<AppendVec<u32>>,
        ids: Arc<AppendVec<u32>>,
    },
    /// Raw values, one per doc.
    Raw(Store),
}

/// The writers of a [`Forward`].
enum ForwardWriter {
    DictSv(AppendWriter<u32>),
    DictMv {
        ends: AppendWriter<u32>,
        ids: AppendWriter<u32>,
    },
    Raw(StoreWriter),
}

/// The writers of one column: its dictionary's values, its forward index.
pub(crate) struct ColumnWriter {
    dict: Option<StoreWriter>,
    forward: ForwardWriter,
}

pub(crate) struct MutableColumn {
    pub(crate) spec: ColumnSpec,
    pub(crate) dict: Option<GrowingDict>,
    pub(crate) forward: Forward,
    pub(crate) nulls: RwLock<RoaringBitmap>,
    /// Live inverted index (dictionary columns configured with one).
    pub(crate) inverted: Option<RwLock<Vec<RoaringBitmap>>>,
}

/// A cell's values once conformed: one (no allocation) or several.
pub(crate) enum CellValues {
    One(Scalar),
    Many(Vec<Scalar>),
}

impl CellValues {
    pub(crate) fn as_slice(&self) -> &[Scalar] {
        match self {
            CellValues::One(value) => std::slice::from_ref(value),
            CellValues::Many(values) => values,
        }
    }
}

/// A cell ready to store: its value(s), and whether it was null.
pub(crate) type Conformed = (CellValues, bool);

/// A growing segment.
pub struct MutableSegment {
    spec: Arc<SegmentSpec>,
    pub(crate) columns: Vec<MutableColumn>,
    num_docs: AtomicUsize,
    /// The only writers of the columns' vectors, one per column; sealing
    /// holds the lock so appends wait.
    pub(crate) writer: Mutex<Vec<ColumnWriter>>,
    created_millis: i64,
    /// When rows were last appended (epoch millis; 0 before the first).
    last_append_millis: AtomicI64,
    /// Star-trees over a prefix of the rows (`mutable_trees.rs`).
    pub(crate) trees: RwLock<Option<Arc<ConsumingTrees>>>,
    pub(crate) building_trees: AtomicBool,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    // The data behind these locks is updated with single calls that cannot
    // leave it half-changed, so a poisoned lock is still consistent.
    lock.read_locked()
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write_locked()
}

impl MutableSegment {
    /// A segment for streaming ingestion: queryable while it grows, with
    /// live inverted indexes.
    pub fn new(spec: Arc<SegmentSpec>) -> MutableSegment {
        let mut columns = Vec::with_capacity(spec.columns.len());
        let mut writers = Vec::with_capacity(spec.columns.len());
        for (index, column) in spec.columns.iter().enumerate() {
            let dictionary = column.dictionary && !raw_while_consuming(&spec, index);
            let (dict, dict_writer) = if dictionary {
                let (values, writer) = Store::new(column.physical);
                let dict = GrowingDict {
                    values,
                    ids: RwLock::new(Ids::default()),
                };
                (Some(dict), Some(writer))
            } else {
                (None, None)
            };
            let (forward, forward_writer) = match (dictionary, column.single_value) {
                (true, true) => {
                    let (ids, writer) = AppendVec::new();
                    (Forward::DictSv(ids), ForwardWriter::DictSv(writer))
                }
                (true, false) => {
                    let (ends, ends_writer) = AppendVec::new();
                    let (ids, ids_writer) = AppendVec::new();
                    (
                        Forward::DictMv { ends, ids },
                        ForwardWriter::DictMv {
                            ends: ends_writer,
                            ids: ids_writer,
                        },
                    )
                }
                (false, _) => {
                    let (store, writer) = Store::new(column.physical);
                    (Forward::Raw(store), ForwardWriter::Raw(writer))
                }
            };
            columns.push(MutableColumn {
                spec: column.clone(),
                dict,
                forward,
                nulls: RwLock::new(RoaringBitmap::new()),
                inverted: (dictionary && column.inverted).then(|| RwLock::new(Vec::new())),
            });
            writers.push(ColumnWriter {
                dict: dict_writer,
                forward: forward_writer,
            });
        }
        MutableSegment {
            spec,
            columns,
            num_docs: AtomicUsize::new(0),
            writer: Mutex::new(writers),
            created_millis: now_millis(),
            last_append_millis: AtomicI64::new(0),
            trees: RwLock::new(None),
            building_trees: AtomicBool::new(false),
        }
    }

    pub fn spec(&self) -> &Arc<SegmentSpec> {
        &self.spec
    }

    /// Rows visible to readers.
    pub fn num_docs(&self) -> usize {
        self.num_docs.load(Ordering::Acquire)
    }

    pub fn created_millis(&self) -> i64 {
        self.created_millis
    }

    /// When rows were last appended (epoch millis), if ever.
    pub fn last_append_millis(&self) -> Option<i64> {
        Some(self.last_append_millis.load(Ordering::Acquire)).filter(|millis| *millis > 0)
    }

    /// Appends rows (cells in the spec's column order). Each row is checked
    /// whole before any of it is stored; a bad row is reported with its
    /// index in `rows` and the rows before it stay appended.
    pub fn append(&self, rows: &[Vec<Cell>]) -> Result<usize> {
        let mut writers = self.writer.locked();
        let mut appended = 0;
        for (index, row) in rows.iter().enumerate() {
            let cells =
                conform_row(&self.spec, row).map_err(|(column, reason)| Error::BadValue {
                    row: index as u64,
                    column,
                    reason,
                })?;
            self.store_row(&mut writers, &cells);
            appended += 1;
        }
        if appended > 0 {
            self.last_append_millis
                .store(now_millis(), Ordering::Release);
        }
        Ok(appended)
    }

    fn store_row(&self, writers: &mut [ColumnWriter], cells: &[Conformed]) {
        let doc = self.num_docs.load(Ordering::Relaxed) as u32;
        for (((values, null), column), writer) in cells.iter().zip(&self.columns).zip(writers) {
            if *null {
                write(&column.nulls).insert(doc);
            }
            match (&mut writer.forward, &column.dict, &mut writer.dict) {
                (ForwardWriter::DictSv(ids), Some(dict), Some(dict_values)) => {
                    let id = dict.intern(dict_values, &values.as_slice()[0]);
                    ids.push(id);
                    post(column, doc, id);
                }
                (ForwardWriter::DictMv { ends, ids }, Some(dict), Some(dict_values)) => {
                    for value in values.as_slice() {
                        let id = dict.intern(dict_values, value);
                        ids.push(id);
                        post(column, doc, id);
                    }
                    ends.push(ids.len() as u32);
                }
                (ForwardWriter::Raw(store), _, _) => store.push(&values.as_slice()[0]),
                _ => debug_assert!(false, "dictionary forward index without a dictionary"),
            }
        }
        self.num_docs.store(doc as usize + 1, Ordering::Release);
    }

    /// The value(s) of `column` in `doc`, as stored (nulls as the default).
    pub fn value(&self, column: usize, doc: usize) -> Cell {
        let column = &self.columns[column];
        let physical = column.spec.physical;
        let value_of = |id: u32| match &column.dict {
            Some(dict) => dict.values.get(id as usize, physical),
            None => column.spec.default_null.clone(),
        };
        match &column.forward {
            Forward::DictSv(ids) => Cell::One(value_of(*ids.get(doc))),
            Forward::DictMv { ends, ids } => {
                let start = if doc == 0 {
                    0
                } else {
                    *ends.get(doc - 1) as usize
                };
                let end = *ends.get(doc) as usize;
                Cell::Many((start..end).map(|at| value_of(*ids.get(at))).collect())
            }
            Forward::Raw(store) => Cell::One(store.get(doc, physical)),
        }
    }

    /// Whether `doc` was null in `column`.
    pub fn is_null(&self, column: usize, doc: u32) -> bool {
        read(&self.columns[column].nulls).contains(doc)
    }

    /// The dictionary id of `value` in `column`, if the value occurs.
    pub fn dict_id(&self, column: usize, value: &Scalar) -> Option<u32> {
        self.columns[column].dict.as_ref()?.id_of(value)
    }

    /// Visible docs holding dictionary id `id`, from the live inverted index.
    pub fn inverted_docs(&self, column: usize, id: u32) -> Option<RoaringBitmap> {
        let postings = read(self.columns[column].inverted.as_ref()?);
        let num_docs = self.num_docs() as u32;
        let mut docs = postings.get(id as usize).cloned().unwrap_or_default();
        docs.remove_range(num_docs..);
        Some(docs)
    }
}

fn post(column: &MutableColumn, doc: u32, id: u32) {
    if let Some(inverted) = &column.inverted {
        let mut postings = write(inverted);
        if postings.len() <= id as usize {
            postings.resize(id as usize + 1, RoaringBitmap::new());
        }
        postings[id as usize].push(doc);
    }
}

/// Whether column `index` keeps raw values while consuming, though sealed
/// segments give it a dictionary: single-value metric and date-time columns
/// without an inverted index that are not the sorted column. Their values
/// are mostly distinct (amounts, timestamps), so a growing dictionary would
/// cost a hash probe that misses the cache on every row, and buys nothing a
/// scan of raw values does not; sealing builds the dictionary in one sort.
fn raw_while_consuming(spec: &SegmentSpec, index: usize) -> bool {
    let column = &spec.columns[index];
    column.single_value
        && !column.inverted
        && spec.sorted_column != Some(index)
        && matches!(column.role, FieldRole::Metric | FieldRole::DateTime)
}

/// Checks a row against the spec and converts its values to the stored
/// physical types; nulls become the column's default, marked null.
pub(crate) fn conform_row(
    spec: &SegmentSpec,
    row: &[Cell],
) -> std::result::Result<Vec<Conformed>, (String, ValueError)> {
    if row.len() != spec.columns.len() {
        return Err((
            String::new(),
            ValueError::RowLength {
                values: row.len(),
                columns: spec.columns.len(),
            },
        ));
    }
    let mut out = Vec::with_capacity(row.len());
    for (cell, column) in row.iter().zip(&spec.columns) {
        out.push(conform_cell(cell, column).map_err(|reason| (column.name.clone(), reason))?);
    }
    Ok(out)
}

/// Conforms one cell to its column (see [`conform_row`]).
pub(crate) fn conform_cell(
    cell: &Cell,
    spec: &ColumnSpec,
) -> std::result::Result<Conformed, ValueError> {
    Ok(match cell {
        Cell::Null => (CellValues::One(spec.default_null.clone()), true),
        Cell::One(value) => (
            CellValues::One(conform_scalar(value, spec.data_type)?),
            false,
        ),
        Cell::Many(values) if spec.single_value => {
            if values.len() != 1 {
                return Err(ValueError::NotSingle {
                    count: values.len(),
                });
            }
            (
                CellValues::One(conform_scalar(&values[0], spec.data_type)?),
                false,
            )
        }
        Cell::Many(values) if values.is_empty() => {
            (CellValues::One(spec.default_null.clone()), true)
        }
        Cell::Many(values) => {
            let converted: std::result::Result<Vec<Scalar>, ValueError> = values
                .iter()
                .map(|value| conform_scalar(value, spec.data_type))
                .collect();
            (CellValues::Many(converted?), false)
        }
    })
}

pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or(0)
}
