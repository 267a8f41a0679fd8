use std::collections::BTreeMap;

use proptest::prelude::*;

use super::build::{build, BuildInput};
use super::codec::{decode, encode};
use super::query::TreeQuery;
use super::StarTree;
use super::{MetricFunc, TreeSpec};
use crate::sketch::{hash_i64, Hll, Quantiles};

/// Builds a tree from owned columns (`hashes` per metric, or none).
fn build_from(
    spec: &TreeSpec,
    dims: &[Vec<u32>],
    metrics: &[Vec<f64>],
    hashes: &[Vec<u64>],
) -> StarTree {
    let dims: Vec<&[u32]> = dims.iter().map(Vec::as_slice).collect();
    let metrics: Vec<&[f64]> = metrics.iter().map(Vec::as_slice).collect();
    let hashes: Vec<&[u64]> = hashes.iter().map(Vec::as_slice).collect();
    build(
        spec,
        &BuildInput {
            dims: &dims,
            metrics: &metrics,
            hashes: &hashes,
        },
    )
    .unwrap()
}

/// A COUNT-only tree over `dims`, leaves of at most `leaf` records.
fn count_tree(dims: &[Vec<u32>], leaf: usize) -> StarTree {
    let spec = TreeSpec {
        dimensions: dims.len(),
        skip_star: vec![false; dims.len()],
        metrics: vec![MetricFunc::Count],
        max_leaf_records: leaf,
    };
    build_from(&spec, dims, &[Vec::new()], &[])
}

const FUNCS: [MetricFunc; 4] = [
    MetricFunc::Count,
    MetricFunc::Sum,
    MetricFunc::Min,
    MetricFunc::Max,
];
/// FUNCS, then the sketches.
const ALL: [MetricFunc; 6] = [
    MetricFunc::Count,
    MetricFunc::Sum,
    MetricFunc::Min,
    MetricFunc::Max,
    MetricFunc::Hll,
    MetricFunc::Quantiles,
];

/// Per group: the distinct-count and quantile sketches.
type Sketches = BTreeMap<Vec<u32>, (Hll, Quantiles)>;

/// Per group: the registers, the quantiles' count and some answers.
type SketchAnswers = BTreeMap<Vec<u32>, (Hll, u64, Vec<Option<f64>>)>;

/// What compares two groups' sketches.
fn quantile_answers(sketches: &Sketches) -> SketchAnswers {
    sketches
        .iter()
        .map(|(key, (hll, quantiles))| {
            let answers = [0.0, 10.0, 50.0, 90.0, 100.0]
                .iter()
                .map(|p| quantiles.quantile(*p))
                .collect();
            (key.clone(), (hll.clone(), quantiles.count(), answers))
        })
        .collect()
}

/// Per group (the grouped dimensions' ids): COUNT, SUM, MIN, MAX.
type Answer = BTreeMap<Vec<u32>, [f64; 4]>;

fn fold(answer: &mut Answer, key: Vec<u32>, values: [f64; 4]) {
    let slot = answer.entry(key).or_insert(FUNCS.map(|func| func.empty()));
    for ((slot, value), func) in slot.iter_mut().zip(values).zip(FUNCS) {
        func.fold(slot, value);
    }
}

/// Cardinalities, dimension columns, metric values, skip-star flags and
/// the leaf size.
type Case = (Vec<u32>, Vec<Vec<u32>>, Vec<f64>, Vec<bool>, usize);

fn case() -> impl Strategy<Value = Case> {
    (1usize..5).prop_flat_map(|dimensions| {
        (
            proptest::collection::vec(1u32..6, dimensions),
            0usize..300,
            proptest::collection::vec(any::<bool>(), dimensions),
            1usize..12,
        )
            .prop_flat_map(move |(cards, docs, skip, leaf)| {
                let columns: Vec<_> = cards
                    .iter()
                    .map(|card| proptest::collection::vec(0..*card, docs))
                    .collect();
                (
                    Just(cards),
                    columns,
                    proptest::collection::vec(-50i32..50, docs)
                        .prop_map(|v| v.into_iter().map(f64::from).collect()),
                    Just(skip),
                    Just(leaf),
                )
            })
    })
}

