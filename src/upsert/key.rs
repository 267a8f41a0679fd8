//! Primary keys as the key map holds them: one integer column exactly, any
//! other key as the 128-bit hash of its canonical bytes; and [`Keys`], the
//! map of whichever form the table uses.

use super::keymap::{hash_key, ExactKeyMap, GrowError, HashedKeyMap, Location};
use crate::segment::{Cell, Scalar};

/// A primary key in the map's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrimaryKey {
    Exact(u64),
    Hashed([u64; 2]),
}

/// The key of a row's key cells, `None` when one of them is null.
pub fn primary_key(exact: bool, cells: &[Cell]) -> Option<PrimaryKey> {
    if exact {
        return match cells {
            [Cell::One(Scalar::I32(v))] => Some(PrimaryKey::Exact(*v as i64 as u64)),
            [Cell::One(Scalar::I64(v))] => Some(PrimaryKey::Exact(*v as u64)),
            _ => None,
        };
    }
    let mut bytes = Vec::with_capacity(32);
    for cell in cells {
        match cell {
            Cell::Null => return None,
            Cell::One(scalar) => canonical(scalar, &mut bytes),
            Cell::Many(values) => {
                bytes.push(b'[');
                bytes.extend_from_slice(&(values.len() as u32).to_le_bytes());
                for value in values {
                    canonical(value, &mut bytes);
                }
            }
        }
    }
    Some(PrimaryKey::Hashed(hash_key(&bytes)))
}

/// A value's bytes, tagged and length-prefixed so that no two different
/// keys share them.
fn canonical(scalar: &Scalar, out: &mut Vec<u8>) {
    match scalar {
        Scalar::I32(v) => {
            out.push(b'i');
            out.extend_from_slice(&(*v as i64).to_le_bytes());
        }
        Scalar::I64(v) => {
            out.push(b'i');
            out.extend_from_slice(&v.to_le_bytes());
        }
        Scalar::F32(v) => {
            out.push(b'f');
            out.extend_from_slice(&(*v as f64).to_bits().to_le_bytes());
        }
        Scalar::F64(v) => {
            out.push(b'f');
            out.extend_from_slice(&v.to_bits().to_le_bytes());
        }
        Scalar::Str(v) => {
            out.push(b's');
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            out.extend_from_slice(v.as_bytes());
        }
        Scalar::Bytes(v) => {
            out.push(b'b');
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            out.extend_from_slice(v);
        }
    }
}

/// The key map of one partition.
pub enum Keys {
    Exact(ExactKeyMap),
    Hashed(HashedKeyMap),
}

impl Keys {
    pub fn new(exact: bool) -> Result<Keys, GrowError> {
        Ok(if exact {
            Keys::Exact(ExactKeyMap::with_capacity(0)?)
        } else {
            Keys::Hashed(HashedKeyMap::with_capacity(0)?)
        })
    }

    pub fn get(&self, key: &PrimaryKey) -> Option<Location> {
        match (self, key) {
            (Keys::Exact(map), PrimaryKey::Exact(key)) => map.get(&[*key]),
            (Keys::Hashed(map), PrimaryKey::Hashed(key)) => map.get(key),
            _ => None,
        }
    }

    /// Points `key` at `location`, returning where it was.
    pub fn insert(
        &mut self,
        key: &PrimaryKey,
        location: Location,
    ) -> Result<Option<Location>, GrowError> {
        match (self, key) {
            (Keys::Exact(map), PrimaryKey::Exact(key)) => map.insert(&[*key], location),
            (Keys::Hashed(map), PrimaryKey::Hashed(key)) => map.insert(key, location),
            _ => Ok(None),
        }
    }

    /// Keeps the keys whose location passes `keep`.
    pub fn retain(&mut self, mut keep: impl FnMut(Location) -> bool) {
        match self {
            Keys::Exact(map) => map.retain(|_, location| keep(location)),
            Keys::Hashed(map) => map.retain(|_, location| keep(location)),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Keys::Exact(map) => map.len(),
            Keys::Hashed(map) => map.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of the map's mapping.
    pub fn bytes(&self) -> usize {
        match self {
            Keys::Exact(map) => map.bytes(),
            Keys::Hashed(map) => map.bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_exact_for_one_integer_and_distinct_otherwise() {
        let one = primary_key(true, &[Cell::One(Scalar::I32(-7))]);
        assert_eq!(one, primary_key(true, &[Cell::One(Scalar::I64(-7))]));
        assert_eq!(primary_key(true, &[Cell::Null]), None);
        assert_eq!(primary_key(false, &[Cell::Null]), None);
        let pair = |a: &str, b: &str| {
            primary_key(
                false,
                &[
                    Cell::One(Scalar::Str(a.into())),
                    Cell::One(Scalar::Str(b.into())),
                ],
            )
        };
        assert_ne!(pair("ab", "c"), pair("a", "bc"));
        assert_eq!(pair("ab", "c"), pair("ab", "c"));
        assert_ne!(
            primary_key(false, &[Cell::One(Scalar::Str("1".into()))]),
            primary_key(false, &[Cell::One(Scalar::I64(1))])
        );
    }
}
