//! One event as a `LogRecord`'s protobuf bytes, written straight from the event with
//! `prost::encoding`'s functions (keys, varints, fixed-width integers): no `LogRecord`, no
//! `String` per header and no `Vec` per attribute list is built. The same walk runs twice per
//! record through [`Out`]: once into [`Len`] (the record's length, which its length prefix
//! needs first), once into [`Put`] (the bytes). Fields are written in field-number order, as
//! prost's generated `encode_raw` writes them, so the bytes are those of the
//! `opentelemetry-proto` request the mapping describes (the unit tests compare them).
//!
//! The mapping is the reverse of `to_events.rs` (module docs of `otlp`): a header becomes a
//! record field only when the source would write that header back exactly from it
//! (`timestamp` `1700000000123`, not `0` or `0123`), every other header that is neither a
//! resource nor a scope header is a string attribute, and the body is a string value when it
//! is UTF-8, else a bytes value, and absent when empty.

use bytes::BufMut;
use prost::encoding::{self, encode_key, encode_varint, encoded_len_varint, key_len, WireType};
use sluice_core::Event;

use super::names;

/// Nanoseconds per millisecond.
const NANOS_PER_MS: u64 = 1_000_000;

/// Field numbers of `opentelemetry/proto/logs/v1/logs.proto`'s `LogRecord` (vendored in
/// `proto/`, v1.8.0).
mod log_record {
    pub(super) const TIME_UNIX_NANO: u32 = 1;
    pub(super) const SEVERITY_NUMBER: u32 = 2;
    pub(super) const SEVERITY_TEXT: u32 = 3;
    pub(super) const BODY: u32 = 5;
    pub(super) const ATTRIBUTES: u32 = 6;
    pub(super) const FLAGS: u32 = 8;
    pub(super) const TRACE_ID: u32 = 9;
    pub(super) const SPAN_ID: u32 = 10;
    pub(super) const EVENT_NAME: u32 = 12;
}

/// Field numbers of `common.proto`'s `KeyValue` and `AnyValue`.
pub(super) mod common {
    pub(in super::super) const KEY_VALUE_KEY: u32 = 1;
    pub(in super::super) const KEY_VALUE_VALUE: u32 = 2;
    pub(in super::super) const ANY_STRING: u32 = 1;
    pub(in super::super) const ANY_BYTES: u32 = 7;
}

/// Where a walk writes: [`Len`] counts, [`Put`] writes.
pub(super) trait Out {
    /// A length-delimited field whose value is `len` bytes, then the value (`v`, or `len`
    /// bytes that follow through other calls when `v` is `None`).
    fn delimited(&mut self, tag: u32, len: usize, v: Option<&[u8]>);
    /// A `fixed64` field.
    fn fixed64(&mut self, tag: u32, v: u64);
    /// A `fixed32` field.
    fn fixed32(&mut self, tag: u32, v: u32);
    /// An `int32` (or enum) field.
    fn int32(&mut self, tag: u32, v: i32);
    /// A `bytes` field of `hex`'s digits as bytes (`hex` is lowercase, even-length).
    fn unhex(&mut self, tag: u32, hex: &str);
}

/// Counts the bytes a walk writes.
#[derive(Debug, Default)]
pub(super) struct Len(pub(super) usize);

impl Out for Len {
    fn delimited(&mut self, tag: u32, len: usize, v: Option<&[u8]>) {
        // The value's bytes count once: here when given, else through the calls writing it.
        let value = if v.is_some() { len } else { 0 };
        self.0 += key_len(tag) + encoded_len_varint(len as u64) + value;
    }

    fn fixed64(&mut self, tag: u32, v: u64) {
        self.0 += encoding::fixed64::encoded_len(tag, &v);
    }

    fn fixed32(&mut self, tag: u32, v: u32) {
        self.0 += encoding::fixed32::encoded_len(tag, &v);
    }

    fn int32(&mut self, tag: u32, v: i32) {
        self.0 += encoding::int32::encoded_len(tag, &v);
    }

    fn unhex(&mut self, tag: u32, hex: &str) {
        self.0 += delimited_len(tag, hex.len() / 2);
    }
}

/// Most bytes of a field's key and length prefix (two 64-bit varints).
const HEAD_BYTES_MAX: usize = 20;

/// Writes a walk's bytes into a buffer.
pub(super) struct Put<'b, B: BufMut>(pub(super) &'b mut B);

