//! Indexes over a column's values: build, read and apply.
//!
//! - [`inverted`]: a roaring bitmap of doc ids per dictionary id.
//! - [`sorted`]: for the sorted column, the doc-id range of each dictionary id.
//! - [`range`]: bitmaps of doc ids per bucket of values, for range predicates.
//! - [`bloom`]: a split-block bloom filter of the distinct values, to prune
//!   segments on equality predicates.
//! - [`startree`]: records pre-aggregated over several dimensions, in a tree
//!   that answers filtered group-bys without reading the docs.
//!
//! Builders return the bytes of a block (see `segment/format.rs`); readers
//! borrow those bytes from the mapped file and check every offset before use.
//! Apply functions return doc-id bitmaps. Deciding which index to use for a
//! predicate belongs to the query planner, not here. Failures are
//! [`Error`]s (`error.rs`).

pub mod bitmaps;
pub mod bloom;
pub mod error;
pub mod inverted;
pub mod range;
pub mod sorted;
pub mod startree;

pub use error::{Error, Result};
