//! One query's segments on the two CPU pools. A few drivers (one per
//! thread, at most one per segment) take the next segment in turn. Each
//! adds the time it worked to the query's total; once that passes
//! `background_after`, the query gives back its interactive slot and each
//! driver, at its next segment, moves itself to the background pool,
//! whose threads run at a lower priority. A segment in progress is never
//! interrupted, so the move costs nothing but a hand-off.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{lower_thread_priority, WorkloadConfig};
use crate::query::error::ExecError;
use crate::query::exec::{execute, Deadline, Partial, SegmentStats};
use crate::query::plan::Plan;
use crate::query::source::SegmentSource;
use crate::sync::Recover;

/// What running a plan on one segment gives.
pub type SegmentResult = Result<(Partial, SegmentStats), ExecError>;

/// Called once with the results of every segment, in segment order.
pub type Done = Box<dyn FnOnce(Vec<SegmentResult>) + Send>;

/// The interactive and background CPU pools.
pub struct Pools {
    interactive: rayon::ThreadPool,
    background: rayon::ThreadPool,
    threads: usize,
    background_after: Duration,
}

impl Pools {
    /// Pools of `threads` threads each.
    pub fn new(
        threads: usize,
        config: &WorkloadConfig,
    ) -> Result<Pools, rayon::ThreadPoolBuildError> {
        let threads = threads.max(1);
        let nice = config.background_nice;
        let interactive = pool("gamay-query", threads, None)?;
        let background = pool("gamay-background", threads, Some(nice))?;
        Ok(Pools {
            interactive,
            background,
            threads,
            background_after: config.background_after,
        })
    }

    /// Runs `plan` on `segments`, in the background lane from the start
    /// when `background`, and calls `done` with the results.
    pub fn run(
        self: &Arc<Self>,
        plan: Arc<Plan>,
        segments: Vec<Arc<dyn SegmentSource>>,
        deadline: Arc<Deadline>,
        background: bool,
        done: Done,
    ) {
        let drivers = self.threads.min(segments.len());
        if drivers == 0 {
            return done(Vec::new());
        }
        let job = Arc::new(Job {
            results: Mutex::new((0..segments.len()).map(|_| None).collect()),
            left: AtomicUsize::new(segments.len()),
            plan,
            segments,
            deadline,
            next: AtomicUsize::new(0),
            worked_micros: AtomicU64::new(0),
            background: AtomicBool::new(background),
            done: Mutex::new(Some(done)),
        });
        for _ in 0..drivers {
            let (job, pools) = (job.clone(), self.clone());
            let pool = if background {
                &self.background
            } else {
                &self.interactive
            };
            pool.spawn(move || job.drive(&pools, background));
        }
    }
}

/// A rayon pool whose tasks' panics fail their query, never the process.
fn pool(
    name: &'static str,
    threads: usize,
    nice: Option<i32>,
) -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    let mut builder = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(move |index| format!("{name}-{index}"))
        // A panicking task drops its query's reply, which fails that
        // query; the pool and the process go on.
        .panic_handler(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(%message, "query task panicked");
        });
    if let Some(nice) = nice {
        builder = builder.start_handler(move |_| lower_thread_priority(nice));
    }
    builder.build()
}

/// One query's segments and how far its drivers have got.
struct Job {
    plan: Arc<Plan>,
    segments: Vec<Arc<dyn SegmentSource>>,
    deadline: Arc<Deadline>,
    /// The next segment a driver takes.
    next: AtomicUsize,
    /// Segments not yet done.
    left: AtomicUsize,
    results: Mutex<Vec<Option<SegmentResult>>>,
    /// Time the drivers spent on segments so far.
    worked_micros: AtomicU64,
    /// Whether the query runs in the background lane.
    background: AtomicBool,
    done: Mutex<Option<Done>>,
}

impl Job {
    /// Runs segments until none is left, moving to the background pool
    /// when the query does.
    fn drive(self: &Arc<Self>, pools: &Arc<Pools>, in_background: bool) {
        loop {
            if !in_background && self.to_background(pools) {
                let (job, pools2) = (self.clone(), pools.clone());
                pools.background.spawn(move || job.drive(&pools2, true));
                return;
            }
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(segment) = self.segments.get(index) else {
                return;
            };
            let started = Instant::now();
            let result = execute(&self.plan, segment.as_ref(), &self.deadline);
            self.worked_micros
                .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
            self.results.locked()[index] = Some(result);
            if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
                return self.finish();
            }
        }
    }

    /// Whether the query runs in the background lane, moving it there
    /// once it has worked longer than the pools allow.
    fn to_background(&self, pools: &Pools) -> bool {
        if self.background.load(Ordering::Relaxed) {
            return true;
        }
        let worked = Duration::from_micros(self.worked_micros.load(Ordering::Relaxed));
        if worked < pools.background_after {
            return false;
        }
        if !self.background.swap(true, Ordering::Relaxed) {
            self.deadline.leave_lane();
        }
        true
    }

    fn finish(&self) {
        let results = std::mem::take(&mut *self.results.locked())
            .into_iter()
            .map(|result| {
                result.unwrap_or_else(|| Err(ExecError::Internal("a segment was not run".into())))
            })
            .collect();
        if let Some(done) = self.done.locked().take() {
            done(results);
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
impl Pools {
    /// The `nice` of an interactive and of a background thread.
    pub(super) fn priorities(&self) -> (i32, i32) {
        (
            self.interactive.install(super::thread_priority),
            self.background.install(super::thread_priority),
        )
    }
}
