//! Parquet, through the arrow reader: only the table's columns are read, a
//! batch at a time, and converted column by column. Single-value columns of
//! plain types go straight into typed vectors; lists and anything needing
//! text conversion go through cells.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType as ArrowType, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use super::{check_columns, match_columns, BadRow, RowSink, BATCH_ROWS};
use crate::catalog::DataType;
use crate::ingest::error::{Error, Result};
use crate::ingest::rows::RowError;
use crate::segment::{
    conform_scalar, Cell, Chunk, ColumnSpec, Physical, Scalar, SegmentSpec, ValueError, Values,
};

/// Why one value of the file cannot become a value of its column: the
/// reason its row is bad.
#[derive(Debug, Clone, thiserror::Error)]
enum BadValue {
    #[error(transparent)]
    Value(#[from] ValueError),

    #[error("{value} does not fit a {data_type} column")]
    TooBig { value: i128, data_type: DataType },

    #[error("cannot convert {unit:?} timestamps: {source}")]
    Timestamps {
        unit: TimeUnit,
        #[source]
        source: Arc<ArrowError>,
    },

    #[error("Parquet type {from} cannot be read into a {data_type} column: {source}")]
    Type {
        from: ArrowType,
        data_type: DataType,
        #[source]
        source: Arc<ArrowError>,
    },
}

/// Reads the Parquet file at `path` into `sink`. The Parquet and Arrow
/// decoders panic on some damaged files where they should return an error
/// (a negative column chunk offset, an unknown type id); such a panic is
/// reported as an unreadable file. Rows handed over before it go with the
/// file, which lands whole or not at all.
pub fn read(path: &Path, spec: &SegmentSpec, sink: &mut dyn RowSink) -> Result<()> {
    let guarded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_unguarded(path, spec, sink)
    }));
    guarded.unwrap_or_else(|panic| {
        let reason = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("no reason given");
        Err(Error::ParquetPanic(reason.to_string()))
    })
}

fn read_unguarded(path: &Path, spec: &SegmentSpec, sink: &mut dyn RowSink) -> Result<()> {
    let file = File::open(path).map_err(Error::Open)?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(Error::NotParquet)?;
    let names: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|field| field.name().clone())
        .collect();
    let positions = match_columns(spec, &names);
    check_columns(spec, &names, &positions, "the Parquet file's columns", sink)?;
    let mut wanted: Vec<usize> = positions.iter().flatten().copied().collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mask = ProjectionMask::roots(builder.parquet_schema(), wanted.iter().copied());
    let reader = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(Error::ParquetRead)?;
    // Positions in the projected batches.
    let projected: Vec<Option<usize>> = positions
        .iter()
        .map(|position| position.and_then(|at| wanted.iter().position(|w| *w == at)))
        .collect();

    let mut row_base = 0u64;
    for batch in reader {
        let batch = batch.map_err(|source| Error::Batch {
            row: row_base + 1,
            source,
        })?;
        let go_on = convert_batch(&batch, &projected, spec, row_base, sink)?;
        row_base += batch.num_rows() as u64;
        if !go_on {
            break;
        }
    }
    Ok(())
}

