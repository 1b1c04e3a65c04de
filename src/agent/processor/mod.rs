//! Sink processors: which sink of a sink group handles the next batch. A processor is
//! runner-driven (Sluice's: a pure state machine with time passed in; the sink runner asks for
//! an [`SinkPolicy::order`], tries the sinks in that order until one does not fail, and reports
//! each outcome back) or runs its own loop over the group's sinks
//! ([`SinkProcessorConfig::OwnLoop`]: a user's class, run by the plugin host the registry names).
//!
//! Types, keys and defaults are Flume's: `default` (one sink), `failover` (`priority.<sink>`,
//! `maxpenalty`) and `load_balance` (`selector`, `backoff`, `selector.maxTimeOut`).

pub(crate) mod config;
mod failover;
mod load_balance;

use std::time::Instant;

use crate::agent::component::{ComponentError, Props};

pub use failover::{FailoverConfig, FailoverPolicy, DEFAULT_MAX_PENALTY_MS, FAILURE_PENALTY_MS};
pub use load_balance::{
    LoadBalanceConfig, LoadBalancePolicy, Selection, BACKOFF_COUNTER_LIMIT, CONSIDER_SEQUENTIAL,
    DEFAULT_MAX_TIMEOUT_MS,
};

/// A sink group's processor configuration, built from its `processor.*` keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SinkProcessorConfig {
    /// `default`: exactly one sink, always tried.
    Default {
        /// The sink.
        sink: String,
    },
    /// `failover`.
    Failover(FailoverConfig),
    /// `load_balance`.
    LoadBalance(LoadBalanceConfig),
    /// Runs its own loop and drives the group's sinks (a user's `SinkProcessor` class).
    OwnLoop(OwnLoopSpec),
}

/// A user's sink processor: its class, its Context and the group's sinks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnLoopSpec {
    /// The `SinkProcessor` class.
    pub class: String,
    /// The group's `processor.*` keys without `processor.` (`type` included, as in Flume).
    pub props: Vec<(String, String)>,
    /// The group's sinks, in order (`setSinks`).
    pub sinks: Vec<String>,
}

impl SinkProcessorConfig {
    /// Builds from the group's properties with `processor.` stripped (`type`, `priority.k1`,
    /// `selector`, ...) and the group's `sinks` list. `type` may be a Flume short name
    /// (case-insensitive) or a Java class name; it defaults to `default`.
    pub fn from_props(props: &Props, sinks: &[String]) -> Result<Self, ComponentError> {
        let kind = props.get("type").map(|t| t.trim()).unwrap_or("default");
        match kind.to_ascii_lowercase().as_str() {
            "default" | "org.apache.flume.sink.defaultsinkprocessor" => match sinks {
                [sink] => Ok(SinkProcessorConfig::Default { sink: sink.clone() }),
                _ => Err(ComponentError::new(
                    "sinks",
                    format!(
                        "the default processor handles exactly one sink, got {}; use failover or load_balance",
                        sinks.len()
                    ),
                )),
            },
            "failover" | "org.apache.flume.sink.failoversinkprocessor" => {
                FailoverConfig::from_props(props, sinks).map(SinkProcessorConfig::Failover)
            }
            "load_balance" | "org.apache.flume.sink.loadbalancingsinkprocessor" => {
                LoadBalanceConfig::from_props(props, sinks).map(SinkProcessorConfig::LoadBalance)
            }
            _ => Err(ComponentError::new(
                "type",
                format!("unknown sink processor type {kind:?}; supported: default, failover, load_balance"),
            )),
        }
    }

    /// Keys of the group's `processor.*` properties (prefix stripped) that this processor does
    /// not read (for the config layer's unknown-key warnings).
    pub(crate) fn unknown_keys(&self, props: &Props) -> Vec<String> {
        let known = |k: &str| {
            k == "type"
                || match self {
                    SinkProcessorConfig::Default { .. } => false,
                    SinkProcessorConfig::Failover(c) => {
                        k == "maxpenalty"
                            || k.strip_prefix("priority.")
                                .is_some_and(|s| c.sinks.iter().any(|(n, _)| n == s))
                    }
                    SinkProcessorConfig::LoadBalance(_) => {
                        ["selector", "backoff", "selector.maxTimeOut"].contains(&k)
                    }
                    SinkProcessorConfig::OwnLoop(_) => true,
                }
        };
        props.keys().filter(|k| !known(k)).cloned().collect()
    }

