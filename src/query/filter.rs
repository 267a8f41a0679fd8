//! WHERE clauses: the [`Filter`] tree and its evaluation inside one segment
//! into a [`DocSet`].
//!
//! Per predicate, cheapest first: column statistics prove it matches no
//! doc (the segment is pruned) or every doc ("match all"); a bloom filter
//! rules a value out; the sorted index turns it into one doc range; an
//! inverted or range index gives a bitmap; only then are values scanned,
//! and only inside the docs the conjuncts before it left, the conjuncts of
//! an AND that need a scan all in one pass ([`fused`]). Dictionary columns
//! evaluate a predicate once per distinct value, then compare ids.

mod fused;

use std::ops::Bound;

use crate::expr::Pattern;
use roaring::RoaringBitmap;

use super::docs::{DocSet, Docs};
use super::eval::{eval_batch, Columns};
use super::exec::Deadline;
use super::source::{in_bounds, sorted_id_range, ColumnSource, SegmentSource};
use crate::expr::eval::truthy;
use crate::expr::in_list::InList;
use crate::expr::value::{Value, Vector};
use crate::expr::{ColumnRef, Expr};
use crate::query::error::ExecError;

#[derive(Debug, Clone)]
pub enum Filter {
    Const(bool),
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Column {
        column: ColumnRef,
        pred: Pred,
    },
    /// Any other boolean expression, evaluated per doc.
    Expr(Expr),
}

#[derive(Debug, Clone)]
pub enum Pred {
    /// `=` (one value) or `IN`.
    In(InList),
    Range(Bound<Value>, Bound<Value>),
    Regex(Pattern),
    IsNull,
}

/// Work done by filters, for the response's statistics, and the query's
/// deadline, checked once per batch of scanned docs when set.
#[derive(Debug, Default, Clone, Copy)]
pub struct FilterStats<'a> {
    pub entries_scanned: u64,
    pub deadline: Option<&'a Deadline>,
}

impl<'a> FilterStats<'a> {
    pub fn until(deadline: &'a Deadline) -> FilterStats<'a> {
        FilterStats {
            entries_scanned: 0,
            deadline: Some(deadline),
        }
    }
}

impl Pred {
    pub fn matches(&self, value: &Value) -> bool {
        match self {
            Pred::In(values) => values.contains(value),
            Pred::Range(low, high) => in_bounds(value, low.as_ref(), high.as_ref()),
            Pred::Regex(regex) => value.with_text(|text| regex.is_match(text)),
            Pred::IsNull => false,
        }
    }
}

impl Filter {
    /// Visits every column the filter reads.
    #[recursive::recursive]
    pub fn columns<'a>(&'a self, visit: &mut dyn FnMut(&'a ColumnRef)) {
        match self {
            Filter::Const(_) => {}
            Filter::And(children) | Filter::Or(children) => {
                children.iter().for_each(|child| child.columns(visit))
            }
            Filter::Not(child) => child.columns(visit),
            Filter::Column { column, .. } => visit(column),
            Filter::Expr(expr) => expr.columns(visit),
        }
    }

    /// The docs of `candidates` that match.
    #[recursive::recursive]
    pub fn docs(
        &self,
        columns: &Columns<'_>,
        candidates: &DocSet,
        stats: &mut FilterStats<'_>,
    ) -> Result<DocSet, ExecError> {
        if candidates.is_empty() {
            return Ok(DocSet::empty());
        }
        match self {
            Filter::Const(true) => Ok(candidates.clone()),
            Filter::Const(false) => Ok(DocSet::empty()),
            Filter::And(children) => {
                // Conjuncts only a scan answers are tested together, in one
                // pass over the docs the others leave.
                let mut tests = Vec::new();
                let mut others = Vec::new();
                for child in ordered(children, columns) {
                    match fused::compile(child, columns, stats)? {
                        Some(fused::Compiled::All) => {}
                        Some(fused::Compiled::Nothing) => return Ok(DocSet::empty()),
                        Some(fused::Compiled::Test(test)) => fused::push(&mut tests, test),
                        None => others.push(child),
                    }
                }
                let mut docs = candidates.clone();
                for child in others {
                    docs = child.docs(columns, &docs, stats)?;
                    if docs.is_empty() {
                        return Ok(docs);
                    }
                }
                fused::run(&tests, columns, &docs, stats)
            }
            Filter::Or(children) => {
                let mut matched = DocSet::empty();
                for child in children {
                    let remaining = candidates.minus(&matched);
                    if remaining.is_empty() {
                        break;
                    }
                    matched = matched.or(&child.docs(columns, &remaining, stats)?);
                }
                Ok(matched)
            }
            Filter::Not(child) => Ok(candidates.minus(&child.docs(columns, candidates, stats)?)),
            Filter::Column { column, pred } => match columns.get(&column.name) {
                Some(source) => column_docs(source.as_ref(), pred, candidates, stats),
                None => Err(ExecError::Internal(format!(
                    "column `{}` is not open",
                    column.name
                ))),
            },
            Filter::Expr(expr) => scan(candidates, stats, |docs, out| {
                let values = eval_batch(expr, columns, docs)?;
                match values {
                    Vector::Bool(flags) => out.extend(flags),
                    other => out.extend((0..other.len()).map(|row| truthy(&other.value(row)))),
                }
                Ok(())
            }),
        }
    }

