//! `regex_filter`: keeps (or, with `excludeEvents`, drops) events whose body, read as UTF-8,
//! contains a match of `regex` (default `.*`, which matches every body). Like Java's
//! `Matcher.find`, the match may be anywhere in the body.

use regex::Regex;

use super::{bool_prop, compile, Interceptor};
use crate::agent::component::{ComponentError, Props};
use sluice_core::Event;

/// Filters events by a regular expression on the body.
#[derive(Debug, Clone)]
pub(crate) struct RegexFilterInterceptor {
    regex: Regex,
    exclude: bool,
}

impl RegexFilterInterceptor {
    /// Builds from properties: `regex` (default `.*`), `excludeEvents` (default false).
    pub(crate) fn from_props(props: &Props) -> Result<Self, ComponentError> {
        let pattern = props.get("regex").map(String::as_str).unwrap_or(".*");
        Ok(RegexFilterInterceptor {
            regex: compile("regex", pattern)?,
            exclude: bool_prop(props, "excludeEvents", false)?,
        })
    }
}

impl Interceptor for RegexFilterInterceptor {
    fn intercept(&self, e: Event) -> Option<Event> {
        let found = self.regex.is_match(&String::from_utf8_lossy(&e.body));
        (found != self.exclude).then_some(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(pairs: &[(&str, &str)]) -> RegexFilterInterceptor {
        let p: Props = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RegexFilterInterceptor::from_props(&p).unwrap()
    }

    #[test]
    fn default_regex_keeps_every_event_including_empty_ones() {
        let f = filter(&[]);
        assert!(f.intercept(Event::new("")).is_some());
        assert!(f.intercept(Event::new(vec![0xff, 0xfe])).is_some());
    }

    #[test]
    fn include_mode_keeps_only_bodies_containing_a_match() {
        let f = filter(&[("regex", "ERROR|WARN")]);
        assert!(f.intercept(Event::new("2024 ERROR disk")).is_some());
        assert!(f.intercept(Event::new("2024 INFO ok")).is_none());
    }

    #[test]
    fn exclude_mode_drops_bodies_containing_a_match() {
        let f = filter(&[("regex", "^DEBUG"), ("excludeEvents", "true")]);
        assert!(f.intercept(Event::new("DEBUG noisy")).is_none());
        assert!(f.intercept(Event::new("INFO DEBUG later")).is_some());
    }

    #[test]
    fn an_invalid_or_unsupported_regex_names_the_key() {
        let p: Props = [("regex".to_string(), "(?=lookahead)".to_string())].into();
        assert_eq!(
            RegexFilterInterceptor::from_props(&p).unwrap_err().key,
            "regex"
        );
    }
}
