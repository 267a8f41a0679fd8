//! Mergeable summaries behind Pinot's approximate aggregates:
//! [`Hll`] (HyperLogLog registers) for `DISTINCTCOUNTHLL` and
//! [`Quantiles`] (log-spaced buckets) for `PERCENTILEEST`. Merging two
//! summaries gives exactly the summary of both inputs, so a star-tree
//! record, a segment and a whole table summarize the same rows the same way
//! whatever the order, and a query answers the same from a tree as from
//! the docs. Both have a compact byte form for star-tree records.

mod hash;
mod hll;
mod quantiles;

pub use hash::{hash_bytes, hash_i64, hash_number};
pub use hll::Hll;
pub use quantiles::Quantiles;

#[cfg(test)]
mod tests;
