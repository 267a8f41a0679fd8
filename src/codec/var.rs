//! Variable-width value blocks: `offset:u32{count+1} pad8 bytes`, the
//! layout of text and bytes columns' dictionaries and raw forward indexes
//! and of serialized bitmap blocks. Constructors check sizes and offsets
//! once, so accessors index without further checks failing.

use super::error::{Error, Result};

fn cast<'a, T: bytemuck::Pod>(bytes: &'a [u8], what: &str) -> Result<&'a [T]> {
    bytemuck::try_cast_slice(bytes).map_err(|err| Error::Malformed(format!("{what}: {err}")))
}

/// Splits a block that starts with `count + 1` `u32` offsets (`what`, as
/// errors name them) padded to 8 bytes into those offsets and the bytes
/// after them. The count comes from a file and is not trusted.
pub fn split_offsets<'a>(
    bytes: &'a [u8],
    count: usize,
    what: &str,
) -> Result<(&'a [u32], &'a [u8])> {
    let too_short =
        || Error::Malformed(format!("{} bytes cannot hold {count} {what}", bytes.len()));
    let header = offsets_len(count).ok_or_else(too_short)?;
    let data_start = header.next_multiple_of(8);
    if bytes.len() < data_start {
        return Err(too_short());
    }
    Ok((cast(&bytes[..header], what)?, &bytes[data_start..]))
}

/// Variable-width values: `offset:u32{count+1} pad8 bytes`.
#[derive(Debug, Clone, Copy)]
pub struct Var<'a> {
    offsets: &'a [u32],
    bytes: &'a [u8],
    text: bool,
}

impl<'a> Var<'a> {
    pub fn parse(bytes: &'a [u8], count: usize, text: bool) -> Result<Var<'a>> {
        let (offsets, data) = split_offsets(bytes, count, "value offsets")?;
        if offsets[count] as usize != data.len() {
            return Err(Error::Malformed(
                "value offsets do not end at the data length".into(),
            ));
        }
        Ok(Var {
            offsets,
            bytes: data,
            text,
        })
    }

    /// The full check done once when a segment opens: offsets in order.
    pub fn validate(&self) -> Result<()> {
        if self.offsets[0] != 0 || self.offsets.windows(2).any(|pair| pair[0] > pair[1]) {
            return Err(Error::Malformed("value offsets are out of order".into()));
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn bytes_at(&self, index: usize) -> &'a [u8] {
        &self.bytes[self.offsets[index] as usize..self.offsets[index + 1] as usize]
    }

    /// Whether the values are UTF-8 text (else raw bytes).
    pub fn is_text(&self) -> bool {
        self.text
    }
}

/// Bytes of `count + 1` `u32` offsets (or starts), `None` when no block
/// could hold them: the count comes from a file and is not trusted.
fn offsets_len(count: usize) -> Option<usize> {
    count
        .checked_add(1)?
        .checked_mul(4)
        .filter(|len| *len <= isize::MAX as usize / 2)
}

/// Encodes a [`Var`] block: `offset:u32{n+1} pad8 data`, where `offsets`
/// holds the `n+1` boundaries of the values in `data`. Used for text and
/// bytes columns and for blocks of bitmaps.
pub fn encode_var(offsets: impl ExactSizeIterator<Item = usize>, data: &[u8]) -> Result<Vec<u8>> {
    if data.len() > u32::MAX as usize {
        return Err(Error::TooLarge(format!(
            "{} bytes of values exceed the 4 GiB a segment block may hold",
            data.len()
        )));
    }
    let header = offsets.len() * 4;
    let mut out = Vec::with_capacity(header.next_multiple_of(8) + data.len());
    for offset in offsets {
        out.extend_from_slice(&(offset as u32).to_le_bytes());
    }
    out.resize(header.next_multiple_of(8), 0);
    out.extend_from_slice(data);
    Ok(out)
}
