//! Channel selectors: which of a source's channels receive an event, and which of those may fail
//! without failing the batch. Flume's `replicating` and `multiplexing` selectors, configured from
//! the source's `selector.*` keys (prefix stripped) and evaluated per event.
//!
//! Semantics follow Flume's `ReplicatingChannelSelector` and `MultiplexingChannelSelector`, with
//! one deliberate tightening: a [`Selection`] never names a channel twice, and never names a
//! required channel as optional (Flume would put the event into such a channel twice).
//!
//! A selector runs in one of two shapes: evaluated per event in place ([`ChannelSelector::select`],
//! Sluice's own), or asked once per batch and awaited ([`AsyncSelector`], a
//! [`ChannelSelector::Async`]: a `selector.type` that is a user's class, started by the plugin
//! host the registry names), under the same tightening.

pub(crate) mod config;

use std::collections::BTreeMap;

use crate::agent::component::{ComponentError, Props};
use crate::agent::future::{BoxFuture, StepError};
use sluice_core::Event;

/// Flume's default header for the multiplexing selector.
pub(crate) const DEFAULT_MULTIPLEX_HEADER: &str = "flume.selector.header";

/// The channels one event goes to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Channels whose put failure fails the batch, in configuration order.
    pub required: Vec<String>,
    /// Channels tried after the required ones; their failures are only logged.
    pub optional: Vec<String>,
}

/// A configured channel selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelSelector {
    /// Every channel, minus the ones listed in `selector.optional`, is required.
    Replicating {
        /// Required channels: the source's channels not listed as optional.
        required: Vec<String>,
        /// Channels listed in `selector.optional`.
        optional: Vec<String>,
    },
    /// Channels chosen by the value of one header.
    Multiplexing(Multiplexing),
    /// Asked once per batch and awaited ([`AsyncSelector`]): a user's `ChannelSelector` class.
    Async(AsyncSelectorSpec),
}

/// A selector asked once per batch: the channels of each event of `events`, in order, or a
/// refusal of the whole batch.
pub trait AsyncSelector: Send + Sync + std::fmt::Debug {
    /// The channels of each event. Cancel safety: a cancelled call selects nothing and leaves
    /// the selector usable.
    fn select_batch<'a>(
        &'a self,
        events: &'a [Event],
    ) -> BoxFuture<'a, Result<Vec<Selection>, StepError>>;
}

/// A user's channel selector: its class, its Context and the channels it is given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsyncSelectorSpec {
    /// The `ChannelSelector` class.
    pub class: String,
    /// The source's `selector.*` keys without `selector.` (`type` included, as in Flume).
    pub props: Vec<(String, String)>,
    /// The source's channels, in order (`setChannels`).
    pub channels: Vec<String>,
}

/// The multiplexing selector's tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Multiplexing {
    /// The header whose value picks the channels (`selector.header`).
    pub header: String,
    /// `selector.mapping.<value>`: required channels per header value.
    pub mapping: BTreeMap<String, Vec<String>>,
    /// `selector.optional.<value>`: optional channels per header value, with the channels that
    /// are required for that value already removed.
    pub optional: BTreeMap<String, Vec<String>>,
    /// `selector.default`: required channels when the header is missing, blank or unmapped.
    pub default: Vec<String>,
}

impl ChannelSelector {
    /// Builds a selector from the source's `selector.*` properties (with `selector.` stripped)
    /// and the source's channel list. `type` may be a Flume short name (case-insensitive) or a
    /// Java class name; it defaults to `replicating`.
    pub fn from_props(props: &Props, channels: &[String]) -> Result<Self, ComponentError> {
        let kind = props.get("type").map(|s| s.trim()).unwrap_or("replicating");
        match kind.to_ascii_lowercase().as_str() {
            "replicating" | "org.apache.flume.channel.replicatingchannelselector" => {
                replicating(props, channels)
            }
            "multiplexing" | "org.apache.flume.channel.multiplexingchannelselector" => {
                multiplexing(props, channels).map(ChannelSelector::Multiplexing)
            }
            _ => Err(ComponentError::new(
                "type",
                format!(
                    "unknown channel selector type {kind:?}; supported: replicating, multiplexing"
                ),
            )),
        }
    }

