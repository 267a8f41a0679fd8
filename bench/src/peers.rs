//! The peers in the same run: the peer kit's `peers.py` (DuckDB, chDB,
//! DataFusion in-process, Gamay over HTTP through the same harness) on the
//! same Parquet file, the ratios of their times to Gamay's, and DuckDB's
//! answers to the same queries through the same harness (`answers.py`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use super::BenchError;

/// The kit's harness, bundled so the benchmark runs from a clean clone.
pub const PEERS_PY: &str = include_str!("../../benches/data/peers.py");
/// Prints DuckDB's answers through the kit's harness.
pub const ANSWERS_PY: &str = include_str!("answers.py");

/// Median milliseconds per query and engine, as `peers.py` prints them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PeerTimes {
    /// `gamay` first, then the peers.
    pub engines: Vec<String>,
    /// Query name and one time per engine (`None` where it failed).
    pub queries: Vec<(String, Vec<Option<f64>>)>,
}

/// One query's comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ratio {
    pub query: String,
    pub gamay_ms: f64,
    pub fastest_peer: String,
    pub fastest_peer_ms: f64,
    /// Fastest peer's time ÷ Gamay's: above 1, Gamay is faster.
    pub ratio: f64,
}

/// Parses `peers.py`'s CSV: a `query,engine,...` header, then one line a query.
pub fn parse(output: &str) -> Result<PeerTimes, BenchError> {
    let mut lines = output.lines().filter(|line| !line.trim().is_empty());
    let header = lines
        .next()
        .ok_or_else(|| BenchError::Peers("peers.py printed nothing".into()))?;
    let mut columns = header.split(',');
    if columns.next() != Some("query") {
        return Err(BenchError::Peers(format!(
            "peers.py printed `{header}` where a `query,<engines>` header belongs"
        )));
    }
    let engines: Vec<String> = columns.map(str::to_string).collect();
    let queries = lines
        .map(|line| {
            let mut cells = line.split(',');
            let name = cells.next().unwrap_or_default().to_string();
            let times: Vec<Option<f64>> = cells.map(|cell| cell.trim().parse().ok()).collect();
            if times.len() != engines.len() {
                return Err(BenchError::Peers(format!(
                    "peers.py line `{line}` has {} times for {} engines",
                    times.len(),
                    engines.len()
                )));
            }
            Ok((name, times))
        })
        .collect::<Result<_, _>>()?;
    Ok(PeerTimes { engines, queries })
}

impl PeerTimes {
    /// Per query: Gamay against the fastest peer that answered.
    pub fn ratios(&self) -> Vec<Ratio> {
        let Some(gamay) = self.engines.iter().position(|e| e == "gamay") else {
            return Vec::new();
        };
        self.queries
            .iter()
            .filter_map(|(query, times)| {
                let gamay_ms = times[gamay]?;
                let (peer, peer_ms) = times
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != gamay)
                    .filter_map(|(i, time)| Some((i, (*time)?)))
                    .min_by(|a, b| a.1.total_cmp(&b.1))?;
                Some(Ratio {
                    query: query.clone(),
                    gamay_ms,
                    fastest_peer: self.engines[peer].clone(),
                    fastest_peer_ms: peer_ms,
                    // peers.py prints one decimal: 0.0 ms reads as 0.05.
                    ratio: peer_ms.max(0.05) / gamay_ms.max(0.05),
                })
            })
            .collect()
    }
}

