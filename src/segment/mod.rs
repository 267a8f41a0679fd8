//! Segments: the columnar storage of a table's rows.
//!
//! - [`MutableSegment`]: rows are appended one at a time (from Kafka) or in
//!   batches (from files), and queries read it while it grows.
//! - [`ImmutableSegment`]: a sealed segment file, memory-mapped, with sorted
//!   dictionaries, bit-packed forward indexes, null vectors, statistics and
//!   the configured indexes. `format.rs` documents the bytes.
//!
//! Sealing (`seal.rs`) turns the first into the second; batch ingestion
//! builds files straight from rows with [`SegmentBuilder`]. Both write
//! through `writer.rs`. This module and
//! `index/` never import an async runtime or network crate.

pub(crate) mod append_vec;
mod builder;
mod error;
pub mod format;
pub(crate) mod mutable;
mod mutable_trees;
mod reader;
mod seal;
mod spec;
mod startree;
pub mod stored;
mod types;
mod values;
mod writer;

#[cfg(test)]
mod damage_tests;
#[cfg(test)]
mod tests;

pub use builder::{Chunk, SegmentBuilder};
pub use error::{BlockError, Error, Result, ValueError};
pub use format::{ColumnMeta, Encoding, SegmentMeta, StarTreeMeta, StreamRange};
pub use mutable::{now_millis, MutableSegment};
pub use mutable_trees::ConsumingTrees;
pub use reader::{ColumnView, DecodedDictionary, ImmutableSegment, SegmentTree};
pub use spec::{ColumnSpec, SegmentSpec, TreeConfig};
pub use types::{conform_scalar, default_null_value, hex, unhex, Cell, Physical, Scalar};
pub use values::{Prim, Values, VarValues};
pub use writer::{bloom_hash, SealInfo};
