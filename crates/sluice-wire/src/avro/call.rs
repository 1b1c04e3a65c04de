//! Calls of `AvroSourceProtocol`: request = [handshake] + metadata `map<bytes>` + message
//! name + parameters (`append(AvroFlumeEvent)`, `appendBatch(array<AvroFlumeEvent>)`, or
//! nothing for a handshake-only ping with an empty name); response = [handshake] + metadata +
//! error flag + `Status` (OK/FAILED/UNKNOWN), or the system-error union `["string"]`.
//!
//! `AvroFlumeEvent {headers: map<string>, body: bytes}` maps to [`Event`]. Event and header
//! counts are checked against [`CallLimits`] (and against the bytes left) before anything is
//! allocated for them (in `events.rs`). Buffers are split as Flume's peers split them, so the
//! bytes match.

mod events;

pub use events::{
    params_cost, put_event, put_event_head, put_event_ids, put_events, read_event, read_events,
    read_params,
};

use super::binary::{put_bytes, put_long, Reader};
use super::error::AvroError;
use super::handshake::{put_meta, read_meta, HandshakeRequest, HandshakeResponse, Meta};
use crate::bodies::Bodies;
use crate::splice::{inline_bytes, Spliced};
use sluice_core::Event;

pub use crate::flume_call::{
    CallLimits, Method as Message, EVENTS_PER_CALL_MAX_DEFAULT, HEADERS_PER_EVENT_MAX_DEFAULT,
};

/// The `Status` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every required channel committed the events.
    Ok = 0,
    /// A channel refused or failed.
    Failed = 1,
    /// Not used by Flume's source.
    Unknown = 2,
}

impl Status {
    /// A source's answer: `OK` when every required channel committed the call, else `FAILED`.
    pub fn of(committed: bool) -> Self {
        if committed {
            Status::Ok
        } else {
            Status::Failed
        }
    }
}

/// What a call asks for (server side, after the handshake).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallBody {
    /// An empty message name: a handshake-only ping.
    Ping,
    /// `append`: one event.
    Append(Event),
    /// `appendBatch`: the events.
    AppendBatch(Vec<Event>),
    /// A message this protocol does not have (answered with an error; the connection stays).
    Unknown(String),
}

/// A decoded call (server side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRequest {
    /// The call metadata.
    pub meta: Meta,
    /// The message and its parameters.
    pub body: CallBody,
}

/// The outcome of a call (client side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The `Status` answered.
    Status(Status),
    /// A system error (Avro's `["string"]` error union).
    Error(String),
}

/// A decoded response (client side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallResponse {
    /// The handshake response, when the request carried a handshake.
    pub handshake: Option<HandshakeResponse>,
    /// The call's outcome; `None` after a `NONE` handshake (the call did not run) or a ping.
    pub outcome: Option<Outcome>,
}

/// The call's metadata and message name (what follows the handshake).
pub fn read_call_head(r: &mut Reader<'_>) -> Result<(Meta, String), AvroError> {
    let meta = read_meta(r, "call metadata")?;
    let name = r.string("message name")?;
    Ok((meta, name))
}

/// The call after the optional handshake (server side). The payload must end with it.
pub fn read_call(r: &mut Reader<'_>, limits: &CallLimits) -> Result<CallRequest, AvroError> {
    let (meta, name) = read_call_head(r)?;
    let body = match name.as_str() {
        "" => CallBody::Ping,
        "append" | "appendBatch" => {
            let batch = name == "appendBatch";
            let (mut events, _) = read_params(r, batch, limits, Bodies::Copy, u64::MAX)?;
            return Ok(CallRequest {
                meta,
                body: if batch {
                    CallBody::AppendBatch(events)
                } else {
                    CallBody::Append(events.pop().unwrap_or_default())
                },
            });
        }
        _ => {
            return Ok(CallRequest {
                meta,
                body: CallBody::Unknown(name),
            })
        }
    };
    r.finish("call parameters")?;
    Ok(CallRequest { meta, body })
}

/// The two buffers of a request, split as Flume's client splits them:
/// `[handshake + metadata + name, parameters]`. Client side.
pub fn encode_request(
    handshake: Option<&HandshakeRequest>,
    message: Message,
    events: &[Event],
) -> [Vec<u8>; 2] {
    encode_request_meta(handshake, &Meta::new(), message, events)
}

