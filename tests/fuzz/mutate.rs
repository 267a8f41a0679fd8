//! Structural mutations of JSON documents.
//!
//! [`Mutator::mutate`] takes a valid document and changes one to a few of
//! its nodes the way a confused user or a hostile client would: keys
//! dropped, renamed or duplicated, values of the wrong type or nesting,
//! huge and negative numbers, NaN-ish, empty, very long and non-ASCII
//! strings, deep nesting, enormous arrays, and parts of other valid
//! documents spliced in. The words of every seed document (keys, column
//! names, type names) are reused as values, so a mutation often stays
//! plausible enough to pass parsing and reach validation. Now and then the
//! text itself is damaged too (truncated, invalid UTF-8).

use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Map, Value};

use crate::bytes::damage_text;
use crate::odd::{long_string, odd_number, ODD_STRINGS};

/// A mutated document: its bytes and what was done, for the report.
pub struct Mutant {
    pub bytes: Vec<u8>,
    pub steps: Vec<String>,
}

impl Mutant {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The document, when the mutated bytes are still JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.bytes).ok()
    }
}

pub struct Mutator {
    /// Every string and key of the seed documents.
    words: Vec<String>,
    /// Every object and array of the seed documents.
    donors: Vec<Value>,
}

impl Mutator {
    /// A mutator whose words and donors come from `seeds`.
    pub fn new(seeds: &[Value]) -> Mutator {
        let mut words = Vec::new();
        let mut donors = Vec::new();
        for seed in seeds {
            collect(seed, &mut words, &mut donors);
        }
        words.sort();
        words.dedup();
        Mutator { words, donors }
    }

    /// `doc` with 1 to a few mutations, serialized (possibly damaged).
    pub fn mutate(&self, doc: &Value, rng: &mut StdRng) -> Mutant {
        let mut doc = doc.clone();
        let mut steps = Vec::new();
        let count = 1 + (0..4).take_while(|_| rng.random_bool(0.4)).count();
        for _ in 0..count {
            self.mutate_once(&mut doc, rng, &mut steps);
        }
        let duplicate = rng.random_bool(0.08);
        let mut bytes = Vec::new();
        write(&doc, &mut bytes, rng, duplicate, self);
        if duplicate {
            steps.push("keys written twice".into());
        }
        if rng.random_bool(0.05) {
            damage_text(&mut bytes, rng, &mut steps);
        }
        Mutant { bytes, steps }
    }

    fn word(&self, rng: &mut StdRng) -> String {
        if self.words.is_empty() || rng.random_bool(0.35) {
            ODD_STRINGS[rng.random_range(0..ODD_STRINGS.len())].to_string()
        } else {
            self.words[rng.random_range(0..self.words.len())].clone()
        }
    }

    /// A value of any kind: odd scalars, words, long strings, donors.
    fn odd_value(&self, rng: &mut StdRng) -> Value {
        match rng.random_range(0..12) {
            0 => Value::Null,
            1 => Value::Bool(rng.random()),
            2 | 3 => odd_number(rng),
            4..=6 => Value::String(self.word(rng)),
            7 => Value::String(long_string(rng)),
            8 => json!([]),
            9 => json!({}),
            10 if !self.donors.is_empty() => {
                self.donors[rng.random_range(0..self.donors.len())].clone()
            }
            _ => json!([self.word(rng)]),
        }
    }

