//! The server under test: `gamay serve` started as a child process on a
//! fresh data directory, so its memory is measured apart from the
//! benchmark's clients, and a small blocking HTTP client for it.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::BenchError;

/// A running `gamay serve`; killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub url: String,
    pub data_dir: PathBuf,
}

impl ServerProcess {
    /// Starts `program serve` on `data_dir` and a free loopback port, and
    /// waits for it to listen. `data_dir` is emptied first if an earlier
    /// run made it (it holds [`MARKER`]); any other existing directory is
    /// refused rather than deleted.
    pub fn start(program: &Path, data_dir: &Path) -> Result<ServerProcess, BenchError> {
        ServerProcess::start_with(program, data_dir, &[], None)
    }

    /// [`ServerProcess::start`] with more arguments to `serve` (a cluster
    /// node's role, metastore and deep store) and its log written to `log`
    /// instead of this process's standard error.
    pub fn start_with(
        program: &Path,
        data_dir: &Path,
        extra: &[String],
        log: Option<&Path>,
    ) -> Result<ServerProcess, BenchError> {
        prepare_data_dir(data_dir)?;
        let stderr = match log {
            Some(path) => {
                Stdio::from(std::fs::File::create(path).map_err(|err| BenchError::io(path, err))?)
            }
            None => Stdio::inherit(),
        };
        let mut child = Command::new(program)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            // Without the result cache: every figure measures the engine
            // running each query, as the peers do, not answers kept from
            // the query's previous run.
            .args(["--result-cache-bytes", "0"])
            .args(extra)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or("warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|err| BenchError::io(program, err))?;
        let stdout = child.stdout.take().ok_or_else(|| {
            BenchError::Server("the server's standard output is not piped".into())
        })?;
        // Read the address on a thread, so a server that neither listens nor
        // exits cannot hang the bench.
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("gamay listening on ") {
                    let _ = sender.send(url.trim().to_string());
                    break;
                }
            }
            // Keep draining so the server never blocks on a full pipe.
            lines.for_each(drop);
        });
        let url = match receiver.recv_timeout(STARTUP) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                let shown = log.map_or_else(
                    || "above".to_string(),
                    |path| format!("in {}", path.display()),
                );
                return Err(BenchError::Server(format!(
                    "`{} serve` did not start listening within {} s ({status:?}); its log is {shown}",
                    program.display(),
                    STARTUP.as_secs()
                )));
            }
        };
        Ok(ServerProcess {
            child,
            url,
            data_dir: data_dir.to_path_buf(),
        })
    }

    /// Forgets the highest resident set size so far (Linux: `clear_refs`
    /// 5); false where the kernel refuses.
    pub fn reset_peak_memory(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5").is_ok()
    }

    /// Highest resident set size since the reset, in bytes; `None` when
    /// the reset was refused (the figure would be the peak since start).
    pub fn peak_memory(&self, reset: bool) -> Option<u64> {
        reset
            .then(|| status_kib(self.child.id(), "VmHWM:"))
            .flatten()
            .map(|kib| kib * 1024)
    }

    /// Resident set size now, in bytes.
    pub fn memory(&self) -> Option<u64> {
        status_kib(self.child.id(), "VmRSS:").map(|kib| kib * 1024)
    }

    /// Bytes under the data directory's `subdir`.
    pub fn disk_bytes(&self, subdir: &str) -> u64 {
        dir_bytes(&self.data_dir.join(subdir))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How long the server may take to listen.
const STARTUP: Duration = Duration::from_secs(60);
/// The file that marks a data directory as the bench's own to empty.
pub const MARKER: &str = ".gamay-bench";

pub(crate) fn prepare_data_dir(data_dir: &Path) -> Result<(), BenchError> {
    let io = |err| BenchError::io(data_dir, err);
    if data_dir.exists() {
        let empty = std::fs::read_dir(data_dir).map_err(io)?.next().is_none();
        if !empty && !data_dir.join(MARKER).exists() {
            return Err(BenchError::Usage(format!(
                "{} exists and was not made by gamay bench; choose another --out or remove it",
                data_dir.display()
            )));
        }
        std::fs::remove_dir_all(data_dir).map_err(io)?;
    }
    std::fs::create_dir_all(data_dir).map_err(io)?;
    std::fs::write(
        data_dir.join(MARKER),
        "made by gamay bench; emptied by its next run\n",
    )
    .map_err(io)
}

fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Total size of the files under `path`.
pub fn dir_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => dir_bytes(&entry.path()),
            _ => entry.metadata().map_or(0, |meta| meta.len()),
        })
        .sum()
}

/// One kept-alive HTTP connection to the server (a dashboard client's pool
/// of one).
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    url: String,
}

impl Client {
    pub fn new(url: &str) -> Client {
        Client {
            agent: ureq::AgentBuilder::new()
                .max_idle_connections_per_host(1)
                .timeout(Duration::from_secs(600))
                .build(),
            url: url.to_string(),
        }
    }

