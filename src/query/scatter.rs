//! Adding per-row values into per-group slots (`slots[group[i]] += v[i]`).
//!
//! With few groups, consecutive rows keep hitting the same slot and every
//! addition waits for the previous one to be stored. Below
//! [`STRIPED_GROUPS`] groups the rows are dealt round-robin to four private
//! copies of the slots, which are summed into the real ones at the end, so
//! four chains of additions run at once.

use std::ops::AddAssign;

/// Most groups that get striped slots.
pub const STRIPED_GROUPS: usize = 64;
const LANES: usize = 4;

/// `slots[groups[i]] += value(i)` for every row `i`.
#[inline]
pub fn add<T, F>(groups: &[u32], slots: &mut [T], value: F)
where
    T: Copy + Default + AddAssign,
    F: Fn(usize) -> T,
{
    if slots.len() > STRIPED_GROUPS || groups.len() < 4 * slots.len() {
        for (row, group) in groups.iter().enumerate() {
            slots[*group as usize] += value(row);
        }
        return;
    }
    let mut lanes = [[T::default(); STRIPED_GROUPS]; LANES];
    let quads = groups.chunks_exact(LANES);
    let tail = quads.remainder();
    for (quad, four) in quads.enumerate() {
        for (lane, group) in four.iter().enumerate() {
            lanes[lane][*group as usize] += value(quad * LANES + lane);
        }
    }
    let done = groups.len() - tail.len();
    for (offset, group) in tail.iter().enumerate() {
        lanes[0][*group as usize] += value(done + offset);
    }
    for lane in &lanes {
        for (slot, partial) in slots.iter_mut().zip(lane) {
            *slot += *partial;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn same_as_one_at_a_time(
            groups in proptest::collection::vec(0u32..80, 0..3000),
            len in 1usize..80,
        ) {
            let groups: Vec<u32> = groups.iter().map(|g| g % len as u32).collect();
            let mut expected = vec![0u64; len];
            for (row, group) in groups.iter().enumerate() {
                expected[*group as usize] += row as u64 * 3 + 1;
            }
            let mut slots = vec![0u64; len];
            add(&groups, &mut slots, |row| row as u64 * 3 + 1);
            prop_assert_eq!(slots, expected);
        }
    }
}
