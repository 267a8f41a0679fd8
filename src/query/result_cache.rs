//! Sealed segments' answers to recent queries, kept by the server that
//! computed them, so a dashboard sending the same query again and again
//! scans only what changed since: the consuming segments and the segments
//! sealed in the meantime (a segment-level cache, as Druid's historicals
//! keep).
//!
//! An answer is kept under two things:
//! - the segment's [`SegmentSource::cache_id`], unique to one opened file:
//!   a segment replaced or reloaded under the same name never matches an
//!   answer about its old docs. Consuming segments and the segments of
//!   upsert and dedup tables (whose visible docs change) have none and are
//!   always run;
//! - the plan's wire encoding without its timeout ([`wire::plan_key`]):
//!   equal encodings are equal plans (the wire format's invariant), and a
//!   plan's answer on given docs depends on nothing else. Schema and table
//!   changes plan anew (column types and defaults are in the plan). The
//!   filter is encoded as it stands on the segment
//!   ([`Filter::on_segment`](super::filter::Filter::on_segment)): a
//!   predicate the segment's statistics decide counts by its outcome, so
//!   a dashboard's moving time window still finds the answers of the
//!   sealed segments it covers whole.
//!
//! Besides each segment's answer, the answers of all the sealed segments
//! a query reads are kept merged, under the list of their identities, so
//! a repeated query over the same sealed segments merges nothing again; a
//! segment sealed since changes the list, and the merge is redone from
//! the segments' answers once.
//!
//! Only complete answers reach the cache: a segment stopped by a timeout
//! or a limit fails the query instead. Answers that read fewer than
//! [`MIN_DOCS`] docs, came from a star-tree, or would take more than a
//! sixteenth of the budget are not kept: running them again costs about
//! what a copy does. Past its budget (`--result-cache-bytes`) the cache
//! drops the answers used least recently, and takes a new answer only
//! the second time it is offered, so answers asked for once do not push
//! out the ones in use. `useResultCache=false` bypasses
//! it for one query.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use lru::LruCache;

use super::agg::value_bytes;
use super::exec::{Partial, SegmentStats};
use super::plan::Plan;
use super::source::SegmentSource;
use super::wire;
use crate::sync::Recover;

/// Default `--result-cache-bytes`: 128 MiB.
pub const DEFAULT_BUDGET: u64 = 128 << 20;
/// Fewest docs (read or scanned by the filter) an answer must have cost
/// to be kept.
pub const MIN_DOCS: u64 = 1024;
/// Bytes an entry costs besides its answer and key: the map's slot, the
/// list links, the counts.
const ENTRY_OVERHEAD: u64 = 128;

/// What one segment's answer is kept under: the segment's identity and
/// the plan's key with the filter as it stands on that segment.
pub type SegmentKey = (u64, Arc<[u8]>);

/// Which segments an answer covers, each under its own key.
#[derive(PartialEq, Eq, Hash)]
enum Key {
    One(SegmentKey),
    /// Several, merged in this order.
    Set(Box<[SegmentKey]>),
}

/// A kept answer: one segment's, or several merged, with each segment's
/// statistics as it was run.
#[derive(Debug)]
pub struct Kept {
    pub partial: Partial,
    pub stats: Vec<SegmentStats>,
}

struct Entry {
    answer: Arc<Kept>,
    bytes: u64,
}

struct State {
    entries: LruCache<Key, Entry, foldhash::fast::RandomState>,
    bytes: u64,
    /// Hashes of keys turned away while the cache was full, one per slot
    /// (see [`Lookup::keep`]).
    seen: Vec<u64>,
}

/// Slots of [`State::seen`]: 512 KiB.
const SEEN_SLOTS: usize = 1 << 16;

/// The answers kept, and how often they were asked for.
pub struct ResultCache {
    budget: u64,
    state: Mutex<State>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// What the cache holds and how it has served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub entries: u64,
    pub bytes: u64,
    pub budget: u64,
}

