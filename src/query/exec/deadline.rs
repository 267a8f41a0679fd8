//! When a query must stop, shared by every task working on it, on every
//! core: its deadline, a cancellation flag, and the limits it runs under
//! (rows scanned, bytes of state held). Tasks check it once per batch of
//! docs. The broker raises the flag when the query times out and when its
//! caller goes away ([`CancelOnDrop`]); a task that finds a limit passed
//! records why ([`Deadline::fail`]) and raises it too, so the other tasks
//! stop as well. While any task still holds it, the query counts as
//! running ([`RunningQueries`]) and keeps its workload slot, unless it
//! has moved to the background lane ([`Deadline::leave_lane`]).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use tokio::sync::OwnedSemaphorePermit;

use crate::query::error::{ExecError, QueryError};
use crate::query::options::QueryOptions;
use crate::sync::Recover;

/// The message of [`ExecError::TimedOut`].
pub const TIMED_OUT: &str = "the query ran past its timeout";

/// The limits a query's tasks enforce together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// `maxRowsScanned`: docs read after the filters, over all segments.
    pub rows_scanned: u64,
    /// `maxQueryMemoryBytes`: bytes of group-by, DISTINCT and kept-row
    /// state held at once, over all segments (estimated).
    pub state_bytes: u64,
    /// `maxResultRows`.
    pub result_rows: u64,
}

impl Limits {
    pub const NONE: Limits = Limits {
        rows_scanned: u64::MAX,
        state_bytes: u64::MAX,
        result_rows: u64::MAX,
    };

    pub fn of(options: &QueryOptions) -> Limits {
        Limits {
            rows_scanned: options.max_rows_scanned,
            state_bytes: options.max_query_memory_bytes,
            result_rows: options.max_result_rows,
        }
    }
}

#[derive(Debug)]
pub struct Deadline {
    pub at: Instant,
    pub cancelled: AtomicBool,
    pub limits: Limits,
    rows_scanned: AtomicU64,
    state_bytes: AtomicU64,
    /// Why the query stopped, when a task found a limit passed.
    failure: OnceLock<QueryError>,
    _running: Option<RunningToken>,
    /// The workload slot the query holds (see `query::workload`).
    slot: Mutex<Option<OwnedSemaphorePermit>>,
}

impl Deadline {
    /// A deadline at `at` with no limits, counted nowhere.
    pub fn new(at: Instant) -> Deadline {
        Deadline {
            at,
            cancelled: AtomicBool::new(false),
            limits: Limits::NONE,
            rows_scanned: AtomicU64::new(0),
            state_bytes: AtomicU64::new(0),
            failure: OnceLock::new(),
            _running: None,
            slot: Mutex::new(None),
        }
    }

    /// The deadline of a query with `options` that arrived at `started`,
    /// counted in `running` and holding `slot` until dropped.
    pub fn tracked(
        options: &QueryOptions,
        started: Instant,
        running: &RunningQueries,
        slot: OwnedSemaphorePermit,
    ) -> Deadline {
        Deadline {
            limits: Limits::of(options),
            _running: Some(running.enter()),
            slot: Mutex::new(Some(slot)),
            ..Deadline::new(started + options.timeout())
        }
    }

    /// Gives back the query's workload slot: it has moved to the
    /// background lane, where it no longer keeps another query waiting.
    pub fn leave_lane(&self) {
        let slot = self.slot.locked().take();
        drop(slot);
    }

    pub fn with_limits(self, limits: Limits) -> Deadline {
        Deadline { limits, ..self }
    }

    /// `Err` once the query must stop: the reason a task recorded, or
    /// [`ExecError::TimedOut`].
    pub fn check(&self) -> Result<(), ExecError> {
        if self.cancelled.load(Ordering::Relaxed) || Instant::now() >= self.at {
            self.cancel();
            return Err(match self.failure.get() {
                Some(error) => ExecError::Stopped(error.clone()),
                None => ExecError::TimedOut,
            });
        }
        Ok(())
    }

    /// Tells every task of the query to stop at its next check.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Stops the query for `error` (the first recorded wins) and returns
    /// it, for the task's own `Err`.
    pub fn fail(&self, error: QueryError) -> ExecError {
        let _ = self.failure.set(error.clone());
        self.cancel();
        ExecError::Stopped(error)
    }

    /// Why the query stopped, if a task found a limit passed.
    pub fn failure(&self) -> Option<QueryError> {
        self.failure.get().cloned()
    }

    /// Counts `rows` more rows read after the filters.
    pub fn scanned(&self, rows: u64) -> Result<(), ExecError> {
        let total = self.rows_scanned.fetch_add(rows, Ordering::Relaxed) + rows;
        if total > self.limits.rows_scanned {
            return Err(self.fail(QueryError::limit(
                format!(
                    "the query scanned {total} rows so far, more than the limit of {}; narrow its filters",
                    self.limits.rows_scanned
                ),
                "maxRowsScanned",
            )));
        }
        Ok(())
    }

    /// Counts `bytes` more of state held by the query's tasks.
    pub fn hold(&self, bytes: u64) -> Result<(), ExecError> {
        let total = self.state_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if total > self.limits.state_bytes {
            return Err(self.fail(QueryError::limit(
                format!(
                    "the query held about {total} bytes of groups, distinct values and rows, more than its memory limit of {} bytes",
                    self.limits.state_bytes
                ),
                "maxQueryMemoryBytes",
            )));
        }
        Ok(())
    }

    /// Counts `bytes` of state no longer held (at most what was held).
    pub fn release(&self, bytes: u64) {
        let _ = self
            .state_bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                Some(held.saturating_sub(bytes))
            });
    }

    /// `Err` when a result of `rows` rows is past `maxResultRows`.
    pub fn result_rows(&self, rows: u64) -> Result<(), ExecError> {
        if rows > self.limits.result_rows {
            return Err(self.fail(result_rows_error(self.limits.result_rows)));
        }
        Ok(())
    }
}

/// The bytes one task holds of its query's memory limit.
#[derive(Debug, Default)]
pub struct Held(u64);

impl Held {
    /// Makes the task's holding `bytes`, charging `deadline` with the
    /// difference or giving it back.
    pub fn set(&mut self, bytes: u64, deadline: &Deadline) -> Result<(), ExecError> {
        if bytes == self.0 {
            return Ok(());
        }
        if bytes > self.0 {
            deadline.hold(bytes - self.0)?;
        } else {
            deadline.release(self.0 - bytes);
        }
        self.0 = bytes;
        Ok(())
    }
}

/// The error of a result past `maxResultRows`.
pub fn result_rows_error(limit: u64) -> QueryError {
    QueryError::limit(
        format!("the result has more than {limit} rows, the most a query may return; a LIMIT keeps it smaller"),
        "maxResultRows",
    )
}

/// Cancels a query when dropped: held by the future that waits for the
/// query's answer, so a caller that goes away (a client that disconnects,
/// a timeout around the future) stops the work it started.
pub struct CancelOnDrop(pub Arc<Deadline>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// How many queries have work in flight: a query counts from the moment
/// its [`Deadline`] is made until the last task holding it lets go, so a
/// query stopped by a timeout or a disconnect leaves the count only once
/// its work has really stopped.
#[derive(Debug, Clone, Default)]
pub struct RunningQueries(Arc<AtomicUsize>);

impl RunningQueries {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    fn enter(&self) -> RunningToken {
        self.0.fetch_add(1, Ordering::Relaxed);
        RunningToken(self.0.clone())
    }
}

#[derive(Debug)]
struct RunningToken(Arc<AtomicUsize>);

impl Drop for RunningToken {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
