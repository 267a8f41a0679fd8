//! Secrets in table configs: the Kafka client settings whose values are
//! secret (`sasl.password`, `ssl.key.pem`, `ssl.key.password`, with or
//! without `stream.kafka.consumer.prop.`) are shown as `[hidden]`, and a
//! config sent back with `[hidden]` keeps the stored value only while it
//! still names the same Kafka brokers, so a changed broker list never
//! receives the old password.

use serde_json::Value;

use super::kafka_props;
use super::stream::{CONSUMER_PROP_PREFIX, KEY_BROKERS};

/// What a hidden secret is shown as.
pub const HIDDEN: &str = "[hidden]";

fn is_secret_key(key: &str) -> bool {
    kafka_props::is_secret(key.strip_prefix(CONSUMER_PROP_PREFIX).unwrap_or(key))
}

/// The stream config maps of a table config's JSON, wherever Pinot puts them.
fn stream_maps(json: &mut Value) -> Vec<&mut serde_json::Map<String, Value>> {
    let mut maps = Vec::new();
    let Value::Object(root) = json else {
        return maps;
    };
    let mut legacy = None;
    let mut ingestion = None;
    for (key, value) in root.iter_mut() {
        match key.as_str() {
            "tableIndexConfig" => legacy = value.get_mut("streamConfigs"),
            "ingestionConfig" => {
                ingestion = value
                    .get_mut("streamIngestionConfig")
                    .and_then(|stream| stream.get_mut("streamConfigMaps"))
            }
            _ => {}
        }
    }
    if let Some(Value::Object(map)) = legacy {
        maps.push(map);
    }
    if let Some(Value::Array(list)) = ingestion {
        maps.extend(list.iter_mut().filter_map(Value::as_object_mut));
    }
    maps
}

/// The table config JSON as shown to callers: secret values hidden.
pub fn shown(json: &Value) -> Value {
    let mut json = json.clone();
    for map in stream_maps(&mut json) {
        for (key, value) in map.iter_mut() {
            if is_secret_key(key) {
                *value = Value::String(HIDDEN.to_string());
            }
        }
    }
    json
}

/// Puts the stored secrets back where `incoming` says `[hidden]`, as long as
/// the stream map at the same place names the same brokers; otherwise says
/// which secret must be sent again.
pub fn restore(incoming: &mut Value, stored: Option<&Value>) -> Result<(), String> {
    let mut stored = stored.cloned().unwrap_or(Value::Null);
    let stored_maps = stream_maps(&mut stored);
    for (index, map) in stream_maps(incoming).into_iter().enumerate() {
        let previous = stored_maps.get(index);
        let same_brokers = previous.is_some_and(|previous| {
            previous.get(KEY_BROKERS).is_some() && previous.get(KEY_BROKERS) == map.get(KEY_BROKERS)
        });
        for (key, value) in map.iter_mut() {
            if value.as_str() != Some(HIDDEN) || !is_secret_key(key) {
                continue;
            }
            match previous.and_then(|previous| previous.get(key)) {
                Some(old) if same_brokers => *value = old.clone(),
                _ => {
                    return Err(format!(
                        "`{key}` is `{HIDDEN}`, but the stored table has no such secret for the same `{KEY_BROKERS}`; send the secret itself"
                    ))
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn table(brokers: &str, password: &str) -> Value {
        json!({
            "tableName": "t",
            "ingestionConfig": {"streamIngestionConfig": {"streamConfigMaps": [{
                "stream.kafka.broker.list": brokers,
                "stream.kafka.consumer.prop.sasl.password": password,
                "sasl.username": "u",
                "ssl.key.pem": password,
            }]}},
        })
    }

    #[test]
    fn secrets_are_hidden_and_come_back_for_the_same_brokers_only() {
        let stored = table("kafka:9092", "s3cret");
        let shown = shown(&stored);
        assert!(!shown.to_string().contains("s3cret"), "{shown}");
        let map = &shown["ingestionConfig"]["streamIngestionConfig"]["streamConfigMaps"][0];
        assert_eq!(map["stream.kafka.consumer.prop.sasl.password"], HIDDEN);
        assert_eq!(map["ssl.key.pem"], HIDDEN);
        assert_eq!(map["sasl.username"], "u");

        let mut back = shown.clone();
        restore(&mut back, Some(&stored)).unwrap();
        assert_eq!(back, stored);

        let mut moved = shown.clone();
        moved["ingestionConfig"]["streamIngestionConfig"]["streamConfigMaps"][0]
            ["stream.kafka.broker.list"] = json!("evil:9092");
        let err = restore(&mut moved, Some(&stored)).unwrap_err();
        assert!(err.contains("send the secret itself"), "{err}");

        let mut fresh = shown;
        assert!(restore(&mut fresh, None).is_err());
        // A real value passes whatever the brokers.
        let mut new = table("other:9092", "new");
        restore(&mut new, Some(&stored)).unwrap();
        assert_eq!(new, table("other:9092", "new"));
    }
}
