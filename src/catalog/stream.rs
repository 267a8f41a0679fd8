//! The stream settings of a REALTIME table, read from Pinot's string map
//! (`stream.kafka.topic.name`, `realtime.segment.flush.threshold.rows`, ...)
//! into a typed [`StreamConfig`] with Pinot's defaults and meanings.

use std::collections::BTreeMap;
use std::time::Duration;

use super::kafka_props::{self, Verdict};
use super::names::did_you_mean;
use super::Problem;

pub const KEY_STREAM_TYPE: &str = "streamType";
pub const KEY_TOPIC: &str = "stream.kafka.topic.name";
pub const KEY_BROKERS: &str = "stream.kafka.broker.list";
pub const KEY_CONSUMER_TYPE: &str = "stream.kafka.consumer.type";
pub const KEY_DECODER: &str = "stream.kafka.decoder.class.name";
/// What the JSON messages are: rows (`json`) or Debezium change events.
pub const KEY_DECODER_FORMAT: &str = "stream.kafka.decoder.prop.format";
pub const KEY_CONSUMER_FACTORY: &str = "stream.kafka.consumer.factory.class.name";
pub const CONSUMER_PROP_PREFIX: &str = "stream.kafka.consumer.prop.";
pub const KEY_OFFSET_RESET: &str = "stream.kafka.consumer.prop.auto.offset.reset";
pub const KEY_FLUSH_ROWS: &str = "realtime.segment.flush.threshold.rows";
/// Pinot's name for the rows threshold before 0.6.
pub const KEY_FLUSH_ROWS_LEGACY: &str = "realtime.segment.flush.threshold.size";
pub const KEY_FLUSH_SEGMENT_ROWS: &str = "realtime.segment.flush.threshold.segment.rows";
pub const KEY_FLUSH_TIME: &str = "realtime.segment.flush.threshold.time";
pub const KEY_FLUSH_SEGMENT_SIZE: &str = "realtime.segment.flush.threshold.segment.size";
/// Pinot's name for the size threshold before 0.6.
pub const KEY_FLUSH_SEGMENT_SIZE_LEGACY: &str = "realtime.segment.flush.desired.size";

/// Rows of a partition's first segment when segments are sized by bytes.
pub const KEY_FLUSH_INITIAL_ROWS: &str = "realtime.segment.flush.autotune.initialRows";
/// Pinot's default for [`KEY_FLUSH_INITIAL_ROWS`].
pub const DEFAULT_FLUSH_INITIAL_ROWS: u64 = 100_000;
/// Gamay's own key: stop the partition at the first message that cannot be
/// decoded, instead of skipping it.
pub const KEY_STOP_ON_DECODE_ERROR: &str = "stopOnDecodeError";
/// Gamay's own key: a topic that receives messages that could not be decoded.
pub const KEY_DEAD_LETTER_TOPIC: &str = "deadLetterTopic";

/// Pinot's default rows per consuming segment, before division by partitions.
pub const DEFAULT_FLUSH_ROWS: u64 = 5_000_000;
/// Pinot's default lifetime of a consuming segment.
pub const DEFAULT_FLUSH_TIME: Duration = Duration::from_secs(6 * 3600);
/// Pinot's default target size of a sealed segment when rows = 0.
pub const DEFAULT_FLUSH_SEGMENT_SIZE: u64 = 200 * 1024 * 1024;

/// Decoder classes whose messages Gamay decodes (JSON documents).
pub const JSON_DECODERS: [&str; 3] = [
    "org.apache.pinot.plugin.stream.kafka.KafkaJSONMessageDecoder",
    "org.apache.pinot.plugin.inputformat.json.JSONMessageDecoder",
    "org.apache.pinot.core.realtime.impl.kafka.KafkaJSONMessageDecoder",
];

/// Where a partition without a checkpoint starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    Smallest,
    Largest,
    /// The first offset at or after this time (epoch milliseconds).
    Timestamp(i64),
    /// The first offset at or after now minus this period.
    Ago(Duration),
}

/// How the messages of the stream are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoder {
    /// Each message is a row.
    Json,
    /// Each message is a Debezium change event (`op`, `before`, `after`,
    /// with or without the `schema`/`payload` wrapping); a tombstone (no
    /// payload) deletes its message key.
    Debezium,
}

