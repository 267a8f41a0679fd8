//! Slots and queues, the background lane's priority, and the move of a
//! long-working query to the background pool.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use tokio::sync::Semaphore;

use super::job::{Pools, SegmentResult};
use super::{Lane, WorkloadConfig};
use crate::catalog::{self, Schema, TableConfig};
use crate::ingest::rows::json_row;
use crate::query::error::{QUERY_SCHEDULING_TIMEOUT, SERVER_OUT_OF_CAPACITY};
use crate::query::exec::{execute, Deadline, Partial, RunningQueries};
use crate::query::options::QueryOptions;
use crate::query::plan::Plan;
use crate::query::reduce;
use crate::query::source::{MutableSnapshot, SegmentSource};
use crate::query::sql::{self, Route, TableColumns};
use crate::segment::{MutableSegment, SegmentSpec};

#[tokio::test]
async fn a_full_lane_queues_in_order_then_refuses() {
    let lane = Arc::new(Lane::new("interactive", "--max-running-queries", 1, 2));
    let far = Instant::now() + Duration::from_secs(30);
    let first = lane.enter(far).await.unwrap();
    assert_eq!(lane.running(), 1);
    let (order_tx, order_rx) = mpsc::channel();
    let mut waiters = Vec::new();
    for name in ["second", "third"] {
        let (waiter, order_tx) = (lane.clone(), order_tx.clone());
        waiters.push(tokio::spawn(async move {
            let slot = waiter.enter(far).await.unwrap();
            order_tx.send(name).unwrap();
            drop(slot);
        }));
        // The next waiter lines up behind this one.
        while lane.queued() == 0 || (name == "third" && lane.queued() < 2) {
            tokio::task::yield_now().await;
        }
    }
    let refused = lane.enter(far).await.unwrap_err();
    assert_eq!(refused.code, SERVER_OUT_OF_CAPACITY);
    assert!(
        refused.message.contains("--max-queued-queries"),
        "{}",
        refused.message
    );
    drop(first);
    for waiter in waiters {
        waiter.await.unwrap();
    }
    let order: Vec<_> = order_rx.try_iter().collect();
    assert_eq!(order, ["second", "third"]);
    assert_eq!((lane.running(), lane.queued()), (0, 0));
}

#[tokio::test]
async fn a_query_whose_timeout_passes_in_line_says_which_slots_it_waited_for() {
    let lane = Lane::new("background", "--max-background-queries", 1, 10);
    let _held = lane.enter(Instant::now() + Duration::from_secs(30)).await;
    let error = lane
        .enter(Instant::now() + Duration::from_millis(20))
        .await
        .unwrap_err();
    assert_eq!(error.code, QUERY_SCHEDULING_TIMEOUT);
    assert!(
        error.message.contains("--max-background-queries") && error.message.contains("timeoutMs"),
        "{}",
        error.message
    );
    assert_eq!(lane.queued(), 0);
}

#[cfg(target_os = "linux")]
#[test]
fn background_threads_run_at_a_lower_priority() {
    let config = WorkloadConfig {
        background_nice: 7,
        ..WorkloadConfig::for_cores(1)
    };
    let pools = Pools::new(1, &config).unwrap();
    let base = super::thread_priority();
    assert_eq!(pools.priorities(), (base, (base + 7).min(19)));
}

const SCHEMA: &str = include_str!("../../../tests/sql/data/trades.schema.json");
const TABLE: &str = include_str!("../../../tests/sql/data/trades.table.json");
const ROWS: &str = include_str!("../../../tests/sql/data/trades_a.jsonl");

/// `copies` consuming segments of the fixture's rows, and a plan of `sql`.
fn segments(sql: &str, copies: usize) -> (Arc<Plan>, Vec<Arc<dyn SegmentSource>>) {
    let schema: catalog::Parsed<Schema> = catalog::parse(SCHEMA.as_bytes(), "schema").unwrap();
    let table: catalog::Parsed<TableConfig> = catalog::parse(TABLE.as_bytes(), "table").unwrap();
    let spec = Arc::new(SegmentSpec::new(&schema.value, &table.value));
    let rows: Vec<_> = ROWS
        .lines()
        .map(|line| json_row(&serde_json::from_str::<Json>(line).unwrap(), &spec).unwrap())
        .collect();
    let segments = (0..copies)
        .map(|i| {
            let mutable = Arc::new(MutableSegment::new(spec.clone()));
            mutable.append(&rows).unwrap();
            Arc::new(MutableSnapshot::new(format!("trades__0__{i}"), mutable))
                as Arc<dyn SegmentSource>
        })
        .collect();
    let mut options = QueryOptions::default();
    let Route::Single { query, .. } = sql::parse(sql, &mut options).unwrap() else {
        panic!("{sql} is not single-stage");
    };
    let columns = TableColumns::of_schema("trades", &schema.value);
    (
        Arc::new(sql::plan(&query, &columns, options).unwrap()),
        segments,
    )
}

/// Runs `plan` on `segments` through `pools` holding a slot of a
/// one-slot lane; returns the merged rows and whether the slot was free
/// again when the results came (the query still holds its deadline then).
fn run_on(
    pools: &Arc<Pools>,
    plan: &Arc<Plan>,
    segments: &[Arc<dyn SegmentSource>],
) -> (Vec<Vec<crate::expr::value::Value>>, bool) {
    let slots = Arc::new(Semaphore::new(1));
    let slot = slots.clone().try_acquire_owned().unwrap();
    let deadline = Arc::new(Deadline::tracked(
        &plan.options,
        Instant::now(),
        &RunningQueries::default(),
        slot,
    ));
    let (tx, rx) = mpsc::channel::<Vec<SegmentResult>>();
    pools.run(
        plan.clone(),
        segments.to_vec(),
        deadline.clone(),
        false,
        Box::new(move |results| tx.send(results).unwrap()),
    );
    let results = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    let slot_free = slots.available_permits() == 1;
    let partials: Vec<Partial> = results.into_iter().map(|r| r.unwrap().0).collect();
    let merged = reduce::merge(plan, partials).unwrap();
    drop(deadline);
    (reduce::finish(plan, merged).unwrap(), slot_free)
}

#[test]
fn a_query_that_works_long_moves_to_the_background_and_gives_back_its_slot() {
    let sql = "SELECT symbol, COUNT(*), SUM(shares) FROM trades GROUP BY symbol ORDER BY symbol";
    let (plan, segments) = segments(sql, 6);
    let expected = {
        let deadline = Deadline::new(Instant::now() + Duration::from_secs(30));
        let partials = segments
            .iter()
            .map(|segment| execute(&plan, segment.as_ref(), &deadline).unwrap().0)
            .collect();
        reduce::finish(&plan, reduce::merge(&plan, partials).unwrap()).unwrap()
    };
    let moves = |after: Duration| {
        Arc::new(
            Pools::new(
                2,
                &WorkloadConfig {
                    background_after: after,
                    ..WorkloadConfig::for_cores(2)
                },
            )
            .unwrap(),
        )
    };
    // Any work at all is long enough: after its first segment the query
    // runs on the background pool, without its slot.
    let (rows, slot_free) = run_on(&moves(Duration::ZERO), &plan, &segments);
    assert_eq!(rows, expected);
    assert!(slot_free, "the slot is still held after the move");
    // An hour is never reached: the query keeps its slot to the end.
    let (rows, slot_free) = run_on(&moves(Duration::from_secs(3600)), &plan, &segments);
    assert_eq!(rows, expected);
    assert!(!slot_free, "the slot was given back without a move");
}
