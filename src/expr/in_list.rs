//! The values of an `IN (...)`: kept as written (for names, EXPLAIN,
//! statistics and index lookups) and in hash sets, so testing a value
//! costs one lookup whatever the list's length.
//!
//! Membership is exactly [`compare`](super::eval::compare)'s equality: numbers equal across
//! LONG and DOUBLE (as [`Value`]'s `Hash` and `Eq` already treat them), and
//! text equals a number when it reads as that number.

use std::collections::HashSet;
use std::ops::Deref;

use super::value::Value;

/// Pinot's default `inPredicate` lists are unbounded; 100,000 items keeps
/// a list's sets (a few MB) and its planning (tens of ms) small.
pub const DEFAULT_MAX_IN_LIST_ITEMS: usize = 100_000;

type Set = HashSet<Value, foldhash::fast::RandomState>;

#[derive(Debug, Clone)]
pub struct InList {
    values: Vec<Value>,
    /// Every value, for lookups of values of the same kind.
    exact: Set,
    /// Text values that read as numbers, as DOUBLE, for lookups of numbers.
    text_numbers: Set,
    /// Whether any value is a number, for lookups of text.
    has_numbers: bool,
}

impl InList {
    pub fn new(values: Vec<Value>) -> InList {
        let hasher = foldhash::fast::RandomState::default();
        let mut list = InList {
            values: Vec::new(),
            exact: Set::with_capacity_and_hasher(values.len(), hasher.clone()),
            text_numbers: Set::with_hasher(hasher),
            has_numbers: false,
        };
        list.extend(values);
        list
    }

    /// Adds `values` (from another `column = value` of an OR).
    pub fn extend(&mut self, values: Vec<Value>) {
        for value in &values {
            match value {
                Value::Long(_) | Value::Double(_) => self.has_numbers = true,
                Value::Str(text) => {
                    if let Ok(number) = text.trim().parse::<f64>() {
                        self.text_numbers.insert(Value::Double(number));
                    }
                }
                _ => {}
            }
            self.exact.insert(value.clone());
        }
        self.values.extend(values);
    }

    /// The values, as written.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// Whether `value` equals one of the values, as
    /// [`compare`](super::eval::compare) decides.
    pub fn contains(&self, value: &Value) -> bool {
        match value {
            Value::Null => false,
            Value::Long(_) | Value::Double(_) => {
                self.exact.contains(value) || self.text_numbers.contains(value)
            }
            Value::Str(text) => {
                self.exact.contains(value)
                    || (self.has_numbers
                        && text
                            .trim()
                            .parse::<f64>()
                            .is_ok_and(|number| self.exact.contains(&Value::Double(number))))
            }
            _ => self.exact.contains(value),
        }
    }

    /// Bytes the list holds, for the plan cache's budget.
    pub fn size_estimate(&self) -> usize {
        let values: usize = self.values.iter().map(Value::size_estimate).sum();
        // The list, its copy in the set, and the set's slots.
        2 * values + (self.exact.capacity() + self.text_numbers.capacity()) * 8
    }
}

impl From<Vec<Value>> for InList {
    fn from(values: Vec<Value>) -> InList {
        InList::new(values)
    }
}

impl Deref for InList {
    type Target = [Value];

    fn deref(&self) -> &[Value] {
        &self.values
    }
}

/// The linear definition [`InList::contains`] must agree with.
#[cfg(test)]
fn contains_linearly(values: &[Value], value: &Value) -> bool {
    values
        .iter()
        .any(|item| super::eval::compare(value, item) == Some(std::cmp::Ordering::Equal))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            (-5i64..5).prop_map(Value::Long),
            (-10i64..10).prop_map(|v| Value::Double(v as f64 / 2.0)),
            Just(Value::Double(f64::NAN)),
            Just(Value::Double(-0.0)),
            (-5i64..5).prop_map(|v| Value::Str(v.to_string())),
            (-10i64..10).prop_map(|v| Value::Str(format!(" {} ", v as f64 / 2.0))),
            "[a-c]{0,2}".prop_map(Value::Str),
            prop::collection::vec(0u8..3, 0..2).prop_map(Value::Bytes),
        ]
    }

    proptest! {
        #[test]
        fn lookups_agree_with_compare(
            values in prop::collection::vec(value(), 0..12),
            more in prop::collection::vec(value(), 0..4),
            probes in prop::collection::vec(value(), 1..12),
        ) {
            let mut list = InList::new(values.clone());
            list.extend(more.clone());
            let all: Vec<Value> = values.into_iter().chain(more).collect();
            prop_assert_eq!(list.len(), all.len());
            for probe in &probes {
                prop_assert_eq!(
                    list.contains(probe),
                    contains_linearly(&all, probe),
                    "{:?} in {:?}", probe, all
                );
            }
        }
    }

    #[test]
    fn numbers_and_text_meet_by_value() {
        let list = InList::new(vec![Value::Long(3), Value::Str("2.5".into())]);
        assert!(list.contains(&Value::Double(3.0)));
        assert!(list.contains(&Value::Str(" 3 ".into())));
        assert!(list.contains(&Value::Double(2.5)));
        assert!(!list.contains(&Value::Str("2.50".into())));
        assert!(!list.contains(&Value::Null));
    }
}