/// A REALTIME table's stream settings.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamConfig {
    pub topic: String,
    pub brokers: Vec<String>,
    pub decoder: Decoder,
    pub offset_reset: OffsetReset,
    /// Rows per consuming segment for the whole table (divided among the
    /// partitions a server consumes, as in Pinot); 0 means "size-based".
    pub flush_rows: u64,
    /// Exact rows per segment, independent of partitions (Pinot 1.2+).
    pub flush_segment_rows: Option<u64>,
    pub flush_time: Duration,
    pub flush_segment_size: u64,
    /// Rows of a partition's first segment when sizing by bytes.
    pub flush_initial_rows: u64,
    /// Properties passed to the Kafka client (`security.protocol`, `sasl.*`,
    /// `ssl.*` and `stream.kafka.consumer.prop.*`), each one on the allow-list
    /// of [`kafka_props`].
    pub client_props: ClientProps,
    /// Stop at a message that cannot be decoded rather than skip it.
    pub stop_on_decode_error: bool,
    /// Where messages that cannot be decoded are copied, if anywhere.
    pub dead_letter_topic: Option<String>,
}

/// Reads a stream config map, reporting every problem. `field` is where the
/// map sits in the table config, for error paths.
pub fn parse_stream_config(
    map: &BTreeMap<String, String>,
    field: &str,
) -> Result<StreamConfig, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut problem = |key: &str, message: String| {
        problems.push(Problem {
            field: format!("{field}.{key}"),
            message,
        })
    };

    if let Some(stream_type) = map.get(KEY_STREAM_TYPE) {
        if !stream_type.eq_ignore_ascii_case("kafka") {
            problem(
                KEY_STREAM_TYPE,
                format!("stream type `{stream_type}` is not supported; Gamay consumes `kafka`"),
            );
        }
    }

    let topic = match map.get(KEY_TOPIC).map(|topic| topic.trim()) {
        Some(topic) if !topic.is_empty() => {
            if let Err(message) = check_topic(topic) {
                problem(KEY_TOPIC, message);
            }
            topic.to_string()
        }
        _ => {
            problem(
                KEY_TOPIC,
                format!("a REALTIME table needs the Kafka topic to consume in `{KEY_TOPIC}`"),
            );
            String::new()
        }
    };

    let mut brokers = Vec::new();
    match map.get(KEY_BROKERS) {
        Some(list) if !list.trim().is_empty() => {
            for broker in list.split(',').map(str::trim).filter(|broker| !broker.is_empty()) {
                match check_broker(broker) {
                    Ok(()) => brokers.push(broker.to_string()),
                    Err(message) => problem(KEY_BROKERS, message),
                }
            }
        }
        _ => problem(
            KEY_BROKERS,
            format!("a REALTIME table needs the Kafka bootstrap servers in `{KEY_BROKERS}`, e.g. \"localhost:9092\""),
        ),
    }

    if let Some(kind) = map.get(KEY_CONSUMER_TYPE) {
        let kind = kind.to_ascii_lowercase();
        if kind.contains("highlevel") {
            problem(
                KEY_CONSUMER_TYPE,
                "the high-level consumer was removed in Pinot 1.0; use `lowlevel`".into(),
            );
        } else if !matches!(kind.as_str(), "lowlevel" | "simple") {
            problem(
                KEY_CONSUMER_TYPE,
                format!("unknown consumer type `{kind}`; expected `lowlevel`"),
            );
        }
    }

    if let Some(factory) = map.get(KEY_CONSUMER_FACTORY) {
        if !factory.to_ascii_lowercase().contains("kafka") {
            problem(
                KEY_CONSUMER_FACTORY,
                format!("consumer factory `{factory}` is not a Kafka consumer; Gamay consumes Kafka (e.g. org.apache.pinot.plugin.stream.kafka30.KafkaConsumerFactory)"),
            );
        }
    }

    let decoder = match map.get(KEY_DECODER).map(|class| class.trim()) {
        None => Decoder::Json,
        Some(class) if JSON_DECODERS.contains(&class) => Decoder::Json,
        Some(class) => {
            problem(
                KEY_DECODER,
                format!(
                    "decoder class `{class}` is not supported{}; Gamay decodes JSON messages with {}",
                    did_you_mean(class, JSON_DECODERS),
                    JSON_DECODERS[..2].join(" or ")
                ),
            );
            Decoder::Json
        }
    };

    let decoder = match map.get(KEY_DECODER_FORMAT).map(|format| format.trim()) {
        None => decoder,
        Some(format) if format.eq_ignore_ascii_case("json") => Decoder::Json,
        Some(format) if format.eq_ignore_ascii_case("debezium") => Decoder::Debezium,
        Some(format) => {
            problem(
                KEY_DECODER_FORMAT,
                format!(
                    "`{format}` is not a message format Gamay decodes; expected json (each message a row) or debezium (change events with op, before and after)"
                ),
            );
            decoder
        }
    };

    let offset_reset = match map.get(KEY_OFFSET_RESET) {
        None => OffsetReset::Smallest,
        Some(value) => match parse_offset_reset(value) {
            Ok(reset) => reset,
            Err(message) => {
                problem(KEY_OFFSET_RESET, message);
                OffsetReset::Smallest
            }
        },
    };

    let mut count = |keys: &[&str]| -> Option<u64> {
        let (key, value) = keys
            .iter()
            .find_map(|key| map.get(*key).map(|value| (*key, value)))?;
        match value.trim().parse::<u64>() {
            Ok(count) => Some(count),
            Err(_) => {
                problem(
                    key,
                    format!("`{value}` is not a row count; expected a non-negative integer"),
                );
                None
            }
        }
    };
    let flush_rows = count(&[KEY_FLUSH_ROWS, KEY_FLUSH_ROWS_LEGACY]).unwrap_or(DEFAULT_FLUSH_ROWS);
    let flush_segment_rows = count(&[KEY_FLUSH_SEGMENT_ROWS]);
    let flush_initial_rows = count(&[KEY_FLUSH_INITIAL_ROWS])
        .unwrap_or(DEFAULT_FLUSH_INITIAL_ROWS)
        .max(1);
    if flush_segment_rows == Some(0) {
        problem(KEY_FLUSH_SEGMENT_ROWS, "must be at least 1".into());
    }

    let flush_time = match map.get(KEY_FLUSH_TIME) {
        None => DEFAULT_FLUSH_TIME,
        Some(value) => match parse_period(value) {
            Ok(period) if !period.is_zero() => period,
            Ok(_) => {
                problem(KEY_FLUSH_TIME, "must be longer than zero".into());
                DEFAULT_FLUSH_TIME
            }
            Err(message) => {
                problem(KEY_FLUSH_TIME, message);
                DEFAULT_FLUSH_TIME
            }
        },
    };

    let size_key = [KEY_FLUSH_SEGMENT_SIZE, KEY_FLUSH_SEGMENT_SIZE_LEGACY]
        .into_iter()
        .find(|key| map.contains_key(*key));
    let flush_segment_size = match size_key {
        None => DEFAULT_FLUSH_SEGMENT_SIZE,
        Some(key) => match parse_size(&map[key]) {
            Ok(size) if size > 0 => size,
            Ok(_) => {
                problem(key, "must be larger than zero".into());
                DEFAULT_FLUSH_SEGMENT_SIZE
            }
            Err(message) => {
                problem(key, message);
                DEFAULT_FLUSH_SEGMENT_SIZE
            }
        },
    };

    let stop_on_decode_error = match map.get(KEY_STOP_ON_DECODE_ERROR).map(|v| v.trim()) {
        None => false,
        Some(value) if value.eq_ignore_ascii_case("true") => true,
        Some(value) if value.eq_ignore_ascii_case("false") => false,
        Some(value) => {
            problem(
                KEY_STOP_ON_DECODE_ERROR,
                format!("`{value}` is not a boolean; expected true or false"),
            );
            false
        }
    };
    let dead_letter_topic = map
        .get(KEY_DEAD_LETTER_TOPIC)
        .map(|topic| topic.trim().to_string())
        .filter(|topic| !topic.is_empty());
    if let Some(Err(message)) = dead_letter_topic.as_deref().map(check_topic) {
        problem(KEY_DEAD_LETTER_TOPIC, message);
    }

    let mut client_props = BTreeMap::new();
    for (key, value) in map {
        if key == KEY_OFFSET_RESET {
            continue;
        }
        let prop = match key.strip_prefix(CONSUMER_PROP_PREFIX) {
            Some(prop) => prop,
            None if is_client_key(key) => key.as_str(),
            None => continue,
        };
        match kafka_props::check(prop, value) {
            Ok(Verdict::Pass) => {
                client_props.insert(prop.to_string(), value.clone());
            }
            Ok(Verdict::Owned) => {}
            Err(message) => problem(key, message),
        }
    }
    let client_props = ClientProps(client_props);

    if problems.is_empty() {
        Ok(StreamConfig {
            topic,
            brokers,
            decoder,
            offset_reset,
            flush_rows,
            flush_segment_rows,
            flush_time,
            flush_segment_size,
            flush_initial_rows,
            client_props,
            stop_on_decode_error,
            dead_letter_topic,
        })
    } else {
        Err(problems)
    }
}