proptest! {
    #[test]
    fn tree_answers_equal_brute_force(
        (cards, dims, values, skip, leaf) in case(),
        picks in proptest::collection::vec((0u8..4, any::<u32>(), any::<bool>()), 4),
    ) {
        let dimensions = cards.len();
        let spec = TreeSpec {
            dimensions,
            skip_star: skip,
            metrics: ALL.to_vec(),
            max_leaf_records: leaf,
        };
        let metrics = vec![
            Vec::new(),
            values.clone(),
            values.clone(),
            values.clone(),
            Vec::new(),
            values.clone(),
        ];
        let hashes: Vec<Vec<u64>> = (0..ALL.len())
            .map(|m| match ALL[m] {
                MetricFunc::Hll => values.iter().map(|v| hash_i64(*v as i64)).collect(),
                _ => Vec::new(),
            })
            .collect();
        let built = build_from(&spec, &dims, &metrics, &hashes);
        // Answers come from the tree as stored.
        let tree = decode(&encode(&built), &ALL).unwrap();
        // Per dimension: unfiltered, one value, a set, or a set's complement;
        // grouped or not.
        let mut allowed = Vec::new();
        let mut grouped = Vec::new();
        for (dimension, card) in cards.iter().enumerate() {
            let (kind, bits, group) = picks[dimension % picks.len()];
            let set: Vec<bool> = (0..*card).map(|id| bits >> (id % 32) & 1 == 1).collect();
            allowed.push(match kind {
                0 => None,
                1 => Some((0..*card).map(|id| id == bits % card).collect()),
                2 => Some(set),
                _ => Some(set.iter().map(|b| !b).collect()),
            });
            grouped.push(group);
        }
        let query = TreeQuery { allowed: &allowed, grouped: &grouped };
        let key_of = |value_at: &dyn Fn(usize) -> u32| -> Vec<u32> {
            (0..dimensions).filter(|d| grouped[*d]).map(value_at).collect()
        };
        let mut expected = Answer::new();
        let mut expected_sketches = Sketches::new();
        for doc in 0..values.len() {
            let passes = (0..dimensions).all(|d| match &allowed[d] {
                None => true,
                Some(allowed) => allowed[dims[d][doc] as usize],
            });
            if passes {
                let v = values[doc];
                fold(&mut expected, key_of(&|d| dims[d][doc]), [1.0, v, v, v]);
                let (hll, quantiles) = expected_sketches.entry(key_of(&|d| dims[d][doc])).or_default();
                hll.insert_hash(hash_i64(v as i64));
                quantiles.insert(v);
            }
        }
        let mut got = Answer::new();
        let mut got_sketches = Sketches::new();
        let scanned = tree.visit(&query, |record| {
            let r = record as usize;
            let row = [
                tree.metrics[0][r],
                tree.metrics[1][r],
                tree.metrics[2][r],
                tree.metrics[3][r],
            ];
            fold(&mut got, key_of(&|d| tree.dims[d][r]), row);
            let (hll, quantiles) = got_sketches.entry(key_of(&|d| tree.dims[d][r])).or_default();
            hll.merge_encoded(tree.sketches[4].get(r)).unwrap();
            quantiles.merge_encoded(tree.sketches[5].get(r)).unwrap();
        });
        prop_assert_eq!(&got, &expected);
        prop_assert_eq!(quantile_answers(&got_sketches), quantile_answers(&expected_sketches));
        prop_assert!(scanned <= tree.records() as u64);
    }
}

#[test]
fn unfiltered_count_reads_one_star_record() {
    let dims = vec![
        (0..1000u32).map(|i| i % 7).collect::<Vec<_>>(),
        (0..1000u32).map(|i| i % 11).collect(),
    ];
    let tree = count_tree(&dims, 1);
    let query = TreeQuery {
        allowed: &[None, None],
        grouped: &[false, false],
    };
    let mut count = 0.0;
    let scanned = tree.visit(&query, |record| count += tree.metrics[0][record as usize]);
    assert_eq!(count, 1000.0);
    assert_eq!(scanned, 1);
}

