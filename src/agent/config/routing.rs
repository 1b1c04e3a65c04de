//! The routing parts of a source and a sink group: the selector, the interceptor list and the
//! processor, checked for types and dangling references.

use std::collections::BTreeMap;

use super::ctx::Ctx;
use super::types::{resolve, supported, INTERCEPTOR_TYPES, PROCESSOR_TYPES, SELECTOR_TYPES};
use crate::agent::component::Props;

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

/// Checks `selector.*` against the source's channel list and returns it (relative keys).
pub fn selector(cx: &mut Ctx<'_>, channels: &[String]) -> Props {
    cx.use_prefix("selector.");
    let props = sub_props(cx, "selector.");
    let kind = match props.get("type") {
        None => "replicating",
        Some(t) => match resolve(SELECTOR_TYPES, t) {
            Some(s) => s,
            None => {
                let msg = format!(
                    "unknown selector type {t:?}; supported: {}",
                    supported(SELECTOR_TYPES)
                );
                cx.error("selector.type", msg);
                return props;
            }
        },
    };
    for (k, v) in &props {
        let refs = match (kind, k.as_str()) {
            (_, "type") => continue,
            ("replicating", "optional") => true,
            ("multiplexing", "header") => false,
            ("multiplexing", "default") => true,
            ("multiplexing", other)
                if other.starts_with("mapping.") || other.starts_with("optional.") =>
            {
                true
            }
            _ => {
                cx.warn(
                    &format!("selector.{k}"),
                    format!("unknown key for a {kind} selector; ignored"),
                );
                continue;
            }
        };
        if refs {
            for ch in v.split_whitespace() {
                if !channels.iter().any(|c| c == ch) {
                    cx.error(
                        &format!("selector.{k}"),
                        format!(
                            "channel {ch} is not in this source's channels ({})",
                            channels.join(" ")
                        ),
                    );
                }
            }
        }
    }
    props
}

/// Checks `interceptors` and `interceptors.<i>.*` and returns the chain in order.
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
        props.insert("type".into(), short.into());
        out.push(InterceptorSpec {
            name: name.to_owned(),
            kind: short.to_owned(),
            props,
        });
    }
    out
}

/// Checks `processor.*` of a sink group against its sinks; returns the processor properties
/// (relative, with `type` resolved to its short name).
pub fn processor(cx: &mut Ctx<'_>, sinks: &[String]) -> Props {
    cx.use_prefix("processor.");
    let mut props: BTreeMap<String, String> = sub_props(cx, "processor.");
    let t = props
        .get("type")
        .cloned()
        .unwrap_or_else(|| "default".into());
    let Some(kind) = resolve(PROCESSOR_TYPES, &t) else {
        let msg = format!(
            "unknown sink processor type {t:?}; supported: {}",
            supported(PROCESSOR_TYPES)
        );
        cx.error("processor.type", msg);
        return props;
    };
    props.insert("type".into(), kind.into());
    for (k, v) in props.clone() {
        let key = format!("processor.{k}");
        match (kind, k.as_str()) {
            (_, "type") => {}
            ("failover", "maxpenalty") | ("load_balance", "selector.maxTimeOut") => {
                if v.parse::<u64>().is_err() {
                    cx.error(&key, format!("expected milliseconds, got {v:?}"));
                }
            }
            ("failover", p) if p.starts_with("priority.") => {
                let sink = &p["priority.".len()..];
                if !sinks.iter().any(|s| s == sink) {
                    cx.error(&key, format!("sink {sink} is not in this group"));
                }
                if v.parse::<i64>().is_err() {
                    cx.error(&key, format!("expected an integer priority, got {v:?}"));
                }
            }
            ("load_balance", "backoff") => {
                if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") {
                    cx.error(&key, format!("expected true or false, got {v:?}"));
                }
            }
            ("load_balance", "selector") => {
                if !v.eq_ignore_ascii_case("round_robin") && !v.eq_ignore_ascii_case("random") {
                    cx.error(&key, format!("expected round_robin or random, got {v:?}"));
                }
            }
            _ => cx.warn(
                &key,
                format!("unknown key for a {kind} sink processor; ignored"),
            ),
        }
    }
    if kind == "default" && sinks.len() > 1 {
        cx.error(
            "sinks",
            "the default sink processor takes exactly one sink; use failover or load_balance",
        );
    }
    props
}
