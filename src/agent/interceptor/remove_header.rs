//! `remove_header`: deletes headers by exact name (`withName`), by list (`fromList`, split by
//! the regular expression `fromListSeparator`, default `\s*,\s*`), and by a regular expression
//! that must match the whole name (`matching`, Java's `Matcher.matches`).

use std::collections::BTreeSet;

use regex::Regex;

use super::{compile, Interceptor};
use crate::agent::component::{ComponentError, Props};
use sluice_core::Event;

/// Flume's default separator for `fromList`.
pub(crate) const DEFAULT_LIST_SEPARATOR: &str = r"\s*,\s*";

/// Removes headers by name, list or pattern.
#[derive(Debug, Clone)]
pub(crate) struct RemoveHeaderInterceptor {
    with_name: Option<String>,
    from_list: BTreeSet<String>,
    matching: Option<Regex>,
}

impl RemoveHeaderInterceptor {
    /// Builds from properties; none of the keys is required (with none, events pass unchanged).
    pub(crate) fn from_props(props: &Props) -> Result<Self, ComponentError> {
        let separator = props
            .get("fromListSeparator")
            .map(String::as_str)
            .unwrap_or(DEFAULT_LIST_SEPARATOR);
        let separator = compile("fromListSeparator", separator)?;
        let from_list = props
            .get("fromList")
            .map(|list| {
                separator
                    .split(list)
                    .filter(|n| !n.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let matching = match props.get("matching") {
            Some(p) => Some(compile("matching", &format!("^(?:{p})$"))?),
            None => None,
        };
        Ok(RemoveHeaderInterceptor {
            with_name: props.get("withName").cloned(),
            from_list,
            matching,
        })
    }
}

impl Interceptor for RemoveHeaderInterceptor {
    fn intercept(&self, mut e: Event) -> Option<Event> {
        if let Some(name) = &self.with_name {
            e.headers.remove(name);
        }
        if !self.from_list.is_empty() || self.matching.is_some() {
            e.headers.retain(|name, _| {
                !(self.from_list.contains(name)
                    || self.matching.as_ref().is_some_and(|m| m.is_match(name)))
            });
        }
        Some(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::agent::component::props_of as props;

    fn event() -> Event {
        Event::new("x")
            .header("my-header10", "a")
            .header("my-header11", "b")
            .header("my-header12", "c")
            .header("my-header20", "d")
            .header("my-header21", "e")
    }

    fn names(i: &RemoveHeaderInterceptor) -> Vec<String> {
        i.intercept(event())
            .unwrap()
            .headers
            .keys()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn with_no_keys_nothing_is_removed() {
        let i = RemoveHeaderInterceptor::from_props(&Props::new()).unwrap();
        assert_eq!(i.intercept(event()), Some(event()));
    }

    #[test]
    fn with_name_removes_exactly_that_header() {
        let i =
            RemoveHeaderInterceptor::from_props(&props(&[("withName", "my-header10")])).unwrap();
        assert_eq!(
            names(&i),
            ["my-header11", "my-header12", "my-header20", "my-header21"]
        );
    }

    #[test]
    fn from_list_splits_on_comma_with_spaces_by_default() {
        let p = props(&[("fromList", "my-header11 ,my-header12 , nope")]);
        let i = RemoveHeaderInterceptor::from_props(&p).unwrap();
        assert_eq!(names(&i), ["my-header10", "my-header20", "my-header21"]);
    }

    #[test]
    fn from_list_uses_a_custom_separator_regex() {
        let p = props(&[
            ("fromList", "my-header10:my-header20"),
            ("fromListSeparator", ":"),
        ]);
        let i = RemoveHeaderInterceptor::from_props(&p).unwrap();
        assert_eq!(names(&i), ["my-header11", "my-header12", "my-header21"]);
    }

    #[test]
    fn matching_must_match_the_whole_header_name() {
        let p = props(&[("matching", "my-header1.")]);
        let i = RemoveHeaderInterceptor::from_props(&p).unwrap();
        assert_eq!(names(&i), ["my-header20", "my-header21"]);
        // A partial match is not enough: "header2" occurs in two names but matches neither.
        let i = RemoveHeaderInterceptor::from_props(&props(&[("matching", "header2")])).unwrap();
        assert_eq!(names(&i).len(), 5);
    }

    #[test]
    fn all_three_rules_combine() {
        let p = props(&[
            ("withName", "my-header10"),
            ("fromList", "my-header11"),
            ("matching", "my-header2\\d"),
        ]);
        let i = RemoveHeaderInterceptor::from_props(&p).unwrap();
        assert_eq!(names(&i), ["my-header12"]);
    }

    #[test]
    fn bad_patterns_are_errors_naming_the_key() {
        let err = RemoveHeaderInterceptor::from_props(&props(&[("matching", "(")])).unwrap_err();
        assert_eq!(err.key, "matching");
        let p = props(&[("fromList", "a"), ("fromListSeparator", "[")]);
        let err = RemoveHeaderInterceptor::from_props(&p).unwrap_err();
        assert_eq!(err.key, "fromListSeparator");
    }
}