    /// The filter as it stands on `segment`: each predicate its column's
    /// statistics decide ([`decided_by_stats`]) replaced by its outcome,
    /// and AND/OR folded over those constants. Evaluated on `segment`, it
    /// matches exactly the docs `self` matches (the engine settles those
    /// predicates the same way, reading nothing), so two filters of the
    /// same form on a segment have the same answer there. `None` when
    /// nothing was decided.
    #[recursive::recursive]
    pub fn on_segment(&self, segment: &dyn SegmentSource) -> Option<Filter> {
        match self {
            Filter::Column { column, pred } => {
                let source = segment.column(&column.name)?;
                decided_by_stats(source.as_ref(), pred).map(Filter::Const)
            }
            Filter::And(children) | Filter::Or(children) => {
                let and = matches!(self, Filter::And(_));
                let reduced: Vec<Option<Filter>> = children
                    .iter()
                    .map(|child| child.on_segment(segment))
                    .collect();
                if reduced.iter().all(Option::is_none) {
                    return None;
                }
                let mut kept = Vec::with_capacity(children.len());
                for (child, reduced) in children.iter().zip(reduced) {
                    match reduced.unwrap_or_else(|| child.clone()) {
                        // The operation's identity drops out; its
                        // absorbing element decides it.
                        Filter::Const(value) if value == and => {}
                        Filter::Const(value) => return Some(Filter::Const(value)),
                        other => kept.push(other),
                    }
                }
                Some(match kept.len() {
                    0 => Filter::Const(and),
                    1 => kept.pop().unwrap_or(Filter::Const(and)),
                    _ if and => Filter::And(kept),
                    _ => Filter::Or(kept),
                })
            }
            Filter::Not(child) => child
                .on_segment(segment)
                .map(|child| Filter::Not(Box::new(child))),
            Filter::Const(_) | Filter::Expr(_) => None,
        }
    }

