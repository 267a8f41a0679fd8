//! Values as queries see them: [`Value`] (one result cell), [`ColumnType`]
//! (Pinot's `columnDataTypes`), [`Kind`] (the type an expression evaluates
//! to) and [`Vector`] (an expression's values for a batch of documents).
//!
//! Stored types collapse into few evaluation kinds: INT, LONG, TIMESTAMP and
//! BOOLEAN evaluate as 64-bit integers, FLOAT and DOUBLE as doubles, STRING,
//! JSON and BIG_DECIMAL as text. The [`ColumnType`] remembers what the
//! response should call them.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use serde_json::Value as Json;

use crate::catalog::DataType;
use crate::segment::{hex, Scalar};

/// One value of a result row or a group key.
#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Long(i64),
    Double(f64),
    Str(String),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
}

impl Value {
    /// Bytes the value takes, its heap part included.
    pub fn size_estimate(&self) -> usize {
        std::mem::size_of::<Value>()
            + match self {
                Value::Str(text) => text.len(),
                Value::Bytes(bytes) => bytes.len(),
                Value::Array(values) => values.iter().map(Value::size_estimate).sum(),
                _ => 0,
            }
    }

    pub fn from_scalar(scalar: Scalar) -> Value {
        match scalar {
            Scalar::I32(v) => Value::Long(v as i64),
            Scalar::I64(v) => Value::Long(v),
            Scalar::F32(v) => Value::Double(v as f64),
            Scalar::F64(v) => Value::Double(v),
            Scalar::Str(v) => Value::Str(v),
            Scalar::Bytes(v) => Value::Bytes(v),
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Long(v) => Some(*v as f64),
            Value::Double(v) => Some(*v),
            Value::Str(v) => v.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Long(v) => Some(*v),
            Value::Double(v) if v.fract() == 0.0 && v.abs() < 9.2e18 => Some(*v as i64),
            Value::Str(v) => v.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A total order: numbers compare by value across integer and double,
    /// nulls sort after everything, other mixed kinds by kind.
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Long(a), Value::Long(b)) => a.cmp(b),
            (Value::Double(a), Value::Double(b)) => a.total_cmp(b),
            (Value::Long(a), Value::Double(b)) => (*a as f64).total_cmp(b),
            (Value::Double(a), Value::Long(b)) => a.total_cmp(&(*b as f64)),
            (Value::Str(a), Value::Str(b)) => a.cmp(b),
            (Value::Bytes(a), Value::Bytes(b)) => a.cmp(b),
            (Value::Array(a), Value::Array(b)) => {
                for (x, y) in a.iter().zip(b) {
                    let order = x.total_cmp(y);
                    if order != Ordering::Equal {
                        return order;
                    }
                }
                a.len().cmp(&b.len())
            }
            _ => self.rank().cmp(&other.rank()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Value::Long(_) | Value::Double(_) => 0,
            Value::Str(_) => 1,
            Value::Bytes(_) => 2,
            Value::Array(_) => 3,
            Value::Null => 4,
        }
    }

    /// The value as Pinot's response renders it in a column of type `ty`.
    pub fn to_json(&self, ty: ColumnType) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::Long(v) => match ty {
                ColumnType::Boolean => Json::Bool(*v != 0),
                ColumnType::Double | ColumnType::Float => float_json(*v as f64),
                _ => Json::from(*v),
            },
            Value::Double(v) => match ty {
                ColumnType::Int | ColumnType::Long | ColumnType::Timestamp
                    if v.fract() == 0.0 && v.abs() < 9.2e18 =>
                {
                    Json::from(*v as i64)
                }
                ColumnType::Float => float_json(*v as f32 as f64),
                _ => float_json(*v),
            },
            Value::Str(v) => Json::String(v.clone()),
            Value::Bytes(v) => Json::String(hex(v)),
            Value::Array(values) => {
                let element = ty.element();
                Json::Array(values.iter().map(|value| value.to_json(element)).collect())
            }
        }
    }

    /// Text as functions such as CONCAT and LIKE see the value.
    /// `f` of the value's text, without copying a string value.
    pub fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        match self {
            Value::Str(text) => f(text),
            other => f(&other.to_text()),
        }
    }

    pub fn to_text(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::Long(v) => v.to_string(),
            Value::Double(v) => format_double(*v),
            Value::Str(v) => v.clone(),
            Value::Bytes(v) => hex(v),
            Value::Array(values) => {
                let parts: Vec<String> = values.iter().map(Value::to_text).collect();
                format!("[{}]", parts.join(","))
            }
        }
    }
}

