//! What the alarm machinery passes around: an [`Alarm`] (a raised rule or a gone upstream),
//! the [`Notice`] a notifier gets, and the alarm machinery's own counters ([`AlarmCounter`]).
//! A leaf: the board, the evaluator, the notifiers and the bodies import it.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::agent::alarm::config::AlarmSeverity;
use crate::agent::alarm::upstreams::UpstreamKey;
use crate::agent::metrics::counters;

counters! {
    /// Counters of the alarm machinery, shown as `ALARMS.notifiers` at `/metrics`.
    AlarmCounter, kind "ALARMS", list ALARM_COUNTERS {
        /// Alarms raised.
        Raised = "AlarmsRaised",
        /// Alarms cleared.
        Cleared = "AlarmsCleared",
        /// Notifications a notifier delivered.
        NotificationsSent = "NotificationsSent",
        /// Notifications that failed after their retries.
        NotificationsFailed = "NotificationsFailed",
        /// Notifications dropped because a notifier's queue was full.
        NotificationsDropped = "NotificationsDropped",
    }
}

/// The upstream an upstream-gone alarm is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamAlarm {
    /// The source it used to connect to.
    pub source: String,
    /// Who it is.
    pub key: UpstreamKey,
}

/// An active alarm.
#[derive(Clone, Debug, PartialEq)]
pub struct Alarm {
    /// Unique among active alarms: the rule's name, or `<source>.upstreamGone[ip/agent/sink]`.
    pub id: String,
    /// The rule's name, or `<source>.upstreamGone`.
    pub name: String,
    /// How bad.
    pub severity: AlarmSeverity,
    /// What it means.
    pub message: String,
    /// The agent that raised it.
    pub agent: String,
    /// Wall-clock ms since the epoch when it was raised.
    pub raised_at_ms: u64,
    /// `COMPONENT.name.Key` of a rule's metric.
    pub metric: Option<String>,
    /// The value that raised it.
    pub value: Option<f64>,
    /// A rule's threshold.
    pub threshold: Option<f64>,
    /// The notifiers it goes to (`None`: all).
    pub notifiers: Option<Vec<String>>,
    /// For upstream-gone: who.
    pub upstream: Option<UpstreamAlarm>,
}

/// Raised or cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NoticeState {
    /// `raised`
    Raised,
    /// `cleared`
    Cleared,
}

impl NoticeState {
    /// The word in notification bodies.
    pub(crate) fn word(self) -> &'static str {
        match self {
            NoticeState::Raised => "raised",
            NoticeState::Cleared => "cleared",
        }
    }
}

/// One thing to tell the notifiers.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Notice {
    /// The alarm.
    pub alarm: Alarm,
    /// Raised or cleared.
    pub state: NoticeState,
    /// When it was cleared.
    pub cleared_at_ms: Option<u64>,
    /// The value now (the clearing value when cleared).
    pub value: Option<f64>,
}

/// Wall-clock ms since the epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
