//! Sets of dictionary ids for distinct counts inside one segment, before
//! the ids become values: one bitset per group laid side by side when the
//! groups are few ([`IdBits`]); otherwise (group, id) pairs appended as
//! they come and radix-sorted once ([`IdPairs`]).

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

    /// The dictionary's size, the groups and their bitsets side by side,
    /// for [`IdBits::from_parts`].
    pub fn parts(&self) -> (usize, usize, &[u64]) {
        (self.cardinality, self.groups, &self.words)
    }

    /// The sets [`IdBits::parts`] gave; `None` unless `words` holds
    /// exactly `groups` bitsets of `cardinality` bits, none set past it.
    pub fn from_parts(cardinality: usize, groups: usize, words: Vec<u64>) -> Option<IdBits> {
        let stride = cardinality.div_ceil(64).max(1);
        if groups.checked_mul(stride)? != words.len() {
            return None;
        }
        // Bits of the last word of each bitset that are past the cardinality.
        let used = cardinality - (stride - 1) * 64;
        let past = if used >= 64 { 0 } else { u64::MAX << used };
        if words.chunks(stride).any(|set| set[stride - 1] & past != 0) {
            return None;
        }
        Some(IdBits {
            cardinality,
            stride,
            groups,
            words,
        })
    }

    /// Bytes of the bitsets.
    pub fn heap_bytes(&self) -> usize {
        self.words.capacity() * 8
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

/// (group, id) pairs of every group, appended in scan order and sorted
/// (radix, by the bits in use) and deduplicated when read, or when the
/// buffer grows past [`IdPairs::COMPACT`] entries.
#[derive(Debug, Clone)]
pub struct IdPairs {
    id_bits: u32,
    keys: Vec<u64>,
    /// Length of the sorted, deduplicated prefix.
    sorted: usize,
    groups: usize,
    max_group: u64,
}

impl IdPairs {
    /// Entries buffered before they are sorted and deduplicated in place.
    pub const COMPACT: usize = 1 << 22;

    pub fn new(cardinality: usize) -> IdPairs {
        IdPairs {
            id_bits: (usize::BITS - cardinality.leading_zeros()).clamp(1, 32),
            keys: Vec::new(),
            sorted: 0,
            groups: 0,
            max_group: 0,
        }
    }

    pub fn groups(&self) -> usize {
        self.groups
    }

    /// The bits of an id in a key, the keys (a sorted, deduplicated
    /// prefix, then as appended), the prefix's length and the groups, for
    /// [`IdPairs::from_parts`].
    pub fn parts(&self) -> (u32, &[u64], usize, usize) {
        (self.id_bits, &self.keys, self.sorted, self.groups)
    }

    /// The pairs [`IdPairs::parts`] gave; `None` unless `id_bits` is
    /// between 1 and 32 and the first `sorted` keys ascend strictly.
    pub fn from_parts(
        id_bits: u32,
        keys: Vec<u64>,
        sorted: usize,
        groups: usize,
    ) -> Option<IdPairs> {
        if !(1..=32).contains(&id_bits) || sorted > keys.len() {
            return None;
        }
        if keys[..sorted].windows(2).any(|pair| pair[0] >= pair[1]) {
            return None;
        }
        let max_group = keys.iter().map(|key| key >> id_bits).max().unwrap_or(0);
        Some(IdPairs {
            id_bits,
            keys,
            sorted,
            groups,
            max_group,
        })
    }

    /// Bytes of the buffered pairs.
    pub fn heap_bytes(&self) -> usize {
        self.keys.capacity() * 8
    }

    pub fn resize(&mut self, groups: usize) {
        self.groups = groups;
    }

    /// Adds `ids[i]` to group `groups[i]`.
    #[inline]
    pub fn insert(&mut self, groups: &[u32], ids: &[u32]) {
        let id_bits = self.id_bits;
        let id_mask = (1u64 << id_bits) - 1;
        let mut max_group = self.max_group;
        self.keys.extend(groups.iter().zip(ids).map(|(group, id)| {
            max_group = max_group.max(u64::from(*group));
            (u64::from(*group) << id_bits) | (u64::from(*id) & id_mask)
        }));
        self.max_group = max_group;
        if self.keys.len() >= Self::COMPACT && self.keys.len() >= 2 * self.sorted {
            self.compact();
        }
    }

    fn compact(&mut self) {
        if self.sorted == self.keys.len() {
            return;
        }
        let width = self.id_bits + (u64::BITS - self.max_group.leading_zeros());
        let mut scratch = Vec::new();
        crate::sort::radix_sort(&mut self.keys, &mut scratch, width);
        self.keys.dedup();
        self.sorted = self.keys.len();
    }

    /// Every group's ids, ascending: `(group, ids)` for the groups that
    /// have any, in group order.
    pub fn into_groups(mut self) -> Vec<(usize, Vec<u32>)> {
        self.compact();
        let id_mask = (1u64 << self.id_bits) - 1;
        let mut out: Vec<(usize, Vec<u32>)> = Vec::new();
        for key in &self.keys {
            let group = (key >> self.id_bits) as usize;
            let id = (key & id_mask) as u32;
            match out.last_mut() {
                Some((last, ids)) if *last == group => ids.push(id),
                _ => out.push((group, vec![id])),
            }
        }
        out
    }

    /// Distinct ids of `group` (not used on the hot path).
    pub fn count(&self, group: usize) -> usize {
        let mut copy = self.clone();
        copy.compact();
        copy.keys
            .iter()
            .filter(|key| (**key >> copy.id_bits) as usize == group)
            .count()
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
            let mut bits = IdBits::new(cardinality);
            bits.resize(6);
            for (group, id) in &entries {
                expected[*group as usize].insert(*id);
            }
            let (groups, ids): (Vec<u32>, Vec<u32>) = entries.iter().copied().unzip();
            bits.insert(&groups, &ids);
            let mut pairs = IdPairs::new(cardinality);
            pairs.resize(6);
            for chunk in entries.chunks(700) {
                let (groups, ids): (Vec<u32>, Vec<u32>) = chunk.iter().copied().unzip();
                pairs.insert(&groups, &ids);
            }
            let by_group = pairs.into_groups();
            let nonempty: Vec<usize> = (0..6).filter(|g| !expected[*g].is_empty()).collect();
            prop_assert_eq!(by_group.iter().map(|(g, _)| *g).collect::<Vec<_>>(), nonempty);
            for (group, ids) in &by_group {
                prop_assert_eq!(ids, &expected[*group].iter().copied().collect::<Vec<_>>());
            }
            for (group, want) in expected.iter().enumerate() {
                let want: Vec<u32> = want.iter().copied().collect();
                prop_assert_eq!(&bits.sorted(group), &want);
            }
        }
    }
}
