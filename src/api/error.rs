//! `ApiError`: every failure a handler returns, and the one place where
//! errors become HTTP statuses: each module's error type (`catalog`,
//! `server`, the connector registry) converts into an `ApiError` here, and
//! [`query_status`] gives a failed query's status from its Pinot error
//! code. The body is Pinot's controller error shape,
//! `{"code": <status>, "error": "<message>"}`; the Kafka Connect routes
//! wrap the same `ApiError` in their own shape (`connectors.rs`).
//!
//! Internal failures (I/O on the data directory) are logged in full and
//! answered with a short message that names no server path.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::export::RegistryError;
use crate::query::error as query;
use crate::query::QueryError;
use crate::{catalog, server};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn internal(context: &str, err: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %err, "{context}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{context}; the server log has the details"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"code": self.status.as_u16(), "error": clip(self.message)});
        (self.status, Json(body)).into_response()
    }
}

/// Longest error message sent. Messages quote the values they refuse; a
/// megabyte-long value would otherwise come back whole, once per place
/// it is refused, for nobody to read.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// `message`, cut to [`MAX_MESSAGE_BYTES`] with a note saying so. What a
/// message says first (the field and the problem) is kept.
pub fn clip(message: String) -> String {
    if message.len() <= MAX_MESSAGE_BYTES {
        return message;
    }
    let end = message.floor_char_boundary(MAX_MESSAGE_BYTES);
    format!(
        "{}... ({} more bytes of this message were cut)",
        &message[..end],
        message.len() - end
    )
}

impl From<server::Error> for ApiError {
    fn from(err: server::Error) -> ApiError {
        use server::Error as E;
        let status = match &err {
            E::SegmentNotFound { .. } => StatusCode::NOT_FOUND,
            E::UnreadableFile { .. }
            | E::StrictBadRow { .. }
            | E::NoGoodRows { .. }
            | E::ConsumeFrom(_) => StatusCode::BAD_REQUEST,
            // A REALTIME table whose consumers cannot run.
            E::NoSchema { .. }
            | E::NoStreamConfig { .. }
            | E::StreamConfig(_)
            | E::Upsert(_)
            | E::UpsertState { .. }
            | E::NoRoomForKeys(_)
            | E::Ingest(_)
            | E::DeadLetterProducer(_) => StatusCode::SERVICE_UNAVAILABLE,
            // The metastore or the deep store is unreachable or refused.
            E::Publish { .. } => StatusCode::SERVICE_UNAVAILABLE,
            E::Segment(_) | E::Io { .. } => {
                return ApiError::internal("storing the table's segments failed", &err)
            }
            E::Thread(_) | E::Internal(_) => {
                return ApiError::internal("the table's consumers failed", &err)
            }
        };
        ApiError::new(status, err.to_string())
    }
}

impl From<catalog::Error> for ApiError {
    fn from(err: catalog::Error) -> ApiError {
        use catalog::Error as E;
        let status = match &err {
            E::InvalidJson { .. }
            | E::InvalidField { .. }
            | E::Invalid { .. }
            | E::SchemaMissingForTable { .. } => StatusCode::BAD_REQUEST,
            E::SchemaExists { .. } | E::TableExists { .. } | E::SchemaInUse { .. } => {
                StatusCode::CONFLICT
            }
            E::SchemaNotFound { .. } | E::TableNotFound { .. } => StatusCode::NOT_FOUND,
            E::Io { .. } => {
                return ApiError::internal("the catalog could not be written or read", &err)
            }
            E::CorruptFile { .. } => {
                return ApiError::internal("a catalog file is unreadable", &err)
            }
            E::CorruptEntry { .. } => {
                return ApiError::internal("a catalog entry is unreadable", &err)
            }
            E::Store { .. } => {
                return ApiError::internal("the catalog could not be written or read", &err)
            }
        };
        ApiError::new(status, err.to_string())
    }
}

impl From<RegistryError> for ApiError {
    fn from(err: RegistryError) -> ApiError {
        let status = match &err {
            RegistryError::NotFound(_) => StatusCode::NOT_FOUND,
            RegistryError::Exists(_) => StatusCode::CONFLICT,
            RegistryError::Invalid(_) => StatusCode::BAD_REQUEST,
            RegistryError::Shared(_) => StatusCode::SERVICE_UNAVAILABLE,
            RegistryError::Io { .. } | RegistryError::FileRoots(_) => {
                return ApiError::internal("storing the connector failed", &err)
            }
        };
        ApiError::new(status, err.to_string())
    }
}

/// The HTTP status a failed query is answered with: 4xx for the caller's
/// mistakes, 5xx for the server's. A query that fails on the data it reads
/// (Pinot's `QueryExecutionError`) and one past a limit its options set are
/// the caller's to fix: 400.
pub fn query_status(error: &QueryError) -> StatusCode {
    match error.code {
        query::JSON_PARSING
        | query::SQL_PARSING
        | query::EXECUTION
        | query::RESOURCE_LIMIT_EXCEEDED
        | query::VALIDATION
        | query::UNKNOWN_COLUMN => StatusCode::BAD_REQUEST,
        query::ACCESS_DENIED => StatusCode::FORBIDDEN,
        query::TOO_MANY_REQUESTS => StatusCode::TOO_MANY_REQUESTS,
        query::TABLE_DOES_NOT_EXIST => StatusCode::NOT_FOUND,
        query::EXECUTION_TIMEOUT | query::QUERY_SCHEDULING_TIMEOUT => StatusCode::GATEWAY_TIMEOUT,
        query::SERVER_OUT_OF_CAPACITY => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_query_error_code_has_its_status() {
        let status = |code| query_status(&QueryError::new(code, "failed"));
        for code in [
            query::JSON_PARSING,
            query::SQL_PARSING,
            query::EXECUTION,
            query::RESOURCE_LIMIT_EXCEEDED,
            query::VALIDATION,
            query::UNKNOWN_COLUMN,
        ] {
            assert_eq!(status(code), StatusCode::BAD_REQUEST, "{code}");
        }
        assert_eq!(status(query::ACCESS_DENIED), StatusCode::FORBIDDEN);
        assert_eq!(
            status(query::TOO_MANY_REQUESTS),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(status(query::TABLE_DOES_NOT_EXIST), StatusCode::NOT_FOUND);
        assert_eq!(
            status(query::EXECUTION_TIMEOUT),
            StatusCode::GATEWAY_TIMEOUT
        );
        assert_eq!(
            status(query::QUERY_SCHEDULING_TIMEOUT),
            StatusCode::GATEWAY_TIMEOUT
        );
        assert_eq!(
            status(query::SERVER_OUT_OF_CAPACITY),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(status(query::INTERNAL), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
