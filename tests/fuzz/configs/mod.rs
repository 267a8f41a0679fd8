//! Mutated schemas, table configs, `/tableConfigs` documents and connector
//! configs sent to the real `gamay serve` process, on every endpoint that
//! takes them (POST, PUT, validate).
//!
//! The oracle, per request: the process stays up, nothing answers 5xx, a
//! refusal names the problem in the API's error shape. What is accepted
//! must read back (GET), a table must answer a query, and a connector with
//! a `file://` store must write under the data directory. Accepted configs
//! are kept (the oldest deleted past a few dozen, so consumers and
//! connectors stay few); at the end the server is stopped with SIGTERM,
//! restarted on the same data directory, and must list every one of them.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

mod checks;
mod paths;
mod seeds;

use super::budget::{Budget, Findings};
use super::http::{judge, segment, short, Answer, Server};
use super::mutate::{Mutant, Mutator};
use checks::{confined, path_kind, raw_name, text_at};

/// Accepted configs kept at once; older ones are deleted.
const LIVE: usize = 24;
/// The OFFLINE table connectors export.
const BASE: &str = "fuzzbase";

#[derive(Clone, Debug)]
enum Live {
    Schema(String),
    /// A schema and its tables, by raw name.
    Tables(String),
    Connector(String),
}

struct Run {
    server: Server,
    budget: Budget,
    findings: Findings,
    schemas: Mutator,
    tables: Mutator,
    envelopes: Mutator,
    connectors: Mutator,
    lake: String,
    /// Per endpoint, the statuses of answers to mutated configs.
    statuses: BTreeMap<String, BTreeMap<u16, u64>>,
    mutated: u64,
    accepted: u64,
    /// The slowest answers to mutated configs: time, endpoint, mutations.
    slowest: Vec<(Duration, String, String)>,
    /// `GAMAY_FUZZ_LOG`: every mutated request and its answer, one a line.
    log: Option<std::fs::File>,
    live: VecDeque<Live>,
}

pub fn run(data_dir: &Path, ci_cases: u64) {
    let cluster = crate::kafka::cluster("fuzz-topic", 2);
    seeds::use_brokers(&cluster.bootstrap_servers());
    let server = Server::start(data_dir);
    let lake = data_dir.join("lake").display().to_string();
    let mut run = Run {
        budget: Budget::from_env("configs", ci_cases),
        findings: Findings::default(),
        schemas: Mutator::new(&[seeds::schema("s")]),
        tables: Mutator::new(&seeds::tables("t")),
        envelopes: Mutator::new(&[seeds::table_configs("e")]),
        connectors: Mutator::new(&seeds::connectors(BASE, &lake)),
        lake,
        statuses: BTreeMap::new(),
        mutated: 0,
        accepted: 0,
        slowest: Vec::new(),
        log: std::env::var_os("GAMAY_FUZZ_LOG").map(|path| {
            std::fs::File::create(&path).unwrap_or_else(|err| panic!("GAMAY_FUZZ_LOG: {err}"))
        }),
        live: VecDeque::new(),
        server,
    };
    run.check_seeds();
    run.replay_corpus();
    while let Some((case, mut rng)) = run.budget.next_case() {
        match rng.random_range(0..21) {
            0..=3 => run.schema_case(case, &mut rng),
            4..=10 => run.table_case(case, &mut rng),
            11..=13 => run.envelope_case(case, &mut rng),
            14..=19 => run.connector_case(case, &mut rng),
            // Not a config: odd names on the endpoints that take one.
            _ => run.path_case(case, &mut rng),
        }
        for panic in run.server.panics() {
            run.findings.add(
                &run.budget,
                case,
                format!("the server logged a panic: {panic}"),
            );
        }
        if !run.server.alive() {
            run.findings
                .add(&run.budget, case, "the server process died");
            break;
        }
        while run.live.len() > LIVE {
            let oldest = run.live.pop_front();
            if let Some(oldest) = oldest {
                run.delete(case, &oldest);
            }
        }
    }
    let cases = run.budget.elapsed();
    run.restart_and_list();
    for panic in run.server.panics() {
        run.findings.add(
            &run.budget,
            u64::MAX,
            format!("the server logged a panic: {panic}"),
        );
    }
    eprintln!(
        "fuzz configs: {} mutated configs in {:.1} s ({} accepted), {} finding(s); restart took {:.1} s\n{}",
        run.mutated,
        cases.as_secs_f64(),
        run.accepted,
        run.findings.len(),
        (run.budget.elapsed() - cases).as_secs_f64(),
        run.status_table()
    );
    run.findings.assert_none(&run.budget);
}