/// Converts one record batch and hands its good rows to the sink; returns
/// whether to go on.
fn convert_batch(
    batch: &RecordBatch,
    projected: &[Option<usize>],
    spec: &SegmentSpec,
    row_base: u64,
    sink: &mut dyn RowSink,
) -> Result<bool> {
    let rows = batch.num_rows();
    let mut chunks = Vec::with_capacity(spec.columns.len());
    // First error of each bad row.
    let mut bad: Vec<(u32, RowError)> = Vec::new();
    for (column, position) in spec.columns.iter().zip(projected) {
        let Some(at) = position else {
            // A column the file lacks is null in every row.
            chunks.push(if column.single_value {
                Chunk::Values {
                    values: filled(column, rows),
                    nulls: (0..rows as u32).collect(),
                }
            } else {
                Chunk::Cells(vec![Cell::Null; rows])
            });
            continue;
        };
        let mut epoch_errors = Vec::new();
        let epoch = match as_epoch(batch.column(*at), column) {
            Some(Ok((converted, errors))) => {
                epoch_errors = errors;
                converted
            }
            Some(Err(reason)) => {
                let rows_bad = (0..rows as u32).map(|row| (row, reason.clone()));
                chunks.push(Chunk::Values {
                    values: filled(column, rows),
                    nulls: (0..rows as u32).collect(),
                });
                bad.extend(rows_bad.map(|(row, reason)| {
                    let error = RowError {
                        column: column.name.clone(),
                        reason: reason.to_string(),
                    };
                    (row, error)
                }));
                continue;
            }
            None => batch.column(*at).clone(),
        };
        let array = &epoch;
        let (chunk, mut errors) = match typed_chunk(array, column) {
            Some(typed) => typed,
            None => cell_chunk(array, column),
        };
        errors.append(&mut epoch_errors);
        for (row, reason) in errors {
            bad.push((
                row,
                RowError {
                    column: column.name.clone(),
                    reason: reason.to_string(),
                },
            ));
        }
        chunks.push(chunk);
    }
    if bad.is_empty() {
        sink.chunks(rows, chunks)?;
        return Ok(true);
    }
    bad.sort_by_key(|(row, _)| *row);
    bad.dedup_by_key(|(row, _)| *row);
    let mut go_on = true;
    for (row, error) in &bad {
        if !sink.bad_row(BadRow {
            row: row_base + *row as u64 + 1,
            error: error.clone(),
        }) {
            go_on = false;
            break;
        }
    }
    let bad_rows: Vec<u32> = bad.iter().map(|(row, _)| *row).collect();
    let keep: Vec<u32> = (0..rows as u32)
        .filter(|row| bad_rows.binary_search(row).is_err())
        .collect();
    if !keep.is_empty() && go_on {
        let kept = chunks.iter().map(|chunk| keep_rows(chunk, &keep)).collect();
        sink.chunks(keep.len(), kept)?;
    }
    Ok(go_on)
}

/// A DATE or TIMESTAMP array bound for an INT, LONG or TIMESTAMP column,
/// as integers in the column's unit: a date-time column's own
/// (`1:DAYS:EPOCH` gets days, `1:SECONDS:EPOCH` seconds, ...), otherwise
/// milliseconds. `None` for other arrays and columns.
/// Values past a LONG are the rows' errors (and null in the array).
fn as_epoch(array: &ArrayRef, column: &ColumnSpec) -> Option<Epoch> {
    const DAY_NANOS: i128 = 86_400 * 1_000_000_000;
    let source: i128 = match array.data_type() {
        ArrowType::Date32 => DAY_NANOS,
        ArrowType::Date64 => 1_000_000,
        ArrowType::Timestamp(TimeUnit::Second, _) => 1_000_000_000,
        ArrowType::Timestamp(TimeUnit::Millisecond, _) => 1_000_000,
        ArrowType::Timestamp(TimeUnit::Microsecond, _) => 1_000,
        ArrowType::Timestamp(TimeUnit::Nanosecond, _) => 1,
        _ => return None,
    };
    let target: i128 = match (column.data_type, column.epoch_unit_nanos) {
        (DataType::Int | DataType::Long, Some(nanos)) => i128::from(nanos),
        (DataType::Int | DataType::Long | DataType::Timestamp, _) => 1_000_000,
        _ => return None,
    };
    let raw = match arrow_cast::cast(array, &ArrowType::Int64) {
        Ok(raw) => raw,
        Err(err) => {
            return Some(Err(BadValue::Type {
                from: array.data_type().clone(),
                data_type: column.data_type,
                source: Arc::new(err),
            }))
        }
    };
    let values = raw.as_primitive::<Int64Type>();
    let data_type = column.data_type;
    let mut errors = Vec::new();
    let converted: arrow_array::Int64Array = values
        .iter()
        .enumerate()
        .map(|(row, value)| {
            let scaled = (i128::from(value?) * source).div_euclid(target);
            match i64::try_from(scaled) {
                Ok(fits) => Some(fits),
                Err(_) => {
                    let value = scaled;
                    errors.push((row as u32, BadValue::TooBig { value, data_type }));
                    None
                }
            }
        })
        .collect();
    Some(Ok((Arc::new(converted), errors)))
}

