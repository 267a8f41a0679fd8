//! Pinot's date-time formats and granularities.
//!
//! A format says how a time column's values are written. Pinot accepts two
//! spellings and Gamay accepts both:
//!
//! ```text
//! colon form:  size ":" unit ":" "EPOCH"                      1:MILLISECONDS:EPOCH
//!              size ":" unit ":" "SIMPLE_DATE_FORMAT" ":" pat  1:DAYS:SIMPLE_DATE_FORMAT:yyyyMMdd
//!                  [ " tz(" zone ")" ]                         ...:yyyyMMdd tz(America/Chicago)
//!              size ":" unit ":" "TIMESTAMP"                   1:MILLISECONDS:TIMESTAMP
//! pipe form:   "EPOCH" [ "|" unit [ "|" size ] ]               EPOCH|SECONDS|5
//!              "SIMPLE_DATE_FORMAT" "|" pat [ "|" zone ]        SIMPLE_DATE_FORMAT|yyyy-MM-dd|UTC
//!              "TIMESTAMP"
//! granularity: size ":" unit                                   15:MINUTES
//! ```
//!
//! Java `SimpleDateFormat` patterns are read and written here, once, for
//! schemas, transforms, query functions, retention and the S3 sink
//! ([`parse_simple_date`], [`format_simple_date`], [`java_pattern`]), in
//! the format's zone (UTC unless it names one).

use std::fmt;

use super::zone::Zone;

/// Java's `TimeUnit`, as Pinot spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Nanoseconds,
    Microseconds,
    Milliseconds,
    Seconds,
    Minutes,
    Hours,
    Days,
}

const UNIT_NAMES: [&str; 7] = [
    "NANOSECONDS",
    "MICROSECONDS",
    "MILLISECONDS",
    "SECONDS",
    "MINUTES",
    "HOURS",
    "DAYS",
];

impl TimeUnit {
    pub fn parse(text: &str) -> Result<TimeUnit, String> {
        let unit = match text.trim().to_ascii_uppercase().as_str() {
            "NANOSECONDS" => TimeUnit::Nanoseconds,
            "MICROSECONDS" => TimeUnit::Microseconds,
            "MILLISECONDS" => TimeUnit::Milliseconds,
            "SECONDS" => TimeUnit::Seconds,
            "MINUTES" => TimeUnit::Minutes,
            "HOURS" => TimeUnit::Hours,
            "DAYS" => TimeUnit::Days,
            _ => {
                return Err(format!(
                    "unknown time unit `{text}`; expected one of {}",
                    UNIT_NAMES.join(", ")
                ))
            }
        };
        Ok(unit)
    }

    /// Length of one unit in nanoseconds.
    pub fn nanos(self) -> u64 {
        match self {
            TimeUnit::Nanoseconds => 1,
            TimeUnit::Microseconds => 1_000,
            TimeUnit::Milliseconds => 1_000_000,
            TimeUnit::Seconds => 1_000_000_000,
            TimeUnit::Minutes => 60 * 1_000_000_000,
            TimeUnit::Hours => 3_600 * 1_000_000_000,
            TimeUnit::Days => 86_400 * 1_000_000_000,
        }
    }

    pub fn name(self) -> &'static str {
        UNIT_NAMES[self as usize]
    }
}

impl fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the values of a date-time column are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateTimeFormat {
    /// A count of `size` × `unit` since the Unix epoch.
    Epoch { size: u32, unit: TimeUnit },
    /// A formatted string (Java `SimpleDateFormat` pattern), in `zone`.
    SimpleDate { pattern: String, zone: Zone },
    /// Milliseconds since the epoch, typed TIMESTAMP.
    Timestamp,
}

impl DateTimeFormat {
    pub fn parse(text: &str) -> Result<DateTimeFormat, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err(
                "date-time format is empty; e.g. `1:MILLISECONDS:EPOCH` or `EPOCH|MILLISECONDS|1`"
                    .into(),
            );
        }
        if text.contains('|') || !text.contains(':') {
            parse_pipe_form(text)
        } else {
            parse_colon_form(text)
        }
    }
}

fn parse_size(text: &str, what: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(size) if size > 0 => Ok(size),
        _ => Err(format!("{what} `{text}` must be a positive integer")),
    }
}

