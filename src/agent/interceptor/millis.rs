//! The `regex_extractor` millis serializer: parses a captured date with a Joda-Time pattern
//! (`serializers.<s>.pattern`) and yields epoch milliseconds. Joda patterns are translated once
//! into chrono's strftime syntax; fields the pattern lacks default as in Joda (1970-01-01,
//! 00:00:00.000), and a time without a zone is read in the local time zone, as Flume does.
//!
//! chrono is used (not `time`) because `time` cannot read the local UTC offset once a program
//! has more than one thread, and the agent always has several.

use chrono::format::{parse, Parsed, StrftimeItems};
use chrono::{Local, TimeZone};

use crate::agent::config::joda;

/// A compiled date pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MillisPattern {
    strftime: String,
}

impl MillisPattern {
    /// Translates a Joda-Time pattern; the error names the unsupported part.
    pub(crate) fn new(joda: &str) -> Result<Self, joda::JodaError> {
        let strftime = joda::to_strftime(joda)?;
        let bad =
            StrftimeItems::new(&strftime).any(|item| matches!(item, chrono::format::Item::Error));
        if bad {
            return Err(joda::JodaError::Untranslatable(joda.to_owned()));
        }
        Ok(MillisPattern { strftime })
    }

    /// Epoch milliseconds of `value`, or `None` if it does not fit the pattern.
    pub(crate) fn millis(&self, value: &str) -> Option<i64> {
        let mut p = Parsed::new();
        parse(&mut p, value.trim(), StrftimeItems::new(&self.strftime)).ok()?;
        fill_joda_defaults(&mut p)?;
        if p.offset().is_some() {
            return p.to_datetime().ok().map(|d| d.timestamp_millis());
        }
        let naive = p.to_naive_date().ok()?.and_time(p.to_naive_time().ok()?);
        Local
            .from_local_datetime(&naive)
            .earliest()
            .map(|d| d.timestamp_millis())
    }
}

/// Joda's defaults for fields the pattern does not mention.
fn fill_joda_defaults(p: &mut Parsed) -> Option<()> {
    let has_year = p.year().is_some() || p.year_mod_100().is_some() || p.isoyear().is_some();
    if !has_year {
        p.set_year(1970).ok()?;
    }
    if p.month().is_none() && p.ordinal().is_none() {
        p.set_month(1).ok()?;
    }
    if p.day().is_none() && p.ordinal().is_none() {
        p.set_day(1).ok()?;
    }
    match (p.hour_div_12(), p.hour_mod_12()) {
        (None, None) => p.set_hour(0).ok()?,
        (None, Some(_)) => p.set_ampm(false).ok()?,
        _ => {}
    }
    if p.minute().is_none() {
        p.set_minute(0).ok()?;
    }
    if p.second().is_none() {
        p.set_second(0).ok()?;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn local_millis(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, ms: u32) -> i64 {
        let naive = NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_milli_opt(h, mi, s, ms)
            .unwrap();
        Local
            .from_local_datetime(&naive)
            .earliest()
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn a_pattern_with_an_offset_gives_exact_epoch_millis() {
        let p = MillisPattern::new("yyyy-MM-dd'T'HH:mm:ss.SSSZ").unwrap();
        assert_eq!(
            p.millis("2012-10-17T14:34:44.123+0000"),
            Some(1_350_484_484_123)
        );
        assert_eq!(
            p.millis("2012-10-17T16:34:44.123+0200"),
            Some(1_350_484_484_123)
        );
        let p = MillisPattern::new("dd/MMM/yyyy:HH:mm:ss ZZ").unwrap();
        assert_eq!(
            p.millis("17/Oct/2012:14:34:44 +00:00"),
            Some(1_350_484_484_000)
        );
    }

    #[test]
    fn a_pattern_without_a_zone_is_read_in_local_time() {
        let p = MillisPattern::new("yyyy-MM-dd HH:mm").unwrap();
        assert_eq!(
            p.millis("2012-10-17 14:34"),
            Some(local_millis(2012, 10, 17, 14, 34, 0, 0))
        );
    }

    #[test]
    fn missing_fields_default_like_joda() {
        let p = MillisPattern::new("yyyy-MM-dd").unwrap();
        assert_eq!(
            p.millis("2012-10-17"),
            Some(local_millis(2012, 10, 17, 0, 0, 0, 0))
        );
        let p = MillisPattern::new("HH:mm").unwrap();
        assert_eq!(
            p.millis("01:02"),
            Some(local_millis(1970, 1, 1, 1, 2, 0, 0))
        );
        let p = MillisPattern::new("hh:mm a").unwrap();
        assert_eq!(
            p.millis("01:02 PM"),
            Some(local_millis(1970, 1, 1, 13, 2, 0, 0))
        );
    }

    #[test]
    fn text_that_does_not_fit_gives_none() {
        let p = MillisPattern::new("yyyy-MM-dd").unwrap();
        assert_eq!(p.millis("17.10.2012"), None);
        assert_eq!(p.millis("2012-13-01"), None);
    }

    #[test]
    fn unsupported_letters_are_errors() {
        assert_eq!(
            MillisPattern::new("yyyy z"),
            Err(joda::JodaError::Unsupported("z".into()))
        );
        assert!(MillisPattern::new("SS").is_err());
        assert!(MillisPattern::new("'open").is_err());
    }
}
