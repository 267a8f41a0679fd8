//! Delivery: Kafka Connect's S3 and JDBC sink connectors, run as export
//! jobs over sealed segments. A connector takes Confluent's connector JSON;
//! its job exports each sealed segment of its tables once, in the order the
//! segments were sealed, and records it in a watermark (the S3 sink's in
//! the connector's state file, the JDBC sink's in the target database, in
//! the same transaction as the rows). Failures are [`Error`]s (`error.rs`).

pub mod config;
pub mod error;
pub mod jdbc;
pub mod registry;
pub mod rows;
mod runner;
pub mod s3;
pub mod secrets;
pub mod state;

pub use error::{Error, Result, RowsError, SecretError};
pub use registry::{ConnectorView, Connectors, RegistryError};
pub use runner::Status;
