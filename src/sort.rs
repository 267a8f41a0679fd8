//! Least-significant-digit radix sort of `u64` keys, for the places that
//! sort millions of packed keys at once (distinct (group, id) pairs, a
//! star-tree's records).

/// Most bits per radix digit: 4,096 counters a pass.
const MAX_DIGIT: u32 = 12;

/// Sorts `keys`, whose values fit in `width` bits, least significant digit
/// first; `scratch` is reused between calls.
pub fn radix_sort(keys: &mut Vec<u64>, scratch: &mut Vec<u64>, width: u32) {
    // As few passes as the widest digit allows, the bits shared evenly.
    let passes = width.div_ceil(MAX_DIGIT).max(1);
    let digit = width.div_ceil(passes).max(1);
    let passes = passes as usize;
    let buckets = 1usize << digit;
    let mask = (buckets - 1) as u64;
    let mut counts = vec![0usize; passes * buckets];
    for key in keys.iter() {
        for pass in 0..passes {
            counts[pass * buckets + ((key >> (pass as u32 * digit)) & mask) as usize] += 1;
        }
    }
    scratch.clear();
    scratch.resize(keys.len(), 0);
    for pass in 0..passes {
        let counts = &mut counts[pass * buckets..(pass + 1) * buckets];
        // All keys in one bucket: this digit orders nothing.
        if counts.contains(&keys.len()) {
            continue;
        }
        let mut at = 0;
        for count in counts.iter_mut() {
            let next = at + *count;
            *count = at;
            at = next;
        }
        let shift = pass as u32 * digit;
        for key in keys.iter() {
            let bucket = &mut counts[((key >> shift) & mask) as usize];
            scratch[*bucket] = *key;
            *bucket += 1;
        }
        std::mem::swap(keys, scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radix_sort_sorts_wide_keys() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut keys: Vec<u64> = (0..50_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state >> 21
            })
            .collect();
        let mut expected = keys.clone();
        expected.sort_unstable();
        radix_sort(&mut keys, &mut Vec::new(), 43);
        assert_eq!(keys, expected);
    }
}
