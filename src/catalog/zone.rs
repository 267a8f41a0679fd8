//! Time zones as Pinot (Joda) and Kafka Connect accept them: IANA names
//! (`America/Sao_Paulo`), `UTC`/`GMT`/`Z`,
//! and fixed offsets (`+05:30`, `-0800`, `+05`, `UTC+3`, `GMT-03:00`).
//! Converts instants to local wall-clock times and back, which date-time
//! functions and `SIMPLE_DATE_FORMAT` columns do in their zone.

use chrono::{Duration, FixedOffset, LocalResult, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

/// A time zone: UTC, a fixed offset or a named zone with its rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Zone {
    #[default]
    Utc,
    Fixed(FixedOffset),
    Named(Tz),
}

impl Zone {
    /// Parses a zone, or says what was wrong with it.
    pub fn parse(text: &str) -> Result<Zone, String> {
        let trimmed = text.trim();
        if matches!(
            trimmed.to_ascii_uppercase().as_str(),
            "UTC" | "GMT" | "Z" | "UCT" | "ZULU" | "ETC/UTC" | "ETC/GMT" | "ETC/UCT"
        ) {
            return Ok(Zone::Utc);
        }
        if let Some(offset) = fixed_offset(trimmed) {
            return Ok(if offset.local_minus_utc() == 0 {
                Zone::Utc
            } else {
                Zone::Fixed(offset)
            });
        }
        trimmed.parse::<Tz>().map(Zone::Named).map_err(|_| {
            format!(
                "unknown time zone `{trimmed}`; expected an IANA name such as `America/New_York` \
                 or `UTC`, or an offset such as `+05:30`"
            )
        })
    }

    pub fn is_utc(self) -> bool {
        self == Zone::Utc
    }

    /// Seconds the zone is ahead of UTC at the instant `millis`.
    pub fn offset_seconds(self, millis: i64) -> i32 {
        match self {
            Zone::Utc => 0,
            Zone::Fixed(offset) => offset.local_minus_utc(),
            Zone::Named(tz) => match chrono::DateTime::from_timestamp_millis(millis) {
                Some(time) => tz
                    .offset_from_utc_datetime(&time.naive_utc())
                    .fix()
                    .local_minus_utc(),
                None => 0,
            },
        }
    }

    /// The wall-clock time in the zone at the instant `millis`; `None` out
    /// of chrono's range.
    pub fn local(self, millis: i64) -> Option<NaiveDateTime> {
        let utc = chrono::DateTime::from_timestamp_millis(millis)?.naive_utc();
        utc.checked_add_signed(Duration::seconds(i64::from(self.offset_seconds(millis))))
    }

    /// The instant of a wall-clock time in the zone, in epoch millis. A time
    /// skipped by a clock change is moved forward by the change (02:30 on a
    /// spring-forward night is 03:30), and a repeated one is the earlier.
    pub fn instant(self, local: NaiveDateTime) -> Option<i64> {
        let offset = match self {
            Zone::Utc => 0,
            Zone::Fixed(offset) => offset.local_minus_utc(),
            Zone::Named(tz) => match tz.offset_from_local_datetime(&local) {
                LocalResult::Single(offset) | LocalResult::Ambiguous(offset, _) => {
                    offset.fix().local_minus_utc()
                }
                // In a gap: the offset from before it.
                LocalResult::None => tz
                    .offset_from_utc_datetime(&local.checked_sub_signed(Duration::days(1))?)
                    .fix()
                    .local_minus_utc(),
            },
        };
        let utc = local.checked_sub_signed(Duration::seconds(i64::from(offset)))?;
        Some(utc.and_utc().timestamp_millis())
    }
}

/// `+05:30`, `-0800`, `+05`, optionally after `UTC` or `GMT`.
fn fixed_offset(text: &str) -> Option<FixedOffset> {
    let upper = text.to_ascii_uppercase();
    let rest = upper
        .strip_prefix("UTC")
        .or_else(|| upper.strip_prefix("GMT"))
        .unwrap_or(&upper);
    let sign = match rest.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    // `HH:MM`, `HHMM` or `HH`.
    let body = &rest[1..];
    let digits: String = match body.split_once(':') {
        Some((h, m)) if h.len() == 2 && m.len() == 2 => format!("{h}{m}"),
        Some(_) => return None,
        None if body.len() == 2 || body.len() == 4 => body.to_string(),
        None => return None,
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours = digits[..2].parse::<i32>().ok()?;
    let minutes = if digits.len() == 4 {
        digits[2..].parse::<i32>().ok()?
    } else {
        0
    };
    if minutes >= 60 || hours * 60 + minutes > 18 * 60 {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|date| date.and_hms_opt(h, mi, 0))
            .unwrap()
    }

    #[test]
    fn names_offsets_and_errors() {
        assert_eq!(Zone::parse("utc").unwrap(), Zone::Utc);
        assert_eq!(Zone::parse("+00:00").unwrap(), Zone::Utc);
        assert!(matches!(
            Zone::parse("America/New_York").unwrap(),
            Zone::Named(_)
        ));
        for (text, seconds) in [
            ("+05:30", 19_800),
            ("-0800", -28_800),
            ("+05", 18_000),
            ("GMT-03:00", -10_800),
        ] {
            assert_eq!(
                Zone::parse(text).unwrap().offset_seconds(0),
                seconds,
                "{text}"
            );
        }
        for bad in [
            "Mars/Olympus",
            "+25:00",
            "+05:75",
            "",
            "05:00",
            "+5:30",
            "america/new_york",
        ] {
            assert!(
                Zone::parse(bad).unwrap_err().contains("unknown time zone"),
                "{bad}"
            );
        }
    }

    #[test]
    fn local_times_and_back_across_clock_changes() {
        let ny = Zone::parse("America/New_York").unwrap();
        // 2026-03-08 02:30 does not exist in New York: it is 03:30 EDT.
        let skipped = ny.instant(at(2026, 3, 8, 2, 30)).unwrap();
        assert_eq!(ny.local(skipped).unwrap(), at(2026, 3, 8, 3, 30));
        // 2026-11-01 01:30 happens twice: the earlier, EDT (-4).
        let repeated = ny.instant(at(2026, 11, 1, 1, 30)).unwrap();
        assert_eq!(ny.offset_seconds(repeated), -4 * 3600);
        // A winter instant round-trips with -5 hours.
        let noon = at(2026, 1, 15, 12, 0);
        let instant = ny.instant(noon).unwrap();
        assert_eq!(instant, noon.and_utc().timestamp_millis() + 5 * 3_600_000);
        assert_eq!(ny.local(instant).unwrap(), noon);
    }
}
