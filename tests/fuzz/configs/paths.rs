//! Odd names in the paths and query strings of the endpoints that name a
//! resource (GET, DELETE, pause, resume, force commit, restart): unknown,
//! empty, very long, non-ASCII, path-like, and the names of live configs.
//! These are not configs and are not counted as such; the oracle is the
//! same (no 5xx, a 4xx says why, no panic).

use rand::rngs::StdRng;
use rand::Rng;

use super::{Live, Run};
use crate::http::{judge, segment};
use crate::odd::{long_string, ODD_STRINGS};

/// `(method, path with {} for each name, may it change a live config)`.
const ENDPOINTS: &[(&str, &str, bool)] = &[
    ("GET", "/schemas/{}", false),
    ("DELETE", "/schemas/{}", true),
    ("GET", "/tables/{}", false),
    ("GET", "/tables/{}?type={}", false),
    ("DELETE", "/tables/{}?type={}", true),
    ("GET", "/tables/{}/metadata", false),
    ("GET", "/tables/{}/consumingSegmentsInfo", false),
    ("GET", "/tables/{}/ingestionStatus", false),
    ("GET", "/tables/{}/pauseStatus", false),
    ("POST", "/tables/{}/pauseConsumption", false),
    ("POST", "/tables/{}/resumeConsumption?consumeFrom={}", false),
    ("POST", "/tables/{}/forceCommit", false),
    ("GET", "/tables/forceCommitStatus/{}", false),
    ("GET", "/tableConfigs/{}", false),
    ("DELETE", "/tableConfigs/{}", true),
    ("GET", "/segments/{}", false),
    ("GET", "/segments/{}/{}/metadata", false),
    ("DELETE", "/segments/{}/{}", true),
    ("GET", "/connectors/{}", false),
    ("GET", "/connectors/{}/config", false),
    ("GET", "/connectors/{}/status", false),
    ("PUT", "/connectors/{}/pause", false),
    ("PUT", "/connectors/{}/resume", false),
    ("POST", "/connectors/{}/restart", false),
    ("DELETE", "/connectors/{}", true),
    ("GET", "/connectors?expand={}", false),
    ("POST", "/schemas?override={}&force={}", false),
];

impl Run {
    pub(super) fn path_case(&mut self, case: u64, rng: &mut StdRng) {
        let (method, template, changes) = ENDPOINTS[rng.random_range(0..ENDPOINTS.len())];
        let live: Vec<String> = self
            .live
            .iter()
            .map(|live| match live {
                Live::Schema(name) | Live::Tables(name) | Live::Connector(name) => name.clone(),
            })
            .collect();
        let mut path = String::new();
        let mut rest = template;
        while let Some((before, after)) = rest.split_once("{}") {
            path.push_str(before);
            // A live name only where nothing is changed: the end of the run
            // checks the live configs are still there.
            let name = match rng.random_range(0..4) {
                0 if !changes && !live.is_empty() => live[rng.random_range(0..live.len())].clone(),
                1 => {
                    let chars = rng.random_range(1..8192);
                    long_string(rng).chars().take(chars).collect()
                }
                _ => ODD_STRINGS[rng.random_range(0..ODD_STRINGS.len())].to_string(),
            };
            path.push_str(&segment(&name));
            rest = after;
        }
        path.push_str(rest);
        let body: Option<&[u8]> =
            (method == "POST" && template.starts_with("/schemas")).then_some(b"{}");
        let endpoint = format!(
            "{method} {} (odd names)",
            template.split('?').next().unwrap_or(template)
        );
        match self.server.call(method, &path, body) {
            Ok(answer) => {
                *self
                    .statuses
                    .entry(endpoint)
                    .or_default()
                    .entry(answer.status)
                    .or_default() += 1;
                let secret = self.server.data_dir.display().to_string();
                if let Some(problem) = judge(&answer, &secret) {
                    let shown: String = path.chars().take(200).collect();
                    self.findings
                        .add(&self.budget, case, format!("{method} {shown} {problem}"));
                }
            }
            Err(err) => self.findings.add(&self.budget, case, err),
        }
    }
}