fn parse_colon_form(text: &str) -> Result<DateTimeFormat, String> {
    // The pattern of SIMPLE_DATE_FORMAT may itself contain colons (HH:mm:ss).
    let parts: Vec<&str> = text.splitn(4, ':').collect();
    if parts.len() < 3 {
        return Err(format!(
            "malformed date-time format `{text}`; expected `size:unit:EPOCH`, `size:unit:SIMPLE_DATE_FORMAT:pattern` or the pipe form `EPOCH|MILLISECONDS|1`"
        ));
    }
    let size = parse_size(parts[0], "date-time format size")?;
    let unit = TimeUnit::parse(parts[1])?;
    match parts[2].trim().to_ascii_uppercase().as_str() {
        "EPOCH" if parts.len() == 3 => Ok(DateTimeFormat::Epoch { size, unit }),
        "TIMESTAMP" if parts.len() == 3 => Ok(DateTimeFormat::Timestamp),
        "SIMPLE_DATE_FORMAT" => {
            let pattern = parts.get(3).copied().unwrap_or("");
            // `yyyyMMdd tz(America/Chicago)`: the pattern, then its zone.
            let (pattern, zone) = match pattern.trim_end().strip_suffix(')') {
                Some(head) => match head.rsplit_once(" tz(") {
                    Some((pattern, zone)) => (pattern.trim_end(), Zone::parse(zone)?),
                    None => (pattern, Zone::Utc),
                },
                None => (pattern, Zone::Utc),
            };
            check_pattern(pattern)?;
            Ok(DateTimeFormat::SimpleDate {
                pattern: pattern.to_string(),
                zone,
            })
        }
        other => Err(format!(
            "malformed date-time format `{text}`: time format `{other}` must be EPOCH, SIMPLE_DATE_FORMAT or TIMESTAMP"
        )),
    }
}

fn parse_pipe_form(text: &str) -> Result<DateTimeFormat, String> {
    let parts: Vec<&str> = text.split('|').collect();
    match parts[0].trim().to_ascii_uppercase().as_str() {
        "EPOCH" => {
            if parts.len() > 3 {
                return Err(format!(
                    "malformed date-time format `{text}`; expected `EPOCH|unit|size`"
                ));
            }
            let unit = match parts.get(1) {
                Some(unit) => TimeUnit::parse(unit)?,
                None => TimeUnit::Milliseconds,
            };
            let size = match parts.get(2) {
                Some(size) => parse_size(size, "date-time format size")?,
                None => 1,
            };
            Ok(DateTimeFormat::Epoch { size, unit })
        }
        "SIMPLE_DATE_FORMAT" => {
            if parts.len() > 3 {
                return Err(format!(
                    "malformed date-time format `{text}`; expected `SIMPLE_DATE_FORMAT|pattern|zone`"
                ));
            }
            let pattern = parts.get(1).copied().unwrap_or("");
            check_pattern(pattern)?;
            let zone = match parts.get(2) {
                Some(zone) if zone.trim().is_empty() => {
                    return Err(format!("time zone in `{text}` is empty"))
                }
                Some(zone) => Zone::parse(zone)?,
                None => Zone::Utc,
            };
            Ok(DateTimeFormat::SimpleDate {
                pattern: pattern.to_string(),
                zone,
            })
        }
        "TIMESTAMP" if parts.len() == 1 => Ok(DateTimeFormat::Timestamp),
        _ => Err(format!(
            "malformed date-time format `{text}`; expected `EPOCH|unit|size`, `SIMPLE_DATE_FORMAT|pattern[|zone]`, `TIMESTAMP` or the colon form `1:MILLISECONDS:EPOCH`"
        )),
    }
}

/// Pattern letters of Java's `SimpleDateFormat` / Joda `DateTimeFormat`.
const PATTERN_LETTERS: &str = "GyYuMLdDEeFwWaHhKkmsSzZXxC";

fn check_pattern(pattern: &str) -> Result<(), String> {
    if pattern.trim().is_empty() {
        return Err(
            "SIMPLE_DATE_FORMAT needs a pattern, e.g. `SIMPLE_DATE_FORMAT|yyyy-MM-dd`".into(),
        );
    }
    let mut quoted = false;
    let mut has_field = false;
    for c in pattern.chars() {
        if c == '\'' {
            quoted = !quoted;
        } else if !quoted && c.is_ascii_alphabetic() {
            if !PATTERN_LETTERS.contains(c) {
                return Err(format!(
                    "date pattern `{pattern}` uses the letter `{c}`, which is not a pattern letter; quote literal text as 'T'"
                ));
            }
            has_field = true;
        }
    }
    if quoted {
        return Err(format!("date pattern `{pattern}` has an unclosed quote"));
    }
    if !has_field {
        return Err(format!(
            "date pattern `{pattern}` has no date or time field"
        ));
    }
    Ok(())
}

