//! Durations written with a unit (`500ms`, `60s`, `3m`, `2h`, `7d`; a bare number is seconds),
//! for Sluice's own keys (alarms, `clientGoneAfter`). Flume's keys keep their numeric units.

use std::time::Duration;

/// Longest duration accepted anywhere (a year): a typo of a unit cannot mean "forever".
pub(crate) const DURATION_MAX: Duration = Duration::from_secs(366 * 24 * 3600);

/// A duration that cannot be read; it says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DurationError {
    /// Not a number with a known unit.
    #[error("expected a duration such as 500ms, 60s, 3m, 2h or 7d, got {0:?}")]
    Malformed(String),
    /// Longer than [`DURATION_MAX`].
    #[error("{0:?} is longer than the longest duration allowed (366d)")]
    TooLong(String),
}

/// Parses `text`; the error says what was expected.
pub(crate) fn parse(text: &str) -> Result<Duration, DurationError> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || DurationError::Malformed(text.to_owned());
    let n: u64 = num.parse().map_err(|_| bad())?;
    let unit_ms: u64 = match unit.trim() {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    let d = n
        .checked_mul(unit_ms)
        .map(Duration::from_millis)
        .filter(|d| *d <= DURATION_MAX)
        .ok_or_else(|| DurationError::TooLong(text.to_owned()))?;
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_every_unit_and_refuse_garbage() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("3m"), Ok(Duration::from_secs(180)));
        assert_eq!(parse("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert!(parse("3 weeks").is_err());
        assert!(parse("-1s").is_err());
        assert!(parse("m").is_err());
        assert_eq!(parse("400d"), Err(DurationError::TooLong("400d".into())));
        assert!(parse("99999999999999999999d").is_err());
    }
}
