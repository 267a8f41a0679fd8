//! A sealed segment's rows as Arrow record batches, typed by the table's
//! schema: what both sinks write. TIMESTAMP columns become UTC microsecond
//! timestamps, multi-value columns lists, BIG_DECIMAL exact decimal text;
//! stored nulls are nulls again, and a column the segment predates is all null.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, TimestampMicrosecondArray};
use arrow_schema::{DataType as ArrowType, Field, Schema as ArrowSchema, SchemaRef, TimeUnit};
use datafusion::arrow::buffer::NullBuffer;
use roaring::RoaringBitmap;

use super::error::RowsError;
use crate::catalog::{DataType, Schema};
use crate::expr::value::ColumnType;
use crate::query::docs::Docs;
use crate::query::multistage::arrow::{arrow_type, to_array};
use crate::query::source::SegmentSource;
use crate::segment::ImmutableSegment;

/// One exported column.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportColumn {
    pub name: String,
    pub data_type: DataType,
    pub single_value: bool,
    pub not_null: bool,
}

/// The schema's columns in export order: dimensions, metrics, date-times.
pub fn export_columns(schema: &Schema) -> Vec<ExportColumn> {
    schema
        .columns()
        .map(|column| ExportColumn {
            name: column.name.to_string(),
            data_type: column.data_type,
            single_value: column.single_value,
            not_null: column.not_null,
        })
        .collect()
}

fn column_type(column: &ExportColumn) -> ColumnType {
    ColumnType::of(column.data_type, column.single_value)
}

/// The Arrow type a column is exported as.
pub fn export_type(column: &ExportColumn) -> ArrowType {
    if column.data_type == DataType::Timestamp && column.single_value {
        ArrowType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    } else {
        arrow_type(column_type(column))
    }
}

/// The Arrow schema of the exported columns.
pub fn arrow_schema(columns: &[ExportColumn]) -> SchemaRef {
    let fields: Vec<Field> = columns
        .iter()
        .map(|column| Field::new(&column.name, export_type(column), true))
        .collect();
    Arc::new(ArrowSchema::new(fields))
}

/// The rows `docs` of `segment`, in doc order.
pub fn read_batch(
    segment: &ImmutableSegment,
    columns: &[ExportColumn],
    schema: &SchemaRef,
    docs: Range<u32>,
) -> Result<RecordBatch, RowsError> {
    let len = docs.len();
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns.len());
    for column in columns {
        let target = export_type(column);
        let Some(source) = SegmentSource::column(segment, &column.name) else {
            arrays.push(arrow_array::new_null_array(&target, len));
            continue;
        };
        let vector = source.values(Docs::Range(docs.start, docs.end));
        let mut array = to_array(&vector, column_type(column));
        if let ArrowType::Timestamp(..) = target {
            array = millis_to_micros(&array)?;
        }
        if let Some(nulls) = source.nulls() {
            array = with_nulls(array, &nulls, &docs)?;
        }
        arrays.push(array);
    }
    if arrays.is_empty() {
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(len));
        return Ok(RecordBatch::try_new_with_options(
            schema.clone(),
            arrays,
            &options,
        )?);
    }
    Ok(RecordBatch::try_new(schema.clone(), arrays)?)
}

fn millis_to_micros(array: &ArrayRef) -> Result<ArrayRef, RowsError> {
    let millis = array
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or(RowsError::Internal(
            "a TIMESTAMP column did not read as 64-bit integers",
        ))?;
    let micros: TimestampMicrosecondArray = millis
        .iter()
        .map(|value| value.map(|ms| ms.saturating_mul(1000)))
        .collect();
    Ok(Arc::new(micros.with_timezone("UTC")))
}

/// `array` (rows `docs`) with the docs in `nulls` marked null.
fn with_nulls(
    array: ArrayRef,
    nulls: &RoaringBitmap,
    docs: &Range<u32>,
) -> Result<ArrayRef, RowsError> {
    let mut in_range = nulls.clone();
    in_range.remove_range(..docs.start);
    in_range.remove_range(docs.end..);
    if in_range.is_empty() {
        return Ok(array);
    }
    let valid: Vec<bool> = (docs.start..docs.end)
        .map(|doc| !in_range.contains(doc))
        .collect();
    let merged = NullBuffer::union(array.nulls(), Some(&NullBuffer::from(valid)));
    let data = array.to_data().into_builder().nulls(merged).build()?;
    Ok(arrow_array::make_array(data))
}
