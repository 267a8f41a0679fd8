//! Ingestion: records from files (and, later, Kafka) into segments.
//!
//! - [`rows`]: JSON records → rows of cells, by the table's columns.
//! - [`files`]: Parquet, CSV and JSON file readers for batch ingestion.
//! - [`probe_brokers`]: whether a REALTIME table's Kafka brokers answer.

pub mod files;
mod probe;
pub mod rows;

pub use probe::probe_brokers;
