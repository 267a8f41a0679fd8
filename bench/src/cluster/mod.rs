//! `gamay bench --cluster <postgres-url>`: the same rows, table and
//! queries on a single node and on a cluster of one controller, one
//! broker and three servers on the same machine, one after the other.
//! Both load the file through `POST /ingestFromFile` into an OFFLINE table
//! with a star-tree (Pinot's `maxLeafRecords` of 10,000), cut into the
//! same [`SEGMENTS`] segments, so the servers share the work evenly. Then,
//! on each: the latency of a star-tree query and of a selective filtered
//! aggregation from one client, the throughput of the dashboard mix from
//! each number of clients, and every query's answer, which must agree
//! between the two.

mod fleet;
pub mod report;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::load::{self, Query};
use crate::report::{grouped, Machine};
use crate::server::{Client, ServerProcess};
use crate::{step, BenchError};
pub use report::{Agreement, ClusterReport, Deployment, Timed};

/// The table: the star-tree of `stock_transactions.startree.offline.json`
/// with Pinot's default `maxLeafRecords`, one replica per segment.
pub const TABLE: &str =
    include_str!("../../../benches/data/stock_transactions.cluster.offline.json");
/// Segments the file is cut into: two per server.
pub const SEGMENTS: usize = 2 * fleet::SERVERS;
/// The star-tree query timed from one client (a low-cardinality group-by).
pub const STAR_TREE_QUERY: &str = "q4";
/// The selective filtered aggregation timed from one client (a point lookup).
pub const SELECTIVE_QUERY: &str = "q3";
/// How long the cluster may take to place and load every segment.
const READY_WITHIN: Duration = Duration::from_secs(300);

/// What to run; `gamay bench --help` describes each.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    pub rows: usize,
    pub input: Option<PathBuf>,
    pub out: PathBuf,
    pub program: PathBuf,
    /// The PostgreSQL database the cluster's schema is made in.
    pub postgres: String,
    pub runs: usize,
    pub clients: Vec<usize>,
    pub seconds: f64,
    pub queries: Option<PathBuf>,
    /// Servers holding each segment in the cluster (1 to the servers).
    pub replication: usize,
}