/// Translates a Java `SimpleDateFormat` pattern into a chrono one.
pub fn java_pattern(pattern: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        let mut run = 1;
        while at + run < chars.len() && chars[at + run] == c {
            run += 1;
        }
        let piece = match (c, run) {
            ('y', 2) => "%y".to_string(),
            ('y', _) => "%Y".to_string(),
            ('M', 1..=2) => "%m".to_string(),
            ('M', 3) => "%b".to_string(),
            ('M', _) => "%B".to_string(),
            ('d', _) => "%d".to_string(),
            ('H', _) => "%H".to_string(),
            ('h', _) => "%I".to_string(),
            ('m', _) => "%M".to_string(),
            ('s', _) => "%S".to_string(),
            ('S', _) => "%3f".to_string(),
            ('a', _) => "%p".to_string(),
            ('E', _) => "%a".to_string(),
            ('Z', _) | ('X', _) => "%z".to_string(),
            ('\'', _) => {
                // Quoted literal text.
                let mut end = at + 1;
                let mut literal = String::new();
                while end < chars.len() && chars[end] != '\'' {
                    literal.push(chars[end]);
                    end += 1;
                }
                at = end + 1;
                out.push_str(&literal.replace('%', "%%"));
                continue;
            }
            ('%', _) => "%%".repeat(run),
            (other, _) => other.to_string().repeat(run),
        };
        out.push_str(&piece);
        at += run;
    }
    out
}

/// Epoch milliseconds of `text` written with the Java pattern `pattern`,
/// read as UTC: a date and time, or a date alone at midnight.
pub fn parse_simple_date(text: &str, pattern: &str, zone: Zone) -> Result<i64, String> {
    let pattern = java_pattern(pattern);
    let local = chrono::NaiveDateTime::parse_from_str(text, &pattern)
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(text, &pattern)
                .map(|date| date.and_time(chrono::NaiveTime::MIN))
        })
        .map_err(|err| err.to_string())?;
    zone.instant(local)
        .ok_or_else(|| format!("`{text}` is outside the supported time range"))
}

/// `millis` written with the Java pattern `pattern`, in `zone`; `None`
/// when the instant is out of range or the pattern cannot be rendered.
pub fn format_simple_date(millis: i64, pattern: &str, zone: Zone) -> Option<String> {
    use std::fmt::Write;
    let local = zone.local(millis)?;
    let offset = chrono::FixedOffset::east_opt(zone.offset_seconds(millis))?;
    let time = chrono::DateTime::<chrono::FixedOffset>::from_naive_utc_and_offset(
        local.checked_sub_signed(chrono::Duration::seconds(i64::from(
            offset.local_minus_utc(),
        )))?,
        offset,
    );
    let mut out = String::new();
    write!(out, "{}", time.format(&java_pattern(pattern))).ok()?;
    Some(out)
}

/// A granularity such as `1:DAYS` or `15:MINUTES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granularity {
    pub size: u32,
    pub unit: TimeUnit,
}

