//! Building a star-tree: sort the docs by their dimension ids, merge equal
//! tuples into records, then split nodes larger than `max_leaf_records`
//! dimension by dimension, adding a star child whose records aggregate the
//! node's records over the split dimension.

use std::cmp::Ordering;

use super::{MetricFunc, Node, RecordSketch, SketchColumn, StarTree, TreeSpec, NONE, STAR};
use crate::index::error::{Error, Result};

/// Per-doc inputs: `dims[d][doc]` (dictionary ids), `metrics[m][doc]`
/// (ignored for `Count` and `Hll`, which may be given an empty column) and
/// `hashes[m][doc]`, the value hashes an `Hll` metric counts (`hashes` may
/// be empty when no metric is one).
pub struct BuildInput<'a> {
    pub dims: &'a [&'a [u32]],
    pub metrics: &'a [&'a [f64]],
    pub hashes: &'a [&'a [u64]],
}

impl BuildInput<'_> {
    fn hashes(&self, metric: usize) -> &[u64] {
        self.hashes.get(metric).copied().unwrap_or(&[])
    }
}

/// Each sketch metric's sketch for the record being aggregated.
fn fresh_sketches(funcs: &[MetricFunc]) -> Vec<Option<RecordSketch>> {
    funcs.iter().map(|func| RecordSketch::new(*func)).collect()
}

/// Stores the record's sketches and starts new ones.
fn flush_sketches(tree: &mut StarTree, current: &mut [Option<RecordSketch>]) {
    for (m, sketch) in current.iter_mut().enumerate() {
        if let Some(done) = sketch.take() {
            tree.sketches[m].push(&done);
            *sketch = RecordSketch::new(tree.funcs[m]);
        }
    }
}