impl<B: BufMut> Out for Put<'_, B> {
    fn delimited(&mut self, tag: u32, len: usize, v: Option<&[u8]>) {
        // Key and length into a stack array, then one append: each of prost's varint bytes
        // put straight into the message buffer paid its capacity check.
        let mut head = [0u8; HEAD_BYTES_MAX];
        let mut w: &mut [u8] = &mut head;
        encode_key(tag, WireType::LengthDelimited, &mut w);
        encode_varint(len as u64, &mut w);
        let n = HEAD_BYTES_MAX - w.len();
        self.0.put_slice(head.get(..n).unwrap_or_default());
        if let Some(v) = v {
            self.0.put_slice(v);
        }
    }

    fn fixed64(&mut self, tag: u32, v: u64) {
        encoding::fixed64::encode(tag, &v, self.0);
    }

    fn fixed32(&mut self, tag: u32, v: u32) {
        encoding::fixed32::encode(tag, &v, self.0);
    }

    fn int32(&mut self, tag: u32, v: i32) {
        encoding::int32::encode(tag, &v, self.0);
    }

    fn unhex(&mut self, tag: u32, hex: &str) {
        encode_key(tag, WireType::LengthDelimited, self.0);
        encode_varint((hex.len() / 2) as u64, self.0);
        for pair in hex.as_bytes().chunks_exact(2) {
            if let [hi, lo] = pair {
                self.0.put_u8((digit(*hi) << 4) | digit(*lo));
            }
        }
    }
}

/// A lowercase hex digit's value (the caller checked it is one).
fn digit(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        _ => c.wrapping_sub(b'a') + 10,
    }
}

/// Bytes of a length-delimited field of `len` bytes, its key and prefix included.
pub(super) fn delimited_len(tag: u32, len: usize) -> usize {
    key_len(tag) + encoded_len_varint(len as u64) + len
}

/// Bytes of a string `AnyValue` holding `len` bytes (a oneof member: written even when empty).
fn any_len(len: usize) -> usize {
    delimited_len(common::ANY_STRING, len)
}

/// Bytes of a `KeyValue` with key `k` and string value `v` (an empty key is not written, as
/// prost writes no default scalar).
pub(super) fn key_value_len(k: &str, v: &str) -> usize {
    let key = if k.is_empty() {
        0
    } else {
        delimited_len(common::KEY_VALUE_KEY, k.len())
    };
    key + delimited_len(common::KEY_VALUE_VALUE, any_len(v.len()))
}

/// A `KeyValue` field `tag` with key `k` and string value `v`.
pub(super) fn key_value(o: &mut impl Out, tag: u32, k: &str, v: &str) {
    o.delimited(tag, key_value_len(k, v), None);
    if !k.is_empty() {
        o.delimited(common::KEY_VALUE_KEY, k.len(), Some(k.as_bytes()));
    }
    o.delimited(common::KEY_VALUE_VALUE, any_len(v.len()), None);
    o.delimited(common::ANY_STRING, v.len(), Some(v.as_bytes()));
}

/// A string field, unless empty (proto3 writes no default).
pub(super) fn text(o: &mut impl Out, tag: u32, v: &str) {
    if !v.is_empty() {
        o.delimited(tag, v.len(), Some(v.as_bytes()));
    }
}

