//! The JDBC sink connector against real PostgreSQL and MariaDB servers: every
//! sealed segment lands in the target exactly once (rows and watermark in one
//! transaction), values keep their types and text, hostile table names are
//! quoted, crashes on either side of the commit (with one segment or with
//! several waiting behind it) neither lose nor repeat rows, a target that is
//! down is retried, bad configs are refused clearly, and connections get TLS
//! as each driver's URL parameters ask.

mod export;
mod kafka;

use std::collections::BTreeMap;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use export::{
    create_connector, create_table, export_until_fault, ingest, note, price, rows, saved_segments,
    saved_state, service, status, symbol, wait_caught_up, BASE_MS,
};
use kafka::{call, row, wait_until, InProcess};
use mysql_async::prelude::Queryable;
use serde_json::{json, Value};
use tokio::runtime::Runtime;

const WAIT: Duration = Duration::from_secs(60);

/// A short suffix that differs between runs (the databases persist).
fn unique() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}_{}", std::process::id(), nanos % 1_000_000_000)
}

/// The parts of a service URL (`scheme://user:password@host:port/database`).
struct Service {
    user: String,
    password: String,
    address: String,
    database: String,
}

fn parse_service(url: &str) -> Service {
    let rest = url.split_once("://").expect("scheme").1;
    let (credentials, rest) = rest.rsplit_once('@').expect("credentials");
    let (user, password) = credentials.split_once(':').expect("user:password");
    let (address, database) = rest.split_once('/').expect("database");
    Service {
        user: user.into(),
        password: password.into(),
        address: address.into(),
        database: database.into(),
    }
}

/// A JDBC sink config for `trades` into `target` at `address`.
fn jdbc(scheme: &str, service: &Service, address: &str, target: &str, mode: &str) -> Value {
    let mut config = json!({
        "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
        "tables": "trades",
        "connection.url": format!("jdbc:{scheme}://{address}/{}", service.database),
        "connection.user": service.user,
        "connection.password": service.password,
        "table.name.format": target,
        "insert.mode": mode,
        "pk.mode": "none",
        "auto.create": "true",
    });
    if mode == "upsert" {
        config["pk.mode"] = json!("record_value");
        config["pk.fields"] = json!("id");
    }
    config
}

fn pg_quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn my_quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn utc_text(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S%.3f")
        .to_string()
}

/// A PostgreSQL client for checking what the sink wrote; dropping it drops
/// the target table and the connector's watermark rows.
struct Pg {
    runtime: Runtime,
    client: tokio_postgres::Client,
    target: String,
    connector: String,
}

impl Pg {
    fn connect(url: &str, target: &str, connector: &str) -> Pg {
        let runtime = Runtime::new().unwrap();
        let client = runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .expect("connect to PostgreSQL");
            tokio::spawn(connection);
            client
        });
        Pg {
            runtime,
            client,
            target: target.into(),
            connector: connector.into(),
        }
    }

    fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Vec<tokio_postgres::Row> {
        self.runtime
            .block_on(self.client.query(sql, params))
            .unwrap_or_else(|err| panic!("{sql}: {err:?}"))
    }

    /// Rows of the target table; 0 when it does not exist.
    fn count(&self) -> i64 {
        let quoted = pg_quote(&self.target);
        let exists = self.query("SELECT to_regclass($1::text) IS NOT NULL", &[&quoted]);
        if !exists[0].get::<_, bool>(0) {
            return 0;
        }
        self.query(&format!("SELECT count(*) FROM {quoted}"), &[])[0].get(0)
    }

    /// The row counts of the connector's watermark rows.
    fn watermark(&self) -> Vec<i64> {
        let rows = self.query(
            "SELECT source_table, row_count FROM gamay_connect_offsets \
             WHERE connector = $1 ORDER BY exported_at",
            &[&self.connector],
        );
        for row in &rows {
            assert_eq!(row.get::<_, String>(0), "trades_OFFLINE");
        }
        rows.iter().map(|row| row.get(1)).collect()
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let drop = format!("DROP TABLE IF EXISTS {}", pg_quote(&self.target));
        let forget = "DELETE FROM gamay_connect_offsets WHERE connector = $1";
        self.runtime.block_on(async {
            let _ = self.client.batch_execute(&drop).await;
            let _ = self.client.execute(forget, &[&self.connector]).await;
        });
    }
}

/// A MariaDB connection, cleaning up as [`Pg`] does.
struct My {
    runtime: Runtime,
    conn: mysql_async::Conn,
    target: String,
    connector: String,
}

impl My {
    fn connect(url: &str, target: &str, connector: &str) -> My {
        let runtime = Runtime::new().unwrap();
        let conn = runtime
            .block_on(mysql_async::Conn::from_url(url))
            .expect("connect to MariaDB");
        My {
            runtime,
            conn,
            target: target.into(),
            connector: connector.into(),
        }
    }

    fn rows<T, P>(&mut self, sql: &str, params: P) -> Vec<T>
    where
        T: mysql_async::prelude::FromRow + Send + 'static,
        P: Into<mysql_async::Params> + Send,
    {
        self.runtime
            .block_on(self.conn.exec(sql, params))
            .unwrap_or_else(|err| panic!("{sql}: {err}"))
    }

    /// Rows of the target table; 0 when it does not exist.
    fn count(&mut self) -> i64 {
        let exists: Vec<i64> = self.rows(
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name = ?",
            (self.target.clone(),),
        );
        if exists[0] == 0 {
            return 0;
        }
        let sql = format!("SELECT COUNT(*) FROM {}", my_quote(&self.target));
        self.rows(&sql, ())[0]
    }
}

impl Drop for My {
    fn drop(&mut self) {
        let drop = format!("DROP TABLE IF EXISTS {}", my_quote(&self.target));
        let forget = "DELETE FROM gamay_connect_offsets WHERE connector = ?";
        self.runtime.block_on(async {
            let _ = self.conn.query_drop(drop).await;
            let _ = self
                .conn
                .exec_drop(forget, (self.connector.as_str(),))
                .await;
        });
    }
}

/// Waits for the connector to report an empty lag after it looked at the
/// table, with the one segment exported and no error; returns its status.
fn wait_idle(url: &str, name: &str) -> Value {
    let mut last = Value::Null;
    let idle = wait_until(WAIT, || {
        last = status(url, name);
        last["watermark"]["trades_OFFLINE"]["segmentsExported"] == 1
            && last["lag"]["segments"] == 0
            && last["lastError"].is_null()
    });
    assert!(idle, "connector {name} did not settle: {last:#}");
    last
}