/// Doubles print as Java does for whole numbers (`3.0`), so text built
/// from them matches Pinot's.
pub fn format_double(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e16 {
        format!("{value:.1}")
    } else {
        value.to_string()
    }
}

/// JSON numbers cannot be infinite or NaN; Pinot writes those as strings.
pub fn float_json(value: f64) -> Json {
    match serde_json::Number::from_f64(value) {
        Some(number) => Json::Number(number),
        None if value.is_nan() => Json::String("NaN".into()),
        None if value > 0.0 => Json::String("Infinity".into()),
        None => Json::String("-Infinity".into()),
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            _ => self.total_cmp(other) == Ordering::Equal,
        }
    }
}

impl Eq for Value {}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Value::Null => state.write_u8(0),
            // Integers and whole doubles are equal, so they hash alike.
            Value::Long(v) => (*v as f64).to_bits().hash(state),
            Value::Double(v) => {
                let normalized = if *v == 0.0 { 0.0f64 } else { *v };
                normalized.to_bits().hash(state)
            }
            Value::Str(v) => v.hash(state),
            Value::Bytes(v) => v.hash(state),
            Value::Array(values) => values.hash(state),
        }
    }
}

/// Pinot's `columnDataTypes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    Int,
    Long,
    Float,
    Double,
    BigDecimal,
    Boolean,
    Timestamp,
    String,
    Json,
    Bytes,
    IntArray,
    LongArray,
    FloatArray,
    DoubleArray,
    BooleanArray,
    TimestampArray,
    StringArray,
    BytesArray,
}

impl ColumnType {
    pub fn of(data_type: DataType, single_value: bool) -> ColumnType {
        let single = match data_type {
            DataType::Int => ColumnType::Int,
            DataType::Long => ColumnType::Long,
            DataType::Float => ColumnType::Float,
            DataType::Double => ColumnType::Double,
            DataType::BigDecimal => ColumnType::BigDecimal,
            DataType::Boolean => ColumnType::Boolean,
            DataType::Timestamp => ColumnType::Timestamp,
            DataType::String => ColumnType::String,
            DataType::Json => ColumnType::Json,
            DataType::Bytes => ColumnType::Bytes,
        };
        if single_value {
            single
        } else {
            single.array()
        }
    }

    fn array(self) -> ColumnType {
        match self {
            ColumnType::Int => ColumnType::IntArray,
            ColumnType::Long => ColumnType::LongArray,
            ColumnType::Float => ColumnType::FloatArray,
            ColumnType::Double | ColumnType::BigDecimal => ColumnType::DoubleArray,
            ColumnType::Boolean => ColumnType::BooleanArray,
            ColumnType::Timestamp => ColumnType::TimestampArray,
            ColumnType::Bytes => ColumnType::BytesArray,
            ColumnType::String | ColumnType::Json => ColumnType::StringArray,
            array => array,
        }
    }

    fn element(self) -> ColumnType {
        match self {
            ColumnType::IntArray => ColumnType::Int,
            ColumnType::LongArray => ColumnType::Long,
            ColumnType::FloatArray => ColumnType::Float,
            ColumnType::DoubleArray => ColumnType::Double,
            ColumnType::BooleanArray => ColumnType::Boolean,
            ColumnType::TimestampArray => ColumnType::Timestamp,
            ColumnType::StringArray => ColumnType::String,
            ColumnType::BytesArray => ColumnType::Bytes,
            single => single,
        }
    }

