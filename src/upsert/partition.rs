//! One stream partition's upsert state: the key map, and for each of the
//! partition's segments the docs queries see (`valid`: the latest version
//! of each key, unless it deletes the key) and the latest versions that
//! are deletes (`deletes`, kept so older versions arriving late still
//! lose).
//!
//! The consumer changes the state under its lock, a batch at a time
//! ([`PartitionUpsert::change`]); queries read a [`View`], a published
//! copy of every segment with its valid docs and the number of docs the
//! state has taken in, rebuilt at most once per change (while a batch
//! holds the lock, a query takes the last view if it is under 20 ms old).
//! A view is whole: a key that moved from one segment to another is never
//! seen twice or not at all.
//!
//! Docs keep their arrival order when a segment seals (upsert tables are
//! not re-sorted), so a location stays right when a consuming segment is
//! swapped for its sealed file.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, TryLockError};

use roaring::RoaringBitmap;

use super::key::{primary_key, Keys, PrimaryKey};
use super::keymap::{GrowError, Location, MAX_SEGMENT};
use super::spec::{Mode, UpsertSpec};
use crate::segment::{conform_scalar, Cell, ImmutableSegment, MutableSegment, Scalar};
use crate::sync::{Recover, RecoverRw};

/// A segment of the partition, consuming or sealed.
#[derive(Clone)]
pub enum Form {
    Consuming(Arc<MutableSegment>),
    Sealed(Arc<ImmutableSegment>),
}

impl Form {
    /// The value(s) of `column` in `doc`, `None` when null.
    pub fn cell(&self, column: usize, doc: u32) -> Option<Cell> {
        match self {
            Form::Consuming(segment) => {
                (!segment.is_null(column, doc)).then(|| segment.value(column, doc as usize))
            }
            Form::Sealed(segment) => segment.cell(column, doc),
        }
    }

    /// The key of `doc`.
    fn key(&self, spec: &UpsertSpec, doc: u32) -> Option<PrimaryKey> {
        let cells: Vec<Cell> = spec
            .key_columns
            .iter()
            .map(|column| self.cell(*column, doc).unwrap_or(Cell::Null))
            .collect();
        primary_key(spec.exact_keys, &cells)
    }
}

/// A segment as a query sees it.
#[derive(Clone)]
pub struct ViewSegment {
    pub name: String,
    pub form: Form,
    /// Docs the state has taken in (a consuming segment may hold more).
    pub docs: usize,
    pub valid: Arc<RoaringBitmap>,
}

/// Every segment of the partition at one moment.
#[derive(Clone, Default)]
pub struct View {
    pub segments: Vec<ViewSegment>,
}

struct Tracked {
    name: String,
    form: Form,
    docs: u32,
    valid: RoaringBitmap,
    deletes: RoaringBitmap,
    published: Option<Arc<RoaringBitmap>>,
    /// Docs that arrived older than the version held: never valid, and
    /// left out of exports (they never replaced anything).
    rejected: RoaringBitmap,
    /// Until the segment is committed: each location one of its docs
    /// displaced, and whether that was a delete. Undoing them gives the
    /// state as of the commit before it (see [`State::as_of_commit`]).
    undo: Option<Vec<(Location, bool)>>,
    /// Its keys left the map (metadataTTL): its docs stay as they are.
    expired: bool,
}

/// What applying a doc did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// A key not seen before.
    New,
    /// A newer version of a key.
    Replaced,
    /// An older version than the one held: it stays out of queries.
    OutOfOrder,
    /// A doc without a key (a null key column): it stays out of queries.
    NoKey,
}

/// What to do with a decoded row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Append it; then [`State::apply`] it with this key (`None`: read it
    /// from the stored row).
    Append(Option<PrimaryKey>),
    /// A dedup table has its key already.
    Duplicate,
    /// Older than the version held, with `dropOutOfOrderRecord`.
    Late,
    /// A primary key column is null.
    NoKey,
}

/// One segment's docs as of a commit, for a snapshot.
#[derive(Debug)]
pub struct SegmentBitmaps {
    pub name: String,
    pub docs: u32,
    pub valid: RoaringBitmap,
    pub deletes: RoaringBitmap,
    pub rejected: RoaringBitmap,
}

