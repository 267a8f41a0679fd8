//! Exports one sealed segment to a JDBC target: chooses the columns and the
//! key, keeps the last row of each key, splits off rows the table marks
//! deleted, makes sure the target table has the columns (`auto.create`,
//! `auto.evolve`), and hands the rows to the target's transaction.

use roaring::RoaringBitmap;
use std::collections::{HashMap, HashSet};

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use async_trait::async_trait;

use super::dialect::{Column, Dialect, InsertMode};
use super::error::{Error, Result};
use super::{JdbcConfig, PkMode};
use crate::catalog::{Schema, TableConfig};
use crate::export::rows::{arrow_schema, export_columns, read_batch, ExportColumn};
use crate::segment::ImmutableSegment;

/// What one target transaction writes.
pub struct WriteJob<'a> {
    pub connector: &'a str,
    pub source_table: &'a str,
    pub segment: &'a str,
    pub table: &'a str,
    pub columns: &'a [&'a str],
    pub key: &'a [&'a str],
    pub mode: InsertMode,
    /// The written columns' values, in `columns` order.
    pub values: &'a [ArrayRef],
    /// Rows of `values` to write.
    pub rows: &'a [u32],
    /// Rows of `values` whose keys are to be deleted.
    pub deletes: &'a [u32],
    pub batch_size: usize,
}

/// A segment the target's watermark holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub table: String,
    pub segment: String,
    pub rows: i64,
}

/// How a segment's transaction ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Written {
        rows: u64,
        deleted: u64,
    },
    /// The target's watermark already holds the segment.
    AlreadyExported,
}

