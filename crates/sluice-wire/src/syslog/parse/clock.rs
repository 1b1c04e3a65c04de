//! Syslog timestamps to epoch millis, as Flume reads them: RFC 5424's ISO form, RFC 3164's
//! `MMM d HH:mm:ss` with the year found from now, both read leniently and in the clock's zone
//! when they carry none; the clock keeps the last stamp it read.

use std::cell::RefCell;

use chrono::{DateTime, Duration, FixedOffset, Local, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// The clock and zone timestamps are read against, with the last timestamp it read: the
/// lines of one batch mostly share their second, and reading an RFC 3164 stamp (its year
/// found from now, its local time resolved in the zone three times) was a tenth of a syslog
/// source's instructions per line.
#[derive(Clone, Debug)]
pub struct Clock {
    /// Now (RFC 3164 timestamps get the year that puts them within 11 months before and one
    /// month after now, as in Flume).
    pub now: DateTime<Utc>,
    /// Zone of timestamps without one; `None` = the host's local zone (as Flume).
    pub zone: Option<FixedOffset>,
    /// The last stamp read (its text, whether RFC 3164) and what it gave.
    last: RefCell<(String, bool, Option<i64>)>,
}

impl Clock {
    /// The real clock in the local zone.
    pub fn system() -> Clock {
        Clock::at(Utc::now(), None)
    }

    /// A clock stopped at `now`, reading stamps without a zone in `zone` (`None`: the host's).
    pub fn at(now: DateTime<Utc>, zone: Option<FixedOffset>) -> Clock {
        Clock {
            now,
            zone,
            last: RefCell::new((String::new(), false, None)),
        }
    }

    /// Epoch millis of stamp `s` (RFC 3164's form when `rfc3164`, else RFC 5424's), from the
    /// last stamp's when it is the same text.
    pub(super) fn millis(&self, s: &str, rfc3164: bool) -> Option<i64> {
        if let Ok(last) = self.last.try_borrow() {
            if last.1 == rfc3164 && last.0 == s && !s.is_empty() {
                return last.2;
            }
        }
        let ms = if rfc3164 {
            rfc3164_millis(s, self)
        } else {
            rfc5424_millis(s, self)
        };
        if let Ok(mut last) = self.last.try_borrow_mut() {
            last.0.clear();
            last.0.push_str(s);
            last.1 = rfc3164;
            last.2 = ms;
        }
        ms
    }

    fn local_millis(&self, t: NaiveDateTime) -> i64 {
        let resolve = |t: NaiveDateTime| -> Option<i64> {
            match self.zone {
                Some(z) => z
                    .from_local_datetime(&t)
                    .earliest()
                    .map(|d| d.timestamp_millis()),
                None => Local
                    .from_local_datetime(&t)
                    .earliest()
                    .map(|d| d.timestamp_millis()),
            }
        };
        // A local time skipped by a DST change is read an hour later, as Java's lenient calendar does.
        resolve(t)
            .or_else(|| resolve(t + Duration::hours(1)))
            .unwrap_or_else(|| t.and_utc().timestamp_millis())
    }
}

fn num(s: &str, range: std::ops::Range<usize>) -> Option<i64> {
    s.get(range)?.parse().ok()
}

/// A calendar time read leniently, as Java's `SimpleDateFormat` does (day 32 is the 1st of the
/// next month).
fn lenient(year: i64, month: i64, day: i64, h: i64, m: i64, s: i64) -> Option<NaiveDateTime> {
    let months = year * 12 + (month - 1);
    let (y, mo) = (months.div_euclid(12), months.rem_euclid(12) + 1);
    let base = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, u32::try_from(mo).ok()?, 1)?;
    let t = base.and_hms_opt(0, 0, 0)?
        + Duration::days(day - 1)
        + Duration::hours(h)
        + Duration::minutes(m)
        + Duration::seconds(s);
    Some(t)
}

/// `yyyy-MM-ddTHH:mm:ss[.f{1,6}][Z|+hh:mm]` to epoch millis; no zone = the clock's zone.
fn rfc5424_millis(s: &str, clock: &Clock) -> Option<i64> {
    let t = lenient(
        num(s, 0..4)?,
        num(s, 5..7)?,
        num(s, 8..10)?,
        num(s, 11..13)?,
        num(s, 14..16)?,
        num(s, 17..19)?,
    )?;
    let mut rest = s.get(19..)?;
    let mut millis = 0i64;
    if let Some(f) = rest.strip_prefix('.') {
        let n = f.bytes().take_while(u8::is_ascii_digit).count();
        let digits = f.get(..n)?;
        let ms3: String = digits.chars().chain("000".chars()).take(3).collect();
        millis = ms3.parse().ok()?;
        rest = f.get(n..)?;
    }
    let t = t + Duration::milliseconds(millis);
    let offset_secs = match rest {
        "" => return Some(clock.local_millis(t)),
        "Z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            sign * (num(z, 1..3)? * 3600 + num(z, 4..6)? * 60)
        }
    };
    Some(t.and_utc().timestamp_millis() - offset_secs * 1000)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `MMM d HH:mm:ss` in the clock's zone, with the year that puts it no more than a month
/// ahead of now and no more than eleven months behind (Flume's rolling window).
fn rfc3164_millis(s: &str, clock: &Clock) -> Option<i64> {
    let mut parts = s.split_ascii_whitespace();
    let month = parts.next()?;
    let day: i64 = parts.next()?.parse().ok()?;
    let hms = parts.next()?;
    let mo = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month))? as i64 + 1;
    let (h, m, sec) = (num(hms, 0..2)?, num(hms, 3..5)?, num(hms, 6..8)?);
    let year = i64::from(chrono::Datelike::year(&clock.now));
    let at = |y: i64| lenient(y, mo, day, h, m, sec).map(|t| clock.local_millis(t));
    let now = clock.now.timestamp_millis();
    let parsed = at(year)?;
    let minus_one_month = lenient(year, mo - 1, day, h, m, sec).map(|t| clock.local_millis(t))?;
    let plus_eleven = lenient(year, mo + 11, day, h, m, sec).map(|t| clock.local_millis(t))?;
    if parsed > now && minus_one_month > now {
        at(year - 1)
    } else if parsed < now && plus_eleven < now {
        at(year + 1)
    } else {
        Some(parsed)
    }
}
