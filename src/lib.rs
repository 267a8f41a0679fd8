//! Gamay: a real-time columnar OLAP store with Apache Pinot's API.
//!
//! ```text
//!  write path
//!  ──────────
//!  Kafka partitions ──► ingest ──► MutableSegment ──seal──► segment file ──► export (S3, JDBC sinks)
//!                         │          (queryable at once)     (mmap, indexes)
//!                         └─ checkpoint: next offset, committed with each sealed segment
//!
//!  read path
//!  ─────────
//!  HTTP ──► api (auth, access) ──► query::Broker: parse SQL ─► a slot of its lane ─► prune segments
//!           ─► per-segment operators ─► merge ─► Pinot JSON      (joins: query::multistage, DataFusion)
//!
//!  batch path
//!  ──────────
//!  file (Parquet, CSV, JSON) ──► ingest::files ──► SegmentBuilder ──► segment files ──► server manifest
//!
//!  control path
//!  ────────────
//!  HTTP ──► api ──► catalog: Pinot schemas and table configs, validated,
//!                   stored durably under --data-dir/catalog; export: connectors
//! ```
//!
//! Modules and what they own:
//!
//! - [`catalog`]: Pinot-compatible `Schema` and `TableConfig`, validation, the
//!   durable metadata store.
//! - [`segment`]: mutable and immutable segments, the segment file format.
//! - [`index`]: inverted, sorted, range, bloom and star-tree indexes.
//! - [`codec`]: the byte encodings segments and indexes share (bit-packed
//!   ids, frame-of-reference keys, variable-width blocks), below both.
//! - [`expr`]: scalar expressions, values and Pinot's functions, shared by
//!   ingestion transforms and queries.
//! - [`ingest`]: records into rows, file readers, Kafka decoding, the broker
//!   probe.
//! - [`server`]: each table's committed segments, batch ingestion, and the
//!   REALTIME consumers (`server::realtime`).
//! - [`query`]: SQL to plans, per-segment execution, the broker, workload
//!   slots and lanes, and the multi-stage engine on DataFusion.
//! - [`upsert`]: the primary key state of upsert and dedup tables.
//! - [`export`]: Kafka Connect's S3 and JDBC sinks over sealed segments.
//! - [`app`]: the application wired from the process settings; `api`
//!   serves it.
//! - [`api`]: axum routes on Pinot's paths, error → HTTP status mapping,
//!   access checks, the connection listener and TLS, the console.
//! - [`auth`]: principals, permissions, credentials, the audit log.
//! - [`deepstore`]: sealed segment files in object storage (S3 or a
//!   directory) under deterministic names, downloaded whole.
//! - [`cluster`]: a node's part in a cluster: heartbeats, publishing
//!   segments, following the placement, the lead controller's placement,
//!   the broker's routing and scatter.
//! - [`metastore`]: what a cluster's nodes agree on (the catalog, segment
//!   records, checkpoints, partition leases, live nodes, assignments,
//!   connectors, leadership, a change counter), on PostgreSQL or locally.
//! - [`metrics`]: every metric `GET /metrics` exports, named in one place.
//! - [`quickstart`]: `gamay quickstart`, the scenario on an embedded Kafka.
//! - [`config`]: process settings (flags, limits).
//! - [`error`]: the process-level error type.
//! - [`faults`]: fault points that crash tests arm.
//! - [`durable`]: crash-safe file replacement used by everything persisted.
//! - [`sort`]: radix sort of packed `u64` keys.
//! - [`sync`]: locks taken whether or not a panic poisoned them.
//! - [`sketch`]: HyperLogLog and quantile summaries for approximate aggregates.
//!
//! Dependencies point one way: `api → app → export/query → server →
//! ingest → expr → segment → index → codec`, with `catalog` below all but
//! the encodings; `architecture_tests` fails on a cycle, and
//! `docs/architecture.md` has the full map. Below `api`, nothing names an
//! HTTP status: modules return typed errors and `api/error.rs` maps them.
//! `segment`/`index` never touch an async runtime. The benchmark harness
//! that `gamay bench` runs is a crate of its own (`bench/`, `gamay-bench`)
//! that talks to the server over HTTP only.

pub mod api;
pub mod app;
pub mod auth;
pub mod catalog;
pub mod cluster;
pub mod codec;
pub mod config;
pub mod deepstore;
pub mod durable;
pub mod error;
pub mod export;
pub mod expr;
pub mod faults;
pub mod index;
pub mod ingest;
pub mod metastore;
pub mod metrics;
pub mod pgtls;
pub mod query;
pub mod quickstart;
pub mod segment;
pub mod server;
pub mod sketch;
pub mod sort;
pub mod sync;
pub mod upsert;

pub use error::{Error, Result};

#[cfg(test)]
mod architecture_tests;
