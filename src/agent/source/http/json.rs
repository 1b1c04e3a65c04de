//! Flume's `JSONHandler` as a pure function of a request's bytes: a JSON array of
//! `{"headers": {"k": "v", ...}, "body": "text"}`, numbers and booleans taken as their text (as
//! Gson does), a missing body empty, in the charset of `Content-Type` (handler.rs).
//!
//! The array is decoded as a stream straight into events, never into an intermediate tree, and
//! within limits checked as it goes: at most `maxEventsPerRequest` events, and the events
//! counted ([`crate::wire::cost`]: bodies, keys and values plus a fixed cost per event and per
//! header) for at most a given number of bytes. [`json_cost`] makes the same count without
//! keeping anything, so a caller can learn what a request needs before it decodes it: a
//! 16 MiB body of `[{},{},...]` cannot turn into hundreds of MiB of events.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::handler::{charset_of, decode, encode, Charset, CharsetError, Scalar};
use crate::wire::cost::Cost;
use sluice_core::Event;

/// Why a JSON request is not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JsonError {
    /// Not a JSON array of events in a supported charset: answer 400 with this reason.
    Bad(String),
    /// The request's charset, or its text in it, is refused: answer 400.
    Charset(CharsetError),
    /// More events than allowed: answer 413.
    TooManyEvents {
        /// The limit.
        max: usize,
    },
    /// The events would be counted for more bytes than allowed (nothing is kept).
    OverBudget {
        /// The limit.
        max: u64,
    },
}

impl From<CharsetError> for JsonError {
    fn from(e: CharsetError) -> Self {
        JsonError::Charset(e)
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Bad(reason) => f.write_str(reason),
            JsonError::Charset(e) => e.fmt(f),
            JsonError::TooManyEvents { max } => {
                write!(
                    f,
                    "request has more than {max} events (maxEventsPerRequest)"
                )
            }
            JsonError::OverBudget { max } => write!(
                f,
                "request's events would take more than {max} bytes in memory (maxInflightBytes / 2)"
            ),
        }
    }
}

/// Flume's `JSONHandler` without limits: the events, or the reason to answer 400 with.
#[cfg(test)]
pub(crate) fn json_events(body: &[u8], content_type: Option<&str>) -> Result<Vec<Event>, String> {
    json_events_counted(body, content_type, usize::MAX, u64::MAX)
        .map(|(events, _)| events)
        .map_err(|e| e.to_string())
}

/// The events of a request, at most `events_max` of them and counted for at most `cost_max`
/// bytes, with what they are counted for (the text of a body not in UTF-8 included).
pub(crate) fn json_events_counted(
    body: &[u8],
    content_type: Option<&str>,
    events_max: usize,
    cost_max: u64,
) -> Result<(Vec<Event>, u64), JsonError> {
    run(body, content_type, events_max, cost_max, true)
}

/// What [`json_events_counted`] would count a request's events for, found without keeping
/// them; the same errors.
pub(crate) fn json_cost(
    body: &[u8],
    content_type: Option<&str>,
    events_max: usize,
) -> Result<u64, JsonError> {
    run(body, content_type, events_max, u64::MAX, false).map(|(_, cost)| cost)
}

fn run(
    body: &[u8],
    content_type: Option<&str>,
    events_max: usize,
    cost_max: u64,
    keep: bool,
) -> Result<(Vec<Event>, u64), JsonError> {
    let cs = charset_of(content_type)?;
    let text = decode(body, cs)?;
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(JsonError::Bad(
            "request body is empty; expected a JSON array of events".into(),
        ));
    }
    if !trimmed.starts_with('[') {
        return Err(JsonError::Bad(format!(
            "request body is not a JSON array of events (it starts with {:?}); expected \
             [{{\"headers\":{{...}},\"body\":\"...\"}}, ...]",
            trimmed.chars().next().unwrap_or(' ')
        )));
    }
    let mut st = State {
        cost: Cost::new(cost_max),
        events_max,
        cs,
        keep,
        stopped: None,
    };
    if let std::borrow::Cow::Owned(t) = &text {
        // A transcoded body is a second copy of the request while it is parsed.
        st.cost.add(t.len() as u64).map_err(|_| over(&st.cost))?;
    }
    let mut de = serde_json::Deserializer::from_str(&text);
    let parsed = Events(&mut st)
        .deserialize(&mut de)
        .and_then(|events| de.end().map(|()| events));
    match parsed {
        Ok(events) => Ok((events, st.cost.bytes)),
        Err(e) => Err(st
            .stopped
            .take()
            .unwrap_or_else(|| JsonError::Bad(format!("request has invalid JSON: {e}")))),
    }
}

