//! A grammar-based SQL fuzzing campaign against the real `gamay serve`
//! process over HTTP: the kit's `stock_transactions` rows in two tables
//! and a small table of other column types (`tests/fuzz_sql/tables.rs`), then
//! the regression corpus, then random cases (`tests/fuzz_sql/`) from several
//! clients until the time budget or the query count is spent. The server must stay up, never answer 5xx (but for a
//! query stopped at its own `timeoutMs`), answer every error in Pinot's
//! shape, and answer each request within a bound.
//!
//! Environment:
//! - `GAMAY_FUZZ_SECONDS`: seconds of sending (default 30);
//! - `GAMAY_FUZZ_QUERIES`: stop after this many random cases instead
//!   (with `GAMAY_FUZZ_SECONDS` too, whichever comes first);
//! - `GAMAY_FUZZ_SEED`: the seed (default: from the clock; always printed);
//! - `GAMAY_FUZZ_CLIENTS`: concurrent clients (default 2);
//! - `GAMAY_FUZZ_FINDINGS`: where to write the findings (default: the
//!   target's temporary directory);
//! - `GAMAY_FUZZ_LOG`: a file to write every case and its answer's status
//!   and first message to, one line each (to see what the grammar reaches).
//!
//! Every query carries `timeoutMs=5000` unless it sets its own, and the
//! server runs with `--max-query-memory-bytes` 256 MiB, so a heavy query
//! is refused or stopped rather than slowing the run.

#[path = "fuzz_sql/mod.rs"]
mod fuzz;
#[path = "process/mod.rs"]
mod process;

use std::io::{Read, Write};
use std::process::Child;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use fuzz::oracle::{Answer, Tally};
use fuzz::{Case, Dice, Endpoint, Payload};

const REGRESSIONS: &str = include_str!("fuzz_sql/regressions.sql");

/// The timeout every query gets unless it sets its own: long enough for
/// any generated query in a debug build, short enough to keep a run moving.
const DEFAULT_OPTIONS: &str = "timeoutMs=5000";
/// The most a request may take before it counts as unanswered: far past
/// any query's timeout, so only a hang reaches it.
const ANSWER_BOUND: Duration = Duration::from_secs(60);

struct Settings {
    seconds: Option<f64>,
    queries: Option<u64>,
    seed: u64,
    clients: usize,
    log: Option<Mutex<std::fs::File>>,
}

impl Settings {
    fn from_env() -> Settings {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let number = |name: &str| {
            var(name).map(|v| {
                v.trim()
                    .parse::<f64>()
                    .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
            })
        };
        let queries = number("GAMAY_FUZZ_QUERIES").map(|n| n as u64);
        let seconds = match (number("GAMAY_FUZZ_SECONDS"), queries) {
            (Some(seconds), _) => Some(seconds),
            (None, Some(_)) => None,
            (None, None) => Some(30.0),
        };
        let seed = match var("GAMAY_FUZZ_SEED") {
            Some(seed) => seed.trim().parse().expect("GAMAY_FUZZ_SEED is a number"),
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64),
        };
        let clients = number("GAMAY_FUZZ_CLIENTS").map_or(2, |n| (n as usize).max(1));
        let log = var("GAMAY_FUZZ_LOG").map(|path| {
            Mutex::new(std::fs::File::create(path).expect("GAMAY_FUZZ_LOG is writable"))
        });
        Settings {
            seconds,
            queries,
            seed,
            clients,
            log,
        }
    }
}

struct Server {
    child: Mutex<Child>,
    url: String,
}

