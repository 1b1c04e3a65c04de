//! A sink group's `processor.*` keys: the type checked against [`TYPES`], every
//! `priority.<sink>` checked against the group's `sinks`, then built with
//! [`SinkProcessorConfig::from_props`] so its errors carry lines. A type that is a class name
//! is a user's processor ([`SinkProcessorConfig::OwnLoop`]).

use super::{OwnLoopSpec, SinkProcessorConfig};
use crate::agent::component::{resolve, supported, TypeTable};
use crate::agent::config::ctx::did_you_mean;
use crate::agent::config::Ctx;

/// Sink processor types.
pub(crate) const TYPES: TypeTable = &[
    ("default", "org.apache.flume.sink.DefaultSinkProcessor"),
    ("failover", "org.apache.flume.sink.FailoverSinkProcessor"),
    (
        "load_balance",
        "org.apache.flume.sink.LoadBalancingSinkProcessor",
    ),
];

/// Checks `processor.*` of a sink group against its sinks and builds the processor config.
pub(crate) fn parse(cx: &mut Ctx<'_>, sinks: &[String]) -> Option<SinkProcessorConfig> {
    cx.use_prefix("processor.");
    let props = cx.sub_props("processor.");
    if let Some(t) = props.get("type") {
        if resolve(TYPES, t).is_none() && crate::agent::component::is_class_name(t) {
            // A user's SinkProcessor: its keys are its own, checked by its configure().
            return Some(SinkProcessorConfig::OwnLoop(OwnLoopSpec {
                class: t.trim().to_owned(),
                props: props.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                sinks: sinks.to_vec(),
            }));
        }
        if resolve(TYPES, t).is_none() {
            let msg = format!(
                "unknown sink processor type {t:?}; supported: {}",
                supported(TYPES)
            );
            cx.error("processor.type", msg);
            return None;
        }
    }
    for k in props.keys() {
        if let Some(sink) = k.strip_prefix("priority.") {
            if !sinks.iter().any(|s| s == sink) {
                cx.error(
                    &format!("processor.{k}"),
                    format!("sink {sink} is not in this group"),
                );
                return None;
            }
        }
    }
    match SinkProcessorConfig::from_props(&props, sinks) {
        Ok(p) => {
            let known = [
                "type",
                "maxpenalty",
                "priority.*",
                "selector",
                "backoff",
                "selector.maxTimeOut",
            ];
            for k in p.unknown_keys(&props) {
                let hint = did_you_mean(&k, known);
                let msg = format!("unknown key for this sink processor; ignored{hint}");
                cx.warn(&format!("processor.{k}"), msg);
            }
            Some(p)
        }
        Err(e) => {
            let key = if e.key == "sinks" {
                e.key
            } else {
                format!("processor.{}", e.key)
            };
            cx.error(&key, e.message);
            None
        }
    }
}
