//! Which records of a star-tree answer a query: walk from the root, taking
//! the star child of every dimension the query neither filters nor groups
//! by, the matching children of the others, and at the leaves keep the
//! records whose dimensions pass the filters. Aggregating the metrics of
//! the visited records by the grouped dimensions gives the query's answer.

use super::{StarTree, STAR};

/// The query, per dimension of the tree: which dictionary ids pass its
/// filter (`None`: unfiltered; `allowed[id]`) and whether it is grouped.
pub struct TreeQuery<'a> {
    pub allowed: &'a [Option<Vec<bool>>],
    pub grouped: &'a [bool],
}

impl TreeQuery<'_> {
    fn passes(&self, dimension: usize, value: u32) -> bool {
        match &self.allowed[dimension] {
            None => true,
            Some(allowed) => allowed.get(value as usize).copied().unwrap_or(false),
        }
    }

    fn constrained(&self, dimension: usize) -> bool {
        self.allowed[dimension].is_some() || self.grouped[dimension]
    }
}

impl StarTree {
    /// Calls `visit(record)` for every record that answers `query`; returns
    /// how many records were read.
    pub fn visit(&self, query: &TreeQuery<'_>, mut visit: impl FnMut(u32)) -> u64 {
        self.visit_blocks(query, |records| records.iter().for_each(|r| visit(*r)))
    }

    /// Calls `visit(records)` with the records of each leaf that answer
    /// `query`, in order: a leaf's records are tested a dimension at a
    /// time, each dimension's column read once for the leaf. Returns how
    /// many records were read.
    pub fn visit_blocks(&self, query: &TreeQuery<'_>, mut visit: impl FnMut(&[u32])) -> u64 {
        let dimensions = self.dims.len();
        if query.allowed.len() != dimensions || query.grouped.len() != dimensions {
            return 0;
        }
        let constrained: Vec<usize> = (0..dimensions)
            .filter(|dimension| query.constrained(*dimension))
            .collect();
        let mut scanned = 0u64;
        let mut records: Vec<u32> = Vec::new();
        let mut pending = vec![0usize];
        while let Some(index) = pending.pop() {
            let Some(node) = self.nodes.get(index) else {
                continue;
            };
            let depth = self.depths.get(index).copied().unwrap_or(0) as usize;
            if node.is_leaf() || depth >= dimensions {
                scanned += u64::from(node.end.saturating_sub(node.start));
                records.clear();
                records.extend(node.start..node.end);
                for &dimension in &constrained {
                    let Some(column) = self.dims.get(dimension) else {
                        continue;
                    };
                    records.retain(|record| {
                        column
                            .get(*record as usize)
                            .is_some_and(|&value| value != STAR && query.passes(dimension, value))
                    });
                }
                if !records.is_empty() {
                    visit(&records);
                }
                continue;
            }
            let children = node.first_child as usize..(node.first_child + node.children) as usize;
            if query.constrained(depth) {
                for child in children {
                    if self
                        .nodes
                        .get(child)
                        .is_some_and(|c| query.passes(depth, c.value))
                    {
                        pending.push(child);
                    }
                }
            } else if node.star_child != super::NONE {
                pending.push(node.star_child as usize);
            } else {
                pending.extend(children);
            }
        }
        scanned
    }
}
