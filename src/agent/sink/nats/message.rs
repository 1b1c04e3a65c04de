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

/// `e` as a message to the subject `template` gives it, or why it cannot be one.
pub(crate) fn to_msg(template: &str, e: &Event) -> Result<Msg, String> {
    let subject = substitute(template, e).into_owned();
    if let Some(why) = publish_problem(&subject) {
        return Err(format!("subject {subject:?}: {why}"));
    }
    let mut headers = HeaderMap::new();
    for (k, v) in e.headers.iter() {
        if k == EVENT_ID_HEADER {
            continue;
        }
        if k.len() >= 5 && k[..5].eq_ignore_ascii_case("nats-") {
            return Err(format!(
                "header {k:?} is in NATS's reserved Nats- namespace (JetStream would act on it)"
            ));
        }
        let name = HeaderName::from_str(k)
            .map_err(|_| format!("header name {k:?} is not a NATS header name"))?;
        let value = HeaderValue::from_str(v)
            .map_err(|_| format!("header {k:?} has a line break in its value"))?;
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
            .contains("empty token"));
        let reserved = Event::new("b").header("Nats-Expected-Stream", "x");
        assert!(to_msg("logs.a", &reserved)
            .unwrap_err()
            .contains("reserved"));
        let bad_name = Event::new("b").header("a b", "x");
        assert!(to_msg("logs.a", &bad_name).is_err());
        let bad_value = Event::new("b").header("k", "x\r\ny");
        assert!(to_msg("logs.a", &bad_value)
            .unwrap_err()
            .contains("line break"));
    }
}
