//! Queries stop when they should: at their deadline, when their caller goes
//! away, and when they pass one of their limits, on every core that works
//! for them.

use crate::auth::Principal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::broker::{Broker, QueryServer, Reply};
use super::docs::DocSet;
use super::error::{
    QueryError, EXECUTION_TIMEOUT, QUERY_SCHEDULING_TIMEOUT, RESOURCE_LIMIT_EXCEEDED,
    SERVER_OUT_OF_CAPACITY,
};
use super::exec::{Deadline, Limits, RunningQueries, TIMED_OUT};
use super::filter::{Filter, FilterStats};
use super::multistage::MultiStage;
use super::options::QueryOptions;
use super::plan::Plan;
use super::source::{AbsentColumn, ColumnSource};
use super::workload::WorkloadConfig;
use crate::catalog::{self, Catalog};
use crate::expr::value::{ColumnType, Kind, Value};
use crate::expr::{BinOp, ColumnRef, Expr};
use crate::server::Server;

const SCHEMA: &str = include_str!("../../tests/sql/data/trades.schema.json");
const TABLE: &str = include_str!("../../tests/sql/data/trades.table.json");

/// Waits (up to a minute: generous, the state change is what counts) until
/// `done` holds.
pub(crate) async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "still waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn a_cancelled_deadline_stops_a_filter_scan_before_its_next_batch() {
    let column = ColumnRef {
        name: "price".into(),
        ty: ColumnType::Double,
        default: Value::Double(1.0),
    };
    let source: Box<dyn ColumnSource> = Box::new(AbsentColumn {
        default: Value::Double(1.0),
        kind: Kind::Double,
        single_value: true,
        num_docs: 1 << 20,
    });
    let columns = [("price".to_string(), source)].into_iter().collect();
    // An expression the indexes cannot answer: every doc is evaluated.
    let filter = Filter::Expr(Expr::Binary {
        op: BinOp::Gt,
        left: Box::new(Expr::Column(column)),
        right: Box::new(Expr::Literal(Value::Double(0.0))),
    });
    let docs = DocSet::Range(0, 1 << 20);

    let deadline = Deadline::new(Instant::now() + Duration::from_secs(3600));
    let mut stats = FilterStats::until(&deadline);
    let matched = filter.docs(&columns, &docs, &mut stats).unwrap();
    assert_eq!(matched.len(), 1 << 20);

    deadline.cancel();
    let mut stats = FilterStats::until(&deadline);
    let err = filter.docs(&columns, &docs, &mut stats).unwrap_err();
    assert_eq!(err.to_string(), TIMED_OUT);
    assert_eq!(
        stats.entries_scanned, 0,
        "no batch is scanned once cancelled"
    );
}

/// A server that works on every query until the query is cancelled or
/// its deadline passes, holding the query's deadline meanwhile.
struct UntilStopped;

impl QueryServer for UntilStopped {
    fn query(
        &self,
        _: Arc<Plan>,
        _: Vec<String>,
        _: Option<Arc<Vec<String>>>,
        deadline: Arc<Deadline>,
        reply: Reply,
    ) {
        std::thread::spawn(move || {
            while deadline.check().is_ok() {
                std::thread::sleep(Duration::from_millis(5));
            }
            reply(Err(QueryError::new(EXECUTION_TIMEOUT, TIMED_OUT)));
        });
    }
}

/// A broker over the trades table whose only server is `query_server`.
fn broker_with(query_server: Arc<dyn QueryServer>) -> (tempfile::TempDir, Arc<Broker>) {
    broker_limited(query_server, WorkloadConfig::for_cores(1))
}

/// [`broker_with`], with `workload`'s slots and queues.
fn broker_limited(
    query_server: Arc<dyn QueryServer>,
    workload: WorkloadConfig,
) -> (tempfile::TempDir, Arc<Broker>) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::open(dir.path()).unwrap();
    catalog
        .add_schema(
            catalog::parse(SCHEMA.as_bytes(), "schema").unwrap(),
            false,
            false,
        )
        .unwrap();
    catalog
        .add_table(catalog::parse(TABLE.as_bytes(), "table").unwrap())
        .unwrap();
    let server = Arc::new(Server::open(dir.path(), &catalog).unwrap());
    let catalog = Arc::new(catalog);
    let multistage = MultiStage::new(catalog.clone(), server, 1, 0).unwrap();
    let broker = Broker::new(
        catalog,
        Arc::new(crate::query::Single(query_server)),
        Arc::new(multistage),
        &workload,
    );
    (dir, Arc::new(broker))
}

