//! What the result cache keeps, under which key, and what it drops.

use std::sync::Arc;

use super::*;
use crate::catalog::{self, Schema};
use crate::expr::value::Value;
use crate::query::agg::Acc;
use crate::query::exec::Groups;
use crate::query::options::QueryOptions;
use crate::query::source::ColumnSource;
use crate::query::sql::{self, Route, TableColumns};

const SCHEMA: &str = include_str!("../../tests/sql/data/trades.schema.json");

/// A segment as far as the cache looks at it.
struct Segment(Option<u64>);

impl SegmentSource for Segment {
    fn name(&self) -> &str {
        "s"
    }
    fn num_docs(&self) -> usize {
        0
    }
    fn consuming_since(&self) -> Option<i64> {
        None
    }
    fn column(&self, _: &str) -> Option<Box<dyn ColumnSource + '_>> {
        None
    }
    fn cache_id(&self) -> Option<u64> {
        self.0
    }
}

fn plan(sql_text: &str, options: &str) -> Arc<Plan> {
    let schema: catalog::Parsed<Schema> = catalog::parse(SCHEMA.as_bytes(), "schema").unwrap();
    let table = TableColumns::of_schema("trades", &schema.value);
    let mut query_options = QueryOptions::default();
    query_options.apply_string(options).unwrap();
    let Route::Single { query, .. } = sql::parse(sql_text, &mut query_options).unwrap() else {
        panic!("{sql_text} is not single-stage");
    };
    Arc::new(sql::plan(&query, &table, query_options).unwrap())
}

/// The key of segment `id` (one without statistics) for `lookup`.
fn key(lookup: &Lookup, id: u64) -> SegmentKey {
    lookup.segment_key(&Segment(Some(id))).unwrap()
}

/// An answer of `groups` groups that read `docs` docs.
fn answer(groups: usize, docs: u64) -> (Partial, SegmentStats) {
    let mut acc = Acc::Sum(Vec::new());
    acc.resize(groups);
    let groups = Groups {
        arity: 1,
        keys: (0..groups)
            .map(|i| Value::Str(format!("S{i:05}")))
            .collect(),
        accs: vec![acc],
        len: groups,
        sorted: true,
    };
    let stats = SegmentStats {
        docs_scanned: docs,
        ..SegmentStats::default()
    };
    (Partial::Groups(groups), stats)
}

fn keys(partial: &Partial) -> Vec<Value> {
    match partial {
        Partial::Groups(groups) => groups.keys.clone(),
        Partial::Rows(_) => panic!("rows"),
    }
}

const SQL: &str = "SELECT symbol, SUM(shares) FROM trades GROUP BY symbol";

#[test]
fn an_answer_kept_is_found_by_the_same_plan_and_segment_only() {
    let cache = Arc::new(ResultCache::new(DEFAULT_BUDGET));
    let lookup = cache.lookup(&plan(SQL, "")).unwrap();
    let (one, two) = (key(&lookup, 1), key(&lookup, 2));
    assert!(lookup.get(&one).is_none());
    let kept = answer(3, 5000);
    lookup.put(&one, &kept);
    assert_eq!(
        lookup.get(&one).map(|a| keys(&a.partial)),
        Some(keys(&kept.0))
    );
    assert!(lookup.get(&two).is_none());
    // The same query with another timeout answers the same.
    let later = cache.lookup(&plan(SQL, "timeoutMs=77")).unwrap();
    assert!(later.get(&key(&later, 1)).is_some());
    // Anything else in the plan is another question.
    for (other_sql, options) in [
        (SQL, "numGroupsLimit=2"),
        (SQL, "useStarTree=false"),
        (
            "SELECT symbol, SUM(shares) FROM trades WHERE price > 1 GROUP BY symbol",
            "",
        ),
        ("SELECT symbol, MAX(shares) FROM trades GROUP BY symbol", ""),
    ] {
        let other = cache.lookup(&plan(other_sql, options)).unwrap();
        assert!(
            other.get(&key(&other, 1)).is_none(),
            "{other_sql} {options}"
        );
    }
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.entries), (2, 6, 1));
    assert!(stats.bytes > 0 && stats.bytes <= stats.budget);
}

