//! A table's retention (`segmentsConfig.retentionTimeUnit` and
//! `retentionTimeValue` on its time column): how long rows are kept, and
//! the time column's values read as epoch milliseconds, so a segment's
//! newest row can be compared with the cutoff. The single node's REALTIME
//! supervisor and a cluster's lead controller apply it.

use std::time::Duration;

use serde_json::Value as Json;

use super::datetime::{parse_simple_date, DateTimeFormat, TimeUnit};
use super::{Schema, TableConfig};

/// How a table's time column reads as epoch milliseconds.
#[derive(Debug, Clone)]
pub struct TimeColumn {
    format: DateTimeFormat,
}

impl TimeColumn {
    /// The table's time column (`segmentsConfig.timeColumnName`), if it
    /// has one with a date-time format.
    pub fn of(schema: &Schema, table: &TableConfig) -> Option<TimeColumn> {
        let name = table.segments_config.time_column_name.as_deref()?;
        let format = DateTimeFormat::parse(schema.column(name)?.format?).ok()?;
        Some(TimeColumn { format })
    }

    /// A value of the column, in epoch milliseconds.
    pub fn millis(&self, value: &Json) -> Option<i64> {
        match &self.format {
            DateTimeFormat::Timestamp => value.as_i64(),
            DateTimeFormat::Epoch { size, unit } => {
                let count = value.as_i64()? as i128 * *size as i128;
                i64::try_from(count * unit.nanos() as i128 / 1_000_000).ok()
            }
            DateTimeFormat::SimpleDate { pattern, zone } => {
                parse_simple_date(value.as_str()?, pattern, *zone).ok()
            }
        }
    }
}

/// A table's retention: rows older than `period` (by the time column) go.
#[derive(Debug, Clone)]
pub struct Retention {
    pub period: Duration,
    pub time: TimeColumn,
}

impl Retention {
    /// The table's retention, if it sets one on a time column.
    pub fn of(schema: &Schema, table: &TableConfig) -> Option<Retention> {
        let config = &table.segments_config;
        let unit = TimeUnit::parse(config.retention_time_unit.as_deref()?).ok()?;
        let value: u64 = config
            .retention_time_value
            .as_deref()?
            .trim()
            .parse()
            .ok()?;
        Some(Retention {
            period: Duration::from_nanos(unit.nanos().saturating_mul(value)),
            time: TimeColumn::of(schema, table)?,
        })
    }

    /// The oldest time (epoch milliseconds) a row may have at `now_millis`.
    pub fn cutoff(&self, now_millis: i64) -> i64 {
        now_millis.saturating_sub(self.period.as_millis() as i64)
    }
}
