//! Scalar functions of the single-table engine, with Pinot's names and
//! semantics: date-time (DATETRUNC, DATETIMECONVERT, toEpoch*, fromEpoch*),
//! toDateTime, fromDateTime), text (UPPER, LOWER, SUBSTR, CONCAT, LENGTH),
//! math (ABS, FLOOR, CEIL, ROUND, MOD) and JSON (jsonPathString,
//! jsonPathLong, jsonPathDouble, jsonFormat; `json_path.rs`). Times are
//! UTC epoch milliseconds unless a unit says otherwise. Queries and
//! ingestion transforms call the same functions.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};

use super::error::Error;
use super::json_path::{json_path_value, to_json, PathResult};
use super::value::{ColumnType, Kind, Value};
use super::Expr;
use crate::catalog::datetime::{
    format_simple_date, parse_simple_date, DateTimeFormat, Granularity, TimeUnit,
};
use crate::catalog::zone::Zone;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    DateTrunc,
    DateTimeConvert,
    ToEpoch(TimeUnit),
    FromEpoch(TimeUnit),
    Upper,
    Lower,
    Substr,
    Concat,
    Length,
    Abs,
    Floor,
    Ceil,
    Round,
    Mod,
    ToDateTime,
    FromDateTime,
    JsonPath(PathResult),
    JsonFormat,
}

/// Every function name the engine knows, for "did you mean" hints.
pub const NAMES: &[&str] = &[
    "datetrunc",
    "datetimeconvert",
    "toepochseconds",
    "toepochminutes",
    "toepochhours",
    "toepochdays",
    "fromepochseconds",
    "fromepochminutes",
    "fromepochhours",
    "fromepochdays",
    "upper",
    "lower",
    "substr",
    "concat",
    "length",
    "abs",
    "floor",
    "ceil",
    "round",
    "mod",
    "todatetime",
    "fromdatetime",
    "jsonpathstring",
    "jsonpathlong",
    "jsonpathdouble",
    "jsonformat",
];

impl Func {
    /// The function called `name` (case-insensitive, underscores ignored).
    pub fn lookup(name: &str) -> Option<Func> {
        let key: String = name
            .chars()
            .filter(|c| *c != '_')
            .flat_map(char::to_lowercase)
            .collect();
        Some(match key.as_str() {
            "datetrunc" => Func::DateTrunc,
            "datetimeconvert" => Func::DateTimeConvert,
            "toepochseconds" => Func::ToEpoch(TimeUnit::Seconds),
            "toepochminutes" => Func::ToEpoch(TimeUnit::Minutes),
            "toepochhours" => Func::ToEpoch(TimeUnit::Hours),
            "toepochdays" => Func::ToEpoch(TimeUnit::Days),
            "fromepochseconds" => Func::FromEpoch(TimeUnit::Seconds),
            "fromepochminutes" => Func::FromEpoch(TimeUnit::Minutes),
            "fromepochhours" => Func::FromEpoch(TimeUnit::Hours),
            "fromepochdays" => Func::FromEpoch(TimeUnit::Days),
            "upper" => Func::Upper,
            "lower" => Func::Lower,
            "substr" | "substring" => Func::Substr,
            "concat" => Func::Concat,
            "length" | "len" => Func::Length,
            "abs" => Func::Abs,
            "floor" => Func::Floor,
            "ceil" | "ceiling" => Func::Ceil,
            "round" => Func::Round,
            "mod" => Func::Mod,
            "todatetime" => Func::ToDateTime,
            "fromdatetime" => Func::FromDateTime,
            "jsonpathstring" => Func::JsonPath(PathResult::String),
            "jsonpathlong" => Func::JsonPath(PathResult::Long),
            "jsonpathdouble" => Func::JsonPath(PathResult::Double),
            "jsonformat" => Func::JsonFormat,
            _ => return None,
        })
    }