/// The Kafka client properties of a stream, checked. Secret values
/// (`sasl.password`, `ssl.key.pem`, `ssl.key.password`) never show in its
/// `Debug` output.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ClientProps(BTreeMap<String, String>);

impl ClientProps {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }
}

impl std::fmt::Debug for ClientProps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = self.0.iter().map(|(key, value)| {
            let value = if kafka_props::is_secret(key) {
                "[hidden]"
            } else {
                value.as_str()
            };
            (key, value)
        });
        f.debug_map().entries(shown).finish()
    }
}

/// Kafka client settings Pinot reads directly from the stream map (besides
/// `stream.kafka.consumer.prop.*`).
fn is_client_key(key: &str) -> bool {
    ["security.", "sasl.", "ssl.", "isolation.level", "client.id"]
        .iter()
        .any(|prefix| key.starts_with(prefix))
}

/// Longest topic name Kafka accepts.
const MAX_TOPIC_LEN: usize = 249;

/// Kafka's rule for topic names (librdkafka refuses others, and the
/// client library panics on the refusal).
fn check_topic(topic: &str) -> Result<(), String> {
    let valid = topic.len() <= MAX_TOPIC_LEN
        && topic != "."
        && topic != ".."
        && topic
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'));
    if valid {
        return Ok(());
    }
    let shown = if topic.len() > 60 {
        format!(
            "{}... ({} bytes)",
            &topic[..topic.floor_char_boundary(60)],
            topic.len()
        )
    } else {
        topic.to_string()
    };
    Err(format!(
        "`{shown}` is not a Kafka topic name; use at most {MAX_TOPIC_LEN} letters, digits, `.`, `_` and `-`"
    ))
}

