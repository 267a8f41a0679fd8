//! Delivery: Kafka Connect's S3 and JDBC sink connectors, run as export
//! jobs over sealed segments. A connector takes Confluent's connector JSON;
//! its job exports each sealed segment of its tables once, in the order the
//! segments were sealed, and records it in a watermark (the S3 sink's in
//! the connector's state file, or in a cluster the metastore; the JDBC
//! sink's in the target database, in the same transaction as the rows).
//! Where segments come from and where state goes are the traits of
//! `source.rs`. Failures are [`Error`]s (`error.rs`).

pub mod config;
pub mod error;
pub mod jdbc;
pub mod registry;
pub mod rows;
mod runner;
pub mod s3;
pub mod secrets;
pub mod source;
pub mod state;

pub use error::{Error, Result, RowsError, SecretError};
pub use registry::{ConnectorView, Connectors, RegistryError};
pub use runner::Status;
pub use source::{LocalSegments, Sealed, SegmentSource, StateFile, StateStore};
