//! Ingestion from streams into segments. So far: checking that a REALTIME
//! table's Kafka brokers can be reached when the table is created.

mod probe;

pub use probe::probe_brokers;
