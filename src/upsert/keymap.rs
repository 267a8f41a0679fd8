//! The primary key → location map of an upsert or dedup table: where the
//! latest version of each key lives (segment number, doc id).
//!
//! An open-addressing table with linear probing and backward-shift
//! deletion (no tombstones), in one anonymous memory mapping rather than
//! the allocator's heap: a map of millions of keys is one region the
//! kernel zero-fills lazily and returns whole when the map grows or is
//! dropped. A slot is `W` key words and one location word, so a key that
//! fits in 8 bytes (`W = 1`, the key itself) costs 16 bytes a slot, and
//! any other key (`W = 2`, its 128-bit hash, see [`hash_key`]) 24 bytes.
//! An all-zero slot is empty, which is why locations are stored plus one.
//!
//! The capacity is a power of two, grown by doubling when the load would
//! pass 3/4, so a map holds between 3/8 and 3/4 of its slots: at 10M keys
//! that is 2^24 slots, 26.8 bytes per 8-byte key. One writer at a time
//! (`&mut self`); readers of the map go through its owner's lock.

use memmap2::MmapMut;

/// Where a key's latest version is: a segment of the table (numbered by
/// the table) and a doc id in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Location {
    pub segment: u32,
    pub doc: u32,
}

impl Location {
    /// The stored word: never 0 (an empty slot), since `segment` is stored
    /// plus one.
    fn encode(self) -> u64 {
        ((u64::from(self.segment) + 1) << 32) | u64::from(self.doc)
    }

    fn decode(word: u64) -> Location {
        Location {
            segment: ((word >> 32) - 1) as u32,
            doc: word as u32,
        }
    }
}

/// The largest segment number a location can hold.
pub const MAX_SEGMENT: u32 = u32::MAX - 1;

/// Keys of at most 8 bytes, stored exactly.
pub type ExactKeyMap = KeyMap<1>;
/// Any other key, stored as its 128-bit hash ([`hash_key`]).
pub type HashedKeyMap = KeyMap<2>;

/// The 128-bit hash of a key's canonical bytes (xxh3): with 10M keys the
/// chance that two collide is about 10^-25.
pub fn hash_key(bytes: &[u8]) -> [u64; 2] {
    let hash = xxhash_rust::xxh3::xxh3_128(bytes);
    [hash as u64, (hash >> 64) as u64]
}

/// The smallest capacity, so the mapping is never empty.
const MIN_CAPACITY: usize = 16;

/// Why a map could not grow.
#[derive(Debug, thiserror::Error)]
#[error("cannot map {bytes} bytes for {keys} primary keys: {source}")]
pub struct GrowError {
    bytes: usize,
    keys: usize,
    source: std::io::Error,
}

pub struct KeyMap<const W: usize> {
    /// `capacity` slots of `W + 1` words.
    slots: MmapMut,
    capacity: usize,
    /// log2 of `capacity`: slots are picked by the hash's top bits.
    bits: u32,
    len: usize,
}

