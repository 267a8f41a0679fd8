//! Pinot's JSON scalar functions: `jsonPathString`, `jsonPathLong`,
//! `jsonPathDouble` (a value at a simple JSONPath of a JSON document, or a
//! default) and `jsonFormat` (a value as JSON text). Documents are JSON
//! text; objects and arrays read from a record keep their JSON text.

use serde_json::Value as Json;

use super::error::Error;
use super::value::Value;

/// What a JSON path function gives back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathResult {
    String,
    Long,
    Double,
}

/// `jsonPath*(document, path[, default])`: the value at `path` as the
/// result type, else the default (null without one).
pub fn json_path_value(result: PathResult, args: &[Value]) -> Result<Value, Error> {
    let default = args.get(2).cloned().unwrap_or(Value::Null);
    let path = match args.get(1) {
        Some(Value::Str(path)) => path.clone(),
        Some(Value::Null) | None => {
            return Err(Error::Invalid(
                "a JSON path is null; write e.g. '$.a.b'".into(),
            ))
        }
        Some(other) => other.to_text(),
    };
    let document: Json = match &args[0] {
        Value::Null => return Ok(default),
        Value::Str(text) => serde_json::from_str(text).unwrap_or(Json::String(text.clone())),
        other => to_json(other.clone()),
    };
    let Some(found) = json_path(&document, &path)? else {
        return Ok(default);
    };
    Ok(match result {
        PathResult::String => match found {
            Json::String(s) => Value::Str(s.clone()),
            Json::Null => default,
            other => Value::Str(other.to_string()),
        },
        PathResult::Long => match found {
            Json::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|v| v as i64))
                .map_or(default, Value::Long),
            Json::String(s) => s.trim().parse().map_or(default, Value::Long),
            _ => default,
        },
        PathResult::Double => match found {
            Json::Number(n) => n.as_f64().map_or(default, Value::Double),
            Json::String(s) => s.trim().parse().map_or(default, Value::Double),
            _ => default,
        },
    })
}

/// A value as JSON.
pub fn to_json(value: Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Long(v) => Json::from(v),
        Value::Double(v) => serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number),
        Value::Str(s) => Json::String(s),
        Value::Bytes(b) => Json::String(crate::segment::hex(&b)),
        Value::Array(items) => Json::Array(items.into_iter().map(to_json).collect()),
    }
}

/// A JSON value as a value: objects and arrays keep their JSON text, so the
/// path functions can read them.
pub fn from_json(value: &Json) -> Value {
    match value {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Long(*b as i64),
        Json::Number(n) => match n.as_i64() {
            Some(v) => Value::Long(v),
            None => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::Str(s.clone()),
        other => Value::Str(other.to_string()),
    }
}

/// The value at a simple JSONPath (`$.a.b`, `$.list[0].c`, `$['a']`).
pub fn json_path<'a>(document: &'a Json, path: &str) -> Result<Option<&'a Json>, Error> {
    let rest = path
        .trim()
        .strip_prefix('$')
        .ok_or_else(|| Error::Invalid(format!("JSON path `{path}` must start with `$`")))?;
    let mut current = document;
    let mut chars = rest;
    while !chars.is_empty() {
        if let Some(after) = chars.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let Some(next) = current.get(&after[..end]) else {
                return Ok(None);
            };
            current = next;
            chars = &after[end..];
        } else if let Some(after) = chars.strip_prefix('[') {
            let end = after
                .find(']')
                .ok_or_else(|| Error::Invalid(format!("JSON path `{path}` has an unclosed `[`")))?;
            let inside = after[..end].trim();
            let next = if let Ok(index) = inside.parse::<usize>() {
                current.get(index)
            } else {
                current.get(inside.trim_matches(|c| c == '\'' || c == '"'))
            };
            let Some(next) = next else { return Ok(None) };
            current = next;
            chars = &after[end + 1..];
        } else {
            return Err(Error::Invalid(format!(
                "JSON path `{path}` is not supported; use `$.a.b` or `$.a[0]`"
            )));
        }
    }
    Ok(Some(current))
}
