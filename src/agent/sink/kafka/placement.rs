//! Where one event of the `kafka` sink goes, as Flume's `KafkaSink` picks it: the topic
//! (`kafka.topic` with `%{header}` escapes, or the `topicHeader` header when
//! `allowTopicOverride`), the partition (`partitionIdHeader`, else `defaultPartitionId`) and
//! the record timestamp (`timestampHeader`). Pure.

use std::borrow::Cow;

use super::config::KafkaSinkConfig;
use sluice_core::Event;

/// Where and how one event goes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Placement<'a> {
    /// The topic (borrowed from the configuration unless a header picks or fills it).
    pub topic: Cow<'a, str>,
    /// The partition, if fixed.
    pub partition: Option<i32>,
    /// The record timestamp in ms, if given.
    pub timestamp_ms: Option<i64>,
}

/// The topic, partition and timestamp of one event, as Flume's `KafkaSink` picks them. A
/// partition or timestamp header that is not a number is ignored with a warning (Flume
/// would fail the batch forever).
pub(crate) fn placement<'a>(cfg: &'a KafkaSinkConfig, e: &'a Event) -> Placement<'a> {
    let topic = match e.headers.get(&cfg.topic_header) {
        Some(t) if cfg.allow_topic_override && !t.is_empty() => Cow::Borrowed(t),
        _ => substitute(&cfg.topic, e),
    };
    let partition = cfg
        .partition_id_header
        .as_ref()
        .and_then(|h| e.headers.get(h))
        .and_then(|v| match v.trim().parse::<i32>() {
            Ok(p) if p >= 0 => Some(p),
            _ => {
                tracing::warn!(value = %v, "partition header is not a partition number; ignored");
                None
            }
        })
        .or(cfg.default_partition_id);
    let timestamp_ms = cfg
        .timestamp_header
        .as_ref()
        .and_then(|h| e.headers.get(h))
        .and_then(|v| v.trim().parse::<i64>().ok());
    Placement {
        topic,
        partition,
        timestamp_ms,
    }
}

/// `%{name}` replaced by header `name` (empty when absent), as Flume's topic escapes.
pub(crate) fn substitute<'a>(template: &'a str, e: &Event) -> Cow<'a, str> {
    if !template.contains("%{") {
        return Cow::Borrowed(template);
    }
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find("%{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match after.find('}') {
            Some(j) => {
                if let Some(v) = e.headers.get(&after[..j]) {
                    out.push_str(v);
                }
                rest = &after[j + 1..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}
