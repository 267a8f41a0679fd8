//! Query quotas: Pinot's `quota.maxQueriesPerSecond` of a table config,
//! enforced per raw table name with a token bucket that holds one second's
//! worth of queries, so a burst up to the quota passes and a steady rate
//! above it is refused with Pinot's error 429.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use super::error::{QueryError, TOO_MANY_REQUESTS};
use crate::catalog::TableEntry;
use crate::sync::Recover;

struct Bucket {
    rate: f64,
    tokens: f64,
    at: Instant,
}

/// The buckets of the tables that have a quota.
#[derive(Default)]
pub struct Quotas {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Quotas {
    /// Takes one query from `table`'s quota (the smallest one its OFFLINE
    /// and REALTIME configs set), or refuses when it is spent.
    pub fn admit(
        &self,
        table: &str,
        entries: &[std::sync::Arc<TableEntry>],
    ) -> Result<(), QueryError> {
        let Some(rate) = entries
            .iter()
            .filter_map(|entry| {
                entry
                    .config
                    .quota
                    .as_ref()?
                    .max_queries_per_second
                    .as_ref()?
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .filter(|rate| *rate > 0.0 && rate.is_finite())
            .reduce(f64::min)
        else {
            return Ok(());
        };
        self.take(table, rate, Instant::now())
    }

    fn take(&self, table: &str, rate: f64, now: Instant) -> Result<(), QueryError> {
        let mut buckets = self.buckets.locked();
        let bucket = buckets.entry(table.to_string()).or_insert(Bucket {
            rate,
            tokens: rate.max(1.0),
            at: now,
        });
        if bucket.rate != rate {
            // The quota changed: start from a full bucket at the new rate.
            *bucket = Bucket {
                rate,
                tokens: rate.max(1.0),
                at: now,
            };
        }
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(rate.max(1.0));
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(QueryError::new(
                TOO_MANY_REQUESTS,
                format!(
                    "Request exceeds query quota for table {table}: the table config's quota.maxQueriesPerSecond is {rate}; retry later or raise the quota"
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_up_to_the_quota_passes_and_the_rate_refills() {
        let quotas = Quotas::default();
        let start = Instant::now();
        for _ in 0..5 {
            quotas.take("t", 5.0, start).unwrap();
        }
        let refused = quotas.take("t", 5.0, start).unwrap_err();
        assert_eq!(refused.code, TOO_MANY_REQUESTS);
        assert!(refused.message.contains("quota.maxQueriesPerSecond is 5"));
        // Another table has its own bucket.
        quotas.take("u", 5.0, start).unwrap();
        // A fifth of a second later, one more query is allowed.
        let later = start + Duration::from_millis(200);
        quotas.take("t", 5.0, later).unwrap();
        assert!(quotas.take("t", 5.0, later).is_err());
        // A changed quota starts afresh.
        quotas.take("t", 50.0, later).unwrap();
    }

    #[test]
    fn a_quota_under_one_still_allows_one_query() {
        let quotas = Quotas::default();
        let start = Instant::now();
        quotas.take("t", 0.5, start).unwrap();
        assert!(quotas
            .take("t", 0.5, start + Duration::from_millis(100))
            .is_err());
        quotas
            .take("t", 0.5, start + Duration::from_secs(2))
            .unwrap();
    }
}