    fn mutate_once(&self, doc: &mut Value, rng: &mut StdRng, steps: &mut Vec<String>) {
        let mut paths = Vec::new();
        list_paths(doc, &mut Vec::new(), &mut paths);
        let path = paths[rng.random_range(0..paths.len())].clone();
        let shown = show(&path);
        let Some(node) = node_at(doc, &path) else {
            return;
        };
        match rng.random_range(0..16) {
            // Drop the node (the root stays).
            0 | 1 if !path.is_empty() => {
                remove_at(doc, &path);
                steps.push(format!("dropped {shown}"));
            }
            // Rename a key: a typo, another case, or another known word.
            2 if !path.is_empty() => {
                if let Some(Step::Key(key)) = path.last() {
                    let renamed = self.rename(key, rng);
                    let value = remove_at(doc, &path).unwrap_or(Value::Null);
                    if let Some(Value::Object(parent)) = node_at(doc, &path[..path.len() - 1]) {
                        parent.insert(renamed.clone(), value);
                    }
                    steps.push(format!("renamed {shown} to `{renamed}`"));
                }
            }
            // Replace with an odd value of any type.
            3..=5 => {
                let value = self.odd_value(rng);
                steps.push(format!("set {shown} to {}", short(&value)));
                *node = value;
            }
            // Swap the type but keep the content where possible.
            6 => {
                let swapped = swap_type(node, rng);
                steps.push(format!("retyped {shown} to {}", short(&swapped)));
                *node = swapped;
            }
            // Wrong nesting: wrap or unwrap.
            7 => {
                let taken = node.take();
                *node = match (taken, rng.random_range(0..3)) {
                    (Value::Array(mut items), 0) if !items.is_empty() => items.swap_remove(0),
                    (Value::Object(map), 0) if !map.is_empty() => map
                        .into_iter()
                        .next()
                        .map(|(_, v)| v)
                        .unwrap_or(Value::Null),
                    (value, 1) => json!({ "value": value }),
                    (value, _) => json!([value]),
                };
                steps.push(format!("re-nested {shown}"));
            }
            // Deep nesting, around the 32-level limit and past it.
            8 => {
                let levels = rng.random_range(5..48);
                let mut value = node.take();
                for level in 0..levels {
                    value = if level % 2 == 0 {
                        json!([value])
                    } else {
                        json!({ "n": value })
                    };
                }
                *node = value;
                steps.push(format!("nested {shown} {levels} levels deep"));
            }
            // An enormous array within the body limit.
            9 => {
                let item = match node {
                    Value::Array(items) if !items.is_empty() => items[0].clone(),
                    Value::String(_) | Value::Number(_) | Value::Bool(_) => node.clone(),
                    _ => Value::String(self.word(rng)),
                };
                let size = item.to_string().len().max(1);
                let max = (4 << 20) / (size + 1);
                let count = [10, 1_000, 100_000][rng.random_range(0..3)].min(max.max(2));
                let distinct = rng.random_bool(0.5);
                let items = (0..count)
                    .map(|i| match (&item, distinct) {
                        (Value::String(text), true) => Value::String(format!("{text}{i}")),
                        _ => item.clone(),
                    })
                    .collect();
                *node = Value::Array(items);
                steps.push(format!("made {shown} an array of {count}"));
            }
            // Add a key: unknown or a known word, with any value.
            10 | 11 => {
                let key = self.word(rng);
                let value = self.odd_value(rng);
                match node {
                    Value::Object(map) => {
                        steps.push(format!("added `{key}` to {shown}"));
                        map.insert(key, value);
                    }
                    Value::Array(items) => {
                        steps.push(format!("appended {} to {shown}", short(&value)));
                        items.push(value);
                    }
                    _ => {
                        steps.push(format!("set {shown} to {}", short(&value)));
                        *node = value;
                    }
                }
            }
            // A part of another seed document spliced in.
            12 if !self.donors.is_empty() => {
                *node = self.donors[rng.random_range(0..self.donors.len())].clone();
                steps.push(format!("spliced a donor into {shown}"));
            }
            // Numbers nudged; strings swapped for other known words.
            _ => match node {
                Value::Number(number) => {
                    let value = number.as_f64().unwrap_or(0.0);
                    let nudged = match rng.random_range(0..4) {
                        0 => json!(-value),
                        1 => json!(value * 1e6),
                        2 => json!(number.as_i64().map_or(0, |v| v.saturating_add(1))),
                        _ => odd_number(rng),
                    };
                    steps.push(format!("nudged {shown} to {nudged}"));
                    *node = nudged;
                }
                Value::String(_) => {
                    let word = self.word(rng);
                    steps.push(format!("set {shown} to `{}`", short_text(&word)));
                    *node = Value::String(word);
                }
                other => {
                    let value = self.odd_value(rng);
                    steps.push(format!("set {shown} to {}", short(&value)));
                    *other = value;
                }
            },
        }
    }

    fn rename(&self, key: &str, rng: &mut StdRng) -> String {
        match rng.random_range(0..6) {
            0 => key.to_ascii_uppercase(),
            1 => format!("{key}s"),
            2 if key.len() > 1 => {
                let at = rng.random_range(0..key.len());
                let mut chars: Vec<char> = key.chars().collect();
                let at = at.min(chars.len() - 1);
                chars.remove(at);
                chars.into_iter().collect()
            }
            3 => camel_to_snake(key),
            4 => format!(" {key}"),
            _ => self.word(rng),
        }
    }
}

