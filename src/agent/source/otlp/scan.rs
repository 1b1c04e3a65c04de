//! What decoding a protobuf `ExportLogsServiceRequest` will allocate, read from its bytes
//! before it is decoded: a walk of the message's fields (no allocation, an explicit stack)
//! that counts every element of a repeated field, which the decode turns into a struct of
//! its own in a `Vec` (`borrowed.rs`'s types), at twice its size (a `Vec` grows by doubling).
//! On the wire an element can be two bytes (an empty `KeyValue` is `0a 00`) and in memory
//! tens or hundreds (a `KeyValue` is 72, a `LogRecord` more than 200), so 8 MB of them are
//! over half a GiB once decoded: the source charges this count to its decode budget and
//! refuses what is past it before decoding a byte.
//!
//! The walk follows the OTLP logs schema (the vendored `proto/`); fields it does not know are
//! skipped, as the decode skips them. Bytes that are not protobuf stop the walk with the
//! reason (the decode would refuse them too).

use crate::agent::otlp::borrowed::{AnyValue, KeyValue, LogRecord, ResourceLogs, ScopeLogs};

/// Deepest nesting walked (prost's decode refuses deeper messages too).
pub(super) const DEPTH_MAX: usize = 100;
/// Bytes an `EntityRef` takes (two strings and two lists of strings), rounded up.
const ENTITY_REF_BYTES: u64 = 128;
/// Bytes one string of a repeated string field takes (a `Bytes` handle).
const STRING_BYTES: u64 = 32;

/// The messages of the schema that hold repeated or nested messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Msg {
    Request,
    ResourceLogs,
    Resource,
    ScopeLogs,
    Scope,
    LogRecord,
    KeyValue,
    AnyValue,
    ArrayValue,
    KvList,
    EntityRef,
}

/// What a length-delimited field of `msg` is: the message it holds (if walked into) and what
/// one occurrence costs in memory beyond its parent's own size.
fn field(msg: Msg, number: u64) -> Option<(Option<Msg>, u64)> {
    let elem = |size: usize| 2 * size as u64;
    Some(match (msg, number) {
        (Msg::Request, 1) => (Some(Msg::ResourceLogs), elem(size_of::<ResourceLogs>())),
        (Msg::ResourceLogs, 1) => (Some(Msg::Resource), 0),
        (Msg::ResourceLogs, 2) => (Some(Msg::ScopeLogs), elem(size_of::<ScopeLogs>())),
        (Msg::Resource, 1) | (Msg::Scope, 3) | (Msg::LogRecord, 6) | (Msg::KvList, 1) => {
            (Some(Msg::KeyValue), elem(size_of::<KeyValue>()))
        }
        (Msg::Resource, 3) => (Some(Msg::EntityRef), 2 * ENTITY_REF_BYTES),
        (Msg::EntityRef, 3 | 4) => (None, 2 * STRING_BYTES),
        (Msg::ScopeLogs, 1) => (Some(Msg::Scope), 0),
        (Msg::ScopeLogs, 2) => (Some(Msg::LogRecord), elem(size_of::<LogRecord>())),
        (Msg::LogRecord, 5) | (Msg::KeyValue, 2) => (Some(Msg::AnyValue), 0),
        (Msg::AnyValue, 5) => (Some(Msg::ArrayValue), 0),
        (Msg::AnyValue, 6) => (Some(Msg::KvList), 0),
        (Msg::ArrayValue, 1) => (Some(Msg::AnyValue), elem(size_of::<AnyValue>())),
        _ => return None,
    })
}

/// Why the bytes are not a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum ScanError {
    /// A varint, a length or a fixed field runs past its message's end.
    #[error("a field runs past the end of its message at byte {0}")]
    Truncated(usize),
    /// A wire type protobuf does not have (or a group, which proto3 has not).
    #[error("wire type {1} at byte {0} is not valid here")]
    WireType(usize, u64),
    /// Messages nested deeper than [`DEPTH_MAX`].
    #[error("messages nested deeper than {DEPTH_MAX}")]
    TooDeep,
}

/// Bytes the decode of `wire` as a request allocates at most, beyond `wire` itself.
pub(super) fn decoded_bytes(wire: &[u8]) -> Result<u64, ScanError> {
    let mut cost = 0u64;
    // (the message being read, where it ends)
    let mut stack: Vec<(Msg, usize)> = vec![(Msg::Request, wire.len())];
    let mut at = 0usize;
    while let Some(&(msg, end)) = stack.last() {
        if at >= end {
            stack.pop();
            continue;
        }
        let key = varint(wire, &mut at, end)?;
        let (number, wire_type) = (key >> 3, key & 7);
        match wire_type {
            0 => drop(varint(wire, &mut at, end)?),
            1 | 5 => skip(&mut at, if wire_type == 1 { 8 } else { 4 }, end)?,
            2 => {
                let len = usize::try_from(varint(wire, &mut at, end)?).unwrap_or(usize::MAX);
                let start = at;
                skip(&mut at, len, end)?;
                if let Some((inner, bytes)) = field(msg, number) {
                    cost = cost.saturating_add(bytes);
                    if let Some(inner) = inner {
                        if stack.len() >= DEPTH_MAX {
                            return Err(ScanError::TooDeep);
                        }
                        stack.push((inner, at));
                        at = start;
                    }
                }
            }
            other => return Err(ScanError::WireType(at, other)),
        }
    }
    Ok(cost)
}

/// Moves `at` past `n` bytes, within `end`.
fn skip(at: &mut usize, n: usize, end: usize) -> Result<(), ScanError> {
    match at.checked_add(n) {
        Some(next) if next <= end => {
            *at = next;
            Ok(())
        }
        _ => Err(ScanError::Truncated(*at)),
    }
}

/// The varint at `at`, within `end`.
fn varint(wire: &[u8], at: &mut usize, end: usize) -> Result<u64, ScanError> {
    let mut v = 0u64;
    for shift in (0..70).step_by(7) {
        let Some(&b) = wire.get(*at).filter(|_| *at < end) else {
            return Err(ScanError::Truncated(*at));
        };
        *at += 1;
        v |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(ScanError::Truncated(*at))
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;