    /// Keys of the selector's properties that its type does not read (for the config layer's
    /// unknown-key warnings): `optional.<v>` for replicating, bare `optional` for multiplexing.
    pub(crate) fn unknown_keys(&self, props: &Props) -> Vec<String> {
        let known = |k: &str| match self {
            ChannelSelector::Replicating { .. } => k == "type" || k == "optional",
            ChannelSelector::Multiplexing(_) => {
                ["type", "header", "default"].contains(&k)
                    || k.starts_with("mapping.")
                    || k.starts_with("optional.")
            }
            ChannelSelector::Async(_) => true,
        };
        props.keys().filter(|k| !known(k)).cloned().collect()
    }

    /// The channels `event` goes to. An async selector is asked per batch by the router, never
    /// here: it selects nothing.
    pub fn select(&self, event: &Event) -> Selection {
        match self {
            ChannelSelector::Replicating { required, optional } => Selection {
                required: required.clone(),
                optional: optional.clone(),
            },
            ChannelSelector::Multiplexing(m) => m.select(event),
            ChannelSelector::Async(_) => Selection::default(),
        }
    }
}

impl Multiplexing {
    /// Flume's rule: a missing or blank header value, or one without a mapping, selects the
    /// default channels; the optional channels are looked up by the exact header value.
    fn select(&self, event: &Event) -> Selection {
        let value = event.headers.get(&self.header);
        let required = match value {
            Some(v) if !v.trim().is_empty() => self.mapping.get(v).unwrap_or(&self.default),
            _ => &self.default,
        };
        let optional = value
            .and_then(|v| self.optional.get(v))
            .map(|list| {
                list.iter()
                    .filter(|c| !required.contains(c))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        Selection {
            required: required.clone(),
            optional,
        }
    }
}

fn replicating(props: &Props, channels: &[String]) -> Result<ChannelSelector, ComponentError> {
    let optional = match props.get("optional") {
        Some(list) => channel_list("optional", list, channels)?,
        None => Vec::new(),
    };
    let mut required = Vec::new();
    for c in channels {
        if !optional.contains(c) && !required.contains(c) {
            required.push(c.clone());
        }
    }
    Ok(ChannelSelector::Replicating { required, optional })
}

fn multiplexing(props: &Props, channels: &[String]) -> Result<Multiplexing, ComponentError> {
    let header = match props.get("header") {
        Some(h) if !h.trim().is_empty() => h.trim().to_string(),
        Some(_) => return Err(ComponentError::new("header", "must not be empty")),
        None => DEFAULT_MULTIPLEX_HEADER.to_string(),
    };
    let default = match props.get("default") {
        Some(list) => channel_list("default", list, channels)?,
        None => Vec::new(),
    };
    let mut mapping = BTreeMap::new();
    for (key, list) in sub_props(props, "mapping.") {
        let chosen = channel_list(&format!("mapping.{key}"), list, channels)?;
        if chosen.is_empty() {
            return Err(ComponentError::new(
                format!("mapping.{key}"),
                "no channel configured for this header value",
            ));
        }
        mapping.insert(key.to_string(), chosen);
    }
    let mut optional = BTreeMap::new();
    for (key, list) in sub_props(props, "optional.") {
        let chosen = channel_list(&format!("optional.{key}"), list, channels)?;
        let required = mapping.get(key).unwrap_or(&default);
        let chosen: Vec<String> = chosen
            .into_iter()
            .filter(|c| !required.contains(c))
            .collect();
        optional.insert(key.to_string(), chosen);
    }
    Ok(Multiplexing {
        header,
        mapping,
        optional,
        default,
    })
}

/// Entries of `props` under `prefix`, with the prefix removed (Flume's `getSubProperties`).
fn sub_props<'a>(props: &'a Props, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
    props
        .iter()
        .filter_map(move |(k, v)| k.strip_prefix(prefix).map(|rest| (rest, v.as_str())))
}

/// A whitespace-separated channel list, each a channel of the source, duplicates dropped.
fn channel_list(key: &str, list: &str, channels: &[String]) -> Result<Vec<String>, ComponentError> {
    let mut out: Vec<String> = Vec::new();
    for name in list.split_whitespace() {
        if !channels.iter().any(|c| c == name) {
            return Err(ComponentError::new(
                key,
                format!(
                    "channel {name:?} is not one of the source's channels ({})",
                    channels.join(" ")
                ),
            ));
        }
        if !out.iter().any(|c| c == name) {
            out.push(name.to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