impl Run {
    /// Sends a mutated config and judges the answer; `None` when the
    /// request failed or the answer is a finding.
    fn send(&mut self, case: u64, method: &str, path: &str, mutant: &Mutant) -> Option<Answer> {
        // Corpus requests (case u64::MAX) are not mutants.
        if case != u64::MAX {
            self.mutated += 1;
        }
        let endpoint = format!("{method} {}", path_kind(path));
        let started = std::time::Instant::now();
        let answer = self.server.call(method, path, Some(&mutant.bytes));
        let took = started.elapsed();
        self.slowest
            .push((took, endpoint.clone(), mutant.steps.join("; ")));
        self.slowest.sort_by_key(|slow| std::cmp::Reverse(slow.0));
        self.slowest.truncate(5);
        let answer = match answer {
            Ok(answer) => answer,
            Err(err) => {
                self.findings.add(
                    &self.budget,
                    case,
                    format!("{endpoint}: {err}; mutations: {}", mutant.steps.join("; ")),
                );
                return None;
            }
        };
        if let Some(log) = &mut self.log {
            use std::io::Write;
            let _ = writeln!(
                log,
                "{}",
                json!({"case": case, "request": format!("{method} {path}"), "status": answer.status,
                       "millis": took.as_millis() as u64, "length": answer.text.len(),
                       "mutations": mutant.steps, "answer": short(&answer.text)})
            );
        }
        *self
            .statuses
            .entry(endpoint.clone())
            .or_default()
            .entry(answer.status)
            .or_default() += 1;
        // The data directory's path may come back only if the request sent it.
        let secret = self.server.data_dir.display().to_string();
        let sent = String::from_utf8_lossy(&mutant.bytes).contains(&secret);
        let secret = if sent { String::new() } else { secret };
        if let Some(problem) = judge(&answer, &secret) {
            self.findings.add(
                &self.budget,
                case,
                format!(
                    "{method} {path} {problem}\n  mutations: {}\n  body: {}",
                    mutant.steps.join("; "),
                    short(&mutant.text())
                ),
            );
            return None;
        }
        if answer.ok() {
            self.accepted += 1;
        }
        Some(answer)
    }

