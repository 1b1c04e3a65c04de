//! The one warning about refused connections (a listener at its `maxConnections`), at most
//! one per [`REFUSAL_LOG_INTERVAL`] per listener with the count refused since the last one,
//! so a flood of connections cannot flood the log. Shared by every TCP source.

use std::time::{Duration, Instant};

/// Least time between two "connection refused" log lines of one listener.
pub const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Counts refused connections and says when to log.
#[derive(Debug, Default)]
pub struct RefusalLog {
    last: Option<Instant>,
    since: u64,
}

impl RefusalLog {
    /// Counts one refused connection at `now`; `Some(n)` when a line is due, `n` being the
    /// connections refused since the last line (this one included).
    pub fn refused(&mut self, now: Instant) -> Option<u64> {
        self.since += 1;
        if self
            .last
            .is_some_and(|t| now.saturating_duration_since(t) < REFUSAL_LOG_INTERVAL)
        {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.since))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_carries_the_count_since_the_last() {
        let mut r = RefusalLog::default();
        let t = Instant::now();
        assert_eq!(r.refused(t), Some(1));
        for i in 1..1000u64 {
            assert_eq!(r.refused(t + Duration::from_millis(i)), None);
        }
        assert_eq!(r.refused(t + REFUSAL_LOG_INTERVAL), Some(1000));
        assert_eq!(r.refused(t + REFUSAL_LOG_INTERVAL), None);
    }
}
