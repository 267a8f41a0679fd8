//! The query engine: SQL over HTTP with Pinot's semantics and response.
//!
//! ```text
//! sql ──parse/plan (sql/)───▶ Plan ──broker.rs──▶ QueryServer (one per server)
//!                                                   │  per segment, on a CPU pool:
//!                                                   │  filter.rs → DocSet
//!                                                   │  exec/     → Partial (group states | rows)
//!                                                   ▼
//!        BrokerResponse ◀── reduce.rs (merge, HAVING, ORDER BY, LIMIT)
//! ```
//!
//! Segments are read through `source/`, so sealed and consuming segments
//! answer the same way.

pub mod agg;
pub mod broker;
pub mod consuming;
pub mod docs;
pub mod error;
pub mod eval;
pub mod exec;
pub mod explain;
pub mod filter;
pub mod gather;
pub mod idsets;
pub mod options;
pub mod plan;
mod plan_cache;
mod quota;
pub mod reduce;
pub mod response;
pub mod result_cache;
pub mod scatter;
pub mod source;
pub mod sql;
pub mod transform;
pub mod wire;
pub mod workload;

pub use broker::{Broker, LocalServer, QueryServer};
pub use error::QueryError;
pub use exec::RunningQueries;
pub use gather::{Scatter, Single};
pub use options::QueryOptions;

#[cfg(test)]
mod differential;
#[cfg(test)]
mod limits_tests;
pub mod multistage;
#[cfg(test)]
mod startree_tests;
#[cfg(test)]
mod test_rng;
#[cfg(test)]
mod test_values;
#[cfg(test)]
mod tests;
