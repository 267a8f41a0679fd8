//! Query options: Pinot's `queryOptions` string (`timeoutMs=500;useStarTree=false`)
//! and `SET key = value;` statements. Unknown keys are accepted and ignored,
//! as Pinot does, so clients that send options Gamay does not use still work.

use std::time::Duration;

use super::error::{QueryError, EXECUTION_TIMEOUT};

/// Pinot's broker default, `pinot.broker.timeoutMs`.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// Pinot's default `numGroupsLimit`.
pub const DEFAULT_NUM_GROUPS_LIMIT: usize = 100_000;

#[derive(Debug, Clone, PartialEq)]
pub struct QueryOptions {
    pub timeout_ms: u64,
    pub use_star_tree: bool,
    pub num_groups_limit: usize,
    pub use_multistage: bool,
    /// `skipUpsert`: an upsert table shows every version of each key.
    pub skip_upsert: bool,
}

impl Default for QueryOptions {
    fn default() -> QueryOptions {
        QueryOptions {
            timeout_ms: DEFAULT_TIMEOUT_MS,
            use_star_tree: true,
            num_groups_limit: DEFAULT_NUM_GROUPS_LIMIT,
            use_multistage: false,
            skip_upsert: false,
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
        options.set_from_sql(" numGroupsLimit = 7 ").unwrap();
        assert_eq!(options.num_groups_limit, 7);
        let err = options.apply_string("timeoutMs=soon").unwrap_err();
        assert!(err.message.contains("timeoutMs=soon"), "{}", err.message);
        assert!(options.apply_string("timeoutMs").is_err());
    }
}