/// One step of a path: an object key or an array index.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn show(path: &[Step]) -> String {
    if path.is_empty() {
        return "the document".into();
    }
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(key) => {
                out.push('/');
                out.push_str(&short_text(key));
            }
            Step::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

fn collect(value: &Value, words: &mut Vec<String>, donors: &mut Vec<Value>) {
    match value {
        Value::String(text) if text.len() < 200 => words.push(text.clone()),
        Value::Array(items) => {
            donors.push(value.clone());
            for item in items {
                collect(item, words, donors);
            }
        }
        Value::Object(map) => {
            donors.push(value.clone());
            for (key, item) in map {
                words.push(key.clone());
                collect(item, words, donors);
            }
        }
        _ => {}
    }
}

fn list_paths(value: &Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(at.clone());
    match value {
        Value::Array(items) => {
            // Enormous arrays: a few elements stand for all.
            for (index, item) in items.iter().enumerate().take(8) {
                at.push(Step::Index(index));
                list_paths(item, at, out);
                at.pop();
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                at.push(Step::Key(key.clone()));
                list_paths(item, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn node_at<'a>(value: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut node = value;
    for step in path {
        node = match (node, step) {
            (Value::Object(map), Step::Key(key)) => map.get_mut(key)?,
            (Value::Array(items), Step::Index(index)) => items.get_mut(*index)?,
            _ => return None,
        };
    }
    Some(node)
}

fn remove_at(value: &mut Value, path: &[Step]) -> Option<Value> {
    let (last, parent) = path.split_last()?;
    match (node_at(value, parent)?, last) {
        (Value::Object(map), Step::Key(key)) => map.remove(key),
        (Value::Array(items), Step::Index(index)) if *index < items.len() => {
            Some(items.remove(*index))
        }
        _ => None,
    }
}

fn swap_type(value: &Value, rng: &mut StdRng) -> Value {
    match value {
        Value::String(text) => match text.parse::<f64>() {
            Ok(number) if number.is_finite() => json!(number),
            _ if rng.random_bool(0.5) => json!(text.len()),
            _ => json!([text]),
        },
        Value::Number(number) => Value::String(number.to_string()),
        Value::Bool(flag) => {
            if rng.random_bool(0.5) {
                Value::String(flag.to_string())
            } else {
                json!(*flag as i32)
            }
        }
        Value::Array(items) => {
            let map: Map<String, Value> = items
                .iter()
                .enumerate()
                .map(|(i, item)| (i.to_string(), item.clone()))
                .collect();
            Value::Object(map)
        }
        Value::Object(map) => {
            if rng.random_bool(0.5) {
                Value::Array(map.values().cloned().collect())
            } else {
                Value::String(Value::Object(map.clone()).to_string())
            }
        }
        Value::Null => json!("null"),
    }
}

fn camel_to_snake(key: &str) -> String {
    let mut out = String::new();
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn short_text(text: &str) -> String {
    if text.len() > 40 {
        let end = text.floor_char_boundary(40);
        format!("{}...({} bytes)", &text[..end], text.len())
    } else {
        text.to_string()
    }
}

fn short(value: &Value) -> String {
    short_text(&value.to_string())
}

/// Serializes `value`; with `duplicate`, some objects repeat a key with
/// another value (which JSON allows and parsers resolve differently).
fn write(value: &Value, out: &mut Vec<u8>, rng: &mut StdRng, duplicate: bool, mutator: &Mutator) {
    match value {
        Value::Object(map) => {
            out.push(b'{');
            let mut first = true;
            for (key, item) in map {
                if !first {
                    out.push(b',');
                }
                first = false;
                write_key(key, out);
                write(item, out, rng, duplicate, mutator);
                if duplicate && rng.random_bool(0.2) {
                    out.push(b',');
                    write_key(key, out);
                    write(&mutator.odd_value(rng), out, rng, false, mutator);
                }
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out, rng, duplicate, mutator);
            }
            out.push(b']');
        }
        scalar => out.extend_from_slice(scalar.to_string().as_bytes()),
    }
}

fn write_key(key: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(Value::String(key.to_string()).to_string().as_bytes());
    out.push(b':');
}
