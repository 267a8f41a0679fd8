//! Bit-packed arrays of dictionary ids.
//!
//! `n` values of `b` bits (1 ≤ b ≤ 32) are laid out as one little-endian,
//! least-significant-bit-first bit stream in `u64` words, padded to a whole
//! number of 64-value chunks. A chunk of 64 values is therefore exactly `b`
//! words, and [`unpack_chunk`] decodes one with a loop the compiler fully
//! unrolls for each width: this is the scan path, close to memory bandwidth.
//! [`get`] reads one value at random.

/// Values per chunk: 64 values of `b` bits are exactly `b` words.
pub const CHUNK: usize = 64;

/// Bits needed to store ids `0..cardinality` (at least 1).
pub fn bits_for_cardinality(cardinality: usize) -> u32 {
    let max = cardinality.saturating_sub(1) as u64;
    (64 - max.leading_zeros()).max(1)
}

/// Number of `u64` words holding `len` values of `bits` bits.
pub fn words_for(len: usize, bits: u32) -> usize {
    len.div_ceil(CHUNK) * bits as usize
}

/// Packs `values` (each below `2^bits`) into words.
pub fn pack(values: &[u32], bits: u32) -> Vec<u64> {
    debug_assert!((1..=32).contains(&bits));
    let mut words = vec![0u64; words_for(values.len(), bits)];
    let mut writer = PackWriter::new(bits);
    for &value in values {
        writer.push(value, &mut words);
    }
    words
}

/// Appends values to a packed word buffer one at a time.
pub struct PackWriter {
    bits: u32,
    position: u64,
}

impl PackWriter {
    pub fn new(bits: u32) -> PackWriter {
        PackWriter { bits, position: 0 }
    }

    /// Writes `value` at the next position; `words` must be long enough.
    #[inline]
    pub fn push(&mut self, value: u32, words: &mut [u64]) {
        let value = value as u64 & mask(self.bits);
        let word = (self.position / 64) as usize;
        let shift = (self.position % 64) as u32;
        words[word] |= value << shift;
        if shift + self.bits > 64 {
            words[word + 1] |= value >> (64 - shift);
        }
        self.position += self.bits as u64;
    }
}

#[inline(always)]
fn mask(bits: u32) -> u64 {
    (1u64 << bits) - 1
}

/// The value at `index` of a packed array of `bits`-bit values.
#[inline]
pub fn get(words: &[u64], bits: u32, index: usize) -> u32 {
    let position = index as u64 * bits as u64;
    let word = (position / 64) as usize;
    let shift = (position % 64) as u32;
    let mut value = words[word] >> shift;
    if shift + bits > 64 {
        value |= words[word + 1] << (64 - shift);
    }
    (value & mask(bits)) as u32
}

#[inline(always)]
fn unpack_fixed<const B: usize>(words: &[u64], out: &mut [u32; CHUNK]) {
    let words: &[u64; B] = match words.first_chunk::<B>() {
        Some(words) => words,
        None => return,
    };
    let mask = if B == 64 { u64::MAX } else { (1u64 << B) - 1 };
    let mut j = 0;
    while j < CHUNK {
        let bit = j * B;
        let w = bit / 64;
        let s = bit % 64;
        let mut value = words[w] >> s;
        if s + B > 64 {
            value |= words[w + 1] << (64 - s);
        }
        out[j] = (value & mask) as u32;
        j += 1;
    }
}

type Unpacker = fn(&[u64], &mut [u32; CHUNK]);

macro_rules! unpackers {
    ($($b:literal)*) => { [ $( unpack_fixed::<$b> as Unpacker, )* ] };
}

/// One specialized decoder per width; index 0 is unused.
static UNPACKERS: [Unpacker; 33] = unpackers!(
    1 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32
);

/// Decodes chunk `chunk` (values `64*chunk .. 64*chunk+64`) into `out`.
/// `words` must hold at least `(chunk + 1) * bits` words.
#[inline]
pub fn unpack_chunk(words: &[u64], bits: u32, chunk: usize, out: &mut [u32; CHUNK]) {
    let start = chunk * bits as usize;
    UNPACKERS[bits as usize](&words[start..start + bits as usize], out);
}

/// Calls `visit(first_doc, ids)` for consecutive runs of up to 64 decoded
/// values covering `0..len`.
#[inline]
pub fn for_each_chunk(words: &[u64], bits: u32, len: usize, mut visit: impl FnMut(usize, &[u32])) {
    let unpack = UNPACKERS[bits as usize];
    let width = bits as usize;
    let mut buffer = [0u32; CHUNK];
    for (chunk, chunk_words) in words.chunks_exact(width).enumerate() {
        let first = chunk * CHUNK;
        if first >= len {
            break;
        }
        unpack(chunk_words, &mut buffer);
        let count = (len - first).min(CHUNK);
        visit(first, &buffer[..count]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn widths() {
        assert_eq!(bits_for_cardinality(0), 1);
        assert_eq!(bits_for_cardinality(1), 1);
        assert_eq!(bits_for_cardinality(2), 1);
        assert_eq!(bits_for_cardinality(3), 2);
        assert_eq!(bits_for_cardinality(256), 8);
        assert_eq!(bits_for_cardinality(257), 9);
        assert_eq!(bits_for_cardinality(1 << 32), 32);
    }

    proptest! {
        #[test]
        fn round_trip(bits in 1u32..=32, raw in proptest::collection::vec(any::<u32>(), 0..500)) {
            let values: Vec<u32> = raw.iter().map(|v| (*v as u64 & mask(bits)) as u32).collect();
            let words = pack(&values, bits);
            prop_assert_eq!(words.len(), words_for(values.len(), bits));
            for (index, value) in values.iter().enumerate() {
                prop_assert_eq!(get(&words, bits, index), *value);
            }
            let mut decoded = Vec::new();
            for_each_chunk(&words, bits, values.len(), |first, ids| {
                assert_eq!(first, decoded.len());
                decoded.extend_from_slice(ids);
            });
            prop_assert_eq!(decoded, values);
        }
    }
}
