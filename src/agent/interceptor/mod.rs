//! Interceptors: per-event transformations and filters applied by a source before the channel
//! selector, with Flume's type names, keys and defaults. [`build`] makes one from its type name
//! and properties; [`Chain`] applies a source's list in order.
//!
//! A step runs in one of two shapes: [`Interceptor`], synchronous and called in place (every
//! one of Sluice's, pure), or [`AsyncInterceptor`], awaited and able to refuse the batch (a
//! user's class, run by the plugin host the registry names). Regular expressions use the `regex` crate, whose
//! syntax is close to Java's but has no look-around or back-references; a pattern using them is
//! a configuration error naming the key.

mod bound;
mod chain;
pub(crate) mod config;
mod headers;
mod millis;
mod regex_extractor;
mod regex_filter;
mod remove_header;
mod search_replace;

use std::fmt::Debug;

use regex::Regex;

use crate::agent::component::{ComponentError, Props};
use crate::agent::future::{BoxFuture, StepError};
use sluice_core::Event;

pub use bound::Grew;
pub(crate) use chain::Step;
pub use chain::{Chain, InterceptError, Refused};

/// The kind of an [`config::InterceptorSpec`] whose `type` is a user's builder class (an
/// [`AsyncInterceptor`] started by the plugin host, `router::PluginHost`).
pub const CLASS_KIND: &str = "class";
pub(crate) use headers::{
    HostInterceptor, StaticInterceptor, TimestampInterceptor, UuidInterceptor,
};
pub(crate) use regex_extractor::RegexExtractorInterceptor;
pub(crate) use regex_filter::RegexFilterInterceptor;
pub(crate) use remove_header::RemoveHeaderInterceptor;
pub(crate) use search_replace::SearchReplaceInterceptor;

/// One step of a source's interceptor chain.
pub trait Interceptor: Send + Sync + Debug {
    /// Transforms one event, or drops it by returning `None`.
    fn intercept(&self, e: Event) -> Option<Event>;

    /// Transforms a batch, keeping the order of the events that survive.
    fn intercept_batch(&self, v: Vec<Event>) -> Vec<Event> {
        v.into_iter().filter_map(|e| self.intercept(e)).collect()
    }
}

/// An awaited step of a source's chain (a call into another process): it takes the batch and
/// answers the events to go on with, in order, or refuses the whole batch.
pub trait AsyncInterceptor: Send + Sync + Debug {
    /// The interceptor and what runs it, for messages.
    fn label(&self) -> &str;

    /// Transforms a batch. Cancel safety: a cancelled call loses the batch (the caller still
    /// holds no copy of it) but leaves the step usable.
    fn intercept_batch(&self, v: Vec<Event>) -> BoxFuture<'_, Result<Vec<Event>, StepError>>;
}

/// The interceptor types: Flume short name (matched case-insensitively) and Java builder class.
pub(crate) const TYPES: &[(&str, &str)] = &[
    (
        "timestamp",
        "org.apache.flume.interceptor.TimestampInterceptor$Builder",
    ),
    (
        "host",
        "org.apache.flume.interceptor.HostInterceptor$Builder",
    ),
    (
        "static",
        "org.apache.flume.interceptor.StaticInterceptor$Builder",
    ),
    (
        "remove_header",
        "org.apache.flume.interceptor.RemoveHeaderInterceptor$Builder",
    ),
    (
        "uuid",
        "org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder",
    ),
    (
        "regex_filter",
        "org.apache.flume.interceptor.RegexFilteringInterceptor$Builder",
    ),
    (
        "regex_extractor",
        "org.apache.flume.interceptor.RegexExtractorInterceptor$Builder",
    ),
    (
        "search_replace",
        "org.apache.flume.interceptor.SearchAndReplaceInterceptor$Builder",
    ),
];

/// Builds an interceptor from its `type` value and its properties (keys relative to the
/// interceptor, e.g. `preserveExisting`). Errors name the offending key.
pub(crate) fn build(
    type_name: &str,
    props: &Props,
) -> Result<Box<dyn Interceptor>, ComponentError> {
    let t = type_name.trim();
    let short = TYPES
        .iter()
        .find(|(short, class)| short.eq_ignore_ascii_case(t) || *class == t)
        .map(|(short, _)| *short);
    Ok(match short {
        Some("timestamp") => Box::new(TimestampInterceptor::from_props(props)?),
        Some("host") => Box::new(HostInterceptor::from_props(props)?),
        Some("static") => Box::new(StaticInterceptor::from_props(props)?),
        Some("remove_header") => Box::new(RemoveHeaderInterceptor::from_props(props)?),
        Some("uuid") => Box::new(UuidInterceptor::from_props(props)?),
        Some("regex_filter") => Box::new(RegexFilterInterceptor::from_props(props)?),
        Some("regex_extractor") => Box::new(RegexExtractorInterceptor::from_props(props)?),
        Some("search_replace") => Box::new(SearchReplaceInterceptor::from_props(props)?),
        _ => {
            let names: Vec<&str> = TYPES.iter().map(|(s, _)| *s).collect();
            return Err(ComponentError::new(
                "type",
                format!(
                    "unknown interceptor type {t:?}; supported: {}",
                    names.join(", ")
                ),
            ));
        }
    })
}

