//! The client side of `ThriftSourceProtocol`: a framed call ([`encode_call`]) and its
//! reply ([`decode_reply`]: the `Status`, or the server's `TApplicationException`).

use super::binary::BinaryIn;
use super::compact::CompactIn;
use super::error::ThriftError;
use super::frame::{begin_frame, end_frame};
use super::proto::{skip, MessageType, ProtoIn, TType};
use super::service::{
    put_event, write, ExceptionKind, Method, Protocol, Status, EXCEPTION_MESSAGE_BYTES_MAX,
};
use sluice_core::Event;

/// Appends one framed call of `method` carrying `events` (`append` sends the first only).
pub fn encode_call(
    protocol: Protocol,
    method: Method,
    seqid: i32,
    events: &[Event],
    out: &mut Vec<u8>,
) {
    let at = begin_frame(out);
    let body: usize = events.iter().map(|e| e.payload_bytes() + 16).sum();
    out.reserve(body + 32);
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
    end_frame(out, at);
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