fn over(cost: &Cost) -> JsonError {
    JsonError::OverBudget { max: cost.max }
}

/// The decoding state shared by the visitors.
struct State {
    cost: Cost,
    events_max: usize,
    cs: Charset,
    keep: bool,
    /// Why decoding stopped early (a limit), if it did.
    stopped: Option<JsonError>,
}

impl State {
    /// Counts `n` bytes, or stops decoding.
    fn count<E: de::Error>(
        &mut self,
        n: Result<(), crate::wire::cost::OverBudget>,
    ) -> Result<(), E> {
        n.map_err(|_| self.stop(over(&self.cost)))
    }

    fn stop<E: de::Error>(&mut self, why: JsonError) -> E {
        let e = E::custom(&why);
        self.stopped = Some(why);
        e
    }
}

/// The top-level array.
struct Events<'s>(&'s mut State);

impl<'de> DeserializeSeed<'de> for Events<'_> {
    type Value = Vec<Event>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Event>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Events<'_> {
    type Value = Vec<Event>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of events")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Event>, A::Error> {
        let mut events = Vec::new();
        let mut n = 0usize;
        while let Some(e) = seq.next_element_seed(OneEvent(&mut *self.0))? {
            n += 1;
            if n > self.0.events_max {
                let max = self.0.events_max;
                return Err(self.0.stop(JsonError::TooManyEvents { max }));
            }
            events.extend(e);
        }
        Ok(events)
    }
}

/// One `{"headers": ..., "body": ...}` (`None` when only counting).
struct OneEvent<'s>(&'s mut State);

impl<'de> DeserializeSeed<'de> for OneEvent<'_> {
    type Value = Option<Event>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Event>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for OneEvent<'_> {
    type Value = Option<Event>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Event>, A::Error> {
        let st = self.0;
        let r = st.cost.event();
        st.count(r)?;
        let mut headers: Option<BTreeMap<String, String>> = None;
        let mut body: Option<Option<Scalar>> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "headers" => {
                    if headers.is_some() {
                        return Err(de::Error::duplicate_field("headers"));
                    }
                    headers = Some(map.next_value_seed(Headers(&mut *st))?);
                }
                "body" => {
                    if body.is_some() {
                        return Err(de::Error::duplicate_field("body"));
                    }
                    body = Some(map.next_value()?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let text = body.flatten().and_then(|b| b.0).unwrap_or_default();
        let bytes = encode(&text, st.cs);
        let r = st.cost.add(bytes.len() as u64);
        st.count(r)?;
        Ok(st
            .keep
            .then(|| Event::with_headers(headers.unwrap_or_default(), bytes)))
    }
}

/// The `headers` object (or `null`), each header counted before it is kept.
struct Headers<'s>(&'s mut State);

