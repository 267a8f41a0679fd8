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
//!   changes plan anew (column types and defaults are in the plan).
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
//! drops the answers used least recently. `useResultCache=false` bypasses
//! it for one query.

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

/// Which segments an answer covers.
#[derive(PartialEq, Eq, Hash)]
enum Scope {
    One(u64),
    /// Several, merged in this order.
    Set(Box<[u64]>),
}

#[derive(PartialEq, Eq, Hash)]
struct Key {
    scope: Scope,
    plan: Arc<[u8]>,
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
}

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
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The cache as one query sees it, or `None` when the cache is off or
    /// the query opts out (`useResultCache=false`).
    pub fn lookup(self: &Arc<Self>, plan: &Plan) -> Option<Lookup> {
        if self.budget == 0 || !plan.options.use_result_cache {
            return None;
        }
        Some(Lookup {
            cache: self.clone(),
            plan: wire::plan_key(plan).into(),
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

/// One query's plan key, to find and keep its answers by segment.
#[derive(Clone)]
pub struct Lookup {
    cache: Arc<ResultCache>,
    plan: Arc<[u8]>,
}

impl Lookup {
    /// Whether `segment`'s answers may be kept at all.
    pub fn covers(&self, segment: &dyn SegmentSource) -> bool {
        segment.cache_id().is_some()
    }

    fn find(&self, scope: Scope) -> Option<Arc<Kept>> {
        let key = Key {
            scope,
            plan: self.plan.clone(),
        };
        let mut state = self.cache.state.locked();
        state.entries.get(&key).map(|entry| entry.answer.clone())
    }

    /// The kept answer of this plan on `segment`.
    pub fn get(&self, segment: &dyn SegmentSource) -> Option<Arc<Kept>> {
        let found = self.find(Scope::One(segment.cache_id()?));
        let counter = match found {
            Some(_) => &self.cache.hits,
            None => &self.cache.misses,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// The kept answer of this plan on the segments `ids`, merged in
    /// this order (see [`Lookup::put_set`]).
    pub fn get_set(&self, ids: &[u64]) -> Option<Arc<Kept>> {
        let found = self.find(Scope::Set(ids.into()))?;
        self.cache
            .hits
            .fetch_add(ids.len() as u64, Ordering::Relaxed);
        Some(found)
    }

    /// Keeps `answer`, this plan's on `segment`, if it is worth keeping.
    pub fn put(&self, segment: &dyn SegmentSource, answer: &(Partial, SegmentStats)) {
        let Some(id) = segment.cache_id() else {
            return;
        };
        let stats = &answer.1;
        if stats.star_tree || stats.docs_scanned + stats.entries_in_filter < MIN_DOCS {
            return;
        }
        let kept = Kept {
            partial: answer.0.clone(),
            stats: vec![answer.1],
        };
        self.keep(Scope::One(id), Arc::new(kept));
    }

    /// Keeps `merged`, the answers of this plan on the segments `ids`
    /// merged in this order, so that the next query over the same
    /// segments merges nothing: the parts merged make the same answer
    /// in the same order either way. Gives it back shared.
    pub fn put_set(&self, ids: Vec<u64>, merged: Kept) -> Arc<Kept> {
        let merged = Arc::new(merged);
        self.keep(Scope::Set(ids.into()), merged.clone());
        merged
    }

    fn keep(&self, scope: Scope, answer: Arc<Kept>) {
        let scope_bytes = match &scope {
            Scope::One(_) => 0,
            Scope::Set(ids) => ids.len() as u64 * 8,
        };
        let bytes = partial_bytes(&answer.partial)
            + answer.stats.len() as u64 * std::mem::size_of::<SegmentStats>() as u64
            + scope_bytes
            + self.plan.len() as u64
            + ENTRY_OVERHEAD;
        let cache = &self.cache;
        if bytes > cache.budget / 16 {
            return;
        }
        let key = Key {
            scope,
            plan: self.plan.clone(),
        };
        let mut state = cache.state.locked();
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