/// The writer's side of a partition's state.
pub struct State {
    spec: Arc<UpsertSpec>,
    keys: Keys,
    segments: BTreeMap<u32, Tracked>,
    next_id: u32,
    /// The largest value of the first comparison column seen, for TTLs.
    largest: Option<f64>,
}

impl State {
    pub fn new(spec: Arc<UpsertSpec>) -> Result<State, GrowError> {
        Ok(State {
            keys: Keys::new(spec.exact_keys)?,
            spec,
            segments: BTreeMap::new(),
            next_id: 0,
            largest: None,
        })
    }

    /// Keys in the map.
    pub fn keys(&self) -> usize {
        self.keys.len()
    }

    /// Bytes of the key map.
    pub fn key_bytes(&self) -> usize {
        self.keys.bytes()
    }

    /// Starts tracking a segment with none of its docs taken in yet; its
    /// displacements are recorded until [`State::committed`].
    pub fn add(&mut self, name: String, form: Form, committed: bool) -> u32 {
        // A name is tracked once: a consuming segment dropped before it
        // took a doc leaves its name to the next one.
        if let Some(old) = self.id_of(&name) {
            self.drop_empty(old);
        }
        let id = self.next_id;
        self.next_id = (self.next_id + 1).min(MAX_SEGMENT);
        self.segments.insert(
            id,
            Tracked {
                name,
                form,
                docs: 0,
                valid: RoaringBitmap::new(),
                deletes: RoaringBitmap::new(),
                published: None,
                rejected: RoaringBitmap::new(),
                undo: (!committed).then(Vec::new),
                expired: false,
            },
        );
        id
    }

    fn id_of(&self, name: &str) -> Option<u32> {
        self.segments
            .iter()
            .find(|(_, tracked)| tracked.name == name)
            .map(|(id, _)| *id)
    }

    /// The comparison values of `doc`, one per comparison column.
    fn comparison(&self, form: &Form, doc: u32) -> Vec<Option<Scalar>> {
        self.spec
            .comparison_columns
            .iter()
            .map(|column| match form.cell(*column, doc) {
                Some(Cell::One(value)) => Some(value),
                _ => None,
            })
            .collect()
    }

    fn is_delete(&self, form: &Form, doc: u32) -> bool {
        self.spec
            .delete_column
            .is_some_and(|column| truthy(form.cell(column, doc)))
    }

    /// Takes in doc `doc` of segment `id` (the next one not taken in):
    /// it becomes its key's location if it is at least as new as the
    /// version held.
    /// `key` is the doc's key when the caller has it (from
    /// [`State::admit`]); otherwise it is read from the segment.
    pub fn apply(
        &mut self,
        id: u32,
        doc: u32,
        key: Option<PrimaryKey>,
    ) -> Result<Applied, GrowError> {
        let Some(tracked) = self.segments.get(&id) else {
            return Ok(Applied::NoKey);
        };
        let form = tracked.form.clone();
        let applied = self.place(id, &form, doc, key)?;
        if let Some(tracked) = self.segments.get_mut(&id) {
            tracked.docs = tracked.docs.max(doc + 1);
            if applied == Applied::OutOfOrder && self.spec.mode != Mode::Dedup {
                tracked.rejected.insert(doc);
            }
        }
        Ok(applied)
    }