/// Upserts into a PostgreSQL table whose name needs quoting: every row once,
/// every value as it was ingested (text with quotes, commas, newlines and
/// backslashes, empty text apart from NULL, TEXT[] tags, TIMESTAMPTZ to the
/// millisecond across a DST change), later versions replacing earlier ones,
/// one watermark row per segment, and the password never shown back.
#[test]
fn postgres_upsert_exports_every_row_once_and_updates() {
    let Some(url) = service("GAMAY_TEST_POSTGRES") else {
        return;
    };
    let pg_service = parse_service(&url);
    let suffix = unique();
    let target = format!("trades \"odd\"; DROP TABLE x; -- {suffix}");
    let name = format!("pg-upsert-{suffix}");
    let pg = Pg::connect(&url, &target, &name);
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(dir.path());
    create_table(&server.url);
    ingest(&server.url, &rows(0..600, 0));
    let address = &pg_service.address;
    let config = jdbc("postgresql", &pg_service, address, &target, "upsert");
    create_connector(&server.url, &name, &config);
    wait_caught_up(&server.url, &name, 600, WAIT);

    let table = pg_quote(&target);
    assert_eq!(pg.count(), 600);
    let types = pg.query(
        &format!("SELECT pg_typeof(tags)::text, pg_typeof(traded)::text FROM {table} LIMIT 1"),
        &[],
    );
    assert_eq!(types[0].get::<_, String>(0), "text[]");
    assert_eq!(types[0].get::<_, String>(1), "timestamp with time zone");
    let select = format!(
        "SELECT id, symbol, tags, note, shares, price, ts, \
         (EXTRACT(EPOCH FROM traded) * 1000)::bigint FROM {table} WHERE id = $1"
    );
    for id in [0i64, 1, 2, 3, 4, 7, 179, 180, 181, 599] {
        let found = pg.query(&select, &[&(id as i32)]);
        assert_eq!(found.len(), 1, "id {id}");
        let row = &found[0];
        assert_eq!(row.get::<_, i32>(0) as i64, id);
        assert_eq!(row.get::<_, String>(1), symbol(id));
        let tags = vec![symbol(id).to_string(), format!("t{}", id % 3)];
        assert_eq!(row.get::<_, Vec<String>>(2), tags, "id {id}");
        assert_eq!(row.get::<_, Option<String>>(3), note(id), "id {id}");
        assert_eq!(row.get::<_, i32>(4) as i64, id % 100);
        assert_eq!(row.get::<_, f64>(5), price(id, 0));
        assert_eq!(row.get::<_, i64>(6), BASE_MS + id * 60_000);
        assert_eq!(row.get::<_, i64>(7), BASE_MS + id * 60_000 + 123, "id {id}");
    }
    let nulls = pg.query(
        &format!(
            "SELECT count(*) FILTER (WHERE note IS NULL), \
             count(*) FILTER (WHERE note = '') FROM {table}"
        ),
        &[],
    );
    assert_eq!(
        nulls[0].get::<_, i64>(0),
        (0..600).filter(|id| id % 7 == 0).count() as i64
    );
    assert_eq!(
        nulls[0].get::<_, i64>(1),
        (0..600).filter(|id| id % 7 == 3).count() as i64
    );

    ingest(&server.url, &rows(300..900, 1));
    wait_caught_up(&server.url, &name, 1200, WAIT);
    assert_eq!(pg.count(), 900);
    let prices = pg.query(&format!("SELECT id, price FROM {table} ORDER BY id"), &[]);
    assert_eq!(prices.len(), 900);
    for row in &prices {
        let id = row.get::<_, i32>(0) as i64;
        let version = if id < 300 { 0 } else { 1 };
        assert_eq!(row.get::<_, f64>(1), price(id, version), "id {id}");
    }
    assert_eq!(pg.watermark(), vec![600, 600]);

    let (code, info) = call(&server.url, "GET", &format!("/connectors/{name}"), "");
    assert_eq!(code, 200, "{info}");
    assert_eq!(info["config"]["connection.password"], "[hidden]");
    assert_eq!(info["config"]["connection.user"], pg_service.user.as_str());
    let (code, shown) = call(
        &server.url,
        "GET",
        &format!("/connectors/{name}/config"),
        "",
    );
    assert_eq!(code, 200, "{shown}");
    assert_eq!(shown["connection.password"], "[hidden]");
    assert_eq!(shown["table.name.format"], target.as_str());
    let (_, expanded) = call(&server.url, "GET", "/connectors?expand=info", "");
    assert_eq!(
        expanded[&name]["info"]["config"]["connection.password"],
        "[hidden]"
    );
    assert!(expanded[&name].get("status").is_none(), "{expanded}");
    let path = "/connectors?expand=status&expand=info";
    let (_, both) = call(&server.url, "GET", path, "");
    assert_eq!(both[&name]["status"]["name"], name.as_str(), "{both}");
    assert_eq!(both[&name]["info"]["name"], name.as_str(), "{both}");
}

