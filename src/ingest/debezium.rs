//! Debezium change events as records: `{"op", "before", "after", ...}`,
//! bare or wrapped as `{"schema": ..., "payload": {...}}` (the JSON
//! converter with schemas on). Creates, snapshot reads and updates are the
//! `after` image; a delete is the `before` image (or, when the source logs
//! only keys, the message key); a tombstone (a message without a payload,
//! which follows each delete for log compaction) deletes its message key.
//! A truncate, or a document without `op`, is not a change of one key and
//! is reported, not guessed at.

use serde_json::{Map, Value as Json};

use super::decode::{kind, BadReason};

/// What one change event does to its key.
#[derive(Debug, PartialEq)]
pub enum Change {
    /// The key's new version.
    Upsert(Map<String, Json>),
    /// The key is deleted; the record holds at least the key's fields.
    Delete(Map<String, Json>),
}

type Bad = (BadReason, String);

/// The change the message with `payload` and `key` makes.
pub fn change(payload: Option<&[u8]>, key: Option<&[u8]>) -> Result<Change, Bad> {
    let payload = match payload {
        Some(payload) if !payload.is_empty() => payload,
        _ => return tombstone(key),
    };
    let event = unwrap(parse(payload, "message")?);
    let event = match event {
        // The JSON converter's tombstone with schemas on: `{"schema": null,
        // "payload": null}`.
        Json::Null => return tombstone(key),
        Json::Object(event) => event,
        other => {
            return Err((
                BadReason::NotAnObject,
                format!("expected a change event object, found {}", kind(&other)),
            ))
        }
    };
    let op =
        match event.get("op") {
            Some(Json::String(op)) => op.as_str(),
            _ => return Err((
                BadReason::NotAChangeEvent,
                "no `op` field: a Debezium change event has op (c, r, u or d), before and after"
                    .into(),
            )),
        };
    match op {
        "c" | "r" | "u" => image(&event, "after", op).map(Change::Upsert),
        "d" => match image(&event, "before", op) {
            Ok(before) => Ok(Change::Delete(before)),
            // A source that logs only keys leaves `before` empty: the
            // message key still names what was deleted.
            Err(err) => key_record(key).map(Change::Delete).map_err(|_| err),
        },
        "t" => Err((
            BadReason::NotAChangeEvent,
            "a truncate event (op t) deletes every row of the source table, not one key; it is skipped".into(),
        )),
        other => Err((
            BadReason::NotAChangeEvent,
            format!("unknown op `{other}`; expected c (create), r (read), u (update) or d (delete)"),
        )),
    }
}

/// A tombstone: the key's record, as a delete.
fn tombstone(key: Option<&[u8]>) -> Result<Change, Bad> {
    key_record(key)
        .map(Change::Delete)
        .map_err(|(reason, message)| {
            (
                reason,
                format!("a tombstone (a message without a payload) deletes its key, but {message}"),
            )
        })
}

/// The message key as a record: `{"id": 1}`, bare or wrapped.
fn key_record(key: Option<&[u8]>) -> Result<Map<String, Json>, Bad> {
    let key = match key {
        Some(key) if !key.is_empty() => key,
        _ => {
            return Err((
                BadReason::EmptyMessage,
                "the message has no key either".into(),
            ))
        }
    };
    match unwrap(parse(key, "message key")?) {
        Json::Object(record) => Ok(record),
        other => Err((
            BadReason::NotAnObject,
            format!(
                "the message key is {}, not an object of the key's fields",
                kind(&other)
            ),
        )),
    }
}

/// The `before` or `after` image of an event.
fn image(event: &Map<String, Json>, name: &str, op: &str) -> Result<Map<String, Json>, Bad> {
    match event.get(name) {
        Some(Json::Object(image)) => Ok(image.clone()),
        found => Err((
            BadReason::NotAChangeEvent,
            format!(
                "an op `{op}` event needs `{name}` as an object, found {}",
                found.map_or("nothing", kind)
            ),
        )),
    }
}