    /// Where the key of `doc` now is: `doc` itself, unless the version held
    /// is newer (`compare`) or `doc` has no key.
    fn place(
        &mut self,
        id: u32,
        form: &Form,
        doc: u32,
        key: Option<PrimaryKey>,
    ) -> Result<Applied, GrowError> {
        let Some(key) = key.or_else(|| form.key(&self.spec, doc)) else {
            return Ok(Applied::NoKey);
        };
        let new = self.comparison(form, doc);
        if let Some(Some(first)) = new.first() {
            if let Some(value) = first.as_f64() {
                self.largest = Some(self.largest.map_or(value, |largest| largest.max(value)));
            }
        }
        let location = Location { segment: id, doc };
        let held = self.keys.get(&key);
        if held.is_some() && self.spec.mode == Mode::Dedup {
            // The first version stays; a later one only gets here after the
            // first left the map (metadataTTL), and is kept too.
            if let Some(tracked) = self.segments.get_mut(&id) {
                tracked.valid.insert(doc);
                tracked.published = None;
            }
            return Ok(Applied::OutOfOrder);
        }
        let applied = match held {
            Some(held) => {
                let Some(old) = self.segments.get(&held.segment) else {
                    return Ok(Applied::NoKey);
                };
                let old_form = old.form.clone();
                if !newer(&new, &self.comparison(&old_form, held.doc)) {
                    return Ok(Applied::OutOfOrder);
                }
                let was_delete = self.is_delete(&old_form, held.doc);
                if let Some(old) = self.segments.get_mut(&held.segment) {
                    old.valid.remove(held.doc);
                    old.deletes.remove(held.doc);
                    old.published = None;
                }
                if let Some(undo) = self
                    .segments
                    .get_mut(&id)
                    .and_then(|tracked| tracked.undo.as_mut())
                {
                    undo.push((held, was_delete));
                }
                Applied::Replaced
            }
            None => Applied::New,
        };
        self.keys.insert(&key, location)?;
        let delete = self.is_delete(form, doc);
        if let Some(tracked) = self.segments.get_mut(&id) {
            if delete {
                tracked.deletes.insert(doc);
            } else {
                tracked.valid.insert(doc);
            }
            tracked.published = None;
        }
        Ok(applied)
    }

    /// Adds a sealed segment whose latest versions are known (`valid` and
    /// `deletes` from a snapshot): their keys go in the map as they are.
    pub fn restore(
        &mut self,
        name: String,
        segment: Arc<ImmutableSegment>,
        bitmaps: SegmentBitmaps,
    ) -> Result<(), GrowError> {
        let SegmentBitmaps {
            valid,
            deletes,
            rejected,
            ..
        } = bitmaps;
        let id = self.add(name, Form::Sealed(segment.clone()), true);
        // The key columns are opened once for all the docs.
        let views: Vec<_> = self
            .spec
            .key_columns
            .iter()
            .map(|column| segment.column(*column))
            .collect();
        let mut cells = Vec::with_capacity(views.len());
        for doc in valid.iter().chain(deletes.iter()) {
            cells.clear();
            cells.extend(views.iter().map(|view| {
                if view.is_null(doc) {
                    Cell::Null
                } else {
                    view.value(doc as usize)
                }
            }));
            if let Some(key) = primary_key(self.spec.exact_keys, &cells) {
                self.keys.insert(&key, Location { segment: id, doc })?;
            }
        }
        self.note_largest(&segment);
        if let Some(tracked) = self.segments.get_mut(&id) {
            tracked.docs = segment.num_docs() as u32;
            tracked.valid = valid;
            tracked.deletes = deletes;
            tracked.rejected = rejected;
        }
        Ok(())
    }

    /// Adds a sealed segment by taking in its docs in order, as the
    /// consumer did.
    pub fn replay(
        &mut self,
        name: String,
        segment: Arc<ImmutableSegment>,
    ) -> Result<(), GrowError> {
        let id = self.add(name, Form::Sealed(segment.clone()), true);
        for doc in 0..segment.num_docs() as u32 {
            self.apply(id, doc, None)?;
        }
        Ok(())
    }

    fn note_largest(&mut self, segment: &ImmutableSegment) {
        let Some(column) = self.spec.comparison_columns.first() else {
            return;
        };
        let max = segment.meta().columns[*column]
            .max
            .as_ref()
            .and_then(|max| max.as_f64());
        if let Some(max) = max {
            self.largest = Some(self.largest.map_or(max, |largest| largest.max(max)));
        }
    }

    /// Segment `name` is committed: sealed as `sealed`, or (`None`) with no
    /// docs at all, in which case it is dropped.
    pub fn committed(&mut self, name: &str, sealed: Option<Arc<ImmutableSegment>>) {
        let Some(id) = self.id_of(name) else {
            return;
        };
        match sealed {
            Some(segment) => {
                if let Some(tracked) = self.segments.get_mut(&id) {
                    tracked.form = Form::Sealed(segment);
                    tracked.undo = None;
                }
            }
            None => self.forget(id),
        }
    }

