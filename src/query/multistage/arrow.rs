//! Conversions between the engine's values and Arrow: column types to Arrow
//! types, segment columns and vectors to Arrow arrays (scans), and Arrow
//! result batches to response rows.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Float32Builder, Float64Builder, Int32Builder, Int64Builder,
    ListBuilder, StringBuilder,
};
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use datafusion::arrow::datatypes as dt;

use crate::expr::value::{ColumnType, Value, Vector};
use crate::query::docs::Docs;
use crate::query::error::ExecError;
use crate::query::source::ColumnSource;

/// The Arrow type of a column.
pub fn arrow_type(ty: ColumnType) -> DataType {
    let element = |ty: ColumnType| match ty {
        ColumnType::Int => DataType::Int32,
        ColumnType::Long | ColumnType::Timestamp => DataType::Int64,
        ColumnType::Float => DataType::Float32,
        ColumnType::Double => DataType::Float64,
        ColumnType::Boolean => DataType::Boolean,
        ColumnType::Bytes => DataType::Binary,
        _ => DataType::Utf8,
    };
    match ty {
        ColumnType::IntArray => list(DataType::Int32),
        ColumnType::LongArray | ColumnType::TimestampArray => list(DataType::Int64),
        ColumnType::FloatArray => list(DataType::Float32),
        ColumnType::DoubleArray => list(DataType::Float64),
        ColumnType::BooleanArray => list(DataType::Boolean),
        ColumnType::StringArray => list(DataType::Utf8),
        ColumnType::BytesArray => list(DataType::Binary),
        single => element(single),
    }
}

fn list(element: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", element, true)))
}

/// An Arrow array of the docs' values of one column: text copied from
/// where it lies in the segment (dictionary entries by id, raw values by
/// doc), numbers moved or narrowed a vector at a time; anything else
/// through [`to_array`]. `ids` is scratch space.
pub fn column_array(
    source: &dyn ColumnSource,
    ty: ColumnType,
    docs: Docs<'_>,
    ids: &mut Vec<u32>,
) -> Result<ArrayRef, ExecError> {
    if !source.single_value() || ty.is_array() {
        return Ok(to_array(&source.values(docs), ty));
    }
    if arrow_type(ty) == DataType::Utf8 {
        if let Some(dictionary) = source.dict_text().filter(|var| var.is_text()) {
            source.ids(docs, ids);
            return text_array(ids.iter().map(|id| dictionary.bytes_at(*id as usize)));
        }
        if let Some(mut raw) = source.raw_text() {
            let mut texts = Texts::default();
            docs.for_each(|doc| texts.push(raw.get(doc as usize)));
            return texts.finish();
        }
    }
    Ok(match (arrow_type(ty), source.values(docs)) {
        (DataType::Int32, Vector::Long(values)) => Arc::new(
            arrow_array::Int32Array::from_iter_values(values.iter().map(|v| *v as i32)),
        ),
        (DataType::Int64, Vector::Long(values)) => Arc::new(arrow_array::Int64Array::from(values)),
        (DataType::Float32, Vector::Double(values)) => Arc::new(
            arrow_array::Float32Array::from_iter_values(values.iter().map(|v| *v as f32)),
        ),
        (DataType::Float64, Vector::Double(values)) => {
            Arc::new(arrow_array::Float64Array::from(values))
        }
        (_, vector) => to_array(&vector, ty),
    })
}

/// A string array of stored text, which is UTF-8 when written by Gamay:
/// the bytes are copied and checked once as a whole; when they are not
/// UTF-8 (a damaged file) each value is read lossily. A batch holding more
/// text than an Arrow string array can (2 GiB) is an error.
fn text_array<'a>(values: impl Iterator<Item = &'a [u8]>) -> Result<ArrayRef, ExecError> {
    let mut texts = Texts::default();
    values.for_each(|value| texts.push(value));
    texts.finish()
}

/// Text values copied one after another, made into a string array.
#[derive(Default)]
struct Texts {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Texts {
    fn push(&mut self, value: &[u8]) {
        self.bytes.extend_from_slice(value);
        self.ends.push(self.bytes.len());
    }

