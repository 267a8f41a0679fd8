//! `ApiError`: every failure a handler returns, and the one place where
//! errors become HTTP statuses. The body is Pinot's controller error shape,
//! `{"code": <status>, "error": "<message>"}`.
//!
//! Internal failures (I/O on the data directory) are logged in full and
//! answered with a short message that names no server path.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

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
            E::UnreadableFile { .. } | E::StrictBadRow { .. } | E::NoGoodRows { .. } => {
                StatusCode::BAD_REQUEST
            }
            E::Segment(_) | E::Io { .. } => {
                return ApiError::internal("storing the table's segments failed", &err)
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
        };
        ApiError::new(status, err.to_string())
    }
}
