//! The state of one alarm rule as a pure function of samples and a clock: `observe(now,
//! value)` returns a transition at most once per change. Raised once after the trigger held
//! for `for`; cleared once when the clear condition holds (the `clearBelow`/`clearAbove`
//! hysteresis, or the trigger no longer holding when none is set); a missing sample changes
//! nothing. With `rate`, the counter's increase over a sliding window is watched instead, per
//! minute.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::agent::alarm::config::{AlarmRule, Trigger};

/// Most samples a rate window keeps (older ones are thinned: one per window/this).
pub(crate) const RATE_SAMPLES_MAX: usize = 4096;

/// What an observation changed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Transition {
    /// The alarm is raised, with the value that held.
    Raised(f64),
    /// The alarm is cleared, with the value that cleared it.
    Cleared(f64),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Idle,
    Pending { since: Instant },
    Raised,
}

/// One rule and where it stands.
#[derive(Clone, Debug)]
pub(crate) struct RuleState {
    rule: AlarmRule,
    phase: Phase,
    window: Option<RateWindow>,
}

impl RuleState {
    /// A rule not raised.
    pub(crate) fn new(rule: AlarmRule) -> Self {
        let window = rule.rate.map(RateWindow::new);
        RuleState {
            rule,
            phase: Phase::Idle,
            window,
        }
    }

    /// The rule.
    pub(crate) fn rule(&self) -> &AlarmRule {
        &self.rule
    }

    /// Whether the alarm is raised.
    pub(crate) fn raised(&self) -> bool {
        self.phase == Phase::Raised
    }

    /// Feeds one sample of the metric (`None`: the metric is not there now).
    pub(crate) fn observe(&mut self, now: Instant, sample: Option<f64>) -> Option<Transition> {
        let raw = sample.filter(|v| v.is_finite())?;
        let v = match &mut self.window {
            Some(w) => w.push(now, raw),
            None => raw,
        };
        let triggered = match self.rule.trigger {
            Trigger::Above(x) => v > x,
            Trigger::Below(x) => v < x,
        };
        let clears = match (self.rule.trigger, self.rule.clear) {
            (Trigger::Above(_), Some(c)) => v < c,
            (Trigger::Below(_), Some(c)) => v > c,
            _ => !triggered,
        };
        match self.phase {
            Phase::Raised => {
                if clears {
                    self.phase = Phase::Idle;
                    return Some(Transition::Cleared(v));
                }
                None
            }
            Phase::Idle | Phase::Pending { .. } if !triggered => {
                self.phase = Phase::Idle;
                None
            }
            Phase::Idle => {
                if self.rule.hold.is_zero() {
                    self.phase = Phase::Raised;
                    return Some(Transition::Raised(v));
                }
                self.phase = Phase::Pending { since: now };
                None
            }
            Phase::Pending { since } => {
                if now.saturating_duration_since(since) >= self.rule.hold {
                    self.phase = Phase::Raised;
                    return Some(Transition::Raised(v));
                }
                None
            }
        }
    }
}

/// A counter's increase over the last `window`, per minute. A counter that goes down (its
/// component restarted) starts the window again.
#[derive(Clone, Debug)]
pub(crate) struct RateWindow {
    window: Duration,
    samples: VecDeque<(Instant, f64)>,
}

impl RateWindow {
    /// An empty window.
    pub(crate) fn new(window: Duration) -> Self {
        RateWindow {
            window: window.max(Duration::from_millis(1)),
            samples: VecDeque::new(),
        }
    }

