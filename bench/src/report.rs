//! What a benchmark run measured, as JSON (`report.json`) and as the
//! Markdown printed at the end and written to `report.md`.

use std::fmt::Write;
use std::path::Path;
use std::process::Command;

use serde::{Serialize, Serializer};

use super::answers::{self, Check};
use super::isolation::Isolation;
use super::kafka::{Freshness, KafkaIngest};
use super::load::{Concurrency, QueryLatency};
use super::peers::{PeerTimes, Ratio};
use super::upsert::UpsertBench;

/// The machine the run was on.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu: String,
    pub memory_bytes: u64,
    pub os: String,
    /// The server's version, as `gamay --version` prints it.
    pub gamay: String,
}

impl Machine {
    /// This machine, and the version of the `gamay` binary `program`.
    pub fn this(program: &Path) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
            .unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_bytes = meminfo
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map_or(0, |kib| kib * 1024);
        let os = std::fs::read_to_string("/etc/os-release")
            .unwrap_or_default()
            .lines()
            .find_map(|line| line.strip_prefix("PRETTY_NAME="))
            .map(|name| name.trim_matches('"').to_string())
            .unwrap_or_else(|| std::env::consts::OS.to_string());
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            memory_bytes,
            os,
            gamay: version(program).unwrap_or_else(|| "of unknown version".to_string()),
        }
    }
}

/// `gamay --version`'s version: `0.1.0` of `gamay 0.1.0`.
fn version(program: &Path) -> Option<String> {
    let output = Command::new(program).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text.trim().rsplit(' ').next()?.to_string();
    (output.status.success() && !version.is_empty()).then_some(version)
}

/// The rows benchmarked.
#[derive(Clone, Debug, Serialize)]
pub struct DataSet {
    /// Where they came from: generated (with the seed) or a file.
    pub source: String,
    pub rows: usize,
    pub parquet_bytes: u64,
}

/// Loading the Parquet file through `POST /ingestFromFile`.
#[derive(Clone, Debug, Serialize)]
pub struct BatchIngest {
    pub rows: usize,
    pub seconds: f64,
    pub rows_per_second: f64,
    pub segments: usize,
    /// Bytes of the table's segment files.
    pub segment_bytes: u64,
    pub bytes_per_row: f64,
    /// Segment bytes ÷ the zstd Parquet input.
    pub parquet_ratio: f64,
}

/// One mix of queries at each number of clients.
#[derive(Clone, Debug, Serialize)]
pub struct Mix {
    pub name: String,
    pub queries: Vec<String>,
    pub seconds_per_level: f64,
    pub levels: Vec<Concurrency>,
}

/// The peers' figures from the same run.
#[derive(Clone, Debug, Serialize)]
pub struct Peers {
    pub times: PeerTimes,
    pub ratios: Vec<Ratio>,
}

/// Resident memory of the server process, bytes: the peak of each phase
/// (`None` where the peak could not be reset), and the size after loading.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Memory {
    pub batch_ingest: Option<u64>,
    /// Not a peak: the resident size once the load is done.
    pub after_load: Option<u64>,
    pub queries: Option<u64>,
    pub kafka: Option<u64>,
    pub peak: Option<u64>,
}

/// Everything one run measured.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub started: String,
    pub machine: Machine,
    pub data: DataSet,
    pub batch: Option<BatchIngest>,
    pub queries: Vec<QueryLatency>,
    /// Each query's answer against DuckDB's (when DuckDB is among the peers).
    #[serde(serialize_with = "outcome")]
    pub answers: Option<Result<Vec<Check>, String>>,
    pub concurrency: Vec<Mix>,
    #[serde(serialize_with = "outcome")]
    pub isolation: Option<Result<Isolation, String>>,
    #[serde(serialize_with = "outcome")]
    pub peers: Option<Result<Peers, String>>,
    #[serde(serialize_with = "outcome")]
    pub kafka: Option<Result<KafkaIngest, String>>,
    #[serde(serialize_with = "outcome")]
    pub upsert: Option<Result<UpsertBench, String>>,
    #[serde(serialize_with = "outcome")]
    pub freshness: Option<Result<Freshness, String>>,
    pub memory: Memory,
    pub charts: Vec<String>,
}