/// [`encode_request`] with call metadata (`map<bytes>`; Flume's server reads and ignores it,
/// Sluice's avro sink names its agent and sink there). Client side.
pub fn encode_request_meta(
    handshake: Option<&HandshakeRequest>,
    meta: &Meta,
    message: Message,
    events: &[Event],
) -> [Vec<u8>; 2] {
    let mut head = Vec::new();
    encode_request_head(handshake, meta, message, &mut head);
    let mut params = Spliced::default();
    encode_params_spliced(&mut params, message, events, (usize::MAX, true));
    [head, params.to_vec()]
}

/// A request's first buffer into `head` (cleared first): the handshake if any, the call
/// metadata and the message name. Client side.
pub fn encode_request_head(
    handshake: Option<&HandshakeRequest>,
    meta: &Meta,
    message: Message,
    head: &mut Vec<u8>,
) {
    head.clear();
    if let Some(h) = handshake {
        h.encode(head);
    }
    put_meta(head, meta);
    put_bytes(head, message.name().as_bytes());
}

/// The parameters of `message` with `events` into `params` (cleared first), bodies of at
/// least `splice_min` bytes spliced in rather than copied (`usize::MAX`: none is), the
/// events' ids only `with_ids` ([`crate::sent_headers`]); the bytes on the wire are
/// [`encode_request`]'s second buffer (with ids). Client side.
pub fn encode_params_spliced(
    params: &mut Spliced,
    message: Message,
    events: &[Event],
    (splice_min, with_ids): (usize, bool),
) {
    params.clear();
    let (out, bodies) = params.parts();
    out.reserve(inline_bytes(events, splice_min) + 4);
    let mut put = |out: &mut Vec<u8>, e: &Event| {
        if e.body.len() < splice_min {
            put_event_ids(out, e, with_ids);
        } else {
            put_event_head(out, e, with_ids);
            bodies.splice(out.len(), &e.body);
        }
    };
    match message {
        Message::Append => match events.first() {
            Some(e) => put(out, e),
            None => put_event(out, &Event::default()),
        },
        Message::AppendBatch => {
            if !events.is_empty() {
                put_long(out, events.len() as i64);
                for e in events {
                    put(out, e);
                }
            }
            put_long(out, 0);
        }
    }
}

/// A handshake-only ping (empty message name). Client side.
pub fn encode_ping(handshake: Option<&HandshakeRequest>) -> Vec<u8> {
    let mut b = Vec::new();
    if let Some(h) = handshake {
        h.encode(&mut b);
    }
    put_long(&mut b, 0);
    put_long(&mut b, 0);
    b
}

/// The three buffers of a response with a `Status`, split as Flume's server splits them:
/// `[handshake (maybe empty), metadata, error flag + status]`. Server side.
pub fn encode_status_response(handshake: Vec<u8>, status: Status) -> [Vec<u8>; 3] {
    [handshake, vec![0], vec![0, (status as u8) << 1]]
}

/// A system-error response (`isError` true, union branch 0 = string). Server side.
pub fn encode_error_response(handshake: Vec<u8>, message: &str) -> [Vec<u8>; 3] {
    let mut err = vec![1, 0];
    put_bytes(&mut err, message.as_bytes());
    [handshake, vec![0], err]
}

/// Decodes a response. `sent_handshake` says whether the request carried one. Client side.
pub fn decode_response(payload: &[u8], sent_handshake: bool) -> Result<CallResponse, AvroError> {
    let mut r = Reader::new(payload);
    let handshake = if sent_handshake {
        Some(HandshakeResponse::decode(&mut r)?)
    } else {
        None
    };
    if r.remaining() == 0 {
        // NONE (the call did not run) or a ping's answer.
        return Ok(CallResponse {
            handshake,
            outcome: None,
        });
    }
    let _meta = read_meta(&mut r, "response metadata")?;
    let outcome = if r.boolean("response error flag")? {
        r.index("error union", 1)?;
        Outcome::Error(r.string("error message")?)
    } else {
        Outcome::Status(match r.index("status", 3)? {
            0 => Status::Ok,
            1 => Status::Failed,
            _ => Status::Unknown,
        })
    };
    r.finish("response")?;
    Ok(CallResponse {
        handshake,
        outcome: Some(outcome),
    })
}

#[cfg(test)]
#[path = "call_tests.rs"]
mod tests;