fn check_broker(broker: &str) -> Result<(), String> {
    let (host, port) = broker.rsplit_once(':').ok_or_else(|| {
        format!("broker `{broker}` has no port; write it as host:port, e.g. localhost:9092")
    })?;
    if host.is_empty() {
        return Err(format!(
            "broker `{broker}` has no host; write it as host:port"
        ));
    }
    match port.parse::<u16>() {
        Ok(port) if port > 0 => Ok(()),
        _ => Err(format!("broker `{broker}` has an invalid port `{port}`")),
    }
}

fn parse_offset_reset(value: &str) -> Result<OffsetReset, String> {
    let trimmed = value.trim();
    match trimmed.to_ascii_lowercase().as_str() {
        "smallest" | "earliest" => return Ok(OffsetReset::Smallest),
        "largest" | "latest" => return Ok(OffsetReset::Largest),
        _ => {}
    }
    if let Ok(millis) = trimmed.parse::<i64>() {
        return Ok(OffsetReset::Timestamp(millis));
    }
    if let Ok(period) = parse_period(trimmed) {
        return Ok(OffsetReset::Ago(period));
    }
    Err(format!(
        "`{value}` is not an offset reset; expected smallest, largest, a timestamp in epoch milliseconds, or a period such as 2d"
    ))
}