/// The same against MariaDB, into a table whose name holds a backtick:
/// text with quotes and newlines, NULL, multi-value tags as JSON text,
/// TIMESTAMPs as UTC DATETIME(3), and upserts replacing earlier versions.
#[test]
fn mariadb_upsert_exports_every_row_once_and_updates() {
    let Some(url) = service("GAMAY_TEST_MYSQL") else {
        return;
    };
    let my_service = parse_service(&url);
    let suffix = unique();
    let target = format!("trades`odd {suffix}");
    let name = format!("my-upsert-{suffix}");
    let mut my = My::connect(&url, &target, &name);
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(dir.path());
    create_table(&server.url);
    ingest(&server.url, &rows(0..600, 0));
    let address = &my_service.address;
    let config = jdbc("mariadb", &my_service, address, &target, "upsert");
    create_connector(&server.url, &name, &config);
    wait_caught_up(&server.url, &name, 600, WAIT);

    assert_eq!(my.count(), 600);
    let traded_type: Vec<String> = my.rows(
        "SELECT CAST(COLUMN_TYPE AS CHAR) FROM information_schema.columns \
         WHERE table_schema = DATABASE() AND table_name = ? AND column_name = 'traded'",
        (target.as_str(),),
    );
    assert_eq!(traded_type, ["datetime(3)"]);
    let table = my_quote(&target);
    let select = format!(
        "SELECT id, note, CAST(tags AS CHAR), CAST(traded AS CHAR), price FROM {table} WHERE id = ?"
    );
    for id in [0i64, 1, 2, 3, 179, 180, 599] {
        type Found = (i64, Option<String>, String, String, f64);
        let found: Vec<Found> = my.rows(&select, (id,));
        assert_eq!(found.len(), 1, "id {id}");
        let (found_id, found_note, tags, traded, found_price) = &found[0];
        assert_eq!(*found_id, id);
        assert_eq!(*found_note, note(id), "id {id}");
        let tags: Value = serde_json::from_str(tags).unwrap();
        assert_eq!(tags, json!([symbol(id), format!("t{}", id % 3)]));
        assert_eq!(*traded, utc_text(BASE_MS + id * 60_000 + 123), "id {id}");
        assert_eq!(*found_price, price(id, 0));
    }

    ingest(&server.url, &rows(300..900, 1));
    wait_caught_up(&server.url, &name, 1200, WAIT);
    assert_eq!(my.count(), 900);
    let prices: Vec<(i64, f64)> =
        my.rows(&format!("SELECT id, price FROM {table} ORDER BY id"), ());
    assert_eq!(prices.len(), 900);
    for (id, found) in prices {
        let version = if id < 300 { 0 } else { 1 };
        assert_eq!(found, price(id, version), "id {id}");
    }
    let marks: Vec<i64> = my.rows(
        "SELECT row_count FROM gamay_connect_offsets WHERE connector = ?",
        (name.as_str(),),
    );
    assert_eq!(marks, vec![600, 600]);
}

/// The target of a crash test, through the client that checks it.
enum Db {
    Pg(Pg),
    My(My),
}

/// What a target table holds: rows, distinct ids, and the sums of id,
/// shares and price (whole and half numbers: exact in a double).
#[derive(Debug, PartialEq)]
struct Checksum {
    rows: i64,
    ids: i64,
    id_sum: i64,
    shares_sum: i64,
    price_sum: f64,
}

impl Checksum {
    /// What rows `ids` of version 0 sum to, each once.
    fn of(ids: std::ops::Range<i64>) -> Checksum {
        Checksum {
            rows: ids.end - ids.start,
            ids: ids.end - ids.start,
            id_sum: ids.clone().sum(),
            shares_sum: ids.clone().map(|id| id % 100).sum(),
            price_sum: ids.map(|id| price(id, 0)).sum(),
        }
    }
}

impl Db {
    /// Connects to service `var` (a `scheme` of the JDBC URL), or `None`
    /// when the test is skipped.
    fn connect(scheme: &str, var: &str, target: &str, connector: &str) -> Option<(Db, Value)> {
        let url = service(var)?;
        let parsed = parse_service(&url);
        let config = jdbc(scheme, &parsed, &parsed.address, target, "insert");
        let db = if scheme == "postgresql" {
            Db::Pg(Pg::connect(&url, target, connector))
        } else {
            Db::My(My::connect(&url, target, connector))
        };
        Some((db, config))
    }

    fn checksum(&mut self) -> Checksum {
        let sums = "count(*), count(DISTINCT id), CAST(COALESCE(sum(id), 0) AS {int}), \
                    CAST(COALESCE(sum(shares), 0) AS {int}), COALESCE(sum(price), 0)";
        match self {
            Db::Pg(pg) => {
                if pg.count() == 0 {
                    return Checksum::of(0..0);
                }
                let sql = format!(
                    "SELECT {} FROM {}",
                    sums.replace("{int}", "BIGINT"),
                    pg_quote(&pg.target)
                );
                let row = &pg.query(&sql, &[])[0];
                Checksum {
                    rows: row.get(0),
                    ids: row.get(1),
                    id_sum: row.get(2),
                    shares_sum: row.get(3),
                    price_sum: row.get(4),
                }
            }
            Db::My(my) => {
                if my.count() == 0 {
                    return Checksum::of(0..0);
                }
                let sql = format!(
                    "SELECT {} FROM {}",
                    sums.replace("{int}", "SIGNED"),
                    my_quote(&my.target)
                );
                let (rows, ids, id_sum, shares_sum, price_sum) = my.rows(&sql, ())[0];
                Checksum {
                    rows,
                    ids,
                    id_sum,
                    shares_sum,
                    price_sum,
                }
            }
        }
    }

    /// The connector's watermark rows in the target: rows by segment.
    fn watermark(&mut self) -> BTreeMap<String, i64> {
        let sql = "SELECT segment, row_count FROM gamay_connect_offsets \
                   WHERE connector = {p} AND source_table = 'trades_OFFLINE'";
        match self {
            Db::Pg(pg) => {
                let connector = pg.connector.clone();
                pg.query(&sql.replace("{p}", "$1"), &[&connector])
                    .iter()
                    .map(|row| (row.get(0), row.get(1)))
                    .collect()
            }
            Db::My(my) => {
                let connector = my.connector.clone();
                let rows: Vec<(String, i64)> = my.rows(&sql.replace("{p}", "?"), (connector,));
                rows.into_iter().collect()
            }
        }
    }
}

/// A crash after the rows are written but before the target commits leaves
/// nothing behind, and the restarted server writes the segment exactly once.
fn crash_before_commit(scheme: &str, var: &str) {
    let suffix = unique();
    let target = format!("crash_before_{suffix}");
    let name = format!("{scheme}-before-{suffix}");
    let Some((mut db, config)) = Db::connect(scheme, var, &target, &name) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let fault = "export.before_commit";
    export_until_fault(dir.path(), fault, &[600], &name, &config);
    assert_eq!(db.checksum(), Checksum::of(0..0));
    assert!(db.watermark().is_empty());
    assert_eq!(
        saved_segments(&saved_state(dir.path(), &name), "trades_OFFLINE"),
        0
    );

    let server = InProcess::start(dir.path());
    wait_caught_up(&server.url, &name, 600, WAIT);
    assert_eq!(db.checksum(), Checksum::of(0..600));
    assert_eq!(db.watermark().into_values().collect::<Vec<_>>(), [600]);
}

#[test]
fn postgres_crash_before_commit_leaves_nothing_and_the_restart_writes_once() {
    crash_before_commit("postgresql", "GAMAY_TEST_POSTGRES");
}

