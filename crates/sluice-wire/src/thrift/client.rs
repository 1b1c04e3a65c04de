//! The client side of `ThriftSourceProtocol`: a framed call ([`encode_call`]) and its
//! reply ([`decode_reply`]: the `Status`, or the server's `TApplicationException`).

use super::binary::BinaryIn;
use super::compact::CompactIn;
use super::error::ThriftError;
use super::frame::{begin_frame, set_frame_len};
use super::proto::{skip, MessageType, ProtoIn, TType};
use super::service::{
    put_event, put_event_head, write, ExceptionKind, Method, Protocol, Status,
    EXCEPTION_MESSAGE_BYTES_MAX,
};
use crate::splice::{inline_bytes, Spliced};
use sluice_core::Event;

/// Appends one framed call of `method` carrying `events` (`append` sends the first only).
pub fn encode_call(
    protocol: Protocol,
    method: Method,
    seqid: i32,
    events: &[Event],
    out: &mut Vec<u8>,
) {
    let mut call = Spliced::default();
    encode_call_spliced(
        protocol,
        (method, seqid),
        events,
        &mut call,
        (usize::MAX, true),
    );
    call.copy_into(out);
}

/// [`encode_call`] into `call` (cleared first), bodies of at least `splice_min` bytes spliced
/// in rather than copied (`usize::MAX`: none is), for a vectored write; the same bytes, the
/// events' ids only `with_ids` ([`crate::sent_headers`]: a Flume peer would keep them).
pub fn encode_call_spliced(
    protocol: Protocol,
    (method, seqid): (Method, i32),
    events: &[Event],
    call: &mut Spliced,
    (splice_min, with_ids): (usize, bool),
) {
    call.clear();
    let (out, bodies) = call.parts();
    let at = begin_frame(out);
    out.reserve(inline_bytes(events, splice_min) + 32);
    let mut put_event = |w: &mut dyn super::proto::ProtoOut, e: &Event| {
        if e.body.len() < splice_min {
            put_event(w, e, with_ids);
        } else {
            put_event_head(w, e, with_ids);
            w.bytes_head(e.body.len());
            bodies.splice(w.written(), &e.body);
            w.struct_end();
        }
    };
    write(protocol, out, |w| {
        w.message_begin(method.name(), MessageType::Call, seqid);
        w.struct_begin();
        match method {
            Method::Append => {
                w.field_begin(TType::Struct, 1);
                if let Some(e) = events.first() {
                    put_event(w, e);
                }
            }
            Method::AppendBatch => {
                w.field_begin(TType::List, 1);
                w.list_begin(TType::Struct, events.len());
                for e in events {
                    put_event(w, e);
                }
            }
        }
        w.struct_end();
    });
    let len = call.len() - at - super::frame::FRAME_HEADER_BYTES;
    set_frame_len(call.parts().0, at, len);
}

/// Decodes the reply to the call `method`/`seqid` (client side): its `Status`, or
/// [`ThriftError::Remote`] for an exception.
pub fn decode_reply(
    payload: &[u8],
    protocol: Protocol,
    method: Method,
    seqid: i32,
) -> Result<Status, ThriftError> {
    match protocol {
        Protocol::Compact => reply(&mut CompactIn::new(payload), method, seqid),
        Protocol::Binary => reply(&mut BinaryIn::new(payload), method, seqid),
    }
}

fn reply<'a, P: ProtoIn<'a>>(p: &mut P, method: Method, seqid: i32) -> Result<Status, ThriftError> {
    let head = p.message_begin()?;
    if head.name != method.name().as_bytes() || head.seqid != seqid {
        return Err(ThriftError::UnexpectedReply {
            reason: format!(
                "answers {:?} seqid {}, not {} seqid {seqid}",
                String::from_utf8_lossy(head.name),
                head.seqid,
                method.name()
            ),
        });
    }
    let exception = match head.kind {
        MessageType::Reply => false,
        MessageType::Exception => true,
        other => {
            return Err(ThriftError::BadMessageType {
                kind: other as u8,
                expected: "a reply (2) or exception (3)",
            })
        }
    };
    let mut status = None;
    let mut message = String::new();
    let mut kind = ExceptionKind::Unknown;
    p.struct_begin();
    while let Some((ty, id)) = p.field_begin()? {
        match (exception, ty, id) {
            (false, TType::I32, 0) => status = Some(p.i32()?),
            (true, TType::Binary, 1) => {
                let b = p.bytes("exception message")?;
                let b = b.get(..EXCEPTION_MESSAGE_BYTES_MAX).unwrap_or(b);
                message = String::from_utf8_lossy(b).into_owned();
            }
            (true, TType::I32, 2) => kind = ExceptionKind::from_i32(p.i32()?),
            (_, ty, _) => skip(p, ty, 1)?,
        }
    }
    p.struct_end();
    if exception {
        return Err(ThriftError::Remote {
            kind: kind.name(),
            message,
        });
    }
    let v = status.ok_or(ThriftError::Missing {
        what: "the reply's Status (field 0)",
    })?;
    Status::from_i32(v).ok_or(ThriftError::BadValue {
        what: "Status",
        value: i64::from(v),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::Headers;

    #[test]
    fn spliced_calls_are_the_bytes_of_the_copied_encoding_in_both_protocols() {
        let mut h = Headers::new();
        h.insert("host", "a");
        let events = vec![
            Event::with_headers(h.clone(), vec![7u8; 600]),
            Event::new(&b"short"[..]),
            Event::with_headers(h, vec![9u8; 2000]),
            Event::new(Vec::new()),
        ];
        for protocol in [Protocol::Compact, Protocol::Binary] {
            for method in [Method::AppendBatch, Method::Append] {
                let mut want = Vec::new();
                encode_call(protocol, method, 7, &events, &mut want);
                for min in [0, 1, 512, 1000, usize::MAX] {
                    let mut call = Spliced::default();
                    encode_call_spliced(protocol, (method, 7), &events, &mut call, (min, true));
                    assert_eq!(
                        call.to_vec(),
                        want,
                        "{protocol:?} {method:?} splice_min {min}"
                    );
                }
                let mut call = Spliced::default();
                encode_call_spliced(protocol, (method, 7), &events, &mut call, (512, true));
                let mut slices = Vec::new();
                call.slices(&mut slices);
                // `append` carries the first event only.
                assert!(
                    slices.iter().any(|s| s.as_ptr() == events[0].body.as_ptr()),
                    "{protocol:?} {method:?}: the 600-byte body was copied"
                );
            }
        }
    }
}
