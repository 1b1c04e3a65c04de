//! The time side of the `hdfs` sink's path escapes: `hdfs.timeZone` ([`Zone`]), `hdfs.round`
//! ([`round_down`], as Flume's `TimestampRoundDownUtil`), the event's timestamp
//! ([`event_time`]) and the `SimpleDateFormat` field each time escape stands for.

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, TimeZone, Timelike};
use sluice_core::Headers;

use super::EscapeError;

/// `hdfs.roundUnit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoundUnit {
    /// `second`
    Second,
    /// `minute`
    Minute,
    /// `hour`
    Hour,
}

/// `hdfs.round=true` with its value and unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rounding {
    /// `hdfs.roundValue` (1-60, or 1-24 for hours).
    pub value: u32,
    /// `hdfs.roundUnit`.
    pub unit: RoundUnit,
}

/// `hdfs.timeZone`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zone {
    /// The machine's zone (Flume's default).
    Local,
    /// An IANA zone.
    Named(chrono_tz::Tz),
    /// A fixed offset (`GMT+05:30`, `UTC+8`).
    Fixed(FixedOffset),
}

impl Zone {
    /// Parses a Java time-zone id: an IANA name, `UTC`/`GMT`, or `GMT±hh[:mm]`.
    pub fn parse(s: &str) -> Option<Zone> {
        if let Ok(tz) = s.parse::<chrono_tz::Tz>() {
            return Some(Zone::Named(tz));
        }
        let rest = s.strip_prefix("GMT").or_else(|| s.strip_prefix("UTC"))?;
        let (sign, rest) = match rest.as_bytes().first()? {
            b'+' => (1, &rest[1..]),
            b'-' => (-1, &rest[1..]),
            _ => return None,
        };
        let (h, m) = match rest.split_once(':') {
            Some((h, m)) => (h.parse::<i32>().ok()?, m.parse::<i32>().ok()?),
            None if rest.len() > 2 => (
                rest[..rest.len() - 2].parse().ok()?,
                rest[rest.len() - 2..].parse().ok()?,
            ),
            None => (rest.parse::<i32>().ok()?, 0),
        };
        if h > 23 || m > 59 {
            return None;
        }
        FixedOffset::east_opt(sign * (h * 3600 + m * 60)).map(Zone::Fixed)
    }

    pub(super) fn at(&self, ts_ms: i64) -> Option<DateTime<FixedOffset>> {
        let utc = DateTime::from_timestamp_millis(ts_ms)?;
        Some(match self {
            Zone::Local => utc.with_timezone(&chrono::Local).fixed_offset(),
            Zone::Named(tz) => utc.with_timezone(tz).fixed_offset(),
            Zone::Fixed(off) => utc.with_timezone(off),
        })
    }

    fn local_to_ms(&self, naive: NaiveDateTime) -> Option<i64> {
        fn first<T: TimeZone>(r: LocalResult<DateTime<T>>) -> Option<i64> {
            r.earliest().map(|d| d.timestamp_millis())
        }
        match self {
            Zone::Local => first(chrono::Local.from_local_datetime(&naive)),
            Zone::Named(tz) => first(tz.from_local_datetime(&naive)),
            Zone::Fixed(off) => first(off.from_local_datetime(&naive)),
        }
    }
}

/// Rounds `ts_ms` down as Flume's `TimestampRoundDownUtil` does: the unit's field of the
/// wall clock in `zone` down to a multiple of the value, smaller fields zeroed.
pub fn round_down(ts_ms: i64, r: Rounding, zone: Zone) -> i64 {
    let Some(t) = zone.at(ts_ms) else {
        return ts_ms;
    };
    let v = r.value.max(1);
    let n = t.naive_local();
    let rounded = match r.unit {
        RoundUnit::Second => n
            .with_nanosecond(0)
            .and_then(|n| n.with_second(n.second() - n.second() % v)),
        RoundUnit::Minute => n
            .with_nanosecond(0)
            .and_then(|n| n.with_second(0))
            .and_then(|n| n.with_minute(n.minute() - n.minute() % v)),
        RoundUnit::Hour => n
            .with_nanosecond(0)
            .and_then(|n| n.with_second(0))
            .and_then(|n| n.with_minute(0))
            .and_then(|n| n.with_hour(n.hour() - n.hour() % v)),
    };
    rounded.and_then(|n| zone.local_to_ms(n)).unwrap_or(ts_ms)
}

pub(super) fn time_field(c: char, ts: i64, t: &DateTime<FixedOffset>) -> String {
    let f = match c {
        't' => return ts.to_string(),
        's' => return ts.div_euclid(1000).to_string(),
        'a' => "%a",
        'A' => "%A",
        'b' => "%b",
        'B' => "%B",
        'c' => "%a %b %-d %H:%M:%S %Y",
        'd' => "%d",
        'D' => "%m/%d/%y",
        'e' => "%-d",
        'H' => "%H",
        'I' => "%I",
        'j' => "%j",
        'k' => "%-H",
        'l' => "%-I",
        'm' => "%m",
        'M' => "%M",
        'n' => "%-m",
        'p' => "%p",
        'S' => "%S",
        'y' => "%y",
        'Y' => "%Y",
        'z' => "%z",
        _ => return String::new(),
    };
    t.format(f).to_string()
}

/// The event's timestamp in ms: its `timestamp` header, or now with `use_local`.
pub fn event_time(
    headers: &Headers,
    use_local: bool,
    now_ms: i64,
) -> Result<Option<i64>, EscapeError> {
    if use_local {
        return Ok(Some(now_ms));
    }
    match headers.get("timestamp") {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| EscapeError::NoTimestamp("not a number of milliseconds")),
    }
}
