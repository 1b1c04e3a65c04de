//! The server side of `ThriftSourceProtocol`: a request's head ([`begin`]), its events
//! ([`EventCall::decode`], or only their count, [`EventCall::cost`]), and the replies
//! ([`encode_reply`], [`encode_exception`]).
//!
//! Event and header counts are checked against [`CallLimits`] (and against the bytes left)
//! before anything is allocated for them, and the decoded events are counted
//! ([`crate::cost`]) so a caller can cap the memory a call turns into. Unknown fields
//! are skipped, as Thrift's generated code does; a missing required field is refused, as its
//! `validate()` does.

use super::binary::BinaryIn;
use super::compact::CompactIn;
use super::error::ThriftError;
use super::frame::{begin_frame, end_frame};
use super::proto::{skip, MessageType, ProtoIn, TType};
use super::service::{
    write, CallLimits, ExceptionKind, Method, Protocol, Status, EXCEPTION_MESSAGE_BYTES_MAX,
};
use crate::bodies::Bodies;
use crate::cost::Cost;
use crate::text::lossy;
use sluice_core::{Event, Headers};

/// What a request asks for (server side), from its message head alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begun {
    /// `append` or `appendBatch`: decode its events with [`EventCall::decode`].
    Events(EventCall),
    /// A method this service does not have: answer `UNKNOWN_METHOD` (unless oneway); the
    /// connection stays.
    Unknown {
        /// Its name (the peer's bytes, lossily UTF-8).
        name: String,
        /// Its seqid.
        seqid: i32,
        /// Whether the call expects no reply.
        oneway: bool,
    },
}

/// A call of `append` or `appendBatch` whose events are still in the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventCall {
    /// Which method.
    pub method: Method,
    /// The seqid its reply echoes.
    pub seqid: i32,
    /// The protocol it arrived in (its reply is written in the same).
    pub protocol: Protocol,
    /// Whether it was sent oneway (then nothing is answered).
    pub oneway: bool,
}

/// Reads a request's message head.
pub fn begin(payload: &[u8], protocol: Protocol) -> Result<Begun, ThriftError> {
    let head = match protocol {
        Protocol::Compact => CompactIn::new(payload).message_begin()?,
        Protocol::Binary => BinaryIn::new(payload).message_begin()?,
    };
    let oneway = match head.kind {
        MessageType::Call => false,
        MessageType::Oneway => true,
        other => {
            return Err(ThriftError::BadMessageType {
                kind: other as u8,
                expected: "a call (1) or oneway (4)",
            })
        }
    };
    let method = match head.name {
        b"append" => Method::Append,
        b"appendBatch" => Method::AppendBatch,
        name => {
            return Ok(Begun::Unknown {
                name: String::from_utf8_lossy(name).into_owned(),
                seqid: head.seqid,
                oneway,
            })
        }
    };
    Ok(Begun::Events(EventCall {
        method,
        seqid: head.seqid,
        protocol,
        oneway,
    }))
}

impl EventCall {
    /// Decodes the call's events, counting them as they are made; `OverBudget` as soon as
    /// the count passes `cost_max` (nothing of them is kept). Returns the events and their
    /// count. Their bodies are made as `bodies` says (slices of `payload`, or copies).
    pub fn decode(
        &self,
        payload: &[u8],
        bodies: Bodies<'_>,
        limits: &CallLimits,
        cost_max: u64,
    ) -> Result<(Vec<Event>, u64), ThriftError> {
        self.walk(payload, limits, cost_max, Some(bodies))
    }

    /// What the call's events would be counted for, without making them.
    pub fn cost(&self, payload: &[u8], limits: &CallLimits) -> Result<u64, ThriftError> {
        self.walk(payload, limits, u64::MAX, None).map(|(_, c)| c)
    }

    fn walk(
        &self,
        payload: &[u8],
        limits: &CallLimits,
        cost_max: u64,
        keep: Option<Bodies<'_>>,
    ) -> Result<(Vec<Event>, u64), ThriftError> {
        let mut w = Walk {
            method: self.method,
            limits,
            cost: Cost::new(cost_max),
            keep,
        };
        let events = match self.protocol {
            Protocol::Compact => w.message(&mut CompactIn::new(payload))?,
            Protocol::Binary => w.message(&mut BinaryIn::new(payload))?,
        };
        Ok((events, w.cost.bytes))
    }
}

/// One pass over a call's argument struct: making its events (their bodies as `keep` says),
/// or only counting them (`keep` is `None`).
struct Walk<'l, 'f> {
    method: Method,
    limits: &'l CallLimits,
    cost: Cost,
    keep: Option<Bodies<'f>>,
}

