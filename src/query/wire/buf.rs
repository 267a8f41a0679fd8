//! The primitives every message is made of: [`Writer`] appends them,
//! [`Reader`] takes them back, checking each against the bytes left.
//!
//! - unsigned integers are LEB128 varints (7 bits a byte, low bits first);
//! - signed integers are zigzagged first, so small magnitudes stay short;
//! - an `f64` is its IEEE bits, 8 bytes little-endian;
//! - bytes and strings are a varint length, then the bytes (UTF-8 for
//!   strings);
//! - a list is a varint count, then its items.
//!
//! A length or count is refused past [`MAX_LEN`] and past the bytes left
//! (every item takes at least one byte), so no hostile length allocates
//! more than the message itself. Nesting is counted by the decoders
//! ([`Reader::enter`]) and refused past [`MAX_DEPTH`].

use super::error::WireError;
use crate::query::sql::MAX_EXPRESSION_DEPTH;

/// Longest string, byte string or list: 64 MiB, far past any plan or
/// partial the engine builds (IN lists stop at 100,000 items by default,
/// results at 1,000,000 rows).
pub const MAX_LEN: u64 = 64 << 20;

/// Deepest nesting of expressions, filters and arrays. SQL is refused past
/// [`MAX_EXPRESSION_DEPTH`] levels, and translation adds at most three
/// plan levels per SQL level (`SUBSTRING(x FROM a FOR n)` puts `a` under an
/// addition and a subtraction), so every plan the planner builds fits.
pub const MAX_DEPTH: usize = 4 * MAX_EXPRESSION_DEPTH;

/// Items a decoder reserves room for before it has read them: lists grow
/// as their items arrive, so a count alone never allocates much.
pub const RESERVE: usize = 1024;

#[derive(Debug, Default)]
pub struct Writer {
    out: Vec<u8>,
}

impl Writer {
    pub fn new() -> Writer {
        Writer::default()
    }

    pub fn finish(self) -> Vec<u8> {
        self.out
    }

    /// The bytes written so far, for encoders that append their own form
    /// (the sketches' compact forms).
    pub fn out(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    pub fn u8(&mut self, value: u8) {
        self.out.push(value);
    }

    pub fn bool(&mut self, value: bool) {
        self.out.push(value as u8);
    }

    pub fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.out.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.out.push(value as u8);
    }

    pub fn usize(&mut self, value: usize) {
        self.varint(value as u64);
    }

    pub fn zigzag(&mut self, value: i64) {
        self.varint(((value << 1) ^ (value >> 63)) as u64);
    }

    pub fn f64(&mut self, value: f64) {
        self.out.extend_from_slice(&value.to_bits().to_le_bytes());
    }

    pub fn bytes(&mut self, bytes: &[u8]) {
        self.usize(bytes.len());
        self.out.extend_from_slice(bytes);
    }

    pub fn str(&mut self, text: &str) {
        self.bytes(text.as_bytes());
    }

    /// A list: its count, then `item` for each.
    pub fn list<T>(&mut self, items: &[T], mut item: impl FnMut(&mut Writer, &T)) {
        self.usize(items.len());
        for value in items {
            item(self, value);
        }
    }

    /// An option: 0, or 1 and the value.
    pub fn option<T>(&mut self, value: Option<&T>, item: impl FnOnce(&mut Writer, &T)) {
        match value {
            None => self.u8(0),
            Some(value) => {
                self.u8(1);
                item(self, value);
            }
        }
    }
}

