//! Exports one sealed segment: splits its rows into files by partition
//! directory, `flush.size` and `rotate.interval.ms`, names each file from the
//! table, the segment's stream partition and start offset (or the segment's
//! name for batch-loaded segments) and its position, encodes them, and
//! publishes each with a conditional put. Every step depends only on the
//! segment and the settings, so a replay writes the same names and bytes.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch, UInt32Array};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::DataType as ArrowType;
use bytes::Bytes;
use futures_util::StreamExt;
use object_store::ObjectStore;

use super::error::{Error, Result};
use super::path::{default_path, field_path};
use super::store::{publish, Published};
use super::{encode, Extractor, Partitioning, S3Config};
use crate::catalog::datetime::parse_simple_date;
use crate::catalog::{DateTimeFormat, Schema};
use crate::export::rows::{arrow_schema, export_columns, read_batch};
use crate::segment::ImmutableSegment;

/// Objects published at once.
const PUT_CONCURRENCY: usize = 8;

/// One output file: its key and the batch rows it holds, in order.
#[derive(Debug, PartialEq)]
pub struct PlannedFile {
    pub key: String,
    pub rows: Vec<u32>,
}

/// What exporting a segment did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SegmentReport {
    pub rows: u64,
    pub files: u64,
    /// Files an earlier attempt had already published.
    pub files_already_there: u64,
    pub bytes: u64,
}

/// Encodes every file of `segment` (CPU work; run it off the async workers).
pub fn encode_segment(
    config: &S3Config,
    table: &str,
    schema: &Schema,
    time_column: Option<&str>,
    segment: &ImmutableSegment,
) -> Result<Vec<(String, Bytes, u64)>> {
    let columns = export_columns(schema);
    let arrow = arrow_schema(&columns);
    let docs = segment.num_docs() as u32;
    let batch = read_batch(segment, &columns, &arrow, 0..docs)?;
    let times = timestamps(config, schema, time_column, segment, &batch)?;
    let files = plan(config, table, segment, &batch, times.as_deref())?;
    let mut out = Vec::with_capacity(files.len());
    for file in files {
        let indices = UInt32Array::from(file.rows);
        let rows = indices.len() as u64;
        let columns = batch
            .columns()
            .iter()
            .map(|column| datafusion::arrow::compute::take(column.as_ref(), &indices, None))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let part = RecordBatch::try_new(batch.schema(), columns)?;
        let bytes = encode::encode(config.format, &part)?;
        out.push((file.key, Bytes::from(bytes), rows));
    }
    Ok(out)
}

/// Publishes encoded files, a few at a time.
pub async fn publish_files(
    store: Arc<dyn ObjectStore>,
    files: Vec<(String, Bytes, u64)>,
) -> Result<SegmentReport> {
    let mut report = SegmentReport::default();
    let mut results = futures_util::stream::iter(files.into_iter().map(|(key, bytes, rows)| {
        let store = store.clone();
        async move {
            let size = bytes.len() as u64;
            let published = publish(store.as_ref(), &key, bytes).await;
            crate::faults::reach("export.after_put");
            published.map(|published| (published, rows, size))
        }
    }))
    .buffer_unordered(PUT_CONCURRENCY);
    let mut first_error = None;
    while let Some(result) = results.next().await {
        match result {
            Ok((published, rows, size)) => {
                report.rows += rows;
                report.files += 1;
                report.bytes += size;
                if published == Published::AlreadyThere {
                    report.files_already_there += 1;
                }
            }
            Err(err) => {
                first_error.get_or_insert(err);
            }
        }
    }
    match first_error {
        Some(err) => Err(err),
        None => Ok(report),
    }
}

/// The files of a segment: rows grouped by directory (in directory order),
/// each group cut into files of at most `flush.size` rows and, with a
/// time-based partitioner, at most `rotate.interval.ms` of time.
pub fn plan(
    config: &S3Config,
    table: &str,
    segment: &ImmutableSegment,
    batch: &RecordBatch,
    times: Option<&[i64]>,
) -> Result<Vec<PlannedFile>> {
    let stream = segment.meta().stream.as_ref();
    let mut groups: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    match &config.partitioning {
        Partitioning::Default => {
            let partition = stream.map_or(0, |stream| stream.partition);
            groups.insert(
                default_path(partition),
                (0..batch.num_rows() as u32).collect(),
            );
        }
        Partitioning::Field(fields) => {
            let options = FormatOptions::default();
            let mut formatters = Vec::with_capacity(fields.len());
            for field in fields {
                let column = batch.column_by_name(field).ok_or_else(|| {
                    Error::Partitioning(format!(
                        "partition.field.name: table `{table}` has no column `{field}`"
                    ))
                })?;
                let formatter = ArrayFormatter::try_new(column.as_ref(), &options)?;
                formatters.push((field.as_str(), column, formatter));
            }
            for row in 0..batch.num_rows() {
                let values: Vec<(&str, Option<String>)> = formatters
                    .iter()
                    .map(|(name, column, formatter)| {
                        let value =
                            (!column.is_null(row)).then(|| formatter.value(row).to_string());
                        (*name, value)
                    })
                    .collect();
                let parts: Vec<(&str, Option<&str>)> = values
                    .iter()
                    .map(|(name, value)| (*name, value.as_deref()))
                    .collect();
                groups
                    .entry(field_path(&parts))
                    .or_default()
                    .push(row as u32);
            }
        }
        Partitioning::Time(partitioner) => {
            let times = times.ok_or(Error::Internal(
                "a time-based partitioner needs row timestamps",
            ))?;
            let mut buckets: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
            for (row, ts) in times.iter().enumerate() {
                buckets
                    .entry(partitioner.bucket(*ts))
                    .or_default()
                    .push(row as u32);
            }
            for (bucket, rows) in buckets {
                groups
                    .entry(partitioner.bucket_path(bucket))
                    .or_default()
                    .extend(rows);
            }
        }
    }
    let base = match stream {
        Some(stream) => format!("{table}+{}+{:010}", stream.partition, stream.start_offset),
        None => segment.name().to_string(),
    };
    let prefix = if config.topics_dir.is_empty() {
        table.to_string()
    } else {
        format!("{}/{table}", config.topics_dir)
    };
    let extension = config.format.extension();
    let mut files = Vec::new();
    for (dir, mut rows) in groups {
        let cuts = match (config.rotate_interval_ms, &config.partitioning, times) {
            (Some(interval), Partitioning::Time(_), Some(times)) => {
                rows.sort_by_key(|row| (times[*row as usize], *row));
                cut_by_time(&rows, times, interval, config.flush_size)
            }
            _ => rows
                .chunks(config.flush_size)
                .map(<[u32]>::to_vec)
                .collect(),
        };
        for (index, rows) in cuts.into_iter().enumerate() {
            files.push(PlannedFile {
                key: format!("{prefix}/{dir}/{base}+{index:04}.{extension}"),
                rows,
            });
        }
    }
    Ok(files)
}

