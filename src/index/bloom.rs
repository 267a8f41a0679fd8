//! Bloom filters: a split-block design (as Parquet's): each value hashes to
//! one 256-bit block and sets one bit in each of its eight 32-bit words, so a
//! probe touches one cache line.
//!
//! Hashing is XXH3-64 of the value's canonical bytes (little-endian numbers,
//! UTF-8 text, raw bytes), fixed by the file format: changing it needs a new
//! format version.

use xxhash_rust::xxh3::xxh3_64;

/// Odd constants from the Parquet specification's split-block filter.
const SALT: [u32; 8] = [
    0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31,
];

/// Default target false-positive rate when the config gives none.
pub const DEFAULT_FPP: f64 = 0.05;

/// Blocks to hold `distinct` values at false-positive rate `fpp`.
pub fn blocks_for(distinct: usize, fpp: f64) -> usize {
    // Bits per value for a split-block filter with k = 8 (Parquet's table,
    // approximated by the standard formula with a 1.2x margin for blocking).
    let fpp = fpp.clamp(1e-6, 0.5);
    let bits_per_value = -8.0 / (1.0 - fpp.powf(1.0 / 8.0)).ln() * 1.2;
    let bits = (distinct.max(1) as f64 * bits_per_value).ceil() as usize;
    bits.div_ceil(256).next_power_of_two().max(1)
}

pub fn hash_bytes(bytes: &[u8]) -> u64 {
    xxh3_64(bytes)
}

fn block_mask(hash: u64) -> [u32; 8] {
    let key = hash as u32;
    let mut mask = [0u32; 8];
    for (word, salt) in mask.iter_mut().zip(SALT) {
        *word = 1 << (key.wrapping_mul(salt) >> 27);
    }
    mask
}

fn block_index(hash: u64, blocks: usize) -> usize {
    (((hash >> 32) * blocks as u64) >> 32) as usize
}

/// Builds a filter of `blocks` 256-bit blocks (a power of two).
pub struct BloomBuilder {
    words: Vec<u32>,
    blocks: usize,
}

impl BloomBuilder {
    pub fn new(blocks: usize) -> BloomBuilder {
        BloomBuilder {
            words: vec![0; blocks * 8],
            blocks,
        }
    }

    pub fn insert_hash(&mut self, hash: u64) {
        let block = block_index(hash, self.blocks);
        for (word, bit) in self.words[block * 8..block * 8 + 8]
            .iter_mut()
            .zip(block_mask(hash))
        {
            *word |= bit;
        }
    }

    pub fn words(&self) -> &[u32] {
        &self.words
    }
}

/// Probes a filter stored as `blocks * 8` words.
pub fn might_contain(words: &[u32], hash: u64) -> bool {
    let blocks = words.len() / 8;
    if blocks == 0 {
        return true;
    }
    let block = block_index(hash, blocks);
    let stored = &words[block * 8..block * 8 + 8];
    stored
        .iter()
        .zip(block_mask(hash))
        .all(|(word, bit)| word & bit != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn no_false_negatives(values in proptest::collection::hash_set(any::<u64>(), 1..400)) {
            let mut builder = BloomBuilder::new(blocks_for(values.len(), 0.01));
            for value in &values {
                builder.insert_hash(hash_bytes(&value.to_le_bytes()));
            }
            for value in &values {
                prop_assert!(might_contain(builder.words(), hash_bytes(&value.to_le_bytes())));
            }
        }
    }

    #[test]
    fn false_positive_rate_is_near_target() {
        let n = 10_000u64;
        let mut builder = BloomBuilder::new(blocks_for(n as usize, 0.01));
        for value in 0..n {
            builder.insert_hash(hash_bytes(&value.to_le_bytes()));
        }
        let false_positives = (n..n * 11)
            .filter(|value| might_contain(builder.words(), hash_bytes(&value.to_le_bytes())))
            .count();
        let rate = false_positives as f64 / (10 * n) as f64;
        assert!(rate < 0.02, "false-positive rate {rate}");
    }
}
