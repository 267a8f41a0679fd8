//! The S3 sink: Confluent's S3 sink connector settings, and the export of a
//! sealed segment as Hive-partitioned Parquet or JSON-lines objects, each
//! published whole with a conditional put under a name fixed by the table,
//! the segment and its offsets. Failures are [`Error`]s (`error.rs`).

pub mod encode;
pub mod error;
pub mod export;
pub mod path;
pub mod store;

pub use error::{Error, Result};

use super::config::Reader;
use path::TimePartitioner;

/// The output file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Parquet(Codec),
    Json,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Parquet(_) => "parquet",
            Format::Json => "json",
        }
    }
}

/// `parquet.codec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    None,
    Snappy,
    Gzip,
    Zstd,
    Lz4,
}

/// How rows are placed in directories.
#[derive(Debug, Clone)]
pub enum Partitioning {
    /// `partition=<n>`: the Kafka partition the segment came from.
    Default,
    /// `f1=v1/f2=v2` from `partition.field.name`.
    Field(Vec<String>),
    /// Time buckets of the extracted timestamp.
    Time(TimePartitioner),
}

/// Where a row's timestamp comes from (`timestamp.extractor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extractor {
    /// When the segment was sealed: fixed per segment, so replays match.
    Wallclock,
    /// The table's time column (the record's event time).
    Record,
    /// A named column (`timestamp.field`).
    RecordField(String),
}