/// Parses Pinot's periods: `6h`, `30m`, `1d12h`, `90s`, `500ms`.
pub fn parse_period(text: &str) -> Result<Duration, String> {
    let lowered = text.trim().to_ascii_lowercase();
    let bytes = lowered.as_bytes();
    if bytes.is_empty() {
        return Err("period is empty; expected e.g. 6h, 30m, 1d".into());
    }
    let mut total = Duration::ZERO;
    let mut at = 0;
    while at < bytes.len() {
        let start = at;
        while at < bytes.len() && bytes[at].is_ascii_digit() {
            at += 1;
        }
        let unit_start = at;
        while at < bytes.len() && bytes[at].is_ascii_alphabetic() {
            at += 1;
        }
        let number: u64 = lowered[start..unit_start]
            .parse()
            .map_err(|_| format!("`{text}` is not a period; expected e.g. 6h, 30m, 1d12h"))?;
        let unit = match &lowered[unit_start..at] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            "d" => Duration::from_secs(86_400),
            other => {
                return Err(format!(
                    "`{text}` has unknown period unit `{other}`; use ms, s, m, h or d"
                ))
            }
        };
        let part = unit
            .checked_mul(
                u32::try_from(number).map_err(|_| format!("`{text}` is too long a period"))?,
            )
            .ok_or_else(|| format!("`{text}` is too long a period"))?;
        total = total
            .checked_add(part)
            .ok_or_else(|| format!("`{text}` is too long a period"))?;
    }
    Ok(total)
}