    pub fn name(self) -> String {
        match self {
            Func::DateTrunc => "datetrunc".into(),
            Func::DateTimeConvert => "datetimeconvert".into(),
            Func::ToEpoch(unit) => format!("toepoch{}", unit.name().to_lowercase()),
            Func::FromEpoch(unit) => format!("fromepoch{}", unit.name().to_lowercase()),
            Func::Upper => "upper".into(),
            Func::Lower => "lower".into(),
            Func::Substr => "substr".into(),
            Func::Concat => "concat".into(),
            Func::Length => "length".into(),
            Func::Abs => "abs".into(),
            Func::Floor => "floor".into(),
            Func::Ceil => "ceil".into(),
            Func::Round => "round".into(),
            Func::Mod => "mod".into(),
            Func::ToDateTime => "todatetime".into(),
            Func::FromDateTime => "fromdatetime".into(),
            Func::JsonPath(PathResult::String) => "jsonpathstring".into(),
            Func::JsonPath(PathResult::Long) => "jsonpathlong".into(),
            Func::JsonPath(PathResult::Double) => "jsonpathdouble".into(),
            Func::JsonFormat => "jsonformat".into(),
        }
    }

    /// Accepted argument counts, as text for errors, and whether `n` fits.
    pub fn arity(self) -> (&'static str, fn(usize) -> bool) {
        match self {
            Func::DateTrunc => (
                "2 to 5 (unit, time[, inputUnit, timeZone, outputUnit])",
                |n| (2..=5).contains(&n),
            ),
            Func::DateTimeConvert => (
                "4 (time, inputFormat, outputFormat, outputGranularity)",
                |n| n == 4,
            ),
            Func::Substr => ("2 or 3 (text, beginIndex[, endIndex])", |n| {
                n == 2 || n == 3
            }),
            Func::Concat => ("2 or 3 (first, second[, separator])", |n| n == 2 || n == 3),
            Func::Round => ("1 or 2 (value[, scale])", |n| n == 1 || n == 2),
            Func::Mod => ("2", |n| n == 2),
            Func::ToDateTime => ("2 or 3 (millis, pattern[, timeZone])", |n| n == 2 || n == 3),
            Func::FromDateTime => ("2 or 3 (text, pattern[, timeZone])", |n| n == 2 || n == 3),
            Func::JsonPath(_) => ("2 or 3 (json, '$.path'[, default])", |n| n == 2 || n == 3),
            _ => ("1", |n| n == 1),
        }
    }

    pub fn column_type(self, args: &[Expr]) -> ColumnType {
        let first = args.first().map(Expr::kind).unwrap_or(Kind::Double);
        match self {
            Func::DateTrunc | Func::ToEpoch(_) | Func::FromEpoch(_) => ColumnType::Long,
            Func::DateTimeConvert => match args.get(2) {
                Some(Expr::Literal(Value::Str(format)))
                    if format.contains("SIMPLE_DATE_FORMAT") =>
                {
                    ColumnType::String
                }
                _ => ColumnType::Long,
            },
            Func::Upper
            | Func::Lower
            | Func::Substr
            | Func::Concat
            | Func::ToDateTime
            | Func::JsonFormat
            | Func::JsonPath(PathResult::String) => ColumnType::String,
            Func::FromDateTime | Func::JsonPath(PathResult::Long) => ColumnType::Long,
            Func::JsonPath(PathResult::Double) => ColumnType::Double,
            Func::Length => ColumnType::Int,
            Func::Abs | Func::Floor | Func::Ceil | Func::Round if first == Kind::Long => {
                ColumnType::Long
            }
            Func::Mod if first == Kind::Long && args.get(1).map(Expr::kind) == Some(Kind::Long) => {
                ColumnType::Long
            }
            Func::Abs | Func::Floor | Func::Ceil | Func::Round | Func::Mod => ColumnType::Double,
        }
    }