/// An S3 sink connector's settings. Its `Debug` output leaves out the keys.
#[derive(Clone)]
pub struct S3Config {
    pub bucket: String,
    pub region: String,
    /// `store.url`: `file:///dir` for a local directory, `http(s)://host:port`
    /// for an S3-compatible server; AWS S3 when unset.
    pub store_url: Option<String>,
    pub path_style: bool,
    /// Raw values (may be `${env:...}` references), resolved when the store opens.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub topics_dir: String,
    pub flush_size: usize,
    pub rotate_interval_ms: Option<i64>,
    pub format: Format,
    pub partitioning: Partitioning,
    pub extractor: Extractor,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("store_url", &self.store_url)
            .field("topics_dir", &self.topics_dir)
            .field("flush_size", &self.flush_size)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl S3Config {
    /// Reads the S3 keys; problems go to `reader`.
    pub fn read(reader: &mut Reader<'_>) -> Option<S3Config> {
        let bucket = reader.required("s3.bucket.name", "my-bucket");
        if let Some(bucket) = &bucket {
            if let Err(problem) = check_bucket(bucket) {
                reader.problem("s3.bucket.name", problem);
            }
        }
        let region = reader.text_or("s3.region", "us-west-2");
        let store_url = reader.text("store.url");
        if let Some(url) = &store_url {
            let known = ["file://", "http://", "https://"];
            if !known.iter().any(|scheme| url.starts_with(scheme)) {
                reader.problem(
                    "store.url",
                    format!("`{url}` must start with file://, http:// or https://, e.g. http://127.0.0.1:9000 for MinIO"),
                );
            }
        }
        let path_style = reader.bool("s3.path.style.access.enabled", store_url.is_some());
        let access_key_id = reader.text("aws.access.key.id");
        let secret_access_key = reader.text("aws.secret.access.key");
        let topics_dir = reader
            .text_or("topics.dir", "topics")
            .trim_matches('/')
            .to_string();
        if !topics_dir.is_empty()
            && topics_dir
                .split('/')
                .any(|part| part.is_empty() || part == "." || part == "..")
        {
            reader.problem(
                "topics.dir",
                format!("`{topics_dir}` has an empty, `.` or `..` segment; name a directory inside the bucket, e.g. topics"),
            );
        }
        let flush_size = reader.required("flush.size", "10000");
        let flush_size = match flush_size.as_deref().map(str::parse::<usize>) {
            Some(Ok(size)) if size > 0 => size,
            Some(_) => {
                reader.problem(
                    "flush.size",
                    "must be a positive number of records per file",
                );
                1
            }
            None => 1,
        };
        let rotate = reader.int("rotate.interval.ms", -1, -1, i64::MAX);
        let rotate_interval_ms = (rotate > 0).then_some(rotate);
        if reader.int("rotate.schedule.interval.ms", -1, -1, i64::MAX) > 0 {
            reader.problem(
                "rotate.schedule.interval.ms",
                "wall-clock rotation would make file contents depend on timing and break exactly-once delivery; files are cut by flush.size, rotate.interval.ms and the segments themselves",
            );
        }
        let format = read_format(reader);
        let partitioning = read_partitioning(reader);
        let extractor = match reader
            .text_or("timestamp.extractor", "Wallclock")
            .to_ascii_lowercase()
            .as_str()
        {
            "wallclock" => Extractor::Wallclock,
            "record" => Extractor::Record,
            "recordfield" => Extractor::RecordField(reader.text_or("timestamp.field", "timestamp")),
            other => {
                reader.problem(
                    "timestamp.extractor",
                    format!("`{other}` is not Wallclock, Record or RecordField"),
                );
                Extractor::Wallclock
            }
        };
        if rotate_interval_ms.is_some() && !matches!(partitioning, Some(Partitioning::Time(_))) {
            tracing::warn!("rotate.interval.ms is only honoured with a time-based partitioner");
        }
        Some(S3Config {
            bucket: bucket?,
            region,
            store_url,
            path_style,
            access_key_id,
            secret_access_key,
            topics_dir,
            flush_size,
            rotate_interval_ms,
            format: format?,
            partitioning: partitioning?,
            extractor,
        })
    }
}

fn check_bucket(bucket: &str) -> Result<()> {
    let ok_chars = bucket
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if (3..=63).contains(&bucket.len()) && ok_chars && !bucket.starts_with(['-', '.']) {
        Ok(())
    } else {
        Err(Error::InvalidBucket(bucket.to_string()))
    }
}

fn read_format(reader: &mut Reader<'_>) -> Option<Format> {
    let class = reader.text_or(
        "format.class",
        "io.confluent.connect.s3.format.parquet.ParquetFormat",
    );
    let short = class
        .rsplit('.')
        .next()
        .unwrap_or(&class)
        .to_ascii_lowercase();
    let codec = reader.choice(
        "parquet.codec",
        "snappy",
        &["none", "uncompressed", "snappy", "gzip", "zstd", "lz4"],
    );
    match short.as_str() {
        "parquetformat" | "parquet" => Some(Format::Parquet(match codec.as_str() {
            "none" | "uncompressed" => Codec::None,
            "gzip" => Codec::Gzip,
            "zstd" => Codec::Zstd,
            "lz4" => Codec::Lz4,
            _ => Codec::Snappy,
        })),
        "jsonformat" | "json" => Some(Format::Json),
        _ => {
            reader.problem(
                "format.class",
                format!("`{class}` is not supported; use io.confluent.connect.s3.format.parquet.ParquetFormat or io.confluent.connect.s3.format.json.JsonFormat"),
            );
            None
        }
    }
}

fn read_partitioning(reader: &mut Reader<'_>) -> Option<Partitioning> {
    let class = reader.text_or(
        "partitioner.class",
        "io.confluent.connect.storage.partitioner.DefaultPartitioner",
    );
    let short = class.rsplit('.').next().unwrap_or(&class).to_string();
    let timezone = reader.text_or("timezone", "UTC");
    let locale = reader.text_or("locale", "en_US");
    let path_format = reader.text("path.format");
    let duration = reader.int("partition.duration.ms", -1, -1, i64::MAX);
    let fields = reader.list("partition.field.name");
    let time =
        |result: Result<TimePartitioner, path::PathError>, reader: &mut Reader<'_>| match result {
            Ok(partitioner) => Some(Partitioning::Time(partitioner)),
            Err(err) => {
                reader.problems.push(err.to_string());
                None
            }
        };
    match short.as_str() {
        "DefaultPartitioner" => Some(Partitioning::Default),
        "FieldPartitioner" => {
            if fields.is_empty() {
                reader.problem(
                    "partition.field.name",
                    "FieldPartitioner needs the columns to partition by, e.g. \"symbol\"",
                );
                return None;
            }
            Some(Partitioning::Field(fields))
        }
        "TimeBasedPartitioner" => {
            let Some(format) = path_format else {
                reader.problem(
                    "path.format",
                    "TimeBasedPartitioner needs it, e.g. \"'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH\"",
                );
                return None;
            };
            if duration <= 0 {
                reader.problem(
                    "partition.duration.ms",
                    "TimeBasedPartitioner needs the bucket length in milliseconds, e.g. 3600000",
                );
                return None;
            }
            time(
                TimePartitioner::new(&format, duration, &timezone, &locale),
                reader,
            )
        }
        "DailyPartitioner" => time(TimePartitioner::daily(&timezone, &locale), reader),
        "HourlyPartitioner" => time(TimePartitioner::hourly(&timezone, &locale), reader),
        _ => {
            reader.problem(
                "partitioner.class",
                format!("`{class}` is not one of DefaultPartitioner, FieldPartitioner, TimeBasedPartitioner, DailyPartitioner, HourlyPartitioner"),
            );
            None
        }
    }
}