    /// The group's sinks, in configuration order.
    pub(crate) fn sinks(&self) -> Vec<String> {
        match self {
            SinkProcessorConfig::Default { sink } => vec![sink.clone()],
            SinkProcessorConfig::Failover(c) => c.sinks.iter().map(|(s, _)| s.clone()).collect(),
            SinkProcessorConfig::LoadBalance(c) => c.sinks.clone(),
            SinkProcessorConfig::OwnLoop(j) => j.sinks.clone(),
        }
    }

    /// A fresh policy (no failures yet) for this configuration. A processor that runs its own
    /// loop chooses its sinks itself: its policy here is failover in the listed order, for a
    /// caller that does not start it (`sluice test`).
    pub fn policy(&self) -> SinkPolicy {
        match self {
            SinkProcessorConfig::Default { sink } => SinkPolicy::Default(sink.clone()),
            SinkProcessorConfig::OwnLoop(j) => {
                SinkPolicy::Failover(FailoverPolicy::new(&FailoverConfig {
                    sinks: j
                        .sinks
                        .iter()
                        .zip(1i32..)
                        .map(|(s, i)| (s.clone(), -i))
                        .collect(),
                    max_penalty_ms: DEFAULT_MAX_PENALTY_MS,
                }))
            }
            SinkProcessorConfig::Failover(c) => SinkPolicy::Failover(FailoverPolicy::new(c)),
            SinkProcessorConfig::LoadBalance(c) => {
                SinkPolicy::LoadBalance(LoadBalancePolicy::new(c))
            }
        }
    }
}

/// A running sink group's policy.
#[derive(Clone, Debug)]
pub enum SinkPolicy {
    /// The single sink of a `default` processor.
    Default(String),
    /// Failover by priority with growing penalties.
    Failover(FailoverPolicy),
    /// Round-robin or random order, with optional backoff.
    LoadBalance(LoadBalancePolicy),
}

impl SinkPolicy {
    /// The sinks to try at `now`, in order; stop at the first that does not fail. An empty
    /// list means no sink may be tried now (the runner backs off, as after a failure).
    pub fn order(&mut self, now: Instant) -> Vec<String> {
        match self {
            SinkPolicy::Default(sink) => vec![sink.clone()],
            SinkPolicy::Failover(p) => p.order(now),
            SinkPolicy::LoadBalance(p) => p.order(now),
        }
    }

    /// `sink` failed (returned an error) at `now`.
    pub fn report_failure(&mut self, sink: &str, now: Instant) {
        match self {
            SinkPolicy::Default(_) => {}
            SinkPolicy::Failover(p) => p.report_failure(sink, now),
            SinkPolicy::LoadBalance(p) => p.report_failure(sink, now),
        }
    }

