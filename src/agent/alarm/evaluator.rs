//! The alarm task of an agent: every [`EVAL_INTERVAL`] it samples each rule's metric from the
//! registry and feeds the rule's state machine ([`super::rule`]), raising and clearing on the
//! board, and lets the upstream tables raise upstream-gone alarms. A new configuration arrives
//! through a watch channel (a reload): rules that did not change keep their state (a raised
//! alarm stays raised, without a second notice); rules removed or changed clear their alarm.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::notice::{now_ms, Alarm};
use super::rule::{RuleState, Transition};
use super::AlarmBoard;
use crate::agent::alarm::config::{AlarmRule, AlarmsConfig};
use crate::agent::metrics::Registry;
use crate::agent::stop::Stop;

/// How often metrics are sampled.
pub(crate) const EVAL_INTERVAL: Duration = Duration::from_secs(1);

/// The rules of an agent and where each stands.
#[derive(Debug, Default)]
pub(crate) struct Evaluator {
    states: BTreeMap<String, RuleState>,
}

impl Evaluator {
    /// Moves to `rules`: unchanged rules keep their state; removed or changed ones clear.
    pub(crate) fn reconcile(&mut self, rules: &BTreeMap<String, AlarmRule>, board: &AlarmBoard) {
        let old = std::mem::take(&mut self.states);
        for (name, st) in old {
            if rules.get(&name) == Some(st.rule()) {
                self.states.insert(name, st);
            } else if st.raised() {
                board.clear(&name, None, "its rule was changed or removed by a reload");
            }
        }
        for (name, r) in rules {
            self.states
                .entry(name.clone())
                .or_insert_with(|| RuleState::new(r.clone()));
        }
    }

    /// Samples every rule once at `now`.
    pub(crate) fn sample(&mut self, registry: &Registry, board: &AlarmBoard, now: Instant) {
        for (name, st) in &mut self.states {
            let r = st.rule();
            let v = registry.value(&r.component, &r.key);
            match st.observe(now, v) {
                Some(Transition::Raised(v)) => {
                    let r = st.rule();
                    board.raise(Alarm {
                        id: name.clone(),
                        name: name.clone(),
                        severity: r.severity,
                        message: r.message.clone(),
                        agent: board.agent(),
                        raised_at_ms: now_ms(),
                        metric: Some(r.metric()),
                        value: Some(v),
                        threshold: Some(r.threshold()),
                        notifiers: r.notifiers.clone(),
                        upstream: None,
                    })
                }
                Some(Transition::Cleared(v)) => {
                    board.clear(name, Some(v), "its clear condition holds")
                }
                None => {}
            }
        }
        board.tick_upstreams(now);
        board.tick_losses(now);
    }
}

/// Runs until `stop`: applies each configuration sent on `cfg` (notifiers and rules) and
/// samples every [`EVAL_INTERVAL`].
pub(crate) async fn run(
    registry: Arc<Registry>,
    board: Arc<AlarmBoard>,
    agent: String,
    mut cfg: watch::Receiver<AlarmsConfig>,
    mut stop: Stop,
) {
    let mut ev = Evaluator::default();
    let mut tick = tokio::time::interval(EVAL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut fresh = true;
    loop {
        if fresh {
            let c = cfg.borrow_and_update().clone();
            board.configure(&agent, &c.notifiers);
            ev.reconcile(&c.rules, &board);
            fresh = false;
        }
        tokio::select! {
            _ = stop.wait() => break,
            r = cfg.changed() => {
                if r.is_err() {
                    break;
                }
                fresh = true;
            }
            _ = tick.tick() => ev.sample(&registry, &board, Instant::now()),
        }
    }
    board.shutdown();
}
