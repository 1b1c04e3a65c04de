//! The types of Flume's `ThriftSourceProtocol` (`flume.thrift`):
//!
//! ```text
//! struct ThriftFlumeEvent { 1: required map<string,string> headers, 2: required binary body }
//! enum Status { OK, FAILED, ERROR, UNKNOWN }
//! service ThriftSourceProtocol {
//!   Status append(1: ThriftFlumeEvent event),
//!   Status appendBatch(1: list<ThriftFlumeEvent> events) }
//! ```
//!
//! A call is a `CALL` message named `append` or `appendBatch` whose argument struct holds
//! field 1; the reply is a `REPLY` message of the same name and seqid whose result struct
//! holds field 0, the `Status` as an `i32`; or an `EXCEPTION` message carrying a
//! `TApplicationException` (`1: string message, 2: i32 type`). The server and client
//! modules are written once over the protocol traits and run in either protocol.

use super::binary::BinaryOut;
use super::compact::CompactOut;
use super::proto::{ProtoOut, TType};
use sluice_core::Event;

pub use crate::flume_call::{
    CallLimits, Method, EVENTS_PER_CALL_MAX_DEFAULT, HEADERS_PER_EVENT_MAX_DEFAULT,
};

/// Longest exception message this side writes or keeps (the peer's text is cut there).
pub const EXCEPTION_MESSAGE_BYTES_MAX: usize = 1024;

/// The protocol both ends of a connection speak (`protocol` key; they must match).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// `TCompactProtocol` (Flume's default).
    #[default]
    Compact,
    /// `TBinaryProtocol`.
    Binary,
}

impl Protocol {
    /// The `protocol` key's value naming it.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Compact => "compact",
            Protocol::Binary => "binary",
        }
    }

    /// The protocol a `protocol` value names (any case), as Flume reads it.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "compact" => Some(Protocol::Compact),
            "binary" => Some(Protocol::Binary),
            _ => None,
        }
    }
}

/// The `Status` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every required channel committed the events.
    Ok = 0,
    /// A channel refused or failed.
    Failed = 1,
    /// Not sent by Flume's source.
    Error = 2,
    /// Not sent by Flume's source.
    Unknown = 3,
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

    const ALL: [Status; 4] = [Status::Ok, Status::Failed, Status::Error, Status::Unknown];

    /// The status of this wire value (the value is the variant's discriminant).
    pub fn from_i32(v: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| *s as i32 == v)
    }
}

/// `TApplicationException`'s types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExceptionKind {
    /// `UNKNOWN`.
    Unknown = 0,
    /// `UNKNOWN_METHOD`.
    UnknownMethod = 1,
    /// `INVALID_MESSAGE_TYPE`.
    InvalidMessageType = 2,
    /// `WRONG_METHOD_NAME`.
    WrongMethodName = 3,
    /// `BAD_SEQUENCE_ID`.
    BadSequenceId = 4,
    /// `MISSING_RESULT`.
    MissingResult = 5,
    /// `INTERNAL_ERROR`.
    InternalError = 6,
    /// `PROTOCOL_ERROR`.
    ProtocolError = 7,
}

impl ExceptionKind {
    /// The name Thrift's libraries print.
    pub fn name(self) -> &'static str {
        match self {
            ExceptionKind::Unknown => "UNKNOWN",
            ExceptionKind::UnknownMethod => "UNKNOWN_METHOD",
            ExceptionKind::InvalidMessageType => "INVALID_MESSAGE_TYPE",
            ExceptionKind::WrongMethodName => "WRONG_METHOD_NAME",
            ExceptionKind::BadSequenceId => "BAD_SEQUENCE_ID",
            ExceptionKind::MissingResult => "MISSING_RESULT",
            ExceptionKind::InternalError => "INTERNAL_ERROR",
            ExceptionKind::ProtocolError => "PROTOCOL_ERROR",
        }
    }

    const ALL: [ExceptionKind; 8] = [
        ExceptionKind::Unknown,
        ExceptionKind::UnknownMethod,
        ExceptionKind::InvalidMessageType,
        ExceptionKind::WrongMethodName,
        ExceptionKind::BadSequenceId,
        ExceptionKind::MissingResult,
        ExceptionKind::InternalError,
        ExceptionKind::ProtocolError,
    ];

    /// The type of this wire value (the value is the variant's discriminant; `UNKNOWN` for a
    /// value this side does not know).
    pub fn from_i32(v: i32) -> Self {
        Self::ALL
            .into_iter()
            .find(|k| *k as i32 == v)
            .unwrap_or(ExceptionKind::Unknown)
    }
}

/// Runs `f` over a writer of `protocol` appending to `out`.
pub(crate) fn write(protocol: Protocol, out: &mut Vec<u8>, f: impl FnOnce(&mut dyn ProtoOut)) {
    match protocol {
        Protocol::Compact => f(&mut CompactOut::new(out)),
        Protocol::Binary => f(&mut BinaryOut::new(out)),
    }
}

/// A `ThriftFlumeEvent`, its id header only `with_ids` ([`crate::sent_headers`]).
pub(crate) fn put_event(w: &mut dyn ProtoOut, e: &Event, with_ids: bool) {
    put_event_head(w, e, with_ids);
    w.bytes(&e.body);
    w.struct_end();
}

/// A `ThriftFlumeEvent` up to its body's value: then the body (`bytes`) and `struct_end`.
/// The headers in insertion order, the id only `with_ids`.
pub(crate) fn put_event_head(w: &mut dyn ProtoOut, e: &Event, with_ids: bool) {
    w.struct_begin();
    w.field_begin(TType::Map, 1);
    w.map_begin(
        TType::Binary,
        TType::Binary,
        crate::sent_headers::sent_len(&e.headers, with_ids),
    );
    for (k, v) in crate::sent_headers::sent(&e.headers, with_ids) {
        w.bytes(k.as_bytes());
        w.bytes(v.as_bytes());
    }
    w.field_begin(TType::Binary, 2);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_read_back_as_their_variant() {
        for s in Status::ALL {
            assert_eq!(Status::from_i32(s as i32), Some(s));
        }
        assert_eq!(Status::from_i32(4), None);
        assert_eq!(Status::from_i32(-1), None);
        for k in ExceptionKind::ALL {
            assert_eq!(ExceptionKind::from_i32(k as i32), k);
        }
        assert_eq!(ExceptionKind::from_i32(7), ExceptionKind::ProtocolError);
        assert_eq!(ExceptionKind::from_i32(8), ExceptionKind::Unknown);
        assert_eq!(ExceptionKind::from_i32(-1), ExceptionKind::Unknown);
    }
}