    /// `sink` delivered a batch (READY). A sink that had nothing to do (BACKOFF) is not
    /// reported.
    pub fn report_success(&mut self, sink: &str) {
        match self {
            SinkPolicy::Default(_) => {}
            SinkPolicy::Failover(p) => p.report_success(sink),
            SinkPolicy::LoadBalance(p) => p.report_success(sink),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::agent::component::props_of as props;

    fn sinks(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_is_the_default_type_and_handles_one_sink() {
        let c = SinkProcessorConfig::from_props(&Props::new(), &sinks(&["k1"])).unwrap();
        assert_eq!(c, SinkProcessorConfig::Default { sink: "k1".into() });
        let mut p = c.policy();
        let t = Instant::now();
        p.report_failure("k1", t);
        assert_eq!(p.order(t), ["k1"]);
        let err =
            SinkProcessorConfig::from_props(&Props::new(), &sinks(&["k1", "k2"])).unwrap_err();
        assert_eq!(err.key, "sinks");
    }

    #[test]
    fn types_resolve_from_short_names_and_java_classes() {
        let s = sinks(&["k1", "k2"]);
        for (t, want) in [
            ("FAILOVER", "failover"),
            ("org.apache.flume.sink.FailoverSinkProcessor", "failover"),
            ("load_balance", "load_balance"),
            (
                "org.apache.flume.sink.LoadBalancingSinkProcessor",
                "load_balance",
            ),
        ] {
            let c = SinkProcessorConfig::from_props(&props(&[("type", t)]), &s).unwrap();
            let got = match c {
                SinkProcessorConfig::Failover(_) => "failover",
                SinkProcessorConfig::LoadBalance(_) => "load_balance",
                SinkProcessorConfig::Default { .. } => "default",
                SinkProcessorConfig::OwnLoop(_) => "own loop",
            };
            assert_eq!(got, want, "{t}");
            assert_eq!(c.sinks(), s);
        }
        let c = SinkProcessorConfig::from_props(
            &props(&[("type", "org.apache.flume.sink.DefaultSinkProcessor")]),
            &sinks(&["k1"]),
        )
        .unwrap();
        assert_eq!(c.sinks(), ["k1"]);
        let err = SinkProcessorConfig::from_props(&props(&[("type", "custom")]), &s).unwrap_err();
        assert_eq!(err.key, "type");
        // An own-loop policy (for a caller that does not start it) tries the sinks in order.
        let j = SinkProcessorConfig::OwnLoop(OwnLoopSpec {
            class: "com.example.P".into(),
            props: Vec::new(),
            sinks: s.clone(),
        });
        assert_eq!(j.sinks(), s);
        assert_eq!(j.policy().order(Instant::now()), s);
        assert!(err.message.contains("load_balance"), "{err}");
    }

    #[test]
    fn unknown_keys_depend_on_the_processor_type() {
        let p = props(&[
            ("type", "failover"),
            ("priority.k1", "1"),
            ("priority.k9", "2"),
            ("maxpenalty", "5"),
            ("backoff", "true"),
        ]);
        let c = SinkProcessorConfig::from_props(&p, &sinks(&["k1", "k2"])).unwrap();
        assert_eq!(c.unknown_keys(&p), ["backoff", "priority.k9"]);
        let p = props(&[
            ("type", "load_balance"),
            ("selector.maxTimeOut", "5"),
            ("maxpenalty", "1"),
        ]);
        let c = SinkProcessorConfig::from_props(&p, &sinks(&["k1", "k2"])).unwrap();
        assert_eq!(c.unknown_keys(&p), ["maxpenalty"]);
    }

    #[test]
    fn a_failover_group_moves_to_the_backup_and_back() {
        let p = props(&[
            ("type", "failover"),
            ("priority.main", "10"),
            ("priority.backup", "5"),
        ]);
        let c = SinkProcessorConfig::from_props(&p, &sinks(&["backup", "main"])).unwrap();
        let mut policy = c.policy();
        let t = Instant::now();
        assert_eq!(policy.order(t), ["main", "backup"]);
        policy.report_failure("main", t);
        assert_eq!(policy.order(t), ["backup"]);
        let later = t + Duration::from_millis(2001);
        assert_eq!(policy.order(later), ["main", "backup"]);
        policy.report_success("main");
        assert_eq!(policy.order(later), ["main", "backup"]);
    }

    #[test]
    fn a_load_balance_group_skips_a_backed_off_sink() {
        let p = props(&[("type", "load_balance"), ("backoff", "true")]);
        let c = SinkProcessorConfig::from_props(&p, &sinks(&["a", "b"])).unwrap();
        let mut policy = c.policy();
        let t = Instant::now();
        policy.report_failure("a", t);
        assert_eq!(policy.order(t), ["b"]);
        assert_eq!(policy.order(t), ["b"]);
    }
}
