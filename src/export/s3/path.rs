//! Output directory paths for the built-in S3 sink, mirroring Confluent's Kafka Connect
//! S3 partitioners: `partition=<n>` (DefaultPartitioner), Hive-style `field=value`
//! segments (FieldPartitioner) and time buckets aligned in a configured zone and rendered
//! with a Joda-time `path.format` (TimeBasedPartitioner).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Datelike, NaiveDateTime, Offset, TimeZone, Timelike};
use chrono_tz::Tz;

/// Segment value Hive, Spark and pyarrow read back as null.
pub const HIVE_DEFAULT_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// `path.format` of Confluent's DailyPartitioner.
pub const DAILY_FORMAT: &str = "'year'=YYYY/'month'=MM/'day'=dd";

/// `path.format` of Confluent's HourlyPartitioner.
pub const HOURLY_FORMAT: &str = "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH";

const CACHE_INTERVAL_MS: i64 = 15 * 60 * 1000;

/// A rejected partitioner setting; each message names the config key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// `path.format` is empty, malformed or uses an unsupported pattern letter.
    #[error("path.format: {0}")]
    Format(String),
    /// `partition.duration.ms` is not positive.
    #[error("partition.duration.ms: must be a positive number of milliseconds, got {0}")]
    Duration(i64),
    /// `timezone` is neither an IANA zone name nor a fixed offset.
    #[error("timezone: unknown time zone `{0}`; use an IANA name such as `America/Sao_Paulo` or `UTC`, or a fixed offset such as `+05:30`")]
    Timezone(String),
    /// `locale` is not a language code with an optional region.
    #[error("locale: invalid locale `{0}`; use a language code with an optional region such as `en`, `en_US` or `pt-BR`")]
    Locale(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    /// Pattern letter (`Y` normalised to `y`) and its repeat count (minimum digits).
    Field(char, usize),
}

#[derive(Debug, Clone, Copy)]
enum Zone {
    Fixed(i64),
    Iana(Tz),
}

/// Time-based partitioner: buckets timestamps by `partition.duration.ms` in the configured
/// zone's wall-clock time and renders bucket starts with a Joda-time `path.format`.
#[derive(Debug)]
pub struct TimePartitioner {
    tokens: Vec<Token>,
    duration_ms: i64,
    zone: Zone,
    locale: String,
    /// The last cache interval and its offset, packed by [`pack`] (0: none).
    offset_cache: AtomicU64,
}

impl Clone for TimePartitioner {
    fn clone(&self) -> TimePartitioner {
        TimePartitioner {
            tokens: self.tokens.clone(),
            duration_ms: self.duration_ms,
            zone: self.zone,
            locale: self.locale.clone(),
            offset_cache: AtomicU64::new(self.offset_cache.load(Ordering::Relaxed)),
        }
    }
}

/// Bits of a packed cache entry that hold the offset (whole seconds, biased).
const OFFSET_BITS: u32 = 20;

/// Packs a cache interval (from 1970 on) and its offset into one word, so
/// threads sharing a partitioner never see one without the other. `None`
/// when either does not fit; such lookups are simply not cached.
fn pack(interval: i64, offset_ms: i64) -> Option<u64> {
    let biased = offset_ms / 1000 + (1 << (OFFSET_BITS - 1));
    let fits = (0..1i64 << 43).contains(&interval)
        && (0..1i64 << OFFSET_BITS).contains(&biased)
        && offset_ms % 1000 == 0;
    fits.then_some(((interval as u64) << OFFSET_BITS) | biased as u64)
}

fn unpack(word: u64) -> (i64, i64) {
    let interval = (word >> OFFSET_BITS) as i64;
    let biased = (word & ((1 << OFFSET_BITS) - 1)) as i64;
    (interval, (biased - (1 << (OFFSET_BITS - 1))) * 1000)
}