impl<'de> DeserializeSeed<'de> for Headers<'_> {
    type Value = BTreeMap<String, String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Headers<'_> {
    type Value = BTreeMap<String, String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a headers object")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let st = self.0;
        let mut headers = BTreeMap::new();
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value::<Scalar>()?.0.unwrap_or_default();
            let r = st.cost.header(k.len(), v.len());
            st.count(r)?;
            if st.keep {
                headers.insert(k, v);
            }
        }
        Ok(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_array_becomes_events_with_headers_and_utf8_bodies() {
        let body = br#"[{"headers":{"a":"b","n":5,"t":true,"z":null},"body":"caf\u00e9"},{"body":"x"},{}]"#;
        let ev = json_events(body, Some("application/json")).unwrap();
        assert_eq!(ev.len(), 3);
        assert_eq!(ev[0].headers.get("a").unwrap(), "b");
        assert_eq!(ev[0].headers.get("n").unwrap(), "5");
        assert_eq!(ev[0].headers.get("t").unwrap(), "true");
        assert_eq!(ev[0].headers.get("z").unwrap(), "");
        assert_eq!(ev[0].body, "café".as_bytes());
        assert!(ev[1].headers.is_empty());
        assert_eq!(ev[1].body, &b"x"[..]);
        assert!(ev[2].body.is_empty());
    }

    #[test]
    fn a_json_body_that_is_not_an_array_is_refused_with_the_reason() {
        let err = json_events(br#"{"headers":{},"body":"x"}"#, None).unwrap_err();
        assert!(err.contains("not a JSON array"), "{err}");
        let err = json_events(b"", None).unwrap_err();
        assert!(err.contains("empty"), "{err}");
        let err = json_events(br#"[{"body":"x"}"#, None).unwrap_err();
        assert!(err.contains("invalid JSON"), "{err}");
        let err = json_events(br#"[{"body":{"x":1}}]"#, None).unwrap_err();
        assert!(err.contains("invalid JSON"), "{err}");
        let err = json_events(b"[\"\xff\"]", None).unwrap_err();
        assert!(err.contains("not valid UTF-8"), "{err}");
    }

    #[test]
    fn a_utf16_request_gives_bodies_encoded_as_java_does() {
        let text = r#"[{"headers":{"k":"v"},"body":"hé"}]"#;
        let mut body = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            body.extend_from_slice(&u.to_le_bytes());
        }
        let ev = json_events(&body, Some("application/json; charset=\"UTF-16\"")).unwrap();
        assert_eq!(ev[0].headers.get("k").unwrap(), "v");
        assert_eq!(ev[0].body, vec![0xFE, 0xFF, 0, b'h', 0, 0xE9]);
        let utf32: Vec<u8> = text
            .chars()
            .flat_map(|c| (c as u32).to_be_bytes())
            .collect();
        let ev = json_events(&utf32, Some("application/json;charset=utf-32")).unwrap();
        assert_eq!(ev[0].body, vec![0, 0, 0, b'h', 0, 0, 0, 0xE9]);
    }

    #[test]
    fn an_unsupported_charset_is_refused() {
        let err = json_events(b"[]", Some("application/json; charset=ISO-8859-1")).unwrap_err();
        assert!(err.contains("ISO-8859-1"), "{err}");
    }

    #[test]
    fn a_body_of_many_empty_events_stops_at_the_event_limit() {
        let mut body = b"[".to_vec();
        body.extend(b"{},".repeat(1000));
        body.extend(b"{}]");
        let e = json_events_counted(&body, None, 100, u64::MAX).unwrap_err();
        assert_eq!(e, JsonError::TooManyEvents { max: 100 });
        let (events, _) = json_events_counted(&body, None, 1001, u64::MAX).unwrap();
        assert_eq!(events.len(), 1001);
    }

    #[test]
    fn tiny_headers_are_counted_before_they_are_kept() {
        let mut body = br#"[{"headers":{"#.to_vec();
        let pairs: Vec<String> = (0..10_000).map(|i| format!("\"{i}\":\"\"")).collect();
        body.extend(pairs.join(",").as_bytes());
        body.extend(br#"},"body":"x"}]"#);
        let cost = json_cost(&body, None, usize::MAX).unwrap();
        assert!(cost > 10_000 * 128, "{cost}");
        let (events, counted) = json_events_counted(&body, None, usize::MAX, cost).unwrap();
        assert_eq!((events[0].headers.len(), counted), (10_000, cost));
        let e = json_events_counted(&body, None, usize::MAX, cost / 2).unwrap_err();
        assert_eq!(e, JsonError::OverBudget { max: cost / 2 });
    }

    #[test]
    fn unknown_keys_are_ignored_and_duplicates_refused() {
        let ev = json_events(br#"[{"x":[1,{}],"body":"b","headers":null}]"#, None).unwrap();
        assert_eq!(ev[0].body, &b"b"[..]);
        let err = json_events(br#"[{"body":"a","body":"b"}]"#, None).unwrap_err();
        assert!(err.contains("invalid JSON"), "{err}");
    }
}
