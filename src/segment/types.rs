//! Column values as segments store them.
//!
//! Each Pinot data type maps to one physical type: BOOLEAN is stored as an
//! INT 0/1 and TIMESTAMP as LONG milliseconds (as Pinot does), STRING, JSON
//! and BIG_DECIMAL as UTF-8 text, BYTES as bytes. [`Scalar`] is one stored
//! value; [`Cell`] is what a row holds for a column: null, one value, or
//! several (multi-value columns). Conversions from JSON, text and back to
//! Pinot's JSON response values live here, so every input path agrees.

use std::cmp::Ordering;
use std::fmt;

use serde_json::Value as Json;

use super::error::ValueError;
use crate::catalog::{Column, DataType, FieldRole};

/// How a column's values are laid out in memory and on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Physical {
    I32,
    I64,
    F32,
    F64,
    Str,
    Bytes,
}

impl Physical {
    pub fn of(data_type: DataType) -> Physical {
        match data_type {
            DataType::Int | DataType::Boolean => Physical::I32,
            DataType::Long | DataType::Timestamp => Physical::I64,
            DataType::Float => Physical::F32,
            DataType::Double => Physical::F64,
            DataType::String | DataType::Json | DataType::BigDecimal => Physical::Str,
            DataType::Bytes => Physical::Bytes,
        }
    }

    /// Bytes per value for fixed-width types, `None` for variable width.
    pub fn width(self) -> Option<usize> {
        match self {
            Physical::I32 | Physical::F32 => Some(4),
            Physical::I64 | Physical::F64 => Some(8),
            Physical::Str | Physical::Bytes => None,
        }
    }
}

/// One stored value.
#[derive(Debug, Clone)]
pub enum Scalar {
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Str(String),
    Bytes(Vec<u8>),
}

impl PartialEq for Scalar {
    fn eq(&self, other: &Self) -> bool {
        self.total_cmp(other) == Ordering::Equal
    }
}

impl Eq for Scalar {}

impl Scalar {
    pub fn physical(&self) -> Physical {
        match self {
            Scalar::I32(_) => Physical::I32,
            Scalar::I64(_) => Physical::I64,
            Scalar::F32(_) => Physical::F32,
            Scalar::F64(_) => Physical::F64,
            Scalar::Str(_) => Physical::Str,
            Scalar::Bytes(_) => Physical::Bytes,
        }
    }

    /// A total order within one physical type (floats by IEEE total order);
    /// values of different types order by type.
    pub fn total_cmp(&self, other: &Scalar) -> Ordering {
        match (self, other) {
            (Scalar::I32(a), Scalar::I32(b)) => a.cmp(b),
            (Scalar::I64(a), Scalar::I64(b)) => a.cmp(b),
            (Scalar::F32(a), Scalar::F32(b)) => a.total_cmp(b),
            (Scalar::F64(a), Scalar::F64(b)) => a.total_cmp(b),
            (Scalar::Str(a), Scalar::Str(b)) => a.cmp(b),
            (Scalar::Bytes(a), Scalar::Bytes(b)) => a.cmp(b),
            _ => (self.physical() as u8).cmp(&(other.physical() as u8)),
        }
    }

    /// The value as a Pinot response renders it for a column of `data_type`.
    pub fn to_json(&self, data_type: DataType) -> Json {
        match self {
            Scalar::I32(v) if data_type == DataType::Boolean => Json::Bool(*v != 0),
            Scalar::I32(v) => Json::from(*v),
            Scalar::I64(v) => Json::from(*v),
            Scalar::F32(v) => float_json(*v as f64),
            Scalar::F64(v) => float_json(*v),
            Scalar::Str(v) => Json::String(v.clone()),
            Scalar::Bytes(v) => Json::String(hex(v)),
        }
    }

    /// Converts an input JSON value into a value of `data_type`.
    pub fn from_json(data_type: DataType, value: &Json) -> Result<Scalar, ValueError> {
        match value {
            Json::String(text) => Scalar::parse(data_type, text),
            Json::Number(number) => match Physical::of(data_type) {
                Physical::I32 | Physical::I64 => {
                    if let Some(int) = number.as_i64() {
                        Scalar::from_i64(data_type, int)
                    } else {
                        let float = number.as_f64().unwrap_or(f64::NAN);
                        if float.fract() == 0.0 && float.abs() < 9.2e18 {
                            Scalar::from_i64(data_type, float as i64)
                        } else {
                            Err(ValueError::NotWhole {
                                number: number.to_string(),
                                data_type,
                            })
                        }
                    }
                }
                Physical::F32 => Ok(Scalar::F32(number.as_f64().unwrap_or(f64::NAN) as f32)),
                Physical::F64 => Ok(Scalar::F64(number.as_f64().unwrap_or(f64::NAN))),
                Physical::Str => Ok(Scalar::Str(number.to_string())),
                Physical::Bytes => Err(ValueError::NotHex {
                    number: number.to_string(),
                }),
            },
            Json::Bool(flag) => match data_type {
                DataType::Boolean | DataType::Int => Ok(Scalar::I32(*flag as i32)),
                DataType::Long => Ok(Scalar::I64(*flag as i64)),
                DataType::String | DataType::Json => Ok(Scalar::Str(flag.to_string())),
                _ => Err(ValueError::WrongKind {
                    value: flag.to_string(),
                    data_type,
                }),
            },
            Json::Object(_) | Json::Array(_) if data_type == DataType::Json => {
                Ok(Scalar::Str(value.to_string()))
            }
            Json::Null => Err(ValueError::Null),
            other => Err(ValueError::WrongKind {
                value: other.to_string(),
                data_type,
            }),
        }
    }

