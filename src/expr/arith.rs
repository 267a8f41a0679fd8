//! Integer arithmetic of the engine: LONG stays LONG (`ts - ts % 3600000`),
//! and a result outside its range is an error naming the operation, never
//! a wrapped value. Batch loops track overflow with one flag, so they stay
//! as tight as wrapping ones; the error is built only when it happened.

use super::error::Error;
use super::BinOp;

/// Division (or `%`) of integers by zero: the caller's input, answered
/// with a 400 (Pinot computes in DOUBLE and gets NaN or Infinity).
pub const DIVISION_BY_ZERO: &str = "division by zero";

/// Integer arithmetic stays LONG; a result outside LONG's range is an
/// error, never a wrapped value.
pub fn overflow(operation: String) -> Error {
    Error::Overflow(operation)
}

#[inline]
pub fn long_op(op: BinOp, x: i64, y: i64) -> Result<i64, Error> {
    let result = match op {
        BinOp::Add => x.checked_add(y),
        BinOp::Sub => x.checked_sub(y),
        BinOp::Mul => x.checked_mul(y),
        BinOp::Mod | BinOp::Div if y == 0 => return Err(Error::DivisionByZero),
        // i64::MIN % -1 is 0, which only `wrapping_rem` computes.
        BinOp::Mod => Some(x.wrapping_rem(y)),
        _ => x.checked_div(y),
    };
    result.ok_or_else(|| overflow(format!("{x} {} {y}", op_symbol(op))))
}

fn op_symbol(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        _ => "%",
    }
}

/// `op` of a column of integers and a constant other than a zero divisor.
pub fn long_by_constant(op: BinOp, a: &[i64], k: i64) -> Result<Vec<i64>, Error> {
    let mut overflowed = false;
    let mut track = |(value, overflow): (i64, bool)| {
        overflowed |= overflow;
        value
    };
    let out: Vec<i64> = match op {
        BinOp::Add => a.iter().map(|x| track(x.overflowing_add(k))).collect(),
        BinOp::Sub => a.iter().map(|x| track(x.overflowing_sub(k))).collect(),
        BinOp::Mul => a.iter().map(|x| track(x.overflowing_mul(k))).collect(),
        _ => a
            .iter()
            .map(|x| long_op(op, *x, k))
            .collect::<Result<_, _>>()?,
    };
    if overflowed {
        for x in a {
            long_op(op, *x, k)?;
        }
    }
    Ok(out)
}

/// `op` over two columns of integers; one overflow flag for the batch
/// keeps the loop as tight as the wrapping one.
pub fn long_vectors(op: BinOp, a: &[i64], b: &[i64]) -> Result<Vec<i64>, Error> {
    if matches!(op, BinOp::Mod | BinOp::Div) && b.contains(&0) {
        return Err(Error::DivisionByZero);
    }
    let mut overflowed = false;
    let mut track = |(value, overflow): (i64, bool)| {
        overflowed |= overflow;
        value
    };
    let out: Vec<i64> = match op {
        BinOp::Add => a
            .iter()
            .zip(b)
            .map(|(x, y)| track(x.overflowing_add(*y)))
            .collect(),
        BinOp::Sub => a
            .iter()
            .zip(b)
            .map(|(x, y)| track(x.overflowing_sub(*y)))
            .collect(),
        BinOp::Mul => a
            .iter()
            .zip(b)
            .map(|(x, y)| track(x.overflowing_mul(*y)))
            .collect(),
        BinOp::Mod => a.iter().zip(b).map(|(x, y)| x.wrapping_rem(*y)).collect(),
        _ => a
            .iter()
            .zip(b)
            .map(|(x, y)| track(x.overflowing_div(*y)))
            .collect(),
    };
    if overflowed {
        // Name the first pair that overflows.
        for (x, y) in a.iter().zip(b) {
            long_op(op, *x, *y)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_is_an_error_naming_the_first_pair() {
        let a = [1, i64::MAX, 3, i64::MIN];
        let err = long_by_constant(BinOp::Add, &a, 1).unwrap_err().to_string();
        assert!(
            err.starts_with("integer overflow: 9223372036854775807 + 1 is outside"),
            "{err}"
        );
        let err = long_vectors(BinOp::Sub, &a, &[0, 0, 0, 1])
            .unwrap_err()
            .to_string();
        assert!(err.contains("-9223372036854775808 - 1"), "{err}");
        let err = long_vectors(BinOp::Mul, &a, &[2, 2, 2, 2])
            .unwrap_err()
            .to_string();
        assert!(err.contains("9223372036854775807 * 2"), "{err}");
        assert_eq!(
            long_vectors(BinOp::Add, &[1, 2], &[3, 4]).unwrap(),
            vec![4, 6]
        );
        assert_eq!(
            long_by_constant(BinOp::Mul, &[2, -3], 7).unwrap(),
            vec![14, -21]
        );
    }

    #[test]
    fn division_by_zero_is_an_error_and_min_rem_minus_one_is_zero() {
        assert_eq!(
            long_vectors(BinOp::Mod, &[5], &[0]).unwrap_err(),
            Error::DivisionByZero
        );
        assert_eq!(
            long_op(BinOp::Div, 5, 0).unwrap_err(),
            Error::DivisionByZero
        );
        assert_eq!(long_op(BinOp::Mod, i64::MIN, -1).unwrap(), 0);
        assert!(long_op(BinOp::Div, i64::MIN, -1).is_err());
        assert_eq!(
            long_by_constant(BinOp::Mod, &[7, -7], 3).unwrap(),
            vec![1, -1]
        );
    }
}