    /// Applies the function to one row's argument values.
    pub fn call(self, args: &[Value], ty: ColumnType) -> Result<Value, Error> {
        match self {
            // A missing document gives the default.
            Func::JsonPath(result) => return json_path_value(result, args),
            Func::JsonFormat => {
                return Ok(match &args[0] {
                    Value::Null => Value::Null,
                    Value::Str(text) => Value::Str(text.clone()),
                    other => Value::Str(to_json(other.clone()).to_string()),
                })
            }
            _ => {}
        }
        if args.iter().any(Value::is_null) {
            return Ok(Value::Null);
        }
        let long = |index: usize| -> Result<i64, Error> {
            args[index].as_i64().ok_or_else(|| {
                Error::Invalid(format!(
                    "{} expects a number, got `{}`",
                    self.name(),
                    args[index].to_text()
                ))
            })
        };
        let double = |index: usize| -> Result<f64, Error> {
            args[index].as_f64().ok_or_else(|| {
                Error::Invalid(format!(
                    "{} expects a number, got `{}`",
                    self.name(),
                    args[index].to_text()
                ))
            })
        };
        let text = |index: usize| args[index].to_text();
        Ok(match self {
            Func::ToEpoch(unit) => Value::Long(long(0)?.div_euclid(unit_millis(unit))),
            Func::FromEpoch(unit) => Value::Long(long(0)?.saturating_mul(unit_millis(unit))),
            Func::DateTrunc => {
                let input = match args.get(2) {
                    Some(unit) => TimeUnit::parse(&unit.to_text()).map_err(Error::Invalid)?,
                    None => TimeUnit::Milliseconds,
                };
                let zone = zone_arg(self, args.get(3))?;
                let output = match args.get(4) {
                    Some(unit) => TimeUnit::parse(&unit.to_text()).map_err(Error::Invalid)?,
                    None => input,
                };
                let millis = to_millis(long(1)?, input);
                let truncated = date_trunc(&text(0), millis, zone)?;
                let (divisor, multiplier) = unit_millis_or_sub(output)?;
                Value::Long(time_mul(truncated.div_euclid(divisor), multiplier)?)
            }
            Func::DateTimeConvert => {
                let input = DateTimeFormat::parse(&text(1)).map_err(Error::Invalid)?;
                let output = DateTimeFormat::parse(&text(2)).map_err(Error::Invalid)?;
                let granularity = Granularity::parse(&text(3)).map_err(Error::Invalid)?;
                let millis = parse_time(&args[0], &input)?;
                let bucketed = match &output {
                    // Written as a date: calendar buckets in its zone.
                    DateTimeFormat::SimpleDate { zone, .. } => {
                        calendar_bucket(millis, granularity, *zone)?
                    }
                    // A number: buckets counted from the epoch.
                    _ => {
                        let step = granularity.size as i64 * unit_millis(granularity.unit).max(1);
                        time_mul(millis.div_euclid(step), step)?
                    }
                };
                format_time(bucketed, &output)?
            }
            Func::Upper => Value::Str(text(0).to_uppercase()),
            Func::Lower => Value::Str(text(0).to_lowercase()),
            Func::Length => Value::Long(text(0).chars().count() as i64),
            Func::Concat => match args.get(2) {
                Some(separator) => {
                    Value::Str(format!("{}{}{}", text(0), separator.to_text(), text(1)))
                }
                None => Value::Str(format!("{}{}", text(0), text(1))),
            },
            Func::Substr => {
                let chars: Vec<char> = text(0).chars().collect();
                let begin = long(1)?;
                let end = if args.len() == 3 { long(2)? } else { -1 };
                let end = if end < 0 { chars.len() as i64 } else { end };
                if begin < 0 || begin > end || end > chars.len() as i64 {
                    return Err(Error::Invalid(format!(
                        "substr: indexes {begin}..{end} are outside `{}` (length {}); indexes start at 0 and -1 means the end",
                        text(0),
                        chars.len()
                    )));
                }
                Value::Str(chars[begin as usize..end as usize].iter().collect())
            }
            Func::Abs | Func::Floor | Func::Ceil | Func::Round if ty == ColumnType::Long => {
                let value = long(0)?;
                Value::Long(if self == Func::Abs {
                    value
                        .checked_abs()
                        .ok_or_else(|| super::arith::overflow(format!("abs({value})")))?
                } else {
                    value
                })
            }
            Func::Abs => Value::Double(double(0)?.abs()),
            Func::Floor => Value::Double(double(0)?.floor()),
            Func::Ceil => Value::Double(double(0)?.ceil()),
            Func::Round => {
                let scale = if args.len() == 2 { long(1)? } else { 0 };
                let factor = 10f64.powi(scale.clamp(-300, 300) as i32);
                Value::Double((double(0)? * factor).round() / factor)
            }
            Func::Mod if ty == ColumnType::Long => {
                let divisor = long(1)?;
                if divisor == 0 {
                    return Err(Error::InExpr {
                        expr: format!("mod({}, 0)", long(0)?),
                        source: Box::new(Error::DivisionByZero),
                    });
                }
                Value::Long(long(0)?.wrapping_rem(divisor))
            }
            Func::Mod => Value::Double(double(0)? % double(1)?),
            Func::ToDateTime => {
                let millis = long(0)?;
                let pattern = text(1);
                let zone = zone_arg(self, args.get(2))?;
                utc(millis)?;
                Value::Str(format_simple_date(millis, &pattern, zone).ok_or_else(|| {
                    Error::Invalid(format!("{millis} cannot be written with `{pattern}`"))
                })?)
            }
            Func::FromDateTime => {
                let (value, pattern) = (text(0), text(1));
                let zone = zone_arg(self, args.get(2))?;
                Value::Long(parse_simple_date(&value, &pattern, zone).map_err(|err| {
                    Error::Invalid(format!("`{value}` does not match `{pattern}`: {err}"))
                })?)
            }
            Func::JsonPath(_) | Func::JsonFormat => unreachable!("answered above"),
        })
    }
}