    /// The kind values of this type evaluate as.
    pub fn kind(self) -> Kind {
        match self.element() {
            ColumnType::Int | ColumnType::Long | ColumnType::Timestamp => Kind::Long,
            ColumnType::Boolean => Kind::Bool,
            ColumnType::Float | ColumnType::Double => Kind::Double,
            ColumnType::Bytes => Kind::Bytes,
            _ => Kind::Str,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Int => "INT",
            ColumnType::Long => "LONG",
            ColumnType::Float => "FLOAT",
            ColumnType::Double => "DOUBLE",
            ColumnType::BigDecimal => "BIG_DECIMAL",
            ColumnType::Boolean => "BOOLEAN",
            ColumnType::Timestamp => "TIMESTAMP",
            ColumnType::String => "STRING",
            ColumnType::Json => "JSON",
            ColumnType::Bytes => "BYTES",
            ColumnType::IntArray => "INT_ARRAY",
            ColumnType::LongArray => "LONG_ARRAY",
            ColumnType::FloatArray => "FLOAT_ARRAY",
            ColumnType::DoubleArray => "DOUBLE_ARRAY",
            ColumnType::BooleanArray => "BOOLEAN_ARRAY",
            ColumnType::TimestampArray => "TIMESTAMP_ARRAY",
            ColumnType::StringArray => "STRING_ARRAY",
            ColumnType::BytesArray => "BYTES_ARRAY",
        }
    }

    pub fn is_array(self) -> bool {
        self.element() != self
    }
}

/// What an expression evaluates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Long,
    Double,
    Bool,
    Str,
    Bytes,
}

impl Kind {
    /// The response type of an expression of this kind.
    pub fn column_type(self) -> ColumnType {
        match self {
            Kind::Long => ColumnType::Long,
            Kind::Double => ColumnType::Double,
            Kind::Bool => ColumnType::Boolean,
            Kind::Str => ColumnType::String,
            Kind::Bytes => ColumnType::Bytes,
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, Kind::Long | Kind::Double | Kind::Bool)
    }
}

/// An expression's values for a batch of documents.
#[derive(Debug, Clone)]
pub enum Vector {
    Long(Vec<i64>),
    Double(Vec<f64>),
    Bool(Vec<bool>),
    Str(Vec<String>),
    Bytes(Vec<Vec<u8>>),
    /// Multi-value column values, one array per document.
    Array(Vec<Vec<Value>>),
    /// Computed values that include nulls (CASE without ELSE, functions
    /// of nulls).
    Mixed(Vec<Value>),
}

impl Vector {
    pub fn len(&self) -> usize {
        match self {
            Vector::Long(v) => v.len(),
            Vector::Double(v) => v.len(),
            Vector::Bool(v) => v.len(),
            Vector::Str(v) => v.len(),
            Vector::Bytes(v) => v.len(),
            Vector::Array(v) => v.len(),
            Vector::Mixed(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at `row`.
    pub fn value(&self, row: usize) -> Value {
        match self {
            Vector::Long(v) => Value::Long(v[row]),
            Vector::Double(v) => Value::Double(v[row]),
            Vector::Bool(v) => Value::Long(v[row] as i64),
            Vector::Str(v) => Value::Str(v[row].clone()),
            Vector::Bytes(v) => Value::Bytes(v[row].clone()),
            Vector::Array(v) => Value::Array(v[row].clone()),
            Vector::Mixed(v) => v[row].clone(),
        }
    }

    /// `len` copies of `value`, of `kind`.
    pub fn constant(value: &Value, kind: Kind, len: usize) -> Vector {
        match kind {
            Kind::Long => Vector::Long(vec![value.as_i64().unwrap_or(0); len]),
            Kind::Double => Vector::Double(vec![value.as_f64().unwrap_or(0.0); len]),
            Kind::Bool => Vector::Bool(vec![value.as_i64().unwrap_or(0) != 0; len]),
            Kind::Str => Vector::Str(vec![value.to_text(); len]),
            Kind::Bytes => match value {
                Value::Bytes(bytes) => Vector::Bytes(vec![bytes.clone(); len]),
                other => Vector::Bytes(vec![other.to_text().into_bytes(); len]),
            },
        }
    }

    /// The values as doubles (numbers only; text parses, failing to NaN).
    pub fn to_f64(&self) -> Vec<f64> {
        match self {
            Vector::Long(v) => v.iter().map(|x| *x as f64).collect(),
            Vector::Double(v) => v.clone(),
            Vector::Bool(v) => v.iter().map(|x| *x as u8 as f64).collect(),
            Vector::Str(v) => v
                .iter()
                .map(|x| x.trim().parse().unwrap_or(f64::NAN))
                .collect(),
            Vector::Bytes(v) => vec![f64::NAN; v.len()],
            Vector::Array(v) => vec![f64::NAN; v.len()],
            Vector::Mixed(v) => v.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect(),
        }
    }
}
