//! The verdict on one answer, and the tally of a run.
//!
//! An answer is a finding when:
//! - there is none: the connection failed or no answer came within the
//!   client's bound (a hang, or the process died);
//! - its status is 5xx, except a 504 carrying Pinot's timeout code 250
//!   (a query stopped at its own `timeoutMs`, which the run keeps rare) or
//!   240 (its `timeoutMs` passed while it waited for a query slot);
//! - an error's body is not in the endpoint's shape: the query endpoints
//!   answer Pinot's broker response with an `exceptions` array of
//!   `{errorCode, message}`, the controller paths `{code, error}`;
//! - a 2xx query answer is not a broker response without exceptions.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use super::{Case, Endpoint};

/// Pinot's `EXECUTION_TIMEOUT` and `QUERY_SCHEDULING_TIMEOUT`: the only
/// 5xx the oracle accepts (with a 504).
pub const TIMEOUT_CODES: [i64; 2] = [250, 240];

fn is_timeout(status: Option<u16>, code: Option<i64>) -> bool {
    status == Some(504) && code.is_some_and(|code| TIMEOUT_CODES.contains(&code))
}

/// What came back for one case.
pub enum Answer {
    Http {
        status: u16,
        body: String,
    },
    /// No HTTP answer: the transport error.
    Failed(String),
}

/// Why an answer is a finding, or `None` when it is not one.
pub fn judge(case: &Case, answer: &Answer) -> Option<String> {
    let (status, body) = match answer {
        Answer::Failed(error) => return Some(format!("no answer: {error}")),
        Answer::Http { status, body } => (*status, body),
    };
    let json: Option<Value> = serde_json::from_str(body).ok();
    let query_endpoint = match case.endpoint {
        Endpoint::Controller => case.describe().starts_with("/query/"),
        _ => true,
    };
    if query_endpoint {
        let Some(json) = json else {
            return Some(format!("{status} with a body that is not JSON"));
        };
        let exceptions = json.get("exceptions").and_then(Value::as_array);
        if (200..300).contains(&status) {
            return match exceptions {
                Some(list) if list.is_empty() => None,
                Some(_) => Some(format!("{status} with exceptions")),
                None => Some(format!("{status} without an exceptions array")),
            };
        }
        let Some(first) = exceptions.and_then(|list| list.first()) else {
            return Some(format!("{status} without exceptions"));
        };
        let code = first.get("errorCode").and_then(Value::as_i64);
        let message = first.get("message").and_then(Value::as_str);
        if code.is_none() || message.is_none_or(str::is_empty) {
            return Some(format!(
                "{status} with an exception without errorCode or message"
            ));
        }
        if is_timeout(Some(status), code) {
            return None;
        }
        if status >= 500 {
            return Some(format!("{status} (error code {})", code.unwrap_or(0)));
        }
        return None;
    }
    if (200..300).contains(&status) {
        return None;
    }
    let shaped = json.as_ref().is_some_and(|json| {
        json.get("code").and_then(Value::as_u64) == Some(u64::from(status))
            && json.get("error").and_then(Value::as_str).is_some()
    });
    if !shaped {
        return Some(format!("{status} without a {{code, error}} body"));
    }
    (status >= 500).then(|| format!("{status} on a controller path"))
}

/// Pinot's error code of an answer, if it has one.
pub fn error_code(answer: &Answer) -> Option<i64> {
    let Answer::Http { body, .. } = answer else {
        return None;
    };
    let json: Value = serde_json::from_str(body).ok()?;
    json.get("exceptions")?
        .as_array()?
        .first()?
        .get("errorCode")?
        .as_i64()
}

/// One finding, with what is needed to replay it.
pub struct Finding {
    /// `seed/thread/case`, or the regression's line.
    pub origin: String,
    pub kind: &'static str,
    pub endpoint: Endpoint,
    pub case: String,
    pub why: String,
    pub status: Option<u16>,
    pub body: String,
}

/// Counts of a run.
#[derive(Default)]
pub struct Tally {
    pub sent: u64,
    pub by_status: BTreeMap<String, u64>,
    pub by_class: BTreeMap<String, u64>,
    pub by_code: BTreeMap<i64, u64>,
    pub by_kind: BTreeMap<&'static str, u64>,
    pub timeouts: u64,
    pub slowest_ms: u64,
    pub findings: Vec<Finding>,
}