#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    depth: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader {
            bytes,
            at: 0,
            depth: 0,
        }
    }

    /// The offset of the next byte, for errors.
    pub fn at(&self) -> usize {
        self.at
    }

    pub fn remaining(&self) -> &'a [u8] {
        &self.bytes[self.at..]
    }

    /// Moves past `n` bytes a nested decoder took from [`Reader::remaining`].
    pub fn advance(&mut self, n: usize, what: &'static str) -> Result<(), WireError> {
        if n > self.bytes.len() - self.at {
            return Err(self.truncated(what));
        }
        self.at += n;
        Ok(())
    }

    /// Fails unless every byte was read.
    pub fn end(&self) -> Result<(), WireError> {
        match self.bytes.len() - self.at {
            0 => Ok(()),
            extra => Err(WireError::Trailing { extra, at: self.at }),
        }
    }

    pub fn truncated(&self, what: &'static str) -> WireError {
        WireError::Truncated {
            what,
            at: self.at,
            len: self.bytes.len(),
        }
    }

    pub fn invalid(&self, what: &'static str, at: usize, reason: impl Into<String>) -> WireError {
        WireError::Invalid {
            what,
            at,
            reason: reason.into(),
        }
    }

    /// One level deeper; refused past [`MAX_DEPTH`]. Each `enter` is
    /// matched by a [`Reader::leave`] when the level decoded.
    pub fn enter(&mut self) -> Result<(), WireError> {
        if self.depth >= MAX_DEPTH {
            return Err(WireError::TooDeep {
                limit: MAX_DEPTH,
                at: self.at,
            });
        }
        self.depth += 1;
        Ok(())
    }

    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, WireError> {
        let Some(byte) = self.bytes.get(self.at) else {
            return Err(self.truncated(what));
        };
        self.at += 1;
        Ok(*byte)
    }

    /// A tag byte and where it was, for [`Reader::unknown`].
    pub fn tag(&mut self, what: &'static str) -> Result<(u8, usize), WireError> {
        let at = self.at;
        Ok((self.u8(what)?, at))
    }

    pub fn unknown(&self, what: &'static str, (tag, at): (u8, usize)) -> WireError {
        WireError::UnknownTag { what, tag, at }
    }

    pub fn bool(&mut self, what: &'static str) -> Result<bool, WireError> {
        match self.tag(what)? {
            (0, _) => Ok(false),
            (1, _) => Ok(true),
            other => Err(self.unknown(what, other)),
        }
    }

    pub fn varint(&mut self, what: &'static str) -> Result<u64, WireError> {
        let start = self.at;
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8(what)?;
            let bits = u64::from(byte & 0x7f);
            // The tenth byte holds the top bit only.
            if shift == 63 && bits > 1 {
                return Err(WireError::Varint { what, at: start });
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(WireError::Varint { what, at: start })
    }

    pub fn usize(&mut self, what: &'static str) -> Result<usize, WireError> {
        let at = self.at;
        let value = self.varint(what)?;
        usize::try_from(value).map_err(|_| WireError::Varint { what, at })
    }

    pub fn zigzag(&mut self, what: &'static str) -> Result<i64, WireError> {
        let value = self.varint(what)?;
        Ok(((value >> 1) as i64) ^ -((value & 1) as i64))
    }

    pub fn f64(&mut self, what: &'static str) -> Result<f64, WireError> {
        let Some(bytes) = self.bytes.get(self.at..self.at + 8) else {
            return Err(self.truncated(what));
        };
        let mut bits = [0u8; 8];
        bits.copy_from_slice(bytes);
        self.at += 8;
        Ok(f64::from_bits(u64::from_le_bytes(bits)))
    }

    /// A length or count of items that take at least one byte each: at
    /// most [`MAX_LEN`] and at most the bytes left.
    pub fn len(&mut self, what: &'static str) -> Result<usize, WireError> {
        let at = self.at;
        let len = self.varint(what)?;
        if len > MAX_LEN {
            return Err(WireError::TooLong { len, at });
        }
        let len = len as usize;
        if len > self.bytes.len() - self.at {
            return Err(WireError::Truncated {
                what,
                at,
                len: self.bytes.len(),
            });
        }
        Ok(len)
    }

    pub fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], WireError> {
        let len = self.len(what)?;
        let bytes = &self.bytes[self.at..self.at + len];
        self.at += len;
        Ok(bytes)
    }

    pub fn string(&mut self, what: &'static str) -> Result<String, WireError> {
        let at = self.at;
        let bytes = self.bytes(what)?;
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text.to_string()),
            Err(_) => Err(WireError::Utf8 { what, at }),
        }
    }

    /// A list written by [`Writer::list`].
    pub fn list<T>(
        &mut self,
        what: &'static str,
        mut item: impl FnMut(&mut Reader<'a>) -> Result<T, WireError>,
    ) -> Result<Vec<T>, WireError> {
        let len = self.len(what)?;
        let mut items = Vec::with_capacity(len.min(RESERVE));
        for _ in 0..len {
            items.push(item(self)?);
        }
        Ok(items)
    }

    /// An option written by [`Writer::option`].
    pub fn option<T>(
        &mut self,
        what: &'static str,
        item: impl FnOnce(&mut Reader<'a>) -> Result<T, WireError>,
    ) -> Result<Option<T>, WireError> {
        match self.bool(what)? {
            false => Ok(None),
            true => item(self).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn primitives_round_trip(
            unsigned in any::<u64>(),
            signed in any::<i64>(),
            float in any::<f64>(),
            text in ".{0,40}",
        ) {
            let mut writer = Writer::new();
            writer.varint(unsigned);
            writer.zigzag(signed);
            writer.f64(float);
            writer.str(&text);
            let bytes = writer.finish();
            let mut reader = Reader::new(&bytes);
            prop_assert_eq!(reader.varint("u").unwrap(), unsigned);
            prop_assert_eq!(reader.zigzag("i").unwrap(), signed);
            prop_assert_eq!(reader.f64("f").unwrap().to_bits(), float.to_bits());
            prop_assert_eq!(reader.string("s").unwrap(), text);
            prop_assert!(reader.end().is_ok());
        }
    }

    #[test]
    fn small_numbers_take_one_byte() {
        let mut writer = Writer::new();
        writer.varint(127);
        writer.zigzag(-64);
        writer.zigzag(63);
        assert_eq!(writer.finish().len(), 3);
    }

    #[test]
    fn bad_varints_and_lengths_are_named() {
        let eleven = [0xffu8; 11];
        let err = Reader::new(&eleven).varint("count").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the count varint at byte 0 does not fit its field"
        );
        // Ten bytes whose last one carries more than bit 63.
        let mut wide = [0xffu8; 10];
        wide[9] = 0x02;
        assert!(Reader::new(&wide).varint("count").is_err());
        let mut writer = Writer::new();
        writer.varint(u64::from(u32::MAX));
        let bytes = writer.finish();
        let err = Reader::new(&bytes).len("list").unwrap_err();
        assert_eq!(
            err.to_string(),
            "a length of 4294967295 at byte 0 exceeds the 64 MiB bound"
        );
        let err = Reader::new(&[5, b'a']).string("name").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the message is truncated: name at byte 0 runs past its end at byte 2"
        );
        let err = Reader::new(&[1, 0xff]).string("name").unwrap_err();
        assert_eq!(err.to_string(), "the name at byte 0 is not valid UTF-8");
    }
}
