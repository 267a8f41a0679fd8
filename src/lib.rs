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
//!  control path (what exists today)
//!  ────────────
//!  HTTP ──► api ──► catalog: Pinot schemas and table configs, validated,
//!                   stored durably under --data-dir/catalog
//! ```
//!
//! Modules and what they own:
//!
//! - [`catalog`]: Pinot-compatible `Schema` and `TableConfig`, validation, the
//!   durable metadata store.
//! - [`ingest`]: stream sources; today the Kafka broker reachability probe.
//! - [`api`]: axum routes on Pinot's paths, error → HTTP status mapping.
//! - [`config`]: process settings (flags, limits).
//! - [`durable`]: crash-safe file replacement used by everything persisted.
//!
//! Dependencies point one way: `api → ingest/catalog`; nothing below `api`
//! knows about HTTP. `docs/architecture.md` has the full map, including the
//! modules still to come (segment, index, query, broker, export).

pub mod api;
pub mod catalog;
pub mod config;
pub mod durable;
pub mod error;
pub mod index;
pub mod ingest;
pub mod segment;
pub mod server;

pub use error::{Error, Result};