/// A database the sink writes to.
#[async_trait]
pub trait Target: Send {
    fn dialect(&self) -> Dialect;
    /// Creates the watermark table if needed and lists the segments it
    /// holds for `connector`: (source table, segment) and the rows written.
    async fn exported(&mut self, connector: &str) -> Result<Vec<Exported>>;
    /// The columns of `table`, or `None` when it does not exist.
    async fn table_columns(&mut self, table: &str) -> Result<Option<Vec<String>>>;
    /// Runs one DDL statement.
    async fn execute(&mut self, sql: &str) -> Result<()>;
    /// Writes the job and its watermark row in one transaction.
    async fn write(&mut self, job: &WriteJob<'_>) -> Result<Outcome>;
}

/// A segment's rows, ready for a target.
#[derive(Debug)]
pub struct Prepared {
    pub table: String,
    pub columns: Vec<ExportColumn>,
    pub key: Vec<String>,
    pub values: Vec<ArrayRef>,
    pub rows: Vec<u32>,
    pub deletes: Vec<u32>,
}

/// Reads and shapes a segment's rows per the connector's settings.
pub fn prepare(
    config: &JdbcConfig,
    raw_table: &str,
    schema: &Schema,
    table: &TableConfig,
    segment: &ImmutableSegment,
    late: Option<&RoaringBitmap>,
) -> Result<Prepared> {
    let all = export_columns(schema);
    let key: Vec<String> = match config.pk_mode {
        PkMode::None => Vec::new(),
        PkMode::RecordKey => {
            if schema.primary_key_columns.is_empty() {
                return Err(Error::Mismatch(format!(
                    "pk.mode=record_key uses the schema's primaryKeyColumns, and schema `{}` has none; set them or use pk.mode=record_value with pk.fields",
                    schema.schema_name
                )));
            }
            schema.primary_key_columns.clone()
        }
        PkMode::RecordValue if config.pk_fields.is_empty() => {
            all.iter().map(|column| column.name.clone()).collect()
        }
        PkMode::RecordValue => config.pk_fields.clone(),
    };
    let known: HashSet<&str> = all.iter().map(|column| column.name.as_str()).collect();
    for (what, names) in [
        ("pk.fields", &key),
        ("fields.whitelist", &config.fields_whitelist),
    ] {
        if let Some(missing) = names.iter().find(|name| !known.contains(name.as_str())) {
            return Err(Error::Mismatch(format!(
                "{what}: table `{raw_table}` has no column `{missing}`"
            )));
        }
    }
    let columns: Vec<ExportColumn> = all
        .into_iter()
        .filter(|column| {
            config.fields_whitelist.is_empty()
                || config.fields_whitelist.contains(&column.name)
                || key.contains(&column.name)
        })
        .collect();
    let delete_column = table
        .upsert_config
        .as_ref()
        .and_then(|upsert| upsert.delete_record_column.clone());
    if config.delete_enabled && delete_column.is_none() {
        return Err(Error::Mismatch(format!(
            "delete.enabled: table `{raw_table}` marks no rows deleted (it has no upsertConfig.deleteRecordColumn); turn delete.enabled off or add the column"
        )));
    }
    let mut read_columns = columns.clone();
    let mut extra = |name: &str, what: &str| -> Result<usize> {
        if let Some(index) = read_columns.iter().position(|c| c.name == name) {
            return Ok(index);
        }
        let spec = export_columns(schema)
            .into_iter()
            .find(|c| c.name == name)
            .ok_or_else(|| Error::Mismatch(format!("{what} `{name}` is not in the schema")))?;
        read_columns.push(spec);
        Ok(read_columns.len() - 1)
    };
    let delete_index = match (&delete_column, config.delete_enabled) {
        (Some(name), true) => Some(extra(name, "deleteRecordColumn")?),
        _ => None,
    };
    // Which of two rows of a key is newer: an upsert table's comparison
    // column (by default its time column), as Pinot decides; else doc order.
    let comparison = table.upsert_config.as_ref().and_then(|upsert| {
        upsert
            .comparison_columns
            .first()
            .or(upsert.comparison_column.as_ref())
            .or(table.segments_config.time_column_name.as_ref())
            .cloned()
    });
    let comparison_index = match &comparison {
        Some(name) => Some(extra(name, "upsertConfig.comparisonColumn")?),
        None => None,
    };
    let arrow = arrow_schema(&read_columns);
    let batch = read_batch(segment, &read_columns, &arrow, 0..segment.num_docs() as u32)?;
    let key_indexes: Vec<usize> = key
        .iter()
        .filter_map(|name| columns.iter().position(|c| &c.name == name))
        .collect();
    let versions = match comparison_index {
        Some(index) => Some(as_f64(batch.column(index))?),
        None => None,
    };
    let order = last_per_key(&batch, &key_indexes, versions.as_deref(), late)?;
    let deleted = match delete_index {
        Some(index) => Some(
            arrow_cast::cast(batch.column(index), &arrow_schema::DataType::Boolean).map_err(
                |source| Error::ColumnType {
                    what: "deleteRecordColumn is not a boolean",
                    source,
                },
            )?,
        ),
        None => None,
    };
    let is_deleted = |row: u32| {
        deleted.as_ref().is_some_and(|flags| {
            let flags = flags.as_boolean();
            !flags.is_null(row as usize) && flags.value(row as usize)
        })
    };
    let (deletes, rows): (Vec<u32>, Vec<u32>) = order.into_iter().partition(|row| is_deleted(*row));
    let values = batch.columns()[..columns.len()].to_vec();
    Ok(Prepared {
        table: config.target_table(raw_table),
        columns,
        key,
        values,
        rows,
        deletes,
    })
}

/// A comparison column's values as numbers; `None` for a null.
fn as_f64(column: &ArrayRef) -> Result<Vec<Option<f64>>> {
    let numbers = arrow_cast::cast(column, &arrow_schema::DataType::Float64).map_err(|source| {
        Error::ColumnType {
            what: "the upsert comparison column is not numeric",
            source,
        }
    })?;
    let numbers = numbers.as_primitive::<arrow_array::types::Float64Type>();
    Ok((0..numbers.len())
        .map(|row| {
            if numbers.is_null(row) {
                None
            } else {
                Some(numbers.value(row))
            }
        })
        .collect())
}

/// The rows to write, in order: every row without a key; with a key, the
/// newest row of each key: the greatest `versions` value, the later row
/// among equals (a later version replaces an earlier one). A row without a
/// version (a key-only delete) is ordered by arrival, as is any row after it.
/// `late` rows (an upsert table's records that arrived older than the
/// version it held) never replaced anything and are left out.
fn last_per_key(
    batch: &RecordBatch,
    key: &[usize],
    versions: Option<&[Option<f64>]>,
    late: Option<&RoaringBitmap>,
) -> Result<Vec<u32>> {
    let rows = batch.num_rows() as u32;
    let on_time = |row: &u32| !late.is_some_and(|late| late.contains(*row));
    if key.is_empty() {
        return Ok((0..rows).filter(on_time).collect());
    }
    let options = FormatOptions::default().with_null("\u{0}null");
    let formatters = key
        .iter()
        .map(|index| ArrayFormatter::try_new(batch.column(*index).as_ref(), &options))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let mut last: HashMap<String, u32> = HashMap::with_capacity(batch.num_rows());
    let mut text = String::new();
    for row in (0..rows).filter(on_time) {
        text.clear();
        for formatter in &formatters {
            use std::fmt::Write as _;
            let _ = write!(text, "{}\u{1}", formatter.value(row as usize));
        }
        match last.get_mut(text.as_str()) {
            Some(kept) => {
                let newer = versions.is_none_or(|versions| {
                    match (versions[row as usize], versions[*kept as usize]) {
                        (Some(new), Some(old)) => new >= old,
                        _ => true,
                    }
                });
                if newer {
                    *kept = row;
                }
            }
            None => {
                last.insert(text.clone(), row);
            }
        }
    }
    let mut keep: Vec<u32> = last.into_values().collect();
    keep.sort_unstable();
    Ok(keep)
}

/// Makes sure `table` exists with every column, creating or altering it as
/// `auto.create` and `auto.evolve` allow.
pub async fn ensure_table(
    target: &mut dyn Target,
    config: &JdbcConfig,
    prepared: &Prepared,
) -> Result<()> {
    let dialect = target.dialect();
    let columns: Vec<Column<'_>> = prepared
        .columns
        .iter()
        .map(|column| Column {
            name: &column.name,
            ty: column.data_type,
            multi_value: !column.single_value,
            nullable: !column.not_null,
        })
        .collect();
    match target.table_columns(&prepared.table).await? {
        None if config.auto_create => {
            let key: Vec<&str> = prepared.key.iter().map(String::as_str).collect();
            let sql = dialect.create_table(&prepared.table, &columns, &key)?;
            target.execute(&sql).await
        }
        None => Err(Error::Mismatch(format!(
            "table {} does not exist in the target; create it or set auto.create=true",
            prepared.table
        ))),
        Some(existing) => {
            let missing: Vec<&Column<'_>> = columns
                .iter()
                .filter(|column| !existing.iter().any(|name| name == column.name))
                .collect();
            if missing.is_empty() {
                return Ok(());
            }
            if let Some(key) = missing
                .iter()
                .find(|c| prepared.key.iter().any(|k| k == c.name))
            {
                return Err(Error::Mismatch(format!(
                    "table {} has no key column {}; auto.evolve adds value columns only and never changes a table's primary key: add the column and its key constraint, or write to a new table",
                    prepared.table, key.name
                )));
            }
            if !config.auto_evolve {
                let names: Vec<&str> = missing.iter().map(|column| column.name).collect();
                return Err(Error::Mismatch(format!(
                    "table {} has no column(s) {}; add them or set auto.evolve=true",
                    prepared.table,
                    names.join(", ")
                )));
            }
            for column in missing {
                let sql = dialect.add_column(&prepared.table, column)?;
                target.execute(&sql).await?;
            }
            Ok(())
        }
    }
}
