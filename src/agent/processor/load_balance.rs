//! The `load_balance` sink processor as a state machine: each call gives an order over the
//! sinks (round robin or random) and the caller tries them in turn until one succeeds. Round
//! robin moves on when a sink delivers a batch ([`LoadBalancePolicy::report_success`]), not on
//! each call: the empty polls between light traffic's lines would otherwise step the rotation
//! as often as the deliveries do and hand every line to the same sink. With
//! `backoff`, a failed sink leaves the rotation for `min(selector.maxTimeOut, 1 s * 2^n)` after
//! its n-th consecutive failure (n counts up to 16; a failure more than an hour after the last
//! backoff ended starts again at 1), as in Flume's `OrderSelector`.

use std::time::{Duration, Instant};

use crate::agent::component::{ComponentError, Props};
use crate::agent::config::limits::DURATION_MS_MAX;

/// Flume's default `selector.maxTimeOut`, in milliseconds.
pub const DEFAULT_MAX_TIMEOUT_MS: u64 = 30_000;
/// Most consecutive failures counted (Flume's `EXP_BACKOFF_COUNTER_LIMIT`).
pub const BACKOFF_COUNTER_LIMIT: u32 = 16;
/// A failure within this long after the previous backoff ended counts as consecutive.
pub const CONSIDER_SEQUENTIAL: Duration = Duration::from_secs(3600);

/// How the order is picked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    /// Start after the sink that delivered the last batch.
    RoundRobin,
    /// A fresh random permutation on each call.
    Random,
}

/// Load-balance configuration: `selector`, `backoff`, `selector.maxTimeOut`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadBalanceConfig {
    /// The group's sinks, in order.
    pub sinks: Vec<String>,
    /// `selector`: round_robin (default) or random.
    pub selection: Selection,
    /// `backoff`: take failed sinks out of the rotation (default false).
    pub backoff: bool,
    /// `selector.maxTimeOut`: the longest backoff (default 30000; 0 means the default).
    pub max_timeout_ms: u64,
}

impl LoadBalanceConfig {
    /// Reads the group's `processor.*` keys with `processor.` stripped. Needs two or more sinks.
    pub(crate) fn from_props(props: &Props, sinks: &[String]) -> Result<Self, ComponentError> {
        if sinks.len() < 2 {
            return Err(ComponentError::new(
                "sinks",
                "a load_balance group needs more than one sink",
            ));
        }
        if let Some(dup) = sinks
            .iter()
            .enumerate()
            .find(|(i, s)| sinks[..*i].contains(s))
        {
            return Err(ComponentError::new(
                "sinks",
                format!("sink {} is listed twice", dup.1),
            ));
        }
        let selection = match props.get("selector").map(|s| s.trim()) {
            None => Selection::RoundRobin,
            Some(s) if s.eq_ignore_ascii_case("round_robin") => Selection::RoundRobin,
            Some(s) if s.eq_ignore_ascii_case("random") => Selection::Random,
            Some(s) => {
                return Err(ComponentError::new(
                    "selector",
                    format!("unknown sink selector {s:?}; supported: round_robin, random"),
                ))
            }
        };
        let backoff = match props.get("backoff").map(|s| s.trim()) {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                return Err(ComponentError::new(
                    "backoff",
                    format!("expected true or false, got {v:?}"),
                ))
            }
        };
        let max_timeout_ms = match props.get("selector.maxTimeOut") {
            None => DEFAULT_MAX_TIMEOUT_MS,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(0) => DEFAULT_MAX_TIMEOUT_MS,
                Ok(n) if n <= DURATION_MS_MAX => n,
                _ => {
                    return Err(ComponentError::new(
                        "selector.maxTimeOut",
                        format!("expected milliseconds between 0 and {DURATION_MS_MAX}, got {v:?}"),
                    ))
                }
            },
        };
        Ok(LoadBalanceConfig {
            sinks: sinks.to_vec(),
            selection,
            backoff,
            max_timeout_ms,
        })
    }
}

/// Failure history of one sink.
#[derive(Clone, Copy, Debug, Default)]
struct FailureState {
    last_fail: Option<Instant>,
    restore_at: Option<Instant>,
    failures: u32,
}

