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