/// A time zone argument (UTC when absent), or an error naming the function.
fn zone_arg(func: Func, zone: Option<&Value>) -> Result<Zone, Error> {
    match zone {
        None => Ok(Zone::Utc),
        Some(zone) => Zone::parse(&zone.to_text())
            .map_err(|err| Error::Invalid(format!("{}: {err}", func.name()))),
    }
}

fn unit_millis(unit: TimeUnit) -> i64 {
    (unit.nanos() / 1_000_000).max(1) as i64
}

/// (divisor, multiplier) taking milliseconds to `unit`.
fn unit_millis_or_sub(unit: TimeUnit) -> Result<(i64, i64), Error> {
    Ok(match unit {
        TimeUnit::Nanoseconds => (1, 1_000_000),
        TimeUnit::Microseconds => (1, 1_000),
        other => (unit_millis(other), 1),
    })
}

fn to_millis(value: i64, unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Nanoseconds => value.div_euclid(1_000_000),
        TimeUnit::Microseconds => value.div_euclid(1_000),
        other => value.saturating_mul(unit_millis(other)),
    }
}

fn utc(millis: i64) -> Result<DateTime<Utc>, Error> {
    Utc.timestamp_millis_opt(millis)
        .single()
        .ok_or_else(|| Error::Invalid(format!("{millis} ms is outside the supported time range")))
}

/// Truncates epoch milliseconds to the start of its `unit` in `zone`: the
/// instant its local day (hour, week from Monday, month...) began.
pub fn date_trunc(unit: &str, millis: i64, zone: Zone) -> Result<i64, Error> {
    let unit = unit.to_ascii_lowercase();
    let unit = unit.trim_end_matches('s');
    let step = match unit {
        "millisecond" => return Ok(millis),
        "second" => 1_000,
        "minute" => 60_000,
        "hour" => 3_600_000,
        "day" => 86_400_000,
        "week" | "month" | "quarter" | "year" => 0,
        other => {
            return Err(Error::Invalid(format!(
                "datetrunc: unknown unit `{other}`; expected one of millisecond, second, minute, hour, day, week, month, quarter, year"
            )))
        }
    };
    // Whole-hour offsets keep seconds, minutes and hours aligned with UTC.
    let aligned = match zone {
        Zone::Utc => step > 0,
        _ => step > 0 && step <= 3_600_000 && zone.offset_seconds(millis) % 3600 == 0,
    };
    if aligned {
        return time_mul(millis.div_euclid(step), step);
    }
    if zone.is_utc() && unit == "week" {
        let day = millis.div_euclid(86_400_000);
        // 1970-01-01 was a Thursday; weeks start on Monday.
        let monday = day - (day + 3).rem_euclid(7);
        return time_mul(monday, 86_400_000);
    }
    let local = zone.local(millis).ok_or_else(|| out_of_range(millis))?;
    let date = local.date();
    let start: NaiveDateTime = match unit {
        "second" => local.with_nanosecond(0).unwrap_or(local),
        "minute" => date
            .and_hms_opt(local.hour(), local.minute(), 0)
            .unwrap_or(local),
        "hour" => date.and_hms_opt(local.hour(), 0, 0).unwrap_or(local),
        "day" => date.and_time(chrono::NaiveTime::MIN),
        "week" => {
            let back = u64::from(date.weekday().num_days_from_monday());
            date.checked_sub_days(chrono::Days::new(back))
                .ok_or_else(|| out_of_range(millis))?
                .and_time(chrono::NaiveTime::MIN)
        }
        _ => {
            let month0 = date.month0();
            let month = match unit {
                "month" => month0,
                "quarter" => month0 - month0 % 3,
                _ => 0,
            };
            NaiveDate::from_ymd_opt(date.year(), month + 1, 1)
                .ok_or_else(|| out_of_range(millis))?
                .and_time(chrono::NaiveTime::MIN)
        }
    };
    zone.instant(start).ok_or_else(|| out_of_range(millis))
}

