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

use super::error::{Error, Result};
use crate::catalog::{kafka_props, OffsetReset, StreamConfig};

/// How long a metadata or offset request may take.
pub const BROKER_TIMEOUT: Duration = Duration::from_secs(5);

/// The consumer configuration for `stream`, tagged with `client_id`. The
/// stream's own properties passed the allow-list of
/// [`crate::catalog::kafka_props`]; the settings that keep offsets in Gamay's
/// checkpoints are never among them.
pub fn consumer_config(stream: &StreamConfig, client_id: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", stream.brokers.join(","))
        .set("group.id", format!("gamay-{client_id}"))
        .set("client.id", client_id)
        // Hand fetched messages over quickly: freshness over batching.
        .set("fetch.wait.max.ms", "20")
        .set("log_level", "4");
    for (key, value) in stream.client_props.iter() {
        config.set(key, value);
    }
    config
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "error")
        .set("enable.partition.eof", "false");
    config
}

/// A producer configuration for the brokers of `stream` (the dead-letter
/// topic): its connection, TLS and SASL settings, none of its fetch ones.
pub fn producer_config(stream: &StreamConfig) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", stream.brokers.join(","))
        .set("log_level", "4");
    for (key, value) in stream.client_props.iter() {
        if kafka_props::applies_to_producer(key) {
            config.set(key, value);
        }
    }
    config
}

/// A consumer with nothing assigned yet.
pub fn connect(stream: &StreamConfig, client_id: &str) -> Result<BaseConsumer> {
    consumer_config(stream, client_id)
        .create()
        .map_err(Error::kafka("cannot create a Kafka consumer"))
}

/// The number of partitions of `topic`.
pub fn partition_count(consumer: &BaseConsumer, topic: &str) -> Result<i32> {
    let metadata = consumer
        .fetch_metadata(Some(topic), BROKER_TIMEOUT)
        .map_err(Error::kafka(format!(
            "cannot read the metadata of topic `{topic}`"
        )))?;
    let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return Err(Error::NoTopic(topic.to_string()));
    };
    if let Some(err) = found.error() {
        return Err(Error::Topic {
            topic: topic.to_string(),
            code: err.into(),
        });
    }
    Ok(found.partitions().len() as i32)
}

/// The first and the next-to-be-written offsets of a partition.
pub fn watermarks(consumer: &BaseConsumer, topic: &str, partition: i32) -> Result<(i64, i64)> {
    consumer
        .fetch_watermarks(topic, partition, BROKER_TIMEOUT)
        .map_err(Error::kafka(format!(
            "cannot read the offsets of {topic}/{partition}"
        )))
}

/// Where a partition with no checkpoint starts, by the table's
/// `auto.offset.reset`.
pub fn reset_offset(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
    reset: OffsetReset,
) -> Result<i64> {
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
        .map_err(refused)?;
    let found = consumer
        .offsets_for_times(wanted, BROKER_TIMEOUT)
        .map_err(Error::kafka(format!(
            "cannot find the offset of time {millis} in {topic}/{partition}"
        )))?;
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
pub fn assign(consumer: &BaseConsumer, topic: &str, partition: i32, offset: i64) -> Result<()> {
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(topic, partition, Offset::Offset(offset))
        .map_err(refused)?;
    consumer
        .assign(&list)
        .map_err(Error::kafka(format!("cannot assign {topic}/{partition}")))
}

/// A refusal of the Kafka client that says itself what was refused.
fn refused(source: KafkaError) -> Error {
    Error::Kafka {
        action: None,
        source,
    }
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rdkafka::producer::BaseProducer;

    use super::*;
    use crate::catalog::parse_stream_config;

    /// A self-signed CA certificate (public, no key), valid until 2126.
    const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBhjCCAS2gAwIBAgIUdBtwFB75hGwJToyHERvCOX/JqkIwCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNZ2FtYXktdGVzdC1jYTAgFw0yNjEyMDYxODM0MDdaGA8yMTI2
MTExMjE4MzQwN1owGDEWMBQGA1UEAwwNZ2FtYXktdGVzdC1jYTBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABFxQkbNoYYXqTBDS9JAheSvqXrG6Du2lYtihbXmJ0DvV
wY1Wuyi9HnsBSBY4wwB6yqhtyQEQXSSRursL6ndt9jajUzBRMB0GA1UdDgQWBBSl
vrJd2pLaYNtYw74X54Mn9tRqdjAfBgNVHSMEGDAWgBSlvrJd2pLaYNtYw74X54Mn
9tRqdjAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIHUv97xR7hRR
hSiu8qz1z7dCdYqsVOEzHdQSfgpYJxzGAiBL6C05lNkXvqGKiDXihOSoLrcVdf5I
ANzu7EqMs9nN1g==
-----END CERTIFICATE-----
";

    fn stream(extra: &[(&str, &str)]) -> StreamConfig {
        let mut map: BTreeMap<String, String> = [
            ("stream.kafka.topic.name", "trades"),
            ("stream.kafka.broker.list", "127.0.0.1:9093"),
        ]
        .iter()
        .chain(extra)
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
        map.insert(
            "stream.kafka.consumer.prop.auto.offset.reset".into(),
            "smallest".into(),
        );
        parse_stream_config(&map, "streamConfigs").unwrap()
    }

    #[test]
    fn sasl_ssl_settings_reach_librdkafka() {
        let stream = stream(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.username", "gamay"),
            ("sasl.password", "s3cret"),
            ("stream.kafka.consumer.prop.ssl.ca.pem", CA_PEM),
            ("stream.kafka.consumer.prop.fetch.min.bytes", "1024"),
            // Settings Gamay owns are accepted but never override its own.
            ("stream.kafka.consumer.prop.enable.auto.commit", "true"),
        ]);
        let config = consumer_config(&stream, "t_REALTIME-0");
        for (key, value) in [
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.username", "gamay"),
            ("sasl.password", "s3cret"),
            ("ssl.ca.pem", CA_PEM),
            ("fetch.min.bytes", "1024"),
            ("enable.auto.commit", "false"),
            ("auto.offset.reset", "error"),
            ("bootstrap.servers", "127.0.0.1:9093"),
        ] {
            assert_eq!(config.get(key), Some(value), "{key}");
        }
        // librdkafka takes every property and builds its TLS context from
        // the PEM text (creating a client connects to nothing yet).
        let consumer: Result<BaseConsumer, _> = config.create();
        assert!(consumer.is_ok(), "{:?}", consumer.err());

        let producer = producer_config(&stream);
        assert_eq!(producer.get("sasl.password"), Some("s3cret"));
        assert_eq!(producer.get("ssl.ca.pem"), Some(CA_PEM));
        assert_eq!(producer.get("fetch.min.bytes"), None);
        let producer: Result<BaseProducer, _> = producer.create();
        assert!(producer.is_ok(), "{:?}", producer.err());
    }

    #[test]
    fn pem_text_is_what_librdkafka_reads() {
        // Not a certificate: librdkafka refuses it when the client is made,
        // so the value really is handed over.
        let stream = stream(&[
            ("security.protocol", "SSL"),
            ("stream.kafka.consumer.prop.ssl.ca.pem", "not a certificate"),
        ]);
        let err = connect(&stream, "t")
            .err()
            .map(|err| err.to_string())
            .unwrap_or_default();
        assert!(err.contains("cannot create a Kafka consumer"), "{err}");
    }
}