    /// POSTs JSON; a response that is not 2xx becomes an error naming it.
    pub fn post(&self, path: &str, body: &Value) -> Result<Value, BenchError> {
        let response = self
            .agent
            .post(&format!("{}{path}", self.url))
            .set("Content-Type", "application/json")
            .send_string(&body.to_string());
        read(path, response)
    }

    /// GETs JSON; a response that is not 2xx becomes an error naming it.
    pub fn get(&self, path: &str) -> Result<Value, BenchError> {
        let response = self.agent.get(&format!("{}{path}", self.url)).call();
        read(path, response)
    }

    /// POSTs a file's bytes as they are.
    pub fn post_file(&self, path: &str, file: &Path) -> Result<Value, BenchError> {
        let reader = std::fs::File::open(file).map_err(|err| BenchError::io(file, err))?;
        let response = self
            .agent
            .post(&format!("{}{path}", self.url))
            .set("Content-Type", "application/octet-stream")
            .send(reader);
        read(path, response)
    }

    /// Runs SQL; an answer carrying exceptions is an error naming them.
    pub fn query(&self, sql: &str) -> Result<Value, BenchError> {
        let response = self
            .agent
            .post(&format!("{}/query/sql", self.url))
            .set("Content-Type", "application/json")
            .send_string(&json!({ "sql": sql }).to_string());
        let body = match response {
            Err(ureq::Error::Status(_, response)) => response
                .into_string()
                .ok()
                .and_then(|text| serde_json::from_str::<Value>(&text).ok())
                .filter(|body| body.get("exceptions").is_some())
                .ok_or_else(|| BenchError::Server(format!("`{sql}` was refused")))?,
            other => read("/query/sql", other)?,
        };
        match body.get("exceptions").and_then(Value::as_array) {
            Some(exceptions) if !exceptions.is_empty() => Err(BenchError::Query {
                sql: sql.to_string(),
                message: exceptions
                    .iter()
                    .map(|e| {
                        e["message"]
                            .as_str()
                            .map_or_else(|| e.to_string(), str::to_string)
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            }),
            _ => Ok(body),
        }
    }

    /// Sends a query request (`sql` and `queryOptions`) and returns the
    /// first exception's Pinot error code, or `None` for an answer.
    pub fn error_code(&self, request: &Value) -> Result<Option<i64>, BenchError> {
        let response = self
            .agent
            .post(&format!("{}/query/sql", self.url))
            .set("Content-Type", "application/json")
            .send_string(&request.to_string());
        let body = match response {
            Ok(response) => response.into_string(),
            Err(ureq::Error::Status(_, response)) => response.into_string(),
            Err(err) => return Err(BenchError::Server(format!("/query/sql: {err}"))),
        }
        .map_err(|err| BenchError::Server(format!("/query/sql: {err}")))?;
        let body: Value = serde_json::from_str(&body)
            .map_err(|err| BenchError::Server(format!("/query/sql answered {body:?}: {err}")))?;
        Ok(body["exceptions"][0]["errorCode"].as_i64())
    }

    /// The first cell of a query's answer as a number; `None` when it is
    /// null or there is no row.
    pub fn scalar(&self, sql: &str) -> Result<Option<f64>, BenchError> {
        let body = self.query(sql)?;
        Ok(body["resultTable"]["rows"][0][0].as_f64())
    }

    /// Polls `sql` until its scalar reaches `target`; fails when it stops
    /// growing for `stall`.
    pub fn wait_for(&self, sql: &str, target: f64, stall: Duration) -> Result<(), BenchError> {
        let mut last = (f64::NEG_INFINITY, Instant::now());
        loop {
            let seen = self.scalar(sql)?.unwrap_or(0.0);
            if seen >= target {
                return Ok(());
            }
            if seen > last.0 {
                last = (seen, Instant::now());
            } else if last.1.elapsed() > stall {
                return Err(BenchError::Server(format!(
                    "`{sql}` has answered {seen} for {} s, waiting for {target}",
                    stall.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn read(path: &str, response: Result<ureq::Response, ureq::Error>) -> Result<Value, BenchError> {
    let text = |response: ureq::Response| {
        let mut text = String::new();
        response
            .into_reader()
            .take(64 << 20)
            .read_to_string(&mut text)
            .map(|_| text)
    };
    match response {
        Ok(response) => {
            let body = text(response).map_err(|err| BenchError::Server(err.to_string()))?;
            serde_json::from_str(&body).map_err(|err| {
                BenchError::Server(format!("{path} answered something not JSON: {err}"))
            })
        }
        Err(ureq::Error::Status(status, response)) => Err(BenchError::Server(format!(
            "{path} answered {status}: {}",
            text(response).unwrap_or_default()
        ))),
        Err(err) => Err(BenchError::Server(format!("{path}: {err}"))),
    }
}
