//! The 64-bit hash distinct counts are estimated from. It is part of the
//! segment format (star-tree records store HyperLogLog registers), so it is
//! written out here rather than taken from a hasher that may change.
//! Integral numbers hash as integers whatever their type, so `5` and `5.0`
//! count once, as they compare equal.

/// The finalizer of MurmurHash3: spreads every input bit over the output.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

pub fn hash_i64(value: i64) -> u64 {
    mix(value as u64 ^ 0x9e37_79b9_7f4a_7c15)
}

/// A number: integral values hash as [`hash_i64`], others by their bits.
pub fn hash_number(value: f64) -> u64 {
    if value.fract() == 0.0 && value.abs() < 9.2e18 {
        hash_i64(value as i64)
    } else {
        // One NaN, one zero.
        let bits = if value.is_nan() {
            f64::NAN.to_bits()
        } else {
            value.to_bits()
        };
        mix(bits ^ 0x6a09_e667_f3bc_c909)
    }
}

/// Text and bytes: FNV-1a over the bytes, then mixed.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        h ^= u64::from(*byte);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h ^ bytes.len() as u64)
}
