//! Sets of dictionary ids for distinct counts inside one segment, before
//! the ids become values: one adaptive set per group ([`IdSet`]), or one
//! bitset per group laid side by side when the groups are few
//! ([`IdBits`]).

use std::collections::HashSet;

/// Dictionary ids of one group, inside one segment: a hash set while it is
/// small next to the dictionary, a bitset over all the ids once that is
/// smaller (groups with many docs), so inserts stay one hash probe or one
/// bit operation.
#[derive(Debug, Clone, Default)]
pub struct IdSet {
    small: HashSet<u32, foldhash::fast::RandomState>,
    bits: Vec<u64>,
    len: usize,
}

impl IdSet {
    /// Adds `id`, one of `cardinality` dictionary ids.
    #[inline]
    pub fn insert(&mut self, id: u32, cardinality: usize) {
        let (word, bit) = (id as usize / 64, 1u64 << (id % 64));
        if let Some(slot) = self.bits.get_mut(word) {
            self.len += usize::from(*slot & bit == 0);
            *slot |= bit;
            return;
        }
        if !self.bits.is_empty() {
            // An id beyond the cardinality: kept, never dropped.
            self.bits.resize(word + 1, 0);
            self.bits[word] = bit;
            self.len += 1;
            return;
        }
        if self.small.insert(id) {
            self.len += 1;
        }
        // A bitset costs cardinality / 8 bytes, a hash set about 8 per id.
        if self.small.len() * 64 > cardinality.max(1024) {
            let words = cardinality.div_ceil(64).max(word + 1);
            self.bits = vec![0; words];
            for id in self.small.drain() {
                let word = id as usize / 64;
                if word >= self.bits.len() {
                    self.bits.resize(word + 1, 0);
                }
                self.bits[word] |= 1 << (id % 64);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The ids in ascending order.
    pub fn sorted(&self) -> Vec<u32> {
        if self.bits.is_empty() {
            let mut ids: Vec<u32> = self.small.iter().copied().collect();
            ids.sort_unstable();
            return ids;
        }
        let mut ids = Vec::with_capacity(self.len);
        for (index, word) in self.bits.iter().enumerate() {
            let mut rest = *word;
            while rest != 0 {
                ids.push(index as u32 * 64 + rest.trailing_zeros());
                rest &= rest - 1;
            }
        }
        ids
    }
}

/// Dictionary ids of every group, inside one segment: a bitset of
/// `cardinality` bits per group, one after the other. For few groups over a
/// dictionary of moderate size, one bit operation per doc with no hashing.
#[derive(Debug, Clone)]
pub struct IdBits {
    cardinality: usize,
    stride: usize,
    groups: usize,
    words: Vec<u64>,
}

impl IdBits {
    /// Most bits kept (32 MiB).
    pub const LIMIT_BITS: usize = 1 << 28;

    pub fn new(cardinality: usize) -> IdBits {
        IdBits {
            cardinality,
            stride: cardinality.div_ceil(64).max(1),
            groups: 0,
            words: Vec::new(),
        }
    }

    /// Groups held.
    pub fn groups(&self) -> usize {
        self.groups
    }

    /// Bits `groups` groups take.
    pub fn bits_for(cardinality: usize, groups: usize) -> usize {
        cardinality
            .div_ceil(64)
            .max(1)
            .saturating_mul(64)
            .saturating_mul(groups)
    }

    pub fn resize(&mut self, groups: usize) {
        self.groups = groups;
        self.words.resize(groups * self.stride, 0);
    }

    /// Adds `ids[i]` to group `groups[i]`; ids past the cardinality are
    /// ignored (a dictionary never gives one).
    #[inline]
    pub fn insert(&mut self, groups: &[u32], ids: &[u32]) {
        for (group, id) in groups.iter().zip(ids) {
            let id = *id as usize;
            if id < self.cardinality {
                let at = *group as usize * self.stride + id / 64;
                if let Some(word) = self.words.get_mut(at) {
                    *word |= 1 << (id % 64);
                }
            }
        }
    }

    /// The ids of `group`, ascending.
    pub fn sorted(&self, group: usize) -> Vec<u32> {
        let words = self
            .words
            .get(group * self.stride..(group + 1) * self.stride)
            .unwrap_or_default();
        let mut ids = Vec::new();
        for (index, word) in words.iter().enumerate() {
            let mut rest = *word;
            while rest != 0 {
                ids.push(index as u32 * 64 + rest.trailing_zeros());
                rest &= rest - 1;
            }
        }
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sets_hold_what_went_in(
            entries in proptest::collection::vec((0u32..6, 0u32..5000), 0..4000),
            cardinality in 1usize..5000,
        ) {
            let entries: Vec<(u32, u32)> =
                entries.iter().map(|(g, id)| (*g, id % cardinality as u32)).collect();
            let mut expected = vec![std::collections::BTreeSet::new(); 6];
            let mut sets = vec![IdSet::default(); 6];
            let mut bits = IdBits::new(cardinality);
            bits.resize(6);
            for (group, id) in &entries {
                expected[*group as usize].insert(*id);
                sets[*group as usize].insert(*id, cardinality);
            }
            let (groups, ids): (Vec<u32>, Vec<u32>) = entries.iter().copied().unzip();
            bits.insert(&groups, &ids);
            for group in 0..6 {
                let want: Vec<u32> = expected[group].iter().copied().collect();
                prop_assert_eq!(sets[group].len(), want.len());
                prop_assert_eq!(&sets[group].sorted(), &want);
                prop_assert_eq!(&bits.sorted(group), &want);
            }
        }
    }
}