impl ResultCache {
    /// A cache of at most `budget` bytes; 0 keeps nothing.
    pub fn new(budget: u64) -> ResultCache {
        ResultCache {
            budget,
            state: Mutex::new(State {
                entries: LruCache::unbounded_with_hasher(foldhash::fast::RandomState::default()),
                bytes: 0,
                seen: Vec::new(),
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The cache as one query sees it, or `None` when the cache is off or
    /// the query opts out (`useResultCache=false`).
    pub fn lookup(self: &Arc<Self>, plan: &Arc<Plan>) -> Option<Lookup> {
        if self.budget == 0 || !plan.options.use_result_cache {
            return None;
        }
        Some(Lookup {
            cache: self.clone(),
            plan: plan.clone(),
            key: wire::plan_key(plan).into(),
        })
    }

    pub fn stats(&self) -> CacheStats {
        let state = self.state.locked();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: state.entries.len() as u64,
            bytes: state.bytes,
            budget: self.budget,
        }
    }
}

/// One query's view of the cache: its plan and the plan's key.
#[derive(Clone)]
pub struct Lookup {
    cache: Arc<ResultCache>,
    plan: Arc<Plan>,
    key: Arc<[u8]>,
}

impl Lookup {
    /// What `segment`'s answer to this plan is kept under; `None` when
    /// its answers are never kept (it has no [`SegmentSource::cache_id`]).
    /// Predicates the segment's statistics decide are keyed by their
    /// outcome, so a time window that covers a sealed segment whole finds
    /// its answer whatever the window's bounds.
    pub fn segment_key(&self, segment: &dyn SegmentSource) -> Option<SegmentKey> {
        let id = segment.cache_id()?;
        let on_segment = self
            .plan
            .filter
            .as_ref()
            .and_then(|f| f.on_segment(segment));
        let key = match on_segment {
            None => self.key.clone(),
            Some(filter) => wire::plan_key_with(&self.plan, Some(&filter)).into(),
        };
        Some((id, key))
    }

    fn find(&self, key: Key) -> Option<Arc<Kept>> {
        let mut state = self.cache.state.locked();
        state.entries.get(&key).map(|entry| entry.answer.clone())
    }

    /// The kept answer of one segment.
    pub fn get(&self, key: &SegmentKey) -> Option<Arc<Kept>> {
        let found = self.find(Key::One(key.clone()));
        let counter = match found {
            Some(_) => &self.cache.hits,
            None => &self.cache.misses,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// The kept answer of the segments `keys`, merged in this order (see
    /// [`Lookup::put_set`]).
    pub fn get_set(&self, keys: &[SegmentKey]) -> Option<Arc<Kept>> {
        let found = self.find(Key::Set(keys.into()))?;
        self.cache
            .hits
            .fetch_add(keys.len() as u64, Ordering::Relaxed);
        Some(found)
    }

    /// Keeps `answer`, one segment's, if it is worth keeping.
    pub fn put(&self, key: &SegmentKey, answer: &(Partial, SegmentStats)) {
        let stats = &answer.1;
        if stats.star_tree || stats.docs_scanned + stats.entries_in_filter < MIN_DOCS {
            return;
        }
        let kept = Kept {
            partial: answer.0.clone(),
            stats: vec![answer.1],
        };
        self.keep(Key::One(key.clone()), Arc::new(kept));
    }

    /// Keeps `merged`, the answers of the segments `keys` merged in this
    /// order, so that the next query over the same segments merges
    /// nothing: the parts merged make the same answer in the same order
    /// either way. Gives it back shared.
    pub fn put_set(&self, keys: Vec<SegmentKey>, merged: Kept) -> Arc<Kept> {
        let merged = Arc::new(merged);
        self.keep(Key::Set(keys.into()), merged.clone());
        merged
    }

    fn keep(&self, key: Key, answer: Arc<Kept>) {
        let key_bytes: u64 = match &key {
            Key::One((_, plan)) => 8 + plan.len() as u64,
            Key::Set(keys) => keys.iter().map(|(_, plan)| 8 + plan.len() as u64).sum(),
        };
        let bytes = partial_bytes(&answer.partial)
            + answer.stats.len() as u64 * std::mem::size_of::<SegmentStats>() as u64
            + key_bytes
            + ENTRY_OVERHEAD;
        let cache = &self.cache;
        if bytes > cache.budget / 16 {
            return;
        }
        let mut state = cache.state.locked();
        // Once full, the cache takes an answer only the second time it is
        // offered: answers asked for once (a window whose bounds move cuts
        // through a segment differently each time) do not push out the
        // ones asked for again and again.
        if state.bytes.saturating_add(bytes) > cache.budget && !state.entries.contains(&key) {
            let hash = foldhash::fast::FixedState::default().hash_one(&key);
            if state.seen.is_empty() {
                state.seen = vec![0; SEEN_SLOTS];
            }
            let slot = &mut state.seen[hash as usize % SEEN_SLOTS];
            if *slot != hash {
                *slot = hash;
                return;
            }
        }
        if let Some(old) = state.entries.put(key, Entry { answer, bytes }) {
            state.bytes -= old.bytes;
        }
        state.bytes += bytes;
        while state.bytes > cache.budget {
            match state.entries.pop_lru() {
                Some((_, dropped)) => state.bytes -= dropped.bytes,
                None => break,
            }
        }
    }
}

/// Bytes `partial` takes in memory, estimated.
pub fn partial_bytes(partial: &Partial) -> u64 {
    match partial {
        Partial::Groups(groups) => {
            groups.keys.iter().map(value_bytes).sum::<u64>()
                + groups.accs.iter().map(|acc| acc.bytes()).sum::<u64>()
        }
        Partial::Rows(rows) => rows
            .iter()
            .map(|row| {
                2 * std::mem::size_of::<Vec<u8>>() as u64
                    + row.values.iter().map(value_bytes).sum::<u64>()
                    + row.order.iter().map(value_bytes).sum::<u64>()
            })
            .sum(),
    }
}

#[cfg(test)]
#[path = "result_cache_tests.rs"]
mod tests;