#[test]
fn damaged_blocks_are_refused() {
    let dims = vec![(0..200u32).map(|i| i % 5).collect::<Vec<_>>()];
    let tree = count_tree(&dims, 2);
    let bytes = encode(&tree);
    assert!(decode(&bytes[..bytes.len() - 1], &[MetricFunc::Count]).is_err());
    assert!(decode(&bytes, &[]).is_err());
    // A node whose child points back at the root would loop forever.
    let mut looped = bytes.clone();
    looped[24 + 12..24 + 16].copy_from_slice(&0u32.to_le_bytes());
    assert!(decode(&looped, &[MetricFunc::Count]).is_err());
    for at in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0xFF;
        if let Ok(tree) = decode(&damaged, &[MetricFunc::Count]) {
            let query = TreeQuery {
                allowed: &[Some(vec![true; 5])],
                grouped: &[true],
            };
            tree.visit(&query, |_| {});
        }
    }
}

#[test]
fn damaged_sketches_are_refused() {
    let dims = vec![(0..300u32).map(|i| i % 4).collect::<Vec<_>>()];
    let values: Vec<f64> = (0..300).map(|i| f64::from(i % 37)).collect();
    let funcs = [MetricFunc::Hll, MetricFunc::Quantiles, MetricFunc::Count];
    let spec = TreeSpec {
        dimensions: 1,
        skip_star: vec![false],
        metrics: funcs.to_vec(),
        max_leaf_records: 2,
    };
    let hashes = vec![
        values.iter().map(|v| hash_i64(*v as i64)).collect(),
        Vec::new(),
        Vec::new(),
    ];
    let tree = build_from(
        &spec,
        &dims,
        &[Vec::new(), values.clone(), Vec::new()],
        &hashes,
    );
    let bytes = encode(&tree);
    let decoded = decode(&bytes, &funcs).unwrap();
    assert_eq!(decoded.sketches, tree.sketches);
    assert!(decode(&bytes[..bytes.len() - 8], &funcs).is_err());
    assert!(decode(
        &bytes,
        &[MetricFunc::Hll, MetricFunc::Count, MetricFunc::Count]
    )
    .is_err());
    // Any flipped byte is refused, or reads as a tree whose every sketch
    // is whole.
    for at in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0xFF;
        if let Ok(tree) = decode(&damaged, &funcs) {
            for (m, column) in tree.sketches.iter().enumerate().take(2) {
                for record in 0..column.len() {
                    let mut sketch = super::RecordSketch::new(funcs[m]).unwrap();
                    assert!(sketch.merge_encoded(column.get(record)).is_some());
                }
            }
        }
    }
}

#[test]
fn trees_whose_records_leave_their_paths_are_refused() {
    // Two dimensions, 35 distinct tuples, leaves of at most 8 records: the
    // root splits on the first, and its children (7 records each) are
    // leaves.
    let dims = vec![
        (0..200u32).map(|i| i % 5).collect::<Vec<_>>(),
        (0..200u32).map(|i| i % 7).collect::<Vec<_>>(),
    ];
    let tree = count_tree(&dims, 8);
    assert!(decode(&encode(&tree), &[MetricFunc::Count]).is_ok());
    let child = tree.nodes[0].first_child as usize;
    let record = tree.nodes[child].start as usize;
    // A record of the root's first child holding another value of the
    // dimension the root splits on.
    let mut moved = tree.clone();
    moved.dims[0][record] = tree.nodes[child].value + 1;
    assert!(decode(&encode(&moved), &[MetricFunc::Count]).is_err());
    // A child that claims to be two levels below its parent.
    let mut deep = tree.clone();
    deep.depths[child] += 1;
    assert!(decode(&encode(&deep), &[MetricFunc::Count]).is_err());
    // A leaf record with STAR below the leaf's path.
    let leaf = (0..tree.nodes.len())
        .find(|n| tree.nodes[*n].is_leaf() && (tree.depths[*n] as usize) < dims.len())
        .expect("a leaf above the last dimension");
    let mut starred = tree.clone();
    let last = dims.len() - 1;
    starred.dims[last][tree.nodes[leaf].start as usize] = super::STAR;
    assert!(decode(&encode(&starred), &[MetricFunc::Count]).is_err());
}