    /// A request that is not itself under test but must not fail.
    fn plain(
        &mut self,
        case: u64,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Option<Answer> {
        let bytes = body.map(|body| body.to_string().into_bytes());
        match self.server.call(method, path, bytes.as_deref()) {
            Ok(answer) if answer.status >= 500 => {
                self.findings.add(
                    &self.budget,
                    case,
                    format!(
                        "{method} {path} answered {}: {}",
                        answer.status,
                        short(&answer.text)
                    ),
                );
                None
            }
            Ok(answer) => Some(answer),
            Err(err) => {
                self.findings.add(&self.budget, case, err);
                None
            }
        }
    }

    /// `GET path` of something just accepted must answer 200.
    fn reads_back(&mut self, case: u64, path: &str, mutant: &Mutant) {
        let Some(answer) = self.plain(case, "GET", path, None) else {
            return;
        };
        if answer.status != 200 {
            self.findings.add(
                &self.budget,
                case,
                format!(
                    "accepted, but GET {path} answered {}: {}\n  mutations: {}",
                    answer.status,
                    short(&answer.text),
                    mutant.steps.join("; ")
                ),
            );
        }
    }

    fn schema_case(&mut self, case: u64, rng: &mut StdRng) {
        let name = format!("fz{case}");
        let choice = rng.random_range(0..10);
        // PUT replaces a schema that has tables: evolution checks run.
        let target = match self.live.iter().find_map(|live| match live {
            Live::Tables(raw) => Some(raw.clone()),
            _ => None,
        }) {
            Some(raw) if choice >= 8 => Some(raw),
            _ => None,
        };
        let seed = seeds::schema(target.as_deref().unwrap_or(&name));
        let mutant = self.schemas.mutate(&seed, rng);
        let (method, path) = match (&target, choice) {
            (Some(raw), _) => ("PUT", format!("/schemas/{}", segment(raw))),
            (None, 0..=4) => ("POST", "/schemas".to_string()),
            (None, 5) => ("POST", "/schemas?override=false&force=true".to_string()),
            _ => ("POST", "/schemas/validate".to_string()),
        };
        let Some(answer) = self.send(case, method, &path, &mutant) else {
            return;
        };
        if !answer.ok() || path.ends_with("validate") {
            return;
        }
        let stored = match &target {
            Some(raw) => raw.clone(),
            None => text_at(&mutant, "/schemaName"),
        };
        self.reads_back(case, &format!("/schemas/{}", segment(&stored)), &mutant);
        if target.is_none()
            && !self
                .live
                .iter()
                .any(|live| matches!(live, Live::Tables(raw) | Live::Schema(raw) if *raw == stored))
        {
            self.live.push_back(Live::Schema(stored));
        }
    }

    fn table_case(&mut self, case: u64, rng: &mut StdRng) {
        let name = format!("fz{case}");
        let base = seeds::schema(&name);
        self.plain(case, "POST", "/schemas", Some(&base));
        let seeds = seeds::tables(&name);
        let seed = &seeds[rng.random_range(0..seeds.len())];
        let mutant = self.tables.mutate(seed, rng);
        let choice = rng.random_range(0..10);
        let (method, path) = match choice {
            0..=5 => ("POST", "/tables".to_string()),
            6 | 7 => ("POST", "/tables/validate".to_string()),
            _ => {
                let created = self.plain(case, "POST", "/tables", Some(seed));
                if !created.is_some_and(|answer| answer.ok()) {
                    self.findings
                        .add(&self.budget, case, "the unmutated seed table was refused");
                    return;
                }
                ("PUT", format!("/tables/{}", segment(&name)))
            }
        };
        let accepted = self
            .send(case, method, &path, &mutant)
            .is_some_and(|answer| answer.ok());
        let validate = path.ends_with("validate");
        if validate || (method == "POST" && !accepted) {
            self.plain(
                case,
                "DELETE",
                &format!("/schemas/{}", segment(&name)),
                None,
            );
            return;
        }
        if accepted {
            let stored = raw_name(&text_at(&mutant, "/tableName"));
            self.reads_back(case, &format!("/tables/{}", segment(&stored)), &mutant);
            self.queries(case, &stored, &mutant);
        }
        self.live.push_back(Live::Tables(name));
    }

    /// A query over an accepted table answers: 200, or 429 when its quota
    /// is spent.
    fn queries(&mut self, case: u64, name: &str, mutant: &Mutant) {
        for sql in [
            format!("SELECT COUNT(*) FROM {name}"),
            format!("SELECT * FROM {name} LIMIT 5"),
        ] {
            let body = json!({ "sql": sql });
            if let Some(answer) = self.plain(case, "POST", "/query/sql", Some(&body)) {
                // A quota may be tiny and still valid (Pinot's rule: above 0).
                if answer.status != 200 && answer.status != 429 {
                    self.findings.add(
                        &self.budget,
                        case,
                        format!(
                            "`{sql}` over an accepted table answered {}: {}\n  mutations: {}",
                            answer.status,
                            short(&answer.text),
                            mutant.steps.join("; ")
                        ),
                    );
                }
            }
        }
    }

    fn envelope_case(&mut self, case: u64, rng: &mut StdRng) {
        let name = format!("fz{case}");
        let mut seed = seeds::table_configs(&name);
        match rng.random_range(0..4) {
            0 => seed["realtime"] = seeds::partial_upsert_table(&name),
            1 => seed["realtime"] = seeds::dedup_table(&name),
            2 => {
                if let Some(map) = seed.as_object_mut() {
                    map.remove("offline");
                }
            }
            _ => {}
        }
        let mutant = self.envelopes.mutate(&seed, rng);
        let path = if rng.random_bool(0.7) {
            "/tableConfigs"
        } else {
            "/tableConfigs/validate"
        };
        let Some(answer) = self.send(case, "POST", path, &mutant) else {
            return;
        };
        if !answer.ok() || path.ends_with("validate") {
            return;
        }
        let stored = text_at(&mutant, "/tableName");
        self.reads_back(
            case,
            &format!("/tableConfigs/{}", segment(&stored)),
            &mutant,
        );
        self.queries(case, &stored, &mutant);
        self.live.push_back(Live::Tables(stored));
    }

    fn connector_case(&mut self, case: u64, rng: &mut StdRng) {
        let name = format!("fz{case}");
        let configs = seeds::connectors(BASE, &self.lake);
        let config = configs[rng.random_range(0..configs.len())].clone();
        let (method, path, mutant) = if rng.random_bool(0.7) {
            let body = json!({"name": name, "config": config});
            (
                "POST",
                "/connectors".to_string(),
                self.connectors.mutate(&body, rng),
            )
        } else {
            let path = format!("/connectors/{}/config", segment(&name));
            ("PUT", path, self.connectors.mutate(&config, rng))
        };
        let Some(answer) = self.send(case, method, &path, &mutant) else {
            return;
        };
        if !answer.ok() {
            return;
        }
        let stored = if method == "POST" {
            text_at(&mutant, "/name")
        } else {
            name
        };
        self.reads_back(
            case,
            &format!("/connectors/{}/status", segment(&stored)),
            &mutant,
        );
        let store = mutant
            .json()
            .and_then(|body| {
                let config = if method == "POST" {
                    body.get("config")?.clone()
                } else {
                    body
                };
                config.get("store.url")?.as_str().map(str::to_string)
            })
            .unwrap_or_default();
        if let Some(path) = store.trim().strip_prefix("file://") {
            if !confined(path, &self.lake) {
                self.findings.add(
                    &self.budget,
                    case,
                    format!(
                        "a connector writing to `{store}` (outside {}) was accepted\n  mutations: {}",
                        self.lake,
                        mutant.steps.join("; ")
                    ),
                );
            }
        }
        self.live.push_back(Live::Connector(stored));
    }

    fn delete(&mut self, case: u64, live: &Live) {
        let path = match live {
            Live::Schema(name) => format!("/schemas/{}", segment(name)),
            Live::Tables(name) => format!("/tableConfigs/{}", segment(name)),
            Live::Connector(name) => format!("/connectors/{}", segment(name)),
        };
        self.plain(case, "DELETE", &path, None);
    }
}
