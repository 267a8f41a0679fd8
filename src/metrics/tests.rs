//! The metric names: unique, in Prometheus' alphabet, counters without the
//! suffix the encoder adds; and the labels that come from other modules'
//! names.

use std::collections::BTreeSet;

use super::names::ALL;
use crate::ingest::decode::BadReason;

#[test]
fn names_are_unique_and_well_formed() {
    let mut seen = BTreeSet::new();
    for def in ALL {
        assert!(seen.insert(def.name), "{} is defined twice", def.name);
        let mut chars = def.name.chars();
        let first = chars.next().unwrap();
        assert!(first.is_ascii_alphabetic() || first == '_', "{}", def.name);
        assert!(
            chars.all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{}",
            def.name
        );
        assert!(!def.name.ends_with("_total"), "{}", def.name);
        assert!(
            !def.help.is_empty() && !def.help.contains('\n'),
            "{}",
            def.name
        );
    }
}

#[test]
fn bad_reason_labels_match_the_api() {
    for reason in BadReason::ALL {
        let json = serde_json::to_value(reason).unwrap();
        assert_eq!(json, reason.name());
    }
}