    /// Stops tracking segment `id` if it took no doc and is not committed
    /// (a consuming segment rolled over empty).
    pub fn drop_empty(&mut self, id: u32) {
        let empty = self
            .segments
            .get(&id)
            .is_some_and(|tracked| tracked.docs == 0 && tracked.undo.is_some());
        if empty {
            self.forget(id);
        }
    }

    /// Whether segment `name` is tracked.
    pub fn holds(&self, name: &str) -> bool {
        self.id_of(name).is_some()
    }

    /// Takes out every segment not committed yet, newest first, undoing
    /// what its docs did: the keys it placed leave the map and the
    /// locations it displaced come back, so the state is as of the last
    /// commit. Returns how many segments went.
    ///
    /// In a cluster this is how a consumer that follows another server's
    /// commit (or whose own commit was fenced) drops what it consumed
    /// since, before it takes in the committed segment.
    pub fn discard_uncommitted(&mut self) -> Result<usize, GrowError> {
        let ids: Vec<u32> = self
            .segments
            .iter()
            .rev()
            .filter(|(_, tracked)| tracked.undo.is_some())
            .map(|(id, _)| *id)
            .collect();
        for id in &ids {
            let Some(tracked) = self.segments.remove(id) else {
                continue;
            };
            self.keys.retain(|location| location.segment != *id);
            for (location, was_delete) in tracked.undo.into_iter().flatten().rev() {
                let Some(old) = self.segments.get_mut(&location.segment) else {
                    continue;
                };
                if was_delete {
                    old.deletes.insert(location.doc);
                } else {
                    old.valid.insert(location.doc);
                }
                old.published = None;
                let form = old.form.clone();
                if let Some(key) = form.key(&self.spec, location.doc) {
                    self.keys.insert(&key, location)?;
                }
            }
        }
        Ok(ids.len())
    }

    /// Segment `name` left the table (retention, deletion): its keys leave
    /// the map.
    pub fn remove(&mut self, name: &str) {
        if let Some(id) = self.id_of(name) {
            self.forget(id);
        }
    }

    fn forget(&mut self, id: u32) {
        self.keys.retain(|location| location.segment != id);
        self.segments.remove(&id);
    }

    /// The valid and delete docs of segment `name` and every segment
    /// before it as they were right after `name`'s last doc: the
    /// displacements made by the segments after it are undone.
    pub fn as_of_commit(&self, name: &str) -> Vec<SegmentBitmaps> {
        let Some(upto) = self.id_of(name) else {
            return Vec::new();
        };
        let mut out: BTreeMap<u32, SegmentBitmaps> = self
            .segments
            .range(..=upto)
            .map(|(id, tracked)| {
                (
                    *id,
                    SegmentBitmaps {
                        name: tracked.name.clone(),
                        docs: tracked.docs,
                        valid: tracked.valid.clone(),
                        deletes: tracked.deletes.clone(),
                        rejected: tracked.rejected.clone(),
                    },
                )
            })
            .collect();
        for (_, later) in self.segments.range(upto + 1..) {
            for (location, was_delete) in later.undo.iter().flatten() {
                if let Some(bitmaps) = out.get_mut(&location.segment) {
                    if *was_delete {
                        bitmaps.deletes.insert(location.doc);
                    } else {
                        bitmaps.valid.insert(location.doc);
                    }
                }
            }
        }
        out.into_values().collect()
    }

