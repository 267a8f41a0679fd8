//! A fleet of `gamay serve` processes forming one cluster for a test: a
//! PostgreSQL schema of its own as the metastore, a directory as the deep
//! store, and helpers to start, kill (-9), stop (SIGSTOP), wipe and
//! restart nodes and to ask them what a client would.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long a cluster gets to settle after a change: several lease
/// timeouts and refreshes.
pub const SETTLE: Duration = Duration::from_secs(40);

/// The lease timeout the fleet's nodes run with (seconds).
pub const LEASE_SECONDS: u64 = 3;

/// A node of the fleet, by its place in it.
pub type NodeRef = usize;

struct Member {
    id: String,
    role: String,
    dir: PathBuf,
    child: Option<Child>,
    url: String,
    /// `GAMAY_FAULT` for its next start.
    fault: Option<String>,
}

pub struct Fleet {
    root: tempfile::TempDir,
    metastore: String,
    schema: String,
    base_url: String,
    members: Vec<Member>,
    runtime: tokio::runtime::Runtime,
    /// Flags every node starts with.
    extra: Vec<String>,
    /// The `Authorization` header calls carry, once the fleet is secured.
    authorization: Option<String>,
}

/// The PostgreSQL URL tests/services.sh gives, or `None` (a failure when
/// services are required).
fn postgres() -> Option<String> {
    match std::env::var("GAMAY_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("GAMAY_REQUIRE_SERVICES").is_some() => {
            panic!("GAMAY_TEST_POSTGRES is not set: run the tests with tests/run")
        }
        _ => {
            eprintln!("skipped: GAMAY_TEST_POSTGRES is not set (tests/run starts PostgreSQL)");
            None
        }
    }
}

