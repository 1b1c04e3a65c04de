//! The `kafka` source's settings: Flume's `KafkaSource` keys and defaults
//! (`kafka.bootstrap.servers`, `kafka.topics` or `kafka.topics.regex`,
//! `kafka.consumer.group.id` flume, `batchSize` 1000, `batchDurationMillis` 1000,
//! `backoffSleepIncrement` 1000, `maxBackoffSleep` 5000, `useFlumeEventFormat` false,
//! `setTopicHeader` true, `topicHeader` topic, `kafka.consumer.*`; `auto.offset.reset`
//! earliest, as Flume's source sets it). `kafka.consumer.group.instance.id = auto` derives a
//! static member id ([`super::static_id`]).

use std::time::Duration;

use super::static_id;
use crate::agent::config::ctx::Ctx;
use crate::agent::config::limits::BATCH_SIZE_MAX;
use crate::agent::config::limits::DURATION_MS_MAX;
use crate::agent::kafka::ClientProps;

/// Flume's `kafka.consumer.group.id` default.
pub(crate) const GROUP_ID_DEFAULT: &str = "flume";
/// Flume's `batchSize` default.
pub(crate) const BATCH_SIZE_DEFAULT: u64 = 1000;
/// Flume's `batchDurationMillis` default.
pub(crate) const BATCH_DURATION_MS_DEFAULT: u64 = 1000;
/// librdkafka's (and the Java client's) `session.timeout.ms` default.
pub(crate) const SESSION_TIMEOUT_MS_DEFAULT: u64 = 45_000;

/// What the source subscribes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subscription {
    /// `kafka.topics`: a comma-separated list.
    Topics(Vec<String>),
    /// `kafka.topics.regex`: every topic matching the pattern.
    Regex(String),
}

/// `kafka` source settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaSourceConfig {
    /// The consumer's librdkafka properties (`bootstrap.servers`, `group.id`, ...).
    pub client: ClientProps,
    /// `kafka.topics` or `kafka.topics.regex`.
    pub subscription: Subscription,
    /// `batchSize`: most events per channel transaction.
    pub batch_size: usize,
    /// `batchDurationMillis`: longest wait for a batch to fill.
    pub batch_duration: Duration,
    /// `backoffSleepIncrement`/`maxBackoffSleep`: retry pauses after a failed put.
    pub backoff_step: Duration,
    /// Longest retry pause.
    pub backoff_max: Duration,
    /// `useFlumeEventFormat`: the record value is an Avro `AvroFlumeEvent`.
    pub use_flume_event_format: bool,
    /// `setTopicHeader` (default true).
    pub set_topic_header: bool,
    /// `topicHeader` (default `topic`).
    pub topic_header: String,
    /// `kafka.consumer.session.timeout.ms` (librdkafka's default when unset): how long the
    /// group waits for a member that stopped heartbeating.
    pub session_timeout: Duration,
}

/// Reads a `kafka` source's keys; `None` after an error (reported through `cx`).
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<KafkaSourceConfig> {
    for (old, new) in [
        ("zookeeperConnect", "kafka.bootstrap.servers"),
        ("topic", "kafka.topics"),
        ("groupId", "kafka.consumer.group.id"),
    ] {
        if cx.get(old).is_some() {
            cx.error(old, format!("Flume 1.6's name; use `{new}`"));
        }
    }
    let mut client = ClientProps::read(cx, "kafka.consumer.");
    if let Some(c) = client.as_mut() {
        c.props
            .entry("group.id".into())
            .or_insert_with(|| GROUP_ID_DEFAULT.to_owned());
        c.props
            .entry("auto.offset.reset".into())
            .or_insert_with(|| "earliest".to_owned());
        let auto = c
            .get("group.instance.id")
            .is_some_and(|v| v.eq_ignore_ascii_case(static_id::AUTO));
        if auto {
            let comp = cx.comp();
            let agent = comp.key_prefix.split('.').next().unwrap_or("agent");
            let id = static_id::derive(&static_id::host(), agent, &comp.name);
            c.props.insert("group.instance.id".into(), id);
        }
    }
    let session_timeout = Duration::from_millis(
        client
            .as_ref()
            .and_then(|c| c.get("session.timeout.ms"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(SESSION_TIMEOUT_MS_DEFAULT),
    );
    let subscription = subscription(cx);
    let batch_size = cx.u64("batchSize", BATCH_SIZE_DEFAULT, 1, BATCH_SIZE_MAX) as usize;
    let ms =
        |cx: &mut Ctx<'_>, k: &str, d: u64| Duration::from_millis(cx.u64(k, d, 1, DURATION_MS_MAX));
    let batch_duration = ms(cx, "batchDurationMillis", BATCH_DURATION_MS_DEFAULT);
    let backoff_step = ms(cx, "backoffSleepIncrement", 1000);
    let backoff_max = ms(cx, "maxBackoffSleep", 5000);
    let use_flume_event_format = cx.bool("useFlumeEventFormat", false);
    let set_topic_header = cx.bool("setTopicHeader", true);
    let topic_header = cx
        .get("topicHeader")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "topic".to_owned());
    Some(KafkaSourceConfig {
        client: client?,
        subscription: subscription?,
        batch_size,
        batch_duration,
        backoff_step,
        backoff_max,
        use_flume_event_format,
        set_topic_header,
        topic_header,
        session_timeout,
    })
}

/// `kafka.topics` (a comma-separated list) or `kafka.topics.regex`, exactly one.
fn subscription(cx: &mut Ctx<'_>) -> Option<Subscription> {
    let topics = cx.get("kafka.topics");
    let regex = cx.get("kafka.topics.regex");
    match (topics, regex) {
        (Some(_), Some(_)) => {
            cx.error(
                "kafka.topics.regex",
                "set kafka.topics or kafka.topics.regex, not both",
            );
            None
        }
        (Some(t), None) => {
            let list: Vec<String> = t
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            if list.is_empty() {
                cx.error("kafka.topics", "no topic named");
                None
            } else {
                Some(Subscription::Topics(list))
            }
        }
        (None, Some(r)) => match regex::Regex::new(r.trim()) {
            Ok(_) => Some(Subscription::Regex(r.trim().to_owned())),
            Err(e) => {
                cx.error(
                    "kafka.topics.regex",
                    format!("not a regular expression: {e}"),
                );
                None
            }
        },
        (None, None) => {
            cx.error(
                "kafka.topics",
                "required key is missing (or kafka.topics.regex)",
            );
            None
        }
    }
}

impl KafkaSourceConfig {
    /// The patterns handed to librdkafka's `subscribe`: a regex starts with `^` there, and is
    /// anchored at both ends because Java's `Pattern.matches` (Flume's) matches whole names.
    pub(crate) fn subscribe_patterns(&self) -> Vec<String> {
        match &self.subscription {
            Subscription::Topics(t) => t.clone(),
            Subscription::Regex(r) => vec![format!(
                "^({})$",
                r.trim_start_matches('^').trim_end_matches('$')
            )],
        }
    }
}
