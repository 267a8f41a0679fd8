//! Frame-of-reference packing of 64-bit keys, in blocks of 64.
//!
//! Each block stores its smallest key and packs `key - base` in as many
//! bits as its largest difference needs, so sorted or clustered sequences
//! (sorted dictionaries, timestamps, ids, doc offsets) shrink to a few bits
//! per value while any value stays one shift and mask away.
//!
//! ```text
//! forpack := count:u64 blocks:u64 base:u64{blocks} start:u32{blocks+1} pad8
//!            width:u8{blocks} pad8 word:u64*
//! ```
//!
//! Block `b` holds keys `64b .. 64b+64` in words `start[b]..start[b+1]`,
//! `width[b] & 0x7f` bits each (0 when all its keys are equal): offsets from
//! `base[b]` (its minimum), or, when `width[b] & 0x80` is set, differences
//! from the previous key, `base[b]` being the block's first key. Sorted
//! blocks whose gaps are narrower than their span use the latter.
//!
//! Keys are unsigned; signed and floating values map to keys that keep
//! their order (see [`key_i64`], [`key_f64`]), so a sorted column stays
//! sorted as keys and can be binary-searched in place.

use super::error::{Error, Result};

const BLOCK: usize = 64;
/// Indexes in one block from which [`ForPacked::gather`] decodes the whole
/// block rather than reading each key on its own.
const FEW_IN_BLOCK: usize = 8;
const SIGN: u64 = 1 << 63;

/// Order-preserving key of a signed integer.
#[inline]
pub fn key_i64(value: i64) -> u64 {
    (value as u64) ^ SIGN
}

#[inline]
pub fn from_key_i64(key: u64) -> i64 {
    (key ^ SIGN) as i64
}

/// Order-preserving key of a float (IEEE total order).
#[inline]
pub fn key_f64(value: f64) -> u64 {
    let bits = value.to_bits();
    if bits & SIGN != 0 {
        !bits
    } else {
        bits | SIGN
    }
}

#[inline]
pub fn from_key_f64(key: u64) -> f64 {
    if key & SIGN != 0 {
        f64::from_bits(key & !SIGN)
    } else {
        f64::from_bits(!key)
    }
}

fn width_of(max_offset: u64) -> u32 {
    64 - max_offset.leading_zeros()
}

fn layout(count: usize) -> (usize, usize, usize, usize) {
    let blocks = count.div_ceil(BLOCK);
    let bases = 16;
    let starts = bases + blocks * 8;
    let widths = (starts + (blocks + 1) * 4).next_multiple_of(8);
    let words = (widths + blocks).next_multiple_of(8);
    (blocks, starts, widths, words)
}

/// Set in a block's width byte when the block stores differences between
/// consecutive keys rather than offsets from its base.
const DELTA: u8 = 0x80;

/// How one block is packed: its base, the bits per value, and whether the
/// values are deltas (a non-decreasing block whose gaps are narrower than
/// its span: sorted timestamps, sorted dictionaries, doc starts).
fn plan(block: &[u64]) -> (u64, u32, bool) {
    let base = block.iter().copied().min().unwrap_or(0);
    let span_width = width_of(block.iter().map(|key| key - base).max().unwrap_or(0));
    if block.windows(2).all(|pair| pair[0] <= pair[1]) {
        let gap_width = width_of(
            block
                .windows(2)
                .map(|pair| pair[1] - pair[0])
                .max()
                .unwrap_or(0),
        );
        if gap_width < span_width {
            return (block[0], gap_width, true);
        }
    }
    (base, span_width, false)
}