impl Walk<'_, '_> {
    fn message<'a, P: ProtoIn<'a>>(&mut self, p: &mut P) -> Result<Vec<Event>, ThriftError> {
        p.message_begin()?;
        let mut events = Vec::new();
        let mut found = false;
        p.struct_begin();
        while let Some((ty, id)) = p.field_begin()? {
            match (self.method, ty, id) {
                (Method::AppendBatch, TType::List, 1) => {
                    let at = p.offset();
                    let (elem, n) = p.list_begin()?;
                    at_most("events in appendBatch", n, self.limits.events_max, at)?;
                    if n > 0 && elem != TType::Struct {
                        return Err(ThriftError::BadValue {
                            what: "appendBatch list element type (a struct expected)",
                            value: elem as i64,
                        });
                    }
                    events.clear();
                    if self.keep.is_some() {
                        events.reserve_exact(n);
                    }
                    for _ in 0..n {
                        self.event(p, &mut events)?;
                    }
                    found = true;
                }
                (Method::Append, TType::Struct, 1) => {
                    events.clear();
                    self.event(p, &mut events)?;
                    found = true;
                }
                (_, ty, _) => skip(p, ty, 1)?,
            }
        }
        p.struct_end();
        if !found {
            return Err(ThriftError::Missing {
                what: match self.method {
                    Method::Append => "append's event (field 1)",
                    Method::AppendBatch => "appendBatch's events (field 1)",
                },
            });
        }
        if p.remaining() > 0 {
            return Err(ThriftError::TrailingBytes {
                count: p.remaining(),
                offset: p.offset(),
            });
        }
        Ok(events)
    }

    fn over(&self) -> ThriftError {
        ThriftError::OverBudget { max: self.cost.max }
    }

    fn event<'a, P: ProtoIn<'a>>(
        &mut self,
        p: &mut P,
        out: &mut Vec<Event>,
    ) -> Result<(), ThriftError> {
        self.cost.event().map_err(|_| self.over())?;
        let mut headers: Option<Headers> = None;
        let mut body: Option<&'a [u8]> = None;
        p.struct_begin();
        while let Some((ty, id)) = p.field_begin()? {
            match (ty, id) {
                (TType::Map, 1) => {
                    let at = p.offset();
                    let (k, v, n) = p.map_begin()?;
                    at_most("headers in an event", n, self.limits.headers_max, at)?;
                    if n > 0 && (k != TType::Binary || v != TType::Binary) {
                        return Err(ThriftError::BadValue {
                            what: "headers map types (string to string expected)",
                            value: at as i64,
                        });
                    }
                    let mut map = Headers::new();
                    if self.keep.is_some() {
                        map.reserve(n);
                    }
                    for _ in 0..n {
                        let key = p.bytes("header key")?;
                        let value = p.bytes("header value")?;
                        self.cost
                            .header(key.len(), value.len())
                            .map_err(|_| self.over())?;
                        if self.keep.is_some() {
                            map.insert(lossy(key), lossy(value));
                        }
                    }
                    headers = Some(map);
                }
                (TType::Binary, 2) => {
                    let b = p.bytes("body")?;
                    self.cost.add(b.len() as u64).map_err(|_| self.over())?;
                    body = Some(b);
                }
                (ty, _) => skip(p, ty, 2)?,
            }
        }
        p.struct_end();
        let headers = headers.ok_or(ThriftError::Missing {
            what: "ThriftFlumeEvent.headers",
        })?;
        let body = body.ok_or(ThriftError::Missing {
            what: "ThriftFlumeEvent.body",
        })?;
        if let Some(bodies) = self.keep {
            out.push(Event::with_headers(headers, bodies.body(body)));
        }
        Ok(())
    }
}

/// Refuses a count `n` of `what` over its limit `max` (read at `at`), before anything is
/// allocated for it.
fn at_most(what: &'static str, n: usize, max: usize, at: usize) -> Result<(), ThriftError> {
    if n > max {
        return Err(ThriftError::TooLong {
            what,
            len: n as u64,
            max: max as u64,
            offset: at,
        });
    }
    Ok(())
}

/// Appends one framed reply: `status` to the call `name`/`seqid`.
pub fn encode_reply(protocol: Protocol, name: &str, seqid: i32, status: Status, out: &mut Vec<u8>) {
    let at = begin_frame(out);
    write(protocol, out, |w| {
        w.message_begin(name, MessageType::Reply, seqid);
        w.struct_begin();
        w.field_begin(TType::I32, 0);
        w.i32(status as i32);
        w.struct_end();
    });
    end_frame(out, at);
}

/// Appends one framed `TApplicationException` answering the call `name`/`seqid` (the
/// message is cut at [`EXCEPTION_MESSAGE_BYTES_MAX`] bytes).
pub fn encode_exception(
    protocol: Protocol,
    name: &str,
    seqid: i32,
    kind: ExceptionKind,
    message: &str,
    out: &mut Vec<u8>,
) {
    let mut cut = message.len().min(EXCEPTION_MESSAGE_BYTES_MAX);
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    let at = begin_frame(out);
    write(protocol, out, |w| {
        w.message_begin(name, MessageType::Exception, seqid);
        w.struct_begin();
        w.field_begin(TType::Binary, 1);
        w.bytes(message.get(..cut).unwrap_or_default().as_bytes());
        w.field_begin(TType::I32, 2);
        w.i32(kind as i32);
        w.struct_end();
    });
    end_frame(out, at);
}