    fn from_i64(data_type: DataType, value: i64) -> Result<Scalar, ValueError> {
        match data_type {
            DataType::Int => i32::try_from(value)
                .map(Scalar::I32)
                .map_err(|_| ValueError::OutOfRange { value }),
            DataType::Boolean => Ok(Scalar::I32((value != 0) as i32)),
            _ => Ok(Scalar::I64(value)),
        }
    }

    /// Parses text (a CSV field, a JSON string) as a value of `data_type`.
    pub fn parse(data_type: DataType, text: &str) -> Result<Scalar, ValueError> {
        let trimmed = text.trim();
        let bad = || ValueError::Unparsable {
            text: text.to_string(),
            data_type,
        };
        match data_type {
            DataType::Int => trimmed.parse::<i32>().map(Scalar::I32).or_else(|_| {
                let float: f64 = trimmed.parse().map_err(|_| bad())?;
                if float.fract() == 0.0 && float >= i32::MIN as f64 && float <= i32::MAX as f64 {
                    Ok(Scalar::I32(float as i32))
                } else {
                    Err(bad())
                }
            }),
            DataType::Long | DataType::Timestamp => {
                trimmed.parse::<i64>().map(Scalar::I64).or_else(|_| {
                    let float: f64 = trimmed.parse().map_err(|_| bad())?;
                    if float.fract() == 0.0 && float.abs() < 9.2e18 {
                        Ok(Scalar::I64(float as i64))
                    } else {
                        Err(bad())
                    }
                })
            }
            DataType::Float => parse_float(trimmed)
                .map(|v| Scalar::F32(v as f32))
                .ok_or_else(bad),
            DataType::Double => parse_float(trimmed).map(Scalar::F64).ok_or_else(bad),
            DataType::Boolean => match trimmed.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Scalar::I32(1)),
                "false" | "0" => Ok(Scalar::I32(0)),
                _ => Err(bad()),
            },
            DataType::BigDecimal => parse_float(trimmed)
                .map(|_| Scalar::Str(trimmed.to_string()))
                .ok_or_else(bad),
            DataType::String | DataType::Json => Ok(Scalar::Str(text.to_string())),
            DataType::Bytes => unhex(trimmed).map(Scalar::Bytes).ok_or_else(bad),
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Scalar::I32(v) => Some(*v as f64),
            Scalar::I64(v) => Some(*v as f64),
            Scalar::F32(v) => Some(*v as f64),
            Scalar::F64(v) => Some(*v),
            Scalar::Str(v) => v.parse().ok(),
            Scalar::Bytes(_) => None,
        }
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::I32(v) => write!(f, "{v}"),
            Scalar::I64(v) => write!(f, "{v}"),
            Scalar::F32(v) => write!(f, "{v}"),
            Scalar::F64(v) => write!(f, "{v}"),
            Scalar::Str(v) => write!(f, "{v}"),
            Scalar::Bytes(v) => write!(f, "{}", hex(v)),
        }
    }
}