/// Encodes `keys`.
pub fn encode(keys: &[u64]) -> Vec<u8> {
    let (blocks, starts_at, widths_at, words_at) = layout(keys.len());
    let mut bases = Vec::with_capacity(blocks);
    let mut widths = Vec::with_capacity(blocks);
    let mut starts = Vec::with_capacity(blocks + 1);
    let mut words: Vec<u64> = Vec::new();
    starts.push(0u32);
    for block in keys.chunks(BLOCK) {
        let (base, width, delta) = plan(block);
        let first = words.len();
        words.resize(first + (BLOCK * width as usize).div_ceil(64), 0);
        let mut position = 0u64;
        let mut previous = base;
        for key in block {
            let value = if delta { key - previous } else { key - base };
            write_bits(&mut words[first..], position, width, value);
            position += width as u64;
            previous = *key;
        }
        bases.push(base);
        widths.push(width as u8 | if delta { DELTA } else { 0 });
        starts.push(words.len() as u32);
    }
    let mut out = vec![0u8; words_at];
    out[0..8].copy_from_slice(&(keys.len() as u64).to_le_bytes());
    out[8..16].copy_from_slice(&(blocks as u64).to_le_bytes());
    out[16..starts_at].copy_from_slice(bytemuck::cast_slice(&bases));
    out[starts_at..starts_at + starts.len() * 4].copy_from_slice(bytemuck::cast_slice(&starts));
    out[widths_at..widths_at + blocks].copy_from_slice(&widths);
    out.extend_from_slice(bytemuck::cast_slice(&words));
    out
}

/// Bytes `encode` would produce for `keys`, without encoding.
pub fn encoded_len(keys: &[u64]) -> usize {
    let (_, _, _, words_at) = layout(keys.len());
    let words: usize = keys
        .chunks(BLOCK)
        .map(|block| (BLOCK * plan(block).1 as usize).div_ceil(64))
        .sum();
    words_at + words * 8
}

fn write_bits(words: &mut [u64], position: u64, width: u32, value: u64) {
    if width == 0 {
        return;
    }
    let word = (position / 64) as usize;
    let shift = (position % 64) as u32;
    words[word] |= value << shift;
    if shift + width > 64 {
        words[word + 1] |= value >> (64 - shift);
    }
}

/// The `width`-bit value at bit `position`; bits past the end of `words`
/// read as zeros (a block not yet validated gives a wrong value, never a
/// panic).
#[inline]
fn read_bits(words: &[u64], position: u64, width: u32) -> u64 {
    if width == 0 {
        return 0;
    }
    let word = (position / 64) as usize;
    let shift = (position % 64) as u32;
    let at = |index: usize| words.get(index).copied().unwrap_or(0);
    let mut value = at(word) >> shift;
    if shift != 0 && shift + width > 64 {
        value |= at(word + 1) << (64 - shift);
    }
    // Widths past 64 come only from damaged blocks.
    if width >= 64 {
        value
    } else {
        value & ((1u64 << width) - 1)
    }
}

/// Unpacks the 64 `W`-bit values of one block's `W` words; the width is a
/// constant, so the shifts and masks fold and the loop unrolls. Up to 56
/// bits a value is one unaligned 8-byte load, shift and mask (the words are
/// copied next to a zero word so the last loads stay in bounds).
#[inline(always)]
fn unpack_fixed<const W: usize>(words: &[u64], out: &mut [u64; BLOCK]) {
    let Some(words) = words.get(..W) else {
        return;
    };
    if W == 0 {
        out.fill(0);
        return;
    }
    let mask = if W == 64 { u64::MAX } else { (1u64 << W) - 1 };
    if W <= 56 {
        let mut padded = [0u64; 57];
        padded[..W].copy_from_slice(words);
        let bytes: &[u8] = bytemuck::cast_slice(&padded);
        for (slot, key) in out.iter_mut().enumerate() {
            let bit = slot * W;
            let at = bit / 8;
            let word = bytes[at..]
                .first_chunk::<8>()
                .map_or(0, |chunk| u64::from_le_bytes(*chunk));
            *key = (word >> (bit % 8)) & mask;
        }
        return;
    }
    for (slot, key) in out.iter_mut().enumerate() {
        let bit = slot * W;
        let word = bit / 64;
        let shift = bit % 64;
        let mut value = words[word] >> shift;
        if shift != 0 && shift + W > 64 {
            value |= words[word + 1] << (64 - shift);
        }
        *key = value & mask;
    }
}

type Unpacker = fn(&[u64], &mut [u64; BLOCK]);

macro_rules! unpackers {
    ($($w:literal)*) => { [ $( unpack_fixed::<$w> as Unpacker, )* ] };
}

