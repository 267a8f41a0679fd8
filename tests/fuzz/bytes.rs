//! Damage to bytes: of binary files (bit flips, truncations, zeroed,
//! randomized, removed and inserted runs, little-endian integers set to
//! extremes) and of serialized JSON (truncation, invalid UTF-8, numbers
//! out of range, stray bytes, a byte-order mark, trailing text).

use rand::rngs::StdRng;
use rand::Rng;

/// A mutation of a binary file, with what was done.
pub fn mutate_bytes(bytes: &mut Vec<u8>, rng: &mut StdRng) -> String {
    if bytes.is_empty() {
        bytes.push(rng.random());
        return "a byte in an empty file".into();
    }
    let len = bytes.len();
    let at = rng.random_range(0..len);
    match rng.random_range(0..8) {
        0 => {
            let bit = rng.random_range(0..8);
            bytes[at] ^= 1 << bit;
            format!("flipped bit {bit} of byte {at}")
        }
        1 => {
            bytes.truncate(at);
            format!("truncated to {at} bytes")
        }
        2 => {
            let end = (at + rng.random_range(1..256)).min(len);
            bytes[at..end].fill(0);
            format!("zeroed bytes {at}..{end}")
        }
        3 => {
            let end = (at + rng.random_range(1..64)).min(len);
            rng.fill(&mut bytes[at..end]);
            format!("randomized bytes {at}..{end}")
        }
        4 => {
            // An integer field set to an extreme: aligned to its width,
            // or anywhere (headers inside blocks are packed).
            let width = [2usize, 4, 8][rng.random_range(0..3)];
            let at = if rng.random_bool(0.5) {
                at - at % width
            } else {
                at
            };
            if at + width > len {
                return mutate_bytes(bytes, rng);
            }
            let value: u64 = match rng.random_range(0..5) {
                0 => u64::MAX,
                1 => 0,
                2 => 1 << (width * 8 - 1),
                3 => (len as u64) * 2,
                _ => rng.random(),
            };
            bytes[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
            format!("set the {width}-byte integer at {at} to {value:#x}")
        }
        5 => {
            let end = (at + rng.random_range(1..128)).min(len);
            bytes.drain(at..end);
            format!("removed bytes {at}..{end}")
        }
        6 => {
            let count = rng.random_range(1..128);
            let fill: u8 = rng.random();
            bytes.splice(at..at, std::iter::repeat_n(fill, count));
            format!("inserted {count} bytes {fill:#04x} at {at}")
        }
        _ => {
            let count = rng.random_range(1..16);
            for _ in 0..count {
                let at = rng.random_range(0..len);
                bytes[at] = rng.random();
            }
            format!("overwrote {count} random bytes")
        }
    }
}

/// Damages serialized JSON: truncation, invalid UTF-8, numbers out of
/// range, stray bytes, a byte-order mark, trailing garbage.
pub fn damage_text(bytes: &mut Vec<u8>, rng: &mut StdRng, steps: &mut Vec<String>) {
    if bytes.is_empty() {
        return;
    }
    let at = rng.random_range(0..bytes.len());
    match rng.random_range(0..7) {
        0 => {
            bytes.truncate(at);
            steps.push(format!("truncated the text at byte {at}"));
        }
        1 => {
            bytes.splice(at..at, [0xFF, 0xC3]);
            steps.push(format!("inserted invalid UTF-8 at byte {at}"));
        }
        2 => {
            // Inside a string this is an escape JSON refuses; outside, a
            // number no float holds.
            let text: &[u8] = if rng.random_bool(0.5) {
                b"\\ud800"
            } else {
                b"1e99999"
            };
            bytes.splice(at..at, text.iter().copied());
            steps.push(format!(
                "inserted `{}` at byte {at}",
                String::from_utf8_lossy(text)
            ));
        }
        3 => {
            let junk = [b'{', b'[', b'"', b',', b'}', b']', 0u8, b'\n'][rng.random_range(0..8)];
            bytes.insert(at, junk);
            steps.push(format!("inserted byte {junk:#04x} at byte {at}"));
        }
        4 => {
            bytes.splice(0..0, [0xEF, 0xBB, 0xBF]);
            steps.push("prefixed a byte-order mark".into());
        }
        5 => {
            bytes.extend_from_slice(b" {} trailing");
            steps.push("appended trailing text".into());
        }
        _ => {
            bytes.clear();
            bytes.extend_from_slice(b"   ");
            steps.push("blanked the body".into());
        }
    }
}