/// Builds the tree of `input`.
pub fn build(spec: &TreeSpec, input: &BuildInput<'_>) -> Result<StarTree> {
    let docs = input.dims.first().map_or(0, |column| column.len());
    if input.dims.len() != spec.dimensions || spec.skip_star.len() != spec.dimensions {
        return Err(Error::Inconsistent(
            "the star-tree input does not match its dimensions",
        ));
    }
    if input.dims.iter().any(|column| column.len() != docs) {
        return Err(Error::Inconsistent(
            "the star-tree dimension columns differ in length",
        ));
    }
    if input.metrics.len() != spec.metrics.len()
        || input
            .metrics
            .iter()
            .zip(&spec.metrics)
            .enumerate()
            .any(|(m, (column, func))| match func {
                MetricFunc::Count => false,
                MetricFunc::Hll => input.hashes(m).len() != docs,
                _ => column.len() != docs,
            })
    {
        return Err(Error::Inconsistent(
            "the star-tree metric columns do not match the docs",
        ));
    }
    let mut tree = StarTree {
        dims: vec![Vec::new(); spec.dimensions],
        metrics: vec![Vec::new(); spec.metrics.len()],
        sketches: vec![SketchColumn::default(); spec.metrics.len()],
        funcs: spec.metrics.clone(),
        ..StarTree::default()
    };
    let mut current = fresh_sketches(&spec.metrics);
    // Base records: docs sorted by every dimension, equal tuples merged.
    let widths: Vec<u32> = input
        .dims
        .iter()
        .map(|column| width_of(column.iter().copied().max().unwrap_or(0)))
        .collect();
    let order = sorted_order(input.dims, &widths, 0, 0..docs as u32);
    let mut previous: Option<u32> = None;
    for doc in order {
        let doc_index = doc as usize;
        let same = previous
            .is_some_and(|p| compare(input.dims, 0, p as usize, doc_index) == Ordering::Equal);
        if !same {
            if previous.is_some() {
                flush_sketches(&mut tree, &mut current);
            }
            for (column, source) in tree.dims.iter_mut().zip(input.dims) {
                column.push(source[doc_index]);
            }
            for (column, func) in tree.metrics.iter_mut().zip(&spec.metrics) {
                if !func.is_sketch() {
                    column.push(func.empty());
                }
            }
        }
        for (m, ((column, source), func)) in tree
            .metrics
            .iter_mut()
            .zip(input.metrics)
            .zip(&spec.metrics)
            .enumerate()
        {
            let value = match func {
                MetricFunc::Count => 1.0,
                MetricFunc::Hll => 0.0,
                _ => source[doc_index],
            };
            match &mut current[m] {
                Some(sketch) => {
                    let hash = input.hashes(m).get(doc_index).copied().unwrap_or(0);
                    sketch.insert(hash, value);
                }
                None => {
                    if let Some(slot) = column.last_mut() {
                        func.fold(slot, value);
                    }
                }
            }
        }
        previous = Some(doc);
    }
    if previous.is_some() {
        flush_sketches(&mut tree, &mut current);
    }
    let records = tree.records() as u32;
    tree.nodes.push(Node {
        value: STAR,
        start: 0,
        end: records,
        first_child: NONE,
        children: 0,
        star_child: NONE,
    });
    tree.depths.push(0);
    let max_leaf = spec.max_leaf_records.max(1) as u32;
    let mut pending = vec![0usize];
    while let Some(node) = pending.pop() {
        let depth = tree.depths[node] as usize;
        let Node { start, end, .. } = tree.nodes[node];
        if depth >= spec.dimensions || end - start <= max_leaf {
            continue;
        }
        // One child per value of the split dimension (records are sorted
        // by it within the node).
        let first_child = tree.nodes.len() as u32;
        let mut at = start;
        while at < end {
            let value = tree.dims[depth][at as usize];
            let mut stop = at + 1;
            while stop < end && tree.dims[depth][stop as usize] == value {
                stop += 1;
            }
            tree.nodes.push(Node {
                value,
                start: at,
                end: stop,
                first_child: NONE,
                children: 0,
                star_child: NONE,
            });
            tree.depths.push(depth as u32 + 1);
            at = stop;
        }
        let children = tree.nodes.len() as u32 - first_child;
        pending.extend(first_child as usize..tree.nodes.len());
        tree.nodes[node].first_child = first_child;
        tree.nodes[node].children = children;
        // A star child over one child would repeat it.
        if spec.skip_star[depth] || children < 2 {
            continue;
        }
        let star_start = tree.records() as u32;
        append_star_records(&mut tree, &widths, start, end, depth)?;
        let star = tree.nodes.len();
        tree.nodes.push(Node {
            value: STAR,
            start: star_start,
            end: tree.records() as u32,
            first_child: NONE,
            children: 0,
            star_child: NONE,
        });
        tree.depths.push(depth as u32 + 1);
        tree.nodes[node].star_child = star as u32;
        pending.push(star);
    }
    if tree
        .sketches
        .iter()
        .any(|column| column.bytes.len() > u32::MAX as usize)
    {
        return Err(Error::TooLarge("the star-tree's sketches take over 4 GiB; fewer dimensions or a larger maxLeafRecords keep them smaller".into()));
    }
    tree.summarize();
    Ok(tree)
}

/// Bits that hold values up to `max`.
fn width_of(max: u32) -> u32 {
    u32::BITS - max.leading_zeros()
}

/// Ranges at least this long are radix-sorted; shorter ones compared.
const RADIX_MIN: usize = 1 << 12;

