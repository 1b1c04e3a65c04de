//! The routing parts of a source and a sink group: the selector, the interceptor list and the
//! processor, checked for types and dangling references, then built with the modules in
//! `agent::selector`, `agent::interceptor` and `agent::processor` so their errors carry lines.

use super::ctx::Ctx;
use super::types::{resolve, supported, INTERCEPTOR_TYPES, PROCESSOR_TYPES, SELECTOR_TYPES};
use crate::agent::component::Props;
use crate::agent::interceptor;
use crate::agent::processor::SinkProcessorConfig;
use crate::agent::selector::ChannelSelector;

/// One interceptor of a source's chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterceptorSpec {
    /// Its name in `interceptors = i1 i2`.
    pub name: String,
    /// The short type name.
    pub kind: String,
    /// Its properties relative to `interceptors.<name>.` (including `type`).
    pub props: Props,
}

/// Properties under `prefix`, with the prefix removed.
pub fn sub_props(cx: &Ctx<'_>, prefix: &str) -> Props {
    cx.comp()
        .props
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(prefix)
                .map(|rest| (rest.to_owned(), v.value.clone()))
        })
        .collect()
}

/// Checks `selector.*` against the source's channel list and builds the selector.
pub fn selector(cx: &mut Ctx<'_>, channels: &[String]) -> Option<ChannelSelector> {
    cx.use_prefix("selector.");
    let props = sub_props(cx, "selector.");
    if let Some(t) = props.get("type") {
        if resolve(SELECTOR_TYPES, t).is_none() {
            let msg = format!(
                "unknown selector type {t:?}; supported: {}",
                supported(SELECTOR_TYPES)
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
            for k in sel.unknown_keys(&props) {
                cx.warn(
                    &format!("selector.{k}"),
                    "unknown key for this selector; ignored",
                );
            }
            Some(sel)
        }
        Err(e) => {
            cx.error(&format!("selector.{}", e.key), e.message);
            None
        }
    }
}

/// Checks `interceptors` and `interceptors.<i>.*` (by building each) and returns the chain's
/// specs in order.
pub fn interceptors(cx: &mut Ctx<'_>) -> Vec<InterceptorSpec> {
    cx.use_prefix("interceptors.");
    let Some(list) = cx.get("interceptors") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in list.split_whitespace() {
        let mut props = sub_props(cx, &format!("interceptors.{name}."));
        let type_key = format!("interceptors.{name}.type");
        let Some(t) = props.get("type").cloned() else {
            cx.error(&type_key, "interceptor has no type");
            continue;
        };
        let Some(short) = resolve(INTERCEPTOR_TYPES, &t) else {
            let msg = format!(
                "unknown interceptor type {t:?}; supported: {}",
                supported(INTERCEPTOR_TYPES)
            );
            cx.error(&type_key, msg);
            continue;
        };
        if let Err(e) = interceptor::build(short, &props) {
            cx.error(&format!("interceptors.{name}.{}", e.key), e.message);
            continue;
        }
        for k in interceptor::unknown_keys(short, &props) {
            let msg = format!("unknown key for a {short} interceptor; ignored");
            cx.warn(&format!("interceptors.{name}.{k}"), msg);
        }
        props.insert("type".into(), short.into());
        out.push(InterceptorSpec {
            name: name.to_owned(),
            kind: short.to_owned(),
            props,
        });
    }
    out
}

/// Checks `processor.*` of a sink group against its sinks and builds the processor config.
pub fn processor(cx: &mut Ctx<'_>, sinks: &[String]) -> Option<SinkProcessorConfig> {
    cx.use_prefix("processor.");
    let props = sub_props(cx, "processor.");
    if let Some(t) = props.get("type") {
        if resolve(PROCESSOR_TYPES, t).is_none() {
            let msg = format!(
                "unknown sink processor type {t:?}; supported: {}",
                supported(PROCESSOR_TYPES)
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
            for k in p.unknown_keys(&props) {
                cx.warn(
                    &format!("processor.{k}"),
                    "unknown key for this sink processor; ignored",
                );
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