impl TimePartitioner {
    /// Validates the settings and builds a partitioner.
    pub fn new(
        path_format: &str,
        partition_duration_ms: i64,
        timezone: &str,
        locale: &str,
    ) -> Result<TimePartitioner, PathError> {
        let tokens = parse_pattern(path_format)?;
        if partition_duration_ms <= 0 {
            return Err(PathError::Duration(partition_duration_ms));
        }
        let zone = parse_zone(timezone)?;
        if !valid_locale(locale) {
            return Err(PathError::Locale(locale.to_string()));
        }
        Ok(TimePartitioner {
            tokens,
            duration_ms: partition_duration_ms,
            zone,
            locale: locale.to_string(),
            offset_cache: AtomicU64::new(0),
        })
    }

    /// Confluent's DailyPartitioner: [`DAILY_FORMAT`] with one-day buckets.
    pub fn daily(timezone: &str, locale: &str) -> Result<TimePartitioner, PathError> {
        Self::new(DAILY_FORMAT, 86_400_000, timezone, locale)
    }

    /// Confluent's HourlyPartitioner: [`HOURLY_FORMAT`] with one-hour buckets.
    pub fn hourly(timezone: &str, locale: &str) -> Result<TimePartitioner, PathError> {
        Self::new(HOURLY_FORMAT, 3_600_000, timezone, locale)
    }

    /// The configured `partition.duration.ms`.
    pub fn partition_duration_ms(&self) -> i64 {
        self.duration_ms
    }

    /// The configured `locale` (output is numeric, so it does not change paths).
    pub fn locale(&self) -> &str {
        &self.locale
    }

    /// Start of the bucket holding `ts_millis` (UTC epoch millis), as local wall-clock
    /// epoch millis in the configured zone; usable as a grouping key. Both passes through
    /// a repeated (fall-back) local hour share one bucket.
    pub fn bucket(&self, ts_millis: i64) -> i64 {
        let local = ts_millis.saturating_add(self.offset_ms(ts_millis));
        local.saturating_sub(local.rem_euclid(self.duration_ms))
    }

    /// Renders a bucket start (local wall-clock epoch millis) with `path.format`.
    pub fn bucket_path(&self, bucket: i64) -> String {
        let min = DateTime::<chrono::Utc>::MIN_UTC.timestamp_millis();
        let max = DateTime::<chrono::Utc>::MAX_UTC.timestamp_millis();
        let local = DateTime::from_timestamp_millis(bucket.clamp(min, max))
            .map(|dt| dt.naive_utc())
            .unwrap_or_default();
        render(&self.tokens, local)
    }

    /// Directory path of the bucket holding `ts_millis` (UTC epoch millis).
    pub fn path(&self, ts_millis: i64) -> String {
        self.bucket_path(self.bucket(ts_millis))
    }

    fn offset_ms(&self, ts_millis: i64) -> i64 {
        let tz = match self.zone {
            Zone::Fixed(offset) => return offset,
            Zone::Iana(tz) => tz,
        };
        let interval = ts_millis.div_euclid(CACHE_INTERVAL_MS);
        let word = self.offset_cache.load(Ordering::Relaxed);
        if word != 0 {
            let (cached_interval, cached_offset) = unpack(word);
            if cached_interval == interval {
                return cached_offset;
            }
        }
        let offset = iana_offset_ms(tz, ts_millis);
        let start = interval.saturating_mul(CACHE_INTERVAL_MS);
        let end = start.saturating_add(CACHE_INTERVAL_MS - 1);
        if iana_offset_ms(tz, start) == offset && iana_offset_ms(tz, end) == offset {
            if let Some(word) = pack(interval, offset) {
                self.offset_cache.store(word, Ordering::Relaxed);
            }
        }
        offset
    }
}

fn iana_offset_ms(tz: Tz, ts_millis: i64) -> i64 {
    DateTime::from_timestamp_millis(ts_millis).map_or(0, |dt| {
        let offset = tz.offset_from_utc_datetime(&dt.naive_utc()).fix();
        i64::from(offset.local_minus_utc()) * 1000
    })
}

