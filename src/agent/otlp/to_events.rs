//! An `ExportLogsServiceRequest` as events: one per `LogRecord`, in request order, with the
//! record's resource and scope flattened into its headers (module docs of `otlp`). A record
//! that cannot become an event (a value nested too deep, an event over the size limit) is
//! rejected with its index and reason, for the answer's `partial_success`; the others go on.

use sluice_core::{Event, Headers};

use super::names;
use super::proto::{ExportLogsServiceRequest, InstrumentationScope, KeyValue, LogRecord};
use super::value::{body_owned, header_text, TooDeep};

/// Nanoseconds per millisecond.
const NANOS_PER_MS: u64 = 1_000_000;

/// A record the mapping refused: its index among the request's records and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejected {
    /// 0-based, counting records across every resource and scope in request order.
    pub index: usize,
    /// Why, naming what was wrong.
    pub reason: String,
}

/// The events of a request and the records refused.
#[derive(Debug, Default)]
pub(crate) struct Mapped {
    /// One per accepted record, in request order.
    pub events: Vec<Event>,
    /// The refused records.
    pub rejected: Vec<Rejected>,
}

/// Maps every record of `req` (taking its bodies without a copy); an event whose body and
/// headers pass `event_bytes_max` is refused.
pub(crate) fn request_events(req: ExportLogsServiceRequest, event_bytes_max: usize) -> Mapped {
    let mut out = Mapped::default();
    let mut index = 0;
    for rl in req.resource_logs {
        let resource = rl.resource.as_ref().map(|r| r.attributes.as_slice());
        let mut outer = Headers::new();
        let shared = prefixed(&mut outer, names::RESOURCE_PREFIX, resource.unwrap_or(&[]));
        for sl in rl.scope_logs {
            let mut common = outer.clone();
            let scoped = shared.and_then(|()| scope_headers(&mut common, sl.scope.as_ref()));
            for rec in sl.log_records {
                let mapped = scoped
                    .map_err(|e| e.to_string())
                    .and_then(|()| record_event(rec, &common, event_bytes_max));
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

/// One record as an event, its resource's and scope's headers in `common`.
fn record_event(
    mut rec: LogRecord,
    common: &Headers,
    event_bytes_max: usize,
) -> Result<Event, String> {
    let mut h = common.clone();
    for kv in &rec.attributes {
        let text =
            header_text(kv.value.as_ref()).map_err(|e| format!("attribute {:?}: {e}", kv.key))?;
        h.insert(&kv.key, text);
    }
    let nanos = if rec.time_unix_nano != 0 {
        rec.time_unix_nano
    } else {
        rec.observed_time_unix_nano
    };
    if nanos != 0 {
        h.insert(names::TIMESTAMP, (nanos / NANOS_PER_MS).to_string());
    }
    if !rec.severity_text.is_empty() {
        h.insert(names::SEVERITY_TEXT, &rec.severity_text);
    }
    if rec.severity_number != 0 {
        h.insert(names::SEVERITY_NUMBER, rec.severity_number.to_string());
    }
    if !rec.trace_id.is_empty() {
        h.insert(names::TRACE_ID, hex(&rec.trace_id));
    }
    if !rec.span_id.is_empty() {
        h.insert(names::SPAN_ID, hex(&rec.span_id));
    }
    if rec.flags != 0 {
        h.insert(names::TRACE_FLAGS, rec.flags.to_string());
    }
    if !rec.event_name.is_empty() {
        h.insert(names::EVENT_NAME, &rec.event_name);
    }
    let body = body_owned(rec.body.take()).map_err(|e| format!("body: {e}"))?;
    let event = Event::with_headers(h, body);
    let bytes = event.payload_bytes();
    if bytes > event_bytes_max {
        return Err(format!(
            "event of {bytes} bytes (body and headers) exceeds maxEventBytes ({event_bytes_max})"
        ));
    }
    Ok(event)
}

/// The scope's name, version and attributes into `h`.
fn scope_headers(h: &mut Headers, scope: Option<&InstrumentationScope>) -> Result<(), TooDeep> {
    let Some(s) = scope else { return Ok(()) };
    if !s.name.is_empty() {
        h.insert(names::SCOPE_NAME, &s.name);
    }
    if !s.version.is_empty() {
        h.insert(names::SCOPE_VERSION, &s.version);
    }
    prefixed(h, names::SCOPE_ATTR_PREFIX, &s.attributes)
}

/// Attributes into `h`, each key behind `prefix`.
fn prefixed(h: &mut Headers, prefix: &str, attrs: &[KeyValue]) -> Result<(), TooDeep> {
    for kv in attrs {
        h.insert(
            format!("{prefix}{}", kv.key),
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
