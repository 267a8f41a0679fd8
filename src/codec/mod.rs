//! Byte encodings shared by segments and indexes, below both: bit-packed
//! dictionary ids ([`bitpack`]), frame-of-reference packed keys
//! ([`forpack`]), variable-width value blocks ([`var`]) and the same
//! values compressed in chunks ([`chunked`]). They know
//! nothing of columns, types or files: they turn numbers and byte strings
//! into little-endian blocks and read them back in place. Refusals are
//! [`Error`]s (`error.rs`).

pub mod bitpack;
pub mod chunked;
pub mod error;
pub mod forpack;
pub mod var;

pub use error::{Error, Result};

/// Splits ascending (or any) `indexes` into runs of consecutive entries
/// that fall in the same block of `block` positions: `(block, run)`, for
/// decoders that decode a block once for all its wanted positions.
pub fn runs_in_blocks(indexes: &[u32], block: usize) -> impl Iterator<Item = (usize, &[u32])> {
    let mut rest = indexes;
    std::iter::from_fn(move || {
        let first = *rest.first()? as usize / block;
        let len = rest
            .iter()
            .take_while(|index| **index as usize / block == first)
            .count();
        let (run, after) = rest.split_at(len);
        rest = after;
        Some((first, run))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs_in_blocks_split_where_the_block_changes() {
        let runs: Vec<(usize, Vec<u32>)> = super::runs_in_blocks(&[1, 3, 64, 200, 130, 131], 64)
            .map(|(block, run)| (block, run.to_vec()))
            .collect();
        assert_eq!(
            runs,
            vec![
                (0, vec![1, 3]),
                (1, vec![64]),
                (3, vec![200]),
                (2, vec![130, 131])
            ]
        );
        assert_eq!(super::runs_in_blocks(&[], 64).count(), 0);
    }
}