/// A phase that ran serializes as its figures, one that failed as
/// `{"error": "..."}`, one skipped as null.
fn outcome<S: Serializer, T: Serialize>(
    value: &Option<Result<T, String>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Outcome<'a, T> {
        Ran(&'a T),
        Failed { error: &'a str },
    }
    match value {
        None => serializer.serialize_none(),
        Some(Ok(peers)) => Outcome::Ran(peers).serialize(serializer),
        Some(Err(error)) => {
            let failed: Outcome<'_, T> = Outcome::Failed { error };
            failed.serialize(serializer)
        }
    }
}

/// `1234567.8` → `1,234,568`.
pub fn grouped(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if value < 0.0 && digits != "0" {
        out.insert(0, '-');
    }
    out
}

/// Milliseconds with the precision that matters at their size.
pub fn ms(value: f64) -> String {
    if value < 1.0 {
        format!("{value:.2}")
    } else if value < 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    }
}

fn mb(bytes: u64) -> String {
    let mb = bytes as f64 / 1e6;
    if mb < 10.0 {
        format!("{mb:.1} MB")
    } else {
        format!("{mb:.0} MB")
    }
}

fn memory(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "n/a".to_string(), mb)
}

impl Report {
    /// The report as Markdown, with the charts linked relative to it.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        let _ = writeln!(out, "# gamay bench, {}\n", self.started);
        let _ = writeln!(
            out,
            "{} CPUs ({}), {:.0} GiB, {}, gamay {}. {} rows ({}), {} of zstd Parquet.\n",
            m.cpus,
            m.cpu,
            m.memory_bytes as f64 / (1u64 << 30) as f64,
            m.os,
            m.gamay,
            grouped(self.data.rows as f64),
            self.data.source,
            mb(self.data.parquet_bytes)
        );
        self.ingestion(&mut out);
        self.latency(&mut out);
        self.answer_lines(&mut out);
        self.upsert_table(&mut out);
        self.load(&mut out);
        self.isolation(&mut out);
        self.peer_table(&mut out);
        for chart in &self.charts {
            let _ = writeln!(out, "![{chart}]({chart})\n");
        }
        out
    }

    fn ingestion(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "## Ingestion and storage\n\n| what | figure |\n|---|---|"
        );
        if let Some(batch) = &self.batch {
            let _ = writeln!(
                out,
                "| batch ingest (`POST /ingestFromFile`, Parquet) | {} rows/s ({:.2} s, {} segment{}) |",
                grouped(batch.rows_per_second),
                batch.seconds,
                batch.segments,
                if batch.segments == 1 { "" } else { "s" }
            );
            let _ = writeln!(
                out,
                "| segment bytes per row | {:.1} ({}, {:.2}× the zstd Parquet) |",
                batch.bytes_per_row,
                mb(batch.segment_bytes),
                batch.parquet_ratio
            );
        }
        match &self.kafka {
            Some(Ok(kafka)) => {
                let _ = writeln!(
                    out,
                    "| Kafka ingest (JSON, {} partitions, until all are queryable) | {} messages/s ({} messages of {:.0} bytes in {:.2} s) |",
                    kafka.partitions,
                    grouped(kafka.messages_per_second),
                    grouped(kafka.messages as f64),
                    kafka.message_bytes,
                    kafka.seconds
                );
            }
            Some(Err(error)) => {
                let _ = writeln!(out, "| Kafka ingest | not measured: {error} |");
            }
            None => {}
        }
        match &self.freshness {
            Some(Ok(fresh)) => {
                let _ = writeln!(
                    out,
                    "| freshness at {} messages/s ({} kept) into a new {}-partition table (send → first answer with it) | p50 {} ms, p99 {} ms, max {} ms ({} of {} probes) |",
                    grouped(fresh.rate as f64),
                    grouped(fresh.achieved_rate),
                    fresh.partitions,
                    ms(fresh.lag.p50_ms),
                    ms(fresh.lag.p99_ms),
                    ms(fresh.lag.max_ms),
                    fresh.lag.runs,
                    fresh.probes
                );
            }
            Some(Err(error)) => {
                let _ = writeln!(out, "| freshness | not measured: {error} |");
            }
            None => {}
        }
        let mem = &self.memory;
        let _ = writeln!(
            out,
            "| server peak RSS: batch ingest / queries / Kafka | {} / {} / {} |",
            memory(mem.batch_ingest),
            memory(mem.queries),
            memory(mem.kafka)
        );
        let _ = writeln!(
            out,
            "| server RSS once loaded | {} |\n",
            memory(mem.after_load)
        );
    }

    /// The queries whose answers differ from DuckDB's.
    pub fn differing_answers(&self) -> Vec<&Check> {
        match &self.answers {
            Some(Ok(checks)) => checks.iter().filter(|check| check.differs()).collect(),
            _ => Vec::new(),
        }
    }

    fn answer_lines(&self, out: &mut String) {
        let checks = match &self.answers {
            None => return,
            Some(Err(error)) => {
                let _ = writeln!(out, "## Answers\n\nnot checked: {error}\n");
                return;
            }
            Some(Ok(checks)) => checks,
        };
        let _ = writeln!(
            out,
            "## Answers\n\nEach query's rows from Gamay against DuckDB's on the same file \
             (through the kit's harness): in order where the query has ORDER BY, as a set \
             otherwise; numbers of any JSON type equal within {:e} of the larger; DuckDB's NULL \
             equal to what Pinot answers in its place (0, ±Infinity, `null`).\n",
            answers::TOLERANCE
        );
        for check in checks {
            let _ = writeln!(out, "- {}", check.line());
        }
        out.push('\n');
    }

    fn upsert_table(&self, out: &mut String) {
        let upsert = match &self.upsert {
            Some(Ok(upsert)) => upsert,
            Some(Err(error)) => {
                let _ = writeln!(out, "## Upsert table\n\nnot measured: {error}\n");
                return;
            }
            None => return,
        };
        let _ = writeln!(
            out,
            "## Upsert table\n\nThe Kafka messages again, into a table with primary key \
             `id % {}` ({} keys, two versions each, late versions by `update_at` losing): \
             {} messages/s until all were stored; {} rows visible; key maps {} for {} keys, \
             {:.1} bytes per key. Query p50 on it and on the plain REALTIME table of the same \
             messages:\n",
            upsert.keys,
            grouped(upsert.keys as f64),
            grouped(upsert.messages_per_second),
            grouped(upsert.visible_rows as f64),
            mb(upsert.key_map_bytes),
            grouped(upsert.primary_keys as f64),
            upsert.bytes_per_key
        );
        let _ = writeln!(
            out,
            "| query | plain p50 ms | upsert p50 ms | upsert / plain |\n|---|---:|---:|---:|"
        );
        for query in &upsert.queries {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.2}× |",
                query.name,
                ms(query.plain.p50_ms),
                ms(query.upsert.p50_ms),
                query.ratio
            );
        }
        out.push('\n');
    }

    fn latency(&self, out: &mut String) {
        if self.queries.is_empty() {
            return;
        }
        let runs = self.queries[0].latency.runs;
        let runs = if runs == 1 {
            "1 run".to_string()
        } else {
            format!("{runs} runs")
        };
        let _ = writeln!(
            out,
            "## Queries, one at a time ({runs} each, one kept-alive connection, ms)\n\n| query | p50 | p99 | min | rows |\n|---|---|---|---|---|"
        );
        for q in &self.queries {
            let _ = writeln!(
                out,
                "| {} {} | {} | {} | {} | {} |",
                q.query.name,
                q.query.title,
                ms(q.latency.p50_ms),
                ms(q.latency.p99_ms),
                ms(q.latency.min_ms),
                q.rows
            );
        }
        out.push('\n');
    }

    fn load(&self, out: &mut String) {
        for mix in &self.concurrency {
            let _ = writeln!(
                out,
                "## Concurrent clients: {} ({}; {} s a level)\n\n| clients | queries/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|",
                mix.name,
                mix.queries.join(", "),
                mix.seconds_per_level
            );
            for level in &mix.levels {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    level.clients,
                    grouped(level.queries_per_second),
                    ms(level.latency.p50_ms),
                    ms(level.latency.p99_ms),
                    level.errors
                );
            }
            out.push('\n');
        }
    }

    fn isolation(&self, out: &mut String) {
        let isolation = match &self.isolation {
            None => return,
            Some(Err(error)) => {
                let _ = writeln!(out, "## Isolation\n\nnot measured: {error}\n");
                return;
            }
            Some(Ok(isolation)) => isolation,
        };
        let _ = writeln!(
            out,
            "## Isolation: light queries beside a runaway join\n\n\
             The selective mix from {} clients, alone and while one more client runs `{}` \
             (multi-stage) back to back.\n\n| | queries/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|",
            isolation.alone.clients, isolation.runaway_sql
        );
        for (what, level) in [
            ("alone", &isolation.alone),
            ("beside the runaway join", &isolation.with_runaway),
        ] {
            let _ = writeln!(
                out,
                "| {what} | {} | {} | {} | {} |",
                grouped(level.queries_per_second),
                ms(level.latency.p50_ms),
                ms(level.latency.p99_ms),
                level.errors
            );
        }
        let outcomes: Vec<String> = isolation
            .runaway_outcomes
            .iter()
            .map(|(code, count)| match code {
                0 => format!("{count} answered"),
                code => format!("{count} failed with error {code}"),
            })
            .collect();
        let _ = writeln!(
            out,
            "\np99 beside the join / alone: {:.2}. The runaway join: {}, {:.1} s each.\n",
            isolation.p99_ratio,
            outcomes.join(", "),
            isolation.runaway_seconds
        );
    }

    fn peer_table(&self, out: &mut String) {
        match &self.peers {
            None => {}
            Some(Err(error)) => {
                let _ = writeln!(out, "## Peers\n\nNot measured: {error}\n");
            }
            Some(Ok(peers)) => {
                let times = &peers.times;
                let _ = writeln!(
                    out,
                    "## Against the peers (`peers.py`'s median ms; Gamay over HTTP, a new connection per query)\n"
                );
                let _ = writeln!(
                    out,
                    "| query | {} | fastest peer ÷ gamay |",
                    times.engines.join(" | ")
                );
                let _ = writeln!(out, "|---|{}---|", "---|".repeat(times.engines.len()));
                for (query, row) in &times.queries {
                    let cells: Vec<String> = row
                        .iter()
                        .map(|time| time.map_or_else(|| "error".to_string(), ms))
                        .collect();
                    let ratio = peers
                        .ratios
                        .iter()
                        .find(|r| &r.query == query)
                        .map_or_else(String::new, |r| {
                            format!("{:.1}× ({})", r.ratio, r.fastest_peer)
                        });
                    let _ = writeln!(out, "| {query} | {} | {ratio} |", cells.join(" | "));
                }
                out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(grouped(1_234_567.8), "1,234,568");
        assert_eq!(grouped(999.0), "999");
        assert_eq!(grouped(1000.0), "1,000");
        assert_eq!(grouped(-4321.0), "-4,321");
        assert_eq!(ms(0.274), "0.27");
        assert_eq!(ms(16.04), "16.0");
        assert_eq!(ms(397.7), "398");
    }
}
