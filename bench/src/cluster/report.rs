//! What `gamay bench --cluster` measured, as JSON (`cluster-report.json`)
//! and Markdown (`cluster-report.md`), with the targets: the broker's hop
//! adds at most [`HOP_TARGET_MS`] to the p50 of one client's queries, and
//! the cluster keeps at least [`THROUGHPUT_TARGET`] of the single node's
//! queries/s on the same cores.

use std::fmt::Write;

use serde::Serialize;
use serde_json::Value;

use crate::answers::{self, Outcome};
use crate::load::{Concurrency, Latency, Query};
use crate::report::{grouped, ms, DataSet, Machine};

/// Milliseconds the broker hop may add to a query's p50.
pub const HOP_TARGET_MS: f64 = 0.5;
/// The share of the single node's queries/s the cluster must keep.
pub const THROUGHPUT_TARGET: f64 = 0.7;

/// One query timed from one client.
#[derive(Clone, Debug, Serialize)]
pub struct Timed {
    pub query: Query,
    pub latency: Latency,
}

/// One deployment's figures.
#[derive(Clone, Debug, Serialize)]
pub struct Deployment {
    pub name: String,
    /// Its processes, in words.
    pub nodes: String,
    /// Seconds of `POST /ingestFromFile`, to its response.
    pub load_seconds: f64,
    /// Seconds from that response to a complete `COUNT(*)` of every row
    /// (the cluster placing and loading the segments).
    pub ready_seconds: f64,
    /// The queries of the throughput mix.
    pub mix: Vec<String>,
    pub latency: Vec<Timed>,
    pub throughput: Vec<Concurrency>,
}

/// One query's answer on the cluster against the single node's.
#[derive(Clone, Debug, Serialize)]
pub struct Agreement {
    pub query: String,
    pub title: String,
    pub agrees: bool,
    pub rows: usize,
    /// The first row that differs, when one does.
    pub difference: Option<String>,
}

impl Agreement {
    /// Compares as the check against DuckDB does: numbers within
    /// [`answers::TOLERANCE`], rows as a set unless the query orders them.
    pub fn of(query: &Query, single: &[Value], cluster: &[Value]) -> Agreement {
        let (agrees, difference) = match answers::compare(&query.sql, single, cluster) {
            Outcome::Matches { .. } => (true, None),
            Outcome::Differs {
                row, gamay, duckdb, ..
            } => {
                let shown = |cells: Option<Value>| {
                    cells.map_or_else(|| "no row".to_string(), |cells| format!("`{cells}`"))
                };
                let detail = format!(
                    "row {row}: single node {} ({} rows), cluster {} ({} rows)",
                    shown(gamay),
                    single.len(),
                    shown(duckdb),
                    cluster.len()
                );
                (false, Some(detail))
            }
            Outcome::Unchecked { reason } => (false, Some(reason)),
        };
        Agreement {
            query: query.name.clone(),
            title: query.title.clone(),
            agrees,
            rows: single.len(),
            difference,
        }
    }
}

/// The whole comparison.
#[derive(Clone, Debug, Serialize)]
pub struct ClusterReport {
    pub started: String,
    pub machine: Machine,
    pub data: DataSet,
    /// Rows per segment (`segmentRows`), the same on both.
    pub segment_rows: usize,
    /// Servers holding each segment in the cluster.
    pub replication: usize,
    pub single: Deployment,
    pub cluster: Deployment,
    pub answers: Vec<Agreement>,
}

impl ClusterReport {
    /// Queries whose answers differ between the two.
    pub fn disagreeing(&self) -> Vec<&Agreement> {
        self.answers.iter().filter(|a| !a.agrees).collect()
    }

    /// The cluster's p50 less the single node's, per timed query (ms).
    pub fn added_p50(&self) -> Vec<(String, f64)> {
        self.single
            .latency
            .iter()
            .zip(&self.cluster.latency)
            .map(|(one, many)| {
                (
                    one.query.name.clone(),
                    many.latency.p50_ms - one.latency.p50_ms,
                )
            })
            .collect()
    }

