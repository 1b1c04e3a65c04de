//! OTLP/JSON request bodies: what decoding one will allocate, read from its text before it is
//! decoded ([`scan`]), and the decode.
//!
//! The cost: the decode builds `opentelemetry-proto`'s owned types (through serde), encodes
//! them to protobuf and decodes that into `borrowed.rs`'s types, so each object that is an
//! element of a repeated field (`resourceLogs`, `scopeLogs`, `logRecords`, `attributes`,
//! `values`, `entityRefs`) costs both structs, at twice their size (a `Vec` grows by
//! doubling); an `AnyValue` (`body`, `value`) is read through serde's `flatten`, which buffers
//! everything in it token by token, so each token inside one costs [`TOKEN_BYTES`]; and the
//! text is copied three times at most (quoted numbers, owned strings, the protobuf). `{},` is three bytes of text
//! and hundreds in memory: the source charges this cost to its decode budget and refuses what
//! is past it before decoding.
//!
//! The decode: the protobuf JSON mapping writes 64-bit integers as decimal strings and lets
//! readers take JSON numbers too; `opentelemetry-proto` reads a log record's `timeUnixNano`
//! and `observedTimeUnixNano` only as strings, so the scan notes where those two fields hold a
//! number and the decode reads a copy of the text with those numbers quoted.

use crate::agent::otlp::borrowed;
use crate::agent::otlp::proto::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::{common::v1 as owned_common, logs::v1 as owned_logs};

/// The fields `opentelemetry-proto` reads as strings only.
const U64_FIELDS: [&[u8]; 2] = [b"timeUnixNano", b"observedTimeUnixNano"];
/// The keys whose value is an `AnyValue`.
const ANY_VALUE_FIELDS: [&[u8]; 2] = [b"body", b"value"];
/// Bytes one token inside an `AnyValue` costs while serde buffers it (a `Content` node, a
/// map entry's key and value), at twice their size.
pub(super) const TOKEN_BYTES: u64 = 128;
/// Deepest nesting scanned (serde_json refuses past 128 levels).
pub(super) const DEPTH_MAX: usize = 256;
/// Bytes of an `EntityRef`, owned and borrowed, rounded up.
const ENTITY_REF_BYTES: u64 = 256;

/// What decoding a body will cost, and where it holds numbers the decode quotes.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Scan {
    /// Bytes the decode allocates at most, beyond the body itself.
    pub(super) cost: u64,
    /// `(start, end)` of each number in a [`U64_FIELDS`] field.
    numbers: Vec<(usize, usize)>,
}

/// Why a body was not scanned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum ScanError {
    /// Nested deeper than [`DEPTH_MAX`].
    #[error("JSON nested deeper than {DEPTH_MAX} levels")]
    TooDeep,
}

/// An open object or array.
#[derive(Clone, Copy)]
struct Open<'a> {
    array: bool,
    /// The key it is the value of (an array's elements are counted by it).
    key: Option<&'a [u8]>,
    /// Inside an `AnyValue`.
    any: bool,
}

/// What an object costs as an element of the array under `key` (both structs, doubled).
fn element_bytes(key: &[u8]) -> u64 {
    let both = |owned: usize, borrowed: usize| 2 * (owned + borrowed) as u64;
    let kv = both(
        size_of::<owned_common::KeyValue>(),
        size_of::<borrowed::KeyValue>(),
    );
    let any = both(
        size_of::<owned_common::AnyValue>(),
        size_of::<borrowed::AnyValue>(),
    );
    let record = both(
        size_of::<owned_logs::LogRecord>(),
        size_of::<borrowed::LogRecord>(),
    );
    match key {
        b"resourceLogs" => both(
            size_of::<owned_logs::ResourceLogs>(),
            size_of::<borrowed::ResourceLogs>(),
        ),
        b"scopeLogs" => both(
            size_of::<owned_logs::ScopeLogs>(),
            size_of::<borrowed::ScopeLogs>(),
        ),
        b"logRecords" => record,
        b"attributes" => kv,
        b"values" => kv.max(any),
        b"entityRefs" => 2 * ENTITY_REF_BYTES,
        // An escaped key may spell any of them.
        k if k.contains(&b'\\') => record.max(kv).max(any).max(2 * ENTITY_REF_BYTES),
        _ => 0,
    }
}

