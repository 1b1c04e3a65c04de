//! An `ExportLogsServiceRequest` as events: one per `LogRecord`, in request order, with the
//! record's resource and scope flattened into its headers (module docs of `otlp`). A record
//! that cannot become an event (a value nested too deep, an event over the size limit) is
//! rejected with its index and reason, for the answer's `partial_success`; the others go on.
//! The request is `borrowed.rs`'s: a body is a slice of the received buffer, and a header's
//! text is checked for UTF-8 and copied once, into the event's headers.

use std::fmt::Write as _;

use sluice_core::{Event, Headers};

use super::borrowed::{ExportLogsServiceRequest, InstrumentationScope, KeyValue, LogRecord};
use super::names;
use super::value::{body, header_text, text, ValueError};

/// Nanoseconds per millisecond.
const NANOS_PER_MS: u64 = 1_000_000;

/// Why a record cannot be an event; its text names what was wrong (the answer's
/// `partial_success.error_message` quotes it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Its resource's or its scope's name, version or attributes.
    #[error("resource or scope: {0}")]
    ResourceOrScope(#[source] ValueError),
    /// One of its attributes (the key as text, invalid UTF-8 replaced).
    #[error("attribute {key:?}: {source}")]
    Attribute {
        /// The attribute's key.
        key: String,
        /// What is wrong with its key or value.
        source: ValueError,
    },
    /// One of its string fields (`severity_text`, `event_name`).
    #[error("{field}: {source}")]
    Field {
        /// The field's protobuf name.
        field: &'static str,
        /// What is wrong with it.
        source: ValueError,
    },
    /// Its body.
    #[error("body: {0}")]
    Body(#[source] ValueError),
    /// The event would be larger than allowed.
    #[error("event of {bytes} bytes (body and headers) exceeds maxEventBytes ({max})")]
    TooLarge {
        /// The event's body and headers.
        bytes: usize,
        /// The limit.
        max: usize,
    },
}

/// A record the mapping refused: its index among the request's records and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// 0-based, counting records across every resource and scope in request order.
    pub index: usize,
    /// Why, naming what was wrong.
    pub reason: RecordError,
}

/// The events of a request and the records refused.
#[derive(Debug, Default)]
pub struct Mapped {
    /// One per accepted record, in request order.
    pub events: Vec<Event>,
    /// The refused records.
    pub rejected: Vec<Rejected>,
}

/// Maps every record of `req` (its bodies stay slices of the request's buffer); an event whose
/// body and headers pass `event_bytes_max` is refused.
pub fn request_events(req: ExportLogsServiceRequest, event_bytes_max: usize) -> Mapped {
    let records = req
        .resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len())
        .sum();
    let mut out = Mapped {
        events: Vec::with_capacity(records),
        rejected: Vec::new(),
    };
    let mut index = 0;
    let mut num = String::new();
    for rl in req.resource_logs {
        let resource = rl.resource.as_ref().map(|r| r.attributes.as_slice());
        let mut outer = Headers::new();
        let shared = prefixed(&mut outer, names::RESOURCE_PREFIX, resource.unwrap_or(&[]));
        for sl in rl.scope_logs {
            let mut common = outer.clone();
            let scoped = shared.and_then(|()| scope_headers(&mut common, sl.scope.as_ref()));
            for rec in sl.log_records {
                let mapped = scoped
                    .map_err(RecordError::ResourceOrScope)
                    .and_then(|()| record_event(rec, &common, event_bytes_max, &mut num));
                match mapped {
                    Ok(e) => out.events.push(e),
                    Err(reason) => out.rejected.push(Rejected { index, reason }),
                }
                index += 1;
            }
        }
    }
    out
}

/// One record as an event, its resource's and scope's headers in `common`; `num` is a
/// scratch buffer for the numeric headers' text.
fn record_event(
    mut rec: LogRecord,
    common: &Headers,
    event_bytes_max: usize,
    num: &mut String,
) -> Result<Event, RecordError> {
    let mut h = common.clone();
    h.reserve(rec.attributes.len());
    for kv in &rec.attributes {
        let bad = |source| RecordError::Attribute {
            key: String::from_utf8_lossy(&kv.key).into_owned(),
            source,
        };
        h.insert(
            text(&kv.key).map_err(bad)?,
            header_text(kv.value.as_ref()).map_err(bad)?,
        );
    }
    let nanos = if rec.time_unix_nano != 0 {
        rec.time_unix_nano
    } else {
        rec.observed_time_unix_nano
    };
    if nanos != 0 {
        insert_number(&mut h, names::TIMESTAMP, nanos / NANOS_PER_MS, num);
    }
    field(
        &mut h,
        names::SEVERITY_TEXT,
        &rec.severity_text,
        "severity_text",
    )?;
    if rec.severity_number != 0 {
        insert_number(&mut h, names::SEVERITY_NUMBER, rec.severity_number, num);
    }
    if !rec.trace_id.is_empty() {
        h.insert(names::TRACE_ID, hex(&rec.trace_id));
    }
    if !rec.span_id.is_empty() {
        h.insert(names::SPAN_ID, hex(&rec.span_id));
    }
    if rec.flags != 0 {
        insert_number(&mut h, names::TRACE_FLAGS, rec.flags, num);
    }
    field(&mut h, names::EVENT_NAME, &rec.event_name, "event_name")?;
    let body = body(rec.body.take()).map_err(RecordError::Body)?;
    let event = Event::with_headers(h, body);
    let bytes = event.payload_bytes();
    if bytes > event_bytes_max {
        return Err(RecordError::TooLarge {
            bytes,
            max: event_bytes_max,
        });
    }
    Ok(event)
}

/// A non-empty string field as header `key`.
fn field(h: &mut Headers, key: &str, value: &[u8], what: &'static str) -> Result<(), RecordError> {
    if !value.is_empty() {
        let text = text(value).map_err(|source| RecordError::Field {
            field: what,
            source,
        })?;
        h.insert(key, text);
    }
    Ok(())
}

/// A number's decimal text as header `key`, written into `num` (no allocation per record).
fn insert_number(h: &mut Headers, key: &str, n: impl std::fmt::Display, num: &mut String) {
    num.clear();
    let _ = write!(num, "{n}");
    h.insert(key, num.as_str());
}

/// The scope's name, version and attributes into `h`.
fn scope_headers(h: &mut Headers, scope: Option<&InstrumentationScope>) -> Result<(), ValueError> {
    let Some(s) = scope else { return Ok(()) };
    if !s.name.is_empty() {
        h.insert(names::SCOPE_NAME, text(&s.name)?);
    }
    if !s.version.is_empty() {
        h.insert(names::SCOPE_VERSION, text(&s.version)?);
    }
    prefixed(h, names::SCOPE_ATTR_PREFIX, &s.attributes)
}

/// Attributes into `h`, each key behind `prefix`.
fn prefixed(h: &mut Headers, prefix: &str, attrs: &[KeyValue]) -> Result<(), ValueError> {
    for kv in attrs {
        h.insert(
            format!("{prefix}{}", text(&kv.key)?),
            header_text(kv.value.as_ref())?,
        );
    }
    Ok(())
}

/// Lowercase hex.
pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
#[path = "to_events_tests.rs"]
mod tests;
