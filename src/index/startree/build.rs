//! Building a star-tree: sort the docs by their dimension ids, merge equal
//! tuples into records, then split nodes larger than `max_leaf_records`
//! dimension by dimension, adding a star child whose records aggregate the
//! node's records over the split dimension.

use std::cmp::Ordering;

use super::{MetricFunc, Node, StarTree, TreeSpec, NONE, STAR};

/// Per-doc inputs: `dims[d][doc]` (dictionary ids) and `metrics[m][doc]`
/// (ignored for `Count`, which may be given an empty column).
pub struct BuildInput<'a> {
    pub dims: &'a [Vec<u32>],
    pub metrics: &'a [Vec<f64>],
}

/// Builds the tree of `input`.
pub fn build(spec: &TreeSpec, input: &BuildInput<'_>) -> Result<StarTree, String> {
    let docs = input.dims.first().map_or(0, Vec::len);
    if input.dims.len() != spec.dimensions || spec.skip_star.len() != spec.dimensions {
        return Err("the star-tree input does not match its dimensions".into());
    }
    if input.dims.iter().any(|column| column.len() != docs) {
        return Err("the star-tree dimension columns differ in length".into());
    }
    if input.metrics.len() != spec.metrics.len()
        || input
            .metrics
            .iter()
            .zip(&spec.metrics)
            .any(|(column, func)| column.len() != docs && *func != MetricFunc::Count)
    {
        return Err("the star-tree metric columns do not match the docs".into());
    }
    let mut tree = StarTree {
        dims: vec![Vec::new(); spec.dimensions],
        metrics: vec![Vec::new(); spec.metrics.len()],
        funcs: spec.metrics.clone(),
        ..StarTree::default()
    };
    // Base records: docs sorted by every dimension, equal tuples merged.
    let mut order: Vec<u32> = (0..docs as u32).collect();
    order.sort_unstable_by(|a, b| compare(input.dims, 0, *a as usize, *b as usize));
    let mut previous: Option<u32> = None;
    for doc in order {
        let doc_index = doc as usize;
        let same = previous
            .is_some_and(|p| compare(input.dims, 0, p as usize, doc_index) == Ordering::Equal);
        if !same {
            for (column, source) in tree.dims.iter_mut().zip(input.dims) {
                column.push(source[doc_index]);
            }
            for (column, func) in tree.metrics.iter_mut().zip(&spec.metrics) {
                column.push(func.empty());
            }
        }
        for ((column, source), func) in tree
            .metrics
            .iter_mut()
            .zip(input.metrics)
            .zip(&spec.metrics)
        {
            let value = match func {
                MetricFunc::Count => 1.0,
                _ => source[doc_index],
            };
            if let Some(slot) = column.last_mut() {
                func.fold(slot, value);
            }
        }
        previous = Some(doc);
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
        append_star_records(&mut tree, start, end, depth);
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
    Ok(tree)
}

/// Orders docs (or records) `a` and `b` by dimensions `from..`.
fn compare(dims: &[Vec<u32>], from: usize, a: usize, b: usize) -> Ordering {
    for column in &dims[from..] {
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
fn append_star_records(tree: &mut StarTree, start: u32, end: u32, depth: usize) {
    let mut order: Vec<u32> = (start..end).collect();
    order.sort_unstable_by(|a, b| compare(&tree.dims, depth + 1, *a as usize, *b as usize));
    let mut previous: Option<usize> = None;
    for record in order {
        let record = record as usize;
        let same =
            previous.is_some_and(|p| compare(&tree.dims, depth + 1, p, record) == Ordering::Equal);
        if !same {
            for (index, column) in tree.dims.iter_mut().enumerate() {
                let value = if index == depth { STAR } else { column[record] };
                column.push(value);
            }
            for (column, func) in tree.metrics.iter_mut().zip(&tree.funcs) {
                column.push(func.empty());
            }
        }
        for (column, func) in tree.metrics.iter_mut().zip(&tree.funcs) {
            let value = column[record];
            if let Some(slot) = column.last_mut() {
                func.fold(slot, value);
            }
        }
        previous = Some(record);
    }
}
