//! Parquet, through the arrow reader: only the table's columns are read, a
//! batch at a time, and converted column by column.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType as ArrowType, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use super::{match_columns, Batcher, RowSink, BATCH_ROWS};
use crate::catalog::DataType;
use crate::ingest::rows::RowError;
use crate::segment::{conform_scalar, Cell, ColumnSpec, Scalar, SegmentSpec};

pub fn read(path: &Path, spec: &SegmentSpec, sink: &mut dyn RowSink) -> Result<(), String> {
    let file = File::open(path).map_err(|err| format!("cannot open the file: {err}"))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|err| format!("not a readable Parquet file: {err}"))?;
    let names: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|field| field.name().clone())
        .collect();
    let positions = match_columns(spec, &names);
    let wanted: Vec<usize> = {
        let mut wanted: Vec<usize> = positions.iter().flatten().copied().collect();
        wanted.sort_unstable();
        wanted.dedup();
        wanted
    };
    let mask = ProjectionMask::roots(builder.parquet_schema(), wanted.iter().copied());
    let reader = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|err| format!("cannot read the file: {err}"))?;
    // Positions in the projected batches.
    let projected: Vec<Option<usize>> = positions
        .iter()
        .map(|position| position.and_then(|at| wanted.iter().position(|w| *w == at)))
        .collect();

    let mut batcher = Batcher::new(sink);
    let mut row = 0u64;
    for batch in reader {
        let batch =
            batch.map_err(|err| format!("cannot read the file at row {}: {err}", row + 1))?;
        let columns: Vec<Option<Vec<Result<Cell, String>>>> = spec
            .columns
            .iter()
            .zip(&projected)
            .map(|(column, position)| position.map(|at| convert_array(batch.column(at), column)))
            .collect();
        for index in 0..batch.num_rows() {
            row += 1;
            match assemble(&columns, index, spec) {
                Ok(cells) => batcher.push(cells)?,
                Err(error) => {
                    if !batcher.bad(row, error) {
                        return batcher.flush();
                    }
                }
            }
        }
    }
    batcher.flush()
}

fn assemble(
    columns: &[Option<Vec<Result<Cell, String>>>],
    index: usize,
    spec: &SegmentSpec,
) -> Result<Vec<Cell>, RowError> {
    let mut row = Vec::with_capacity(columns.len());
    for (cells, column) in columns.iter().zip(&spec.columns) {
        match cells {
            None => row.push(Cell::Null),
            Some(cells) => match &cells[index] {
                Ok(cell) => row.push(cell.clone()),
                Err(reason) => {
                    return Err(RowError {
                        column: column.name.clone(),
                        reason: reason.clone(),
                    })
                }
            },
        }
    }
    Ok(row)
}

/// Converts every value of an arrow array into cells of `column`.
fn convert_array(array: &ArrayRef, column: &ColumnSpec) -> Vec<Result<Cell, String>> {
    let len = array.len();
    if let ArrowType::List(_) | ArrowType::LargeList(_) = array.data_type() {
        return (0..len)
            .map(|index| {
                if array.is_null(index) {
                    return Ok(Cell::Null);
                }
                let values = match array.data_type() {
                    ArrowType::List(_) => array.as_list::<i32>().value(index),
                    _ => array.as_list::<i64>().value(index),
                };
                let scalars: Result<Vec<Scalar>, String> = scalars(&values, column.data_type)
                    .into_iter()
                    .flatten()
                    .collect();
                let scalars = scalars?;
                if column.single_value {
                    match scalars.len() {
                        0 => Ok(Cell::Null),
                        1 => Ok(Cell::One(
                            scalars.into_iter().next().unwrap_or(Scalar::I32(0)),
                        )),
                        n => Err(format!("{n} values for a single-value column")),
                    }
                } else {
                    Ok(Cell::Many(scalars))
                }
            })
            .collect();
    }
    scalars(array, column.data_type)
        .into_iter()
        .map(|value| match value {
            None => Ok(Cell::Null),
            Some(Ok(value)) if column.single_value => Ok(Cell::One(value)),
            Some(Ok(value)) => Ok(Cell::Many(vec![value])),
            Some(Err(reason)) => Err(reason),
        })
        .collect()
}

/// The values of a flat array as scalars of `data_type` (`None` for nulls).
fn scalars(array: &dyn Array, data_type: DataType) -> Vec<Option<Result<Scalar, String>>> {
    macro_rules! ints {
        ($t:ty) => {{
            let values = array.as_primitive::<$t>();
            (0..values.len())
                .map(|i| {
                    values
                        .is_valid(i)
                        .then(|| conform_scalar(&Scalar::I64(values.value(i) as i64), data_type))
                })
                .collect()
        }};
    }
    macro_rules! floats {
        ($t:ty) => {{
            let values = array.as_primitive::<$t>();
            (0..values.len())
                .map(|i| {
                    values
                        .is_valid(i)
                        .then(|| conform_scalar(&Scalar::F64(values.value(i) as f64), data_type))
                })
                .collect()
        }};
    }
    match array.data_type() {
        ArrowType::Int8 => ints!(Int8Type),
        ArrowType::Int16 => ints!(Int16Type),
        ArrowType::Int32 => ints!(Int32Type),
        ArrowType::Int64 => ints!(Int64Type),
        ArrowType::UInt8 => ints!(UInt8Type),
        ArrowType::UInt16 => ints!(UInt16Type),
        ArrowType::UInt32 => ints!(UInt32Type),
        ArrowType::UInt64 => ints!(UInt64Type),
        ArrowType::Float32 => floats!(Float32Type),
        ArrowType::Float64 => floats!(Float64Type),
        ArrowType::Boolean => {
            let values = array.as_boolean();
            (0..values.len())
                .map(|i| {
                    values
                        .is_valid(i)
                        .then(|| conform_scalar(&Scalar::I64(values.value(i) as i64), data_type))
                })
                .collect()
        }
        ArrowType::Utf8 => {
            let values = array.as_string::<i32>();
            (0..values.len())
                .map(|i| {
                    values
                        .is_valid(i)
                        .then(|| Scalar::parse(data_type, values.value(i)))
                })
                .collect()
        }
        ArrowType::LargeUtf8 => {
            let values = array.as_string::<i64>();
            (0..values.len())
                .map(|i| {
                    values
                        .is_valid(i)
                        .then(|| Scalar::parse(data_type, values.value(i)))
                })
                .collect()
        }
        ArrowType::Binary if data_type == DataType::Bytes => {
            let values = array.as_binary::<i32>();
            (0..values.len())
                .map(|i| {
                    values
                        .is_valid(i)
                        .then(|| Ok(Scalar::Bytes(values.value(i).to_vec())))
                })
                .collect()
        }
        ArrowType::Timestamp(unit, _) => {
            let millis =
                match arrow_cast::cast(array, &ArrowType::Timestamp(TimeUnit::Millisecond, None))
                    .and_then(|cast| arrow_cast::cast(&cast, &ArrowType::Int64))
                {
                    Ok(millis) => millis,
                    Err(err) => {
                        return vec![
                            Some(Err(format!("cannot convert {unit:?} timestamps: {err}")));
                            array.len()
                        ]
                    }
                };
            scalars(&millis, data_type)
        }
        _ => match arrow_cast::cast(array, &ArrowType::Utf8) {
            Ok(text) => scalars(&text, data_type),
            Err(err) => {
                let reason = format!(
                    "Parquet type {} cannot be read into a {data_type} column: {err}",
                    array.data_type()
                );
                vec![Some(Err(reason)); array.len()]
            }
        },
    }
}
