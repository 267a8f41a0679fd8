//! Newline-delimited JSON: one object per line; blank lines are skipped.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::{list_names, Batcher, RowSink};
use crate::ingest::error::{Error, Result};
use crate::ingest::rows::{field, json_row, RowError};
use crate::segment::{Cell, SegmentSpec};

pub fn read(path: &Path, spec: &SegmentSpec, sink: &mut dyn RowSink) -> Result<()> {
    let file = File::open(path).map_err(Error::Open)?;
    let reader = BufReader::with_capacity(1 << 20, file);
    let mut batcher = Batcher::new(sink);
    let mut row = 0u64;
    for line in reader.split(b'\n') {
        let line = line.map_err(Error::Read)?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        row += 1;
        let parsed = serde_json::from_slice(&line)
            .map_err(|err| RowError {
                column: String::new(),
                reason: format!("invalid JSON: {err}"),
            })
            .and_then(|record| {
                let cells = json_row(&record, spec)?;
                // All nulls: either explicit ones, or keys that name no column.
                if cells.iter().all(|cell| matches!(cell, Cell::Null)) {
                    check_some_key_matches(&record, spec)?;
                }
                Ok(cells)
            });
        match parsed {
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

/// Refuses an object none of whose keys names a column of the table (its row
/// would hold only default values).
fn check_some_key_matches(
    record: &serde_json::Value,
    spec: &SegmentSpec,
) -> std::result::Result<(), RowError> {
    let Some(object) = record.as_object() else {
        return Ok(());
    };
    if spec
        .columns
        .iter()
        .any(|column| field(object, &column.name).is_some())
    {
        return Ok(());
    }
    Err(RowError {
        column: String::new(),
        reason: format!(
            "no key of the object ({}) names a column of the table; the table's columns are {}",
            list_names(object.keys().map(String::as_str)),
            list_names(spec.columns.iter().map(|column| column.name.as_str()))
        ),
    })
}
