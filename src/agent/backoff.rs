//! Capped backoff: the one rule every retry of the agent follows. A wait grows with each
//! failure, linearly (Flume's pollable sources and sink runner: 1 s more each time, at most
//! 5 s) or doubling (spooldir, the avro sink's reconnects), never past its maximum, and starts
//! over after a success.

use std::time::Duration;

/// How a wait grows after each failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Growth {
    /// By a fixed step.
    Add(Duration),
    /// Twice the last wait.
    Double,
}

/// A capped backoff: the wait before the next attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Backoff {
    first: Duration,
    growth: Growth,
    max: Duration,
    current: Duration,
    /// Whether the first wait is held to `max` too (Flume's spooldir waits its first 250 ms
    /// whatever its `maxBackoff`).
    cap_first: bool,
}

impl Backoff {
    /// `step`, `2 step`, `3 step`, ... at most `max`.
    pub(crate) fn linear(step: Duration, max: Duration) -> Self {
        Backoff {
            first: step,
            growth: Growth::Add(step),
            max,
            current: Duration::ZERO,
            cap_first: true,
        }
    }

    /// `first`, `2 first`, `4 first`, ... at most `max`.
    pub(crate) fn doubling(first: Duration, max: Duration) -> Self {
        Backoff {
            first,
            growth: Growth::Double,
            max,
            current: Duration::ZERO,
            cap_first: true,
        }
    }

    /// The same backoff, whose first wait is `first` even when `max` is shorter.
    pub(crate) fn first_uncapped(mut self) -> Self {
        self.cap_first = false;
        self
    }

    /// The wait after one more failure.
    pub(crate) fn failed(&mut self) -> Duration {
        self.current = if self.current.is_zero() {
            if self.cap_first {
                self.first.min(self.max)
            } else {
                self.first
            }
        } else {
            match self.growth {
                Growth::Add(step) => self.current.saturating_add(step),
                Growth::Double => self.current.saturating_mul(2),
            }
            .min(self.max)
        };
        self.current
    }

    /// The last wait (zero after a success or before any failure).
    #[cfg(test)]
    pub(crate) fn current(&self) -> Duration {
        self.current
    }

    /// Starts over after a success.
    pub(crate) fn reset(&mut self) {
        self.current = Duration::ZERO;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waits(mut b: Backoff, n: usize) -> Vec<u64> {
        (0..n).map(|_| b.failed().as_millis() as u64).collect()
    }

    #[test]
    fn linear_backoff_grows_by_its_step_up_to_its_maximum() {
        let b = Backoff::linear(Duration::from_secs(1), Duration::from_secs(5));
        assert_eq!(waits(b, 7), [1000, 2000, 3000, 4000, 5000, 5000, 5000]);
    }

    #[test]
    fn doubling_backoff_doubles_up_to_its_maximum_and_starts_over_after_a_reset() {
        let mut b = Backoff::doubling(Duration::from_millis(250), Duration::from_secs(2));
        assert_eq!(waits(b.clone(), 6), [250, 500, 1000, 2000, 2000, 2000]);
        b.failed();
        b.failed();
        b.reset();
        assert_eq!(b.current(), Duration::ZERO);
        assert_eq!(b.failed(), Duration::from_millis(250));
    }

    #[test]
    fn a_first_wait_longer_than_the_maximum_is_capped_unless_asked_not_to() {
        let (first, max) = (Duration::from_millis(250), Duration::from_millis(100));
        assert_eq!(waits(Backoff::doubling(first, max), 3), [100, 100, 100]);
        let spooldir = Backoff::doubling(first, max).first_uncapped();
        assert_eq!(waits(spooldir, 3), [250, 100, 100]);
    }
}