/// Runs the single node, then the cluster, and writes
/// `cluster-report.md` and `cluster-report.json` into `out`.
pub fn run(options: &ClusterOptions) -> Result<ClusterReport, BenchError> {
    let general = crate::Options {
        rows: options.rows,
        input: options.input.clone(),
        out: options.out.clone(),
        program: options.program.clone(),
        runs: options.runs,
        clients: options.clients.clone(),
        seconds: options.seconds,
        peers: Vec::new(),
        python: String::new(),
        kit: None,
        queries: options.queries.clone(),
        kafka_rows: 0,
        fresh_rate: 0,
        fresh_seconds: 0.0,
        isolation_seconds: 0.0,
    };
    crate::check(&general)?;
    fleet::check_url(&options.postgres)?;
    if !(1..=fleet::SERVERS).contains(&options.replication) {
        return Err(BenchError::Usage(format!(
            "--replication {}: the cluster has {} servers; give 1 to {}",
            options.replication,
            fleet::SERVERS,
            fleet::SERVERS
        )));
    }
    std::fs::create_dir_all(&options.out).map_err(|err| BenchError::io(&options.out, err))?;
    let started = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let (_, queries) = crate::queries(&general)?;
    let timed = [STAR_TREE_QUERY, SELECTIVE_QUERY]
        .iter()
        .map(|name| {
            queries.iter().find(|q| q.name == *name).cloned().ok_or_else(|| {
                BenchError::Usage(format!(
                    "--cluster times {STAR_TREE_QUERY} and {SELECTIVE_QUERY}: give --queries with both, or none"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (_, mix) = crate::mixes(&queries)
        .pop()
        .unwrap_or(("all queries", queries.clone()));
    let data = crate::dataset(&general)?;
    let parquet = PathBuf::from(&data.source_path);
    let segment_rows = data.set.rows.div_ceil(SEGMENTS);
    let plan = Plan {
        parquet: &parquet,
        rows: data.set.rows,
        segment_rows,
        timed: &timed,
        queries: &queries,
        mix: &mix,
        options,
    };

    step("single node");
    let server = ServerProcess::start(&options.program, &options.out.join("single-node"))?;
    let (single, single_answers) = plan.measure("single node", "1 process", &server.url)?;
    drop(server);

    step(format!(
        "cluster: 1 controller, 1 broker, {} servers",
        fleet::SERVERS
    ));
    let cluster = fleet::Fleet::start(
        &options.program,
        &options.out.join("cluster"),
        &options.postgres,
    )?;
    let nodes = format!(
        "{} processes: 1 controller, 1 broker, {} servers",
        cluster.nodes().len(),
        fleet::SERVERS
    );
    let measured = plan.measure_cluster(&cluster, &nodes);
    cluster.stop();
    let (clustered, cluster_answers) = measured?;

    let answers = queries
        .iter()
        .zip(single_answers.iter().zip(&cluster_answers))
        .map(|(query, (single, cluster))| Agreement::of(query, single, cluster))
        .collect();
    let report = ClusterReport {
        started,
        machine: Machine::this(&options.program),
        data: data.set,
        segment_rows,
        replication: options.replication,
        single,
        cluster: clustered,
        answers,
    };
    let write = |name: &str, bytes: &[u8]| {
        let path = options.out.join(name);
        std::fs::write(&path, bytes).map_err(|err| BenchError::io(&path, err))
    };
    write(
        "cluster-report.json",
        &serde_json::to_vec_pretty(&report).unwrap_or_default(),
    )?;
    write("cluster-report.md", report.markdown().as_bytes())?;
    Ok(report)
}

/// What both deployments are asked.
struct Plan<'a> {
    parquet: &'a Path,
    rows: usize,
    segment_rows: usize,
    timed: &'a [Query],
    queries: &'a [Query],
    mix: &'a [Query],
    options: &'a ClusterOptions,
}

impl Plan<'_> {
    /// Loads through the controller and measures through the broker.
    fn measure_cluster(
        &self,
        fleet: &fleet::Fleet,
        nodes: &str,
    ) -> Result<(Deployment, Vec<Vec<Value>>), BenchError> {
        let client = Client::new(&fleet.controller.url);
        let (load_seconds, ready_seconds) = self.load(&client, &Client::new(&fleet.broker.url))?;
        self.queries_on(
            "cluster",
            nodes,
            &fleet.broker.url,
            load_seconds,
            ready_seconds,
        )
    }

    /// Loads and measures a single node.
    fn measure(
        &self,
        name: &str,
        nodes: &str,
        url: &str,
    ) -> Result<(Deployment, Vec<Vec<Value>>), BenchError> {
        let client = Client::new(url);
        let (load_seconds, ready_seconds) = self.load(&client, &client)?;
        self.queries_on(name, nodes, url, load_seconds, ready_seconds)
    }

    /// Creates the table through `admin` and loads the file into it; then
    /// waits until `reader` answers for every row. Returns the seconds of
    /// the upload and of the wait.
    fn load(&self, admin: &Client, reader: &Client) -> Result<(f64, f64), BenchError> {
        let bundled = |text: &str| serde_json::from_str::<Value>(text).unwrap_or(json!({}));
        admin.post("/schemas", &bundled(crate::SCHEMA))?;
        let mut table = bundled(TABLE);
        table["segmentsConfig"]["replication"] = json!(self.options.replication.to_string());
        admin.post("/tables", &table)?;
        step(format!(
            "loading {} rows as {SEGMENTS} segments",
            grouped(self.rows as f64)
        ));
        let settings =
            json!({"inputFormat": "parquet", "segmentRows": self.segment_rows.to_string()});
        let path = format!(
            "/ingestFromFile?tableNameWithType=stock_transactions_OFFLINE&batchConfigMapStr={}",
            percent_encode(&settings.to_string())
        );
        let started = Instant::now();
        admin.post_file(&path, self.parquet)?;
        let load_seconds = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let sql = "SELECT COUNT(*) FROM stock_transactions";
        loop {
            let last = match complete(reader, sql) {
                Ok(answer)
                    if answer["resultTable"]["rows"][0][0].as_f64() == Some(self.rows as f64) =>
                {
                    break
                }
                Ok(answer) => answer["resultTable"]["rows"].to_string(),
                Err(err) => err.to_string(),
            };
            if started.elapsed() > READY_WITHIN {
                return Err(BenchError::Cluster(format!(
                    "`{sql}` did not answer {} within {} s; last: {last}",
                    self.rows,
                    READY_WITHIN.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok((load_seconds, started.elapsed().as_secs_f64()))
    }

    /// Every query's answer, the timed queries' latency and the mix's
    /// throughput at each number of clients, through `url`.
    fn queries_on(
        &self,
        name: &str,
        nodes: &str,
        url: &str,
        load_seconds: f64,
        ready_seconds: f64,
    ) -> Result<(Deployment, Vec<Vec<Value>>), BenchError> {
        let client = Client::new(url);
        let mut answers = Vec::with_capacity(self.queries.len());
        for query in self.queries {
            let answer = complete(&client, &query.sql).map_err(|err| match err {
                BenchError::Query { sql, message } => BenchError::Query {
                    sql: format!("{} {sql}", query.name),
                    message,
                },
                other => other,
            })?;
            answers.push(
                answer["resultTable"]["rows"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            );
        }
        step(format!(
            "{name}: {} and {}, {} runs each",
            self.timed[0].name, self.timed[1].name, self.options.runs
        ));
        let latency = load::latencies(&client, self.timed, self.options.runs)?
            .into_iter()
            .map(|timed| Timed {
                query: timed.query,
                latency: timed.latency,
            })
            .collect();
        let mut throughput = Vec::new();
        for &clients in &self.options.clients {
            step(format!("{name}: dashboard mix, {clients} clients"));
            let duration = Duration::from_secs_f64(self.options.seconds);
            throughput.push(load::concurrency(url, self.mix, clients, duration)?);
        }
        Ok((
            Deployment {
                name: name.to_string(),
                nodes: nodes.to_string(),
                load_seconds,
                ready_seconds,
                mix: self.mix.iter().map(|q| q.name.clone()).collect(),
                latency,
                throughput,
            },
            answers,
        ))
    }
}

/// Runs `sql`; an answer that is partial (a segment no server could serve)
/// is an error, as one with exceptions is.
fn complete(client: &Client, sql: &str) -> Result<Value, BenchError> {
    let answer = client.query(sql)?;
    if answer["partialResult"] == true {
        return Err(BenchError::Query {
            sql: sql.to_string(),
            message: "a partial result".into(),
        });
    }
    Ok(answer)
}

/// `text` as a URL query value.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_a_star_tree_with_pinots_leaf_size() {
        let table: Value = serde_json::from_str(TABLE).unwrap();
        let tree = &table["tableIndexConfig"]["starTreeIndexConfigs"][0];
        assert_eq!(tree["maxLeafRecords"], 10_000);
        assert_eq!(table["tableType"], "OFFLINE");
        assert_eq!(table["segmentsConfig"]["replication"], "1");
    }

    #[test]
    fn settings_are_encoded_for_the_query_string() {
        assert_eq!(
            percent_encode(r#"{"inputFormat":"parquet","segmentRows":"5"}"#),
            "%7B%22inputFormat%22%3A%22parquet%22%2C%22segmentRows%22%3A%225%22%7D"
        );
    }
}