/// How long `peers.py` may run: a 10M-row run takes about a minute, so
/// this only stops one that hangs.
const PEERS_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Waits for `child`, reading its output as it comes (so a full pipe never
/// blocks it), and kills it after `timeout`.
fn wait_with_timeout(mut child: Child, timeout: Duration) -> Result<Output, String> {
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "still running after {} minutes; stopped",
                    timeout.as_secs() / 60
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(err) => return Err(format!("cannot wait for it: {err}")),
        }
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// The harness to run: `kit`'s `peers.py`, or the bundled copy written to
/// `scratch`.
pub fn harness(kit: Option<&Path>, scratch: &Path) -> Result<PathBuf, BenchError> {
    match kit {
        Some(kit) => Ok(kit.join("peers.py")),
        None => {
            let path = scratch.join("gamay-bench-peers.py");
            std::fs::write(&path, PEERS_PY).map_err(|err| BenchError::io(&path, err))?;
            Ok(path)
        }
    }
}

/// Runs `peers.py` (`script`) with `python` on `parquet` against the server
/// at `url`; `queries` is the SQL file to run.
pub fn run(
    python: &str,
    script: &Path,
    parquet: &Path,
    queries: &Path,
    engines: &[String],
    url: &str,
) -> Result<PeerTimes, BenchError> {
    let mut all = vec!["gamay".to_string()];
    all.extend(engines.iter().filter(|e| *e != "gamay").cloned());
    let child = Command::new(python)
        .arg(script)
        .arg(parquet)
        .arg("--engines")
        .arg(all.join(","))
        .arg("--queries")
        .arg(queries)
        .env("GAMAY_URL", url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| {
            BenchError::Peers(format!(
                "cannot run `{python}` (set --python to a Python with duckdb, chdb, datafusion and pyarrow): {err}"
            ))
        })?;
    let output = wait_with_timeout(child, PEERS_TIMEOUT)
        .map_err(|err| BenchError::Peers(format!("{python} {}: {err}", script.display())))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    for line in stderr.lines().filter(|line| line.starts_with('#')) {
        super::step(format!("peers: {}", line.trim_start_matches("# ")));
    }
    if !output.status.success() {
        let last = stderr.lines().rev().find(|line| !line.trim().is_empty());
        return Err(BenchError::Peers(format!(
            "{} {} failed ({}): {}",
            python,
            script.display(),
            output.status,
            last.unwrap_or("no message")
        )));
    }
    let times = parse(&String::from_utf8_lossy(&output.stdout))?;
    let gamay = times
        .engines
        .iter()
        .position(|e| e == "gamay")
        .ok_or_else(|| {
            BenchError::Peers(format!("{} printed no gamay column", script.display()))
        })?;
    if let Some((query, _)) = times.queries.iter().find(|(_, t)| t[gamay].is_none()) {
        let reason = stderr
            .lines()
            .find(|line| line.contains("gamay") && line.contains(query.as_str()));
        return Err(BenchError::Peers(format!(
            "Gamay failed {query} under peers.py: {}",
            reason.unwrap_or("see its output")
        )));
    }
    Ok(times)
}

/// DuckDB's answer to each query of `queries`, in order, through the
/// harness `script` (`answers.py` is written to `scratch`): the rows, or
/// why DuckDB could not answer.
pub fn duckdb_answers(
    python: &str,
    script: &Path,
    scratch: &Path,
    parquet: &Path,
    queries: &Path,
) -> Result<Vec<Result<Vec<Value>, String>>, BenchError> {
    let answers = scratch.join("gamay-bench-answers.py");
    std::fs::write(&answers, ANSWERS_PY).map_err(|err| BenchError::io(&answers, err))?;
    let child = Command::new(python)
        .arg(&answers)
        .arg(script)
        .arg(parquet)
        .arg(queries)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| {
            BenchError::Peers(format!(
                "cannot run `{python}` (set --python to a Python with duckdb): {err}"
            ))
        })?;
    let output = wait_with_timeout(child, PEERS_TIMEOUT)
        .map_err(|err| BenchError::Peers(format!("{python} {}: {err}", answers.display())))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|line| !line.trim().is_empty());
        return Err(BenchError::Peers(format!(
            "{python} {} failed ({}): {}",
            answers.display(),
            output.status,
            last.unwrap_or("no message")
        )));
    }
    parse_answers(&String::from_utf8_lossy(&output.stdout))
}

/// Parses `answers.py`'s lines: `{"rows": [...]}` or `{"error": "..."}`.
pub fn parse_answers(output: &str) -> Result<Vec<Result<Vec<Value>, String>>, BenchError> {
    output
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .map_err(|err| BenchError::Peers(format!("answers.py printed `{line}`: {err}")))?;
            match (&value["rows"], &value["error"]) {
                (Value::Array(rows), _) => Ok(Ok(rows.clone())),
                (_, Value::String(error)) => Ok(Err(error.clone())),
                _ => Err(BenchError::Peers(format!(
                    "answers.py printed `{line}`, neither rows nor an error"
                ))),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_is_read_whole_or_stopped_at_its_deadline() {
        let spawn = |script: &str| {
            Command::new("sh")
                .args(["-c", script])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        // More than a pipe holds, on both streams, so a reader that waited
        // for the exit first would never see it.
        let big = "head -c 200000 /dev/zero; head -c 100000 /dev/zero >&2";
        let output = wait_with_timeout(spawn(big), Duration::from_secs(30)).unwrap();
        assert!(output.status.success());
        assert_eq!(
            (output.stdout.len(), output.stderr.len()),
            (200_000, 100_000)
        );
        let err = wait_with_timeout(spawn("sleep 30"), Duration::from_millis(200)).unwrap_err();
        assert!(err.contains("stopped"), "{err}");
    }

    #[test]
    fn parses_and_compares() {
        let times =
            parse("query,gamay,duckdb,chdb\nq1,0.5,0.3,0.8\nq2,10.2,49.2,ERR\nq3,0.0,7.5,36.0\n")
                .unwrap();
        assert_eq!(times.engines, ["gamay", "duckdb", "chdb"]);
        assert_eq!(times.queries[1].1, [Some(10.2), Some(49.2), None]);
        let ratios = times.ratios();
        assert_eq!(ratios.len(), 3);
        assert_eq!(ratios[0].fastest_peer, "duckdb");
        assert!((ratios[0].ratio - 0.6).abs() < 1e-9);
        assert!((ratios[1].ratio - 49.2 / 10.2).abs() < 1e-9);
        assert!((ratios[2].ratio - 7.5 / 0.05).abs() < 1e-9);
    }

    #[test]
    fn refuses_what_is_not_its_output() {
        assert!(parse("").is_err());
        assert!(parse("engine,gamay\nq1,1\n").is_err());
        assert!(parse("query,gamay,duckdb\nq1,1\n").is_err());
    }

    #[test]
    fn reads_duckdbs_answers() {
        let answers =
            parse_answers("{\"rows\": [[1, \"a\"]]}\n{\"error\": \"Parser Error\"}\n").unwrap();
        assert_eq!(
            answers,
            [
                Ok(vec![serde_json::json!([1, "a"])]),
                Err("Parser Error".into())
            ]
        );
        assert!(parse_answers("not json\n").is_err());
        assert!(parse_answers("{\"rows\": 3}\n").is_err());
    }

    #[test]
    fn the_bundled_harness_is_the_kits() {
        assert!(PEERS_PY.contains("def load_queries"));
        assert!(PEERS_PY.contains("GAMAY_URL"));
        assert!(PEERS_PY.contains("\"datafusion-mem\": df_mem"));
    }
}