fn parse_float(text: &str) -> Option<f64> {
    match text {
        "Infinity" | "+Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

/// JSON numbers cannot be infinite or NaN; Pinot writes those as strings.
fn float_json(value: f64) -> Json {
    match serde_json::Number::from_f64(value) {
        Some(number) => Json::Number(number),
        None if value.is_nan() => Json::String("NaN".into()),
        None if value > 0.0 => Json::String("Infinity".into()),
        None => Json::String("-Infinity".into()),
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[(byte >> 4) as usize] as char);
        out.push(DIGITS[(byte & 15) as usize] as char);
    }
    out
}

pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// Converts `value` to the physical type of a `data_type` column where
/// nothing is lost (INT from a LONG that fits, DOUBLE from an integer, a
/// number from its text, ...).
pub fn conform_scalar(value: &Scalar, data_type: DataType) -> Result<Scalar, ValueError> {
    let physical = Physical::of(data_type);
    let mismatch = || ValueError::Mismatch {
        value: value.to_string(),
        data_type,
    };
    Ok(match (physical, value) {
        (Physical::I32, Scalar::I32(_))
        | (Physical::I64, Scalar::I64(_))
        | (Physical::F32, Scalar::F32(_))
        | (Physical::F64, Scalar::F64(_))
        | (Physical::Str, Scalar::Str(_))
        | (Physical::Bytes, Scalar::Bytes(_)) => value.clone(),
        (Physical::I32, Scalar::I64(v)) if data_type == DataType::Boolean => {
            Scalar::I32((*v != 0) as i32)
        }
        (Physical::I32, Scalar::I64(v)) => Scalar::I32(i32::try_from(*v).map_err(|_| mismatch())?),
        (Physical::I32 | Physical::I64, Scalar::F64(v)) if v.fract() == 0.0 && v.abs() < 9.2e18 => {
            return conform_scalar(&Scalar::I64(*v as i64), data_type)
        }
        (Physical::I64, Scalar::I32(v)) => Scalar::I64(*v as i64),
        (Physical::F32, Scalar::F64(v)) => Scalar::F32(*v as f32),
        (Physical::F64, Scalar::F32(v)) => Scalar::F64(*v as f64),
        (Physical::F32, Scalar::I32(v)) => Scalar::F32(*v as f32),
        (Physical::F64, Scalar::I32(v)) => Scalar::F64(*v as f64),
        (Physical::F32, Scalar::I64(v)) => Scalar::F32(*v as f32),
        (Physical::F64, Scalar::I64(v)) => Scalar::F64(*v as f64),
        (Physical::Str, Scalar::I32(_) | Scalar::I64(_) | Scalar::F32(_) | Scalar::F64(_)) => {
            Scalar::Str(value.to_string())
        }
        (_, Scalar::Str(text)) => Scalar::parse(data_type, text)?,
        _ => return Err(mismatch()),
    })
}

/// What a row holds for one column.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    One(Scalar),
    Many(Vec<Scalar>),
}

/// Pinot's value for a null: the column's `defaultNullValue`, else 0 for
/// metrics and, for other columns, the type's minimum (INT, LONG), -Infinity
/// (FLOAT, DOUBLE), 0 (BOOLEAN, TIMESTAMP), "null" (STRING, JSON), empty BYTES.
pub fn default_null_value(column: &Column<'_>) -> Scalar {
    let data_type = column.data_type;
    if let Some(value) = column.default_null_value {
        if let Ok(scalar) = Scalar::from_json(data_type, value) {
            return scalar;
        }
    }
    if column.role == FieldRole::Metric {
        return match Physical::of(data_type) {
            Physical::I32 => Scalar::I32(0),
            Physical::I64 => Scalar::I64(0),
            Physical::F32 => Scalar::F32(0.0),
            Physical::F64 => Scalar::F64(0.0),
            Physical::Str => Scalar::Str("0".into()),
            Physical::Bytes => Scalar::Bytes(Vec::new()),
        };
    }
    match data_type {
        DataType::Int => Scalar::I32(i32::MIN),
        DataType::Long => Scalar::I64(i64::MIN),
        DataType::Float => Scalar::F32(f32::NEG_INFINITY),
        DataType::Double => Scalar::F64(f64::NEG_INFINITY),
        DataType::Boolean => Scalar::I32(0),
        DataType::Timestamp => Scalar::I64(0),
        DataType::String | DataType::Json => Scalar::Str("null".into()),
        DataType::BigDecimal => Scalar::Str("0".into()),
        DataType::Bytes => Scalar::Bytes(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_inputs_convert_by_column_type() {
        assert_eq!(
            Scalar::from_json(DataType::Int, &json!(5)).unwrap(),
            Scalar::I32(5)
        );
        assert_eq!(
            Scalar::from_json(DataType::Int, &json!("7")).unwrap(),
            Scalar::I32(7)
        );
        assert_eq!(
            Scalar::from_json(DataType::Int, &json!(7.0)).unwrap(),
            Scalar::I32(7)
        );
        assert!(Scalar::from_json(DataType::Int, &json!(7.5)).is_err());
        assert!(Scalar::from_json(DataType::Int, &json!(1u64 << 40)).is_err());
        assert_eq!(
            Scalar::from_json(DataType::Boolean, &json!(true)).unwrap(),
            Scalar::I32(1)
        );
        assert_eq!(
            Scalar::from_json(DataType::Double, &json!(1)).unwrap(),
            Scalar::F64(1.0)
        );
        assert_eq!(
            Scalar::from_json(DataType::String, &json!(12)).unwrap(),
            Scalar::Str("12".into())
        );
        assert_eq!(
            Scalar::from_json(DataType::Json, &json!({"a": 1})).unwrap(),
            Scalar::Str(r#"{"a":1}"#.into())
        );
        assert_eq!(
            Scalar::from_json(DataType::Bytes, &json!("00ff")).unwrap(),
            Scalar::Bytes(vec![0, 255])
        );
        assert!(Scalar::from_json(DataType::Long, &json!("abc")).is_err());
    }

    #[test]
    fn output_json() {
        assert_eq!(Scalar::I32(1).to_json(DataType::Boolean), json!(true));
        assert_eq!(
            Scalar::F64(f64::NEG_INFINITY).to_json(DataType::Double),
            json!("-Infinity")
        );
        assert_eq!(
            Scalar::Bytes(vec![1, 171]).to_json(DataType::Bytes),
            json!("01ab")
        );
    }
}
