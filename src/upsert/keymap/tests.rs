//! The key map against a `HashMap` model, through growth and backward-shift
//! removal, and its bytes per key at 10M keys.

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

fn at(segment: u32, doc: u32) -> Location {
    Location { segment, doc }
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u64, u32, u32),
    Remove(u64),
}

fn op() -> impl Strategy<Value = Op> {
    // A small key space so inserts replace and removes hit.
    prop_oneof![
        3 => (0u64..300, 0u32..5, any::<u32>()).prop_map(|(k, s, d)| Op::Insert(k, s, d)),
        1 => (0u64..300).prop_map(Op::Remove),
    ]
}

proptest! {
    #[test]
    fn behaves_like_a_hash_map(ops in proptest::collection::vec(op(), 1..2000)) {
        let mut map = ExactKeyMap::with_capacity(0).unwrap();
        let mut model: HashMap<u64, Location> = HashMap::new();
        for op in ops {
            match op {
                Op::Insert(key, segment, doc) => {
                    let got = map.insert(&[key], at(segment, doc)).unwrap();
                    prop_assert_eq!(got, model.insert(key, at(segment, doc)));
                }
                Op::Remove(key) => {
                    prop_assert_eq!(map.remove(&[key]), model.remove(&key));
                }
            }
            prop_assert_eq!(map.len(), model.len());
        }
        for key in 0..300u64 {
            prop_assert_eq!(map.get(&[key]), model.get(&key).copied());
        }
        let mut listed: Vec<(u64, Location)> = map.iter().map(|(k, l)| (k[0], l)).collect();
        listed.sort_by_key(|(k, _)| *k);
        let mut expected: Vec<(u64, Location)> = model.into_iter().collect();
        expected.sort_by_key(|(k, _)| *k);
        prop_assert_eq!(listed, expected);
    }
}

#[test]
fn hashed_keys_grow_remove_and_retain() {
    let mut map = HashedKeyMap::with_capacity(4).unwrap();
    let key = |i: u32| hash_key(format!("user-{i}|BRL").as_bytes());
    for i in 0..10_000 {
        assert_eq!(map.insert(&key(i), at(i % 7, i)).unwrap(), None);
    }
    assert_eq!(map.len(), 10_000);
    assert_eq!(map.bytes(), 16_384 * 3 * 8);
    assert_eq!(map.insert(&key(42), at(9, 1)).unwrap(), Some(at(0, 42)));
    assert_eq!(map.get(&key(42)), Some(at(9, 1)));
    for i in (0..10_000).step_by(2) {
        assert!(map.remove(&key(i)).is_some());
    }
    assert_eq!(map.remove(&key(0)), None);
    map.retain(|_, location| location.segment != 3);
    for i in 0..10_000 {
        let expected = (i % 2 == 1 && i % 7 != 3).then_some(at(i % 7, i));
        assert_eq!(map.get(&key(i)), expected, "key {i}");
    }
    assert_eq!(map.get(&hash_key(b"never inserted")), None);
}

#[test]
fn the_largest_locations_round_trip() {
    let mut map = ExactKeyMap::with_capacity(1).unwrap();
    let last = at(MAX_SEGMENT, u32::MAX);
    map.insert(&[0], at(0, 0)).unwrap();
    map.insert(&[u64::MAX], last).unwrap();
    assert_eq!(map.get(&[u64::MAX]), Some(last));
    assert_eq!(map.get(&[0]), Some(at(0, 0)));
}

/// The target of an upsert table keyed by one LONG: at most 40 bytes per
/// key at 10M keys, measured on a filled map.
#[test]
fn ten_million_eight_byte_keys_take_under_forty_bytes_each() {
    const KEYS: u64 = 10_000_000;
    let mut map = ExactKeyMap::with_capacity(0).unwrap();
    for key in 0..KEYS {
        // Spread like real ids: every key distinct, not in slot order.
        let id = key.wrapping_mul(0x2545_F491_4F6C_DD1D);
        map.insert(&[id], at((key % 100) as u32, key as u32))
            .unwrap();
    }
    assert_eq!(map.len() as u64, KEYS);
    let per_key = map.bytes() as f64 / KEYS as f64;
    assert!(per_key <= 40.0, "{per_key:.1} bytes per key");
    assert_eq!(map.bytes(), (1 << 24) * 16);
    let probe = 1_234_567u64;
    assert_eq!(
        map.get(&[probe.wrapping_mul(0x2545_F491_4F6C_DD1D)]),
        Some(at((probe % 100) as u32, probe as u32))
    );
}