/// The load-balance state.
#[derive(Clone, Debug)]
pub struct LoadBalancePolicy {
    config: LoadBalanceConfig,
    max_timeout: Duration,
    states: Vec<FailureState>,
    /// Index in `config.sinks` of the sink that delivered last (round robin starts after it).
    last_delivered: Option<usize>,
    rng: fastrand::Rng,
}

impl LoadBalancePolicy {
    /// Builds from the group's properties (`processor.` stripped) and sink list.
    pub fn from_props(props: &Props, sinks: &[String]) -> Result<Self, ComponentError> {
        LoadBalanceConfig::from_props(props, sinks).map(|c| Self::new(&c))
    }

    /// A policy with no failures yet, and a randomly seeded generator.
    pub(crate) fn new(config: &LoadBalanceConfig) -> Self {
        LoadBalancePolicy {
            config: config.clone(),
            max_timeout: Duration::from_millis(config.max_timeout_ms),
            states: vec![FailureState::default(); config.sinks.len()],
            last_delivered: None,
            rng: fastrand::Rng::new(),
        }
    }

    /// The same policy with a seeded generator, so a random order can be reproduced.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.rng = fastrand::Rng::with_seed(seed);
        self
    }

    /// The sinks to try at `now`, in order, until one succeeds. With backoff, sinks still
    /// backing off are left out (the list is empty if all are).
    pub fn order(&mut self, now: Instant) -> Vec<String> {
        let backoff = self.config.backoff;
        let mut active: Vec<(usize, &String)> = self
            .config
            .sinks
            .iter()
            .enumerate()
            .zip(&self.states)
            .filter(|(_, st)| !backoff || st.restore_at.is_none_or(|r| r < now))
            .map(|(sink, _)| sink)
            .collect();
        match self.config.selection {
            Selection::RoundRobin => {
                // The first active sink after the one that delivered last, wrapping around.
                let begin = self.last_delivered.map_or(0, |last| {
                    active.iter().position(|(i, _)| *i > last).unwrap_or(0)
                });
                active.rotate_left(begin);
            }
            Selection::Random => self.rng.shuffle(&mut active),
        }
        active.into_iter().map(|(_, sink)| sink.clone()).collect()
    }

    /// `sink` failed at `now`. Without backoff this changes nothing.
    pub fn report_failure(&mut self, sink: &str, now: Instant) {
        if !self.config.backoff {
            return;
        }
        let max = self.max_timeout;
        let Some(state) = self.state_mut(sink) else {
            return;
        };
        let consecutive = state.last_fail.is_some_and(|last| {
            let last_backoff = backoff(state.failures, max);
            now.saturating_duration_since(last) < last_backoff + CONSIDER_SEQUENTIAL
        });
        state.failures = if consecutive {
            (state.failures + 1).min(BACKOFF_COUNTER_LIMIT)
        } else {
            1
        };
        state.last_fail = Some(now);
        state.restore_at = Some(now + backoff(state.failures, max));
    }

    /// `sink` delivered a batch: round robin starts after it next time. As in Flume this does
    /// not reset its failure count: only a failure more than an hour after the last backoff
    /// ended starts the count over.
    pub(crate) fn report_success(&mut self, sink: &str) {
        if let Some(i) = self.config.sinks.iter().position(|s| s == sink) {
            self.last_delivered = Some(i);
        }
    }

    /// When a backed-off sink rejoins the rotation (`None` if it never failed, or unknown).
    pub fn restore_at(&self, sink: &str) -> Option<Instant> {
        let i = self.config.sinks.iter().position(|s| s == sink)?;
        self.states.get(i)?.restore_at
    }

    fn state_mut(&mut self, sink: &str) -> Option<&mut FailureState> {
        let i = self.config.sinks.iter().position(|s| s == sink)?;
        self.states.get_mut(i)
    }
}

/// `min(max, 1 s * 2^failures)`.
fn backoff(failures: u32, max: Duration) -> Duration {
    let factor = 1u64.checked_shl(failures).unwrap_or(u64::MAX);
    Duration::from_millis(1000u64.saturating_mul(factor)).min(max)
}

#[cfg(test)]
#[path = "load_balance_tests.rs"]
mod tests;
