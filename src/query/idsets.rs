//! Sets of dictionary ids for distinct counts inside one segment, before
//! the ids become values: one bitset per group laid side by side when the
//! groups are few ([`IdBits`]); otherwise (group, id) pairs dealt to
//! buckets by group as they come and radix-sorted bucket by bucket
//! ([`IdPairs`]).

use std::ops::Range;

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

/// (group, id) pairs of every group, dealt as they come to one of
/// [`IdPairs::BUCKETS`] buckets by the group's low bits, each sorted
/// (radix, by the bits in use) and deduplicated on its own when read or
/// when it grows past twice its sorted part. A bucket holds a slice of the
/// groups, so its sort runs in cache where one sort of every pair would
/// stream all of them through memory several times.
#[derive(Debug, Clone)]
pub struct IdPairs {
    id_bits: u32,
    /// Keys `(group >> BUCKET_BITS) << id_bits | id`, bucket by bucket.
    buckets: Vec<Bucket>,
    groups: usize,
    max_group: u64,
}

#[derive(Debug, Clone, Default)]
struct Bucket {
    keys: Vec<u64>,
    /// Length of the sorted, deduplicated prefix.
    sorted: usize,
}

const BUCKET_BITS: u32 = 8;

impl Bucket {
    fn compact(&mut self, width: u32, scratch: &mut Vec<u64>) {
        if self.sorted == self.keys.len() {
            return;
        }
        // A radix sort's counters cost more than a small sort.
        if self.keys.len() < 1024 {
            self.keys.sort_unstable();
        } else {
            crate::sort::radix_sort(&mut self.keys, scratch, width);
        }
        self.keys.dedup();
        self.sorted = self.keys.len();
    }
}

impl IdPairs {
    /// Buckets the pairs are dealt to.
    pub const BUCKETS: usize = 1 << BUCKET_BITS;
    /// Entries a bucket buffers before it is sorted and deduplicated in
    /// place (when at least half of them are new).
    pub const COMPACT: usize = 1 << 16;

    pub fn new(cardinality: usize) -> IdPairs {
        IdPairs {
            id_bits: (usize::BITS - cardinality.leading_zeros()).clamp(1, 32),
            buckets: vec![Bucket::default(); Self::BUCKETS],
            groups: 0,
            max_group: 0,
        }
    }

    pub fn groups(&self) -> usize {
        self.groups
    }

    /// The bits of an id in a key, the keys `group << id_bits | id`
    /// (sorted and deduplicated), their number and the groups, for
    /// [`IdPairs::from_parts`].
    pub fn parts(&self) -> (u32, Vec<u64>, usize, usize) {
        let id_bits = self.id_bits;
        let (groups, ids) = self.clone().into_groups();
        let keys: Vec<u64> = groups
            .into_iter()
            .flat_map(|(group, range)| {
                ids[range]
                    .iter()
                    .map(move |id| ((group as u64) << id_bits) | u64::from(*id))
            })
            .collect();
        let sorted = keys.len();
        (id_bits, keys, sorted, self.groups)
    }

    /// The pairs [`IdPairs::parts`] gave (or keys of which only a prefix
    /// is sorted); `None` unless `id_bits` is between 1 and 32 and the
    /// first `sorted` keys ascend strictly.
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
        let mut pairs = IdPairs::new(1);
        pairs.id_bits = id_bits;
        pairs.groups = groups;
        let id_mask = (1u64 << id_bits) - 1;
        for key in keys {
            let group = key >> id_bits;
            if group > u64::from(u32::MAX) {
                return None;
            }
            pairs.push(group as u32, (key & id_mask) as u32);
        }
        // A subsequence of ascending keys ascends: sorted keys stay sorted
        // in their buckets.
        if sorted == pairs.len() {
            pairs
                .buckets
                .iter_mut()
                .for_each(|b| b.sorted = b.keys.len());
        }
        Some(pairs)
    }

    fn len(&self) -> usize {
        self.buckets.iter().map(|bucket| bucket.keys.len()).sum()
    }

    /// Bytes of the buffered pairs.
    pub fn heap_bytes(&self) -> usize {
        self.buckets.iter().map(|b| b.keys.capacity() * 8).sum()
    }

    pub fn resize(&mut self, groups: usize) {
        self.groups = groups;
    }

    #[inline]
    fn push(&mut self, group: u32, id: u32) {
        let id_mask = (1u64 << self.id_bits) - 1;
        self.max_group = self.max_group.max(u64::from(group));
        let bucket = &mut self.buckets[group as usize % Self::BUCKETS];
        bucket
            .keys
            .push((u64::from(group >> BUCKET_BITS) << self.id_bits) | (u64::from(id) & id_mask));
    }

    /// Bits of a key in any bucket.
    fn width(&self) -> u32 {
        self.id_bits + (u64::BITS - (self.max_group >> BUCKET_BITS).leading_zeros())
    }

    /// Adds `ids[i]` to group `groups[i]`.
    #[inline]
    pub fn insert(&mut self, groups: &[u32], ids: &[u32]) {
        for (group, id) in groups.iter().zip(ids) {
            self.push(*group, *id);
        }
        let width = self.width();
        let mut scratch = Vec::new();
        for bucket in &mut self.buckets {
            if bucket.keys.len() >= Self::COMPACT && bucket.keys.len() >= 2 * bucket.sorted {
                bucket.compact(width, &mut scratch);
            }
        }
    }

    /// Every group's ids, ascending, one after the other, and for the
    /// groups that have any, in group order, `(group, where its ids are)`.
    pub fn into_groups(self) -> (Vec<(usize, Range<usize>)>, Vec<u32>) {
        let width = self.width();
        let id_bits = self.id_bits;
        let id_mask = (1u64 << id_bits) - 1;
        let mut scratch = Vec::new();
        let mut ids = Vec::with_capacity(self.len());
        let mut groups: Vec<(usize, Range<usize>)> = Vec::new();
        for (index, mut bucket) in self.buckets.into_iter().enumerate() {
            bucket.compact(width, &mut scratch);
            let first = groups.len();
            for key in &bucket.keys {
                let group = (((key >> id_bits) as usize) << BUCKET_BITS) | index;
                match groups[first..].last_mut() {
                    Some((last, range)) if *last == group => range.end += 1,
                    _ => groups.push((group, ids.len()..ids.len() + 1)),
                }
                ids.push((key & id_mask) as u32);
            }
        }
        groups.sort_unstable_by_key(|(group, _)| *group);
        (groups, ids)
    }

    /// Distinct ids of `group` (not used on the hot path).
    pub fn count(&self, group: usize) -> usize {
        let (groups, _) = self.clone().into_groups();
        groups
            .iter()
            .find(|(g, _)| *g == group)
            .map_or(0, |(_, range)| range.len())
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
            let (by_group, ids) = pairs.into_groups();
            let nonempty: Vec<usize> = (0..6).filter(|g| !expected[*g].is_empty()).collect();
            prop_assert_eq!(by_group.iter().map(|(g, _)| *g).collect::<Vec<_>>(), nonempty);
            for (group, range) in &by_group {
                prop_assert_eq!(&ids[range.clone()], &expected[*group].iter().copied().collect::<Vec<_>>()[..]);
            }
            for (group, want) in expected.iter().enumerate() {
                let want: Vec<u32> = want.iter().copied().collect();
                prop_assert_eq!(&bits.sorted(group), &want);
            }
        }
    }
}