#[test]
fn mariadb_crash_before_commit_leaves_nothing_and_the_restart_writes_once() {
    crash_before_commit("mariadb", "GAMAY_TEST_MYSQL");
}

/// A crash after the target committed but before the connector saved its
/// own state: the target's watermark tells the restarted connector the
/// segment is in, so it is not written again.
#[test]
fn a_crash_after_commit_does_not_write_again() {
    let suffix = unique();
    let target = format!("crash_after_{suffix}");
    let name = format!("pg-after-{suffix}");
    let Some((mut db, config)) = Db::connect("postgresql", "GAMAY_TEST_POSTGRES", &target, &name)
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    export_until_fault(dir.path(), "export.after_write", &[600], &name, &config);
    assert_eq!(db.checksum(), Checksum::of(0..600));
    assert_eq!(
        saved_segments(&saved_state(dir.path(), &name), "trades_OFFLINE"),
        0
    );

    let server = InProcess::start(dir.path());
    wait_idle(&server.url, &name);
    assert_eq!(db.checksum(), Checksum::of(0..600));
    assert_eq!(db.watermark().into_values().collect::<Vec<_>>(), [600]);
}

/// Four sealed segments wait when the connector starts and `fault` aborts
/// the server at its `n`-th hit (n > 1), with segments behind it: before it,
/// `committed` segments are in the target and `saved` in the connector's
/// own state. The restarted server brings every row in exactly once (rows,
/// distinct ids and sums of the values), one watermark row of 150 rows per
/// segment, and reports the four segments and 600 rows exported.
fn crash_with_segments_waiting(
    scheme: &str,
    var: &str,
    fault: &str,
    committed: usize,
    saved: usize,
) {
    let suffix = unique();
    let target = format!("crash_many_{suffix}");
    let name = format!("{scheme}-many-{suffix}");
    let Some((mut db, config)) = Db::connect(scheme, var, &target, &name) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    export_until_fault(dir.path(), fault, &[150; 4], &name, &config);
    let before = db.watermark();
    assert_eq!(before.len(), committed, "{fault}: {before:?}");
    assert!(before.values().all(|rows| *rows == 150), "{before:?}");
    assert_eq!(db.checksum().rows, 150 * committed as i64, "{fault}");
    assert_eq!(db.checksum().ids, 150 * committed as i64, "{fault}");
    let state = saved_state(dir.path(), &name);
    assert_eq!(saved_segments(&state, "trades_OFFLINE"), saved, "{state}");
    assert_eq!(state["rowsWritten"], json!(150 * saved), "{state}");

    let server = InProcess::start(dir.path());
    let status = wait_caught_up(&server.url, &name, 600, WAIT);
    assert_eq!(db.checksum(), Checksum::of(0..600), "{fault}");
    let after = db.watermark();
    assert_eq!(after.len(), 4, "{after:?}");
    assert!(after.values().all(|rows| *rows == 150), "{after:?}");
    assert!(before.keys().all(|segment| after.contains_key(segment)));
    let watermark = &status["watermark"]["trades_OFFLINE"];
    assert_eq!(watermark["segmentsExported"], 4, "{status}");
    let last = watermark["lastSegment"].as_str().unwrap_or_default();
    assert!(after.contains_key(last), "{status}");
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    let state = saved_state(dir.path(), &name);
    assert_eq!(saved_segments(&state, "trades_OFFLINE"), 4, "{state}");
    assert_eq!(state["rowsWritten"], 600, "{state}");
}

#[test]
fn postgres_crash_before_a_later_commit_with_segments_waiting() {
    let fault = "export.before_commit@3";
    crash_with_segments_waiting("postgresql", "GAMAY_TEST_POSTGRES", fault, 2, 2);
}

#[test]
fn mariadb_crash_before_a_later_commit_with_segments_waiting() {
    crash_with_segments_waiting(
        "mariadb",
        "GAMAY_TEST_MYSQL",
        "export.before_commit@3",
        2,
        2,
    );
}

#[test]
fn postgres_crash_after_a_later_commit_with_segments_waiting() {
    let fault = "export.after_write@2";
    crash_with_segments_waiting("postgresql", "GAMAY_TEST_POSTGRES", fault, 2, 1);
}

#[test]
fn mariadb_crash_after_a_later_commit_with_segments_waiting() {
    crash_with_segments_waiting("mariadb", "GAMAY_TEST_MYSQL", "export.after_write@2", 2, 1);
}

/// A TCP proxy to `target` that refuses service (accepts and hangs up)
/// until `up` is set.
fn proxy(target: String, up: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            if !up.load(Ordering::SeqCst) {
                drop(client);
                continue;
            }
            let Ok(server) = TcpStream::connect(&target) else {
                continue;
            };
            pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
            pipe(server, client);
        }
    });
    port
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Write);
    });
}

/// While the target is unreachable the connector reports the failure and
/// keeps retrying, ingestion and queries go on, and once the target is back
/// every row lands exactly once.
#[test]
fn a_target_that_is_down_is_retried_until_it_is_back() {
    let Some(url) = service("GAMAY_TEST_POSTGRES") else {
        return;
    };
    let pg_service = parse_service(&url);
    let up = Arc::new(AtomicBool::new(false));
    let port = proxy(pg_service.address.clone(), up.clone());
    let suffix = unique();
    let target = format!("retried_{suffix}");
    let name = format!("pg-down-{suffix}");
    let pg = Pg::connect(&url, &target, &name);
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(dir.path());
    create_table(&server.url);
    let address = format!("127.0.0.1:{port}");
    let config = jdbc("postgresql", &pg_service, &address, &target, "insert");
    create_connector(&server.url, &name, &config);
    ingest(&server.url, &rows(0..600, 0));

    let mut last = Value::Null;
    let failed = wait_until(WAIT, || {
        last = status(&server.url, &name);
        last["lastError"].is_string() && last["tasks"][0]["state"] == "FAILED"
    });
    assert!(failed, "no failure reported: {last:#}");
    assert_eq!(last["connector"]["state"], "RUNNING");
    assert!(last["failuresInARow"].as_u64().unwrap() >= 1, "{last:#}");
    let counted = row(&server.url, "SELECT COUNT(*) FROM trades");
    assert_eq!(counted[0].as_i64(), Some(600), "{counted:?}");
    assert_eq!(pg.count(), 0);

    // A second segment, seen waiting, then deleted before the target is
    // back: reported as missed, never exported.
    ingest(&server.url, &rows(600..700, 0));
    let waiting = wait_until(WAIT, || status(&server.url, &name)["lag"]["segments"] == 2);
    assert!(waiting, "{:#}", status(&server.url, &name));
    let (_, segments) = call(&server.url, "GET", "/segments/trades", "");
    let mut names: Vec<String> = segments[0]["OFFLINE"]
        .as_array()
        .unwrap_or_else(|| panic!("{segments}"))
        .iter()
        .map(|name| name.as_str().unwrap().to_string())
        .collect();
    names.sort();
    let removed = names.last().unwrap().clone();
    let (code, body) = call(
        &server.url,
        "DELETE",
        &format!("/segments/trades_OFFLINE/{removed}"),
        "",
    );
    assert_eq!(code, 200, "{body}");

    up.store(true, Ordering::SeqCst);
    let status = wait_caught_up(&server.url, &name, 600, WAIT);
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status:#}");
    assert_eq!(pg.count(), 600);
    assert_eq!(pg.watermark(), vec![600]);
    assert_eq!(status["segmentsMissed"], 1, "{status:#}");
    let missed = status["lastMissedSegments"][0].as_str().unwrap_or_default();
    assert!(missed.ends_with(&removed), "{status:#}");
}

