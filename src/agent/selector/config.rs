//! A source's `selector.*` keys: the type checked against [`TYPES`], every channel a key
//! names checked against the source's `channels`, then built with
//! [`ChannelSelector::from_props`] so its errors carry lines. A type that is a class name is
//! a user's selector ([`ChannelSelector::Async`]).

use super::{AsyncSelectorSpec, ChannelSelector};
use crate::agent::component::{resolve, supported, TypeTable};
use crate::agent::config::ctx::did_you_mean;
use crate::agent::config::Ctx;

/// Channel selector types.
pub(crate) const TYPES: TypeTable = &[
    (
        "replicating",
        "org.apache.flume.channel.ReplicatingChannelSelector",
    ),
    (
        "multiplexing",
        "org.apache.flume.channel.MultiplexingChannelSelector",
    ),
];

/// Checks `selector.*` against the source's channel list and builds the selector.
pub(crate) fn parse(cx: &mut Ctx<'_>, channels: &[String]) -> Option<ChannelSelector> {
    cx.use_prefix("selector.");
    let props = cx.sub_props("selector.");
    if let Some(t) = props.get("type") {
        if resolve(TYPES, t).is_none() && crate::agent::component::is_class_name(t) {
            // A user's ChannelSelector: its keys are its own, checked by its configure().
            return Some(ChannelSelector::Async(AsyncSelectorSpec {
                class: t.trim().to_owned(),
                props: props.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                channels: channels.to_vec(),
            }));
        }
        if resolve(TYPES, t).is_none() {
            let msg = format!(
                "unknown selector type {t:?}; supported: {}",
                supported(TYPES)
            );
            cx.error("selector.type", msg);
            return None;
        }
    }
    let mut dangling = false;
    for (k, v) in &props {
        let refs = k == "optional"
            || k == "default"
            || k.starts_with("mapping.")
            || k.starts_with("optional.");
        if !refs {
            continue;
        }
        for ch in v.split_whitespace() {
            if !channels.iter().any(|c| c == ch) {
                dangling = true;
                let msg = format!(
                    "channel {ch} is not in this source's channels ({})",
                    channels.join(" ")
                );
                cx.error(&format!("selector.{k}"), msg);
            }
        }
    }
    if dangling {
        return None;
    }
    match ChannelSelector::from_props(&props, channels) {
        Ok(sel) => {
            let known = [
                "type",
                "optional",
                "header",
                "default",
                "mapping.*",
                "optional.*",
            ];
            for k in sel.unknown_keys(&props) {
                let hint = did_you_mean(&k, known);
                let msg = format!("unknown key for this selector; ignored{hint}");
                cx.warn(&format!("selector.{k}"), msg);
            }
            Some(sel)
        }
        Err(e) => {
            cx.error(&format!("selector.{}", e.key), e.message);
            None
        }
    }
}
