//! `POST /ingestFromFile`: Pinot's batch upload of a file into an OFFLINE
//! table. The upload is streamed to a temporary file under the data
//! directory (never held in memory), then ingested on the blocking pool.

use std::collections::BTreeMap;
use std::path::PathBuf;

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use super::body::Params;
use super::error::ApiError;
use super::AppState;
use crate::catalog::{self, TableType};
use crate::ingest::files::FileFormat;
use crate::segment::SegmentSpec;
use crate::server::{ingest_file, IngestOptions};

pub fn routes() -> Router<AppState> {
    Router::new().route("/ingestFromFile", post(ingest_from_file))
}

const UPLOADS: &str = "uploads";

/// Deletes uploads a crash left behind (they are never ingested later).
pub fn remove_leftover_uploads(data_dir: &std::path::Path) {
    let dir = data_dir.join(UPLOADS);
    if dir.is_dir() {
        if let Err(err) = crate::durable::remove_temp_files(&dir) {
            tracing::warn!(dir = %dir.display(), error = %err, "cannot remove leftover uploads");
        }
    }
}

/// The upload, spooled to disk; removed when dropped.
struct Spooled {
    path: PathBuf,
    file_name: Option<String>,
}

impl Drop for Spooled {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn spool(state: &AppState, request: Request) -> Result<Spooled, ApiError> {
    let dir = state.config.data_dir.join(UPLOADS);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|err| ApiError::internal("cannot create the upload directory", &err))?;
    let path = crate::durable::temp_path(&dir.join("upload"));
    let mut file = tokio::fs::File::create(&path)
        .await
        .map_err(|err| ApiError::internal("cannot store the upload", &err))?;
    let mut spooled = Spooled {
        path,
        file_name: None,
    };
    let limit = state.config.max_upload_bytes;
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("multipart/form-data"));
    let mut written = 0usize;
    if is_multipart {
        let mut multipart = Multipart::from_request(request, state)
            .await
            .map_err(|rejection| {
                ApiError::bad_request(format!("invalid multipart body: {rejection}"))
            })?;
        let mut field = multipart
            .next_field()
            .await
            .map_err(|err| {
                ApiError::bad_request(format!("invalid multipart body: {}", err.body_text()))
            })?
            .ok_or_else(|| {
                ApiError::bad_request(
                    "the multipart body has no file; send it as -F file=@data.parquet",
                )
            })?;
        spooled.file_name = field.file_name().map(str::to_string);
        while let Some(chunk) = field.chunk().await.map_err(|err| {
            if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large(limit)
            } else {
                ApiError::bad_request(format!("invalid multipart body: {}", err.body_text()))
            }
        })? {
            store_chunk(&mut file, &chunk, &mut written, limit).await?;
        }
    } else {
        let mut body = request.into_body().into_data_stream();
        use futures_util::StreamExt;
        while let Some(chunk) = body.next().await {
            let chunk = chunk
                .map_err(|err| ApiError::bad_request(format!("cannot read the upload: {err}")))?;
            store_chunk(&mut file, &chunk, &mut written, limit).await?;
        }
    }
    file.flush()
        .await
        .map_err(|err| ApiError::internal("cannot store the upload", &err))?;
    if written == 0 {
        return Err(ApiError::bad_request("the upload is empty"));
    }
    Ok(spooled)
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the upload is larger than the limit of {limit} bytes (set with --max-upload-bytes)"
        ),
    )
}

/// Appends one chunk of the upload, refusing it past `limit` bytes in all.
async fn store_chunk(
    file: &mut tokio::fs::File,
    chunk: &[u8],
    written: &mut usize,
    limit: usize,
) -> Result<(), ApiError> {
    *written += chunk.len();
    if *written > limit {
        return Err(too_large(limit));
    }
    file.write_all(chunk)
        .await
        .map_err(|err| ApiError::internal("cannot store the upload", &err))
}

/// `POST /ingestFromFile?tableNameWithType=T_OFFLINE&batchConfigMapStr={"inputFormat":"parquet"}`.
async fn ingest_from_file(
    State(state): State<AppState>,
    params: Params,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let Some(name) = params.0.get("tableNameWithType").cloned() else {
        return Err(ApiError::bad_request(
            "query parameter `tableNameWithType` is required, e.g. ?tableNameWithType=stock_transactions_OFFLINE",
        ));
    };
    let config: BTreeMap<String, Value> = match params.0.get("batchConfigMapStr") {
        None => BTreeMap::new(),
        Some(text) => serde_json::from_str(text).map_err(|err| {
            ApiError::bad_request(format!("batchConfigMapStr is not a JSON object: {err}"))
        })?,
    };
    let setting = |key: &str| -> Option<String> {
        config.get(key).map(|value| match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
    };

    let entries = state.catalog.tables_named(&name);
    let entry = match entries.as_slice() {
        [] => {
            return Err(catalog::Error::TableNotFound {
                name,
                known: state.catalog.table_names(None),
            }
            .into())
        }
        [only] => only.clone(),
        _ => entries
            .iter()
            .find(|entry| entry.config.table_type == TableType::Offline)
            .cloned()
            .unwrap_or_else(|| entries[0].clone()),
    };
    if entry.config.table_type != TableType::Offline {
        return Err(ApiError::bad_request(format!(
            "table {} is REALTIME and ingests from Kafka; /ingestFromFile loads OFFLINE tables",
            entry.config.table_name
        )));
    }
    let Some(schema) = state.catalog.schema(entry.config.raw_name()) else {
        return Err(ApiError::internal(
            "the table's schema is missing",
            &entry.config.table_name,
        ));
    };

    let upload = spool(&state, request).await?;
    let format = match setting("inputFormat") {
        Some(format) => FileFormat::parse(&format).map_err(|message| ApiError::bad_request(format!("batchConfigMapStr.inputFormat: {message}")))?,
        None => upload
            .file_name
            .as_deref()
            .and_then(|file_name| FileFormat::from_path(std::path::Path::new(file_name)))
            .ok_or_else(|| ApiError::bad_request("say the file's format: batchConfigMapStr={\"inputFormat\":\"parquet\"} (or csv, json)"))?,
    };
    let source_name = upload
        .file_name
        .clone()
        .unwrap_or_else(|| "the upload".to_string());
    let mut options = IngestOptions::new(source_name, format);
    if let Some(rows) = setting("segmentRows") {
        options.segment_rows = rows
            .parse()
            .ok()
            .filter(|rows: &usize| *rows > 0)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "batchConfigMapStr.segmentRows `{rows}` must be a positive integer"
                ))
            })?;
    }
    if let Some(strict) = setting("strict") {
        options.strict = strict.eq_ignore_ascii_case("true");
    }

    let table = state.server.table_or_create(&entry.config.table_name)?;
    let spec = std::sync::Arc::new(SegmentSpec::new(&schema.schema, &entry.config));
    let report = tokio::task::spawn_blocking(move || {
        let report = ingest_file(&table, spec, &upload.path, &options, &|_| {});
        drop(upload);
        report
    })
    .await
    .map_err(|err| ApiError::internal("the ingestion task failed", &err))??;
    Ok(Json(json!({
        "status": format!(
            "Successfully ingested file into table: {} as segment: {}",
            entry.config.table_name,
            report.segments.join(", ")
        ),
        "rows": report.rows,
        "badRows": report.bad_rows,
        "errors": report.errors,
        "warnings": report.warnings,
        "segments": report.segments,
    })))
}
