//! A lane's slots: a fair (first come, first served) semaphore with a
//! bounded queue. A query waits for a slot while its timeout allows; a
//! full queue refuses it at once, naming the flag that raises the limit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::query::error::{QueryError, QUERY_SCHEDULING_TIMEOUT, SERVER_OUT_OF_CAPACITY};

/// Slots of one lane.
#[derive(Debug)]
pub struct Lane {
    name: &'static str,
    /// The server flag that sets `slots`.
    flag: &'static str,
    slots: usize,
    permits: Arc<Semaphore>,
    max_queued: usize,
    queued: Arc<AtomicUsize>,
}

/// A held slot; dropping it lets the next query in.
pub type Slot = OwnedSemaphorePermit;

impl Lane {
    pub fn new(name: &'static str, flag: &'static str, slots: usize, max_queued: usize) -> Lane {
        let slots = slots.max(1);
        Lane {
            name,
            flag,
            slots,
            permits: Arc::new(Semaphore::new(slots)),
            max_queued,
            queued: Arc::default(),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Queries waiting for a slot now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// The count of waiting queries, for metrics.
    pub fn queued_counter(&self) -> Arc<AtomicUsize> {
        self.queued.clone()
    }

    /// Queries holding a slot now.
    pub fn running(&self) -> usize {
        self.slots - self.permits.available_permits()
    }

    /// A slot, at once or after waiting in line until `until`.
    pub async fn enter(&self, until: Instant) -> Result<Slot, QueryError> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(permit);
        }
        if self.queued.fetch_add(1, Ordering::Relaxed) >= self.max_queued {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(QueryError::new(
                SERVER_OUT_OF_CAPACITY,
                format!(
                    "the server is out of capacity: {} {} queries are running and {} more are waiting, the most --max-queued-queries allows; retry later",
                    self.slots, self.name, self.max_queued
                ),
            ));
        }
        let waited = Instant::now();
        let permit =
            tokio::time::timeout_at(until.into(), self.permits.clone().acquire_owned()).await;
        self.queued.fetch_sub(1, Ordering::Relaxed);
        match permit {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed.
            Ok(Err(_)) => Err(QueryError::new(
                SERVER_OUT_OF_CAPACITY,
                format!("the {} lane is closed", self.name),
            )),
            Err(_) => Err(QueryError::new(
                QUERY_SCHEDULING_TIMEOUT,
                format!(
                    "the query waited {} ms for one of the {} {} query slots and its timeout passed; raise timeoutMs, or {} on the server",
                    waited.elapsed().as_millis(),
                    self.slots,
                    self.name,
                    self.flag
                ),
            )),
        }
    }
}
