//! Reading rows from files for batch ingestion: Parquet, CSV and
//! newline-delimited JSON.
//!
//! Readers map file columns to table columns by name (exactly, then ignoring
//! case), convert values by the column's type, and hand rows to a sink in
//! batches. A file none of whose columns (CSV header, Parquet fields) names
//! a table column is refused: every row would hold only default values.
//! Columns the table lacks are ignored, as Pinot does, and named in a
//! warning. A JSON line none of whose keys names a column is a bad row. A record that cannot be converted is a bad row: it is reported
//! with its 1-based row number and skipped, unless the caller asked to stop
//! at the first one.

mod csv;
mod json;
mod parquet;

use std::path::Path;

use super::error::{Error, Result};
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
    pub fn parse(name: &str) -> Result<FileFormat> {
        match name.trim().to_ascii_lowercase().as_str() {
            "parquet" => Ok(FileFormat::Parquet),
            "csv" => Ok(FileFormat::Csv),
            "json" | "jsonl" | "ndjson" => Ok(FileFormat::Json),
            other => Err(Error::UnknownFormat(other.to_string())),
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
/// A sink that cannot take rows returns [`Error::Stopped`] or its own
/// failure as [`Error::Sink`]; the reader stops and returns it.
pub trait RowSink {
    fn rows(&mut self, rows: Vec<Vec<Cell>>) -> Result<()>;

    /// A batch of `rows` good rows given column by column (`chunks[i]` for
    /// table column `i`). Columnar readers use this to skip per-row cells.
    fn chunks(&mut self, rows: usize, chunks: Vec<Chunk>) -> Result<()> {
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

    /// Something about the file worth reporting that does not stop it
    /// (columns the table does not have).
    fn warning(&mut self, _message: String) {}
}

/// Reads every row of `path` into `sink`. Errors are about the file as a
/// whole (unreadable, not the format); bad rows go to the sink.
pub fn read_file(
    path: &Path,
    format: FileFormat,
    spec: &SegmentSpec,
    sink: &mut dyn RowSink,
) -> Result<()> {
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

/// Most names a message lists; the rest are counted.
const LISTED_NAMES: usize = 20;

/// `a, b, c` (and "and N more" past [`LISTED_NAMES`]).
pub(crate) fn list_names<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.into_iter().collect();
    let mut text = names
        .iter()
        .take(LISTED_NAMES)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > LISTED_NAMES {
        text.push_str(&format!(" and {} more", names.len() - LISTED_NAMES));
    }
    text
}

/// Checks what [`match_columns`] found for a file's column `names`: an
/// error when none names a table column, else a warning for each name the
/// table lacks. `what` says where the names come from ("the CSV header").
pub(crate) fn check_columns(
    spec: &SegmentSpec,
    names: &[String],
    positions: &[Option<usize>],
    what: &str,
    sink: &mut dyn RowSink,
) -> Result<()> {
    let columns = || list_names(spec.columns.iter().map(|column| column.name.as_str()));
    if names.is_empty() {
        return Err(Error::Columns(format!(
            "{what} is empty; it must name the table's columns ({})",
            columns()
        )));
    }
    if positions.iter().all(Option::is_none) {
        return Err(Error::Columns(format!(
            "{what} ({}) names no column of the table, so every row would hold only default values; the table's columns are {}",
            list_names(names.iter().map(String::as_str)),
            columns()
        )));
    }
    let unknown: Vec<&str> = names
        .iter()
        .enumerate()
        .filter(|(at, _)| !positions.contains(&Some(*at)))
        .map(|(_, name)| name.as_str())
        .collect();
    if !unknown.is_empty() {
        sink.warning(format!(
            "{what} names {} column(s) the table does not have, ignored: {}",
            unknown.len(),
            list_names(unknown)
        ));
    }
    Ok(())
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

    pub fn push(&mut self, row: Vec<Cell>) -> Result<()> {
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

    pub fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_ROWS));
        self.sink.rows(batch)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalog::{parse_value, Schema, TableConfig};

    fn spec() -> SegmentSpec {
        let schema: Schema = parse_value(
            json!({
                "schemaName": "trades",
                "dimensionFieldSpecs": [
                    {"name": "symbol", "dataType": "STRING"},
                    {"name": "address.city", "dataType": "STRING"}
                ],
                "metricFieldSpecs": [{"name": "price", "dataType": "DOUBLE"}]
            }),
            "schema",
        )
        .unwrap()
        .value;
        let table: TableConfig = parse_value(
            json!({"tableName": "trades", "tableType": "OFFLINE", "segmentsConfig": {}, "tableIndexConfig": {}}),
            "table",
        )
        .unwrap()
        .value;
        SegmentSpec::new(&schema, &table)
    }

    #[derive(Default)]
    struct Collect {
        rows: Vec<Vec<Cell>>,
        bad: Vec<BadRow>,
        warnings: Vec<String>,
    }

    impl RowSink for Collect {
        fn rows(&mut self, rows: Vec<Vec<Cell>>) -> Result<()> {
            self.rows.extend(rows);
            Ok(())
        }

        fn bad_row(&mut self, bad: BadRow) -> bool {
            self.bad.push(bad);
            true
        }

        fn warning(&mut self, message: String) {
            self.warnings.push(message);
        }
    }

    fn read(name: &str, text: &str, format: FileFormat) -> (Result<()>, Collect) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let mut sink = Collect::default();
        let result = read_file(&path, format, &spec(), &mut sink);
        (result, sink)
    }

    #[test]
    fn a_csv_header_naming_no_column_is_refused() {
        let (result, sink) = read("t.csv", "ticker;cost\nA;1\nB;2\n", FileFormat::Csv);
        let err = result.unwrap_err().to_string();
        assert!(
            err.contains("the CSV header (ticker;cost) names no column")
                && err.contains("columns are symbol, address.city, price"),
            "{err}"
        );
        assert!(sink.rows.is_empty());
        let (result, _) = read("t.csv", "", FileFormat::Csv);
        assert!(result
            .unwrap_err()
            .to_string()
            .contains("the CSV header is empty"));
    }

    #[test]
    fn csv_columns_the_table_lacks_are_a_warning() {
        let (result, sink) = read("t.csv", "SYMBOL,venue,price\nA,x,1.5\n", FileFormat::Csv);
        result.unwrap();
        assert_eq!(sink.rows.len(), 1);
        assert_eq!(
            sink.warnings,
            ["the CSV header names 1 column(s) the table does not have, ignored: venue"]
        );
    }

    #[test]
    fn a_json_line_naming_no_column_is_a_bad_row() {
        let text =
            "{\"ticker\": \"A\"}\n{\"symbol\": null}\n{\"address\": {\"city\": \"x\"}}\n{}\n";
        let (result, sink) = read("t.json", text, FileFormat::Json);
        result.unwrap();
        // An explicit null names a column; so does a nested field.
        assert_eq!(sink.rows.len(), 2);
        let rows: Vec<u64> = sink.bad.iter().map(|bad| bad.row).collect();
        assert_eq!(rows, [1, 4]);
        let reason = sink.bad[0].error.to_string();
        assert!(
            reason.contains("no key of the object (ticker) names a column"),
            "{reason}"
        );
    }
}
