//! Query options: Pinot's `queryOptions` string (`timeoutMs=500;useStarTree=false`)
//! and `SET key = value;` statements. Unknown keys are accepted and ignored,
//! as Pinot does, so clients that send options Gamay does not use still work.

use std::time::Duration;

use super::error::{QueryError, EXECUTION_TIMEOUT};
use crate::expr::in_list::DEFAULT_MAX_IN_LIST_ITEMS;

/// Pinot's broker default, `pinot.broker.timeoutMs`.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// Pinot's default `numGroupsLimit`.
pub const DEFAULT_NUM_GROUPS_LIMIT: usize = 100_000;
/// Default `maxQueryMemoryBytes`, 1 GiB: a query's DataFusion memory pool,
/// and its group-by, DISTINCT and kept-row state in the single-table
/// engine. The server's default comes from `--max-query-memory-bytes`.
pub const DEFAULT_MAX_QUERY_MEMORY_BYTES: u64 = 1 << 30;
/// Default `maxResultRows`: a million rows are already hundreds of
/// megabytes of JSON.
pub const DEFAULT_MAX_RESULT_ROWS: u64 = 1_000_000;
/// Default `maxRowsInJoin` (Pinot's name; its default of 1,048,576 rows
/// applies to its hash table, here to any join's output).
pub const DEFAULT_MAX_ROWS_IN_JOIN: u64 = 10_000_000;

#[derive(Debug, Clone, PartialEq)]
pub struct QueryOptions {
    pub timeout_ms: u64,
    pub use_star_tree: bool,
    pub num_groups_limit: usize,
    pub use_multistage: bool,
    /// `skipUpsert`: an upsert table shows every version of each key.
    pub skip_upsert: bool,
    /// `maxQueryMemoryBytes`.
    pub max_query_memory_bytes: u64,
    /// `maxResultRows`: most rows a query returns.
    pub max_result_rows: u64,
    /// `maxRowsInJoin`: most rows one join of the multi-stage engine outputs.
    pub max_rows_in_join: u64,
    /// `maxRowsScanned`: most rows a query reads after its filters
    /// (`numDocsScanned`); no limit by default.
    pub max_rows_scanned: u64,
    /// `maxInListItems`: the most values one `IN (...)` may list.
    pub max_in_list_items: usize,
    /// `isSecondaryWorkload`: the query runs in the background lane.
    pub secondary_workload: bool,
    /// `useResultCache`: sealed segments' answers may come from, and go
    /// to, the server's result cache (`query::result_cache`).
    pub use_result_cache: bool,
}

impl Default for QueryOptions {
    fn default() -> QueryOptions {
        QueryOptions {
            timeout_ms: DEFAULT_TIMEOUT_MS,
            use_star_tree: true,
            num_groups_limit: DEFAULT_NUM_GROUPS_LIMIT,
            use_multistage: false,
            skip_upsert: false,
            max_query_memory_bytes: DEFAULT_MAX_QUERY_MEMORY_BYTES,
            max_result_rows: DEFAULT_MAX_RESULT_ROWS,
            max_rows_in_join: DEFAULT_MAX_ROWS_IN_JOIN,
            max_rows_scanned: u64::MAX,
            max_in_list_items: DEFAULT_MAX_IN_LIST_ITEMS,
            secondary_workload: false,
            use_result_cache: true,
        }
    }
}

impl QueryOptions {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// The error of a query stopped at its timeout.
    pub fn timeout_error(&self) -> QueryError {
        QueryError::new(
            EXECUTION_TIMEOUT,
            format!(
                "the query took longer than its timeout of {} ms and was stopped; raise it with SET timeoutMs = ... or the queryOptions timeoutMs=...",
                self.timeout_ms
            ),
        )
    }