fn post_connector(url: &str, name: &str, config: &Value) -> (u16, Value) {
    let body = json!({"name": name, "config": config});
    call(url, "POST", "/connectors", &body.to_string())
}

/// Refuses a config with `400 {"error_code": 400, "message": ...}` whose
/// message names the key at fault.
fn assert_refused(url: &str, config: &Value, needle: &str) {
    let (code, body) = post_connector(url, "refused", config);
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["error_code"], 400, "{body}");
    let message = body["message"].as_str().unwrap_or_else(|| panic!("{body}"));
    assert!(message.contains(needle), "{needle:?} not in {message:?}");
}

/// Bad configs are refused with messages that name the key at fault, and
/// the REST API behaves as Kafka Connect's: 409 for a second create, 404
/// for unknown names, pause/resume (202), delete (204), and connectors with
/// their paused state survive a restart.
#[test]
fn bad_connector_configs_are_refused_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(dir.path());
    let service = parse_service("postgres://gamay:gamay@127.0.0.1:1/gamay_test");
    let valid = jdbc("postgresql", &service, &service.address, "t", "upsert");
    let with = |changes: Value| {
        let mut config = valid.clone();
        for (key, value) in changes.as_object().unwrap() {
            if value.is_null() {
                config.as_object_mut().unwrap().remove(key);
            } else {
                config[key] = value.clone();
            }
        }
        config
    };
    let url = server.url.as_str();
    assert_refused(
        url,
        &with(json!({"connection.url": null})),
        "connection.url",
    );
    assert_refused(url, &with(json!({"pk.mode": "none"})), "pk.mode");
    assert_refused(url, &with(json!({"pk.mode": "kafka"})), "pk.mode");
    let sqlserver = json!({"connection.url": "jdbc:sqlserver://127.0.0.1:1433;databaseName=x"});
    assert_refused(url, &with(sqlserver), "connection.url");
    let keystore = json!({"connection.url": "jdbc:mysql://127.0.0.1:1/gamay_test?sslMode=VERIFY_CA&trustCertificateKeyStoreUrl=file:/etc/ks.jks"});
    assert_refused(
        url,
        &with(keystore),
        "give the CA certificate as PEM with serverSslCert",
    );
    // Certificate files come from GAMAY_SECRETS_DIR only, and are never quoted.
    let outside = json!({"connection.url": "jdbc:postgresql://127.0.0.1:1/gamay_test?sslmode=verify-full&sslrootcert=/etc/ssl/private/ssl-cert-snakeoil.key"});
    let (code, body) = post_connector(url, "refused", &with(outside));
    assert_eq!(code, 400, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("sslrootcert") && message.contains("GAMAY_SECRETS_DIR"),
        "{message}"
    );
    assert!(!message.contains("PRIVATE"), "{message}");
    let typo = with(json!({"auto.craete": "true"}));
    assert_refused(url, &typo, "did you mean `auto.create`");
    let (code, body) = call(url, "GET", "/connectors/refused", "");
    assert_eq!((code, &body["error_code"]), (404, &json!(404)), "{body}");

    create_connector(url, "sink", &valid);
    let (code, body) = post_connector(url, "sink", &valid);
    assert_eq!(code, 409, "{body}");
    assert_eq!(body["error_code"], 409, "{body}");
    let (code, body) = call(url, "GET", "/connectors/nope", "");
    assert_eq!(code, 404, "{body}");
    assert_eq!(body["error_code"], 404, "{body}");

    let (code, _) = call(url, "PUT", "/connectors/sink/pause", "");
    assert_eq!(code, 202);
    assert_eq!(status(url, "sink")["connector"]["state"], "PAUSED");
    assert_eq!(status(url, "sink")["tasks"][0]["state"], "PAUSED");
    let (code, _) = call(url, "PUT", "/connectors/sink/resume", "");
    assert_eq!(code, 202);
    assert_eq!(status(url, "sink")["connector"]["state"], "RUNNING");
    let (code, _) = call(url, "DELETE", "/connectors/sink", "");
    assert_eq!(code, 204);
    let (code, _) = call(url, "GET", "/connectors/sink", "");
    assert_eq!(code, 404);
    let (_, names) = call(url, "GET", "/connectors", "");
    assert_eq!(names, json!([]));

    create_connector(url, "kept", &valid);
    let (code, _) = call(url, "PUT", "/connectors/kept/pause", "");
    assert_eq!(code, 202);
    drop(server);
    let server = InProcess::start(dir.path());
    let (code, names) = call(&server.url, "GET", "/connectors", "");
    assert_eq!((code, names), (200, json!(["kept"])));
    let after = status(&server.url, "kept");
    assert_eq!(after["connector"]["state"], "PAUSED", "{after:#}");
    let (_, shown) = call(&server.url, "GET", "/connectors/kept/config", "");
    assert_eq!(shown["connection.password"], "[hidden]");
    assert_eq!(shown["insert.mode"], "upsert");
}