    fn finish(self) -> Result<ArrayRef, ExecError> {
        let count = self.ends.len();
        let offsets = |ends: &[usize]| -> Result<OffsetBuffer<i32>, ExecError> {
            let mut offsets: Vec<i32> = Vec::with_capacity(ends.len() + 1);
            offsets.push(0);
            for end in ends {
                offsets.push(i32::try_from(*end).map_err(|_| {
                    ExecError::Execution(format!(
                        "a batch of {count} text values holds over 2 GiB; select fewer rows or a shorter column"
                    ))
                })?);
            }
            Ok(OffsetBuffer::new(ScalarBuffer::from(offsets)))
        };
        let offsets_of_all = offsets(&self.ends)?;
        let whole = std::str::from_utf8(&self.bytes).is_ok();
        // Checks each value's boundaries, and the bytes again when they are
        // not UTF-8 as a whole (rare: then the lossy copy follows).
        let bytes = Buffer::from_vec(self.bytes);
        if whole {
            if let Ok(array) = StringArray::try_new(offsets_of_all, bytes.clone(), None) {
                return Ok(Arc::new(array));
            }
        }
        let Texts { ends, .. } = self;
        let bytes = bytes.as_slice();
        // Not UTF-8: each value read lossily.
        let mut lossy = Texts::default();
        let mut start = 0;
        for end in &ends {
            lossy.push(String::from_utf8_lossy(&bytes[start..*end]).as_bytes());
            start = *end;
        }
        let offsets = offsets(&lossy.ends)?;
        let array = StringArray::try_new(offsets, Buffer::from_vec(lossy.bytes), None)
            .map_err(|err| ExecError::Internal(format!("text read lossily: {err}")))?;
        Ok(Arc::new(array))
    }
}

/// An Arrow array of `ty` from a segment vector.
pub fn to_array(vector: &Vector, ty: ColumnType) -> ArrayRef {
    let len = vector.len();
    match arrow_type(ty) {
        DataType::Int32 => {
            let mut b = Int32Builder::with_capacity(len);
            (0..len).for_each(|row| b.append_option(vector.value(row).as_i64().map(|v| v as i32)));
            Arc::new(b.finish())
        }
        DataType::Int64 => {
            let mut b = Int64Builder::with_capacity(len);
            (0..len).for_each(|row| b.append_option(vector.value(row).as_i64()));
            Arc::new(b.finish())
        }
        DataType::Float32 => {
            let mut b = Float32Builder::with_capacity(len);
            (0..len).for_each(|row| b.append_option(vector.value(row).as_f64().map(|v| v as f32)));
            Arc::new(b.finish())
        }
        DataType::Float64 => match vector {
            Vector::Double(values) => Arc::new(arrow_array::Float64Array::from(values.clone())),
            _ => {
                let mut b = Float64Builder::with_capacity(len);
                (0..len).for_each(|row| b.append_option(vector.value(row).as_f64()));
                Arc::new(b.finish())
            }
        },
        DataType::Boolean => {
            let mut b = BooleanBuilder::with_capacity(len);
            (0..len).for_each(|row| b.append_option(vector.value(row).as_i64().map(|v| v != 0)));
            Arc::new(b.finish())
        }
        DataType::Binary => {
            let mut b = BinaryBuilder::new();
            for row in 0..len {
                match vector.value(row) {
                    Value::Bytes(bytes) => b.append_value(bytes),
                    Value::Null => b.append_null(),
                    other => b.append_value(other.to_text()),
                }
            }
            Arc::new(b.finish())
        }
        DataType::List(_) => list_array(vector, ty),
        _ => match vector {
            Vector::Str(values) => Arc::new(arrow_array::StringArray::from_iter_values(values)),
            _ => {
                let mut b = StringBuilder::new();
                for row in 0..len {
                    match vector.value(row) {
                        Value::Null => b.append_null(),
                        other => b.append_value(other.to_text()),
                    }
                }
                Arc::new(b.finish())
            }
        },
    }
}

fn list_array(vector: &Vector, ty: ColumnType) -> ArrayRef {
    let rows = |row: usize| match vector.value(row) {
        Value::Array(items) => items,
        other => vec![other],
    };
    let len = vector.len();
    match ty {
        ColumnType::IntArray
        | ColumnType::LongArray
        | ColumnType::TimestampArray
        | ColumnType::BooleanArray => {
            let mut b = ListBuilder::new(Int64Builder::new());
            for row in 0..len {
                rows(row)
                    .iter()
                    .for_each(|v| b.values().append_option(v.as_i64()));
                b.append(true);
            }
            Arc::new(b.finish())
        }
        ColumnType::FloatArray | ColumnType::DoubleArray => {
            let mut b = ListBuilder::new(Float64Builder::new());
            for row in 0..len {
                rows(row)
                    .iter()
                    .for_each(|v| b.values().append_option(v.as_f64()));
                b.append(true);
            }
            Arc::new(b.finish())
        }
        _ => {
            let mut b = ListBuilder::new(StringBuilder::new());
            for row in 0..len {
                rows(row)
                    .iter()
                    .for_each(|v| b.values().append_value(v.to_text()));
                b.append(true);
            }
            Arc::new(b.finish())
        }
    }
}

/// The response type of an Arrow result column.
pub fn column_type(data_type: &DataType) -> ColumnType {
    match data_type {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::UInt8 | DataType::UInt16 => {
            ColumnType::Int
        }
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => ColumnType::Long,
        DataType::Float16 | DataType::Float32 => ColumnType::Float,
        DataType::Float64 | DataType::Decimal128(..) | DataType::Decimal256(..) => {
            ColumnType::Double
        }
        DataType::Boolean => ColumnType::Boolean,
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => ColumnType::Timestamp,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => ColumnType::Bytes,
        DataType::List(field) | DataType::LargeList(field) => {
            match column_type(field.data_type()) {
                ColumnType::Int => ColumnType::IntArray,
                ColumnType::Long => ColumnType::LongArray,
                ColumnType::Float => ColumnType::FloatArray,
                ColumnType::Double => ColumnType::DoubleArray,
                ColumnType::Boolean => ColumnType::BooleanArray,
                ColumnType::Bytes => ColumnType::BytesArray,
                _ => ColumnType::StringArray,
            }
        }
        _ => ColumnType::String,
    }
}

/// The values of `array` (of a result column) as response values.
fn values(array: &ArrayRef) -> Result<Vec<Value>, ExecError> {
    let len = array.len();
    let cast = |to: &DataType| {
        arrow_cast::cast(array, to).map_err(|err| {
            ExecError::Execution(format!(
                "cannot convert a {} result: {err}",
                array.data_type()
            ))
        })
    };
    let nullable = |row: usize, value: Value| {
        if array.is_null(row) {
            Value::Null
        } else {
            value
        }
    };
    Ok(match array.data_type() {
        DataType::Boolean => {
            let a = array.as_boolean();
            (0..len)
                .map(|r| nullable(r, Value::Long(a.value(r) as i64)))
                .collect()
        }
        DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => {
            let c = cast(&DataType::Float64)?;
            let a = c.as_primitive::<dt::Float64Type>();
            (0..len)
                .map(|r| nullable(r, Value::Double(a.value(r))))
                .collect()
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            let c = cast(&DataType::Binary)?;
            let a = c.as_binary::<i32>();
            (0..len)
                .map(|r| nullable(r, Value::Bytes(a.value(r).to_vec())))
                .collect()
        }
        DataType::List(_) | DataType::LargeList(_) => {
            let c = cast(&list(DataType::Utf8)).or_else(|_| cast(&list(DataType::Float64)))?;
            let a = c.as_list::<i32>();
            let mut out = Vec::with_capacity(len);
            for row in 0..len {
                if a.is_null(row) {
                    out.push(Value::Null);
                } else {
                    out.push(Value::Array(values(&a.value(row))?));
                }
            }
            out
        }
        DataType::Null => vec![Value::Null; len],
        data_type if data_type.is_integer() || data_type.is_temporal() => {
            let c = cast(&DataType::Int64)?;
            let a = c.as_primitive::<dt::Int64Type>();
            (0..len)
                .map(|r| nullable(r, Value::Long(a.value(r))))
                .collect()
        }
        _ => {
            let c = cast(&DataType::Utf8)?;
            let a = c.as_string::<i32>();
            (0..len)
                .map(|r| nullable(r, Value::Str(a.value(r).to_string())))
                .collect()
        }
    })
}

/// Response rows from result batches.
pub fn rows(batches: &[RecordBatch]) -> Result<Vec<Vec<Value>>, ExecError> {
    let mut out = Vec::new();
    for batch in batches {
        let columns: Vec<Vec<Value>> = batch
            .columns()
            .iter()
            .map(values)
            .collect::<Result<_, _>>()?;
        for row in 0..batch.num_rows() {
            out.push(columns.iter().map(|column| column[row].clone()).collect());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_text_that_is_not_utf8_is_read_lossily() {
        let values: [&[u8]; 3] = [b"ok", &[0xff, b'a'], &[0xc3, 0xa9]];
        let array = text_array(values.into_iter()).unwrap();
        let strings = array.as_string::<i32>();
        let read: Vec<&str> = strings.iter().map(Option::unwrap).collect();
        assert_eq!(read, ["ok", "\u{FFFD}a", "é"]);
        // A multi-byte character split across two values is not UTF-8
        // value by value, though the bytes together are.
        let split: [&[u8]; 2] = [&[0xc3], &[0xa9]];
        let array = text_array(split.into_iter()).unwrap();
        let read: Vec<&str> = array
            .as_string::<i32>()
            .iter()
            .map(Option::unwrap)
            .collect();
        assert_eq!(read, ["\u{FFFD}", "\u{FFFD}"]);
    }
}
