//! `regex_extractor`: finds the first match of `regex` in the body (read as UTF-8, an invalid
//! sequence read as U+FFFD) and copies its capture groups into headers. `serializers` lists one serializer per group, in group
//! order; `serializers.<s>.name` is the header and `serializers.<s>.type` is `DEFAULT` (the text
//! as captured) or the millis serializer, which parses `serializers.<s>.pattern` dates.

use std::borrow::Cow;

use regex::{CaptureLocations, Regex};

use super::millis::MillisPattern;
use super::{compile, required_prop, Interceptor};
use crate::agent::component::{ComponentError, Props};
use sluice_core::{Event, EventData, Headers};

/// Flume's class name of the millis serializer (the short name `millis` is also accepted).
pub(crate) const MILLIS_SERIALIZER: &str =
    "org.apache.flume.interceptor.RegexExtractorInterceptorMillisSerializer";
/// Flume's class name of the pass-through serializer (`DEFAULT`).
pub(crate) const PASS_THROUGH_SERIALIZER: &str =
    "org.apache.flume.interceptor.RegexExtractorInterceptorPassThroughSerializer";

/// How a captured group becomes a header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Serializer {
    /// The captured text unchanged.
    PassThrough,
    /// A date parsed with a Joda-Time pattern, as epoch milliseconds.
    Millis(MillisPattern),
}

impl Serializer {
    /// Sets `header` to what `captured` serializes to (nothing when a date does not parse).
    fn set(&self, headers: &mut Headers, header: &str, captured: &str) {
        match self {
            Serializer::PassThrough => headers.insert(header, captured),
            Serializer::Millis(p) => {
                if let Some(ms) = p.millis(captured) {
                    headers.insert(header, ms.to_string());
                }
            }
        }
    }
}

/// Copies capture groups of the first match into headers.
#[derive(Debug, Clone)]
pub(crate) struct RegexExtractorInterceptor {
    regex: Regex,
    /// (header name, serializer) for groups 1, 2, ...
    serializers: Vec<(String, Serializer)>,
}

impl RegexExtractorInterceptor {
    /// Builds from properties; `regex`, `serializers` and each `serializers.<s>.name` are
    /// required.
    pub(crate) fn from_props(props: &Props) -> Result<Self, ComponentError> {
        let regex = compile("regex", required_prop(props, "regex")?)?;
        let names = required_prop(props, "serializers")?;
        let mut serializers = Vec::new();
        for s in names.split_whitespace() {
            let key = |k: &str| format!("serializers.{s}.{k}");
            let header = required_prop(props, &key("name"))?.trim().to_string();
            let kind = props
                .get(&key("type"))
                .map(|t| t.trim())
                .unwrap_or("DEFAULT");
            let serializer = if kind.eq_ignore_ascii_case("default")
                || kind == PASS_THROUGH_SERIALIZER
            {
                Serializer::PassThrough
            } else if kind.eq_ignore_ascii_case("millis") || kind == MILLIS_SERIALIZER {
                let pattern = required_prop(props, &key("pattern"))?;
                let p = MillisPattern::new(pattern)
                    .map_err(|m| ComponentError::new(key("pattern"), m.to_string()))?;
                Serializer::Millis(p)
            } else {
                return Err(ComponentError::new(
                    key("type"),
                    format!("unknown serializer {kind:?}; supported: DEFAULT, {MILLIS_SERIALIZER}"),
                ));
            };
            serializers.push((header, serializer));
        }
        if serializers.is_empty() {
            return Err(ComponentError::new(
                "serializers",
                "must name at least one serializer",
            ));
        }
        Ok(RegexExtractorInterceptor { regex, serializers })
    }
}

impl RegexExtractorInterceptor {
    /// Sets the headers of the first match in `e`'s body, `locs` holding where its groups
    /// lie: the groups go straight into the header map (no `String` or `Vec` per event, and
    /// one `locs` for a whole batch).
    fn extract(&self, mut e: Event, locs: &mut CaptureLocations) -> Event {
        let d: &mut EventData = &mut e;
        // Validated once (std's scan takes 8 bytes at a time where they are ASCII); only a
        // body that is not UTF-8 is copied with its invalid sequences replaced.
        let body = match std::str::from_utf8(&d.body) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(&d.body),
        };
        if self.regex.captures_read(locs, &body).is_some() {
            for (i, (header, ser)) in self.serializers.iter().enumerate() {
                if let Some(text) = locs.get(i + 1).and_then(|(a, b)| body.get(a..b)) {
                    ser.set(&mut d.headers, header, text);
                }
            }
        }
        e
    }
}

impl Interceptor for RegexExtractorInterceptor {
    fn intercept(&self, e: Event) -> Option<Event> {
        Some(self.extract(e, &mut self.regex.capture_locations()))
    }