#[tokio::test]
async fn a_dropped_or_timed_out_query_stops_its_servers_work() {
    let (_dir, broker) = broker_with(Arc::new(UntilStopped));
    let running: RunningQueries = broker.running();

    // A caller that goes away: the future is dropped mid-query.
    let task = tokio::spawn({
        let broker = broker.clone();
        async move {
            let sql = "SET timeoutMs = 3600000; SELECT COUNT(*) FROM trades";
            broker
                .run(sql, QueryOptions::default(), &Principal::anonymous())
                .await
        }
    });
    eventually("the query to start", || running.get() == 1).await;
    task.abort();
    eventually("the dropped query's work to stop", || running.get() == 0).await;

    // A timeout answers and stops the work too.
    let (_, error) = broker
        .run(
            "SET timeoutMs = 100; SELECT COUNT(*) FROM trades",
            QueryOptions::default(),
            &Principal::anonymous(),
        )
        .await;
    assert_eq!(error.map(|e| e.code), Some(EXECUTION_TIMEOUT));
    eventually("the timed-out query's work to stop", || running.get() == 0).await;
}

#[tokio::test]
async fn queries_past_the_running_limit_wait_in_line_until_their_timeout() {
    let workload = WorkloadConfig {
        max_running: 1,
        max_queued: 1,
        ..WorkloadConfig::for_cores(1)
    };
    let (_dir, broker) = broker_limited(Arc::new(UntilStopped), workload);
    let running = broker.running();
    let queued = |broker: &Broker| {
        broker
            .queued()
            .iter()
            .map(|(_, count)| count.load(std::sync::atomic::Ordering::Relaxed))
            .sum::<usize>()
    };
    let run = |sql: &'static str| {
        let broker = broker.clone();
        tokio::spawn(async move {
            broker
                .run(sql, QueryOptions::default(), &Principal::anonymous())
                .await
                .1
        })
    };
    // The first query holds the only slot until it is dropped.
    let first = run("SET timeoutMs = 3600000; SELECT COUNT(*) FROM trades");
    eventually("the first query to run", || running.get() == 1).await;
    // The second waits in line, within its timeout.
    let second = run("SET timeoutMs = 3600000; SELECT SUM(shares) FROM trades");
    eventually("the second query to queue", || queued(&broker) == 1).await;
    // The line is full: a third is refused at once.
    let third = run("SELECT MAX(price) FROM trades").await.unwrap().unwrap();
    assert_eq!(third.code, SERVER_OUT_OF_CAPACITY);
    // The first goes away: the second gets its slot.
    first.abort();
    eventually("the second query to run", || {
        queued(&broker) == 0 && running.get() == 1
    })
    .await;
    // A query whose timeout passes in line says what it waited for.
    let (_, error) = broker
        .run(
            "SET timeoutMs = 50; SELECT MIN(price) FROM trades",
            QueryOptions::default(),
            &Principal::anonymous(),
        )
        .await;
    let error = error.unwrap();
    assert_eq!(error.code, QUERY_SCHEDULING_TIMEOUT);
    assert!(error.message.contains("--max-running-queries"), "{error}");
    second.abort();
    eventually("every query to stop", || running.get() == 0).await;
}

#[test]
fn the_first_limit_passed_stops_every_task_with_its_reason() {
    let limits = Limits {
        rows_scanned: 10,
        state_bytes: 100,
        result_rows: 5,
    };
    let deadline = Deadline::new(Instant::now() + Duration::from_secs(3600)).with_limits(limits);
    deadline.scanned(6).unwrap();
    deadline.hold(60).unwrap();
    deadline.release(60);
    deadline.hold(100).unwrap();
    let message = deadline.scanned(5).unwrap_err().to_string();
    assert!(message.contains("scanned 11 rows"), "{message}");
    assert!(message.contains("SET maxRowsScanned = "), "{message}");
    // Every other task stops at its next check, for the same reason.
    assert_eq!(deadline.check().unwrap_err().to_string(), message);
    let _ = deadline.hold(1).unwrap_err();
    let failure = deadline.failure().unwrap();
    assert_eq!(failure.code, RESOURCE_LIMIT_EXCEEDED);
    assert_eq!(failure.message, message, "the first reason stays");
}