    /// The cluster's queries/s over the single node's, per number of clients.
    pub fn throughput_ratios(&self) -> Vec<(usize, f64)> {
        self.single
            .throughput
            .iter()
            .zip(&self.cluster.throughput)
            .map(|(one, many)| {
                let ratio = many.queries_per_second / one.queries_per_second.max(f64::MIN_POSITIVE);
                (one.clients, ratio)
            })
            .collect()
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        let _ = writeln!(out, "# gamay bench --cluster, {}\n", self.started);
        let _ = writeln!(
            out,
            "{} CPUs ({}), gamay {}. {} rows ({}) in segments of {} rows, into an OFFLINE \
             table with a star-tree, each segment on {} of the cluster's servers \
             (`replication`); every process on the same machine.\n",
            m.cpus,
            m.cpu,
            m.gamay,
            grouped(self.data.rows as f64),
            self.data.source,
            grouped(self.segment_rows as f64),
            self.replication,
        );
        let _ = writeln!(out, "| | single node | cluster |\n|---|---|---|");
        let _ = writeln!(
            out,
            "| processes | {} | {} |",
            self.single.nodes, self.cluster.nodes
        );
        let _ = writeln!(
            out,
            "| `POST /ingestFromFile` | {:.1} s | {:.1} s |",
            self.single.load_seconds, self.cluster.load_seconds
        );
        let _ = writeln!(
            out,
            "| then until `COUNT(*)` sees every row | {:.1} s | {:.1} s |\n",
            self.single.ready_seconds, self.cluster.ready_seconds
        );

        let runs = self.single.latency.first().map_or(0, |t| t.latency.runs);
        let _ = writeln!(
            out,
            "## One client ({runs} runs each, one kept-alive connection, ms)\n"
        );
        let _ = writeln!(
            out,
            "| query | single p50 | single p99 | cluster p50 | cluster p99 | added p50 |\n|---|---|---|---|---|---|"
        );
        for ((one, many), (_, added)) in self
            .single
            .latency
            .iter()
            .zip(&self.cluster.latency)
            .zip(self.added_p50())
        {
            let _ = writeln!(
                out,
                "| {} {} | {} | {} | {} | {} | {:+.2} |",
                one.query.name,
                one.query.title,
                ms(one.latency.p50_ms),
                ms(one.latency.p99_ms),
                ms(many.latency.p50_ms),
                ms(many.latency.p99_ms),
                added
            );
        }

        let _ = writeln!(
            out,
            "\n## Dashboard mix ({}), clients on the same cores\n",
            self.single.mix.join(", ")
        );
        let _ = writeln!(
            out,
            "| clients | single q/s | single p50 | single p99 | cluster q/s | cluster p50 | cluster p99 | cluster ÷ single | errors |\n|---|---|---|---|---|---|---|---|---|"
        );
        for ((one, many), (_, ratio)) in self
            .single
            .throughput
            .iter()
            .zip(&self.cluster.throughput)
            .zip(self.throughput_ratios())
        {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {:.2} | {} / {} |",
                one.clients,
                grouped(one.queries_per_second),
                ms(one.latency.p50_ms),
                ms(one.latency.p99_ms),
                grouped(many.queries_per_second),
                ms(many.latency.p50_ms),
                ms(many.latency.p99_ms),
                ratio,
                one.errors,
                many.errors
            );
        }

        let _ = writeln!(out, "\n## Answers, cluster against single node\n");
        for answer in &self.answers {
            let name = format!("{} {}", answer.query, answer.title);
            let line = match &answer.difference {
                None => {
                    let plural = if answer.rows == 1 { "" } else { "s" };
                    format!("{}: agree ({} row{plural})", name.trim_end(), answer.rows)
                }
                Some(difference) => format!("{}: DIFFER at {difference}", name.trim_end()),
            };
            let _ = writeln!(out, "- {line}");
        }

        let _ = writeln!(out, "\n## Targets\n");
        for (query, added) in self.added_p50() {
            let verdict = if added <= HOP_TARGET_MS {
                "met"
            } else {
                "missed"
            };
            let _ = writeln!(
                out,
                "- {query}: the broker hop adds {added:+.2} ms to p50 (at most {HOP_TARGET_MS}): {verdict}"
            );
        }
        for (clients, ratio) in self.throughput_ratios() {
            let verdict = if ratio >= THROUGHPUT_TARGET {
                "met"
            } else {
                "missed"
            };
            let _ = writeln!(
                out,
                "- {clients} clients: the cluster runs {:.0}% of the single node's queries/s (at least {:.0}%): {verdict}",
                ratio * 100.0,
                THROUGHPUT_TARGET * 100.0
            );
        }
        out
    }
}