/// A config read back shows every secret as `[hidden]`, including those in
/// `connection.url`; sent back unchanged it keeps them, but sent back
/// pointing at another host, port or database it is refused until the new
/// target's password is given. The connector file is readable by the
/// server's user only.
#[test]
fn hidden_secrets_never_follow_a_changed_target() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(dir.path());
    let url = server.url.as_str();
    let service = parse_service("postgres://gamay:gamay@127.0.0.1:1/gamay_test");
    let mut config = jdbc("postgresql", &service, &service.address, "t", "insert");
    config["connection.password"] = json!("stored-pw");
    config["connection.url"] =
        json!("jdbc:postgresql://127.0.0.1:1/gamay_test?sslpassword=ssl-pw&sslmode=disable");
    create_connector(url, "sink", &config);

    let (code, shown) = call(url, "GET", "/connectors/sink/config", "");
    assert_eq!(code, 200, "{shown}");
    let text = shown.to_string();
    assert!(
        !text.contains("stored-pw") && !text.contains("ssl-pw"),
        "{text}"
    );
    assert_eq!(shown["connection.password"], "[hidden]");
    let (_, info) = call(url, "GET", "/connectors/sink", "");
    assert!(!info.to_string().contains("ssl-pw"), "{info}");

    // Another host: 400, naming the key and asking for the password.
    let mut moved = shown.clone();
    moved["connection.url"] = json!("jdbc:postgresql://203.0.113.9:5432/gamay_test");
    let (code, body) = call(url, "PUT", "/connectors/sink/config", &moved.to_string());
    assert_eq!(code, 400, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("connection.password") && message.contains("send the password"),
        "{message}"
    );
    // Same target: accepted, and the stored secrets are kept.
    let (code, body) = call(url, "PUT", "/connectors/sink/config", &shown.to_string());
    assert_eq!(code, 200, "{body}");

    let file = dir.path().join("catalog/connectors/sink.json");
    let stored = std::fs::read_to_string(&file).unwrap();
    assert!(
        stored.contains("stored-pw") && stored.contains("ssl-pw"),
        "{stored}"
    );
    assert!(!stored.contains("[hidden]"), "{stored}");
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(file.parent().unwrap()), 0o700);

    // A file left readable by others is tightened when the server starts.
    drop(server);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _server = InProcess::start(dir.path());
    assert_eq!(mode(&file), 0o600);
}

/// A change stream into a REALTIME upsert table (`deleteRecordColumn`),
/// exported with `pk.mode=record_key` and `delete.enabled`: updates replace
/// rows, deletes remove them (also a key deleted and inserted again, and
/// one inserted and deleted within a segment), and the target ends equal to
/// the stream applied in order, in PostgreSQL and in MariaDB.
#[test]
fn deletes_of_an_upsert_table_reach_the_target() {
    deletes_reach_the_target(Stream::Rows);
}

/// The same stream as Debezium change events (`decoder.prop.format` =
/// `debezium`): creates and updates as `after` images, deletes as `before`
/// images, as events whose `before` is empty (only the message key names
/// the row), and as bare tombstones; some wrapped in the JSON converter's
/// `schema`/`payload`.
#[test]
fn debezium_change_events_reach_the_target() {
    deletes_reach_the_target(Stream::Debezium);
}

#[derive(Clone, Copy, PartialEq)]
enum Stream {
    /// Each message is the row, `deleted` set on deletes.
    Rows,
    Debezium,
}

/// The message (key, payload) of event `at` of the change stream.
fn change_message(
    stream: Stream,
    at: usize,
    (id, version, deleted, late): (i64, i64, bool, bool),
    first: bool,
) -> (String, Option<String>) {
    // A late event carries a time older than the versions before it.
    let ts = BASE_MS + at as i64 - if late { 250 } else { 0 };
    let row = json!({"id": id, "name": format!("user {id} v{version}"),
                     "balance": id as f64 + version as f64 * 100.0, "ts": ts});
    let key = json!({"id": id});
    if stream == Stream::Rows {
        let mut row = row;
        row["deleted"] = json!(deleted);
        return (key.to_string(), Some(row.to_string()));
    }
    let wrap = |value: Value| json!({"schema": {"type": "struct"}, "payload": value});
    let event = match (deleted, at % 3) {
        (false, _) => json!({"op": if first { "c" } else { "u" }, "before": null, "after": row}),
        (true, 0) => json!({"op": "d", "before": row, "after": null}),
        (true, 1) => json!({"op": "d", "before": null, "after": null}),
        (true, _) => return (wrap(key).to_string(), None),
    };
    let event = if at.is_multiple_of(2) {
        wrap(event)
    } else {
        event
    };
    (key.to_string(), Some(event.to_string()))
}

