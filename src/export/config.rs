//! Connector configs in Kafka Connect's shape: `{"name": ..., "config": {...}}`
//! with every value a string (numbers and booleans are taken too), parsed
//! into what the S3 and JDBC sinks need. Every problem is reported with the
//! key it concerns; a key that looks like a misspelled known key is refused.

use std::collections::BTreeMap;

use serde_json::Value;

use super::error::Error;
use super::jdbc::JdbcConfig;
use super::s3::S3Config;
pub use super::secrets::{
    check_secrets, is_secret, masked, resolve_secret, HIDDEN, SECRETS_DIR_ENV, SECRET_ENV_PREFIX,
};

/// Longest connector name accepted.
const MAX_NAME_LEN: usize = 200;

/// Keys every connector takes, whatever its class.
const COMMON_KEYS: [&str; 7] = [
    "errors.tolerance",
    "connector.class",
    "name",
    "tables",
    "topics",
    "tasks.max",
    "max.retries",
];

/// Prefixes of Kafka Connect's framework keys that have no meaning here and
/// are accepted as they are (converters, transforms, error handling).
const FRAMEWORK_PREFIXES: [&str; 9] = [
    "key.converter",
    "value.converter",
    "header.converter",
    "transforms",
    "predicates",
    "errors.",
    "consumer.override.",
    "config.action.reload",
    "topics.regex",
];

/// Which sink a connector is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkKind {
    S3,
    Jdbc,
}

impl SinkKind {
    /// The sink named by `connector.class`: Confluent's class names or a short alias.
    pub fn parse(class: &str) -> Result<SinkKind, Error> {
        let short = class.rsplit('.').next().unwrap_or(class);
        match short.to_ascii_lowercase().as_str() {
            "s3sinkconnector" | "s3" | "s3sink" => Ok(SinkKind::S3),
            "jdbcsinkconnector" | "jdbc" | "jdbcsink" => Ok(SinkKind::Jdbc),
            _ => Err(Error::UnknownSink(class.to_string())),
        }
    }

    /// The class name Kafka Connect reports.
    pub fn class_name(self) -> &'static str {
        match self {
            SinkKind::S3 => "io.confluent.connect.s3.S3SinkConnector",
            SinkKind::Jdbc => "io.confluent.connect.jdbc.JdbcSinkConnector",
        }
    }
}

/// Where a connector's rows come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sources {
    /// Gamay tables, by raw name (both types) or with a type suffix.
    Tables(Vec<String>),
    /// Kafka topics: the REALTIME tables that consume them.
    Topics(Vec<String>),
}

/// A connector's settings, checked. Its `Debug` output hides secrets.
#[derive(Clone)]
pub struct ConnectorConfig {
    pub name: String,
    pub kind: SinkKind,
    pub sources: Sources,
    pub sink: Sink,
    /// The config as the user sent it (values as strings).
    pub raw: BTreeMap<String, String>,
}

impl std::fmt::Debug for ConnectorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorConfig")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("sources", &self.sources)
            .field("raw", &masked(&self.raw))
            .finish_non_exhaustive()
    }
}

/// The sink-specific part of a config.
#[derive(Debug, Clone)]
pub enum Sink {
    S3(Box<S3Config>),
    Jdbc(Box<JdbcConfig>),
}

/// Checks a connector name: it names a file under the data directory.
pub fn check_name(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::Invalid("connector name must not be empty".into()));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Error::Invalid(format!(
            "connector name is {} bytes long; at most {MAX_NAME_LEN} are allowed",
            name.len()
        )));
    }
    if name.starts_with('.') {
        return Err(Error::Invalid(format!(
            "connector name `{name}` must not start with `.`"
        )));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(Error::Invalid(format!(
            "connector name `{name}` contains {bad:?}; use letters, digits, `_`, `-` and `.`"
        )));
    }
    Ok(())
}

