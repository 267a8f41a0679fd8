//! Reading rows from files for batch ingestion: Parquet, CSV and
//! newline-delimited JSON.
//!
//! Readers map file columns to table columns by name (exactly, then ignoring
//! case), convert values by the column's type, and hand rows to a sink in
//! batches. A record that cannot be converted is a bad row: it is reported
//! with its 1-based row number and skipped, unless the caller asked to stop
//! at the first one.

mod csv;
mod json;
mod parquet;

use std::path::Path;

use super::rows::RowError;
use crate::segment::{Cell, Chunk, SegmentSpec};

/// Rows handed to the sink at a time.
pub const BATCH_ROWS: usize = 8192;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Parquet,
    Csv,
    Json,
}

impl FileFormat {
    pub fn parse(name: &str) -> Result<FileFormat, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "parquet" => Ok(FileFormat::Parquet),
            "csv" => Ok(FileFormat::Csv),
            "json" | "jsonl" | "ndjson" => Ok(FileFormat::Json),
            other => Err(format!(
                "unknown input format `{other}`; expected parquet, csv or json"
            )),
        }
    }

    /// The format implied by a file name's extension.
    pub fn from_path(path: &Path) -> Option<FileFormat> {
        let extension = path.extension()?.to_str()?;
        FileFormat::parse(extension).ok()
    }
}

/// A row that could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRow {
    /// 1-based row number in the file (data rows; a CSV header is not counted).
    pub row: u64,
    pub error: RowError,
}

/// Where rows go: called with each batch of good rows, and once per bad row.
pub trait RowSink {
    fn rows(&mut self, rows: Vec<Vec<Cell>>) -> Result<(), String>;

    /// A batch of `rows` good rows given column by column (`chunks[i]` for
    /// table column `i`). Columnar readers use this to skip per-row cells.
    fn chunks(&mut self, rows: usize, chunks: Vec<Chunk>) -> Result<(), String> {
        let mut out: Vec<Vec<Cell>> = (0..rows)
            .map(|_| Vec::with_capacity(chunks.len()))
            .collect();
        for chunk in chunks {
            match chunk {
                Chunk::Values { values, nulls } => {
                    let mut nulls = nulls.into_iter().peekable();
                    for (row, cells) in out.iter_mut().enumerate() {
                        if nulls.next_if_eq(&(row as u32)).is_some() {
                            cells.push(Cell::Null);
                        } else {
                            cells.push(Cell::One(values.scalar(row)));
                        }
                    }
                }
                Chunk::Cells(column) => {
                    for (cells, cell) in out.iter_mut().zip(column) {
                        cells.push(cell);
                    }
                }
            }
        }
        self.rows(out)
    }

    /// Returns whether to go on.
    fn bad_row(&mut self, bad: BadRow) -> bool;
}

/// Reads every row of `path` into `sink`. Errors are about the file as a
/// whole (unreadable, not the format); bad rows go to the sink.
pub fn read_file(
    path: &Path,
    format: FileFormat,
    spec: &SegmentSpec,
    sink: &mut dyn RowSink,
) -> Result<(), String> {
    match format {
        FileFormat::Parquet => parquet::read(path, spec, sink),
        FileFormat::Csv => csv::read(path, spec, sink),
        FileFormat::Json => json::read(path, spec, sink),
    }
}

/// Finds the position of each table column among a file's column names.
pub(crate) fn match_columns(spec: &SegmentSpec, names: &[String]) -> Vec<Option<usize>> {
    spec.columns
        .iter()
        .map(|column| {
            names
                .iter()
                .position(|name| *name == column.name)
                .or_else(|| {
                    names
                        .iter()
                        .position(|name| name.eq_ignore_ascii_case(&column.name))
                })
        })
        .collect()
}

/// Collects rows into batches for the sink.
pub(crate) struct Batcher<'a> {
    sink: &'a mut dyn RowSink,
    batch: Vec<Vec<Cell>>,
}

impl<'a> Batcher<'a> {
    pub fn new(sink: &'a mut dyn RowSink) -> Batcher<'a> {
        Batcher {
            sink,
            batch: Vec::with_capacity(BATCH_ROWS),
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) -> Result<(), String> {
        self.batch.push(row);
        if self.batch.len() >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    /// Reports a bad row; returns whether to go on.
    pub fn bad(&mut self, row: u64, error: RowError) -> bool {
        self.sink.bad_row(BadRow { row, error })
    }

    pub fn flush(&mut self) -> Result<(), String> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_ROWS));
        self.sink.rows(batch)
    }
}
