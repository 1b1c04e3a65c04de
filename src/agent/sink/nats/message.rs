//! One event as one NATS message: the subject from the template, the body as the payload,
//! the event's headers as NATS headers (without `sluiceId`: [`crate::agent::out_headers`]),
//! and `Nats-Msg-Id` = the event id. An event that cannot be a NATS message (a header name
//! NATS refuses or one in its reserved `Nats-` namespace, a value with a line break, a
//! subject the template makes invalid) is a poison event, with the reason. So is one whose
//! message would be larger than the server takes ([`Limit`]: `max_payload` from the server's
//! `INFO`, and the stream's `max_msg_size`): NATS would refuse it every time (issue 87).

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
    /// Larger than the server or the stream takes.
    #[error("the message is {bytes} bytes (body and headers), over {limit}")]
    TooLarge {
        /// The message's size as NATS counts it (with the batch's own headers).
        bytes: usize,
        /// The limit it passes.
        limit: Limit,
    },
}

/// The largest message the destination takes, and whose limit that is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Limit {
    /// Bytes (body and headers).
    pub bytes: usize,
    /// `max_payload of server n1 (nats://...)`, `max_msg_size of stream "LOGS"`.
    pub whose: String,
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the {} = {} bytes", self.whose, self.bytes)
    }
}

/// Bytes kept free in every message for the headers an atomic batch adds (`Nats-Batch-Id`,
/// `Nats-Batch-Sequence`, `Nats-Batch-Commit`: 98 bytes at most).
pub(crate) const BATCH_HEADERS_BYTES: usize = 128;

/// `m`'s size as NATS counts it against `max_payload`: the payload and the header block
/// (`NATS/1.0\r\n`, `name: value\r\n` each, `\r\n`), plus [`BATCH_HEADERS_BYTES`].
pub(crate) fn wire_bytes(m: &Msg) -> usize {
    let mut headers = "NATS/1.0\r\n\r\n".len() + BATCH_HEADERS_BYTES;
    for (name, values) in m.headers.iter() {
        for v in values {
            headers += AsRef::<str>::as_ref(name).len() + ": \r\n".len() + v.as_str().len();
        }
    }
    m.payload.len() + headers
}

/// `to_msg`, and a [`MsgError::TooLarge`] for a message over `limit`.
pub(crate) fn to_msg_within(
    template: &str,
    e: &Event,
    limit: Option<&Limit>,
) -> Result<Msg, MsgError> {
    let m = to_msg(template, e)?;
    let bytes = wire_bytes(&m);
    match limit {
        Some(l) if bytes > l.bytes => Err(MsgError::TooLarge {
            bytes,
            limit: l.clone(),
        }),
        _ => Ok(m),
    }
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
    fn an_event_over_the_limit_is_too_large_and_one_under_it_is_not() {
        let limit = Limit {
            bytes: 1024,
            whose: "max_payload of server n1".into(),
        };
        let small = Event::new(vec![b'x'; 512]).header("svc", "web");
        assert!(to_msg_within("logs.a", &small, Some(&limit)).is_ok());
        let big = Event::new(vec![b'x'; 1000]).header("svc", "web");
        let e = to_msg_within("logs.a", &big, Some(&limit)).unwrap_err();
        assert!(matches!(e, MsgError::TooLarge { bytes, .. } if bytes > 1024));
        assert!(e
            .to_string()
            .contains("max_payload of server n1 = 1024 bytes"));
        assert!(to_msg_within("logs.a", &big, None).is_ok());
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