fn deletes_reach_the_target(stream: Stream) {
    let targets: Vec<(&str, String)> = [
        ("postgresql", "GAMAY_TEST_POSTGRES"),
        ("mariadb", "GAMAY_TEST_MYSQL"),
    ]
    .iter()
    .filter_map(|(scheme, var)| service(var).map(|url| (*scheme, url)))
    .collect();
    if targets.is_empty() {
        return;
    }
    let topic = "accounts";
    let cluster = kafka::cluster(topic, 1);
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(dir.path());
    let schema = json!({
        "schemaName": "accounts",
        "dimensionFieldSpecs": [
            {"name": "id", "dataType": "INT"},
            {"name": "name", "dataType": "STRING"},
            {"name": "deleted", "dataType": "BOOLEAN"}
        ],
        "metricFieldSpecs": [{"name": "balance", "dataType": "DOUBLE"}],
        "dateTimeFieldSpecs": [{"name": "ts", "dataType": "LONG", "format": "1:MILLISECONDS:EPOCH", "granularity": "1:MILLISECONDS"}],
        "primaryKeyColumns": ["id"]
    });
    let mut table = kafka::table(
        &cluster,
        topic,
        json!({"realtime.segment.flush.threshold.segment.rows": "100"}),
    );
    table["tableName"] = json!("accounts");
    table["segmentsConfig"]["timeColumnName"] = json!("ts");
    table["tableIndexConfig"] = json!({});
    table["upsertConfig"] = json!({"mode": "FULL", "deleteRecordColumn": "deleted"});
    if stream == Stream::Debezium {
        table["ingestionConfig"]["streamIngestionConfig"]["streamConfigMaps"][0]
            ["stream.kafka.decoder.prop.format"] = json!("debezium");
    }
    let (code, body) = call(&server.url, "POST", "/schemas", &schema.to_string());
    assert_eq!(code, 200, "{body}");
    let (code, body) = call(&server.url, "POST", "/tables", &table.to_string());
    assert_eq!(code, 200, "{body}");

    // Three segments of 100 messages: inserts; updates, deletes and
    // inserts; deletes, a re-insert, a key inserted then deleted, and
    // updates that arrive late (older than the version held: they lose).
    let mut events: Vec<(i64, i64, bool, bool)> = Vec::new();
    events.extend((0..100).map(|id| (id, 0, false, false)));
    events.extend((0..50).map(|id| (id, 1, false, false)));
    events.extend((50..75).map(|id| (id, 0, true, false)));
    events.extend((100..125).map(|id| (id, 0, false, false)));
    events.extend((0..10).map(|id| (id, 0, true, false)));
    events.push((60, 2, false, false));
    events.push((200, 0, false, false));
    events.push((200, 0, true, false));
    events.extend((125..209).map(|id| (id, 0, false, false)));
    events.extend((20..23).map(|id| (id, 9, false, true)));
    assert_eq!(events.len(), 300);
    let mut seen = std::collections::BTreeSet::new();
    let messages: Vec<(String, Option<String>)> = events
        .iter()
        .enumerate()
        .map(|(at, event)| change_message(stream, at, *event, seen.insert(event.0)))
        .collect();
    let mut model: std::collections::BTreeMap<i64, (String, f64)> = Default::default();
    for (id, version, deleted, late) in &events {
        if *late {
            continue;
        }
        if *deleted {
            model.remove(id);
        } else {
            let balance = *id as f64 + *version as f64 * 100.0;
            model.insert(*id, (format!("user {id} v{version}"), balance));
        }
    }

    let mut checks = Vec::new();
    for (scheme, url) in &targets {
        let service = parse_service(url);
        let suffix = unique();
        let target = format!("accounts_{suffix}");
        let name = format!("{scheme}-deletes-{suffix}");
        let config = json!({
            "connector.class": "jdbc",
            "topics": topic,
            "connection.url": format!("jdbc:{scheme}://{}/{}", service.address, service.database),
            "connection.user": service.user,
            "connection.password": service.password,
            "table.name.format": target,
            "insert.mode": "upsert",
            "pk.mode": "record_key",
            "delete.enabled": "true",
            "auto.create": "true",
        });
        create_connector(&server.url, &name, &config);
        checks.push((*scheme, url.clone(), target, name));
    }
    kafka::produce_keyed(&kafka::producer(&cluster), topic, &messages, 0);
    for (scheme, url, target, name) in checks {
        let mut last = Value::Null;
        let done = wait_until(WAIT, || {
            last = status(&server.url, &name);
            last["watermark"]["accounts_REALTIME"]["segmentsExported"] == 3
                && last["lag"]["segments"] == 0
                && last["lastError"].is_null()
        });
        assert!(done, "{name} did not export the three segments: {last:#}");
        let (_, answer) = call(
            &server.url,
            "POST",
            "/query/sql",
            &json!({"sql": "SELECT COUNT(*), SUM(balance) FROM accounts"}).to_string(),
        );
        let row = &answer["resultTable"]["rows"][0];
        assert_eq!(row[0], json!(model.len()), "{answer}");
        let total: f64 = model.values().map(|(_, balance)| balance).sum();
        assert_eq!(row[1].as_f64(), Some(total), "{answer}");
        let found: Vec<(i64, String, f64)> = if scheme == "postgresql" {
            let pg = Pg::connect(&url, &target, &name);
            let sql = format!(
                "SELECT id, name, balance FROM {} ORDER BY id",
                pg_quote(&target)
            );
            pg.query(&sql, &[])
                .iter()
                .map(|row| (row.get::<_, i32>(0) as i64, row.get(1), row.get(2)))
                .collect()
        } else {
            let mut my = My::connect(&url, &target, &name);
            let sql = format!(
                "SELECT id, name, balance FROM {} ORDER BY id",
                my_quote(&target)
            );
            my.rows::<(i64, String, f64), _>(&sql, ())
        };
        let expected: Vec<(i64, String, f64)> = model
            .iter()
            .map(|(id, (name, balance))| (*id, name.clone(), *balance))
            .collect();
        assert_eq!(found, expected, "{scheme}");
    }
}

/// The directory `tests/services.sh` keeps the test CA's certificate
/// (`ca.pem`) and PostgreSQL's client certificate in (`client.pem`,
/// `client.key`), made the server's GAMAY_SECRETS_DIR so URLs can name them.
fn tls_dir() -> Option<String> {
    static SET: Once = Once::new();
    let dir = service("GAMAY_TEST_TLS_DIR")?;
    SET.call_once(|| std::env::set_var("GAMAY_SECRETS_DIR", &dir));
    Some(dir)
}

/// Waits for connector `name` to report an error; returns it.
fn wait_failed(url: &str, name: &str) -> String {
    let mut last = Value::Null;
    let failed = wait_until(WAIT, || {
        last = status(url, name);
        last["lastError"].is_string()
    });
    assert!(failed, "connector {name} did not fail: {last:#}");
    last["lastError"].as_str().unwrap_or_default().to_string()
}

/// One connector of a TLS test: its name, target table and URL parameters,
/// and what must become of it (rows written, or an error holding the text).
struct TlsCase {
    name: String,
    target: String,
    url: String,
    fails_with: Option<&'static str>,
}

/// Exports the same 600 rows through every case's connector at once and
/// checks each: its rows arrived (counted by `count`), or it failed saying why.
fn run_tls_cases(
    cases: &[TlsCase],
    config: impl Fn(&TlsCase) -> Value,
    count: impl Fn(&TlsCase) -> i64,
) {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(dir.path());
    create_table(&server.url);
    ingest(&server.url, &rows(0..600, 0));
    for case in cases {
        create_connector(&server.url, &case.name, &config(case));
    }
    for case in cases {
        match case.fails_with {
            None => {
                wait_caught_up(&server.url, &case.name, 600, WAIT);
                assert_eq!(count(case), 600, "{}", case.url);
            }
            Some(needle) => {
                let err = wait_failed(&server.url, &case.name);
                assert!(
                    err.contains(needle),
                    "{}: {needle:?} not in {err:?}",
                    case.url
                );
                assert_eq!(count(case), 0, "{}", case.url);
            }
        }
    }
}