/// The values of a `config` object as strings. Numbers and booleans are
/// written as Kafka Connect would read them; nested values are refused.
pub fn string_map(config: &Value) -> Result<BTreeMap<String, String>, Vec<String>> {
    let Some(object) = config.as_object() else {
        return Err(vec![
            "`config` must be an object of string values, e.g. {\"connector.class\": \"s3\", ...}"
                .into(),
        ]);
    };
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    for (key, value) in object {
        match value {
            Value::String(text) => {
                out.insert(key.clone(), text.clone());
            }
            Value::Number(number) => {
                out.insert(key.clone(), number.to_string());
            }
            Value::Bool(flag) => {
                out.insert(key.clone(), flag.to_string());
            }
            Value::Null => {}
            _ => problems.push(format!("{key}: must be a string, not {value}")),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Reads the values of a config map, collecting problems by key.
pub struct Reader<'a> {
    map: &'a BTreeMap<String, String>,
    pub problems: Vec<String>,
    known: Vec<&'static str>,
}

impl<'a> Reader<'a> {
    pub fn new(map: &'a BTreeMap<String, String>) -> Reader<'a> {
        Reader {
            map,
            problems: Vec::new(),
            known: COMMON_KEYS.to_vec(),
        }
    }

    pub fn problem(&mut self, key: &str, message: impl std::fmt::Display) {
        self.problems.push(format!("{key}: {message}"));
    }

    /// The trimmed value of `key`, if set and not blank.
    pub fn text(&mut self, key: &'static str) -> Option<String> {
        self.known.push(key);
        self.map
            .get(key)
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
    }

    pub fn required(&mut self, key: &'static str, example: &str) -> Option<String> {
        let value = self.text(key);
        if value.is_none() {
            self.problem(key, format!("is required, e.g. \"{key}\": \"{example}\""));
        }
        value
    }

    pub fn text_or(&mut self, key: &'static str, default: &str) -> String {
        self.text(key).unwrap_or_else(|| default.to_string())
    }

    /// An integer within `min..=max`, or `default` when unset.
    pub fn int(&mut self, key: &'static str, default: i64, min: i64, max: i64) -> i64 {
        let Some(text) = self.text(key) else {
            return default;
        };
        match text.parse::<i64>() {
            Ok(value) if (min..=max).contains(&value) => value,
            Ok(value) => {
                self.problem(key, format!("{value} is out of range {min}..={max}"));
                default
            }
            Err(_) => {
                self.problem(key, format!("`{text}` is not an integer"));
                default
            }
        }
    }

    pub fn bool(&mut self, key: &'static str, default: bool) -> bool {
        let Some(text) = self.text(key) else {
            return default;
        };
        match text.to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => {
                self.problem(key, format!("`{text}` is not true or false"));
                default
            }
        }
    }

    /// A comma-separated list; empty when unset.
    pub fn list(&mut self, key: &'static str) -> Vec<String> {
        self.text(key)
            .map(|text| {
                text.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// One of `choices` (compared without case), or `default` when unset.
    pub fn choice(&mut self, key: &'static str, default: &str, choices: &[&str]) -> String {
        let value = self.text_or(key, default).to_ascii_lowercase();
        if !choices.contains(&value.as_str()) {
            self.problem(
                key,
                format!("`{value}` is not one of {}", choices.join(", ")),
            );
            return default.to_string();
        }
        value
    }

    /// Refuses keys that are close to a known key but not one (typos such
    /// as `flush.sise`); other unknown keys are left alone, as Kafka Connect does.
    fn check_typos(&mut self) {
        let known = self.known.clone();
        for key in self.map.keys() {
            if known.contains(&key.as_str())
                || FRAMEWORK_PREFIXES
                    .iter()
                    .any(|prefix| key.starts_with(prefix))
            {
                continue;
            }
            // Lengths more than two apart are more than two edits apart;
            // keys come from requests and may be megabytes long.
            let chars = key.chars().count();
            if let Some(close) = known.iter().find(|candidate| {
                candidate.chars().count().abs_diff(chars) <= 2
                    && strsim::levenshtein(key, candidate) <= 2
            }) {
                self.problems
                    .push(format!("{key}: unknown key; did you mean `{close}`?"));
            }
        }
    }
}

/// Parses and checks a connector's config. `name` comes from the request
/// (the path or the body's `name`).
pub fn parse(name: &str, raw: BTreeMap<String, String>) -> Result<ConnectorConfig, Vec<String>> {
    let mut problems = Vec::new();
    if let Err(problem) = check_name(name) {
        problems.push(problem.to_string());
    }
    if let Some(inner) = raw.get("name") {
        if inner != name {
            problems.push(format!(
                "name: the config names the connector `{inner}` but the request names it `{name}`"
            ));
        }
    }
    let mut reader = Reader::new(&raw);
    let kind = match reader.required("connector.class", "io.confluent.connect.s3.S3SinkConnector") {
        Some(class) => match SinkKind::parse(&class) {
            Ok(kind) => Some(kind),
            Err(problem) => {
                let problem = problem.to_string();
                reader.problem(
                    "connector.class",
                    problem.trim_start_matches("connector.class "),
                );
                None
            }
        },
        None => None,
    };
    let tables = reader.list("tables");
    let topics = reader.list("topics");
    let sources = match (tables.is_empty(), topics.is_empty()) {
        (false, true) => Some(Sources::Tables(tables)),
        (true, false) => Some(Sources::Topics(topics)),
        (true, true) => {
            reader.problem(
                "tables",
                "name the Gamay tables to export, e.g. \"tables\": \"stock_transactions\" (or \"topics\": the Kafka topics whose tables to export)",
            );
            None
        }
        (false, false) => {
            reader.problem("topics", "set either `tables` or `topics`, not both");
            None
        }
    };
    reader.int("tasks.max", 1, 1, 1024);
    if let Some(tolerance) = reader.text("errors.tolerance") {
        if !tolerance.eq_ignore_ascii_case("none") {
            reader.problem(
                "errors.tolerance",
                format!("`{tolerance}` would skip rows; a connector stops at a row its target refuses and retries until it is written (fix the target or the data), so only `none` is accepted"),
            );
        }
    }
    let sink = match kind {
        Some(SinkKind::S3) => S3Config::read(&mut reader).map(|c| Sink::S3(Box::new(c))),
        Some(SinkKind::Jdbc) => JdbcConfig::read(&mut reader).map(|c| Sink::Jdbc(Box::new(c))),
        None => None,
    };
    reader.check_typos();
    problems.append(&mut reader.problems);
    match (kind, sources, sink) {
        (Some(kind), Some(sources), Some(sink)) if problems.is_empty() => Ok(ConnectorConfig {
            name: name.to_string(),
            kind,
            sources,
            sink,
            raw,
        }),
        _ => {
            if problems.is_empty() {
                problems.push("the config is incomplete".into());
            }
            Err(problems)
        }
    }
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
    fn class_names_and_aliases() {
        assert_eq!(
            SinkKind::parse("io.confluent.connect.s3.S3SinkConnector").ok(),
            Some(SinkKind::S3)
        );
        assert_eq!(SinkKind::parse("jdbc").ok(), Some(SinkKind::Jdbc));
        assert_eq!(
            SinkKind::parse("io.confluent.connect.jdbc.JdbcSinkConnector").ok(),
            Some(SinkKind::Jdbc)
        );
        let err = SinkKind::parse("io.confluent.connect.hdfs.HdfsSinkConnector")
            .unwrap_err()
            .to_string();
        assert!(err.contains("S3SinkConnector"), "{err}");
    }

    #[test]
    fn names_are_file_safe() {
        assert!(check_name("s3-sink.v2_x").is_ok());
        assert!(check_name("../etc").is_err());
        assert!(check_name("a/b").is_err());
        assert!(check_name("").is_err());
        assert!(check_name(".hidden").is_err());
    }

    #[test]
    fn values_may_be_numbers_and_booleans() {
        let raw = string_map(&serde_json::json!({"flush.size": 10, "auto.create": true})).unwrap();
        assert_eq!(raw["flush.size"], "10");
        assert_eq!(raw["auto.create"], "true");
        assert!(string_map(&serde_json::json!({"x": [1]})).is_err());
    }

    #[test]
    fn missing_sources_and_typos_are_reported() {
        let raw = map(&[
            ("connector.class", "s3"),
            ("s3.bucket.name", "b"),
            ("flush.size", "10"),
            ("flush.sise", "10"),
        ]);
        let problems = parse("c", raw).unwrap_err();
        assert!(
            problems.iter().any(|p| p.starts_with("tables:")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("did you mean `flush.size`")),
            "{problems:?}"
        );
    }

    #[test]
    fn skipping_rows_and_tls_that_cannot_be_honoured_are_refused() {
        let raw = map(&[
            ("connector.class", "jdbc"),
            ("tables", "t"),
            (
                "connection.url",
                "jdbc:mysql://h/db?trustCertificateKeyStoreUrl=file:/ks.jks",
            ),
            ("errors.tolerance", "all"),
            ("db.timezone", "America/Sao_Paulo"),
        ]);
        let problems = parse("c", raw).unwrap_err();
        for key in ["errors.tolerance:", "connection.url:", "db.timezone:"] {
            assert!(
                problems.iter().any(|p| p.starts_with(key)),
                "{key} {problems:?}"
            );
        }
        let raw = map(&[
            ("connector.class", "jdbc"),
            ("tables", "t"),
            ("connection.url", "jdbc:postgresql://h/db?sslmode=require"),
            ("errors.tolerance", "none"),
        ]);
        assert!(parse("c", raw).is_ok());
    }

    #[test]
    fn name_in_config_must_match() {
        let raw = map(&[("connector.class", "s3"), ("name", "other")]);
        let problems = parse("c", raw).unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("`other`")),
            "{problems:?}"
        );
    }
}
