//! Bit-packed arrays of dictionary ids, laid out for SIMD decoding.
//!
//! `n` values of `b` bits (1 ≤ b ≤ 32) are grouped in chunks of 256. Within
//! a chunk, value `i` belongs to lane `i % 8` at position `i / 8`; each of
//! the 8 lanes packs its 32 values least-significant-bit first into `b`
//! 32-bit words, and the lanes' words are interleaved (word `w` of lane `l`
//! is the chunk's `u32` number `8w + l`). A chunk is therefore `8b` `u32`s
//! (`4b` `u64`s), and decoding it applies the same shift and mask to eight
//! lanes at once, which compilers turn into 256-bit vector instructions:
//! [`unpack_chunk`] is the scan path. [`get`] reads one value at random.
//! Little-endian `u32` words, stored as `u64`s padded to a whole chunk.

/// Values per chunk.
pub const CHUNK: usize = 256;
const LANES: usize = 8;

/// Bits needed to store ids `0..cardinality` (at least 1).
pub fn bits_for_cardinality(cardinality: usize) -> u32 {
    let max = cardinality.saturating_sub(1) as u64;
    (64 - max.leading_zeros()).max(1)
}

/// Number of `u64` words holding `len` values of `bits` bits.
pub fn words_for(len: usize, bits: u32) -> usize {
    len.div_ceil(CHUNK) * bits as usize * LANES / 2
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

#[inline(always)]
fn mask(bits: u32) -> u32 {
    if bits == 32 {
        u32::MAX
    } else {
        (1u32 << bits) - 1
    }
}

/// Where value `index` lives: (first u32 word index of its value, shift).
#[inline(always)]
fn locate(index: usize, bits: u32) -> (usize, u32) {
    let chunk = index / CHUNK;
    let within = index % CHUNK;
    let lane = within % LANES;
    let bit = (within / LANES) * bits as usize;
    let word = chunk * LANES * bits as usize + (bit / 32) * LANES + lane;
    (word, (bit % 32) as u32)
}

/// Appends values to a packed word buffer one at a time.
pub struct PackWriter {
    bits: u32,
    index: usize,
}

impl PackWriter {
    pub fn new(bits: u32) -> PackWriter {
        PackWriter { bits, index: 0 }
    }

    /// Writes `value` at the next position; `words` must be long enough.
    #[inline]
    pub fn push(&mut self, value: u32, words: &mut [u64]) {
        let words: &mut [u32] = bytemuck::cast_slice_mut(words);
        let value = value & mask(self.bits);
        let (word, shift) = locate(self.index, self.bits);
        words[word] |= value << shift;
        if shift + self.bits > 32 {
            words[word + LANES] |= value >> (32 - shift);
        }
        self.index += 1;
    }
}

/// The value at `index` of a packed array of `bits`-bit values.
#[inline]
pub fn get(words: &[u64], bits: u32, index: usize) -> u32 {
    let words: &[u32] = bytemuck::cast_slice(words);
    let (word, shift) = locate(index, bits);
    let mut value = words[word] >> shift;
    if shift + bits > 32 {
        value |= words[word + LANES] << (32 - shift);
    }
    value & mask(bits)
}

#[inline(always)]
fn unpack_fixed<const B: usize>(words: &[u32], out: &mut [u32; CHUNK]) {
    let Some(words) = words.get(..LANES * B) else {
        return;
    };
    let mask = if B == 32 { u32::MAX } else { (1u32 << B) - 1 };
    let mut j = 0;
    while j < CHUNK / LANES {
        let bit = j * B;
        let w = bit / 32;
        let s = (bit % 32) as u32;
        let low = &words[w * LANES..w * LANES + LANES];
        let out = &mut out[j * LANES..j * LANES + LANES];
        if s as usize + B > 32 {
            let high = &words[(w + 1) * LANES..(w + 1) * LANES + LANES];
            for lane in 0..LANES {
                out[lane] = ((low[lane] >> s) | (high[lane] << (32 - s))) & mask;
            }
        } else {
            for lane in 0..LANES {
                out[lane] = (low[lane] >> s) & mask;
            }
        }
        j += 1;
    }
}

type Unpacker = fn(&[u32], &mut [u32; CHUNK]);

macro_rules! unpackers {
    ($($b:literal)*) => { [ $( unpack_fixed::<$b> as Unpacker, )* ] };
}

/// One specialized decoder per width; index 0 is unused.
static UNPACKERS: [Unpacker; 33] = unpackers!(
    1 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32
);

/// Decodes chunk `chunk` (values `256*chunk ..`) into `out`.
#[inline]
pub fn unpack_chunk(words: &[u64], bits: u32, chunk: usize, out: &mut [u32; CHUNK]) {
    let words: &[u32] = bytemuck::cast_slice(words);
    let width = LANES * bits as usize;
    UNPACKERS[bits as usize](&words[chunk * width..(chunk + 1) * width], out);
}

/// Calls `visit(first_doc, ids)` for consecutive runs of up to 256 decoded
/// values covering `0..len`.
#[inline]
pub fn for_each_chunk(words: &[u64], bits: u32, len: usize, mut visit: impl FnMut(usize, &[u32])) {
    let words: &[u32] = bytemuck::cast_slice(words);
    let unpack = UNPACKERS[bits as usize];
    let width = LANES * bits as usize;
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
        fn round_trip(bits in 1u32..=32, raw in proptest::collection::vec(any::<u32>(), 0..1200)) {
            let values: Vec<u32> = raw.iter().map(|v| v & mask(bits)).collect();
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
            prop_assert_eq!(&decoded, &values);
            if !values.is_empty() {
                let mut chunk = [0u32; CHUNK];
                unpack_chunk(&words, bits, 0, &mut chunk);
                let head = values.len().min(CHUNK);
                prop_assert_eq!(&chunk[..head], &values[..head]);
            }
        }
    }
}