impl Server {
    fn alive(&self) -> bool {
        let mut child = self.child.lock().unwrap();
        matches!(child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let mut child = self.child.lock().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(ANSWER_BOUND).build()
}

/// The answer to `case`, whatever it is.
fn send(agent: &ureq::Agent, url: &str, case: &Case) -> Answer {
    let post = |path: &str, body: &[u8]| {
        let response = agent
            .post(&format!("{url}{path}"))
            .set("Content-Type", "application/json")
            .send_bytes(body);
        answer(response)
    };
    match (&case.payload, case.endpoint) {
        (Payload::Sql { sql, options }, Endpoint::GetSql) => answer(
            agent
                .get(&format!("{url}/query/sql"))
                .query("sql", sql)
                .query("queryOptions", &options_string(options.as_ref()))
                .call(),
        ),
        (Payload::Sql { sql, options }, endpoint) => {
            let path = if endpoint == Endpoint::PostQuery {
                "/query"
            } else {
                "/query/sql"
            };
            let body = json!({ "sql": sql, "queryOptions": with_default(options.as_ref()) });
            post(path, body.to_string().as_bytes())
        }
        (Payload::Raw(bytes), Endpoint::PostQuery) => post("/query", bytes),
        (Payload::Raw(bytes), _) => post("/query/sql", bytes),
        (Payload::Path(path), _) => answer(agent.get(&format!("{url}{path}")).call()),
    }
}

fn answer(response: Result<ureq::Response, ureq::Error>) -> Answer {
    let response = match response {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(ureq::Error::Transport(error)) => return Answer::Failed(error.to_string()),
    };
    let status = response.status();
    let mut bytes = Vec::new();
    match response.into_reader().read_to_end(&mut bytes) {
        Ok(_) => Answer::Http {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        },
        Err(error) => Answer::Failed(format!("reading the {status} answer: {error}")),
    }
}

/// The request's `queryOptions`, with the run's timeout unless it sets one.
fn with_default(options: Option<&Value>) -> Value {
    match options {
        None => Value::String(DEFAULT_OPTIONS.into()),
        Some(Value::String(text)) => Value::String(format!("{DEFAULT_OPTIONS};{text}")),
        Some(Value::Object(map)) => {
            let mut map = map.clone();
            map.entry("timeoutMs").or_insert(json!(5000));
            Value::Object(map)
        }
        Some(other) => other.clone(),
    }
}

fn options_string(options: Option<&Value>) -> String {
    match with_default(options) {
        Value::String(text) => text,
        Value::Object(map) => {
            let pairs: Vec<String> = map
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect();
            pairs.join(";")
        }
        other => other.to_string(),
    }
}

/// Sends random cases from one client until the budget is spent.
fn client(
    server: &Server,
    settings: &Settings,
    index: usize,
    started: Instant,
    sent: &AtomicU64,
    stop: &AtomicBool,
) -> Tally {
    let agent = agent();
    let mut tally = Tally::default();
    // Each client's cases follow from the seed and its index alone.
    let mut dice = Dice::new(settings.seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    for number in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if settings
            .seconds
            .is_some_and(|s| started.elapsed().as_secs_f64() >= s)
        {
            break;
        }
        let total = sent.fetch_add(1, Ordering::Relaxed) + 1;
        if settings.queries.is_some_and(|q| total > q) {
            break;
        }
        if total.is_multiple_of(10_000) {
            eprintln!(
                "fuzz: {total} cases in {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
        let case = fuzz::next_case(&mut dice);
        let asked = Instant::now();
        let answer = send(&agent, &server.url, &case);
        let millis = asked.elapsed().as_millis() as u64;
        let origin = format!("seed {} client {index} case {number}", settings.seed);
        if let Some(log) = &settings.log {
            let line = log_line(&case, &answer);
            let _ = log.lock().unwrap().write_all(line.as_bytes());
        }
        let failed = matches!(answer, Answer::Failed(_));
        tally.record(origin, &case, &answer, millis);
        if failed && !server.alive() {
            eprintln!(
                "fuzz: the server died; the last case was:\n{}",
                case.describe()
            );
            stop.store(true, Ordering::Relaxed);
        }
    }
    tally
}

/// `status code kind | message | case`, clipped, on one line.
fn log_line(case: &Case, answer: &Answer) -> String {
    let (status, message) = match answer {
        Answer::Http { status, body } => {
            let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
            let message = json["exceptions"][0]["message"]
                .as_str()
                .or(json["error"].as_str())
                .unwrap_or("")
                .to_string();
            (status.to_string(), message)
        }
        Answer::Failed(error) => ("none".to_string(), error.clone()),
    };
    let code = fuzz::oracle::error_code(answer).unwrap_or(0);
    let flat = |text: &str, max: usize| fuzz::oracle::clip(text, max).replace('\n', " ");
    format!(
        "{status} {code} {} | {} | {}\n",
        case.kind,
        flat(&message, 200),
        flat(&case.describe(), 400)
    )
}

#[test]
fn fuzzed_sql_never_crashes_the_server_or_answers_5xx() {
    let settings = Settings::from_env();
    eprintln!(
        "fuzz: seed {} (GAMAY_FUZZ_SEED={} replays it), {} client(s), budget {}",
        settings.seed,
        settings.seed,
        settings.clients,
        match (settings.seconds, settings.queries) {
            (Some(s), Some(q)) => format!("{s} s or {q} cases"),
            (Some(s), None) => format!("{s} s"),
            (None, Some(q)) => format!("{q} cases"),
            (None, None) => unreachable!("a budget is always set"),
        }
    );
    let dir = tempfile::tempdir().unwrap();
    let (child, url) = process::serve(
        &dir.path().join("data"),
        "127.0.0.1:0",
        &["--max-query-memory-bytes", "268435456"],
    );
    let server = Server {
        child: Mutex::new(child),
        url,
    };
    let agent = agent();
    fuzz::tables::load_all(&agent, &server.url, dir.path());

    let mut tally = Tally::default();
    let regressions = fuzz::corpus::parse(REGRESSIONS).expect("regressions.sql parses");
    for (line, case) in &regressions {
        let asked = Instant::now();
        let answer = send(&agent, &server.url, case);
        let origin = format!("regressions.sql line {line}");
        tally.record(origin, case, &answer, asked.elapsed().as_millis() as u64);
    }
    assert!(
        server.alive(),
        "the server died replaying the regression corpus"
    );
    eprintln!("fuzz: {} regression cases replayed", regressions.len());

    let started = Instant::now();
    let sent = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..settings.clients)
            .map(|index| {
                let (server, settings, sent, stop) = (&server, &settings, &sent, &stop);
                scope.spawn(move || client(server, settings, index, started, sent, stop))
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    for other in tallies {
        tally.merge(other);
    }
    let alive = server.alive()
        && agent
            .get(&format!("{}/health", server.url))
            .call()
            .is_ok_and(|r| r.status() == 200);

    eprintln!("fuzz: seed {}\n{}", settings.seed, tally.summary(seconds));
    if !tally.findings.is_empty() {
        let path = std::env::var("GAMAY_FUZZ_FINDINGS").unwrap_or_else(|_| {
            format!(
                "{}/fuzz-findings-{}.sql",
                env!("CARGO_TARGET_TMPDIR"),
                settings.seed
            )
        });
        std::fs::write(&path, tally.findings_file()).unwrap();
        eprintln!("{}", tally.findings_report());
        eprintln!("fuzz: every finding is in {path}");
    }
    assert!(alive, "the server is not up after the run");
    assert!(
        tally.findings.is_empty(),
        "{} finding(s) with seed {}; see above",
        tally.findings.len(),
        settings.seed
    );
}
