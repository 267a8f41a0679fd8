//! Parsing Pinot's JSON documents (schemas, table configs) into typed configs.
//!
//! Pinot's JSON is not ours: users paste documents written for Pinot, with keys
//! Gamay may not know. [`parse`] therefore accepts unknown keys, keeps the
//! document as sent, and reports every key the typed config did not consume as
//! an *unrecognized property*, keyed by its JSON pointer (`/tableIndexConfig/foo`),
//! the way Pinot's controller does.
//!
//! Before serde sees a byte, the nesting depth is bounded by a single scan, so a
//! hostile body (a megabyte of `[`) is refused in linear time with a clear error
//! rather than by a recursion limit deep inside the parser.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::Error;

/// Deepest nesting accepted in a config document. Pinot's deepest real path
/// (`fieldConfigList[].indexes.inverted.{}`) is about six levels; 32 leaves room
/// for `metadata.customConfigs` and the like without allowing abuse.
pub const MAX_JSON_DEPTH: usize = 32;

/// A document parsed into `T`, with the JSON as sent and what `T` did not use.
#[derive(Debug, Clone)]
pub struct Parsed<T> {
    pub value: T,
    pub json: Value,
    pub unrecognized: BTreeMap<String, Value>,
}

/// Parses `bytes` as a `what` document (e.g. "schema", "table config").
pub fn parse<T>(bytes: &[u8], what: &str) -> Result<Parsed<T>, Error>
where
    T: DeserializeOwned + Serialize,
{
    check_depth(bytes, what)?;
    let json: Value = serde_json::from_slice(bytes).map_err(|err| Error::InvalidJson {
        what: what.to_string(),
        reason: err.to_string(),
    })?;
    parse_value(json, what)
}

/// Parses an already decoded JSON value (a part of a larger document).
pub fn parse_value<T>(json: Value, what: &str) -> Result<Parsed<T>, Error>
where
    T: DeserializeOwned + Serialize,
{
    if !json.is_object() {
        return Err(Error::InvalidJson {
            what: what.to_string(),
            reason: format!("expected a JSON object, found {}", kind_of(&json)),
        });
    }
    let value: T = serde_path_to_error::deserialize(&json).map_err(|err| {
        let path = err.path().to_string();
        Error::InvalidField {
            what: what.to_string(),
            field: path,
            reason: err.into_inner().to_string(),
        }
    })?;
    let typed = serde_json::to_value(&value).map_err(|err| Error::InvalidJson {
        what: what.to_string(),
        reason: err.to_string(),
    })?;
    let mut unrecognized = BTreeMap::new();
    collect_unrecognized(&json, &typed, &mut String::new(), &mut unrecognized);
    Ok(Parsed {
        value,
        json,
        unrecognized,
    })
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Refuses documents nested deeper than [`MAX_JSON_DEPTH`].
fn check_depth(bytes: &[u8], what: &str) -> Result<(), Error> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (at, &byte) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(Error::InvalidJson {
                        what: what.to_string(),
                        reason: format!(
                            "nesting deeper than {MAX_JSON_DEPTH} levels at byte {at}; \
                             config documents are a few levels deep"
                        ),
                    });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Walks the document as sent beside the typed config re-serialized, and
/// records every key present only in the former, as Pinot does: one entry per
/// leaf, keyed by JSON pointer.
fn collect_unrecognized(
    sent: &Value,
    typed: &Value,
    path: &mut String,
    out: &mut BTreeMap<String, Value>,
) {
    match (sent, typed) {
        (Value::Object(sent), Value::Object(typed)) => {
            for (key, value) in sent {
                let len = path.len();
                path.push('/');
                path.push_str(&escape_pointer(key));
                match typed.get(key) {
                    Some(typed_value) => collect_unrecognized(value, typed_value, path, out),
                    None => collect_leaves(value, path, out),
                }
                path.truncate(len);
            }
        }
        (Value::Array(sent), Value::Array(typed)) => {
            for (index, (value, typed_value)) in sent.iter().zip(typed).enumerate() {
                let len = path.len();
                path.push('/');
                path.push_str(&index.to_string());
                collect_unrecognized(value, typed_value, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn collect_leaves(value: &Value, path: &mut String, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                let len = path.len();
                path.push('/');
                path.push_str(&escape_pointer(key));
                collect_leaves(child, path, out);
                path.truncate(len);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (index, child) in items.iter().enumerate() {
                let len = path.len();
                path.push('/');
                path.push_str(&index.to_string());
                collect_leaves(child, path, out);
                path.truncate(len);
            }
        }
        _ => {
            out.insert(path.clone(), value.clone());
        }
    }
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A string that Pinot's Jackson would also accept written as a number or a
/// boolean (`"replication": 3` as well as `"replication": "3"`).
pub fn lenient_string<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    let value = Option::<Value>::deserialize(deserializer)?;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(Value::Bool(flag)) => Ok(Some(flag.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected a string or a number, found {}",
            kind_of(&other)
        ))),
    }
}

/// A map of strings whose values may be written as numbers or booleans, as
/// Pinot's stream config maps often are.
pub fn lenient_string_map<'de, D>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let map = Option::<BTreeMap<String, Value>>::deserialize(deserializer)?.unwrap_or_default();
    let mut out = BTreeMap::new();
    for (key, value) in map {
        let text = match value {
            Value::String(text) => text,
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            Value::Null => continue,
            other => {
                return Err(serde::de::Error::custom(format!(
                    "value of `{key}` must be a string, found {}",
                    kind_of(&other)
                )))
            }
        };
        out.insert(key, text);
    }
    Ok(out)
}

/// A boolean that may also be written as `"true"` / `"false"`.
pub fn lenient_bool<'de, D>(deserializer: D) -> Result<Option<bool>, D::Error>
where
    D: Deserializer<'de>,
{
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(flag)),
        Some(Value::String(text)) if text.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(text)) if text.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected true or false, found {other}"
        ))),
    }
}