/// [`as_epoch`]'s answer: the converted array and its rows' errors, or
/// one reason for every row.
type Epoch = std::result::Result<(ArrayRef, Vec<(u32, BadValue)>), BadValue>;

fn keep_rows(chunk: &Chunk, keep: &[u32]) -> Chunk {
    match chunk {
        Chunk::Values { values, nulls } => Chunk::Values {
            values: values.gather(keep),
            nulls: keep
                .iter()
                .enumerate()
                .filter(|(_, row)| nulls.binary_search(row).is_ok())
                .map(|(position, _)| position as u32)
                .collect(),
        },
        Chunk::Cells(cells) => Chunk::Cells(
            keep.iter()
                .map(|&row| cells[row as usize].clone())
                .collect(),
        ),
    }
}

/// `rows` copies of the column's null value.
fn filled(column: &ColumnSpec, rows: usize) -> Values {
    let mut values = Values::new(column.physical);
    for _ in 0..rows {
        values.push(&column.default_null);
    }
    values
}

/// Reads a primitive array into a typed vector with `convert`, writing the
/// column's null value where the array is null.
fn fill<T: Copy, A: Copy>(
    len: usize,
    is_null: impl Fn(usize) -> bool,
    value: impl Fn(usize) -> A,
    convert: impl Fn(A) -> std::result::Result<T, BadValue>,
    default: T,
) -> (Vec<T>, Vec<u32>, Vec<(u32, BadValue)>) {
    let mut out = Vec::with_capacity(len);
    let mut nulls = Vec::new();
    let mut errors = Vec::new();
    for row in 0..len {
        if is_null(row) {
            nulls.push(row as u32);
            out.push(default);
            continue;
        }
        match convert(value(row)) {
            Ok(converted) => out.push(converted),
            Err(reason) => {
                errors.push((row as u32, reason));
                out.push(default);
            }
        }
    }
    (out, nulls, errors)
}

