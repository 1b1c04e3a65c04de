//! Events as an `ExportLogsServiceRequest`, the reverse of `to_events.rs`: `otel.resource.*`
//! headers make the resource, `otel.scope.*` the scope (events sharing both share one
//! `ScopeLogs`), the record's own headers its fields, every other header an attribute with a
//! string value. A header becomes a field only when the source would write that header back
//! exactly from it (`timestamp` `1700000000123`, not `0` or `0123`, which stay attributes), so
//! whatever the header, Sluice → Sluice gives it back as it was. The body is a string value
//! when it is UTF-8, else a bytes value.
//!
//! Test-only: the sink's former mapping into the owned request (`owned.rs`: the types
//! `opentelemetry-proto` generates), kept as the reference `encode.rs`'s bytes are compared with (an independent path: owned types,
//! prost's generated encoding).

use std::collections::HashMap;

use sluice_core::Event;

use super::names;
use super::owned::{
    any_value::Value, AnyValue, ExportLogsServiceRequest, InstrumentationScope, KeyValue,
    LogRecord, Resource, ResourceLogs, ScopeLogs,
};
use super::to_events::hex;

/// Nanoseconds per millisecond.
const NANOS_PER_MS: u64 = 1_000_000;

/// A resource's or a scope's headers, sorted: the key events are grouped by.
type Group = Vec<(String, String)>;
/// A scope's headers and the indexes of its events.
type Scoped = (Group, Vec<usize>);

/// The request for `events`, and for each record in request order the index of its event.
pub fn export_request(events: &[Event]) -> (ExportLogsServiceRequest, Vec<usize>) {
    let mut resources: Vec<(Group, Vec<Scoped>)> = Vec::new();
    let mut find: HashMap<(Group, Group), (usize, usize)> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        let (res, scope) = group_keys(e);
        let key = (res, scope);
        if let Some(&(r, s)) = find.get(&key) {
            if let Some(slot) = resources.get_mut(r).and_then(|x| x.1.get_mut(s)) {
                slot.1.push(i);
            }
            continue;
        }
        let r = match resources.iter().position(|(g, _)| *g == key.0) {
            Some(r) => r,
            None => {
                resources.push((key.0.clone(), Vec::new()));
                resources.len() - 1
            }
        };
        if let Some(x) = resources.get_mut(r) {
            x.1.push((key.1.clone(), vec![i]));
            find.insert(key, (r, x.1.len() - 1));
        }
    }
    let mut order = Vec::with_capacity(events.len());
    let resource_logs = resources
        .into_iter()
        .map(|(res, scopes)| ResourceLogs {
            resource: Some(Resource {
                attributes: res.iter().map(|(k, v)| attr(k, v)).collect(),
                ..Default::default()
            }),
            scope_logs: scopes
                .into_iter()
                .map(|(scope, idx)| {
                    order.extend_from_slice(&idx);
                    ScopeLogs {
                        scope: Some(scope_of(&scope)),
                        log_records: idx
                            .iter()
                            .filter_map(|&i| events.get(i).map(record))
                            .collect(),
                        schema_url: String::new(),
                    }
                })
                .collect(),
            schema_url: String::new(),
        })
        .collect();
    (ExportLogsServiceRequest { resource_logs }, order)
}

/// An event's resource headers (prefix stripped) and scope headers (as they are), sorted.
fn group_keys(e: &Event) -> (Group, Group) {
    let mut res = Vec::new();
    let mut scope = Vec::new();
    for (k, v) in e.headers.iter() {
        if let Some(rest) = k.strip_prefix(names::RESOURCE_PREFIX) {
            res.push((rest.to_owned(), v.to_owned()));
        } else if is_scope_header(k, v) {
            scope.push((k.to_owned(), v.to_owned()));
        }
    }
    res.sort();
    scope.sort();
    (res, scope)
}

/// Whether a header belongs to the scope (an empty name or version is an attribute: the
/// source writes none for an empty one).
fn is_scope_header(k: &str, v: &str) -> bool {
    k.starts_with(names::SCOPE_ATTR_PREFIX)
        || ((k == names::SCOPE_NAME || k == names::SCOPE_VERSION) && !v.is_empty())
}

fn scope_of(headers: &Group) -> InstrumentationScope {
    let mut s = InstrumentationScope::default();
    for (k, v) in headers {
        if k == names::SCOPE_NAME {
            s.name = v.clone();
        } else if k == names::SCOPE_VERSION {
            s.version = v.clone();
        } else if let Some(rest) = k.strip_prefix(names::SCOPE_ATTR_PREFIX) {
            s.attributes.push(attr(rest, v));
        }
    }
    s
}

fn attr(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.to_owned(),
        value: Some(string(v)),
    }
}

/// A string `AnyValue`.
pub(crate) fn string(s: &str) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(s.to_owned())),
    }
}

/// One event as a record (its resource and scope headers left to the groups).
fn record(e: &Event) -> LogRecord {
    let mut r = LogRecord::default();
    for (k, v) in e.headers.iter() {
        if k.starts_with(names::RESOURCE_PREFIX) || is_scope_header(k, v) || field(&mut r, k, v) {
            continue;
        }
        r.attributes.push(attr(k, v));
    }
    r.body = match std::str::from_utf8(&e.body) {
        _ if e.body.is_empty() => None,
        Ok(s) => Some(string(s)),
        Err(_) => Some(AnyValue {
            value: Some(Value::BytesValue(e.body.to_vec())),
        }),
    };
    r
}

/// Sets the record field header `k` names if the source would write `v` back from it.
fn field(r: &mut LogRecord, k: &str, v: &str) -> bool {
    match k {
        names::TIMESTAMP => {
            match exact_nonzero::<u64>(v).and_then(|ms| ms.checked_mul(NANOS_PER_MS)) {
                Some(n) => r.time_unix_nano = n,
                None => return false,
            }
        }
        names::SEVERITY_NUMBER => match exact_nonzero::<i32>(v) {
            Some(n) => r.severity_number = n,
            None => return false,
        },
        names::TRACE_FLAGS => match exact_nonzero::<u32>(v) {
            Some(n) => r.flags = n,
            None => return false,
        },
        names::SEVERITY_TEXT if !v.is_empty() => r.severity_text = v.to_owned(),
        names::EVENT_NAME if !v.is_empty() => r.event_name = v.to_owned(),
        names::TRACE_ID => match unhex(v) {
            Some(b) => r.trace_id = b,
            None => return false,
        },
        names::SPAN_ID => match unhex(v) {
            Some(b) => r.span_id = b,
            None => return false,
        },
        _ => return false,
    }
    true
}

/// `v` as a number whose decimal text is `v` again, and not 0.
fn exact_nonzero<T>(v: &str) -> Option<T>
where
    T: std::str::FromStr + ToString + Default + PartialEq,
{
    let n: T = v.parse().ok()?;
    (n != T::default() && n.to_string() == v).then_some(n)
}

/// Non-empty lowercase hex as bytes (what `hex` writes, nothing else).
fn unhex(v: &str) -> Option<Vec<u8>> {
    if v.is_empty() || v.len() % 2 != 0 {
        return None;
    }
    let b: Option<Vec<u8>> = (0..v.len())
        .step_by(2)
        .map(|i| v.get(i..i + 2).and_then(|p| u8::from_str_radix(p, 16).ok()))
        .collect();
    b.filter(|b| hex(b) == v)
}

#[cfg(test)]
#[path = "to_records_tests.rs"]
mod tests;