/// A list of strings that may also be written as a single string
/// (`"sortedColumn": "id"` as well as `["id"]`).
pub fn string_or_list<'de, D>(deserializer: D) -> Result<Vec<String>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(OneOrMany::One(one)) => vec![one],
        Some(OneOrMany::Many(many)) => many,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Inner {
        known: Option<i64>,
    }

    #[derive(Debug, Serialize, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Doc {
        name: String,
        #[serde(default)]
        inner: Vec<Inner>,
        #[serde(default)]
        map: BTreeMap<String, i64>,
    }

    #[test]
    fn reports_unknown_keys_by_pointer() {
        let body = br#"{"name":"a","extra":{"x":1,"y":[1]},"inner":[{"known":1},{"typo":2}],"map":{"k":1}}"#;
        let parsed: Parsed<Doc> = parse(body, "doc").unwrap();
        let keys: Vec<_> = parsed.unrecognized.keys().cloned().collect();
        assert_eq!(keys, vec!["/extra/x", "/extra/y/0", "/inner/1/typo"]);
        assert_eq!(parsed.unrecognized["/extra/y/0"], serde_json::json!(1));
    }

    #[test]
    fn explicit_null_of_known_field_is_recognized() {
        let parsed: Parsed<Doc> =
            parse(br#"{"name":"a","inner":[{"known":null}]}"#, "doc").unwrap();
        assert!(parsed.unrecognized.is_empty(), "{:?}", parsed.unrecognized);
    }

    #[test]
    fn refuses_deep_nesting_before_parsing() {
        let body = "[".repeat(100_000);
        let err = parse::<Doc>(body.as_bytes(), "doc").unwrap_err();
        assert!(err.to_string().contains("nesting deeper than 32"), "{err}");
        // brackets inside strings do not count
        let quoted = format!(r#"{{"name":"{}"}}"#, "[".repeat(1000));
        assert!(parse::<Doc>(quoted.as_bytes(), "doc").is_ok());
    }

    #[test]
    fn truncated_body_names_the_position() {
        let err = parse::<Doc>(br#"{"name": "a", "inner": [{"#, "doc").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("invalid doc JSON"), "{message}");
        assert!(message.contains("EOF while parsing"), "{message}");
    }

    #[test]
    fn wrong_type_names_the_field() {
        let err = parse::<Doc>(br#"{"name":"a","inner":[{"known":"x"}]}"#, "doc").unwrap_err();
        assert!(err.to_string().contains("inner[0].known"), "{err}");
    }

    #[test]
    fn top_level_must_be_object() {
        let err = parse::<Doc>(b"[1,2]", "doc").unwrap_err();
        assert!(
            err.to_string()
                .contains("expected a JSON object, found an array"),
            "{err}"
        );
    }
}
