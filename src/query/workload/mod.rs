//! Workload isolation: how many queries run at once, the queues the rest
//! wait in, and the two lanes work runs in.
//!
//! - The interactive lane runs single-table queries at normal priority. At
//!   most [`WorkloadConfig::max_running`] of them run at once; the rest
//!   wait, first come first served, while their timeout allows.
//! - The background lane runs at a lower OS priority (`nice`): the
//!   multi-stage engine (joins, subqueries), queries sent with Pinot's
//!   `isSecondaryWorkload=true`, and single-table queries that have worked
//!   longer than [`WorkloadConfig::background_after`]. Such a query gives
//!   back its interactive slot and its remaining segments run on the
//!   background pool ([`job`]). Multi-stage and secondary queries hold one
//!   of [`WorkloadConfig::max_background`] background slots.
//!
//! So a runaway join or a scan of every row can take the cores only while
//! no dashboard query wants them, and cannot fill the interactive slots.

mod admission;
pub mod job;

use std::time::Duration;

pub use admission::{Lane, Slot};

/// Interactive queries running at once, per core, by default.
pub const DEFAULT_RUNNING_PER_CORE: usize = 4;
/// Queries waiting for a slot, by default; more are refused at once.
pub const DEFAULT_MAX_QUEUED: usize = 1000;
/// Work after which a single-table query moves to the background lane.
pub const DEFAULT_BACKGROUND_AFTER: Duration = Duration::from_millis(100);
/// The `nice` value of the background lane's threads.
pub const DEFAULT_BACKGROUND_NICE: i32 = 10;

/// The limits of both lanes (`--max-running-queries` and the rest).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadConfig {
    /// Interactive queries running at once.
    pub max_running: usize,
    /// Multi-stage and secondary queries running at once.
    pub max_background: usize,
    /// Queries waiting for a slot, in each lane.
    pub max_queued: usize,
    /// Segment work after which a single-table query moves to the
    /// background lane.
    pub background_after: Duration,
    /// The background threads' `nice` (0 to 19; 0 gives no precedence).
    pub background_nice: i32,
    /// Bytes of sealed segments' answers kept (`query::result_cache`).
    pub result_cache_bytes: u64,
}

impl WorkloadConfig {
    /// Defaults for a machine with `cores` cores.
    pub fn for_cores(cores: usize) -> WorkloadConfig {
        WorkloadConfig {
            max_running: DEFAULT_RUNNING_PER_CORE * cores.max(1),
            max_background: cores.max(2),
            max_queued: DEFAULT_MAX_QUEUED,
            background_after: DEFAULT_BACKGROUND_AFTER,
            background_nice: DEFAULT_BACKGROUND_NICE,
            result_cache_bytes: crate::query::result_cache::DEFAULT_BUDGET,
        }
    }
}

impl Default for WorkloadConfig {
    fn default() -> WorkloadConfig {
        WorkloadConfig::for_cores(cores())
    }
}

/// The cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Lowers the calling thread's scheduling priority to `nice` (Linux
/// schedules threads, so this touches no other thread). Raising it back
/// would need privileges, so a thread that calls this stays background.
pub fn lower_thread_priority(nice: i32) {
    if nice <= 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread's own id.
        let result = unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice.min(19))
        };
        if result != 0 {
            tracing::warn!(
                error = %std::io::Error::last_os_error(),
                "cannot lower a background thread's priority"
            );
        }
    }
}

/// The calling thread's `nice` value (Linux), for tests.
#[cfg(all(test, target_os = "linux"))]
pub fn thread_priority() -> i32 {
    // SAFETY: plain system calls on the calling thread's own id.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
}

#[cfg(test)]
mod tests;