    /// Adds a sample; the rate per minute over the window. Until the window has filled, the
    /// increase so far is still divided by the whole window (a young window never overstates).
    pub(crate) fn push(&mut self, now: Instant, v: f64) -> f64 {
        if self.samples.back().is_some_and(|(_, last)| v < *last) {
            self.samples.clear();
        }
        let spacing = self.window / RATE_SAMPLES_MAX as u32;
        let thin = self.samples.len() >= 2
            && self
                .samples
                .iter()
                .nth_back(1)
                .is_some_and(|(t, _)| now.saturating_duration_since(*t) < spacing);
        if thin {
            // Replace the newest sample instead of growing past the maximum.
            self.samples.pop_back();
        }
        self.samples.push_back((now, v));
        // Keep one sample at or before the window's start as the baseline.
        while self.samples.len() >= 2
            && self
                .samples
                .get(1)
                .is_some_and(|(t, _)| now.saturating_duration_since(*t) >= self.window)
        {
            self.samples.pop_front();
        }
        let base = self.samples.front().map(|(_, b)| *b).unwrap_or(v);
        (v - base) * 60.0 / self.window.as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::alarm::config::AlarmSeverity;

    fn rule(trigger: Trigger, clear: Option<f64>, hold_s: u64, rate: Option<u64>) -> AlarmRule {
        AlarmRule {
            name: "fill".into(),
            component: "CHANNEL.c1".into(),
            key: "ChannelFillPercentage".into(),
            trigger,
            clear,
            hold: Duration::from_secs(hold_s),
            rate: rate.map(Duration::from_secs),
            notifiers: None,
            severity: AlarmSeverity::Warn,
            message: "m".into(),
        }
    }

    /// Feeds one sample a second from `t0` and returns every transition with its second.
    fn run(s: &mut RuleState, t0: Instant, values: &[f64]) -> Vec<(usize, Transition)> {
        values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                s.observe(t0 + Duration::from_secs(i as u64), Some(*v))
                    .map(|t| (i, t))
            })
            .collect()
    }

    #[test]
    fn an_alarm_is_raised_only_after_the_condition_held_for_its_duration() {
        let mut s = RuleState::new(rule(Trigger::Above(80.0), Some(60.0), 3, None));
        let t = run(
            &mut s,
            Instant::now(),
            &[10.0, 90.0, 90.0, 90.0, 95.0, 99.0],
        );
        assert_eq!(t, vec![(4, Transition::Raised(95.0))]);
        assert!(s.raised());
    }

    #[test]
    fn a_condition_that_breaks_before_its_duration_starts_over() {
        let mut s = RuleState::new(rule(Trigger::Above(80.0), None, 2, None));
        let t = run(
            &mut s,
            Instant::now(),
            &[90.0, 90.0, 50.0, 90.0, 90.0, 90.0],
        );
        assert_eq!(t, vec![(5, Transition::Raised(90.0))]);
    }

    #[test]
    fn hysteresis_keeps_an_alarm_from_flapping_around_its_threshold() {
        let mut s = RuleState::new(rule(Trigger::Above(80.0), Some(60.0), 0, None));
        let values = [81.0, 79.0, 81.0, 70.0, 85.0, 61.0, 59.0, 81.0, 79.0, 81.0];
        let t = run(&mut s, Instant::now(), &values);
        assert_eq!(
            t,
            vec![
                (0, Transition::Raised(81.0)),
                (6, Transition::Cleared(59.0)),
                (7, Transition::Raised(81.0)),
            ]
        );
    }

    #[test]
    fn without_a_clear_threshold_an_alarm_clears_when_its_condition_stops() {
        let mut s = RuleState::new(rule(Trigger::Below(10.0), None, 0, None));
        let t = run(&mut s, Instant::now(), &[20.0, 5.0, 5.0, 10.0, 10.0]);
        assert_eq!(
            t,
            vec![(1, Transition::Raised(5.0)), (3, Transition::Cleared(10.0))]
        );
    }

    #[test]
    fn a_below_alarm_clears_above_its_clear_threshold() {
        let mut s = RuleState::new(rule(Trigger::Below(10.0), Some(20.0), 0, None));
        let t = run(&mut s, Instant::now(), &[5.0, 15.0, 19.0, 21.0]);
        assert_eq!(
            t,
            vec![(0, Transition::Raised(5.0)), (3, Transition::Cleared(21.0))]
        );
    }

    #[test]
    fn missing_samples_change_nothing() {
        let mut s = RuleState::new(rule(Trigger::Above(1.0), None, 2, None));
        let t0 = Instant::now();
        assert_eq!(s.observe(t0, Some(5.0)), None);
        assert_eq!(s.observe(t0 + Duration::from_secs(1), None), None);
        assert_eq!(s.observe(t0 + Duration::from_secs(2), Some(f64::NAN)), None);
        assert_eq!(
            s.observe(t0 + Duration::from_secs(3), Some(5.0)),
            Some(Transition::Raised(5.0))
        );
    }

    #[test]
    fn a_rate_counts_the_increase_over_its_window_per_minute() {
        let mut w = RateWindow::new(Duration::from_secs(60));
        let t0 = Instant::now();
        // 2 failures a second for two minutes: 120 a minute once the window has filled.
        let mut last = 0.0;
        for i in 0..=120u64 {
            last = w.push(t0 + Duration::from_secs(i), (2 * i) as f64);
        }
        assert_eq!(last, 120.0);
        // Flat for a minute: the rate falls to 0.
        for i in 121..=181u64 {
            last = w.push(t0 + Duration::from_secs(i), 240.0);
        }
        assert_eq!(last, 0.0);
    }

    #[test]
    fn a_young_rate_window_never_overstates() {
        let mut w = RateWindow::new(Duration::from_secs(60));
        let t0 = Instant::now();
        w.push(t0, 0.0);
        // 10 in the first second is 10 over the window so far, not 600 a minute.
        assert_eq!(w.push(t0 + Duration::from_secs(1), 10.0), 10.0);
    }

    #[test]
    fn a_counter_reset_restarts_the_rate_window() {
        let mut w = RateWindow::new(Duration::from_secs(60));
        let t0 = Instant::now();
        w.push(t0, 1000.0);
        assert_eq!(w.push(t0 + Duration::from_secs(1), 3.0), 0.0);
        assert_eq!(w.push(t0 + Duration::from_secs(2), 5.0), 2.0);
    }

    #[test]
    fn a_rate_window_stays_bounded() {
        let mut w = RateWindow::new(Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..100_000u64 {
            w.push(t0 + Duration::from_micros(i * 100), i as f64);
        }
        assert!(
            w.samples.len() <= RATE_SAMPLES_MAX + 2,
            "{}",
            w.samples.len()
        );
    }

    #[test]
    fn a_rate_alarm_raises_on_failures_per_minute() {
        let mut s = RuleState::new(rule(Trigger::Above(30.0), Some(5.0), 0, Some(60)));
        let t0 = Instant::now();
        let mut out = Vec::new();
        // One failure a second (60 a minute) for 90 s, then none.
        for i in 0..300u64 {
            let v = i.min(90) as f64;
            if let Some(t) = s.observe(t0 + Duration::from_secs(i), Some(v)) {
                out.push((i, t));
            }
        }
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(matches!(out[0].1, Transition::Raised(_)), "{out:?}");
        assert!(matches!(out[1].1, Transition::Cleared(_)), "{out:?}");
        assert!(out[0].0 > 30 && out[0].0 < 40, "{out:?}");
        assert!(out[1].0 > 90 && out[1].0 < 160, "{out:?}");
    }
}