/// One specialized block decoder per width, 0 to 64 bits.
static UNPACKERS: [Unpacker; 65] = unpackers!(
    0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32
    33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64
);

/// A packed sequence borrowed from a segment block.
#[derive(Debug, Clone, Copy)]
pub struct ForPacked<'a> {
    len: usize,
    bases: &'a [u64],
    starts: &'a [u32],
    widths: &'a [u8],
    words: &'a [u64],
}

impl<'a> ForPacked<'a> {
    /// Checks sizes (O(1)); `validate` checks the block table.
    pub fn parse(bytes: &'a [u8], expected_len: usize) -> Result<ForPacked<'a>> {
        if bytes.len() < 16 {
            return Err(Error::Malformed("too short for a packed header".into()));
        }
        let len = u64::from_le_bytes(bytes[0..8].try_into().unwrap_or_default()) as usize;
        let blocks = u64::from_le_bytes(bytes[8..16].try_into().unwrap_or_default()) as usize;
        if len != expected_len || blocks != len.div_ceil(BLOCK) {
            return Err(Error::Malformed(format!(
                "{len} packed values in {blocks} blocks where {expected_len} were expected"
            )));
        }
        let (_, starts_at, widths_at, words_at) = layout(len);
        if bytes.len() < words_at {
            return Err(Error::Malformed("too short for its block table".into()));
        }
        let misaligned = |err: bytemuck::PodCastError| {
            Error::Malformed(format!("misaligned packed values: {err}"))
        };
        let bases: &[u64] = bytemuck::try_cast_slice(&bytes[16..starts_at]).map_err(misaligned)?;
        let starts: &[u32] =
            bytemuck::try_cast_slice(&bytes[starts_at..starts_at + (blocks + 1) * 4])
                .map_err(misaligned)?;
        let widths = &bytes[widths_at..widths_at + blocks];
        let words: &[u64] = bytemuck::try_cast_slice(&bytes[words_at..]).map_err(misaligned)?;
        if starts[blocks] as usize != words.len() {
            return Err(Error::Malformed(
                "the block table does not end at the packed words".into(),
            ));
        }
        Ok(ForPacked {
            len,
            bases,
            starts,
            widths,
            words,
        })
    }

    /// The full check done once when a segment opens.
    pub fn validate(&self) -> Result<()> {
        for block in 0..self.bases.len() {
            let width = (self.widths[block] & !DELTA) as usize;
            let needed = (BLOCK * width).div_ceil(64);
            if width > 64
                || self.starts[block] > self.starts[block + 1]
                || (self.starts[block + 1] - self.starts[block]) as usize != needed
            {
                return Err(Error::Malformed(format!(
                    "packed block {block} is malformed"
                )));
            }
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bits per value of `block` and whether it holds deltas.
    #[inline]
    fn width(&self, block: usize) -> (u32, bool) {
        let byte = self.widths[block];
        ((byte & !DELTA) as u32, byte & DELTA != 0)
    }

    #[inline]
    pub fn get(&self, index: usize) -> u64 {
        let block = index / BLOCK;
        let (width, delta) = self.width(block);
        // Read before validation too (the sorted index checks its last
        // start when parsed): a damaged start gives no words, not a panic.
        let words = self
            .words
            .get(self.starts[block] as usize..)
            .unwrap_or_default();
        let slot = (index % BLOCK) as u64;
        if !delta {
            return self.bases[block].wrapping_add(read_bits(words, slot * width as u64, width));
        }
        // Wrapping: a damaged block must give a wrong value, never a panic.
        (1..=slot).fold(self.bases[block], |key, at| {
            key.wrapping_add(read_bits(words, at * width as u64, width))
        })
    }

    /// Decodes block `block` into `out`; returns how many keys it holds.
    fn decode_block(&self, block: usize, out: &mut [u64; BLOCK]) -> usize {
        self.decode_prefix(block, BLOCK, out)
    }

    /// Decodes the first `upto` keys of block `block` into `out`; returns
    /// how many it decoded.
    fn decode_prefix(&self, block: usize, upto: usize, out: &mut [u64; BLOCK]) -> usize {
        let count = (self.len - block * BLOCK).min(upto);
        let (width, delta) = self.width(block);
        let words = &self.words[self.starts[block] as usize..self.starts[block + 1] as usize];
        let base = self.bases[block];
        if delta && count <= 4 {
            // A few leading keys (sampling a sorted column): add them up.
            let mut previous = base;
            for (slot, key) in out.iter_mut().enumerate().take(count) {
                previous =
                    previous.wrapping_add(read_bits(words, slot as u64 * width as u64, width));
                *key = previous;
            }
            return count;
        }
        match UNPACKERS.get(width as usize) {
            Some(unpack) if words.len() == width as usize => unpack(words, out),
            // Validated blocks never get here; a damaged one decodes to
            // its base rather than panicking.
            _ => out.fill(0),
        }
        if delta {
            let mut previous = base;
            for key in out.iter_mut().take(count) {
                previous = previous.wrapping_add(*key);
                *key = previous;
            }
        } else {
            for key in out.iter_mut().take(count) {
                *key = base.wrapping_add(*key);
            }
        }
        count
    }

    /// Calls `visit(first, keys)` for each block, in order.
    pub fn for_each_block(&self, mut visit: impl FnMut(usize, &[u64])) {
        let mut buffer = [0u64; BLOCK];
        for block in 0..self.bases.len() {
            let count = self.decode_block(block, &mut buffer);
            visit(block * BLOCK, &buffer[..count]);
        }
    }

    /// Appends the key at each index of `indexes` to `out` (ascending for
    /// speed: a block with several indexes is decoded once, a key alone in
    /// its block read on its own).
    pub fn gather(&self, indexes: &[u32], out: &mut Vec<u64>) {
        out.reserve(indexes.len());
        let mut buffer = [0u64; BLOCK];
        for (block, wanted) in super::runs_in_blocks(indexes, BLOCK) {
            if !self.width(block).1 && wanted.len() < FEW_IN_BLOCK {
                out.extend(wanted.iter().map(|index| self.get(*index as usize)));
                continue;
            }
            // Delta blocks decode as a running sum: only as far as the
            // last index wanted in this block.
            let upto = wanted
                .iter()
                .map(|index| *index as usize % BLOCK + 1)
                .max()
                .unwrap_or(BLOCK);
            self.decode_prefix(block, upto, &mut buffer);
            out.extend(wanted.iter().map(|index| buffer[*index as usize % BLOCK]));
        }
    }

    /// Calls `visit(first, keys)` for the blocks holding `start..end`.
    pub fn for_each_block_in(
        &self,
        start: usize,
        end: usize,
        mut visit: impl FnMut(usize, &[u64]),
    ) {
        let mut buffer = [0u64; BLOCK];
        let last = end.min(self.len).div_ceil(BLOCK);
        for block in start / BLOCK..last {
            let count = self.decode_block(block, &mut buffer);
            visit(block * BLOCK, &buffer[..count]);
        }
    }

    /// Binary search of `key` in a non-decreasing sequence: `Ok(index)` or
    /// `Err(insertion point)`. Finds the block by its base (its first key),
    /// then decodes that one block.
    pub fn binary_search(&self, key: u64) -> Result<usize, usize> {
        let blocks_at_or_below = self.bases.partition_point(|&base| base <= key);
        if blocks_at_or_below == 0 {
            return Err(0);
        }
        let block = blocks_at_or_below - 1;
        let mut buffer = [0u64; BLOCK];
        let count = self.decode_block(block, &mut buffer);
        let keys = &buffer[..count];
        let below = keys.partition_point(|&candidate| candidate < key);
        if keys.get(below) == Some(&key) {
            Ok(block * BLOCK + below)
        } else {
            Err(block * BLOCK + below)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(keys in proptest::collection::vec(any::<u64>(), 0..300), spread in 0u32..64) {
            let keys: Vec<u64> = keys.iter().map(|k| if spread == 0 { *k } else { k >> spread }).collect();
            let bytes = encode(&keys);
            prop_assert_eq!(bytes.len(), encoded_len(&keys));
            let packed = ForPacked::parse(&bytes, keys.len()).unwrap();
            packed.validate().unwrap();
            for (index, key) in keys.iter().enumerate() {
                prop_assert_eq!(packed.get(index), *key);
            }
            let picks: Vec<u32> = (0..keys.len() as u32).filter(|i| (i * 7 + spread) % 3 != 0).collect();
            let mut gathered = Vec::new();
            packed.gather(&picks, &mut gathered);
            prop_assert_eq!(gathered, picks.iter().map(|i| keys[*i as usize]).collect::<Vec<_>>());
            // Few per block (read one by one), and in no order.
            let sparse: Vec<u32> = (0..keys.len() as u32).filter(|i| (i * 13 + spread) % 17 == 0).collect();
            let shuffled: Vec<u32> = picks.iter().rev().chain(&sparse).copied().collect();
            for wanted in [&sparse, &shuffled] {
                let mut gathered = Vec::new();
                packed.gather(wanted, &mut gathered);
                prop_assert_eq!(gathered, wanted.iter().map(|i| keys[*i as usize]).collect::<Vec<_>>());
            }
            let mut seen = Vec::new();
            packed.for_each_block(|first, block| { assert_eq!(first, seen.len()); seen.extend_from_slice(block); });
            prop_assert_eq!(&seen, &keys);
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            let bytes = encode(&sorted);
            let packed = ForPacked::parse(&bytes, sorted.len()).unwrap();
            let mut gathered = Vec::new();
            packed.gather(&picks, &mut gathered);
            prop_assert_eq!(gathered, picks.iter().map(|i| sorted[*i as usize]).collect::<Vec<_>>());
            for key in &sorted {
                prop_assert_eq!(packed.get(packed.binary_search(*key).unwrap()), *key);
            }
            for probe in keys.iter().map(|k| k.wrapping_add(1)).chain([0, u64::MAX]) {
                let below = sorted.partition_point(|k| *k < probe);
                match packed.binary_search(probe) {
                    Ok(index) => prop_assert_eq!(sorted[index], probe),
                    Err(index) => {
                        prop_assert_eq!(index, below);
                        prop_assert!(!sorted.contains(&probe));
                    }
                }
            }
        }

        #[test]
        fn keys_keep_order(a in any::<i64>(), b in any::<i64>(), x in any::<f64>(), y in any::<f64>()) {
            prop_assert_eq!(key_i64(a).cmp(&key_i64(b)), a.cmp(&b));
            prop_assert_eq!(from_key_i64(key_i64(a)), a);
            prop_assert_eq!(key_f64(x).cmp(&key_f64(y)), x.total_cmp(&y));
            prop_assert_eq!(from_key_f64(key_f64(x)).to_bits(), x.to_bits());
        }
    }

    #[test]
    fn sorted_blocks_pack_gaps() {
        // Steady gaps of 518 within spans of 64 * 518: deltas need 10 bits,
        // offsets 16.
        let keys: Vec<u64> = (0..6400u64)
            .map(|i| 1_000_000 + i * 518 + (i % 3))
            .collect();
        let bytes = encode(&keys);
        assert!(
            bytes.len() < keys.len() * 11 / 8 + 2048,
            "{} bytes",
            bytes.len()
        );
        let packed = ForPacked::parse(&bytes, keys.len()).unwrap();
        assert_eq!(packed.binary_search(keys[4321]), Ok(4321));
        assert_eq!(packed.binary_search(keys[4321] + 1), Err(4322));
        assert_eq!(packed.binary_search(0), Err(0));
        assert_eq!(packed.binary_search(u64::MAX), Err(keys.len()));
    }

    #[test]
    fn sorted_timestamps_pack_small() {
        let keys: Vec<u64> = (0..100_000i64)
            .map(|i| key_i64(1_780_000_000_000 + (i * 518)))
            .collect();
        let bytes = encode(&keys);
        assert!(
            bytes.len() < keys.len() * 3,
            "{} bytes for {} keys",
            bytes.len(),
            keys.len()
        );
    }
}
