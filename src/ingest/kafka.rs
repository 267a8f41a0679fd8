//! Kafka client plumbing for stream ingestion (librdkafka through rdkafka):
//! the consumer configuration built from a table's stream settings, and the
//! broker questions a partition consumer asks (partitions of the topic,
//! watermarks, the offset for a time).
//!
//! Consumers are assigned partitions explicitly and never commit offsets to
//! Kafka: where a partition resumes lives in Gamay's checkpoints. Offsets
//! that fall out of range surface as errors (`auto.offset.reset=error`), so
//! the consumer can count what retention deleted before applying the
//! table's own reset policy.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::catalog::{OffsetReset, StreamConfig};

/// How long a metadata or offset request may take.
pub const BROKER_TIMEOUT: Duration = Duration::from_secs(5);

/// librdkafka settings Gamay decides itself; a table's own value for these
/// would break exactly-once, so they are not passed through.
const OWNED_KEYS: [&str; 5] = [
    "enable.auto.commit",
    "enable.auto.offset.store",
    "auto.offset.reset",
    "bootstrap.servers",
    "enable.partition.eof",
];

/// The consumer configuration for `stream`, tagged with `client_id`.
pub fn consumer_config(stream: &StreamConfig, client_id: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", stream.brokers.join(","))
        .set("group.id", format!("gamay-{client_id}"))
        .set("client.id", client_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "error")
        .set("enable.partition.eof", "false")
        // Hand fetched messages over quickly: freshness over batching.
        .set("fetch.wait.max.ms", "20")
        .set("log_level", "4");
    for (key, value) in &stream.client_props {
        if !OWNED_KEYS.contains(&key.as_str()) {
            config.set(key, value);
        }
    }
    config
}

/// A consumer with nothing assigned yet.
pub fn connect(stream: &StreamConfig, client_id: &str) -> Result<BaseConsumer, String> {
    consumer_config(stream, client_id)
        .create()
        .map_err(|err| format!("cannot create a Kafka consumer: {}", describe(&err)))
}

/// The number of partitions of `topic`.
pub fn partition_count(consumer: &BaseConsumer, topic: &str) -> Result<i32, String> {
    let metadata = consumer
        .fetch_metadata(Some(topic), BROKER_TIMEOUT)
        .map_err(|err| {
            format!(
                "cannot read the metadata of topic `{topic}`: {}",
                describe(&err)
            )
        })?;
    let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return Err(format!("topic `{topic}` does not exist"));
    };
    if let Some(err) = found.error() {
        let code: RDKafkaErrorCode = err.into();
        return Err(format!("topic `{topic}`: {code}"));
    }
    Ok(found.partitions().len() as i32)
}

/// The first and the next-to-be-written offsets of a partition.
pub fn watermarks(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
) -> Result<(i64, i64), String> {
    consumer
        .fetch_watermarks(topic, partition, BROKER_TIMEOUT)
        .map_err(|err| {
            format!(
                "cannot read the offsets of {topic}/{partition}: {}",
                describe(&err)
            )
        })
}

/// Where a partition with no checkpoint starts, by the table's
/// `auto.offset.reset`.
pub fn reset_offset(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
    reset: OffsetReset,
) -> Result<i64, String> {
    let (low, high) = watermarks(consumer, topic, partition)?;
    let millis = match reset {
        OffsetReset::Smallest => return Ok(low),
        OffsetReset::Largest => return Ok(high),
        OffsetReset::Timestamp(millis) => millis,
        OffsetReset::Ago(period) => crate::segment::now_millis() - period.as_millis() as i64,
    };
    let mut wanted = TopicPartitionList::new();
    wanted
        .add_partition_offset(topic, partition, Offset::Offset(millis))
        .map_err(|err| describe(&err))?;
    let found = consumer
        .offsets_for_times(wanted, BROKER_TIMEOUT)
        .map_err(|err| {
            format!(
                "cannot find the offset of time {millis} in {topic}/{partition}: {}",
                describe(&err)
            )
        })?;
    let offset = found
        .find_partition(topic, partition)
        .map(|element| element.offset());
    Ok(match offset {
        Some(Offset::Offset(offset)) => offset.clamp(low, high),
        // No message at or after that time yet: start at the end.
        _ => high,
    })
}

/// Assigns `partition` of `topic`, reading from `offset`.
pub fn assign(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Result<(), String> {
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(topic, partition, Offset::Offset(offset))
        .map_err(|err| describe(&err))?;
    consumer
        .assign(&list)
        .map_err(|err| format!("cannot assign {topic}/{partition}: {}", describe(&err)))
}

/// Whether a consume error means the wanted offset no longer (or not yet)
/// exists on the broker.
pub fn is_offset_out_of_range(err: &KafkaError) -> bool {
    matches!(
        err.rdkafka_error_code(),
        Some(RDKafkaErrorCode::OffsetOutOfRange | RDKafkaErrorCode::AutoOffsetReset)
    )
}

/// Whether a consume error only reports a passing condition that librdkafka
/// recovers from by itself (a broker going away, a leader changing).
pub fn is_transient(err: &KafkaError) -> bool {
    !matches!(
        err.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::UnknownTopicOrPartition
                | RDKafkaErrorCode::UnknownTopic
                | RDKafkaErrorCode::UnknownPartition
                | RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::SaslAuthenticationFailed
                | RDKafkaErrorCode::Authentication
                | RDKafkaErrorCode::InvalidConfig
        )
    )
}

/// A Kafka error as one readable line.
pub fn describe(err: &KafkaError) -> String {
    match err.rdkafka_error_code() {
        Some(code) => format!("{code}"),
        None => err.to_string(),
    }
}
