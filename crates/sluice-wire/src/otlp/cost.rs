//! What a decoded request will cost once mapped to events, computed from the borrowed decode
//! before any event is built: the mapping copies the resource's and the scope's attributes
//! into the headers of **every** record (`to_events.rs`), so a request of 5,000 records that
//! share one resource of 64 KiB of attributes is 74 KiB on the wire and 5,000 × 64 KiB once
//! mapped. The source charges this cost against its in-flight budget, and refuses a request
//! whose cost is more than the whole budget, before mapping it.
//!
//! The estimate is an upper bound of the mapping's allocations, not an exact count: each
//! record costs [`EVENT_BYTES`] (the event and its slot in the batch), each header pair
//! [`HEADER_PAIR_BYTES`] (its index entry) plus twice its text (the headers' text buffer grows
//! by doubling), where a value's text is bounded from its wire form (a string as long as it
//! is, bytes as base64, a number as its longest decimal text, an array or list as JSON with
//! every byte escaped); a body that is not a string or bytes is its JSON text (a string or
//! bytes body is a slice of the request's buffer, counted in the request's own bytes).

use super::borrowed::{AnyValue, ExportLogsServiceRequest, KeyValue, LogRecord, Value};
use super::names;

/// Bytes one event costs beyond its headers' text and index: the shared event data (body
/// handle, headers, counters) and its slot in the request's batch.
pub const EVENT_BYTES: u64 = 160;
/// Bytes one header pair costs in the headers' index, beyond its text.
pub const HEADER_PAIR_BYTES: u64 = 32;
/// Text of the record's own fields when all are set (`timestamp`, `otel.severity_*`,
/// `otel.trace_id`, `otel.span_id`, `otel.trace_flags`: names and values), beyond the
/// `severity_text` and `event_name` strings, which are counted as they are.
const FIELDS_TEXT_BYTES: u64 = 200;
/// Header pairs the record's own fields add at most.
const FIELDS_PAIRS: u64 = 8;
/// Longest decimal text of a number (an `i64`'s 20 characters, a double's 24).
const NUMBER_TEXT_BYTES: u64 = 24;
/// Bytes of JSON text per wire byte of an array or key-value list at worst (a control byte
/// escaped as `\u0000`).
const JSON_BYTES_PER_WIRE_BYTE: u64 = 6;

/// How many log records `req` holds, over every resource and scope.
pub fn records(req: &ExportLogsServiceRequest) -> usize {
    req.resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len())
        .sum()
}

/// The bytes `req`'s events will hold once mapped: `wire_bytes` (the request's buffer, which
/// the bodies slice) plus, per record, its event, its headers (its resource's and scope's
/// attributes counted again for each record) and a structured body's JSON text.
pub fn mapped_bytes(req: &ExportLogsServiceRequest, wire_bytes: usize) -> u64 {
    let mut total = wire_bytes as u64;
    for rl in &req.resource_logs {
        let resource = rl.resource.as_ref().map_or(Headers::default(), |r| {
            attributes(&r.attributes, names::RESOURCE_PREFIX)
        });
        for sl in &rl.scope_logs {
            let mut common = resource;
            if let Some(s) = &sl.scope {
                common.add(names::SCOPE_NAME.len() + s.name.len());
                common.add(names::SCOPE_VERSION.len() + s.version.len());
                common.merge(attributes(&s.attributes, names::SCOPE_ATTR_PREFIX));
            }
            for rec in &sl.log_records {
                total = total.saturating_add(record(rec, common));
            }
        }
    }
    total
}

/// Header pairs and their text.
#[derive(Clone, Copy, Debug, Default)]
struct Headers {
    pairs: u64,
    text: u64,
}

impl Headers {
    fn add(&mut self, text: usize) {
        self.pairs += 1;
        self.text = self.text.saturating_add(text as u64);
    }

    fn merge(&mut self, other: Headers) {
        self.pairs = self.pairs.saturating_add(other.pairs);
        self.text = self.text.saturating_add(other.text);
    }

    /// What they cost in an event's headers.
    fn bytes(self) -> u64 {
        self.pairs
            .saturating_mul(HEADER_PAIR_BYTES)
            .saturating_add(self.text.saturating_mul(2))
    }
}

/// Attributes as headers whose keys are behind `prefix`.
fn attributes(attrs: &[KeyValue], prefix: &str) -> Headers {
    let mut h = Headers::default();
    for kv in attrs {
        h.pairs += 1;
        h.text = h
            .text
            .saturating_add((prefix.len() + kv.key.len()) as u64)
            .saturating_add(value_text(kv.value.as_ref()));
    }
    h
}

/// One record's event: `common` (its resource's and scope's headers) and its own.
fn record(rec: &LogRecord, common: Headers) -> u64 {
    let mut h = common;
    h.merge(attributes(&rec.attributes, ""));
    h.pairs += FIELDS_PAIRS;
    h.text = h
        .text
        .saturating_add(FIELDS_TEXT_BYTES)
        .saturating_add((rec.severity_text.len() + rec.event_name.len()) as u64);
    let body = match rec.body.as_ref().and_then(|b| b.value.as_ref()) {
        None | Some(Value::StringValue(_)) | Some(Value::BytesValue(_)) => 0,
        Some(other) => json_text(other),
    };
    EVENT_BYTES.saturating_add(h.bytes()).saturating_add(body)
}

/// The longest header text a value maps to (value.rs's `header_text`).
fn value_text(v: Option<&AnyValue>) -> u64 {
    match v.and_then(|v| v.value.as_ref()) {
        None => 0,
        Some(Value::StringValue(s)) => s.len() as u64,
        Some(Value::BytesValue(b)) => (b.len() as u64).div_ceil(3) * 4,
        Some(other) => json_text(other),
    }
}

/// The longest JSON text of a value that is not a string or bytes.
fn json_text(v: &Value) -> u64 {
    match v {
        Value::BoolValue(_) | Value::IntValue(_) | Value::DoubleValue(_) => NUMBER_TEXT_BYTES,
        other => (other.encoded_len() as u64)
            .saturating_mul(JSON_BYTES_PER_WIRE_BYTE)
            .saturating_add(NUMBER_TEXT_BYTES),
    }
}

#[cfg(test)]
#[path = "cost_tests.rs"]
mod tests;
