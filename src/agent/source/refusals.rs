//! The rate-limited warnings about connections a source turns away: refused connections (a
//! listener at its `maxConnections`, `ipFilter`), at most one line per
//! [`REFUSAL_LOG_INTERVAL`] per listener, and connections closed for bad input (garbage, the
//! wrong protocol, a failed TLS handshake: [`BAD_INPUT_LINES_PER_INTERVAL`], so a few
//! different mistakes are each named), each line with the count since the last one, so a
//! flood of connections cannot flood the log. Shared by every TCP source.

use std::time::{Duration, Instant};

/// Least time between two "connection refused" log lines of one listener.
pub(crate) const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Lines about connections closed for bad input one source logs per [`REFUSAL_LOG_INTERVAL`].
pub(crate) const BAD_INPUT_LINES_PER_INTERVAL: u32 = 8;

/// Counts refused connections and says when to log: at most `lines_max` lines per
/// [`REFUSAL_LOG_INTERVAL`] (one by default).
#[derive(Debug)]
pub(crate) struct RefusalLog {
    window: Option<Instant>,
    lines: u32,
    lines_max: u32,
    since: u64,
}

impl Default for RefusalLog {
    fn default() -> Self {
        RefusalLog::with_lines(1)
    }
}

impl RefusalLog {
    /// At most `lines_max` (at least 1) lines per [`REFUSAL_LOG_INTERVAL`].
    pub(crate) fn with_lines(lines_max: u32) -> RefusalLog {
        RefusalLog {
            window: None,
            lines: 0,
            lines_max: lines_max.max(1),
            since: 0,
        }
    }

    /// The log of connections closed for bad input: [`BAD_INPUT_LINES_PER_INTERVAL`].
    pub(crate) fn bad_input() -> RefusalLog {
        RefusalLog::with_lines(BAD_INPUT_LINES_PER_INTERVAL)
    }

    /// Counts one refused connection at `now`; `Some(n)` when a line is due, `n` being the
    /// connections refused since the last line (this one included).
    pub(crate) fn refused(&mut self, now: Instant) -> Option<u64> {
        self.since += 1;
        let in_window = self
            .window
            .is_some_and(|t| now.saturating_duration_since(t) < REFUSAL_LOG_INTERVAL);
        if !in_window {
            self.window = Some(now);
            self.lines = 0;
        }
        if self.lines >= self.lines_max {
            return None;
        }
        self.lines += 1;
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

    #[test]
    fn a_bad_input_log_names_a_few_then_counts_the_rest() {
        let mut r = RefusalLog::bad_input();
        let t = Instant::now();
        for _ in 0..BAD_INPUT_LINES_PER_INTERVAL {
            assert_eq!(r.refused(t), Some(1));
        }
        for _ in 0..500 {
            assert_eq!(r.refused(t + Duration::from_secs(1)), None);
        }
        assert_eq!(r.refused(t + REFUSAL_LOG_INTERVAL), Some(501));
        assert_eq!(r.refused(t + REFUSAL_LOG_INTERVAL), Some(1));
    }
}