/// The plain keys (besides `type` and `serializers.<s>.*`) an interceptor of the short type
/// `short` reads: what [`unknown_keys`] knows and a typo's did-you-mean is taken from.
pub(crate) fn fixed_keys(short: &str) -> &'static [&'static str] {
    match short {
        "timestamp" => &["headerName", "preserveExisting"],
        "host" => &["hostHeader", "useIP", "preserveExisting"],
        "static" => &["key", "value", "preserveExisting"],
        "remove_header" => &["withName", "fromList", "fromListSeparator", "matching"],
        "uuid" => &["headerName", "preserveExisting", "prefix"],
        "regex_filter" => &["regex", "excludeEvents"],
        "regex_extractor" => &["regex", "serializers"],
        "search_replace" => &["searchPattern", "replaceString", "charset"],
        _ => &[],
    }
}

/// The keys of `props` that an interceptor of `type_name` does not read (for the config layer's
/// unknown-key warnings). `type` is always known; an unknown type yields no keys.
pub(crate) fn unknown_keys(type_name: &str, props: &Props) -> Vec<String> {
    let t = type_name.trim();
    let Some((short, _)) = TYPES
        .iter()
        .find(|(short, class)| short.eq_ignore_ascii_case(t) || *class == t)
    else {
        return Vec::new();
    };
    let fixed = fixed_keys(short);
    let serializers: Vec<&str> = match (*short, props.get("serializers")) {
        ("regex_extractor", Some(list)) => list.split_whitespace().collect(),
        _ => Vec::new(),
    };
    let known = |key: &str| {
        key == "type"
            || fixed.contains(&key)
            || key
                .strip_prefix("serializers.")
                .and_then(|rest| rest.split_once('.'))
                .is_some_and(|(s, field)| {
                    serializers.contains(&s) && ["name", "type", "pattern"].contains(&field)
                })
    };
    props.keys().filter(|k| !known(k)).cloned().collect()
}

/// A string property, or `default` when absent.
fn string_prop(props: &Props, key: &str, default: &str) -> String {
    props
        .get(key)
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| default.to_string())
}

/// A boolean property (`true`/`false`, any case), or `default` when absent. Flume reads any
/// other value as `false`; Sluice rejects it.
fn bool_prop(props: &Props, key: &str, default: bool) -> Result<bool, ComponentError> {
    match props.get(key).map(|v| v.trim()) {
        None => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(ComponentError::new(
            key,
            format!("expected true or false, got {v:?}"),
        )),
    }
}

/// A required property that must not be empty.
fn required_prop<'a>(props: &'a Props, key: &str) -> Result<&'a str, ComponentError> {
    match props.get(key) {
        Some(v) if !v.is_empty() => Ok(v.as_str()),
        _ => Err(ComponentError::new(
            key,
            "is required and must not be empty",
        )),
    }
}

/// Compiles `pattern` for property `key`.
fn compile(key: &str, pattern: &str) -> Result<Regex, ComponentError> {
    Regex::new(pattern)
        .map_err(|e| ComponentError::new(key, format!("invalid regular expression: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::agent::component::props_of as props;

    #[test]
    fn every_type_builds_from_its_short_name_and_its_java_class() {
        let p = props(&[
            ("regex", "(\\d+)"),
            ("serializers", "s1"),
            ("serializers.s1.name", "n"),
            ("searchPattern", "a"),
            ("replaceString", "b"),
        ]);
        for (short, class) in TYPES {
            assert!(build(short, &p).is_ok(), "{short}");
            assert!(build(&short.to_uppercase(), &p).is_ok(), "{short}");
            assert!(build(class, &p).is_ok(), "{class}");
        }
    }

    #[test]
    fn unknown_type_is_an_error_on_the_type_key_listing_supported_types() {
        let err = build("morphline", &Props::new()).unwrap_err();
        assert_eq!(err.key, "type");
        assert!(err.message.contains("regex_extractor"), "{err}");
        // Java class names are case-sensitive, as Class.forName is.
        let err = build(
            "org.apache.flume.interceptor.timestampinterceptor$builder",
            &Props::new(),
        )
        .unwrap_err();
        assert_eq!(err.key, "type");
    }

    #[test]
    fn boolean_properties_reject_values_other_than_true_or_false() {
        let err = build("timestamp", &props(&[("preserveExisting", "yes")])).unwrap_err();
        assert_eq!(err.key, "preserveExisting");
        assert!(build("timestamp", &props(&[("preserveExisting", " TRUE ")])).is_ok());
    }

    #[test]
    fn unknown_keys_lists_only_keys_the_type_does_not_read() {
        let p = props(&[
            ("type", "static"),
            ("key", "k"),
            ("valu", "typo"),
            ("preserveExisting", "false"),
        ]);
        assert_eq!(unknown_keys("static", &p), ["valu"]);
        let p = props(&[
            ("regex", "(a)"),
            ("serializers", "s1"),
            ("serializers.s1.name", "h"),
            ("serializers.s1.pattern", "yyyy"),
            ("serializers.s2.name", "unused"),
            ("serializers.s1.nmae", "typo"),
        ]);
        assert_eq!(
            unknown_keys("regex_extractor", &p),
            ["serializers.s1.nmae", "serializers.s2.name"]
        );
        assert!(unknown_keys("nope", &p).is_empty());
    }

    #[test]
    fn default_batch_interception_drops_filtered_events_and_keeps_order() {
        let f = build("regex_filter", &props(&[("regex", "keep")])).unwrap();
        let out = f.intercept_batch(vec![
            Event::new("keep 1"),
            Event::new("drop"),
            Event::new("keep 2"),
        ]);
        assert_eq!(out, vec![Event::new("keep 1"), Event::new("keep 2")]);
    }
}
