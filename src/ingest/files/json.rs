//! Newline-delimited JSON: one object per line; blank lines are skipped.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::{Batcher, RowSink};
use crate::ingest::rows::{json_row, RowError};
use crate::segment::SegmentSpec;

pub fn read(path: &Path, spec: &SegmentSpec, sink: &mut dyn RowSink) -> Result<(), String> {
    let file = File::open(path).map_err(|err| format!("cannot open the file: {err}"))?;
    let reader = BufReader::with_capacity(1 << 20, file);
    let mut batcher = Batcher::new(sink);
    let mut row = 0u64;
    for line in reader.split(b'\n') {
        let line = line.map_err(|err| format!("cannot read the file: {err}"))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        row += 1;
        let parsed = serde_json::from_slice(&line)
            .map_err(|err| RowError {
                column: String::new(),
                reason: format!("invalid JSON: {err}"),
            })
            .and_then(|record| json_row(&record, spec));
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