/// The start of the granularity bucket holding `millis`, in the calendar of
/// `zone`: the unit's field rounded down to a multiple of the size within
/// its parent (`15:MINUTES` → minute of the hour 0, 15, 30, 45; `1:DAYS`
/// → local midnight), finer fields zeroed.
fn calendar_bucket(millis: i64, granularity: Granularity, zone: Zone) -> Result<i64, Error> {
    let size = granularity.size.max(1);
    let local = zone.local(millis).ok_or_else(|| out_of_range(millis))?;
    let date = local.date();
    let down = |value: u32| value - value % size;
    let start = match granularity.unit {
        TimeUnit::Nanoseconds | TimeUnit::Microseconds | TimeUnit::Milliseconds => {
            let step = granularity.size as i64 * unit_millis(granularity.unit).max(1);
            return time_mul(millis.div_euclid(step), step);
        }
        TimeUnit::Seconds => date.and_hms_opt(local.hour(), local.minute(), down(local.second())),
        TimeUnit::Minutes => date.and_hms_opt(local.hour(), down(local.minute()), 0),
        TimeUnit::Hours => date.and_hms_opt(down(local.hour()), 0, 0),
        TimeUnit::Days => {
            // Days of the month count from 1.
            NaiveDate::from_ymd_opt(date.year(), date.month(), down(date.day() - 1) + 1)
                .map(|day| day.and_time(chrono::NaiveTime::MIN))
        }
    }
    .ok_or_else(|| out_of_range(millis))?;
    zone.instant(start).ok_or_else(|| out_of_range(millis))
}

fn out_of_range(millis: i64) -> Error {
    Error::Invalid(format!("{millis} ms is outside the supported time range"))
}

/// `count × unit` for times; hostile values overflow LONG.
fn time_mul(count: i64, unit: i64) -> Result<i64, Error> {
    count.checked_mul(unit).ok_or_else(|| {
        Error::Invalid(format!(
            "{count} × {unit} is outside the supported time range"
        ))
    })
}

fn parse_time(value: &Value, format: &DateTimeFormat) -> Result<i64, Error> {
    match format {
        DateTimeFormat::Epoch { size, unit } => {
            let count = value.as_i64().ok_or_else(|| {
                Error::Invalid(format!("`{}` is not an epoch number", value.to_text()))
            })?;
            Ok(to_millis(count.saturating_mul(*size as i64), *unit))
        }
        DateTimeFormat::Timestamp => value
            .as_i64()
            .ok_or_else(|| Error::Invalid(format!("`{}` is not a timestamp", value.to_text()))),
        DateTimeFormat::SimpleDate { pattern, zone } => {
            let text = value.to_text();
            parse_simple_date(&text, pattern, *zone).map_err(|err| {
                Error::Invalid(format!(
                    "`{text}` does not match the pattern `{pattern}`: {err}"
                ))
            })
        }
    }
}

fn format_time(millis: i64, format: &DateTimeFormat) -> Result<Value, Error> {
    Ok(match format {
        DateTimeFormat::Epoch { size, unit } => {
            let (divisor, multiplier) = unit_millis_or_sub(*unit)?;
            Value::Long(time_mul(millis.div_euclid(divisor), multiplier)? / *size as i64)
        }
        DateTimeFormat::Timestamp => Value::Long(millis),
        DateTimeFormat::SimpleDate { pattern, zone } => {
            utc(millis)?;
            Value::Str(format_simple_date(millis, pattern, *zone).ok_or_else(|| {
                Error::Invalid(format!(
                    "{millis} cannot be written with the pattern `{pattern}`"
                ))
            })?)
        }
    })
}

