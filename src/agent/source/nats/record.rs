//! A JetStream message as an event: the payload as the body, the message's headers as the
//! event's (without JetStream's own `Nats-*` headers), the subject in the `subject` header,
//! and the event id (`sluiceId`) derived from the stream and the message's stream sequence:
//! origin = a hash of the stream's name and creation time (a stream deleted and made again
//! numbers from 1 again, and gets another origin), sequence = the stream sequence. A message
//! the server delivers again after a crash has the same id, so a file channel that committed
//! it drops it (docs/exactly-once.md).

use async_nats::jetstream::Message;
use sluice_core::dedup::{IdSpan, EVENT_ID_HEADER};
use sluice_core::Event;

use crate::agent::nats::PROGRESS_HEADER;

/// The header that carries the message's subject.
pub(crate) const SUBJECT_HEADER: &str = "subject";

/// The origin of stream `name` created at `created_ns` (ns since the epoch): FNV-1a 64.
pub(crate) fn origin(name: &str, created_ns: i128) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes().chain([0u8]).chain(created_ns.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// What one message is to the source.
#[derive(Debug)]
pub(crate) enum Record {
    /// An event to put.
    Event(Event),
    /// A nats sink's progress record: acknowledged, not put.
    Progress,
    /// No stream sequence (not a JetStream delivery): acknowledged, not put, logged.
    Unnumbered(String),
}

/// The message as an event of stream origin `origin`.
pub(crate) fn to_record(m: &Message, origin: u64) -> Record {
    let seq = match m.info() {
        Ok(i) => i.stream_sequence,
        Err(e) => return Record::Unnumbered(e.to_string()),
    };
    let Some(id) = IdSpan::one(origin, seq) else {
        return Record::Unnumbered(format!("stream sequence {seq}"));
    };
    let mut e = Event::new(m.payload.clone());
    if let Some(h) = &m.headers {
        if h.get(PROGRESS_HEADER).is_some() {
            return Record::Progress;
        }
        for (k, vs) in h.iter() {
            let k: &str = k.as_ref();
            if k.len() >= 5 && k[..5].eq_ignore_ascii_case("nats-") {
                continue;
            }
            if let Some(v) = vs.last() {
                e.headers.insert(k, v.as_str());
            }
        }
    }
    e.headers.insert(SUBJECT_HEADER, m.subject.as_str());
    e.headers.insert(EVENT_ID_HEADER, id.text().as_str());
    Record::Event(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_made_again_under_the_same_name_is_another_origin() {
        assert_eq!(origin("S", 1), origin("S", 1));
        assert_ne!(origin("S", 1), origin("S", 2));
        assert_ne!(origin("S", 1), origin("T", 1));
    }
}
