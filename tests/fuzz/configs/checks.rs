//! The config fuzzing's fixed checks: the seeds are valid, the corpus
//! replays, and the server restarts on what it accepted and lists it;
//! plus the small helpers the cases share.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use super::seeds;
use super::{Live, Run, BASE};
use crate::http::{short, Server};
use crate::mutate::Mutant;

impl Run {
    /// Every seed is valid as it is: otherwise the mutations start nowhere.
    pub(super) fn check_seeds(&mut self) {
        let expect_ok = |server: &Server, method: &str, path: &str, body: &Value| {
            let answer = server
                .call(method, path, Some(body.to_string().as_bytes()))
                .unwrap_or_else(|err| panic!("{err}"));
            assert!(answer.ok(), "seed {method} {path}: {}", answer.text);
            answer
        };
        expect_ok(&self.server, "POST", "/schemas", &seeds::schema(BASE));
        expect_ok(&self.server, "POST", "/tables", &seeds::offline_table(BASE));
        for table in seeds::tables("seedcheck") {
            expect_ok(
                &self.server,
                "POST",
                "/schemas",
                &seeds::schema("seedcheck"),
            );
            let answer = expect_ok(&self.server, "POST", "/tables/validate", &table);
            let warnings = answer.json()["unrecognizedProperties"].clone();
            assert_eq!(warnings, json!({}), "seed table has unknown keys");
        }
        expect_ok(
            &self.server,
            "POST",
            "/tableConfigs/validate",
            &seeds::table_configs("seedcheck"),
        );
        for (i, config) in seeds::connectors(BASE, &self.lake).into_iter().enumerate() {
            let body = json!({"name": format!("seedcheck{i}"), "config": config});
            expect_ok(&self.server, "POST", "/connectors", &body);
            let answer = self
                .server
                .call("DELETE", &format!("/connectors/seedcheck{i}"), None)
                .unwrap_or_else(|err| panic!("{err}"));
            assert!(answer.ok(), "{}", answer.text);
        }
        let answer = self
            .server
            .call("DELETE", "/schemas/seedcheck", None)
            .unwrap_or_else(|err| panic!("{err}"));
        assert!(answer.ok(), "{}", answer.text);
    }

    /// Replays `corpus/configs/*.json`: requests that once found a bug,
    /// in order, each judged as a mutated config is.
    pub(super) fn replay_corpus(&mut self) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus/configs");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
            .unwrap_or_default();
        files.sort();
        for file in files {
            let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap())
                .unwrap_or_else(|err| panic!("{}: {err}", file.display()));
            let name = file
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            for request in doc["requests"].as_array().into_iter().flatten() {
                let method = request["method"].as_str().unwrap_or("POST");
                let path = request["path"].as_str().unwrap_or("/");
                let bytes = match &request["body"] {
                    Value::Null => Vec::new(),
                    Value::String(text) => text.clone().into_bytes(),
                    body => body.to_string().into_bytes(),
                };
                let mutant = Mutant {
                    bytes,
                    steps: vec![format!("corpus file {name}")],
                };
                self.send(u64::MAX, method, path, &mutant);
            }
            // A consumer thread fails after the answer, if it fails.
            std::thread::sleep(Duration::from_millis(500));
            for panic in self.server.panics() {
                self.findings.add(
                    &self.budget,
                    u64::MAX,
                    format!("corpus file {name}: the server logged a panic: {panic}"),
                );
            }
        }
    }

    /// Stops the server, starts it again on the same data directory, and
    /// checks it lists everything still live.
    pub(super) fn restart_and_list(&mut self) {
        let last = u64::MAX;
        if let Err(problem) = self.server.stop() {
            self.findings
                .add(&self.budget, last, format!("shutdown: {problem}"));
            return;
        }
        self.server = Server::start(&self.server.data_dir.clone());
        std::thread::sleep(Duration::from_millis(500));
        if !self.server.alive() {
            self.findings
                .add(&self.budget, last, "the server died after the restart");
            return;
        }
        let listed = |run: &mut Run, path: &str| -> String {
            run.plain(last, "GET", path, None)
                .map(|answer| answer.text)
                .unwrap_or_default()
        };
        let schemas = listed(self, "/schemas");
        let tables = listed(self, "/tableConfigs");
        let connectors = listed(self, "/connectors");
        for live in self.live.clone() {
            let (list, name) = match &live {
                Live::Schema(name) => (&schemas, name),
                Live::Tables(name) => (&tables, name),
                Live::Connector(name) => (&connectors, name),
            };
            let quoted = Value::String(name.clone()).to_string();
            if !list.contains(&quoted) {
                self.findings.add(
                    &self.budget,
                    last,
                    format!("{live:?} was accepted but is not listed after a restart"),
                );
            }
        }
    }

    pub(super) fn status_table(&self) -> String {
        let mut out = String::new();
        for (took, endpoint, steps) in &self.slowest {
            out.push_str(&format!(
                "  slow: {:.2} s {endpoint}: {}\n",
                took.as_secs_f64(),
                short(steps)
            ));
        }
        for (endpoint, statuses) in &self.statuses {
            let counts: Vec<String> = statuses
                .iter()
                .map(|(status, count)| format!("{status}: {count}"))
                .collect();
            out.push_str(&format!("  {endpoint:<34} {}\n", counts.join(", ")));
        }
        out
    }
}

/// `/tables/x/metadata` → `/tables/{name}/metadata`, for the status table.
pub fn path_kind(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let parts: Vec<&str> = path.split('/').collect();
    let named: Vec<&str> = parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            if i == 2 && *part != "validate" {
                "{name}"
            } else {
                part
            }
        })
        .collect();
    named.join("/")
}

/// The string at `pointer` of the mutant, or "" when it has none.
pub fn text_at(mutant: &Mutant, pointer: &str) -> String {
    mutant
        .json()
        .and_then(|doc| {
            doc.pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default()
}

/// `t_OFFLINE` → `t`.
pub fn raw_name(name: &str) -> String {
    let raw = name
        .strip_suffix("_OFFLINE")
        .or_else(|| name.strip_suffix("_REALTIME"))
        .unwrap_or(name);
    raw.to_string()
}

/// Whether `path` (a `file://` store's path) lies under `root`, `..` resolved.
pub fn confined(path: &str, root: &str) -> bool {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let resolved = format!("/{}", parts.join("/"));
    resolved == root || resolved.starts_with(&format!("{root}/"))
}
