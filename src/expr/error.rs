//! Failures of evaluating an expression on the values it is given: a
//! division by zero, an integer overflow, a cast or a function argument
//! that does not fit. Queries report them as Pinot's `QueryExecutionError`;
//! ingestion as a record whose transform failed.

use super::arith::DIVISION_BY_ZERO;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Integer division (or `%`) by zero.
    #[error("{}", DIVISION_BY_ZERO)]
    DivisionByZero,

    /// An integer result outside LONG's range; `0` is the operation.
    #[error("integer overflow: {0} is outside the LONG range; cast an operand to DOUBLE (CAST(x AS DOUBLE)) to compute it in floating point")]
    Overflow(String),

    /// A value an operator, a function or a cast cannot take; the message
    /// says which and why.
    #[error("{0}")]
    Invalid(String),

    /// `source`, in the expression `expr` (its start, when long).
    #[error("{source} in {expr}")]
    InExpr { expr: String, source: Box<Error> },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
