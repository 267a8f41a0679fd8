//! Query errors: [`QueryError`], a failed query with Pinot's error code,
//! and [`ExecError`], why evaluating or executing part of a plan failed
//! before the broker gives it a code.
//!
//! A query that fails on the data it reads (a division by zero, an
//! integer overflow, a cast or a function argument that does not fit) is
//! Pinot's `QueryExecutionError` and the caller's to fix; failures of the
//! server itself are `InternalError`. Which HTTP status each code is
//! answered with is decided in `api/error.rs`.

/// A failed query: Pinot's `errorCode` and a message saying what was wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    pub code: i32,
    pub message: String,
}

pub const JSON_PARSING: i32 = 100;
pub const SQL_PARSING: i32 = 150;
/// Pinot's `ACCESS_DENIED_ERROR_CODE`: the caller may not read a table.
pub const ACCESS_DENIED: i32 = 180;
pub const TABLE_DOES_NOT_EXIST: i32 = 190;
/// Pinot's `QueryExecutionError`: the query failed on the data it read.
pub const EXECUTION: i32 = 200;
/// Pinot's `SERVER_OUT_OF_CAPACITY_ERROR_CODE`: every slot is taken and
/// the queue is full.
pub const SERVER_OUT_OF_CAPACITY: i32 = 211;
/// Pinot's `QUERY_SCHEDULING_TIMEOUT_ERROR_CODE`: the query's timeout
/// passed while it waited for a slot.
pub const QUERY_SCHEDULING_TIMEOUT: i32 = 240;
/// Pinot's `ServerResourceLimitExceededError` (its `maxRowsInJoin` error):
/// a query past one of its limits (memory, rows scanned, result or join
/// rows). Pinot answers it with 503; Gamay with 400, since the same query
/// with the same options fails the same way every time: the caller narrows
/// it or raises the limit the message names.
pub const RESOURCE_LIMIT_EXCEEDED: i32 = 245;
pub const EXECUTION_TIMEOUT: i32 = 250;
/// Pinot's `SERVER_SEGMENT_MISSING_ERROR_CODE`: segments no live replica
/// could serve; the answer covers the rest (`partialResult`).
pub const SERVER_SEGMENT_MISSING: i32 = 235;
/// Pinot's `SERVER_NOT_RESPONDING_ERROR_CODE`: a server failed or went
/// away while it ran the query.
pub const SERVER_NOT_RESPONDING: i32 = 427;
/// Pinot's `TOO_MANY_REQUESTS_ERROR_CODE`: a table's query quota is spent.
pub const TOO_MANY_REQUESTS: i32 = 429;
pub const INTERNAL: i32 = 450;
pub const VALIDATION: i32 = 700;
pub const UNKNOWN_COLUMN: i32 = 710;

impl QueryError {
    pub fn new(code: i32, message: impl Into<String>) -> QueryError {
        QueryError {
            code,
            message: message.into(),
        }
    }

    pub fn parse(message: impl Into<String>) -> QueryError {
        QueryError::new(SQL_PARSING, message)
    }

    pub fn validation(message: impl Into<String>) -> QueryError {
        QueryError::new(VALIDATION, message)
    }

    pub fn unknown_column(message: impl Into<String>) -> QueryError {
        QueryError::new(UNKNOWN_COLUMN, message)
    }

    pub fn execution(message: impl Into<String>) -> QueryError {
        QueryError::new(EXECUTION, message)
    }

    /// A query past the limit `option` sets: `message` says which limit
    /// and by how much, and the error how to raise it.
    pub fn limit(message: impl std::fmt::Display, option: &str) -> QueryError {
        QueryError::new(
            RESOURCE_LIMIT_EXCEEDED,
            format!(
                "{message} (raise it with SET {option} = ... or the queryOptions {option}=...)"
            ),
        )
    }
}

/// Why evaluating an expression or running a plan on a segment failed.
/// The broker turns it into a [`QueryError`]: a timeout into the query's
/// timeout error, anything else into the code of where it happened.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExecError {
    /// Evaluating an expression failed on the data it read: a division by
    /// zero, an integer overflow, a cast or a function argument that does
    /// not fit.
    #[error(transparent)]
    Eval(#[from] crate::expr::Error),

    /// Otherwise the query failed on the data it read (values it cannot
    /// group by, results that cannot be converted).
    #[error("{0}")]
    Execution(String),

    /// The query ran past its timeout, or its caller went away.
    #[error("{}", super::exec::TIMED_OUT)]
    TimedOut,

    /// A task found one of the query's limits passed: the error the
    /// deadline recorded for it.
    #[error("{}", .0.message)]
    Stopped(QueryError),

    /// A plan or partial results that do not fit together: a bug, not
    /// the query's fault.
    #[error("{0}")]
    Internal(String),
}