impl Fleet {
    /// A fleet with no nodes yet, its metastore a fresh schema.
    pub fn start(name: &str) -> Option<Fleet> {
        let base_url = postgres()?;
        let schema = format!("gamay_cluster_{name}_{}", std::process::id());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let fleet_schema = schema.clone();
        let url = base_url.clone();
        runtime.block_on(async move {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .expect("connect to the test PostgreSQL");
            tokio::spawn(connection);
            client
                .batch_execute(&format!(
                    "DROP SCHEMA IF EXISTS {fleet_schema} CASCADE; CREATE SCHEMA {fleet_schema}"
                ))
                .await
                .unwrap();
        });
        let separator = if base_url.contains('?') { '&' } else { '?' };
        let metastore = format!("{base_url}{separator}options=-c%20search_path%3D{schema}");
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("deep")).unwrap();
        Some(Fleet {
            root,
            metastore,
            schema,
            base_url,
            members: Vec::new(),
            runtime,
            extra: Vec::new(),
            authorization: None,
        })
    }

    /// Turns authentication on for the nodes started from now on: an
    /// administrator `cluster` whose token the nodes present to each other
    /// (and the fleet's own calls carry), and a principal `reader` who may
    /// only read, returned as its `Authorization` header.
    pub fn secure(&mut self) -> String {
        let token = |fleet: &Fleet| {
            let output = Command::new(env!("CARGO_BIN_EXE_gamay"))
                .args(["auth", "token"])
                .output()
                .unwrap();
            assert!(output.status.success());
            let text = String::from_utf8(output.stdout).unwrap();
            let mut lines = text.lines();
            let _ = fleet;
            (
                lines.next().unwrap().to_string(),
                lines.next().unwrap().to_string(),
            )
        };
        let (admin, admin_digest) = token(self);
        let (reader, reader_digest) = token(self);
        let auth = self.root.path().join("auth.json");
        let file = json!({"principals": [
            {"name": "cluster", "token": admin_digest},
            {"name": "reader", "token": reader_digest, "permissions": ["READ"]},
        ]});
        std::fs::write(&auth, file.to_string()).unwrap();
        let token_file = self.root.path().join("cluster.token");
        std::fs::write(&token_file, &admin).unwrap();
        self.extra = vec![
            "--auth-file".into(),
            auth.display().to_string(),
            "--cluster-token-file".into(),
            token_file.display().to_string(),
        ];
        self.authorization = Some(format!("Bearer {admin}"));
        format!("Bearer {reader}")
    }

    /// Starts node `id` with `role`.
    pub fn node(&mut self, id: &str, role: &str) -> NodeRef {
        let dir = self.root.path().join(id);
        self.members.push(Member {
            id: id.to_string(),
            role: role.to_string(),
            dir,
            child: None,
            url: String::new(),
            fault: None,
        });
        let node = self.members.len() - 1;
        self.launch(node);
        node
    }

    fn launch(&mut self, node: NodeRef) {
        let deep = format!("file://{}", self.root.path().join("deep").display());
        let log = self
            .root
            .path()
            .join(format!("{}.log", self.members[node].id));
        let member = &mut self.members[node];
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_gamay"));
        command.env_remove("GAMAY_FAULT_STALL_MS");
        match &member.fault {
            Some(fault) => match fault.split_once('~') {
                Some((fault, stall_ms)) => command
                    .env("GAMAY_FAULT", fault)
                    .env("GAMAY_FAULT_STALL_MS", stall_ms),
                None => command.env("GAMAY_FAULT", fault),
            },
            None => command.env_remove("GAMAY_FAULT"),
        };
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&member.dir)
            .args(["--role", &member.role, "--node-id", &member.id])
            .args(["--metastore", &self.metastore, "--deep-store", &deep])
            .args(["--lease-timeout", &LEASE_SECONDS.to_string()])
            .args(&self.extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("spawn gamay");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let Some(url) = line.trim().strip_prefix("gamay listening on ") else {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("node {} did not start: {line:?}\n{text}", member.id);
        };
        member.url = url.to_string();
        member.child = Some(child);
    }

    /// Starts node `id` with `role` but without the cluster's token,
    /// expecting it to refuse to start; returns what it printed.
    pub fn refused_without_token(&self, id: &str, role: &str) -> String {
        let deep = format!("file://{}", self.root.path().join("deep").display());
        let mut extra = self.extra.clone();
        if let Some(at) = extra.iter().position(|flag| flag == "--cluster-token-file") {
            extra.drain(at..at + 2);
        }
        let output = Command::new(env!("CARGO_BIN_EXE_gamay"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(self.root.path().join(id))
            .args(["--role", role, "--node-id", id])
            .args(["--metastore", &self.metastore, "--deep-store", &deep])
            .args(&extra)
            .output()
            .unwrap();
        assert!(
            !output.status.success(),
            "node {id} started without the token"
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    pub fn id(&self, node: NodeRef) -> String {
        self.members[node].id.clone()
    }

    pub fn url(&self, node: NodeRef) -> &str {
        &self.members[node].url
    }

    /// Kills a node at once, as a machine dies.
    pub fn kill9(&mut self, node: NodeRef) {
        if let Some(mut child) = self.members[node].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Deletes a (killed) node's data directory.
    pub fn wipe(&mut self, node: NodeRef) {
        let _ = std::fs::remove_dir_all(&self.members[node].dir);
    }

    /// Starts node `id` with `role`, armed to abort at fault point `fault`
    /// (`GAMAY_FAULT`, see src/faults.rs), or to stall there when `fault`
    /// ends in `~<ms>` (`GAMAY_FAULT_STALL_MS`).
    pub fn node_with_fault(&mut self, id: &str, role: &str, fault: &str) -> NodeRef {
        let dir = self.root.path().join(id);
        self.members.push(Member {
            id: id.to_string(),
            role: role.to_string(),
            dir,
            child: None,
            url: String::new(),
            fault: Some(fault.to_string()),
        });
        let node = self.members.len() - 1;
        self.launch(node);
        node
    }

    /// Whether a node's process has ended by itself (a fault point).
    pub fn exited(&mut self, node: NodeRef) -> bool {
        match &mut self.members[node].child {
            Some(child) => matches!(child.try_wait(), Ok(Some(_))),
            None => true,
        }
    }

    /// Starts a node again without its fault point.
    pub fn restart_unarmed(&mut self, node: NodeRef) {
        self.members[node].fault = None;
        self.restart(node);
    }

    /// Starts a killed node again, on a new port.
    pub fn restart(&mut self, node: NodeRef) {
        self.kill9(node);
        self.launch(node);
    }

    /// Stops (SIGSTOP) or continues (SIGCONT) a node.
    pub fn signal(&self, node: NodeRef, signal: i32) {
        if let Some(child) = &self.members[node].child {
            // SAFETY: kill(2) on a child this fleet started.
            unsafe {
                libc::kill(child.id() as i32, signal);
            }
        }
    }

    pub fn call(&self, node: NodeRef, method: &str, path: &str, body: &str) -> (u16, Value) {
        self.call_as(node, self.authorization.as_deref(), method, path, body)
    }

    /// [`Fleet::call`] with `authorization` (or none).
    pub fn call_as(
        &self,
        node: NodeRef,
        authorization: Option<&str>,
        method: &str,
        path: &str,
        body: &str,
    ) -> (u16, Value) {
        let mut request = ureq::request(method, &format!("{}{path}", self.url(node)))
            .timeout(Duration::from_secs(30))
            .set("Content-Type", "application/json");
        if let Some(authorization) = authorization {
            request = request.set("Authorization", authorization);
        }
        let response = if body.is_empty() {
            request.call()
        } else {
            request.send_string(body)
        };
        let response = match response {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(err) => panic!("{method} {path} on {}: {err}", self.members[node].id),
        };
        let status = response.status();
        let text = response.into_string().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub fn create_table(&self, node: NodeRef, replication: usize) {
        self.create_table_with(node, replication, json!({}));
    }

    /// [`Fleet::create_table`] with more `segmentsConfig` settings.
    pub fn create_table_with(&self, node: NodeRef, replication: usize, segments: Value) {
        let schema = json!({
            "schemaName": "trades",
            "dimensionFieldSpecs": [
                {"name": "id", "dataType": "LONG"},
                {"name": "symbol", "dataType": "STRING"}
            ],
            "metricFieldSpecs": [{"name": "price", "dataType": "DOUBLE"}],
            "dateTimeFieldSpecs": [
                {"name": "ts", "dataType": "LONG", "format": "1:MILLISECONDS:EPOCH", "granularity": "1:MILLISECONDS"}
            ]
        });
        let (status, body) = self.call(node, "POST", "/schemas", &schema.to_string());
        assert_eq!(status, 200, "{body}");
        let mut segments_config =
            json!({"timeColumnName": "ts", "replication": replication.to_string()});
        if let (Some(config), Some(more)) = (segments_config.as_object_mut(), segments.as_object())
        {
            config.extend(more.clone());
        }
        let table = json!({
            "tableName": "trades",
            "tableType": "OFFLINE",
            "segmentsConfig": segments_config,
            "tableIndexConfig": {"invertedIndexColumns": ["symbol"]}
        });
        let (status, body) = self.call(node, "POST", "/tables", &table.to_string());
        assert_eq!(status, 200, "{body}");
    }

    /// Ingests rows `ids` through `node` as one file.
    pub fn ingest(&self, node: NodeRef, ids: std::ops::Range<i64>) {
        self.ingest_at(node, ids, 1_790_000_000_000);
    }

    /// [`Fleet::ingest`] with row `id`'s time `ts + id` milliseconds.
    pub fn ingest_at(&self, node: NodeRef, ids: std::ops::Range<i64>, ts: i64) {
        let mut lines = String::new();
        for id in ids {
            let symbol = ["AAPL", "MSFT", "GOOG"][(id % 3) as usize];
            let row = json!({
                "id": id,
                "symbol": symbol,
                "price": id as f64 / 4.0,
                "ts": ts + id,
            });
            lines.push_str(&row.to_string());
            lines.push('\n');
        }
        let mut request = ureq::post(&format!(
            "{}/ingestFromFile?tableNameWithType=trades_OFFLINE&batchConfigMapStr=%7B%22inputFormat%22%3A%22json%22%7D",
            self.url(node)
        ))
        .timeout(Duration::from_secs(60));
        if let Some(authorization) = &self.authorization {
            request = request.set("Authorization", authorization);
        }
        let response = request.send_bytes(lines.as_bytes());
        match response {
            Ok(response) => assert_eq!(response.status(), 200),
            Err(ureq::Error::Status(status, response)) => {
                panic!("ingest: {status} {}", response.into_string().unwrap())
            }
            Err(err) => panic!("ingest: {err}"),
        }
    }

    pub fn query(&self, node: NodeRef, sql: &str) -> Value {
        let (_, body) = self.call(node, "POST", "/query/sql", &json!({"sql": sql}).to_string());
        body
    }

    /// COUNT(*), SUM(id), COUNT(DISTINCT id) of `trades` through `node`,
    /// which must answer completely.
    pub fn totals(&self, node: NodeRef) -> (i64, i64, i64) {
        let answer = self.try_totals(node);
        answer.unwrap_or_else(|answer| panic!("an incomplete answer: {answer}"))
    }

    fn try_totals(&self, node: NodeRef) -> Result<(i64, i64, i64), Value> {
        self.try_totals_of(node, "trades")
    }

    /// COUNT(*), SUM(id), COUNT(DISTINCT id) of `table` through `node`, or
    /// the answer when it is not complete.
    pub fn try_totals_of(&self, node: NodeRef, table: &str) -> Result<(i64, i64, i64), Value> {
        self.try_triple(
            node,
            &format!("SELECT COUNT(*), SUM(id), COUNT(DISTINCT id) FROM {table}"),
        )
    }

    /// The three numbers of `sql`'s one row, or the answer when it is
    /// partial or failed.
    pub fn try_triple(&self, node: NodeRef, sql: &str) -> Result<(i64, i64, i64), Value> {
        let answer = self.query(node, sql);
        if answer["partialResult"] == true
            || answer["exceptions"]
                .as_array()
                .is_none_or(|e| !e.is_empty())
        {
            return Err(answer);
        }
        let row = &answer["resultTable"]["rows"][0];
        let number = |value: &Value| value.as_f64().map(|v| v as i64).unwrap_or(-1);
        Ok((number(&row[0]), number(&row[1]), number(&row[2])))
    }

    /// Waits until `node` answers `want`, failing with the last answer.
    pub fn wait_for_totals(&self, node: NodeRef, want: (i64, i64, i64), within: Duration) {
        self.wait_for_totals_of(node, "trades", want, within)
    }

    /// Waits until `node` answers `want` for `table`, failing with the
    /// last answer.
    pub fn wait_for_totals_of(
        &self,
        node: NodeRef,
        table: &str,
        want: (i64, i64, i64),
        within: Duration,
    ) {
        let deadline = Instant::now() + within;
        let mut last = Value::Null;
        while Instant::now() < deadline {
            match self.try_totals_of(node, table) {
                Ok(got) if got == want => return,
                Ok(got) => last = json!(format!("{got:?}")),
                Err(answer) => last = answer,
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!(
            "{} never answered {want:?}; last: {last}\n{}",
            self.members[node].id,
            self.logs()
        );
    }

    pub fn wait_until(&self, within: Duration, what: &str, mut check: impl FnMut(&Fleet) -> bool) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if check(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("timed out waiting for {what}\n{}", self.logs());
    }

    /// Segment → the servers assigned to hold it, as the metastore says.
    pub fn placement(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for row in self.metastore_rows(
            "SELECT segment_name, server_id FROM gamay_assignments ORDER BY 1, 2".into(),
        ) {
            out.entry(row.get(0)).or_default().push(row.get(1));
        }
        out
    }

    /// Runs `sql` on the metastore's schema and returns its rows.
    fn metastore_rows(&self, sql: String) -> Vec<tokio_postgres::Row> {
        let url = self.base_url.clone();
        let schema = self.schema.clone();
        self.runtime.block_on(async move {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client
                .batch_execute(&format!("SET search_path TO {schema}"))
                .await
                .unwrap();
            client.query(&sql, &[]).await.unwrap()
        })
    }

    /// A JDBC sink config exporting `trades` into table `target` of the
    /// fleet's own schema in the test PostgreSQL.
    pub fn jdbc_sink(&self, target: &str) -> Value {
        let rest = self.base_url.split_once("://").expect("a URL").1;
        let (credentials, address) = rest.rsplit_once('@').expect("credentials in the URL");
        let (user, password) = credentials.split_once(':').expect("user:password");
        let address = address.split('?').next().unwrap();
        json!({
            "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
            "tables": "trades",
            "connection.url": format!("jdbc:postgresql://{address}"),
            "connection.user": user,
            "connection.password": password,
            "table.name.format": format!("{}.{target}", self.schema),
            "insert.mode": "insert",
            "pk.mode": "none",
            "auto.create": "true",
        })
    }

    /// Lets every node started from now on write `file://` sink stores in
    /// the fleet's directory `shared`, which it returns.
    pub fn share_file_stores(&mut self) -> PathBuf {
        let shared = self.root.path().join("shared");
        std::fs::create_dir_all(&shared).unwrap();
        self.extra.extend([
            "--file-store-root".to_string(),
            shared.display().to_string(),
        ]);
        shared
    }

    /// COUNT(*), SUM(id), COUNT(DISTINCT id) of the sink's table `target`,
    /// or `None` before it exists.
    pub fn exported_totals(&self, target: &str) -> Option<(i64, i64, i64)> {
        let exists = self.metastore_rows(format!(
            "SELECT 1 FROM pg_tables WHERE schemaname = '{}' AND tablename = '{target}'",
            self.schema
        ));
        if exists.is_empty() {
            return None;
        }
        let rows = self.metastore_rows(format!(
            "SELECT COUNT(*), COALESCE(SUM(id), 0)::BIGINT, COUNT(DISTINCT id) FROM {target}"
        ));
        let row = rows.first()?;
        Some((row.get(0), row.get(1), row.get(2)))
    }

    /// The recorded real-time segments of `table`: (partition, start
    /// offset, end offset, rows), by partition and offset.
    pub fn stream_segments(&self, table: &str) -> Vec<(i32, i64, i64, i64)> {
        self.metastore_rows(format!(
            "SELECT partition_id, start_offset, end_offset, num_rows FROM gamay_segments
             WHERE table_name = '{table}' AND partition_id IS NOT NULL ORDER BY 1, 2"
        ))
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
        .collect()
    }

    /// Each partition's checkpoint of `table` in the metastore.
    pub fn metastore_checkpoints(&self, table: &str) -> BTreeMap<i32, i64> {
        self.metastore_rows(format!(
            "SELECT partition_id, next_offset FROM gamay_checkpoints WHERE table_name = '{table}'"
        ))
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
    }

    /// Who holds partition `partition`'s unexpired lease of `table`, and at
    /// which epoch.
    pub fn lease_holder(&self, table: &str, partition: i32) -> Option<(String, i64)> {
        self.metastore_rows(format!(
            "SELECT owner, epoch FROM gamay_leases WHERE table_name = '{table}'
             AND partition_id = {partition} AND expires_at > now()"
        ))
        .first()
        .map(|row| (row.get(0), row.get(1)))
    }

    /// Stream partition → the servers assigned to consume it.
    pub fn partition_consumers(&self, table: &str) -> BTreeMap<i32, Vec<String>> {
        let mut out: BTreeMap<i32, Vec<String>> = BTreeMap::new();
        for row in self.metastore_rows(format!(
            "SELECT partition_id, server_id FROM gamay_partition_assignments
             WHERE table_name = '{table}' ORDER BY 1, 2"
        )) {
            out.entry(row.get(0)).or_default().push(row.get(1));
        }
        out
    }

    /// The node of the fleet with id `id`.
    pub fn by_id(&self, id: &str) -> NodeRef {
        self.members
            .iter()
            .position(|member| member.id == id)
            .unwrap()
    }

    /// Node `node`'s whole log.
    pub fn log(&self, node: NodeRef) -> String {
        let path = self
            .root
            .path()
            .join(format!("{}.log", self.members[node].id));
        std::fs::read_to_string(path).unwrap_or_default()
    }

    /// Whether the deep store holds `table`'s `segment`.
    pub fn in_deep_store(&self, table: &str, segment: &str) -> bool {
        self.root
            .path()
            .join("deep")
            .join(table)
            .join(segment)
            .exists()
    }

    /// The segments `node` (a server) holds on its disk.
    pub fn held_by(&self, node: NodeRef) -> Vec<String> {
        let (status, body) = self.call(node, "GET", "/segments/trades?type=OFFLINE", "");
        assert_eq!(status, 200, "{body}");
        let mut out: Vec<String> = body[0]["OFFLINE"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|name| name.as_str().map(String::from))
            .collect();
        out.sort();
        out
    }

    /// Segment → its recorded state (`ONLINE`, `DELETING`).
    pub fn segment_states(&self) -> BTreeMap<String, String> {
        self.metastore_rows("SELECT segment_name, state FROM gamay_segments".into())
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect()
    }

    /// (server, segment) of every segment servers report loaded.
    pub fn reported_loaded(&self) -> Vec<(String, String)> {
        self.metastore_rows("SELECT server_id, segment_name FROM gamay_loaded ORDER BY 1, 2".into())
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect()
    }

    /// The tail of every node's log, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for member in &self.members {
            let path = self.root.path().join(format!("{}.log", member.id));
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(25)..];
            out.push_str(&format!("--- {} ---\n{}\n", member.id, tail.join("\n")));
        }
        out
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for node in 0..self.members.len() {
            self.kill9(node);
        }
        // The metastore's schema goes with the fleet (kept for inspection
        // with GAMAY_KEEP_CLUSTER, like the directories).
        if std::env::var_os("GAMAY_KEEP_CLUSTER").is_none() {
            let (url, schema) = (self.base_url.clone(), self.schema.clone());
            self.runtime.block_on(async move {
                if let Ok((client, connection)) =
                    tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                {
                    tokio::spawn(connection);
                    let _ = client
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                        .await;
                }
            });
        }
        if std::env::var_os("GAMAY_KEEP_CLUSTER").is_some() {
            let kept = std::mem::replace(&mut self.root, tempfile::tempdir().unwrap());
            eprintln!("cluster kept in {}", kept.keep().display());
        }
    }
}

/// COUNT(*), SUM(id), COUNT(DISTINCT id) of rows `ids`.
pub fn expected(ids: std::ops::Range<i64>) -> (i64, i64, i64) {
    let count = ids.end - ids.start;
    (count, ids.clone().sum(), count)
}