impl Tally {
    pub fn record(&mut self, origin: String, case: &Case, answer: &Answer, millis: u64) {
        self.sent += 1;
        *self.by_kind.entry(case.kind).or_default() += 1;
        self.slowest_ms = self.slowest_ms.max(millis);
        let (status, class, body) = match answer {
            Answer::Http { status, body } => {
                (Some(*status), format!("{}xx", status / 100), body.as_str())
            }
            Answer::Failed(error) => (None, "no answer".to_string(), error.as_str()),
        };
        *self
            .by_status
            .entry(status.map_or("none".into(), |s| s.to_string()))
            .or_default() += 1;
        *self.by_class.entry(class).or_default() += 1;
        let code = error_code(answer);
        if let Some(code) = code {
            *self.by_code.entry(code).or_default() += 1;
        }
        if is_timeout(status, code) {
            self.timeouts += 1;
        }
        if let Some(why) = judge(case, answer) {
            self.findings.push(Finding {
                origin,
                kind: case.kind,
                endpoint: case.endpoint,
                case: clip(&case.describe(), 64 * 1024),
                why,
                status,
                body: clip(body, 4096),
            });
        }
    }

    pub fn merge(&mut self, other: Tally) {
        self.sent += other.sent;
        for (key, count) in other.by_status {
            *self.by_status.entry(key).or_default() += count;
        }
        for (key, count) in other.by_class {
            *self.by_class.entry(key).or_default() += count;
        }
        for (key, count) in other.by_code {
            *self.by_code.entry(key).or_default() += count;
        }
        for (key, count) in other.by_kind {
            *self.by_kind.entry(key).or_default() += count;
        }
        self.timeouts += other.timeouts;
        self.slowest_ms = self.slowest_ms.max(other.slowest_ms);
        self.findings.extend(other.findings);
    }

    /// The counts, one line each.
    pub fn summary(&self, seconds: f64) -> String {
        let mut out = String::new();
        let rate = self.sent as f64 / seconds.max(1e-9);
        let _ = writeln!(
            out,
            "queries sent: {} in {seconds:.1} s ({rate:.0}/s); slowest answer {} ms",
            self.sent, self.slowest_ms
        );
        let _ = writeln!(out, "by status class: {}", list(&self.by_class));
        let _ = writeln!(out, "by status: {}", list(&self.by_status));
        let _ = writeln!(out, "by error code: {}", list(&self.by_code));
        let _ = writeln!(out, "by generator: {}", list(&self.by_kind));
        let _ = writeln!(
            out,
            "timeouts (504, code 250 or 240): {}; findings: {}",
            self.timeouts,
            self.findings.len()
        );
        out
    }

    /// The findings grouped by why and the start of their message, with
    /// the shortest case of each group.
    pub fn findings_report(&self) -> String {
        let mut groups: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
        for finding in &self.findings {
            let message: String = finding
                .body
                .chars()
                .filter(|c| !c.is_ascii_digit())
                .take(120)
                .collect();
            groups
                .entry(format!("{} | {message}", finding.why))
                .or_default()
                .push(finding);
        }
        let mut out = String::new();
        for (key, members) in &groups {
            let shortest = members
                .iter()
                .min_by_key(|f| f.case.len())
                .expect("a group has members");
            let _ = writeln!(
                out,
                "== {} finding(s): {key}\n   shortest ({}, {} {}, {}):\n   {}\n   answer: {:?} {}\n",
                members.len(),
                shortest.origin,
                shortest.kind,
                shortest.endpoint.name(),
                shortest.why,
                clip(&shortest.case, 2000),
                shortest.status,
                clip(&shortest.body, 600),
            );
        }
        out
    }

    /// Every finding in full, for the findings file.
    pub fn findings_file(&self) -> String {
        let mut out = String::new();
        for finding in &self.findings {
            let _ = writeln!(
                out,
                "-- {} {} {} {}: {:?}\n-- answer: {}\n{}\n",
                finding.origin,
                finding.kind,
                finding.endpoint.name(),
                finding.why,
                finding.status,
                finding.body.replace('\n', " "),
                finding.case
            );
        }
        out
    }
}

fn list<K: std::fmt::Display>(map: &BTreeMap<K, u64>) -> String {
    let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    parts.join(", ")
}

/// At most `max` bytes of `text`, cut at a character boundary.
pub fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let cut = (0..=max)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}... ({} bytes)", &text[..cut], text.len())
}