fn cut_by_time(rows: &[u32], times: &[i64], interval: i64, flush_size: usize) -> Vec<Vec<u32>> {
    let mut files: Vec<Vec<u32>> = Vec::new();
    let mut current: Vec<u32> = Vec::new();
    let mut start = 0i64;
    for row in rows {
        let ts = times[*row as usize];
        if !current.is_empty()
            && (current.len() >= flush_size || ts.saturating_sub(start) >= interval)
        {
            files.push(std::mem::take(&mut current));
        }
        if current.is_empty() {
            start = ts;
        }
        current.push(*row);
    }
    if !current.is_empty() {
        files.push(current);
    }
    files
}

/// Each row's timestamp in epoch millis, when the partitioner needs them.
fn timestamps(
    config: &S3Config,
    schema: &Schema,
    time_column: Option<&str>,
    segment: &ImmutableSegment,
    batch: &RecordBatch,
) -> Result<Option<Vec<i64>>> {
    if !matches!(config.partitioning, Partitioning::Time(_)) {
        return Ok(None);
    }
    let column = match &config.extractor {
        Extractor::Wallclock => {
            let sealed = segment.meta().created_millis;
            return Ok(Some(vec![sealed; batch.num_rows()]));
        }
        Extractor::Record => time_column.ok_or_else(|| Error::Partitioning(
            "timestamp.extractor=Record uses the table's time column (segmentsConfig.timeColumnName), and this table has none; use RecordField with timestamp.field".into(),
        ))?,
        Extractor::RecordField(field) => field.as_str(),
    };
    let array = batch.column_by_name(column).ok_or_else(|| {
        Error::Partitioning(format!(
            "timestamp.field: the table has no column `{column}`"
        ))
    })?;
    let format = schema
        .column(column)
        .and_then(|column| column.format)
        .and_then(|format| DateTimeFormat::parse(format).ok());
    let mut out = Vec::with_capacity(array.len());
    for row in 0..array.len() {
        if array.is_null(row) {
            return Err(Error::Partitioning(format!(
                "timestamp.field: row {row} of the segment has no value in `{column}`; every row needs a timestamp"
            )));
        }
        out.push(
            millis_at(array.as_ref(), row, format.as_ref()).ok_or_else(|| {
                Error::Partitioning(format!(
                    "timestamp.field: `{column}` holds a value that is not a time"
                ))
            })?,
        );
    }
    Ok(Some(out))
}

fn millis_at(array: &dyn Array, row: usize, format: Option<&DateTimeFormat>) -> Option<i64> {
    let epoch = |value: i64| match format {
        Some(DateTimeFormat::Epoch { size, unit }) => {
            let nanos = value as i128 * *size as i128 * unit.nanos() as i128;
            Some((nanos.div_euclid(1_000_000)) as i64)
        }
        _ => Some(value),
    };
    match array.data_type() {
        ArrowType::Int64 => epoch(array.as_primitive::<Int64Type>().value(row)),
        ArrowType::Int32 => epoch(array.as_primitive::<Int32Type>().value(row) as i64),
        ArrowType::Timestamp(..) => Some(
            array
                .as_primitive::<TimestampMicrosecondType>()
                .value(row)
                .div_euclid(1000),
        ),
        ArrowType::Utf8 => {
            let text = array.as_string::<i32>().value(row);
            match format {
                Some(DateTimeFormat::SimpleDate { pattern, zone }) => {
                    parse_simple_date(text, pattern, *zone).ok()
                }
                _ => chrono::DateTime::parse_from_rfc3339(text)
                    .ok()
                    .map(|time| time.timestamp_millis()),
            }
        }
        _ => None,
    }
}
