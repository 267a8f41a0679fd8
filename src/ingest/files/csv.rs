//! CSV with a header row. Empty fields are nulls; a multi-value field holds
//! its values separated by `;` (Pinot's default multi-value delimiter).

use std::path::Path;

use super::{check_columns, match_columns, Batcher, RowSink};
use crate::ingest::error::{Error, Result};
use crate::ingest::rows::RowError;
use crate::segment::{Cell, Scalar, SegmentSpec, ValueError};

const MULTI_VALUE_DELIMITER: char = ';';

pub fn read(path: &Path, spec: &SegmentSpec, sink: &mut dyn RowSink) -> Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(Error::CsvOpen)?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(Error::CsvHeader)?
        .iter()
        .map(|name| name.trim().to_string())
        .collect();
    let positions = match_columns(spec, &headers);
    check_columns(spec, &headers, &positions, "the CSV header", sink)?;
    let mut batcher = Batcher::new(sink);
    let mut record = csv::StringRecord::new();
    let mut row = 0u64;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(err) => {
                row += 1;
                let error = RowError {
                    column: String::new(),
                    reason: format!("malformed CSV: {err}"),
                };
                if !batcher.bad(row, error) {
                    break;
                }
                continue;
            }
        }
        row += 1;
        match convert(&record, &positions, spec) {
            Ok(cells) => batcher.push(cells)?,
            Err(error) => {
                if !batcher.bad(row, error) {
                    break;
                }
            }
        }
    }
    batcher.flush()
}

fn convert(
    record: &csv::StringRecord,
    positions: &[Option<usize>],
    spec: &SegmentSpec,
) -> std::result::Result<Vec<Cell>, RowError> {
    let mut row = Vec::with_capacity(spec.columns.len());
    for (column, position) in spec.columns.iter().zip(positions) {
        let text = position.and_then(|at| record.get(at)).unwrap_or("");
        let fail = |reason: ValueError| RowError {
            column: column.name.clone(),
            reason: reason.to_string(),
        };
        let cell = if text.is_empty() {
            Cell::Null
        } else if column.single_value {
            Cell::One(Scalar::parse(column.data_type, text).map_err(fail)?)
        } else {
            let values: std::result::Result<Vec<Scalar>, ValueError> = text
                .split(MULTI_VALUE_DELIMITER)
                .filter(|part| !part.is_empty())
                .map(|part| Scalar::parse(column.data_type, part))
                .collect();
            Cell::Many(values.map_err(fail)?)
        };
        row.push(cell);
    }
    Ok(row)
}
