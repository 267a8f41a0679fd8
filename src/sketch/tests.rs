use proptest::prelude::*;

use super::*;

fn hll_of(values: impl Iterator<Item = i64>) -> Hll {
    let mut hll = Hll::default();
    values.for_each(|v| hll.insert_hash(hash_i64(v)));
    hll
}

#[test]
fn hll_estimates_within_its_error() {
    assert_eq!(Hll::default().estimate(), 0);
    assert_eq!(hll_of(std::iter::once(7)).estimate(), 1);
    for n in [10i64, 100, 1_000, 10_000, 200_000] {
        let estimate = hll_of(0..n).estimate() as f64;
        // Three standard errors (1.04 / √256).
        let error = (estimate - n as f64).abs() / n as f64;
        assert!(error < 0.2, "{n}: {estimate}");
    }
    // Repeats do not count.
    assert_eq!(
        hll_of((0..5_000).map(|i| i % 50)),
        hll_of(0..50),
        "the same values, the same registers"
    );
    // Integral doubles count as the integers they equal.
    assert_eq!(hash_number(5.0), hash_i64(5));
    assert_ne!(hash_number(5.5), hash_number(5.25));
    assert_ne!(hash_bytes(b"ab"), hash_bytes(b"ba"));
}

#[test]
fn damaged_compact_forms_are_refused() {
    let mut hll = Hll::default();
    assert_eq!(hll.merge_encoded(&[]), None);
    assert_eq!(hll.merge_encoded(&[9]), None);
    assert_eq!(hll.merge_encoded(&[0, 3, 1, 2]), None);
    assert_eq!(hll.merge_encoded(&[1, 0, 0]), None);
    let mut quantiles = Quantiles::default();
    assert_eq!(quantiles.merge_encoded(&[]), None);
    assert_eq!(quantiles.merge_encoded(&[0, 0x80]), None);
    // An offset past the clamped range.
    assert_eq!(
        quantiles.merge_encoded(&[0, 0xff, 0xff, 0x0f, 1, 1, 0, 0]),
        None
    );
}

proptest! {
    #[test]
    fn hll_merges_and_encodes_exactly(
        left in prop::collection::vec(any::<i64>(), 0..400),
        right in prop::collection::vec(any::<i64>(), 0..400),
    ) {
        let mut merged = hll_of(left.iter().copied());
        merged.merge(&hll_of(right.iter().copied()));
        prop_assert_eq!(&merged, &hll_of(left.iter().chain(&right).copied()));
        let mut bytes = Vec::new();
        merged.encode(&mut bytes);
        bytes.push(42);
        let mut decoded = Hll::default();
        prop_assert_eq!(decoded.merge_encoded(&bytes), Some(bytes.len() - 1));
        prop_assert_eq!(decoded, merged);
    }

    #[test]
    fn quantiles_are_within_one_percent(
        values in prop::collection::vec(
            prop_oneof![
                Just(0.0),
                -1e6f64..1e6,
                (1u32..100_000).prop_map(|v| f64::from(v) / 100.0),
            ],
            1..500,
        ),
        split in any::<prop::sample::Index>(),
        percent in 0.0f64..=100.0,
    ) {
        let mut sketch = Quantiles::default();
        values.iter().for_each(|v| sketch.insert(*v));
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = ((sorted.len() as f64 * percent / 100.0) as usize).min(sorted.len() - 1);
        let exact = sorted[rank];
        let estimate = sketch.quantile(percent).unwrap();
        prop_assert!(
            (estimate - exact).abs() <= 0.0100001 * exact.abs(),
            "p{}: {} for {}", percent, estimate, exact
        );

        // Any split merges back to the same answers, also through bytes.
        let at = split.index(values.len());
        let (mut left, mut right) = (Quantiles::default(), Quantiles::default());
        values[..at].iter().for_each(|v| left.insert(*v));
        values[at..].iter().for_each(|v| right.insert(*v));
        let mut bytes = Vec::new();
        right.encode(&mut bytes);
        prop_assert_eq!(left.merge_encoded(&bytes), Some(bytes.len()));
        prop_assert_eq!(left.count(), sketch.count());
        for p in [0.0, 25.0, 50.0, 90.0, 99.0, 100.0, percent] {
            prop_assert_eq!(left.quantile(p), sketch.quantile(p));
        }
    }
}