/// The typed fast path; `None` when the array needs the cell path.
fn typed_chunk(array: &ArrayRef, column: &ColumnSpec) -> Option<(Chunk, Vec<(u32, BadValue)>)> {
    if !column.single_value {
        return None;
    }
    let len = array.len();
    let is_null = |row: usize| array.is_null(row);
    macro_rules! ints {
        ($t:ty, $target:ty, $wrap:path, $default:expr, $convert:expr) => {{
            let values = array.as_primitive::<$t>();
            let (out, nulls, errors) =
                fill(len, is_null, |row| values.value(row), $convert, $default);
            (
                Chunk::Values {
                    values: $wrap(out),
                    nulls,
                },
                errors,
            )
        }};
    }
    let data_type = column.data_type;
    let too_big = move |value: i128| BadValue::TooBig { value, data_type };
    let default = &column.default_null;
    let result = match (column.physical, array.data_type(), default) {
        (Physical::I32, ArrowType::Int32, Scalar::I32(d)) if data_type == DataType::Int => {
            ints!(Int32Type, i32, Values::I32, *d, |v: i32| Ok(v))
        }
        (Physical::I32, ArrowType::Int64, Scalar::I32(d)) if data_type == DataType::Int => {
            ints!(Int64Type, i32, Values::I32, *d, |v: i64| i32::try_from(v)
                .map_err(|_| too_big(v as i128)))
        }
        (Physical::I32, ArrowType::Int16, Scalar::I32(d)) if data_type == DataType::Int => {
            ints!(Int16Type, i32, Values::I32, *d, |v: i16| Ok(v as i32))
        }
        (Physical::I32, ArrowType::Int8, Scalar::I32(d)) if data_type == DataType::Int => {
            ints!(Int8Type, i32, Values::I32, *d, |v: i8| Ok(v as i32))
        }
        (Physical::I32, ArrowType::Boolean, Scalar::I32(d)) => {
            let values = array.as_boolean();
            let (out, nulls, errors) = fill(
                len,
                is_null,
                |row| values.value(row),
                |v: bool| Ok(v as i32),
                *d,
            );
            (
                Chunk::Values {
                    values: Values::I32(out),
                    nulls,
                },
                errors,
            )
        }
        (Physical::I64, ArrowType::Int64, Scalar::I64(d)) => {
            ints!(Int64Type, i64, Values::I64, *d, |v: i64| Ok(v))
        }
        (Physical::I64, ArrowType::Int32, Scalar::I64(d)) => {
            ints!(Int32Type, i64, Values::I64, *d, |v: i32| Ok(v as i64))
        }
        (Physical::I64, ArrowType::UInt32, Scalar::I64(d)) => {
            ints!(UInt32Type, i64, Values::I64, *d, |v: u32| Ok(v as i64))
        }
        (Physical::I64, ArrowType::UInt64, Scalar::I64(d)) => {
            ints!(UInt64Type, i64, Values::I64, *d, |v: u64| i64::try_from(v)
                .map_err(|_| too_big(v as i128)))
        }
        (Physical::I64, ArrowType::Timestamp(_, _), Scalar::I64(d)) => {
            let millis =
                arrow_cast::cast(array, &ArrowType::Timestamp(TimeUnit::Millisecond, None))
                    .and_then(|cast| arrow_cast::cast(&cast, &ArrowType::Int64))
                    .ok()?;
            let values = millis.as_primitive::<Int64Type>();
            let (out, nulls, errors) = fill(
                len,
                |row| millis.is_null(row),
                |row| values.value(row),
                |v: i64| Ok(v),
                *d,
            );
            (
                Chunk::Values {
                    values: Values::I64(out),
                    nulls,
                },
                errors,
            )
        }
        (Physical::F64, ArrowType::Float64, Scalar::F64(d)) => {
            ints!(Float64Type, f64, Values::F64, *d, |v: f64| Ok(v))
        }
        (Physical::F64, ArrowType::Float32, Scalar::F64(d)) => {
            ints!(Float32Type, f64, Values::F64, *d, |v: f32| Ok(v as f64))
        }
        (Physical::F64, ArrowType::Int32, Scalar::F64(d)) => {
            ints!(Int32Type, f64, Values::F64, *d, |v: i32| Ok(v as f64))
        }
        (Physical::F64, ArrowType::Int64, Scalar::F64(d)) => {
            ints!(Int64Type, f64, Values::F64, *d, |v: i64| Ok(v as f64))
        }
        (Physical::F32, ArrowType::Float32, Scalar::F32(d)) => {
            ints!(Float32Type, f32, Values::F32, *d, |v: f32| Ok(v))
        }
        (Physical::F32, ArrowType::Float64, Scalar::F32(d)) => {
            ints!(Float64Type, f32, Values::F32, *d, |v: f64| Ok(v as f32))
        }
        (Physical::Str, ArrowType::Utf8 | ArrowType::LargeUtf8, Scalar::Str(d))
            if matches!(data_type, DataType::String | DataType::Json) =>
        {
            let mut values = Values::new(Physical::Str);
            let mut nulls = Vec::new();
            let Values::Var(var) = &mut values else {
                return None;
            };
            for row in 0..len {
                if array.is_null(row) {
                    nulls.push(row as u32);
                    var.push(d.as_bytes());
                } else if let ArrowType::Utf8 = array.data_type() {
                    var.push(array.as_string::<i32>().value(row).as_bytes());
                } else {
                    var.push(array.as_string::<i64>().value(row).as_bytes());
                }
            }
            (Chunk::Values { values, nulls }, Vec::new())
        }
        _ => return None,
    };
    Some(result)
}

