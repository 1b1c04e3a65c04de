//! One event as one NATS message: the subject from the template, the body as the payload,
//! the event's headers as NATS headers (without `sluiceId`: [`crate::agent::out_headers`]),
//! and `Nats-Msg-Id` = the event id. An event that cannot be a NATS message (a header name
//! NATS refuses or one in its reserved `Nats-` namespace, a value with a line break, a
//! subject the template makes invalid) is a poison event, with the reason.

use std::str::FromStr;

use async_nats::header::{HeaderName, HeaderValue};
use async_nats::HeaderMap;
use sluice_core::dedup::EVENT_ID_HEADER;
use sluice_core::Event;

use super::batch::Msg;
use crate::agent::nats::subject::publish_problem;
use crate::agent::sink::kafka::placement::substitute;

/// The header JetStream deduplicates on within the stream's `duplicate_window`.
pub(crate) const MSG_ID_HEADER: &str = "Nats-Msg-Id";

/// Why an event cannot be a NATS message (its poison reason).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum MsgError {
    /// The template gives this event an invalid subject.
    #[error("subject {subject:?} (from the sink's `subject` template): {why}")]
    Subject {
        /// The subject made.
        subject: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A header in JetStream's own namespace.
    #[error("header {0:?} is in NATS's reserved Nats- namespace (JetStream would act on it)")]
    Reserved(String),
    /// A header name NATS refuses.
    #[error("header name {0:?} is not a NATS header name (no space, colon or control character)")]
    HeaderName(String),
    /// A header value with a line break.
    #[error("header {0:?} has a line break in its value")]
    HeaderValue(String),
}

/// `e` as a message to the subject `template` gives it, or why it cannot be one.
pub(crate) fn to_msg(template: &str, e: &Event) -> Result<Msg, MsgError> {
    let subject = substitute(template, e).into_owned();
    if let Some(why) = publish_problem(&subject) {
        return Err(MsgError::Subject { subject, why });
    }
    let mut headers = HeaderMap::new();
    for (k, v) in e.headers.iter() {
        if k == EVENT_ID_HEADER {
            continue;
        }
        if k.len() >= 5 && k[..5].eq_ignore_ascii_case("nats-") {
            return Err(MsgError::Reserved(k.to_owned()));
        }
        let name = HeaderName::from_str(k).map_err(|_| MsgError::HeaderName(k.to_owned()))?;
        let value = HeaderValue::from_str(v).map_err(|_| MsgError::HeaderValue(k.to_owned()))?;
        headers.insert(name, value);
    }
    if let Some(id) = e.headers.get(EVENT_ID_HEADER) {
        headers.insert(MSG_ID_HEADER, id);
    }
    Ok(Msg {
        subject,
        headers,
        payload: e.body.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_becomes_the_msg_id_and_not_a_header() {
        let e = Event::new("body")
            .header("svc", "web")
            .header(EVENT_ID_HEADER, "00000000000000ab:7");
        let m = to_msg("logs.%{svc}", &e).unwrap();
        assert_eq!(m.subject, "logs.web");
        assert_eq!(m.payload.as_ref(), b"body");
        assert_eq!(m.headers.get("svc").map(|v| v.as_str()), Some("web"));
        assert_eq!(
            m.headers.get(MSG_ID_HEADER).map(|v| v.as_str()),
            Some("00000000000000ab:7")
        );
        assert!(m.headers.get(EVENT_ID_HEADER).is_none());
    }

    #[test]
    fn an_event_that_cannot_be_a_message_says_why() {
        let no_svc = Event::new("b");
        assert!(to_msg("logs.%{svc}", &no_svc)
            .unwrap_err()
            .to_string()
            .contains("empty token"));
        let reserved = Event::new("b").header("Nats-Expected-Stream", "x");
        assert_eq!(
            to_msg("logs.a", &reserved).err(),
            Some(MsgError::Reserved("Nats-Expected-Stream".into()))
        );
        let bad_name = Event::new("b").header("a b", "x");
        assert_eq!(
            to_msg("logs.a", &bad_name).err(),
            Some(MsgError::HeaderName("a b".into()))
        );
        let bad_value = Event::new("b").header("k", "x\r\ny");
        assert_eq!(
            to_msg("logs.a", &bad_value).err(),
            Some(MsgError::HeaderValue("k".into()))
        );
    }
}