/// Hours, minutes and seconds of a time, for tests.
#[cfg(test)]
fn hms(millis: i64) -> (u32, u32, u32) {
    use chrono::Timelike;
    let time = utc(millis).unwrap_or_default();
    (time.hour(), time.minute(), time.second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_trunc_units() {
        // 2026-05-13T14:35:12.345Z, a Wednesday.
        let t = 1_778_682_912_345;
        let z = Zone::Utc;
        assert_eq!(hms(date_trunc("hour", t, z).unwrap()), (14, 0, 0));
        assert_eq!(date_trunc("day", t, z).unwrap() % 86_400_000, 0);
        let week = utc(date_trunc("week", t, z).unwrap()).unwrap();
        assert_eq!((week.weekday(), week.day()), (chrono::Weekday::Mon, 11));
        let month = utc(date_trunc("MONTH", t, z).unwrap()).unwrap();
        assert_eq!((month.month(), month.day()), (5, 1));
        let quarter = utc(date_trunc("quarter", t, z).unwrap()).unwrap();
        assert_eq!(quarter.month(), 4);
        let year = utc(date_trunc("year", t, z).unwrap()).unwrap();
        assert_eq!((year.year(), year.month()), (2026, 1));
        // The ends of the supported range fail in any zone, never panic.
        let kolkata = Zone::parse("Asia/Kolkata").unwrap();
        let ny = Zone::parse("America/New_York").unwrap();
        for millis in [
            DateTime::<Utc>::MIN_UTC.timestamp_millis(),
            DateTime::<Utc>::MAX_UTC.timestamp_millis(),
            i64::MIN,
            i64::MAX,
        ] {
            for zone in [kolkata, ny, Zone::Utc] {
                for unit in ["second", "hour", "day", "week", "month", "year"] {
                    let _ = date_trunc(unit, millis, zone);
                }
            }
        }
        assert!(date_trunc("fortnight", t, z)
            .unwrap_err()
            .to_string()
            .contains("unknown unit"));
    }

    #[test]
    fn datetime_convert_to_dates_and_buckets() {
        let f = Func::DateTimeConvert;
        let call = |args: Vec<Value>| f.call(&args, ColumnType::String).unwrap();
        let t = Value::Long(1_778_682_912_345);
        assert_eq!(
            call(vec![
                t.clone(),
                Value::Str("1:MILLISECONDS:EPOCH".into()),
                Value::Str("1:DAYS:SIMPLE_DATE_FORMAT:yyyy-MM-dd".into()),
                Value::Str("1:DAYS".into()),
            ]),
            Value::Str("2026-05-13".into())
        );
        assert_eq!(
            call(vec![
                t,
                Value::Str("1:MILLISECONDS:EPOCH".into()),
                Value::Str("1:HOURS:EPOCH".into()),
                Value::Str("1:HOURS".into()),
            ]),
            Value::Long(1_778_682_912_345 / 3_600_000)
        );
        assert_eq!(
            call(vec![
                Value::Str("2026-05-13 14:35:12".into()),
                Value::Str("1:SECONDS:SIMPLE_DATE_FORMAT:yyyy-MM-dd HH:mm:ss".into()),
                Value::Str("1:MILLISECONDS:EPOCH".into()),
                Value::Str("15:MINUTES".into()),
            ]),
            Value::Long(1_778_682_600_000)
        );
    }

    #[test]
    fn pinot_text_functions() {
        let s = |v: &str| Value::Str(v.into());
        let call = |f: Func, args: Vec<Value>| f.call(&args, ColumnType::String);
        assert_eq!(
            call(
                Func::Substr,
                vec![s("NASDAQ"), Value::Long(1), Value::Long(3)]
            )
            .unwrap(),
            s("AS")
        );
        assert_eq!(
            call(Func::Substr, vec![s("NASDAQ"), Value::Long(2)]).unwrap(),
            s("SDAQ")
        );
        assert!(call(
            Func::Substr,
            vec![s("NYSE"), Value::Long(3), Value::Long(9)]
        )
        .is_err());
        assert_eq!(
            call(Func::Concat, vec![s("a"), s("b"), s("-")]).unwrap(),
            s("a-b")
        );
        assert_eq!(
            call(Func::Length, vec![s("héllo")]).unwrap(),
            Value::Long(5)
        );
        assert_eq!(call(Func::Upper, vec![Value::Null]).unwrap(), Value::Null);
    }
}