/// The general path: every value through a cell.
fn cell_chunk(array: &ArrayRef, column: &ColumnSpec) -> (Chunk, Vec<(u32, BadValue)>) {
    let mut cells = Vec::with_capacity(array.len());
    let mut errors = Vec::new();
    for (row, cell) in convert_array(array, column).into_iter().enumerate() {
        match cell {
            Ok(cell) => cells.push(cell),
            Err(reason) => {
                errors.push((row as u32, reason));
                cells.push(Cell::Null);
            }
        }
    }
    (Chunk::Cells(cells), errors)
}

/// Converts every value of an arrow array into cells of `column`.
fn convert_array(
    array: &ArrayRef,
    column: &ColumnSpec,
) -> Vec<std::result::Result<Cell, BadValue>> {
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
                let scalars: std::result::Result<Vec<Scalar>, BadValue> =
                    scalars(&values, column.data_type)
                        .into_iter()
                        .flatten()
                        .collect();
                let mut scalars = scalars?;
                if column.single_value {
                    match scalars.len() {
                        0 => Ok(Cell::Null),
                        1 => Ok(Cell::One(scalars.remove(0))),
                        count => Err(ValueError::NotSingle { count }.into()),
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
fn scalars(
    array: &dyn Array,
    data_type: DataType,
) -> Vec<Option<std::result::Result<Scalar, BadValue>>> {
    macro_rules! numbers {
        ($t:ty, $scalar:path, $as:ty) => {{
            let values = array.as_primitive::<$t>();
            (0..values.len())
                .map(|i| {
                    values.is_valid(i).then(|| {
                        conform_scalar(&$scalar(values.value(i) as $as), data_type)
                            .map_err(BadValue::from)
                    })
                })
                .collect()
        }};
    }
    match array.data_type() {
        ArrowType::Int8 => numbers!(Int8Type, Scalar::I64, i64),
        ArrowType::Int16 => numbers!(Int16Type, Scalar::I64, i64),
        ArrowType::Int32 => numbers!(Int32Type, Scalar::I64, i64),
        ArrowType::Int64 => numbers!(Int64Type, Scalar::I64, i64),
        ArrowType::UInt8 => numbers!(UInt8Type, Scalar::I64, i64),
        ArrowType::UInt16 => numbers!(UInt16Type, Scalar::I64, i64),
        ArrowType::UInt32 => numbers!(UInt32Type, Scalar::I64, i64),
        ArrowType::UInt64 => numbers!(UInt64Type, Scalar::I64, i64),
        ArrowType::Float32 => numbers!(Float32Type, Scalar::F64, f64),
        ArrowType::Float64 => numbers!(Float64Type, Scalar::F64, f64),
        ArrowType::Boolean => {
            let values = array.as_boolean();
            (0..values.len())
                .map(|i| {
                    values.is_valid(i).then(|| {
                        conform_scalar(&Scalar::I64(values.value(i) as i64), data_type)
                            .map_err(BadValue::from)
                    })
                })
                .collect()
        }
        ArrowType::Utf8 => {
            let values = array.as_string::<i32>();
            (0..values.len())
                .map(|i| {
                    values
                        .is_valid(i)
                        .then(|| Scalar::parse(data_type, values.value(i)).map_err(BadValue::from))
                })
                .collect()
        }
        ArrowType::LargeUtf8 => {
            let values = array.as_string::<i64>();
            (0..values.len())
                .map(|i| {
                    values
                        .is_valid(i)
                        .then(|| Scalar::parse(data_type, values.value(i)).map_err(BadValue::from))
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
                        let reason = BadValue::Timestamps {
                            unit: *unit,
                            source: Arc::new(err),
                        };
                        return vec![Some(Err(reason)); array.len()];
                    }
                };
            scalars(&millis, data_type)
        }
        _ => match arrow_cast::cast(array, &ArrowType::Utf8) {
            Ok(text) => scalars(&text, data_type),
            Err(err) => {
                let reason = BadValue::Type {
                    from: array.data_type().clone(),
                    data_type,
                    source: Arc::new(err),
                };
                vec![Some(Err(reason)); array.len()]
            }
        },
    }
}