fn parse(bytes: &[u8], what: &str) -> Result<Json, Bad> {
    serde_json::from_slice(bytes).map_err(|err| {
        (
            BadReason::InvalidJson,
            format!("the {what} is not valid JSON: {err}"),
        )
    })
}

/// The `payload` of the JSON converter's `{"schema", "payload"}` wrapping.
fn unwrap(value: Json) -> Json {
    match value {
        Json::Object(mut map) if map.len() == 2 && map.contains_key("schema") => {
            map.remove("payload").unwrap_or(Json::Null)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(value: Json) -> Map<String, Json> {
        value.as_object().unwrap().clone()
    }

    fn bytes(value: Json) -> Vec<u8> {
        value.to_string().into_bytes()
    }

    #[test]
    fn creates_reads_and_updates_are_the_after_image() {
        for op in ["c", "r", "u"] {
            let event = json!({"op": op, "before": null, "after": {"id": 1, "v": op}, "ts_ms": 5});
            assert_eq!(
                change(Some(&bytes(event)), None),
                Ok(Change::Upsert(record(json!({"id": 1, "v": op}))))
            );
        }
        let wrapped =
            json!({"schema": {"type": "struct"}, "payload": {"op": "u", "after": {"id": 2}}});
        assert_eq!(
            change(Some(&bytes(wrapped)), None),
            Ok(Change::Upsert(record(json!({"id": 2}))))
        );
    }

    #[test]
    fn deletes_take_the_before_image_or_the_key() {
        let event = json!({"op": "d", "before": {"id": 3, "v": "x"}, "after": null});
        assert_eq!(
            change(Some(&bytes(event)), Some(br#"{"id": 3}"#)),
            Ok(Change::Delete(record(json!({"id": 3, "v": "x"}))))
        );
        let keys_only = json!({"op": "d", "before": null, "after": null});
        let key = bytes(json!({"schema": {}, "payload": {"id": 4}}));
        assert_eq!(
            change(Some(&bytes(keys_only.clone())), Some(&key)),
            Ok(Change::Delete(record(json!({"id": 4}))))
        );
        let (reason, message) = change(Some(&bytes(keys_only)), None).unwrap_err();
        assert_eq!(reason, BadReason::NotAChangeEvent);
        assert!(message.contains("`before`"), "{message}");
    }

    #[test]
    fn tombstones_delete_their_key() {
        assert_eq!(
            change(None, Some(br#"{"id": 5}"#)),
            Ok(Change::Delete(record(json!({"id": 5}))))
        );
        let wrapped_null = bytes(json!({"schema": null, "payload": null}));
        assert_eq!(
            change(Some(&wrapped_null), Some(br#"{"id": 6}"#)),
            Ok(Change::Delete(record(json!({"id": 6}))))
        );
        let (reason, message) = change(Some(b""), None).unwrap_err();
        assert_eq!(reason, BadReason::EmptyMessage);
        assert!(message.contains("tombstone"), "{message}");
        let (reason, _) = change(None, Some(b"7")).unwrap_err();
        assert_eq!(reason, BadReason::NotAnObject);
    }

    #[test]
    fn what_is_not_a_change_of_one_key_is_named() {
        let cases = [
            (json!({"op": "t"}), BadReason::NotAChangeEvent, "truncate"),
            (json!({"id": 1}), BadReason::NotAChangeEvent, "no `op`"),
            (
                json!({"op": "x", "after": {}}),
                BadReason::NotAChangeEvent,
                "unknown op `x`",
            ),
            (
                json!({"op": "c", "after": [1]}),
                BadReason::NotAChangeEvent,
                "found an array",
            ),
            (json!([1, 2]), BadReason::NotAnObject, "an array"),
        ];
        for (event, reason, needle) in cases {
            let (got, message) = change(Some(&bytes(event)), None).unwrap_err();
            assert_eq!(got, reason, "{message}");
            assert!(message.contains(needle), "{message}");
        }
        let (reason, _) = change(Some(b"{not json"), None).unwrap_err();
        assert_eq!(reason, BadReason::InvalidJson);
    }
}