fn parse_pattern(pattern: &str) -> Result<Vec<Token>, PathError> {
    if pattern.is_empty() {
        return Err(PathError::Format(
            "empty pattern; use a Joda-time pattern such as 'year'=YYYY/'month'=MM/'day'=dd"
                .to_string(),
        ));
    }
    let chars: Vec<char> = pattern.chars().collect();
    let (mut tokens, mut literal) = (Vec::new(), String::new());
    let (mut i, mut quote_start) = (0, None);
    while let Some(&c) = chars.get(i) {
        if c == '\'' && chars.get(i + 1) == Some(&'\'') {
            literal.push('\'');
            i += 2;
            continue;
        }
        if c == '\'' {
            quote_start = if quote_start.is_some() { None } else { Some(i) };
            i += 1;
            continue;
        }
        if quote_start.is_some() || !c.is_ascii_alphabetic() {
            literal.push(c);
            i += 1;
            continue;
        }
        let count = chars.iter().skip(i).take_while(|&&x| x == c).count();
        let letter = match c {
            'Y' => 'y',
            'M' if count >= 3 => {
                return Err(PathError::Format(format!(
                    "text month `{}` at position {i} is not supported; use M or MM for a numeric month",
                    "M".repeat(count)
                )))
            }
            'y' | 'M' | 'd' | 'D' | 'H' | 'm' | 's' => c,
            _ => {
                return Err(PathError::Format(format!(
                    "unsupported pattern letter `{c}` at position {i}; use y, Y, M, d, D, H, m, s and quoted literals such as 'year'"
                )))
            }
        };
        if !literal.is_empty() {
            tokens.push(Token::Literal(std::mem::take(&mut literal)));
        }
        tokens.push(Token::Field(letter, count));
        i += count;
    }
    if let Some(start) = quote_start {
        return Err(PathError::Format(format!(
            "unterminated quoted literal starting at position {start}; close it with ' (write '' for a literal quote)"
        )));
    }
    if !literal.is_empty() {
        tokens.push(Token::Literal(literal));
    }
    Ok(tokens)
}

fn render(tokens: &[Token], dt: NaiveDateTime) -> String {
    let mut out = String::with_capacity(48);
    for token in tokens {
        let (letter, width) = match token {
            Token::Literal(text) => {
                out.push_str(text);
                continue;
            }
            Token::Field(letter, width) => (*letter, *width),
        };
        let value = match letter {
            'y' if width == 2 => dt.year().rem_euclid(100),
            'y' => dt.year(),
            'M' => dt.month() as i32,
            'd' => dt.day() as i32,
            'D' => dt.ordinal() as i32,
            'H' => dt.hour() as i32,
            'm' => dt.minute() as i32,
            _ => dt.second() as i32,
        };
        if value < 0 {
            out.push('-');
        }
        let digits = value.unsigned_abs().to_string();
        out.extend(std::iter::repeat_n('0', width.saturating_sub(digits.len())));
        out.push_str(&digits);
    }
    out
}

fn parse_zone(timezone: &str) -> Result<Zone, PathError> {
    use crate::catalog::zone::Zone as Parsed;
    match Parsed::parse(timezone) {
        Ok(Parsed::Utc) => Ok(Zone::Fixed(0)),
        Ok(Parsed::Fixed(offset)) => Ok(Zone::Fixed(i64::from(offset.local_minus_utc()) * 1000)),
        Ok(Parsed::Named(tz)) => Ok(Zone::Iana(tz)),
        Err(_) => Err(PathError::Timezone(timezone.to_string())),
    }
}

fn valid_locale(locale: &str) -> bool {
    let (language, region) = match locale.split_once(['_', '-']) {
        Some((language, region)) => (language, Some(region)),
        None => (locale, None),
    };
    let language_ok =
        (2..=3).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_lowercase());
    let region_ok = region.is_none_or(|r| {
        (r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()))
            || (r.len() == 3 && r.bytes().all(|b| b.is_ascii_digit()))
    });
    language_ok && region_ok
}

/// Hive-style `f1=v1/f2=v2` path for Confluent's FieldPartitioner. Values are
/// percent-encoded (every byte except ASCII alphanumerics and `-_.~`, uppercase hex) so
/// URI-decoding readers get them back; `None` becomes [`HIVE_DEFAULT_PARTITION`].
pub fn field_path(parts: &[(&str, Option<&str>)]) -> String {
    let mut out = String::new();
    for (k, (name, value)) in parts.iter().enumerate() {
        if k > 0 {
            out.push('/');
        }
        out.push_str(name);
        out.push('=');
        match value {
            None => out.push_str(HIVE_DEFAULT_PARTITION),
            Some(value) => {
                for byte in value.bytes() {
                    if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                        out.push(char::from(byte));
                    } else {
                        let _ = write!(out, "%{byte:02X}");
                    }
                }
            }
        }
    }
    out
}