/// Parses Pinot's data sizes: `150M`, `200MB`, `1.5G`, `1048576`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let number: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a size; expected e.g. 150M, 200MB or 1G"))?;
    let scale: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" => 1 << 10,
        "M" | "MB" => 1 << 20,
        "G" | "GB" => 1 << 30,
        "T" | "TB" => 1 << 40,
        other => {
            return Err(format!(
                "`{text}` has unknown size unit `{other}`; use B, K, M, G or T"
            ))
        }
    };
    if !(number.is_finite() && number >= 0.0) {
        return Err(format!("`{text}` is not a size"));
    }
    Ok((number * scale as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn scenario_stream_config() {
        let config = parse_stream_config(
            &map(&[
                ("streamType", "kafka"),
                (KEY_TOPIC, "topico-processado"),
                (KEY_BROKERS, "localhost:9092"),
                (KEY_CONSUMER_TYPE, "lowlevel"),
                (
                    KEY_DECODER,
                    "org.apache.pinot.plugin.stream.kafka.KafkaJSONMessageDecoder",
                ),
            ]),
            "streamConfigMaps[0]",
        )
        .unwrap();
        assert_eq!(config.topic, "topico-processado");
        assert_eq!(config.brokers, vec!["localhost:9092"]);
        assert_eq!(config.offset_reset, OffsetReset::Smallest);
        assert_eq!(config.flush_rows, DEFAULT_FLUSH_ROWS);
        assert_eq!(config.flush_time, DEFAULT_FLUSH_TIME);
    }

    #[test]
    fn thresholds_and_props() {
        let config = parse_stream_config(
            &map(&[
                (KEY_TOPIC, "t"),
                (KEY_BROKERS, "a:1, b:2"),
                (KEY_OFFSET_RESET, "largest"),
                (KEY_FLUSH_ROWS, "0"),
                (KEY_FLUSH_TIME, "1d12h"),
                (KEY_FLUSH_SEGMENT_SIZE, "150M"),
                ("stream.kafka.consumer.prop.fetch.min.bytes", "1"),
                ("security.protocol", "SASL_SSL"),
            ]),
            "m",
        )
        .unwrap();
        assert_eq!(config.brokers, vec!["a:1", "b:2"]);
        assert_eq!(config.offset_reset, OffsetReset::Largest);
        assert_eq!(config.flush_rows, 0);
        assert_eq!(config.flush_time, Duration::from_secs(36 * 3600));
        assert_eq!(config.flush_segment_size, 150 << 20);
        assert_eq!(config.client_props.get("fetch.min.bytes"), Some("1"));
        assert_eq!(
            config.client_props.get("security.protocol"),
            Some("SASL_SSL")
        );
        assert_eq!(config.client_props.get("auto.offset.reset"), None);
    }

    #[test]
    fn kafka_properties_outside_the_allow_list_are_refused_by_key() {
        let problems = parse_stream_config(
            &map(&[
                (KEY_TOPIC, "t"),
                (KEY_BROKERS, "a:1"),
                (
                    "stream.kafka.consumer.prop.plugin.library.paths",
                    "/data/uploads/evil.so",
                ),
                ("ssl.ca.location", "/etc/shadow"),
                ("sasl.kerberos.kinit.cmd", "sh -c id"),
                ("stream.kafka.consumer.prop.fetch.wait.max.mz", "20"),
            ]),
            "streamConfigs",
        )
        .unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "streamConfigs.sasl.kerberos.kinit.cmd",
                "streamConfigs.ssl.ca.location",
                "streamConfigs.stream.kafka.consumer.prop.fetch.wait.max.mz",
                "streamConfigs.stream.kafka.consumer.prop.plugin.library.paths",
            ]
        );
        let text: Vec<String> = problems.iter().map(Problem::to_string).collect();
        assert!(text[0].contains("shell command"), "{text:?}");
        assert!(text[1].contains("ssl.ca.pem"), "{text:?}");
        assert!(
            text[2].contains("did you mean `fetch.wait.max.ms`"),
            "{text:?}"
        );
        assert!(text[3].contains("native code"), "{text:?}");
    }

    /// A topic name librdkafka refuses was accepted and then panicked the
    /// table's consumer thread (found by the config fuzzing).
    #[test]
    fn topic_names_follow_kafkas_rule() {
        let long = "é".repeat(300);
        for (topic, dead_letters) in [
            (long.as_str(), "ok"),
            ("a b", "ok"),
            ("..", "ok"),
            ("ok", "x/y"),
            ("ok", &"d".repeat(250)),
        ] {
            let problems = parse_stream_config(
                &map(&[
                    (KEY_TOPIC, topic),
                    (KEY_BROKERS, "a:1"),
                    (KEY_DEAD_LETTER_TOPIC, dead_letters),
                ]),
                "streamConfigs",
            )
            .unwrap_err();
            let text = problems[0].to_string();
            assert!(text.contains("is not a Kafka topic name"), "{text}");
            assert!(text.len() < 300, "{text}");
        }
        let name = "orders.v2_eu-west".to_string() + &"x".repeat(232);
        let config = parse_stream_config(
            &map(&[(KEY_TOPIC, &name), (KEY_BROKERS, "a:1")]),
            "streamConfigs",
        )
        .unwrap();
        assert_eq!(config.topic.len(), 249);
    }

    #[test]
    fn secret_client_props_are_hidden_from_debug() {
        let config = parse_stream_config(
            &map(&[
                (KEY_TOPIC, "t"),
                (KEY_BROKERS, "a:1"),
                ("sasl.username", "ann"),
                ("sasl.password", "hunter2"),
                ("stream.kafka.consumer.prop.ssl.key.pem", "PRIVATE KEY"),
            ]),
            "m",
        )
        .unwrap();
        let shown = format!("{config:?}");
        assert!(shown.contains("ann"), "{shown}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("PRIVATE KEY"),
            "{shown}"
        );
    }

    #[test]
    fn problems_name_the_key() {
        let problems = parse_stream_config(
            &map(&[
                (
                    KEY_DECODER,
                    "org.apache.pinot.plugin.inputformat.avro.KafkaAvroMessageDecoder",
                ),
                (KEY_FLUSH_TIME, "6 hours"),
                (KEY_OFFSET_RESET, "beginning"),
            ]),
            "streamConfigs",
        )
        .unwrap_err();
        let text: Vec<String> = problems.iter().map(Problem::to_string).collect();
        let joined = text.join("\n");
        assert!(
            joined.contains("streamConfigs.stream.kafka.topic.name"),
            "{joined}"
        );
        assert!(
            joined.contains("streamConfigs.stream.kafka.broker.list"),
            "{joined}"
        );
        assert!(
            joined.contains("KafkaAvroMessageDecoder` is not supported"),
            "{joined}"
        );
        assert!(
            joined.contains("realtime.segment.flush.threshold.time"),
            "{joined}"
        );
        assert!(
            joined.contains("`beginning` is not an offset reset"),
            "{joined}"
        );
    }

    #[test]
    fn periods_and_sizes() {
        assert_eq!(parse_period("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_period("6h").unwrap(), Duration::from_secs(21600));
        assert!(parse_period("6x").is_err());
        assert!(parse_period("h").is_err());
        assert_eq!(parse_size("200MB").unwrap(), 200 << 20);
        assert_eq!(parse_size("1.5G").unwrap(), 3 << 29);
        assert_eq!(parse_size("1024").unwrap(), 1024);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("10Q").is_err());
    }
}