impl Granularity {
    pub fn parse(text: &str) -> Result<Granularity, String> {
        // Pinot's newer spelling `MINUTES|15` is accepted too.
        let (size, unit) = if let Some((size, unit)) = text.split_once(':') {
            (size, unit)
        } else if let Some((unit, size)) = text.split_once('|') {
            (size, unit)
        } else {
            return Err(format!(
                "malformed granularity `{text}`; expected `size:unit`, e.g. `1:DAYS` or `15:MINUTES`"
            ));
        };
        Ok(Granularity {
            size: parse_size(size, "granularity size")?,
            unit: TimeUnit::parse(unit)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_of_epoch() {
        let millis = DateTimeFormat::Epoch {
            size: 1,
            unit: TimeUnit::Milliseconds,
        };
        assert_eq!(
            DateTimeFormat::parse("1:MILLISECONDS:EPOCH").unwrap(),
            millis
        );
        assert_eq!(
            DateTimeFormat::parse("EPOCH|MILLISECONDS|1").unwrap(),
            millis
        );
        assert_eq!(DateTimeFormat::parse("EPOCH").unwrap(), millis);
        assert_eq!(
            DateTimeFormat::parse("EPOCH|SECONDS|5").unwrap(),
            DateTimeFormat::Epoch {
                size: 5,
                unit: TimeUnit::Seconds
            }
        );
    }

    #[test]
    fn simple_date_formats() {
        assert_eq!(
            DateTimeFormat::parse("1:DAYS:SIMPLE_DATE_FORMAT:yyyy-MM-dd HH:mm:ss").unwrap(),
            DateTimeFormat::SimpleDate {
                pattern: "yyyy-MM-dd HH:mm:ss".into(),
                zone: Zone::Utc
            }
        );
        assert_eq!(
            DateTimeFormat::parse("1:DAYS:SIMPLE_DATE_FORMAT:yyyyMMdd tz(America/Chicago)")
                .unwrap(),
            DateTimeFormat::SimpleDate {
                pattern: "yyyyMMdd".into(),
                zone: Zone::parse("America/Chicago").unwrap()
            }
        );
        assert_eq!(
            DateTimeFormat::parse("SIMPLE_DATE_FORMAT|yyyy-MM-dd'T'HH|America/Sao_Paulo").unwrap(),
            DateTimeFormat::SimpleDate {
                pattern: "yyyy-MM-dd'T'HH".into(),
                zone: Zone::parse("America/Sao_Paulo").unwrap()
            }
        );
        assert!(DateTimeFormat::parse("SIMPLE_DATE_FORMAT|yyyy|Mars/Base")
            .unwrap_err()
            .contains("unknown time zone `Mars/Base`"));
        assert_eq!(
            DateTimeFormat::parse("TIMESTAMP").unwrap(),
            DateTimeFormat::Timestamp
        );
        assert_eq!(
            DateTimeFormat::parse("1:MILLISECONDS:TIMESTAMP").unwrap(),
            DateTimeFormat::Timestamp
        );
    }

    #[test]
    fn malformed_formats_say_why() {
        for (text, needle) in [
            ("1:MILISECONDS:EPOCH", "unknown time unit `MILISECONDS`"),
            ("0:DAYS:EPOCH", "positive integer"),
            (
                "1:DAYS:EPOC",
                "must be EPOCH, SIMPLE_DATE_FORMAT or TIMESTAMP",
            ),
            ("1:DAYS", "malformed date-time format"),
            ("SIMPLE_DATE_FORMAT|", "needs a pattern"),
            ("SIMPLE_DATE_FORMAT|yyyy-MM-ddTHH", "letter `T`"),
            ("SIMPLE_DATE_FORMAT|'yyyy", "unclosed quote"),
            ("EPOCH|MILLISECONDS|x", "positive integer"),
            ("MILLIS", "malformed date-time format"),
        ] {
            let err = DateTimeFormat::parse(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn granularities() {
        assert_eq!(
            Granularity::parse("1:DAYS").unwrap(),
            Granularity {
                size: 1,
                unit: TimeUnit::Days
            }
        );
        assert_eq!(Granularity::parse("MINUTES|15").unwrap().size, 15);
        assert!(Granularity::parse("DAYS").is_err());
        assert!(Granularity::parse("1:WEEKS").is_err());
    }

    #[test]
    fn simple_dates_read_and_written_once() {
        // 2026-05-13T14:35:12Z
        let millis = 1_778_682_912_000;
        let pattern = "yyyy-MM-dd'T'HH:mm:ss";
        let utc = Zone::Utc;
        assert_eq!(
            format_simple_date(millis, pattern, utc).as_deref(),
            Some("2026-05-13T14:35:12")
        );
        assert_eq!(
            parse_simple_date("2026-05-13T14:35:12", pattern, utc),
            Ok(millis)
        );
        // A date alone is midnight UTC.
        assert_eq!(
            parse_simple_date("20260513", "yyyyMMdd", utc),
            Ok(1_778_630_400_000)
        );
        assert!(parse_simple_date("13/05/2026", "yyyyMMdd", utc).is_err());
        // A literal percent sign is text, not a chrono directive.
        assert_eq!(
            format_simple_date(millis, "yyyy'%'MM", utc).as_deref(),
            Some("2026%05")
        );
        assert_eq!(format_simple_date(i64::MAX, pattern, utc), None);
        // In São Paulo (UTC-3) the same instant is 11:35, and its offset
        // is written by `Z`.
        let sao_paulo = Zone::parse("America/Sao_Paulo").unwrap();
        assert_eq!(
            format_simple_date(millis, "yyyy-MM-dd HH:mm Z", sao_paulo).as_deref(),
            Some("2026-05-13 11:35 -0300")
        );
        assert_eq!(
            parse_simple_date("2026-05-13T11:35:12", pattern, sao_paulo),
            Ok(millis)
        );
    }
}