#[test]
fn segments_without_an_identity_and_cheap_answers_are_not_kept() {
    let cache = Arc::new(ResultCache::new(DEFAULT_BUDGET));
    let lookup = cache.lookup(&plan(SQL, "")).unwrap();
    assert!(lookup.segment_key(&Segment(None)).is_none());
    let sealed = key(&lookup, 1);
    lookup.put(&sealed, &answer(3, MIN_DOCS - 1));
    assert!(lookup.get(&sealed).is_none());
    let mut star_tree = answer(3, 1 << 20);
    star_tree.1.star_tree = true;
    lookup.put(&sealed, &star_tree);
    assert!(lookup.get(&sealed).is_none());
    assert_eq!(cache.stats().entries, 0);
}

#[test]
fn a_query_may_opt_out_and_a_zero_budget_keeps_nothing() {
    let cache = Arc::new(ResultCache::new(DEFAULT_BUDGET));
    assert!(cache.lookup(&plan(SQL, "useResultCache=false")).is_none());
    let off = Arc::new(ResultCache::new(0));
    assert!(off.lookup(&plan(SQL, "")).is_none());
}

#[test]
fn past_its_budget_the_least_recently_used_answers_go() {
    // A budget of about sixteen answers, each under a sixteenth of it.
    let one = partial_bytes(&answer(100, MIN_DOCS).0);
    let budget = 16 * (one + 1024);
    let cache = Arc::new(ResultCache::new(budget));
    let lookup = cache.lookup(&plan(SQL, "")).unwrap();
    for id in 0..40 {
        // Once full, an answer is taken the second time it is offered.
        let full = cache.stats().bytes + one > budget;
        lookup.put(&key(&lookup, id), &answer(100, MIN_DOCS));
        assert_eq!(lookup.get(&key(&lookup, id)).is_some(), !full, "{id}");
        lookup.put(&key(&lookup, id), &answer(100, MIN_DOCS));
        // Segment 0 is read after every insert: always the most recent.
        assert!(lookup.get(&key(&lookup, 0)).is_some(), "after {id}");
        let stats = cache.stats();
        assert!(stats.bytes <= budget, "{stats:?}");
    }
    let stats = cache.stats();
    let per_entry = stats.bytes / stats.entries;
    let kept: Vec<u64> = (0..40)
        .filter(|id| lookup.get(&key(&lookup, *id)).is_some())
        .collect();
    assert_eq!(kept.len() as u64, budget / per_entry, "{kept:?}");
    assert_eq!(kept[0], 0);
    // The rest are the newest, in one run.
    assert!(kept[1..].windows(2).all(|pair| pair[1] == pair[0] + 1));
    assert_eq!(*kept.last().unwrap(), 39);
    // An answer bigger than a sixteenth of the budget is not kept.
    lookup.put(&key(&lookup, 99), &answer(2000, MIN_DOCS));
    assert!(lookup.get(&key(&lookup, 99)).is_none());
}

#[test]
fn a_merged_set_is_found_by_the_same_segments_in_the_same_order() {
    let cache = Arc::new(ResultCache::new(DEFAULT_BUDGET));
    let lookup = cache.lookup(&plan(SQL, "")).unwrap();
    let set: Vec<SegmentKey> = (1..=3).map(|id| key(&lookup, id)).collect();
    assert!(lookup.get_set(&set).is_none());
    let (partial, stats) = answer(4, 10);
    let merged = Kept {
        partial,
        stats: vec![stats; 3],
    };
    let shared = lookup.put_set(set.clone(), merged);
    let found = lookup.get_set(&set).unwrap();
    assert!(Arc::ptr_eq(&found, &shared));
    assert_eq!(found.stats.len(), 3);
    for other in [&[1, 2][..], &[1, 2, 3, 4], &[3, 2, 1]] {
        let other: Vec<SegmentKey> = other.iter().map(|id| key(&lookup, *id)).collect();
        assert!(lookup.get_set(&other).is_none());
    }
    // A set hit counts each of its segments; a set miss counts nothing
    // (the segments are looked up one by one next).
    assert_eq!((cache.stats().hits, cache.stats().misses), (3, 0));
    // Sets are no segment's own answer.
    assert!(lookup.get(&key(&lookup, 1)).is_none());
}