    /// Whether answering the filter reads values doc by doc (a predicate no
    /// index serves, or an expression), rather than indexes alone.
    pub fn scans(&self, columns: &Columns<'_>) -> bool {
        match self {
            Filter::Const(_) => false,
            Filter::And(children) | Filter::Or(children) => {
                children.iter().any(|child| child.scans(columns))
            }
            Filter::Not(child) => child.scans(columns),
            Filter::Column { column, pred } => columns
                .get(&column.name)
                .is_none_or(|source| !indexed(source.as_ref(), pred)),
            Filter::Expr(_) => true,
        }
    }
}

/// Conjuncts that an index answers go first, so scans see fewer docs.
fn ordered<'a>(children: &'a [Filter], columns: &Columns<'_>) -> Vec<&'a Filter> {
    let cost = |filter: &Filter| match filter {
        Filter::Const(_) => 0,
        Filter::Column { column, pred } => match columns.get(&column.name) {
            Some(source) if indexed(source.as_ref(), pred) => 1,
            _ => 3,
        },
        Filter::Expr(_) => 4,
        _ => 2,
    };
    let mut sorted: Vec<&Filter> = children.iter().collect();
    sorted.sort_by_key(|filter| cost(filter));
    sorted
}

fn indexed(source: &dyn ColumnSource, pred: &Pred) -> bool {
    let indexes = source.indexes();
    match pred {
        Pred::IsNull => true,
        Pred::In(_) => indexes.inverted || indexes.sorted,
        Pred::Range(..) => indexes.sorted || indexes.range,
        Pred::Regex(_) => false,
    }
}

/// Scans `candidates`, keeping docs for which `test` sets a true flag.
fn scan(
    candidates: &DocSet,
    stats: &mut FilterStats<'_>,
    mut test: impl FnMut(Docs<'_>, &mut Vec<bool>) -> Result<(), ExecError>,
) -> Result<DocSet, ExecError> {
    // Dense candidates (at least one doc in 64 of their span) collect their
    // matches as bits, turned into a bitmap once at the end; sparse ones
    // append to the bitmap batch by batch.
    let (base, span, count) = match candidates {
        DocSet::Range(start, end) => (start & !63, u64::from(end - (start & !63)), end - start),
        DocSet::Bitmap(bitmap) => match (bitmap.min(), bitmap.max()) {
            (Some(min), Some(max)) => (
                min & !63,
                u64::from(max - (min & !63)) + 1,
                bitmap.len() as u32,
            ),
            _ => return Ok(DocSet::empty()),
        },
    };
    let mut words: Vec<u64> = if u64::from(count) * 64 >= span {
        vec![0; span.div_ceil(64) as usize]
    } else {
        Vec::new()
    };
    let dense = !words.is_empty();
    let mut matched = RoaringBitmap::new();
    let mut flags = Vec::new();
    let mut run: Vec<u32> = Vec::new();
    let mut failure = None;
    let deadline = stats.deadline;
    candidates.for_each_batch(|docs| {
        flags.clear();
        if let Err(err) = deadline.map_or(Ok(()), Deadline::check) {
            failure = Some(err);
            return false;
        }
        if let Err(err) = test(docs, &mut flags) {
            failure = Some(err);
            return false;
        }
        stats.entries_scanned += docs.len() as u64;
        if dense {
            match docs {
                Docs::Range(start, _) => set_bits(&mut words, (start - base) as usize, &flags),
                Docs::List(list) => {
                    for (doc, flag) in list.iter().zip(&flags) {
                        let at = (doc - base) as usize;
                        words[at >> 6] |= u64::from(*flag) << (at & 63);
                    }
                }
            }
        } else {
            run.clear();
            for (index, flag) in flags.iter().enumerate() {
                if *flag {
                    run.push(docs.get(index));
                }
            }
            let _ = matched.append(run.iter().copied());
        }
        true
    });
    if let Some(err) = failure {
        return Err(err);
    }
    if dense {
        let bytes: Vec<u8> = words.iter().flat_map(|word| word.to_le_bytes()).collect();
        matched = RoaringBitmap::from_lsb0_bytes(base, &bytes);
    }
    Ok(DocSet::Bitmap(matched))
}

/// Sets bit `at + i` of `words` for each true `flags[i]`, a word at a time
/// where the bits fill whole words.
fn set_bits(words: &mut [u64], mut at: usize, mut flags: &[bool]) {
    while !at.is_multiple_of(64) && !flags.is_empty() {
        words[at >> 6] |= u64::from(flags[0]) << (at & 63);
        at += 1;
        flags = &flags[1..];
    }
    let mut chunks = flags.chunks_exact(64);
    for chunk in &mut chunks {
        let word = chunk
            .iter()
            .enumerate()
            .fold(0u64, |word, (bit, flag)| word | u64::from(*flag) << bit);
        words[at >> 6] |= word;
        at += 64;
    }
    for flag in chunks.remainder() {
        words[at >> 6] |= u64::from(*flag) << (at & 63);
        at += 1;
    }
}

/// Statistics alone decide the predicate: `Some(true)` every doc matches,
/// `Some(false)` none does.
pub fn decided_by_stats(source: &dyn ColumnSource, pred: &Pred) -> Option<bool> {
    if !source.single_value() {
        return None;
    }
    let (min, max) = source.min_max()?;
    match pred {
        Pred::Range(low, high) => {
            let (low, high) = (low.as_ref(), high.as_ref());
            if in_bounds(&min, low, high) && in_bounds(&max, low, high) {
                return source.nulls().is_none_or(|n| n.is_empty()).then_some(true);
            }
            let below = match high {
                Bound::Included(v) => min.total_cmp(v).is_gt(),
                Bound::Excluded(v) => min.total_cmp(v).is_ge(),
                Bound::Unbounded => false,
            };
            let above = match low {
                Bound::Included(v) => max.total_cmp(v).is_lt(),
                Bound::Excluded(v) => max.total_cmp(v).is_le(),
                Bound::Unbounded => false,
            };
            (below || above).then_some(false)
        }
        Pred::In(values) => {
            let outside = values
                .iter()
                .all(|v| v.total_cmp(&min).is_lt() || v.total_cmp(&max).is_gt());
            outside.then_some(false)
        }
        _ => None,
    }
}

fn column_docs(
    source: &dyn ColumnSource,
    pred: &Pred,
    candidates: &DocSet,
    stats: &mut FilterStats<'_>,
) -> Result<DocSet, ExecError> {
    if let Pred::IsNull = pred {
        return Ok(match source.nulls() {
            Some(nulls) => candidates.and(&DocSet::Bitmap(nulls)),
            None => DocSet::empty(),
        });
    }
    match settled(source, pred) {
        Some(true) => return Ok(candidates.clone()),
        Some(false) => return Ok(DocSet::empty()),
        None => {}
    }
    match source.cardinality() {
        Some(cardinality) => dictionary_docs(source, cardinality, pred, candidates, stats),
        None => raw_docs(source, pred, candidates, stats),
    }
}

/// What statistics and a bloom filter alone say of `pred`: `Some(true)`
/// every doc matches, `Some(false)` none does.
fn settled(source: &dyn ColumnSource, pred: &Pred) -> Option<bool> {
    match (decided_by_stats(source, pred), pred) {
        (Some(decided), _) => Some(decided),
        (None, Pred::In(values)) if values.iter().all(|v| source.bloom_excludes(v)) => Some(false),
        _ => None,
    }
}

/// Dictionary values tested between two deadline checks.
const BATCH_IDS: u32 = 4096;

/// The ids of the dictionary entries `pred` matches, each entry tested
/// once (a large dictionary is a scan of its own).
fn matching_ids(
    source: &dyn ColumnSource,
    cardinality: usize,
    pred: &Pred,
    stats: &FilterStats<'_>,
) -> Result<Vec<u32>, ExecError> {
    let mut ids = Vec::new();
    for id in 0..cardinality as u32 {
        if id % BATCH_IDS == 0 {
            stats.deadline.map_or(Ok(()), Deadline::check)?;
        }
        if pred.matches(&source.dict_value(id)) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The ids of the dictionary entries `pred` matches, and their range when
/// the dictionary is sorted and the predicate is a range.
fn dictionary_ids(
    source: &dyn ColumnSource,
    cardinality: usize,
    pred: &Pred,
    stats: &FilterStats<'_>,
) -> Result<(Vec<u32>, Option<std::ops::Range<u32>>), ExecError> {
    let mut range = None;
    let ids: Vec<u32> = match pred {
        // Each value's id (a binary search each), unless the list is longer
        // than the dictionary: then each entry is tested once against the
        // list's hash set (the `_` arm).
        Pred::In(values) if values.len() <= cardinality => {
            let mut ids: Vec<u32> = values.iter().filter_map(|v| source.id_of(v)).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        }
        Pred::Range(low, high) if source.dict_sorted() => {
            let ids = sorted_id_range(source, low.as_ref(), high.as_ref());
            range = Some(ids.clone());
            ids.collect()
        }
        // Text entries are tested where they are stored.
        Pred::Regex(pattern) => match source.dict_text() {
            Some(entries) => {
                let mut ids = Vec::new();
                let mut matcher = pattern.matcher();
                for id in 0..entries.len().min(cardinality) {
                    if id % BATCH_IDS as usize == 0 {
                        stats.deadline.map_or(Ok(()), Deadline::check)?;
                    }
                    if matcher.is_match_bytes(entries.bytes_at(id)) {
                        ids.push(id as u32);
                    }
                }
                ids
            }
            None => matching_ids(source, cardinality, pred, stats)?,
        },
        _ => matching_ids(source, cardinality, pred, stats)?,
    };
    Ok((ids, range))
}

fn dictionary_docs(
    source: &dyn ColumnSource,
    cardinality: usize,
    pred: &Pred,
    candidates: &DocSet,
    stats: &mut FilterStats<'_>,
) -> Result<DocSet, ExecError> {
    // The matching ids, as a contiguous range when the dictionary is sorted.
    let (ids, range) = dictionary_ids(source, cardinality, pred, stats)?;
    if ids.is_empty() {
        return Ok(DocSet::empty());
    }
    if ids.len() == cardinality && source.single_value() {
        return Ok(candidates.clone());
    }
    let contiguous = range.or_else(|| {
        let (first, last) = (ids[0], ids[ids.len() - 1]);
        (last - first + 1 == ids.len() as u32).then_some(first..last + 1)
    });
    if let Some(range) = contiguous {
        if let Some(docs) = source.sorted_docs(range) {
            return Ok(candidates.and(&DocSet::Range(docs.start, docs.end)));
        }
    }
    // An inverted index pays off unless the candidates are already few and
    // the ids many.
    let few_candidates = candidates.len() < 4096 && ids.len() > 16;
    if !few_candidates {
        if let Some(bitmap) = source.inverted(&ids) {
            return Ok(candidates.and(&DocSet::Bitmap(bitmap)));
        }
    }
    let mut wanted = vec![false; cardinality];
    for id in &ids {
        wanted[*id as usize] = true;
    }
    let check = |docs: &DocSet, stats: &mut FilterStats<'_>| {
        let mut buffer = Vec::new();
        if source.single_value() {
            scan(docs, stats, |batch, out| {
                source.ids(batch, &mut buffer);
                out.extend(buffer.iter().map(|id| wanted[*id as usize]));
                Ok(())
            })
        } else {
            scan(docs, stats, |batch, out| {
                batch.for_each(|doc| {
                    source.doc_ids(doc, &mut buffer);
                    out.push(buffer.iter().any(|id| wanted[*id as usize]));
                });
                Ok(())
            })
        }
    };
    // A range index narrows a range to whole buckets plus edge buckets to check.
    if let Pred::Range(low, high) = pred {
        if source.indexes().range && !few_candidates {
            if let Some((full, partial)) = source.range_docs(low.as_ref(), high.as_ref()) {
                let sure = candidates.and(&DocSet::Bitmap(full));
                let checked = check(&candidates.and(&DocSet::Bitmap(partial)), stats)?;
                return Ok(sure.or(&checked));
            }
        }
    }
    check(candidates, stats)
}

fn raw_docs(
    source: &dyn ColumnSource,
    pred: &Pred,
    candidates: &DocSet,
    stats: &mut FilterStats<'_>,
) -> Result<DocSet, ExecError> {
    match pred {
        Pred::Range(low, high) => {
            if let Some(docs) = source.raw_sorted_docs(low.as_ref(), high.as_ref()) {
                return Ok(candidates.and(&DocSet::Range(docs.start, docs.end)));
            }
            if let Some((full, partial)) = source.range_docs(low.as_ref(), high.as_ref()) {
                let sure = candidates.and(&DocSet::Bitmap(full));
                let to_check = candidates.and(&DocSet::Bitmap(partial));
                let checked = scan_values(source, pred, &to_check, stats)?;
                return Ok(sure.or(&checked));
            }
        }
        Pred::In(values) if source.indexes().sorted => {
            // One doc range per value, merged once (not one union each).
            let mut ranges = Vec::new();
            for value in values.iter() {
                let bound = Bound::Included(value);
                match source.raw_sorted_docs(bound, bound) {
                    Some(docs) if docs.start < docs.end => ranges.push(docs),
                    Some(_) => {}
                    None => return scan_values(source, pred, candidates, stats),
                }
            }
            ranges.sort_unstable_by_key(|docs| docs.start);
            let mut matched = RoaringBitmap::new();
            for docs in ranges {
                matched.insert_range(docs);
            }
            return Ok(candidates.and(&DocSet::Bitmap(matched)));
        }
        _ => {}
    }
    scan_values(source, pred, candidates, stats)
}

fn scan_values(
    source: &dyn ColumnSource,
    pred: &Pred,
    candidates: &DocSet,
    stats: &mut FilterStats<'_>,
) -> Result<DocSet, ExecError> {
    if let Pred::Range(low, high) = pred {
        if let Some(range) = fused::NumericRange::of(source, low, high) {
            let mut numbers = Vec::new();
            return scan(candidates, stats, |docs, out| {
                range.test(source, docs, &mut numbers, out);
                Ok(())
            });
        }
    }
    // Text without a dictionary is tested where it is stored.
    let mut texts = match pred {
        Pred::Regex(pattern) => source.raw_text().map(|texts| (texts, pattern.matcher())),
        _ => None,
    };
    scan(candidates, stats, |docs, out| {
        if let Some((texts, matcher)) = &mut texts {
            docs.for_each(|doc| out.push(matcher.is_match_bytes(texts.get(doc as usize))));
            return Ok(());
        }
        let values = source.values(docs);
        // Text tested where it lies, not copied into a value per row.
        if let (Pred::Regex(regex), Vector::Str(texts)) = (pred, &values) {
            out.extend(texts.iter().map(|text| regex.is_match(text)));
            return Ok(());
        }
        for row in 0..values.len() {
            let matched = match values.value(row) {
                Value::Array(items) => items.iter().any(|item| pred.matches(item)),
                value => pred.matches(&value),
            };
            out.push(matched);
        }
        Ok(())
    })
}
