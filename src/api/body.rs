//! Request extractors with Gamay's error shape: config bodies (JSON, or a
//! multipart upload as Pinot's `curl -F schemaName=@schema.json` sends), and
//! boolean or enum query parameters.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};

use super::error::ApiError;
use super::AppState;
use crate::catalog::TableType;

/// The raw bytes of a config document.
pub struct ConfigBody(pub Bytes);

impl FromRequest<AppState> for ConfigBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = state.config.max_body_bytes;
        let is_multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("multipart/form-data"));
        let bytes = if is_multipart {
            let mut multipart = Multipart::from_request(req, state)
                .await
                .map_err(|rejection| {
                    ApiError::bad_request(format!("invalid multipart body: {rejection}"))
                })?;
            let field = multipart
                .next_field()
                .await
                .map_err(|err| multipart_error(err, limit))?
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "the multipart body has no file; send the JSON document as its one part",
                    )
                })?;
            field
                .bytes()
                .await
                .map_err(|err| multipart_error(err, limit))?
        } else {
            Bytes::from_request(req, state).await.map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large(limit)
                } else {
                    ApiError::bad_request(format!("cannot read the request body: {rejection}"))
                }
            })?
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request(
                "the request body is empty; send the JSON document",
            ));
        }
        Ok(ConfigBody(bytes))
    }
}

pub fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is larger than the limit of {limit} bytes (set with --max-body-bytes)"),
    )
}

fn multipart_error(err: axum::extract::multipart::MultipartError, limit: usize) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(limit)
    } else {
        ApiError::bad_request(format!("invalid multipart body: {}", err.body_text()))
    }
}

/// Query parameters as a plain map; typed access with clear errors.
pub struct Params(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Query(map) =
            Query::<HashMap<String, String>>::try_from_uri(&parts.uri).map_err(|rejection| {
                ApiError::bad_request(format!("invalid query string: {}", rejection.body_text()))
            })?;
        Ok(Params(map))
    }
}

impl Params {
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.0.get(name).map(|value| value.to_ascii_lowercase()) {
            None => Ok(default),
            Some(value) if value == "true" => Ok(true),
            Some(value) if value == "false" => Ok(false),
            Some(value) => Err(ApiError::bad_request(format!(
                "query parameter `{name}` must be true or false, not `{value}`"
            ))),
        }
    }

    pub fn table_type(&self) -> Result<Option<TableType>, ApiError> {
        match self.0.get("type") {
            None => Ok(None),
            Some(value) if value.is_empty() => Ok(None),
            Some(value) => TableType::parse(value).map(Some).map_err(|message| {
                ApiError::bad_request(format!("query parameter `type`: {message}"))
            }),
        }
    }
}
