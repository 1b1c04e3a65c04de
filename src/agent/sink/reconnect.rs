//! Reconnecting with a capped backoff, for the sinks that hold a connection of their own
//! (the avro sink; the kafka sink's client reconnects inside librdkafka): after a failure no
//! attempt starts before the backoff ran out, and a success starts the backoff over.

use std::time::Duration;

use tokio::time::Instant;

use crate::agent::backoff::Backoff;

/// When the next connection attempt may start.
#[derive(Clone, Debug)]
pub(crate) struct Reconnect {
    backoff: Backoff,
    next_attempt: Option<Instant>,
}

impl Reconnect {
    /// No attempt waits until the first failure; then `backoff` sets the waits.
    pub(crate) fn new(backoff: Backoff) -> Self {
        Reconnect {
            backoff,
            next_attempt: None,
        }
    }

    /// How long until the next attempt may start, or `None` when it may start at `now`.
    pub(crate) fn wait_left(&self, now: Instant) -> Option<Duration> {
        self.next_attempt
            .filter(|at| *at > now)
            .map(|at| at.duration_since(now))
    }

    /// An attempt failed (or the connection broke) at `now`: the next one waits one step
    /// longer. Returns that wait.
    pub(crate) fn failed(&mut self, now: Instant) -> Duration {
        let wait = self.backoff.failed();
        self.next_attempt = Some(now + wait);
        wait
    }

    /// Connected: the next failure starts the backoff over.
    pub(crate) fn connected(&mut self) {
        self.backoff.reset();
        self.next_attempt = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_attempt_starts_before_the_backoff_ran_out_and_a_success_starts_it_over() {
        let step = Duration::from_millis(250);
        let mut r = Reconnect::new(Backoff::doubling(step, Duration::from_secs(1)));
        let t0 = Instant::now();
        assert_eq!(r.wait_left(t0), None);
        assert_eq!(r.failed(t0), step);
        assert_eq!(r.wait_left(t0), Some(step));
        assert_eq!(r.wait_left(t0 + step), None);
        assert_eq!(r.failed(t0 + step), 2 * step);
        r.connected();
        assert_eq!(r.wait_left(t0 + step), None);
        assert_eq!(r.failed(t0 + step), step);
    }
}