    /// Applies a `queryOptions` string: `key=value` pairs separated by `;`.
    pub fn apply_string(&mut self, text: &str) -> Result<(), QueryError> {
        for pair in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = pair.split_once('=') else {
                return Err(QueryError::validation(format!(
                    "query option `{pair}` is not `key=value`, e.g. timeoutMs=500"
                )));
            };
            self.set(key.trim(), value.trim())?;
        }
        Ok(())
    }

    /// Applies the `key = value` of a `SET` statement.
    pub fn set_from_sql(&mut self, assignment: &str) -> Result<(), QueryError> {
        let Some((key, value)) = assignment.split_once('=') else {
            return Err(QueryError::parse(format!(
                "`SET {}` needs `key = value`, e.g. SET timeoutMs = 500;",
                assignment.trim()
            )));
        };
        let value = value.trim().trim_matches(|c| c == '\'' || c == '"');
        self.set(key.trim().trim_matches('`').trim_matches('"'), value)
    }

    pub fn set(&mut self, key: &str, value: &str) -> Result<(), QueryError> {
        let number = |what: &str| -> Result<u64, QueryError> {
            value.parse().map_err(|_| {
                QueryError::validation(format!(
                    "query option {what}={value}: expected a non-negative integer"
                ))
            })
        };
        let flag = |what: &str| -> Result<bool, QueryError> {
            match value.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(QueryError::validation(format!(
                    "query option {what}={value}: expected true or false"
                ))),
            }
        };
        match key.to_ascii_lowercase().as_str() {
            "timeoutms" => self.timeout_ms = number("timeoutMs")?.max(1),
            "usestartree" => self.use_star_tree = flag("useStarTree")?,
            "numgroupslimit" => self.num_groups_limit = number("numGroupsLimit")?.max(1) as usize,
            "usemultistageengine" => self.use_multistage = flag("useMultistageEngine")?,
            "skipupsert" => self.skip_upsert = flag("skipUpsert")?,
            "maxquerymemorybytes" => self.max_query_memory_bytes = number("maxQueryMemoryBytes")?,
            "maxresultrows" => self.max_result_rows = number("maxResultRows")?,
            "maxrowsinjoin" => self.max_rows_in_join = number("maxRowsInJoin")?,
            "maxrowsscanned" => self.max_rows_scanned = number("maxRowsScanned")?,
            "maxinlistitems" => self.max_in_list_items = number("maxInListItems")?.max(1) as usize,
            "issecondaryworkload" => self.secondary_workload = flag("isSecondaryWorkload")?,
            "useresultcache" => self.use_result_cache = flag("useResultCache")?,
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_from_string_and_set() {
        let mut options = QueryOptions::default();
        options
            .apply_string("timeoutMs=500; useStarTree=false;;somethingElse=1")
            .unwrap();
        assert_eq!(options.timeout_ms, 500);
        assert!(!options.use_star_tree);
        assert!(options.use_result_cache);
        options.set_from_sql("useResultCache = false").unwrap();
        assert!(!options.use_result_cache);
        options.set_from_sql(" numGroupsLimit = 7 ").unwrap();
        assert_eq!(options.num_groups_limit, 7);
        let err = options.apply_string("timeoutMs=soon").unwrap_err();
        assert!(err.message.contains("timeoutMs=soon"), "{}", err.message);
        assert!(options.apply_string("timeoutMs").is_err());
    }

    #[test]
    fn limits_are_options() {
        let mut options = QueryOptions::default();
        assert_eq!(options.max_rows_scanned, u64::MAX);
        options
            .apply_string("maxQueryMemoryBytes=1048576;maxResultRows=5;MAXROWSINJOIN=7")
            .unwrap();
        options.set_from_sql("maxRowsScanned = 9").unwrap();
        assert_eq!(
            (
                options.max_query_memory_bytes,
                options.max_result_rows,
                options.max_rows_in_join,
                options.max_rows_scanned
            ),
            (1 << 20, 5, 7, 9)
        );
        let err = options.apply_string("maxResultRows=-1").unwrap_err();
        assert!(err.message.contains("maxResultRows=-1"), "{}", err.message);
    }
}