/// The JDBC sink over TLS to PostgreSQL as the role gamay_tls, which
/// pg_hba.conf lets in over TLS only (so an export that lands was
/// encrypted), and gamay_cert, which it lets in with the test CA's client
/// certificate only. The server's certificate holds 127.0.0.1 and not
/// `localhost`: verify-full refuses it under that name, verify-ca and
/// require take it; without sslrootcert the test CA is not trusted; a plain
/// session is refused.
#[test]
fn postgres_over_tls_checks_what_sslmode_says() {
    let (Some(url), Some(admin), Some(_)) = (
        service("GAMAY_TEST_POSTGRES_TLS"),
        service("GAMAY_TEST_POSTGRES"),
        tls_dir(),
    ) else {
        return;
    };
    let tls_service = parse_service(&url);
    let port = tls_service.address.rsplit_once(':').unwrap().1.to_string();
    let suffix = unique();
    let case = |tag: &str, host: &str, params: &str, fails_with| TlsCase {
        name: format!("pg-tls-{tag}-{suffix}"),
        target: format!("trades_tls_{tag}_{suffix}"),
        url: format!("jdbc:postgresql://{host}:{port}/gamay_test?{params}"),
        fails_with,
    };
    let cases = [
        case(
            "full",
            "127.0.0.1",
            "sslmode=verify-full&sslrootcert=ca.pem",
            None,
        ),
        case("ssl", "127.0.0.1", "ssl=true&sslrootcert=ca.pem", None),
        case(
            "ca",
            "localhost",
            "sslmode=verify-ca&sslrootcert=ca.pem",
            None,
        ),
        case("require", "localhost", "sslmode=require", None),
        case("prefer", "127.0.0.1", "", None),
        case("allow", "127.0.0.1", "sslmode=allow", None),
        case(
            "cert",
            "127.0.0.1",
            "sslmode=verify-full&sslrootcert=ca.pem&sslcert=client.pem&sslkey=client.key",
            None,
        ),
        case(
            "plain",
            "127.0.0.1",
            "sslmode=disable",
            Some("no encryption"),
        ),
        case(
            "name",
            "localhost",
            "sslmode=verify-full&sslrootcert=ca.pem",
            Some("certificate not valid for name \"localhost\""),
        ),
        case(
            "roots",
            "127.0.0.1",
            "sslmode=verify-ca",
            Some("UnknownIssuer"),
        ),
    ];
    let checks: Vec<Pg> = cases
        .iter()
        .map(|case| Pg::connect(&admin, &case.target, &case.name))
        .collect();
    let config = |case: &TlsCase| {
        let mut config = jdbc("postgresql", &tls_service, "-", &case.target, "insert");
        config["connection.url"] = json!(case.url);
        if case.name.contains("-cert-") {
            config["connection.user"] = json!("gamay_cert");
            config
                .as_object_mut()
                .unwrap()
                .remove("connection.password");
        }
        config
    };
    let count = |case: &TlsCase| {
        let index = cases.iter().position(|c| c.name == case.name).unwrap();
        checks[index].count()
    };
    run_tls_cases(&cases, config, count);
}

/// The JDBC sink over TLS to MariaDB as the user gamay_tls, created
/// `REQUIRE SSL`, with Connector/J's and MariaDB Connector/J's parameters:
/// VERIFY_IDENTITY refuses the certificate under `localhost`, VERIFY_CA and
/// REQUIRED take it, the CA may be given as PEM text, and the drivers'
/// defaults differ (MariaDB's does not encrypt, so it is refused).
#[test]
fn mariadb_over_tls_checks_what_ssl_mode_says() {
    let (Some(url), Some(admin), Some(dir)) = (
        service("GAMAY_TEST_MYSQL_TLS"),
        service("GAMAY_TEST_MYSQL"),
        tls_dir(),
    ) else {
        return;
    };
    let tls_service = parse_service(&url);
    let port = tls_service.address.rsplit_once(':').unwrap().1.to_string();
    let suffix = unique();
    let pem = std::fs::read_to_string(std::path::Path::new(&dir).join("ca.pem")).unwrap();
    let inline: String = pem
        .bytes()
        .map(|b| match b {
            b'\n' => "%0A".to_string(),
            b' ' => "%20".to_string(),
            b'+' => "%2B".to_string(),
            _ => char::from(b).to_string(),
        })
        .collect();
    let case = |tag: &str, scheme: &str, host: &str, params: &str, fails_with| TlsCase {
        name: format!("my-tls-{tag}-{suffix}"),
        target: format!("trades_tls_{tag}_{suffix}"),
        url: format!("jdbc:{scheme}://{host}:{port}/gamay_test?{params}"),
        fails_with,
    };
    let cases = [
        case(
            "full",
            "mysql",
            "127.0.0.1",
            "sslMode=VERIFY_IDENTITY&serverSslCert=ca.pem",
            None,
        ),
        case(
            "ca",
            "mysql",
            "localhost",
            "sslMode=VERIFY_CA&serverSslCert=ca.pem",
            None,
        ),
        case(
            "legacy",
            "mysql",
            "localhost",
            "useSSL=true&requireSSL=true&verifyServerCertificate=false",
            None,
        ),
        case("preferred", "mysql", "127.0.0.1", "", None),
        case(
            "mariadb",
            "mariadb",
            "127.0.0.1",
            &format!("useSsl=true&serverSslCert={inline}"),
            None,
        ),
        case("trust", "mariadb", "localhost", "sslMode=trust", None),
        case(
            "plain",
            "mysql",
            "127.0.0.1",
            "useSSL=false",
            Some("Access denied"),
        ),
        case("default", "mariadb", "127.0.0.1", "", Some("Access denied")),
        case(
            "name",
            "mysql",
            "localhost",
            "sslMode=VERIFY_IDENTITY&serverSslCert=ca.pem",
            Some("certificate not valid for name \"localhost\""),
        ),
        case(
            "roots",
            "mysql",
            "127.0.0.1",
            "sslMode=VERIFY_CA",
            Some("UnknownIssuer"),
        ),
    ];
    let checks: Vec<std::cell::RefCell<My>> = cases
        .iter()
        .map(|case| std::cell::RefCell::new(My::connect(&admin, &case.target, &case.name)))
        .collect();
    let config = |case: &TlsCase| {
        let mut config = jdbc("mysql", &tls_service, "-", &case.target, "insert");
        config["connection.url"] = json!(case.url);
        config
    };
    let count = |case: &TlsCase| {
        let index = cases.iter().position(|c| c.name == case.name).unwrap();
        checks[index].borrow_mut().count()
    };
    run_tls_cases(&cases, config, count);
}
