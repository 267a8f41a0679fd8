//! Byte encodings shared by segments and indexes, below both: bit-packed
//! dictionary ids ([`bitpack`]), frame-of-reference packed keys
//! ([`forpack`]) and variable-width value blocks ([`var`]). They know
//! nothing of columns, types or files: they turn numbers and byte strings
//! into little-endian blocks and read them back in place.

pub mod bitpack;
pub mod forpack;
pub mod var;