    /// Applies the TTLs: sealed segments whose newest comparison value is
    /// older than the largest seen minus `metadataTTL` take their keys out
    /// of the map (their docs stay as they are); deletes older than the
    /// largest minus `deletedKeysTTL` are forgotten.
    pub fn expire(&mut self) {
        let Some(largest) = self.largest else {
            return;
        };
        let Some(column) = self.spec.comparison_columns.first().copied() else {
            return;
        };
        if let Some(ttl) = self.spec.metadata_ttl {
            let cutoff = largest - ttl;
            let old: Vec<u32> = self
                .segments
                .iter()
                .filter(|(_, tracked)| !tracked.expired && tracked.undo.is_none())
                .filter(|(_, tracked)| match &tracked.form {
                    Form::Sealed(segment) => segment.meta().columns[column]
                        .max
                        .as_ref()
                        .and_then(|max| max.as_f64())
                        .is_some_and(|max| max < cutoff),
                    Form::Consuming(_) => false,
                })
                .map(|(id, _)| *id)
                .collect();
            if !old.is_empty() {
                self.keys
                    .retain(|location| !old.contains(&location.segment));
                for id in old {
                    if let Some(tracked) = self.segments.get_mut(&id) {
                        tracked.expired = true;
                    }
                }
            }
        }
        if let Some(ttl) = self.spec.deleted_keys_ttl {
            let cutoff = largest - ttl;
            let mut gone: Vec<(u32, u32, PrimaryKey)> = Vec::new();
            for (id, tracked) in &self.segments {
                if tracked.undo.is_some() {
                    continue;
                }
                for doc in tracked.deletes.iter() {
                    let value = match tracked.form.cell(column, doc) {
                        Some(Cell::One(value)) => value.as_f64(),
                        _ => None,
                    };
                    if value.is_some_and(|value| value < cutoff) {
                        if let Some(key) = tracked.form.key(&self.spec, doc) {
                            gone.push((*id, doc, key));
                        }
                    }
                }
            }
            let drop: std::collections::HashSet<(u32, u32)> =
                gone.iter().map(|(id, doc, _)| (*id, *doc)).collect();
            if !drop.is_empty() {
                self.keys
                    .retain(|location| !drop.contains(&(location.segment, location.doc)));
                for (id, doc, _) in gone {
                    if let Some(tracked) = self.segments.get_mut(&id) {
                        tracked.deletes.remove(doc);
                    }
                }
            }
        }
    }

    /// The docs of segment `name` that arrived older than the version held.
    pub fn rejected(&self, name: &str) -> Option<RoaringBitmap> {
        let id = self.id_of(name)?;
        self.segments
            .get(&id)
            .map(|tracked| tracked.rejected.clone())
    }

    /// Whether a decoded row (cells in column order) is to be appended:
    /// not when a key column is null, nor when a dedup table has its key
    /// already. A partial upsert's row that is newer than the version held
    /// is merged into it here.
    pub fn admit(&self, row: &mut [Cell]) -> Admit {
        let mut key_cells: Vec<Cell> = Vec::with_capacity(self.spec.key_columns.len());
        for (column, data_type) in self.spec.key_columns.iter().zip(&self.spec.key_types) {
            key_cells.push(match row.get(*column) {
                Some(Cell::One(value)) => match conform_scalar(value, *data_type) {
                    Ok(value) => Cell::One(value),
                    // Appending reports the bad value.
                    Err(_) => return Admit::Append(None),
                },
                Some(other) => other.clone(),
                None => Cell::Null,
            });
        }
        let Some(key) = primary_key(self.spec.exact_keys, &key_cells) else {
            return Admit::NoKey;
        };
        let plain = self.spec.mode == Mode::Full
            && !self.spec.drop_out_of_order
            && self.spec.out_of_order_column.is_none();
        if plain {
            return Admit::Append(Some(key));
        }
        let held = self.keys.get(&key);
        if self.spec.mode == Mode::Dedup {
            return if held.is_some() {
                Admit::Duplicate
            } else {
                Admit::Append(Some(key))
            };
        }
        let previous = held.and_then(|held| {
            let form = &self.segments.get(&held.segment)?.form;
            Some((form, held.doc))
        });
        let late = previous.is_some_and(|(form, doc)| {
            let new: Vec<Option<Scalar>> = self
                .spec
                .comparison_columns
                .iter()
                .map(|column| match row.get(*column) {
                    Some(Cell::One(value)) => Some(value.clone()),
                    _ => None,
                })
                .collect();
            !newer(&new, &self.comparison(form, doc))
        });
        if late && self.spec.drop_out_of_order {
            return Admit::Late;
        }
        if let Some(column) = self.spec.out_of_order_column {
            if let Some(cell) = row.get_mut(column) {
                *cell = Cell::One(Scalar::I32(late as i32));
            }
        }
        if let (Mode::Partial(strategies), Some((form, doc)), false) =
            (&self.spec.mode, previous, late)
        {
            // After a delete the key starts afresh.
            if !self.is_delete(form, doc) {
                let old: Vec<Option<Cell>> = (0..row.len())
                    .map(|column| form.cell(column, doc))
                    .collect();
                super::partial::merge(strategies, &self.spec.key_columns, &old, row);
            }
        }
        Admit::Append(Some(key))
    }

