//! The parsed alarm rules and notifiers: what `alarms` and `notifiers` sections become.

use std::time::Duration;

/// How bad an alarm is (`severity`): WARN or ERROR in the log, and in the notifications.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlarmSeverity {
    /// `info`
    Info,
    /// `warn` (the default)
    Warn,
    /// `error`
    Error,
    /// `critical`
    Critical,
}

impl AlarmSeverity {
    /// The word used in config, JSON and logs.
    pub(crate) fn word(self) -> &'static str {
        match self {
            AlarmSeverity::Info => "info",
            AlarmSeverity::Warn => "warn",
            AlarmSeverity::Error => "error",
            AlarmSeverity::Critical => "critical",
        }
    }

    pub(super) fn parse(s: &str) -> Option<Self> {
        [Self::Info, Self::Warn, Self::Error, Self::Critical]
            .into_iter()
            .find(|v| v.word().eq_ignore_ascii_case(s))
    }
}

/// Which side of the threshold raises the alarm.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trigger {
    /// `above = x`: raised while the value is greater than x.
    Above(f64),
    /// `below = x`: raised while the value is less than x.
    Below(f64),
}

/// One alarm rule.
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmRule {
    /// The alarm's name (from `<agent>.alarms`).
    pub name: String,
    /// `COMPONENT.name` of the watched metric (`CHANNEL.c1`).
    pub component: String,
    /// The attribute (`ChannelFillPercentage`).
    pub key: String,
    /// `above` or `below`.
    pub trigger: Trigger,
    /// `clearBelow` (with `above`) or `clearAbove` (with `below`); `None`: cleared as soon as
    /// the trigger no longer holds.
    pub clear: Option<f64>,
    /// `for` (default 0): how long the trigger must hold before the alarm is raised.
    pub hold: Duration,
    /// `rate` (e.g. `1m`): watch the counter's increase over this window, per minute.
    pub rate: Option<Duration>,
    /// `notifiers`; `None`: every notifier of the agent.
    pub notifiers: Option<Vec<String>>,
    /// `severity` (default warn).
    pub severity: AlarmSeverity,
    /// `message` (default: a sentence built from the rule).
    pub message: String,
}

// Thresholds are checked finite when parsed, so equality is an equivalence.
impl Eq for AlarmRule {}

impl AlarmRule {
    /// `COMPONENT.name.Key`, as written.
    pub(crate) fn metric(&self) -> String {
        format!("{}.{}", self.component, self.key)
    }

    /// The threshold that raises it.
    pub(crate) fn threshold(&self) -> f64 {
        match self.trigger {
            Trigger::Above(x) | Trigger::Below(x) => x,
        }
    }
}

/// Kinds of notifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifierKind {
    /// `webhook`: the generic JSON body, POSTed.
    Webhook,
    /// `dingtalk`: a DingTalk robot's markdown body, optionally signed.
    DingTalk,
    /// `log`: one log line with the JSON body (no network).
    Log,
}

/// One notifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifierConfig {
    /// Its name.
    pub name: String,
    /// `type`.
    pub kind: NotifierKind,
    /// `url` (required for webhook and dingtalk; http or https).
    pub url: Option<String>,
    /// `secret` (dingtalk signing).
    pub secret: Option<String>,
    /// `timeout` of one request (default 5s).
    pub timeout: Duration,
    /// `retries` after a failed request (default 3).
    pub retries: u64,
    /// `backoff`: the first pause before a retry, doubling (default 1s).
    pub backoff: Duration,
    /// `maxBackoff`: the longest pause (default 30s).
    pub max_backoff: Duration,
}