/// `items` ordered by dimensions `from..` (ties by position). When the
/// dimensions' ids (at most `widths` bits each, never [`STAR`] past
/// `from`) and the position fit in 64 bits together, they are packed into
/// one key per item and the keys sorted; otherwise items are compared
/// dimension by dimension.
fn sorted_order<C: AsRef<[u32]>>(
    dims: &[C],
    widths: &[u32],
    from: usize,
    items: std::ops::Range<u32>,
) -> Vec<u32> {
    let base = items.start;
    let position_bits = width_of(items.end - base);
    let key_bits: u32 = widths[from..].iter().sum();
    if key_bits + position_bits > 64 {
        let mut order: Vec<u32> = items.collect();
        order.sort_unstable_by(|a, b| compare(dims, from, *a as usize, *b as usize));
        return order;
    }
    let mut keys: Vec<u64> = items
        .map(|item| {
            let mut key = 0u64;
            for (column, width) in dims[from..].iter().zip(&widths[from..]) {
                key = (key << width) | u64::from(column.as_ref()[item as usize]);
            }
            (key << position_bits) | u64::from(item - base)
        })
        .collect();
    if keys.len() >= RADIX_MIN {
        crate::sort::radix_sort(&mut keys, &mut Vec::new(), key_bits + position_bits);
    } else {
        keys.sort_unstable();
    }
    let mask = (1u64 << position_bits) - 1;
    keys.into_iter()
        .map(|key| base + (key & mask) as u32)
        .collect()
}

/// Orders docs (or records) `a` and `b` by dimensions `from..`.
fn compare<C: AsRef<[u32]>>(dims: &[C], from: usize, a: usize, b: usize) -> Ordering {
    for column in &dims[from..] {
        let column = column.as_ref();
        match column[a].cmp(&column[b]) {
            Ordering::Equal => continue,
            other => return other,
        }
    }
    Ordering::Equal
}

/// Appends the records of `start..end` aggregated over dimension `depth`:
/// that dimension becomes [`STAR`], the records are sorted by the later
/// dimensions and equal tuples merged.
fn append_star_records(
    tree: &mut StarTree,
    widths: &[u32],
    start: u32,
    end: u32,
    depth: usize,
) -> Result<()> {
    let order = sorted_order(&tree.dims, widths, depth + 1, start..end);
    let mut current = fresh_sketches(&tree.funcs);
    let mut previous: Option<usize> = None;
    for record in order {
        let record = record as usize;
        let same =
            previous.is_some_and(|p| compare(&tree.dims, depth + 1, p, record) == Ordering::Equal);
        if !same {
            if previous.is_some() {
                flush_sketches(tree, &mut current);
            }
            for (index, column) in tree.dims.iter_mut().enumerate() {
                let value = if index == depth { STAR } else { column[record] };
                column.push(value);
            }
            for (column, func) in tree.metrics.iter_mut().zip(&tree.funcs) {
                if !func.is_sketch() {
                    column.push(func.empty());
                }
            }
        }
        for (m, (column, func)) in tree.metrics.iter_mut().zip(&tree.funcs).enumerate() {
            match &mut current[m] {
                Some(sketch) => sketch.merge_encoded(tree.sketches[m].get(record)).ok_or(
                    Error::Inconsistent("a star-tree record's sketch is malformed"),
                )?,
                None => {
                    let value = column[record];
                    if let Some(slot) = column.last_mut() {
                        func.fold(slot, value);
                    }
                }
            }
        }
        previous = Some(record);
    }
    if previous.is_some() {
        flush_sketches(tree, &mut current);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_orders_equal_compared_ones() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = |below: u32| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % u64::from(below)) as u32
        };
        for (items, cards) in [(20_000u32, [3u32, 70, 2, 5000]), (300, [9, 2, 4, 1])] {
            let dims: Vec<Vec<u32>> = cards
                .iter()
                .map(|card| (0..items).map(|_| next(*card)).collect())
                .collect();
            let widths: Vec<u32> = cards.iter().map(|card| width_of(card - 1)).collect();
            for from in 0..cards.len() {
                let mut expected: Vec<u32> = (0..items).collect();
                expected.sort_by(|a, b| compare(&dims, from, *a as usize, *b as usize));
                assert_eq!(sorted_order(&dims, &widths, from, 0..items), expected);
                let mut shifted: Vec<u32> = (100..items).collect();
                shifted.sort_by(|a, b| compare(&dims, from, *a as usize, *b as usize));
                assert_eq!(sorted_order(&dims, &widths, from, 100..items), shifted);
            }
        }
    }
}