/// Scans `text` (not checked to be JSON: the decode does that) for what decoding it costs.
pub(super) fn scan(text: &[u8]) -> Result<Scan, ScanError> {
    let mut out = Scan {
        cost: 3 * text.len() as u64,
        numbers: Vec::new(),
    };
    let mut stack: Vec<Open<'_>> = Vec::new();
    let (mut key, mut last_string): (Option<&[u8]>, Option<&[u8]>) = (None, None);
    let mut i = 0;
    while i < text.len() {
        let any = stack.last().is_some_and(|o| o.any);
        let c = text[i];
        match c {
            b'"' => {
                let end = string_end(text, i + 1);
                last_string = Some(&text[i + 1..end.saturating_sub(1).max(i + 1)]);
                out.cost += if any { TOKEN_BYTES } else { 0 };
                i = end;
                continue;
            }
            b':' => key = last_string.take(),
            b',' => key = None,
            b'{' | b'[' => {
                if stack.len() >= DEPTH_MAX {
                    return Err(ScanError::TooDeep);
                }
                let parent = stack.last().copied();
                let in_array = parent.is_some_and(|p| p.array);
                let key_of = if in_array {
                    parent.and_then(|p| p.key)
                } else {
                    key
                };
                if c == b'{' && in_array {
                    out.cost += key_of.map_or(0, element_bytes);
                }
                let enters_any = !in_array
                    && key.is_some_and(|k| ANY_VALUE_FIELDS.contains(&k) || k.contains(&b'\\'));
                let any = any || enters_any;
                out.cost += if any { TOKEN_BYTES } else { 0 };
                stack.push(Open {
                    array: c == b'[',
                    key: key_of,
                    any,
                });
                key = None;
            }
            b'}' | b']' => drop(stack.pop()),
            b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                let end = scalar_end(text, i);
                if key.is_some_and(|k| U64_FIELDS.contains(&k))
                    && c != b't'
                    && c != b'f'
                    && c != b'n'
                {
                    out.numbers.push((i, end));
                }
                out.cost += if any { TOKEN_BYTES } else { 0 };
                key = None;
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(out)
}

/// Where the string whose text starts at `from` ends (past its closing quote).
fn string_end(text: &[u8], mut from: usize) -> usize {
    while from < text.len() {
        match text[from] {
            b'\\' => from += 2,
            b'"' => return from + 1,
            _ => from += 1,
        }
    }
    text.len()
}

/// Where the scalar (number or literal) starting at `from` ends.
fn scalar_end(text: &[u8], mut from: usize) -> usize {
    while from < text.len()
        && matches!(text[from], b'-' | b'+' | b'.' | b'0'..=b'9' | b'a'..=b'z' | b'E')
    {
        from += 1;
    }
    from
}

/// Decodes an OTLP/JSON logs request scanned as `scan`, taking the 64-bit time fields as
/// numbers or strings.
pub fn decode(text: &[u8], scan: &Scan) -> Result<ExportLogsServiceRequest, serde_json::Error> {
    if scan.numbers.is_empty() {
        return serde_json::from_slice(text);
    }
    let mut quoted = Vec::with_capacity(text.len() + 2 * scan.numbers.len());
    let mut from = 0;
    for &(start, end) in &scan.numbers {
        quoted.extend_from_slice(&text[from..start]);
        quoted.push(b'"');
        quoted.extend_from_slice(&text[start..end]);
        quoted.push(b'"');
        from = end;
    }
    quoted.extend_from_slice(&text[from..]);
    serde_json::from_slice(&quoted)
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