    fn view(&mut self) -> View {
        View {
            segments: self
                .segments
                .values_mut()
                .map(|tracked| ViewSegment {
                    name: tracked.name.clone(),
                    form: tracked.form.clone(),
                    docs: tracked.docs as usize,
                    valid: tracked
                        .published
                        .get_or_insert_with(|| Arc::new(tracked.valid.clone()))
                        .clone(),
                })
                .collect(),
        }
    }
}

/// Whether a version with comparison values `new` replaces one with `old`:
/// the first column where both have a value decides (equal values: the
/// later version wins); with none, the later one wins.
pub fn newer(new: &[Option<Scalar>], old: &[Option<Scalar>]) -> bool {
    for (new, old) in new.iter().zip(old) {
        if let (Some(new), Some(old)) = (new, old) {
            return compare(new, old).is_ge();
        }
    }
    true
}

/// Orders two values, numbers by value whatever their width.
pub(super) fn compare(a: &Scalar, b: &Scalar) -> std::cmp::Ordering {
    match (a, b) {
        (Scalar::I32(_) | Scalar::I64(_), Scalar::I32(_) | Scalar::I64(_)) => {
            integer(a).cmp(&integer(b))
        }
        (Scalar::Str(_) | Scalar::Bytes(_), _) | (_, Scalar::Str(_) | Scalar::Bytes(_)) => {
            a.total_cmp(b)
        }
        _ => a
            .as_f64()
            .unwrap_or(f64::NAN)
            .total_cmp(&b.as_f64().unwrap_or(f64::NAN)),
    }
}

fn integer(value: &Scalar) -> i64 {
    match value {
        Scalar::I32(v) => *v as i64,
        Scalar::I64(v) => *v,
        _ => 0,
    }
}

/// Whether a delete column's value says "delete".
fn truthy(cell: Option<Cell>) -> bool {
    match cell {
        Some(Cell::One(Scalar::I32(v))) => v != 0,
        Some(Cell::One(Scalar::I64(v))) => v != 0,
        Some(Cell::One(Scalar::Str(v))) => v.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// A partition's state and its published view.
pub struct PartitionUpsert {
    state: Mutex<State>,
    view: RwLock<Arc<View>>,
    stale: AtomicBool,
    /// When the view was last rebuilt (epoch millis; 0 before the first).
    published_at: AtomicI64,
}

/// How old a view may be when a query takes it instead of waiting for the
/// consumer's batch to finish.
pub const MAX_VIEW_AGE_MS: i64 = 20;

impl PartitionUpsert {
    pub fn new(state: State) -> PartitionUpsert {
        PartitionUpsert {
            state: Mutex::new(state),
            view: RwLock::new(Arc::new(View::default())),
            stale: AtomicBool::new(true),
            published_at: AtomicI64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.locked()
    }

    /// Runs `change` on the state; queries see its effects whole.
    pub fn change<R>(&self, change: impl FnOnce(&mut State) -> R) -> R {
        let mut state = self.lock();
        let out = change(&mut state);
        self.stale.store(true, Ordering::Release);
        out
    }

    /// Reads the state without changing it.
    pub fn read<R>(&self, read: impl FnOnce(&State) -> R) -> R {
        read(&self.lock())
    }

    /// The latest view. While the consumer is in the middle of a batch the
    /// view published before it is returned rather than waiting, as long
    /// as that one is younger than [`MAX_VIEW_AGE_MS`].
    pub fn view(&self) -> Arc<View> {
        if self.stale.load(Ordering::Acquire) {
            let now = crate::segment::now_millis();
            let young = now - self.published_at.load(Ordering::Acquire) < MAX_VIEW_AGE_MS;
            let state = match self.state.try_lock() {
                Ok(state) => Some(state),
                Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
                Err(TryLockError::WouldBlock) if young => None,
                Err(TryLockError::WouldBlock) => Some(self.lock()),
            };
            if let Some(mut state) = state {
                if self.stale.swap(false, Ordering::AcqRel) {
                    let view = Arc::new(state.view());
                    *self.view.write_locked() = view.clone();
                    self.published_at.store(now, Ordering::Release);
                    return view;
                }
            }
        }
        self.view.read_locked().clone()
    }
}
