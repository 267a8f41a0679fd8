//! Gamay: a real-time columnar OLAP store with Apache Pinot's API.
//!
//! ```text
//!  write path
//!  ──────────
//!  Kafka partitions ──► ingest ──► MutableSegment ──seal──► segment file ──► export (S3, JDBC)
//!                         │          (queryable at once)     (mmap, indexes)
//!                         └─ checkpoint: next offset, committed with each sealed segment
//!
//!  read path
//!  ─────────
//!  HTTP ──► api ──► broker: parse SQL ─► prune segments ─► per-segment operators ─► merge ─► Pinot JSON
//!
//!  batch path (built)
//!  ──────────
//!  file (Parquet, CSV, JSON) ──► ingest::files ──► SegmentBuilder ──► segment files ──► server manifest
//!
//!  control path (built)
//!  ────────────
//!  HTTP ──► api ──► catalog: Pinot schemas and table configs, validated,
//!                   stored durably under --data-dir/catalog
//! ```
//!
//! Modules and what they own:
//!
//! - [`catalog`]: Pinot-compatible `Schema` and `TableConfig`, validation, the
//!   durable metadata store.
//! - [`segment`]: mutable and immutable segments, the segment file format.
//! - [`index`]: inverted, sorted, range, bloom and star-tree indexes.
//! - [`ingest`]: records into rows, file readers, the Kafka broker probe.
//! - [`server`]: each table's committed segments; batch ingestion.
//! - [`api`]: axum routes on Pinot's paths, error → HTTP status mapping,
//!   access checks, the connection listener and TLS.
//! - [`auth`]: principals, permissions, credentials, the audit log.
//! - [`metrics`]: every metric `GET /metrics` exports, named in one place.
//! - [`config`]: process settings (flags, limits).
//! - [`durable`]: crash-safe file replacement used by everything persisted.
//! - [`sort`]: radix sort of packed `u64` keys.
//! - [`sketch`]: HyperLogLog and quantile summaries for approximate aggregates.
//! - [`upsert`]: the primary key map of upsert and dedup tables.
//! - [`bench`]: `gamay bench`, the one-command benchmark against the peers.
//!
//! Dependencies point one way: `api → server → segment/index/ingest →
//! catalog`; nothing below `api` knows about HTTP, and `segment`/`index`
//! never touch an async runtime. `docs/architecture.md` has the full map,
//! including the module still to come (export).

pub mod api;
pub mod auth;
pub mod bench;
pub mod catalog;
pub mod config;
pub mod durable;
pub mod error;
pub mod export;
pub mod faults;
pub mod index;
pub mod ingest;
pub mod metrics;
pub mod query;
pub mod quickstart;
pub mod segment;
pub mod server;
pub mod sketch;
pub mod sort;
pub mod upsert;

pub use error::{Error, Result};