impl<const W: usize> KeyMap<W> {
    /// An empty map with room for `keys` before it grows.
    pub fn with_capacity(keys: usize) -> Result<KeyMap<W>, GrowError> {
        let capacity = capacity_for(keys);
        Ok(KeyMap {
            slots: map_slots::<W>(capacity, keys)?,
            capacity,
            bits: capacity.trailing_zeros(),
            len: 0,
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes the map holds (its mapping).
    pub fn bytes(&self) -> usize {
        self.slots.len()
    }

    /// Where `key` is, if it is in the map.
    pub fn get(&self, key: &[u64; W]) -> Option<Location> {
        let words = self.words();
        let mut slot = self.home(key);
        loop {
            let start = slot * (W + 1);
            let location = words[start + W];
            if location == 0 {
                return None;
            }
            if words[start..start + W] == key[..] {
                return Some(Location::decode(location));
            }
            slot = (slot + 1) & (self.capacity - 1);
        }
    }

    /// Points `key` at `location`, returning where it was.
    pub fn insert(
        &mut self,
        key: &[u64; W],
        location: Location,
    ) -> Result<Option<Location>, GrowError> {
        debug_assert!(location.segment <= MAX_SEGMENT);
        if (self.len + 1) * 4 > self.capacity * 3 {
            self.grow()?;
        }
        let mask = self.capacity - 1;
        let mut slot = self.home(key);
        let words = self.words_mut();
        loop {
            let start = slot * (W + 1);
            let stored = words[start + W];
            if stored == 0 {
                words[start..start + W].copy_from_slice(key);
                words[start + W] = location.encode();
                self.len += 1;
                return Ok(None);
            }
            if words[start..start + W] == key[..] {
                words[start + W] = location.encode();
                return Ok(Some(Location::decode(stored)));
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Takes `key` out of the map, returning where it was.
    pub fn remove(&mut self, key: &[u64; W]) -> Option<Location> {
        let mask = self.capacity - 1;
        let mut hole = self.home(key);
        let removed = {
            let words = self.words();
            loop {
                let start = hole * (W + 1);
                let location = words[start + W];
                if location == 0 {
                    return None;
                }
                if words[start..start + W] == key[..] {
                    break Location::decode(location);
                }
                hole = (hole + 1) & mask;
            }
        };
        // Backward shift: move each later slot of the run whose home is not
        // between the hole and it into the hole, so lookups never stop at a
        // gap before their key.
        let mut next = hole;
        loop {
            next = (next + 1) & mask;
            let start = next * (W + 1);
            if self.words()[start + W] == 0 {
                break;
            }
            let mut moved = [0u64; W];
            moved.copy_from_slice(&self.words()[start..start + W]);
            let home = self.home(&moved);
            let stays = if hole <= next {
                hole < home && home <= next
            } else {
                hole < home || home <= next
            };
            if !stays {
                let words = self.words_mut();
                words.copy_within(start..start + W + 1, hole * (W + 1));
                hole = next;
            }
        }
        let start = hole * (W + 1);
        self.words_mut()[start..start + W + 1].fill(0);
        self.len -= 1;
        Some(removed)
    }

    /// Every key and its location, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = ([u64; W], Location)> + '_ {
        self.words().chunks_exact(W + 1).filter_map(|slot| {
            let location = slot[W];
            (location != 0).then(|| {
                let mut key = [0u64; W];
                key.copy_from_slice(&slot[..W]);
                (key, Location::decode(location))
            })
        })
    }

    /// Keeps only the entries `keep` says yes to (expiring keys past their
    /// TTL, dropping a removed segment's keys).
    pub fn retain(&mut self, mut keep: impl FnMut(&[u64; W], Location) -> bool) {
        let gone: Vec<[u64; W]> = self
            .iter()
            .filter(|(key, location)| !keep(key, *location))
            .map(|(key, _)| key)
            .collect();
        for key in &gone {
            self.remove(key);
        }
    }

    fn home(&self, key: &[u64; W]) -> usize {
        let mut hash = 0u64;
        for word in key {
            // Fibonacci hashing: the top bits of the product are well mixed.
            hash = (hash ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
        (hash >> (64 - self.bits)) as usize
    }

    fn grow(&mut self) -> Result<(), GrowError> {
        let capacity = self.capacity * 2;
        let mut grown = KeyMap::<W> {
            slots: map_slots::<W>(capacity, self.len)?,
            capacity,
            bits: capacity.trailing_zeros(),
            len: 0,
        };
        for (key, location) in self.iter() {
            grown.insert(&key, location)?;
        }
        *self = grown;
        Ok(())
    }

    fn words(&self) -> &[u64] {
        bytemuck::cast_slice(&self.slots[..])
    }

    fn words_mut(&mut self) -> &mut [u64] {
        bytemuck::cast_slice_mut(&mut self.slots[..])
    }
}

/// The power of two that holds `keys` at a load of at most 3/4.
fn capacity_for(keys: usize) -> usize {
    let needed = keys.saturating_mul(4).div_ceil(3).max(MIN_CAPACITY);
    needed.next_power_of_two()
}

/// A zeroed anonymous mapping of `capacity` slots (page-aligned, so it
/// reads as `u64` words).
fn map_slots<const W: usize>(capacity: usize, keys: usize) -> Result<MmapMut, GrowError> {
    let bytes = capacity * (W + 1) * std::mem::size_of::<u64>();
    MmapMut::map_anon(bytes).map_err(|source| GrowError {
        bytes,
        keys,
        source,
    })
}

#[cfg(test)]
mod tests;
