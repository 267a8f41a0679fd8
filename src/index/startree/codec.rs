//! A star-tree as one segment block, and back.
//!
//! ```text
//! startree := records:u64 nodes:u64 dimensions:u32 metrics:u32
//!             node{nodes} pad8                 value start end first_child children star_child depth: u32 each
//!             (dim_id:u32{records} pad8){dimensions}
//!             (metric:f64{records}){numeric metrics}
//!             (end:u32{records} pad8 length:u64 byte{length} pad8){sketch metrics}
//! ```
//!
//! The metrics' functions are in the footer (their `FUNCTION__column`
//! names); numbers come first, then sketches (`DISTINCTCOUNTHLL`,
//! `PERCENTILEEST`), each record's in its compact form, ending at
//! `end[r]`. Decoding checks every node against the records and the other
//! nodes (children come after their parent, so walking always ends), and
//! that every record's sketch reads whole.

use super::{MetricFunc, Node, RecordSketch, SketchColumn, StarTree, NONE, STAR};
use crate::index::error::{Error, Result};

const HEADER: usize = 24;
const NODE_WORDS: usize = 7;

fn pad8(out: &mut Vec<u8>) {
    out.resize(out.len().next_multiple_of(8), 0);
}

/// The block bytes of `tree`.
pub fn encode(tree: &StarTree) -> Vec<u8> {
    let records = tree.records();
    let mut out = Vec::new();
    out.extend_from_slice(&(records as u64).to_le_bytes());
    out.extend_from_slice(&(tree.nodes.len() as u64).to_le_bytes());
    out.extend_from_slice(&(tree.dims.len() as u32).to_le_bytes());
    out.extend_from_slice(&(tree.metrics.len() as u32).to_le_bytes());
    for (node, depth) in tree.nodes.iter().zip(&tree.depths) {
        for word in [
            node.value,
            node.start,
            node.end,
            node.first_child,
            node.children,
            node.star_child,
            *depth,
        ] {
            out.extend_from_slice(&word.to_le_bytes());
        }
    }
    pad8(&mut out);
    for column in &tree.dims {
        for id in column {
            out.extend_from_slice(&id.to_le_bytes());
        }
        pad8(&mut out);
    }
    for (column, func) in tree.metrics.iter().zip(&tree.funcs) {
        if func.is_sketch() {
            continue;
        }
        for value in column {
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    for (column, func) in tree.sketches.iter().zip(&tree.funcs) {
        if !func.is_sketch() {
            continue;
        }
        for end in &column.ends {
            out.extend_from_slice(&end.to_le_bytes());
        }
        pad8(&mut out);
        out.extend_from_slice(&(column.bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(&column.bytes);
        pad8(&mut out);
    }
    out
}

/// Reads a block written by [`encode`] whose metrics are `funcs`.
pub fn decode(bytes: &[u8], funcs: &[MetricFunc]) -> Result<StarTree> {
    let malformed = |reason: &str| Error::Malformed(reason.into());
    let u64_at = |at: usize| -> Result<u64> {
        bytes
            .get(at..at + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
            .ok_or_else(|| malformed("the star-tree block is truncated"))
    };
    let u32_at = |at: usize| -> Result<u32> {
        bytes
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            .ok_or_else(|| malformed("the star-tree block is truncated"))
    };
    let records =
        usize::try_from(u64_at(0)?).map_err(|_| malformed("too many star-tree records"))?;
    let nodes = usize::try_from(u64_at(8)?).map_err(|_| malformed("too many star-tree nodes"))?;
    let dimensions = u32_at(16)? as usize;
    let metrics = u32_at(20)? as usize;
    if metrics != funcs.len() {
        return Err(Error::Malformed(format!(
            "the star-tree block holds {metrics} metrics where the footer names {}",
            funcs.len()
        )));
    }
    let numeric = funcs.iter().filter(|func| !func.is_sketch()).count();
    let sketched = numeric < funcs.len();
    let sizes = || -> Option<(usize, usize, usize)> {
        let nodes_end = nodes
            .checked_mul(NODE_WORDS * 4)?
            .checked_add(HEADER)?
            .checked_next_multiple_of(8)?;
        let dims_len = records.checked_mul(4)?.checked_next_multiple_of(8)?;
        let expected = nodes_end
            .checked_add(dims_len.checked_mul(dimensions)?)?
            .checked_add(records.checked_mul(8)?.checked_mul(numeric)?)?;
        Some((nodes_end, dims_len, expected))
    };
    let (nodes_end, dims_len, expected) = sizes().unwrap_or((0, 0, usize::MAX));
    let size_ok = if sketched {
        bytes.len() >= expected
    } else {
        bytes.len() == expected
    };
    if !size_ok || nodes == 0 || records > u32::MAX as usize {
        return Err(Error::Malformed(format!(
            "the star-tree block is {} bytes where its header implies {expected}",
            bytes.len()
        )));
    }
    let mut tree = StarTree {
        funcs: funcs.to_vec(),
        ..StarTree::default()
    };
    for index in 0..nodes {
        let at = HEADER + index * NODE_WORDS * 4;
        let word = |i: usize| u32_at(at + i * 4);
        let node = Node {
            value: word(0)?,
            start: word(1)?,
            end: word(2)?,
            first_child: word(3)?,
            children: word(4)?,
            star_child: word(5)?,
        };
        let depth = word(6)?;
        let after_parent = |child: u32| child == NONE || child as usize > index;
        let children_end = u64::from(node.first_child) + u64::from(node.children);
        if node.start > node.end
            || node.end as usize > records
            || depth as usize > dimensions
            || !after_parent(node.star_child)
            || (node.star_child != NONE && node.star_child as usize >= nodes)
            || (node.children > 0
                && (!after_parent(node.first_child) || children_end > nodes as u64))
        {
            return Err(Error::Malformed(format!(
                "star-tree node {index} is malformed"
            )));
        }
        tree.nodes.push(node);
        tree.depths.push(depth);
    }
    let mut at = nodes_end;
    for _ in 0..dimensions {
        let column: Vec<u32> = bytes[at..at + records * 4]
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        tree.dims.push(column);
        at += dims_len;
    }
    for func in funcs {
        if func.is_sketch() {
            tree.metrics.push(Vec::new());
            continue;
        }
        let column: Vec<f64> = bytes[at..at + records * 8]
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .collect();
        tree.metrics.push(column);
        at += records * 8;
    }
    for func in funcs {
        let column = match RecordSketch::new(*func) {
            Some(_) => decode_sketches(bytes, &mut at, records, *func)?,
            None => SketchColumn::default(),
        };
        tree.sketches.push(column);
    }
    if at != bytes.len() {
        return Err(Error::Malformed(format!(
            "the star-tree block is {} bytes where its contents take {at}",
            bytes.len()
        )));
    }
    check_paths(&tree)?;
    tree.summarize();
    Ok(tree)
}

/// Queries read a node's path values from any one of its records and take
/// a leaf's totals for all of them: each child must be one level below its
/// parent, its records must hold its value (or STAR for a star child) in
/// the dimension its parent splits on, and a leaf's records real values in
/// the dimensions below its path.
fn check_paths(tree: &StarTree) -> Result<()> {
    let bad = |index: usize| Error::Malformed(format!("star-tree node {index} is off its path"));
    for (index, node) in tree.nodes.iter().enumerate() {
        let depth = tree.depths[index] as usize;
        if node.is_leaf() {
            let records = node.start as usize..node.end as usize;
            if tree
                .dims
                .iter()
                .skip(depth)
                .any(|column| column[records.clone()].contains(&STAR))
            {
                return Err(bad(index));
            }
            continue;
        }
        let mut children: Vec<usize> =
            (node.first_child as usize..(node.first_child + node.children) as usize).collect();
        if node.star_child != NONE {
            children.push(node.star_child as usize);
        }
        if children.is_empty() {
            continue;
        }
        let column = tree.dims.get(depth).ok_or_else(|| bad(index))?;
        for child in children {
            let node = &tree.nodes[child];
            let value = if child == tree.nodes[index].star_child as usize {
                STAR
            } else {
                node.value
            };
            if tree.depths[child] as usize != depth + 1
                || column[node.start as usize..node.end as usize]
                    .iter()
                    .any(|v| *v != value)
            {
                return Err(bad(child));
            }
        }
    }
    Ok(())
}

/// One sketch column at `*at`, every record's sketch checked.
fn decode_sketches(
    bytes: &[u8],
    at: &mut usize,
    records: usize,
    func: MetricFunc,
) -> Result<SketchColumn> {
    let truncated = || Error::Malformed("the star-tree block's sketches are truncated".into());
    let ends_len = records
        .checked_mul(4)
        .and_then(|n| n.checked_next_multiple_of(8))
        .ok_or_else(truncated)?;
    let ends: Vec<u32> = bytes
        .get(*at..*at + records * 4)
        .ok_or_else(truncated)?
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    *at += ends_len;
    let length = bytes
        .get(*at..*at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(truncated)?;
    *at += 8;
    let data = bytes
        .get(*at..at.checked_add(length).ok_or_else(truncated)?)
        .ok_or_else(truncated)?
        .to_vec();
    *at = (*at + length).next_multiple_of(8);
    if *at > bytes.len() {
        return Err(truncated());
    }
    let column = SketchColumn { ends, bytes: data };
    let mut previous = 0u32;
    for (record, end) in column.ends.iter().enumerate() {
        if *end < previous || *end as usize > column.bytes.len() {
            return Err(Error::Malformed(format!(
                "star-tree record {record}'s sketch is out of bounds"
            )));
        }
        previous = *end;
        let mut scratch =
            RecordSketch::new(func).ok_or(Error::Inconsistent("not a sketch metric"))?;
        if scratch.merge_encoded(column.get(record)).is_none() {
            return Err(Error::Malformed(format!(
                "star-tree record {record}'s sketch is malformed"
            )));
        }
    }
    if previous as usize != column.bytes.len() {
        return Err(Error::Malformed(
            "the star-tree block's sketches do not end where they say".into(),
        ));
    }
    Ok(column)
}