/// `partition=<n>` path for Confluent's DefaultPartitioner.
pub fn default_path(partition: i32) -> String {
    format!("partition={partition}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> i64 {
        let dt = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap();
        dt.and_utc().timestamp_millis()
    }

    fn check(p: &TimePartitioner, cases: &[(&str, &str)]) {
        for (ts, want) in cases {
            assert_eq!(p.path(utc(ts)), *want, "{ts}");
        }
    }

    fn hourly(tz: &str) -> TimePartitioner {
        TimePartitioner::hourly(tz, "en").unwrap()
    }

    #[test]
    fn named_zones_and_fixed_offsets() {
        let ts = utc("2026-07-15T02:30:00");
        assert_eq!(
            hourly("America/Sao_Paulo").bucket(ts),
            utc("2026-07-14T23:00:00")
        );
        for (tz, want) in [
            ("America/Sao_Paulo", "year=2026/month=07/day=14/hour=23"),
            ("-03:00", "year=2026/month=07/day=14/hour=23"),
            ("+05:30", "year=2026/month=07/day=15/hour=08"),
            ("UTC", "year=2026/month=07/day=15/hour=02"),
            ("Z", "year=2026/month=07/day=15/hour=02"),
        ] {
            assert_eq!(hourly(tz).path(ts), want, "{tz}");
        }
        for (tz, want) in [
            ("-03:00", "23:30:00"),
            ("+05:30", "08:00:00"),
            ("Z", "02:30:00"),
        ] {
            let p = TimePartitioner::new("HH:mm:ss", 1000, tz, "en").unwrap();
            assert_eq!(p.path(ts), want, "{tz}");
        }
    }

    #[test]
    fn dst_transitions() {
        let ny = hourly("America/New_York");
        let (edt, est) = (utc("2026-11-01T05:30:00"), utc("2026-11-01T06:30:00"));
        assert_eq!(ny.bucket(edt), ny.bucket(est));
        let cases = [
            ("2026-11-01T05:30:00", "year=2026/month=11/day=01/hour=01"),
            ("2026-11-01T06:30:00", "year=2026/month=11/day=01/hour=01"),
            ("2026-03-08T06:59:59", "year=2026/month=03/day=08/hour=01"),
            ("2026-03-08T07:00:00", "year=2026/month=03/day=08/hour=03"),
        ];
        check(&ny, &cases);
        let ny_daily = TimePartitioner::daily("America/New_York", "en_US").unwrap();
        let midnight = utc("2026-03-08T00:00:00");
        assert_eq!(ny_daily.bucket(utc("2026-03-08T05:00:00")), midnight);
        let cases = [
            ("2026-03-08T04:59:00", "year=2026/month=03/day=07"),
            ("2026-03-08T05:00:00", "year=2026/month=03/day=08"),
            ("2026-03-09T03:59:00", "year=2026/month=03/day=08"),
            ("2026-03-09T04:00:00", "year=2026/month=03/day=09"),
        ];
        check(&ny_daily, &cases);
        let cases = [
            ("2018-11-04T02:59:59", "year=2018/month=11/day=03/hour=23"),
            ("2018-11-04T03:00:00", "year=2018/month=11/day=04/hour=01"),
        ];
        check(
            &TimePartitioner::hourly("America/Sao_Paulo", "pt_BR").unwrap(),
            &cases,
        );
    }

    #[test]
    fn pattern_letters_and_literals() {
        let p = TimePartitioner::new("YYYY|yyyy|yy|y", 86_400_000, "UTC", "en").unwrap();
        let cases = [
            ("2024-12-30T12:00:00", "2024|2024|24|2024"),
            ("2026-12-31T12:00:00", "2026|2026|26|2026"),
            ("2027-01-01T12:00:00", "2027|2027|27|2027"),
        ];
        check(&p, &cases);
        let p = TimePartitioner::new("'it''s'_D.DDD-M-d-H-mm-ss''", 1000, "UTC", "pt-BR").unwrap();
        check(&p, &[("2026-02-03T04:05:06", "it's_34.034-2-3-4-05-06'")]);
    }

    #[test]
    fn negative_and_extreme_timestamps() {
        let p = hourly("UTC");
        assert_eq!(p.bucket(-1), -3_600_000);
        assert_eq!(p.path(-1), "year=1969/month=12/day=31/hour=23");
        assert!(!p.path(i64::MIN).is_empty());
        assert!(!hourly("Asia/Tokyo").path(i64::MAX).is_empty());
    }

    #[test]
    fn field_and_default_paths() {
        let parts = [("a", Some("x/y=1%z é")), ("b", None), ("c", Some("O-_.~9"))];
        let want = "a=x%2Fy%3D1%25z%20%C3%A9/b=__HIVE_DEFAULT_PARTITION__/c=O-_.~9";
        assert_eq!(field_path(&parts), want);
        assert_eq!(default_path(7), "partition=7");
    }

    #[test]
    fn errors_name_the_key() {
        let err = |f: &str, d: i64, tz: &str, loc: &str| {
            TimePartitioner::new(f, d, tz, loc).unwrap_err().to_string()
        };
        for (format, needle) in [
            ("YYYY/EEE", "`E` at position 5"),
            ("YYYY/MMM", "text month `MMM`"),
            ("'year=YYYY", "unterminated"),
            ("", "empty pattern"),
        ] {
            let e = err(format, 1, "UTC", "en");
            assert!(e.starts_with("path.format:") && e.contains(needle), "{e}");
        }
        assert!(err("HH", 0, "UTC", "en").starts_with("partition.duration.ms:"));
        for tz in ["Mars/Olympus", "+5:30", "+19:00", "-03:60", "+03:0a", ""] {
            assert!(err("HH", 1, tz, "en").starts_with("timezone:"), "{tz}");
        }
        for loc in ["", "EN", "english", "en_us", "en-", "pt_BRA"] {
            assert!(err("HH", 1, "UTC", loc).starts_with("locale:"), "{loc}");
        }
        assert!(TimePartitioner::new("HH", 1, "UTC", "es_419").is_ok());
    }

    #[test]
    fn cached_buckets_match_uncached_local_time() {
        fn assert_send<T: Send>() {}
        assert_send::<TimePartitioner>();
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move |bound: i64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % bound as u64) as i64
        };
        let (lo, hi) = (utc("2000-01-01T00:00:00"), utc("2040-01-01T00:00:00"));
        let mut stamps: Vec<i64> = (0..3000).map(|_| lo + next(hi - lo)).collect();
        for (start, end, max_step) in [
            ("2026-01-01T00:00:00", "2027-01-01T00:00:00", 2_400_000),
            ("1916-05-21T00:00:00", "1916-05-21T05:00:00", 120_000),
        ] {
            let mut ts = utc(start);
            while ts < utc(end) {
                stamps.push(ts);
                ts += next(max_step);
            }
        }
        let zones = "America/New_York America/Sao_Paulo Europe/Berlin Europe/Dublin";
        for name in zones
            .split(' ')
            .chain(["Australia/Lord_Howe", "Asia/Kathmandu"])
        {
            let tz: Tz = name.parse().unwrap();
            for d in [900_000, 3_600_000, 86_400_000] {
                let p = TimePartitioner::new(HOURLY_FORMAT, d, name, "en").unwrap();
                for &ts in &stamps {
                    let local = tz.timestamp_millis_opt(ts).unwrap().naive_local();
                    let local_ms = local.and_utc().timestamp_millis();
                    let b = p.bucket(ts);
                    assert!(b <= local_ms && local_ms < b + d, "{name} {ts}");
                    let uncached = TimePartitioner::new(HOURLY_FORMAT, d, name, "en").unwrap();
                    assert_eq!(p.path(ts), uncached.path(ts), "{name} {ts}");
                    if d == 3_600_000 {
                        let want = local.format("year=%Y/month=%m/day=%d/hour=%H").to_string();
                        assert_eq!(p.path(ts), want, "{name} {ts}");
                    }
                }
            }
        }
    }
}
