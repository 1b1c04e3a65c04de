//! The `failover` sink processor as a state machine: sinks are tried by priority (highest
//! first); a sink that fails is parked for a penalty that doubles with each consecutive failure
//! (2 s, 4 s, 8 s, ... capped at `maxpenalty`), and is tried again, ahead of the live sinks, once
//! its penalty has passed. Time is passed in, so every behaviour is testable without sleeping.

use std::time::{Duration, Instant};

use crate::agent::component::{ComponentError, Props};
use crate::agent::config::limits::DURATION_MS_MAX;

/// Flume's default `maxpenalty`, in milliseconds.
pub const DEFAULT_MAX_PENALTY_MS: u64 = 30_000;
/// The penalty unit: the n-th consecutive failure parks a sink for `2^n` of these.
pub const FAILURE_PENALTY_MS: u64 = 1_000;

/// Failover configuration: `priority.<sink>` and `maxpenalty`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailoverConfig {
    /// Sinks with their priorities, in the group's order.
    pub sinks: Vec<(String, i32)>,
    /// Longest penalty of a failed sink.
    pub max_penalty_ms: u64,
}

impl FailoverConfig {
    /// Reads `priority.<sink>` (an integer; a sink without one gets -1, -2, ... in list
    /// order, so earlier sinks go first) and `maxpenalty` (ms, default 30000) from the group's
    /// `processor.*` keys with `processor.` stripped. Priorities must be unique.
    pub(crate) fn from_props(props: &Props, sinks: &[String]) -> Result<Self, ComponentError> {
        if sinks.is_empty() {
            return Err(ComponentError::new(
                "sinks",
                "a failover group needs at least one sink",
            ));
        }
        let max_penalty_ms = match props.get("maxpenalty") {
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n <= DURATION_MS_MAX => n,
                _ => {
                    return Err(ComponentError::new(
                        "maxpenalty",
                        format!("expected milliseconds between 0 and {DURATION_MS_MAX}, got {v:?}"),
                    ))
                }
            },
            None => DEFAULT_MAX_PENALTY_MS,
        };
        let mut next_default = 0i32;
        let mut out: Vec<(String, i32)> = Vec::new();
        for sink in sinks {
            let key = format!("priority.{sink}");
            let priority = match props.get(&key) {
                Some(v) => v.trim().parse::<i32>().map_err(|_| {
                    ComponentError::new(&key, format!("expected an integer, got {v:?}"))
                })?,
                None => {
                    next_default -= 1;
                    next_default
                }
            };
            if let Some((other, _)) = out.iter().find(|(_, p)| *p == priority) {
                return Err(ComponentError::new(
                    key,
                    format!("priority {priority} is already used by sink {other}"),
                ));
            }
            if out.iter().any(|(s, _)| s == sink) {
                return Err(ComponentError::new(
                    "sinks",
                    format!("sink {sink} is listed twice"),
                ));
            }
            out.push((sink.clone(), priority));
        }
        Ok(FailoverConfig {
            sinks: out,
            max_penalty_ms,
        })
    }
}

/// A sink parked after failing.
#[derive(Clone, Debug)]
struct Parked {
    sink: String,
    priority: i32,
    failures: u32,
    retry_at: Instant,
}

/// The failover state: live sinks by priority and parked (failed) sinks with their retry times.
#[derive(Clone, Debug)]
pub struct FailoverPolicy {
    max_penalty: Duration,
    /// Live sinks, highest priority first.
    live: Vec<(String, i32)>,
    parked: Vec<Parked>,
}

impl FailoverPolicy {
    /// Builds from the group's properties (`processor.` stripped) and sink list.
    pub fn from_props(props: &Props, sinks: &[String]) -> Result<Self, ComponentError> {
        FailoverConfig::from_props(props, sinks).map(|c| Self::new(&c))
    }

    /// A policy with every sink live.
    pub(crate) fn new(config: &FailoverConfig) -> Self {
        let mut live = config.sinks.clone();
        live.sort_by_key(|(_, priority)| std::cmp::Reverse(*priority));
        FailoverPolicy {
            max_penalty: Duration::from_millis(config.max_penalty_ms),
            live,
            parked: Vec::new(),
        }
    }

    /// The sinks to try at `now`, in order, until one does not fail: first the parked sinks
    /// whose penalty has passed (earliest retry time first), then the live sinks by priority.
    /// Empty when every sink is parked and still penalised.
    pub fn order(&self, now: Instant) -> Vec<String> {
        let mut due: Vec<&Parked> = self.parked.iter().filter(|p| p.retry_at < now).collect();
        due.sort_by(|a, b| {
            a.retry_at
                .cmp(&b.retry_at)
                .then(b.priority.cmp(&a.priority))
        });
        due.into_iter()
            .map(|p| p.sink.clone())
            .chain(self.live.iter().map(|(s, _)| s.clone()))
            .collect()
    }

    /// The first sink of [`order`](Self::order).
    #[cfg(test)]
    pub(crate) fn next(&self, now: Instant) -> Option<String> {
        self.order(now).into_iter().next()
    }

    /// The active sink: the live sink with the highest priority.
    #[cfg(test)]
    pub(crate) fn active(&self) -> Option<&str> {
        self.live.first().map(|(s, _)| s.as_str())
    }

    /// `sink` failed at `now`. A live sink is parked for 2 s (its first failure); a parked
    /// sink that failed its retry is parked again for twice as long as before.
    pub fn report_failure(&mut self, sink: &str, now: Instant) {
        if let Some(p) = self.parked.iter_mut().find(|p| p.sink == sink) {
            p.failures = p.failures.saturating_add(1);
            p.retry_at = now + penalty(p.failures, self.max_penalty);
        } else if let Some(i) = self.live.iter().position(|(s, _)| s == sink) {
            let (sink, priority) = self.live.remove(i);
            self.parked.push(Parked {
                sink,
                priority,
                failures: 1,
                retry_at: now + penalty(1, self.max_penalty),
            });
        }
    }

    /// `sink` processed a batch (Flume's READY). A parked sink becomes live again, and its
    /// next failure starts the penalty over. A sink that answered BACKOFF (nothing to do) should
    /// not be reported: a parked one stays parked but remains due.
    pub fn report_success(&mut self, sink: &str) {
        if let Some(i) = self.parked.iter().position(|p| p.sink == sink) {
            let p = self.parked.remove(i);
            let at = self.live.partition_point(|(_, prio)| *prio > p.priority);
            self.live.insert(at, (p.sink, p.priority));
        }
    }

    /// When a parked sink may be retried (`None` if it is live or unknown).
    pub fn retry_at(&self, sink: &str) -> Option<Instant> {
        self.parked
            .iter()
            .find(|p| p.sink == sink)
            .map(|p| p.retry_at)
    }
}

/// `min(max, 1 s * 2^failures)`, without Flume's int overflow after 31 failures.
fn penalty(failures: u32, max: Duration) -> Duration {
    let factor = 1u64.checked_shl(failures).unwrap_or(u64::MAX);
    Duration::from_millis(FAILURE_PENALTY_MS.saturating_mul(factor)).min(max)
}

#[cfg(test)]
#[path = "failover_tests.rs"]
mod tests;