/// What one header is to the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role<'a> {
    /// A resource attribute (its key without the prefix).
    Resource(&'a str),
    /// The scope's name, version or an attribute.
    Scope,
    /// A record field.
    Field(Field<'a>),
    /// A record attribute.
    Attribute,
}

/// A record field a header sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field<'a> {
    Time(u64),
    SeverityNumber(i32),
    Flags(u32),
    SeverityText(&'a str),
    EventName(&'a str),
    TraceId(&'a str),
    SpanId(&'a str),
}

/// What header `k` = `v` is to the record (the same answer every time: no state).
pub(super) fn role<'a>(k: &'a str, v: &'a str) -> Role<'a> {
    // Most headers are attributes: one prefix compare decides.
    if k != names::TIMESTAMP && !k.starts_with("otel.") {
        return Role::Attribute;
    }
    if let Some(rest) = k.strip_prefix(names::RESOURCE_PREFIX) {
        return Role::Resource(rest);
    }
    if is_scope_header(k, v) {
        return Role::Scope;
    }
    field(k, v).map_or(Role::Attribute, Role::Field)
}

/// Whether a header belongs to the scope (an empty name or version is an attribute: the
/// source writes none for an empty one).
pub(super) fn is_scope_header(k: &str, v: &str) -> bool {
    k.starts_with(names::SCOPE_ATTR_PREFIX)
        || ((k == names::SCOPE_NAME || k == names::SCOPE_VERSION) && !v.is_empty())
}

/// The record field header `k` names, if the source would write `v` back from it.
fn field<'a>(k: &str, v: &'a str) -> Option<Field<'a>> {
    Some(match k {
        names::TIMESTAMP => Field::Time(exact_u64(v)?.checked_mul(NANOS_PER_MS)?),
        names::SEVERITY_NUMBER => {
            let (neg, n) = match v.strip_prefix('-') {
                Some(d) => (true, exact_u64(d)?),
                None => (false, exact_u64(v)?),
            };
            let n = i64::try_from(n).ok()?;
            Field::SeverityNumber(i32::try_from(if neg { -n } else { n }).ok()?)
        }
        names::TRACE_FLAGS => Field::Flags(u32::try_from(exact_u64(v)?).ok()?),
        names::SEVERITY_TEXT if !v.is_empty() => Field::SeverityText(v),
        names::EVENT_NAME if !v.is_empty() => Field::EventName(v),
        names::TRACE_ID if is_hex(v) => Field::TraceId(v),
        names::SPAN_ID if is_hex(v) => Field::SpanId(v),
        _ => return None,
    })
}

/// `v` as a number whose decimal text is `v` again (no sign, no leading zero), and not 0.
fn exact_u64(v: &str) -> Option<u64> {
    let b = v.as_bytes();
    if b.first().is_none_or(|&c| !(b'1'..=b'9').contains(&c)) || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.parse().ok()
}

/// Non-empty, even-length lowercase hex (what the source's `hex` writes, nothing else).
fn is_hex(v: &str) -> bool {
    !v.is_empty()
        && v.len() % 2 == 0
        && v.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// The record fields an event's headers set (each at most once: header keys are unique).
#[derive(Debug, Default)]
pub(super) struct Fields<'a> {
    /// Whether every header is an attribute (none is `timestamp` or `otel.*`): the common
    /// case, whose walks and grouping skip the mapping's checks.
    pub(super) plain: bool,
    time: u64,
    severity_number: i32,
    flags: u32,
    severity_text: &'a str,
    event_name: &'a str,
    trace_id: &'a str,
    span_id: &'a str,
}

impl<'a> Fields<'a> {
    /// The fields of a plain event: none.
    pub(super) fn plain() -> Fields<'a> {
        Fields {
            plain: true,
            ..Fields::default()
        }
    }

    /// The fields `e`'s headers set.
    pub(super) fn of(e: &'a Event) -> Fields<'a> {
        let mut f = Fields::plain();
        for (k, v) in e.headers.iter() {
            let r = role(k, v);
            if r != Role::Attribute {
                f.plain = false;
            }
            if let Role::Field(x) = r {
                match x {
                    Field::Time(n) => f.time = n,
                    Field::SeverityNumber(n) => f.severity_number = n,
                    Field::Flags(n) => f.flags = n,
                    Field::SeverityText(s) => f.severity_text = s,
                    Field::EventName(s) => f.event_name = s,
                    Field::TraceId(s) => f.trace_id = s,
                    Field::SpanId(s) => f.span_id = s,
                }
            }
        }
        f
    }
}

/// Writes the `LogRecord` of `e` (its resource and scope headers left to the groups), whose
/// fields are `f` (`Fields::of(e)`); `text_body` says whether the body is UTF-8.
pub(super) fn record(o: &mut impl Out, e: &Event, f: &Fields<'_>, text_body: bool) {
    use log_record as t;
    if f.time != 0 {
        o.fixed64(t::TIME_UNIX_NANO, f.time);
    }
    if f.severity_number != 0 {
        o.int32(t::SEVERITY_NUMBER, f.severity_number);
    }
    text(o, t::SEVERITY_TEXT, f.severity_text);
    if !e.body.is_empty() {
        let tag = if text_body {
            common::ANY_STRING
        } else {
            common::ANY_BYTES
        };
        o.delimited(t::BODY, delimited_len(tag, e.body.len()), None);
        o.delimited(tag, e.body.len(), Some(&e.body));
    }
    for (k, v) in e.headers.iter() {
        if f.plain || role(k, v) == Role::Attribute {
            key_value(o, t::ATTRIBUTES, k, v);
        }
    }
    if f.flags != 0 {
        o.fixed32(t::FLAGS, f.flags);
    }
    if !f.trace_id.is_empty() {
        o.unhex(t::TRACE_ID, f.trace_id);
    }
    if !f.span_id.is_empty() {
        o.unhex(t::SPAN_ID, f.span_id);
    }
    text(o, t::EVENT_NAME, f.event_name);
}
