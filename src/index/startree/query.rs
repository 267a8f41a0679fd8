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

/// Records of one leaf that answer a query.
#[derive(Debug, Clone, Copy)]
pub enum Records<'a> {
    /// Every record of `start..end`.
    Range(u32, u32),
    /// The records that passed the per-record tests, in order.
    Listed(&'a [u32]),
}

impl Records<'_> {
    /// The first record.
    pub fn first(&self) -> Option<u32> {
        match self {
            Records::Range(start, end) => (start < end).then_some(*start),
            Records::Listed(records) => records.first().copied(),
        }
    }

    /// Calls `f(record)` for each record in order.
    #[inline]
    pub fn for_each(&self, mut f: impl FnMut(u32)) {
        match self {
            Records::Range(start, end) => (*start..*end).for_each(f),
            Records::Listed(records) => records.iter().for_each(|r| f(*r)),
        }
    }
}

/// One leaf's answering records. Dimensions `0..fixed` hold the same value
/// in every record of the leaf (the values on its path), so they can be
/// read from any one record.
#[derive(Debug, Clone, Copy)]
pub struct Block<'a> {
    pub records: Records<'a>,
    pub fixed: usize,
    /// When `records` are the whole leaf: its totals, one per metric
    /// ([`StarTree::leaf_totals`]).
    pub totals: Option<&'a [f64]>,
}

impl StarTree {
    /// Calls `visit(record)` for every record that answers `query`; returns
    /// how many records were read.
    pub fn visit(&self, query: &TreeQuery<'_>, mut visit: impl FnMut(u32)) -> u64 {
        self.visit_blocks(query, |block| block.records.for_each(&mut visit))
    }

    /// Calls `visit(block)` with the records of each leaf that answer
    /// `query`, in order. The dimensions on a leaf's path passed when the
    /// walk chose it; the others the query constrains are tested a
    /// dimension at a time, each dimension's column read once for the leaf,
    /// and a leaf with none to test is handed over as a range. Returns how
    /// many records were read.
    pub fn visit_blocks(&self, query: &TreeQuery<'_>, mut visit: impl FnMut(Block<'_>)) -> u64 {
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
                let end = node.end.min(self.records() as u32);
                let start = node.start.min(end);
                scanned += u64::from(end - start);
                let fixed = depth.min(dimensions);
                // Only the filtered dimensions below the path need a test:
                // grouped ones hold real values there.
                let tested: Vec<usize> = constrained
                    .iter()
                    .copied()
                    .filter(|d| *d >= fixed && query.allowed[*d].is_some())
                    .collect();
                if tested.is_empty() {
                    if start < end {
                        let whole = node.is_leaf() && (start, end) == (node.start, node.end);
                        visit(Block {
                            records: Records::Range(start, end),
                            fixed,
                            totals: whole.then(|| self.leaf_totals(index)),
                        });
                    }
                    continue;
                }
                records.clear();
                records.extend(start..end);
                for dimension in tested {
                    let column = &self.dims[dimension];
                    records.retain(|record| {
                        let value = column[*record as usize];
                        value != STAR && query.passes(dimension, value)
                    });
                }
                if !records.is_empty() {
                    visit(Block {
                        records: Records::Listed(&records),
                        fixed,
                        totals: None,
                    });
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