    fn intercept_batch(&self, v: Vec<Event>) -> Vec<Event> {
        let mut locs = self.regex.capture_locations();
        v.into_iter().map(|e| self.extract(e, &mut locs)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(pairs: &[(&str, &str)]) -> Result<RegexExtractorInterceptor, ComponentError> {
        let p: Props = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RegexExtractorInterceptor::from_props(&p)
    }

    fn headers(i: &RegexExtractorInterceptor, body: &str) -> Vec<(String, String)> {
        i.intercept(Event::new(body))
            .unwrap()
            .headers
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn a_batch_gets_the_headers_each_event_gets_alone() {
        let i = build(&[
            ("regex", r"^([a-z]+)-(\d+)?"),
            ("serializers", "s1 s2"),
            ("serializers.s1.name", "svc"),
            ("serializers.s2.name", "n"),
        ])
        .unwrap();
        let bodies: [&[u8]; 4] = [b"web-12 x", b"db- y", b"NO MATCH", b"ok-7\xFF"];
        let batch: Vec<Event> = bodies.iter().map(|b| Event::new(*b)).collect();
        let alone: Vec<Event> = batch
            .iter()
            .map(|e| i.intercept(e.clone()).unwrap())
            .collect();
        assert_eq!(i.intercept_batch(batch.clone()), alone);
        assert_eq!(alone[0].headers.get("n"), Some("12"));
        assert_eq!(alone[1].headers.get("n"), None, "a group that took no part");
        assert!(alone[2].headers.is_empty());
        assert_eq!(alone[3].headers.get("svc"), Some("ok"));
        assert!(
            batch.iter().all(|e| e.headers.is_empty()),
            "a shared event is copied"
        );
    }

    #[test]
    fn groups_go_to_headers_in_serializer_order() {
        let i = build(&[
            ("regex", r"(\d):(\d):(\d)"),
            ("serializers", "s1 s2 s3"),
            ("serializers.s1.name", "one"),
            ("serializers.s2.name", "two"),
            ("serializers.s3.name", "three"),
        ])
        .unwrap();
        assert_eq!(
            headers(&i, "time 1:2:3 and 4:5:6"),
            pairs(&[("one", "1"), ("three", "3"), ("two", "2")])
        );
    }

    #[test]
    fn a_body_that_is_not_utf8_is_matched_with_its_invalid_bytes_as_replacement_characters() {
        let i = build(&[
            ("regex", r"id=(\S+) (\w+)$"),
            ("serializers", "a b"),
            ("serializers.a.name", "id"),
            ("serializers.b.name", "word"),
        ])
        .unwrap();
        let e = i
            .intercept(Event::new(b"\xfe id=a\xffb\xc3 end".to_vec()))
            .unwrap();
        assert_eq!(&e.headers["id"], "a\u{fffd}b\u{fffd}");
        assert_eq!(&e.headers["word"], "end");
        assert_eq!(
            e.body.as_ref(),
            b"\xfe id=a\xffb\xc3 end",
            "the body as it was"
        );
    }

    #[test]
    fn extra_groups_without_a_serializer_are_ignored() {
        let i = build(&[
            ("regex", r"(\d):(\d):(\d)"),
            ("serializers", "s1"),
            ("serializers.s1.name", "one"),
        ])
        .unwrap();
        assert_eq!(headers(&i, "1:2:3"), pairs(&[("one", "1")]));
    }

    #[test]
    fn no_match_leaves_the_event_unchanged_and_existing_headers_are_overwritten() {
        let i = build(&[
            ("regex", r"id=(\w+)"),
            ("serializers", "s"),
            ("serializers.s.name", "id"),
        ])
        .unwrap();
        assert_eq!(
            i.intercept(Event::new("nothing")),
            Some(Event::new("nothing"))
        );
        let e = i.intercept(Event::new("id=7").header("id", "old")).unwrap();
        assert_eq!(&e.headers["id"], "7");
    }

    #[test]
    fn a_group_that_did_not_participate_sets_no_header() {
        let i = build(&[
            ("regex", r"(a)?(b)"),
            ("serializers", "x y"),
            ("serializers.x.name", "x"),
            ("serializers.y.name", "y"),
        ])
        .unwrap();
        assert_eq!(headers(&i, "b"), pairs(&[("y", "b")]));
    }

    #[test]
    fn millis_serializer_turns_a_date_into_epoch_millis() {
        let i = build(&[
            ("regex", r"^(\S+) (\w+)"),
            ("serializers", "ts level"),
            ("serializers.ts.type", MILLIS_SERIALIZER),
            ("serializers.ts.name", "timestamp"),
            ("serializers.ts.pattern", "yyyy-MM-dd'T'HH:mm:ssZ"),
            ("serializers.level.name", "level"),
        ])
        .unwrap();
        assert_eq!(
            headers(&i, "2012-10-17T14:34:44+0000 WARN disk"),
            pairs(&[("level", "WARN"), ("timestamp", "1350484484000")])
        );
    }

    #[test]
    fn a_date_that_does_not_parse_sets_no_header() {
        let i = build(&[
            ("regex", r"^(\S+)"),
            ("serializers", "ts"),
            ("serializers.ts.type", "millis"),
            ("serializers.ts.name", "timestamp"),
            ("serializers.ts.pattern", "yyyy-MM-dd"),
        ])
        .unwrap();
        assert_eq!(headers(&i, "yesterday"), pairs(&[]));
    }

    #[test]
    fn configuration_errors_name_the_key() {
        let base = [
            ("regex", "(a)"),
            ("serializers", "s"),
            ("serializers.s.name", "h"),
        ];
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("regex", "")], "regex"),
            (&[("regex", "(")], "regex"),
            (&[("serializers", " ")], "serializers"),
            (&[("serializers.s.name", "")], "serializers.s.name"),
            (
                &[("serializers.s.type", "custom.Class")],
                "serializers.s.type",
            ),
            (&[("serializers.s.type", "millis")], "serializers.s.pattern"),
            (
                &[
                    ("serializers.s.type", "millis"),
                    ("serializers.s.pattern", "yyyy zzz"),
                ],
                "serializers.s.pattern",
            ),
        ];
        for (overrides, key) in cases {
            let mut p: Vec<(&str, &str)> = base.to_vec();
            p.retain(|(k, _)| !overrides.iter().any(|(o, _)| o == k));
            p.extend_from_slice(overrides);
            let err = build(&p).unwrap_err();
            assert_eq!(&err.key, key, "{overrides:?}: {err}");
        }
    }
}
