//! The runtimes' RFC 3339 times to ms since the epoch, fast. Pure.
//!
//! containerd, CRI-O and Docker write every line's time the same way
//! (`2024-01-02T03:04:05.123456789Z`, or with a `+hh:mm` offset), and parsing it is a
//! measurable part of a line's cost. The fields are read at their fixed places here; anything
//! else (a lowercase `t`, a leap second, an odd offset) goes to chrono's parser, which has the
//! last word: the proptest below holds the two to the same answer.

/// `s` (RFC 3339, any fraction of a second) as ms since the epoch, the fraction truncated.
pub(crate) fn ms(s: &[u8]) -> Option<i64> {
    fixed(s).or_else(|| {
        let s = std::str::from_utf8(s).ok()?;
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis())
    })
}

fn digit(s: &[u8], i: usize) -> Option<i64> {
    let c = *s.get(i)?;
    c.is_ascii_digit().then(|| i64::from(c - b'0'))
}

fn two(s: &[u8], i: usize) -> Option<i64> {
    Some(digit(s, i)? * 10 + digit(s, i + 1)?)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the civil date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The common shape only, `None` for anything chrono should judge.
fn fixed(s: &[u8]) -> Option<i64> {
    let sep = |i: usize, c: u8| (s.get(i) == Some(&c)).then_some(());
    let year = two(s, 0)? * 100 + two(s, 2)?;
    sep(4, b'-')?;
    let month = two(s, 5)?;
    sep(7, b'-')?;
    let day = two(s, 8)?;
    sep(10, b'T')?;
    let hour = two(s, 11)?;
    sep(13, b':')?;
    let min = two(s, 14)?;
    sep(16, b':')?;
    let sec = two(s, 17)?;
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour <= 23
        && min <= 59
        && sec <= 59;
    if !valid {
        return None;
    }
    let (frac_ms, mut i) = fraction(s, 19)?;
    let offset = match *s.get(i)? {
        b'Z' => {
            i += 1;
            0
        }
        sign @ (b'+' | b'-') => {
            let (oh, om) = (two(s, i + 1)?, two(s, i + 4)?);
            sep(i + 3, b':')?;
            if oh > 23 || om > 59 {
                return None;
            }
            i += 6;
            let o = oh * 3600 + om * 60;
            if sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    if i != s.len() {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec - offset;
    Some(secs * 1000 + frac_ms)
}

/// The optional `.d+` at `i`: its first three digits as ms, and where it ends.
fn fraction(s: &[u8], i: usize) -> Option<(i64, usize)> {
    if s.get(i) != Some(&b'.') {
        return Some((0, i));
    }
    let start = i + 1;
    let mut end = start;
    let mut ms = 0;
    while let Some(d) = digit(s, end) {
        if end - start < 3 {
            ms = ms * 10 + d;
        }
        end += 1;
    }
    if end == start {
        return None;
    }
    for _ in (end - start)..3 {
        ms *= 10;
    }
    Some((ms, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chrono_ms(s: &str) -> Option<i64> {
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis())
    }

    #[test]
    fn the_runtimes_times_are_read_at_their_places() {
        let cases = [
            "2024-01-02T03:04:05.123456789Z",
            "2024-01-02T03:04:05Z",
            "2024-02-29T23:59:59.9+05:30",
            "1969-12-31T23:59:59.999-00:01",
            "2024-01-02t03:04:05Z",
            "2016-12-31T23:59:60Z",
        ];
        for c in cases {
            assert_eq!(ms(c.as_bytes()), chrono_ms(c), "{c}");
        }
        assert_eq!(
            fixed(b"2024-01-02T03:04:05.123456789Z"),
            Some(1_704_164_645_123)
        );
        assert_eq!(fixed(b"2023-02-29T00:00:00Z"), None);
        assert_eq!(ms(b"2023-02-29T00:00:00Z"), None);
        assert_eq!(ms(b"2024-01-02T03:04:05.Z"), None);
        assert_eq!(ms(b"2024-01-02T03:04:05Zx"), None);
    }

    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u32..100).prop_map(|n| format!("{n:02}")),
            (0u32..10).prop_map(|n| n.to_string()),
            Just(String::new()),
            "[-T:.Zz+ 0-9]{1,3}",
        ]
    }

    proptest! {
        #[test]
        fn fixed_places_and_chrono_agree(
            y in 1900u32..2200, mo in piece(), d in piece(), h in piece(), mi in piece(),
            s in piece(), frac in "(\\.[0-9]{0,10})?", off in "(Z|z|[+-][0-9]{2}:[0-9]{2}|[+-][0-9]{1,3}|)",
            t in "[Tt ]",
        ) {
            let text = format!("{y:04}-{mo}-{d}{t}{h}:{mi}:{s}{frac}{off}");
            prop_assert_eq!(ms(text.as_bytes()), chrono_ms(&text), "{}", text);
        }

        #[test]
        fn valid_times_agree_to_the_ms(
            secs in -2_208_988_800i64..7_258_118_400, nanos in 0u32..1_000_000_000,
            off_min in -1439i32..1440, digits in 0usize..10,
        ) {
            let off = chrono::FixedOffset::east_opt(off_min * 60).unwrap();
            let t = chrono::DateTime::from_timestamp(secs, nanos).unwrap().with_timezone(&off);
            let mut text = t.format("%Y-%m-%dT%H:%M:%S").to_string();
            if digits > 0 {
                let f = format!("{nanos:09}");
                text.push('.');
                text.push_str(&f[..digits.min(9)]);
            }
            text.push_str(&if off_min == 0 { "Z".to_owned() } else { t.format("%:z").to_string() });
            prop_assert_eq!(fixed(text.as_bytes()), chrono_ms(&text), "{}", text);
        }
    }
}
