//! Batch ingestion of a file into a table (Pinot's offline path).
//!
//! Rows are collected by a segment builder that writes a segment every
//! `segment_rows` rows; the sealed files are committed together when the
//! whole file has been read, so a file is ingested entirely or not at all.
//! Bad rows are counted and skipped (the first few are kept for the report),
//! or, in strict mode, the first one aborts the ingestion.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Error, TableData};
use crate::ingest::files::{read_file, BadRow, FileFormat, RowSink};
use crate::ingest::Error as ReadError;
use crate::segment::{self, Cell, Chunk, SealInfo, SegmentBuilder, SegmentSpec};

/// Rows per segment unless the caller says otherwise (Pinot's default).
pub const DEFAULT_SEGMENT_ROWS: usize = 5_000_000;
/// Bad rows described in a report; the rest are only counted.
pub const REPORTED_BAD_ROWS: usize = 10;

#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// How the file is named in messages (never a server-side path).
    pub source_name: String,
    pub format: FileFormat,
    pub segment_rows: usize,
    pub strict: bool,
}

impl IngestOptions {
    pub fn new(source_name: impl Into<String>, format: FileFormat) -> IngestOptions {
        IngestOptions {
            source_name: source_name.into(),
            format,
            segment_rows: DEFAULT_SEGMENT_ROWS,
            strict: false,
        }
    }
}

#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestReport {
    pub rows: u64,
    pub bad_rows: u64,
    /// The first bad rows: "row N: column `c`: reason".
    pub errors: Vec<String>,
    /// What was ignored (file columns the table does not have).
    pub warnings: Vec<String>,
    pub segments: Vec<String>,
}

struct Sink<'a> {
    table: &'a TableData,
    spec: Arc<SegmentSpec>,
    segment_rows: usize,
    strict: bool,
    current: SegmentBuilder,
    sealed: Vec<PathBuf>,
    report: IngestReport,
    first_bad: Option<BadRow>,
    progress: &'a dyn Fn(u64),
}

impl Sink<'_> {
    fn seal_current(&mut self) -> Result<(), Error> {
        if self.current.num_docs() == 0 {
            return Ok(());
        }
        let name = self
            .table
            .new_segment_name(self.current.created_millis(), self.sealed.len());
        let info = SealInfo {
            late_docs: Vec::new(),
            segment_name: name,
            stream: None,
        };
        let full = std::mem::replace(&mut self.current, SegmentBuilder::new(self.spec.clone()));
        let (path, _) = full.build(&self.table.segment_dir(), &info)?;
        self.sealed.push(path);
        Ok(())
    }

    /// Reports progress and writes the segment once it is full.
    fn after_append(&mut self) -> Result<(), ReadError> {
        (self.progress)(self.report.rows);
        if self.current.num_docs() >= self.segment_rows {
            self.seal_current()
                .map_err(|err| ReadError::Sink(Box::new(err)))?;
        }
        Ok(())
    }

    fn note_bad(&mut self, bad: BadRow) -> bool {
        self.report.bad_rows += 1;
        if self.report.errors.len() < REPORTED_BAD_ROWS {
            self.report
                .errors
                .push(format!("row {}: {}", bad.row, bad.error));
        }
        if self.first_bad.is_none() {
            self.first_bad = Some(bad);
        }
        !self.strict
    }
}

impl RowSink for Sink<'_> {
    fn rows(&mut self, rows: Vec<Vec<Cell>>) -> Result<(), ReadError> {
        let mut rest: &[Vec<Cell>] = &rows;
        while !rest.is_empty() {
            let room = self.segment_rows - self.current.num_docs();
            let (now, later) = rest.split_at(room.min(rest.len()));
            match self.current.append(now) {
                Ok(count) => self.report.rows += count as u64,
                Err(err) => {
                    // Readers convert values already; a refusal here is a row
                    // the segment cannot hold, reported like any bad row.
                    let (index, reason) = match &err {
                        segment::Error::BadValue { row, .. } => (*row as usize, err.to_string()),
                        _ => (0, err.to_string()),
                    };
                    self.report.rows += index as u64;
                    let bad = BadRow {
                        row: self.report.rows + self.report.bad_rows + 1,
                        error: crate::ingest::rows::RowError {
                            column: String::new(),
                            reason,
                        },
                    };
                    if !self.note_bad(bad) {
                        return Err(ReadError::Stopped);
                    }
                    // Go on after the refused row.
                    rest = &rest[index + 1..];
                    continue;
                }
            }
            self.after_append()?;
            rest = later;
        }
        Ok(())
    }

    fn chunks(&mut self, rows: usize, chunks: Vec<Chunk>) -> Result<(), ReadError> {
        let mut start = 0;
        while start < rows {
            let room = self.segment_rows - self.current.num_docs();
            let end = rows.min(start + room);
            let appended = if start == 0 && end == rows {
                self.current.append_chunks(rows, &chunks)
            } else {
                let part: Vec<Chunk> = chunks.iter().map(|chunk| chunk.slice(start..end)).collect();
                self.current.append_chunks(end - start, &part)
            };
            appended.map_err(|err| ReadError::Sink(Box::new(err)))?;
            self.report.rows += (end - start) as u64;
            self.after_append()?;
            start = end;
        }
        Ok(())
    }

    fn bad_row(&mut self, bad: BadRow) -> bool {
        self.note_bad(bad)
    }

    fn warning(&mut self, message: String) {
        self.report.warnings.push(message);
    }
}

/// Ingests `path` into `table`, calling `progress` with the rows read so far.
pub fn ingest_file(
    table: &TableData,
    spec: Arc<SegmentSpec>,
    path: &Path,
    options: &IngestOptions,
    progress: &dyn Fn(u64),
) -> Result<IngestReport, Error> {
    let file = options.source_name.clone();
    let mut sink = Sink {
        table,
        current: SegmentBuilder::new(spec.clone()),
        spec,
        segment_rows: options.segment_rows.max(1),
        strict: options.strict,
        sealed: Vec::new(),
        report: IngestReport::default(),
        first_bad: None,
        progress,
    };
    // A segment the sink failed to write is that failure; anything else
    // is the file's.
    let outcome =
        read_file(path, options.format, &sink.spec.clone(), &mut sink).map_err(|err| match err {
            ReadError::Sink(inner) => match inner.downcast::<Error>() {
                Ok(failure) => *failure,
                Err(inner) => Error::UnreadableFile {
                    file: file.clone(),
                    reason: Box::new(ReadError::Sink(inner)),
                },
            },
            reason => Error::UnreadableFile {
                file: file.clone(),
                reason: Box::new(reason),
            },
        });
    let outcome = outcome.and_then(|()| {
        if options.strict {
            if let Some(bad) = sink.first_bad.take() {
                return Err(Error::StrictBadRow {
                    file: file.clone(),
                    row: bad.row,
                    reason: bad.error.to_string(),
                });
            }
        }
        if sink.report.rows == 0 && sink.report.bad_rows > 0 {
            return Err(Error::NoGoodRows {
                file: file.clone(),
                bad: sink.report.bad_rows,
                first: sink.report.errors.first().cloned().unwrap_or_default(),
            });
        }
        sink.seal_current()
    });
    let committed = outcome.and_then(|()| table.commit(&sink.sealed));
    match committed {
        Ok(names) => {
            sink.report.segments = names;
            Ok(sink.report)
        }
        Err(err) => {
            for path in &sink.sealed {
                let _ = std::fs::remove_file(path);
            }
            Err(err)
        }
    }
}
