//! Ingestion: records from files and Kafka messages into rows.
//!
//! - [`rows`]: JSON records → rows of cells, by the table's columns.
//! - [`files`]: Parquet, CSV and JSON file readers for batch ingestion.
//! - [`decode`]: stream messages → rows, through the table's transforms and
//!   filter ([`transform`]: what a compiled expression offers; the query
//!   engine compiles them).
//! - [`debezium`]: Debezium change events → records, deletes marked.
//! - [`kafka`]: the Kafka consumer settings and broker queries.
//! - [`probe_brokers`]: whether a REALTIME table's Kafka brokers answer.
//!
//! Failures are [`Error`]s (`error.rs`).

pub mod debezium;
pub mod decode;
pub mod error;
pub mod files;
pub mod kafka;
mod probe;
pub mod rows;
pub mod transform;

pub use error::{Error, Result};
pub use probe::probe_brokers;
