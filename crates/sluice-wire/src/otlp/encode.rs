//! Events as an `ExportLogsServiceRequest`'s protobuf bytes, the sink's and the bench
//! client's one encoder: [`ExportBatch::new`] groups the events (`otel.resource.*` headers
//! make the resource, `otel.scope.*` the scope; events sharing both share one `ScopeLogs`,
//! in the order each group first appears) and measures every message once;
//! [`ExportBatch::encode`] then writes the request straight from the events into the caller's
//! buffer (tonic's message buffer, or the HTTP body) with `prost::encoding`'s functions
//! (`encode_record.rs`). Nothing is built per record: bodies are written from the events'
//! buffers, headers from their text, where the `opentelemetry-proto` request it replaces held
//! a `String` per body, key and value, a `Vec` per attribute list, and had prost recompute
//! each record's length once per nesting level.
//!
//! Grouping compares an event's resource and scope headers with the previous event's group
//! first, then (a hash first) with every group so far: no allocation per event.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use bytes::BufMut;
use sluice_core::Event;

use super::encode_record::{
    delimited_len, is_scope_header, key_value, record, role, text, Fields, Len, Out, Put, Role,
};
use super::names;

/// Field numbers of the request's enclosing messages (`logs_service.proto`, `logs.proto`,
/// `resource.proto`, `common.proto`, vendored in `proto/`, v1.8.0).
mod tags {
    /// `ExportLogsServiceRequest.resource_logs`.
    pub(super) const RESOURCE_LOGS: u32 = 1;
    /// `ResourceLogs.resource`.
    pub(super) const RESOURCE: u32 = 1;
    /// `ResourceLogs.scope_logs`.
    pub(super) const SCOPE_LOGS: u32 = 2;
    /// `Resource.attributes`.
    pub(super) const RESOURCE_ATTRIBUTES: u32 = 1;
    /// `ScopeLogs.scope`.
    pub(super) const SCOPE: u32 = 1;
    /// `ScopeLogs.log_records`.
    pub(super) const LOG_RECORDS: u32 = 2;
    /// `InstrumentationScope.name`.
    pub(super) const SCOPE_NAME: u32 = 1;
    /// `InstrumentationScope.version`.
    pub(super) const SCOPE_VERSION: u32 = 2;
    /// `InstrumentationScope.attributes`.
    pub(super) const SCOPE_ATTRIBUTES: u32 = 3;
}

/// One record's measure.
#[derive(Debug, Clone, Copy)]
struct RecordPlan {
    /// Bytes of the `LogRecord` message.
    len: usize,
    /// Whether the body is UTF-8 (a string value) or not (a bytes value).
    text_body: bool,
    /// Whether every header is an attribute (`Fields::plain`).
    plain: bool,
}

/// One `ScopeLogs`: its scope's headers are those of event `rep`.
#[derive(Debug)]
struct ScopePlan {
    rep: usize,
    hash: u64,
    /// Bytes of the `InstrumentationScope` message.
    scope_len: usize,
    /// Its events, in batch order.
    members: Vec<usize>,
    /// Bytes of the `ScopeLogs` message.
    len: usize,
}

/// One `ResourceLogs`: its resource's headers are those of event `rep`.
#[derive(Debug)]
struct ResourcePlan {
    rep: usize,
    hash: u64,
    /// Bytes of the `Resource` message.
    resource_len: usize,
    scopes: Vec<ScopePlan>,
    /// Bytes of the `ResourceLogs` message.
    len: usize,
}

/// A batch of events and the measure of its request: what a gRPC or HTTP export sends.
#[derive(Debug)]
pub struct ExportBatch {
    events: Arc<[Event]>,
    records: Vec<RecordPlan>,
    resources: Vec<ResourcePlan>,
    order: Vec<usize>,
    len: usize,
}

impl ExportBatch {
    /// Groups and measures `events`.
    pub fn new(events: Arc<[Event]>) -> ExportBatch {
        let records = events
            .iter()
            .map(|e| {
                let text_body = simdutf8::basic::from_utf8(&e.body).is_ok();
                let fields = Fields::of(e);
                let mut n = Len(0);
                record(&mut n, e, &fields, text_body);
                RecordPlan {
                    len: n.0,
                    text_body,
                    plain: fields.plain,
                }
            })
            .collect();
        let mut batch = ExportBatch {
            events,
            records,
            resources: Vec::new(),
            order: Vec::new(),
            len: 0,
        };
        batch.group();
        batch.measure();
        batch
    }

    /// The events, in the order they were given.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// For each record in request order, the index of its event.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Bytes of the encoded request.
    pub fn encoded_len(&self) -> usize {
        self.len
    }

    /// Writes the request (exactly [`ExportBatch::encoded_len`] bytes) into `buf`.
    pub fn encode(&self, buf: &mut impl BufMut) {
        let o = &mut Put(buf);
        for r in &self.resources {
            o.delimited(tags::RESOURCE_LOGS, r.len, None);
            o.delimited(tags::RESOURCE, r.resource_len, None);
            if let Some(e) = self.events.get(r.rep) {
                resource(o, e);
            }
            for s in &r.scopes {
                o.delimited(tags::SCOPE_LOGS, s.len, None);
                o.delimited(tags::SCOPE, s.scope_len, None);
                if let Some(e) = self.events.get(s.rep) {
                    scope(o, e);
                }
                for &i in &s.members {
                    if let (Some(e), Some(p)) = (self.events.get(i), self.records.get(i)) {
                        o.delimited(tags::LOG_RECORDS, p.len, None);
                        let f = if p.plain {
                            Fields::plain()
                        } else {
                            Fields::of(e)
                        };
                        record(o, e, &f, p.text_body);
                    }
                }
            }
        }
    }

    /// Puts every event into its resource's and scope's group.
    fn group(&mut self) {
        let mut last: Option<(usize, usize)> = None;
        let events = self.events.clone();
        for (i, e) in events.iter().enumerate() {
            if let Some((r, s)) = last {
                if let Some(scope) = self.same_group(r, s, i, e) {
                    scope.members.push(i);
                    continue;
                }
            }
            last = Some(self.place(i));
        }
        self.order = self
            .resources
            .iter()
            .flat_map(|r| &r.scopes)
            .flat_map(|s| s.members.iter().copied())
            .collect();
    }

    /// Scope group `s` of resource group `r`, if event `i` (`e`) belongs to it.
    fn same_group(&mut self, r: usize, s: usize, i: usize, e: &Event) -> Option<&mut ScopePlan> {
        let plain = |i: usize| self.records.get(i).is_some_and(|p| p.plain);
        let res = self.resources.get_mut(r)?;
        let scope = res.scopes.get_mut(s)?;
        // Plain events have neither resource nor scope headers.
        if plain(i) && plain(res.rep) && plain(scope.rep) {
            return Some(scope);
        }
        let rep = self.events.get(res.rep)?;
        let scope_rep = self.events.get(scope.rep)?;
        (same(rep, e, is_resource) && same(scope_rep, e, is_scope_header)).then_some(scope)
    }

    /// Puts event `i` into the group it belongs to, a new one if none; its place.
    fn place(&mut self, i: usize) -> (usize, usize) {
        let Some(e) = self.events.get(i) else {
            return (0, 0);
        };
        let (rh, sh) = (hash(e, is_resource), hash(e, is_scope_header));
        let events = &self.events;
        let found = self.resources.iter().position(|r| {
            r.hash == rh && events.get(r.rep).is_some_and(|x| same(x, e, is_resource))
        });
        let r = found.unwrap_or_else(|| {
            self.resources.push(ResourcePlan {
                rep: i,
                hash: rh,
                resource_len: 0,
                scopes: Vec::new(),
                len: 0,
            });
            self.resources.len() - 1
        });
        let Some(res) = self.resources.get_mut(r) else {
            return (0, 0);
        };
        let found = res.scopes.iter().position(|s| {
            s.hash == sh
                && events
                    .get(s.rep)
                    .is_some_and(|x| same(x, e, is_scope_header))
        });
        let s = match found {
            Some(s) => {
                if let Some(scope) = res.scopes.get_mut(s) {
                    scope.members.push(i);
                }
                s
            }
            None => {
                res.scopes.push(ScopePlan {
                    rep: i,
                    hash: sh,
                    scope_len: 0,
                    members: vec![i],
                    len: 0,
                });
                res.scopes.len() - 1
            }
        };
        (r, s)
    }

    /// Every group's length, and the request's.
    fn measure(&mut self) {
        let mut total = 0;
        for r in &mut self.resources {
            let mut n = Len(0);
            if let Some(e) = self.events.get(r.rep) {
                resource(&mut n, e);
            }
            r.resource_len = n.0;
            let mut len = delimited_len(tags::RESOURCE, r.resource_len);
            for s in &mut r.scopes {
                let mut n = Len(0);
                if let Some(e) = self.events.get(s.rep) {
                    scope(&mut n, e);
                }
                s.scope_len = n.0;
                s.len = delimited_len(tags::SCOPE, s.scope_len)
                    + s.members
                        .iter()
                        .filter_map(|&i| self.records.get(i))
                        .map(|p| delimited_len(tags::LOG_RECORDS, p.len))
                        .sum::<usize>();
                len += delimited_len(tags::SCOPE_LOGS, s.len);
            }
            r.len = len;
            total += delimited_len(tags::RESOURCE_LOGS, r.len);
        }
        self.len = total;
    }
}

/// Whether a header belongs to the resource.
fn is_resource(k: &str, _v: &str) -> bool {
    k.starts_with(names::RESOURCE_PREFIX)
}

/// Whether `a` and `b` have the same headers of the kind `pick` selects.
fn same(a: &Event, b: &Event, pick: fn(&str, &str) -> bool) -> bool {
    let a = a.headers.iter().filter(|(k, v)| pick(k, v));
    a.eq(b.headers.iter().filter(|(k, v)| pick(k, v)))
}

/// A hash of the headers of the kind `pick` selects.
fn hash(e: &Event, pick: fn(&str, &str) -> bool) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for (k, v) in e.headers.iter().filter(|(k, v)| pick(k, v)) {
        (k, v).hash(&mut h);
    }
    h.finish()
}

/// The `Resource` message of `e`'s resource headers (prefix stripped, in key order).
fn resource(o: &mut impl Out, e: &Event) {
    for (k, v) in e.headers.iter() {
        if let Role::Resource(rest) = role(k, v) {
            key_value(o, tags::RESOURCE_ATTRIBUTES, rest, v);
        }
    }
}

/// The `InstrumentationScope` message of `e`'s scope headers.
fn scope(o: &mut impl Out, e: &Event) {
    let h = &e.headers;
    text(o, tags::SCOPE_NAME, h.get(names::SCOPE_NAME).unwrap_or(""));
    text(
        o,
        tags::SCOPE_VERSION,
        h.get(names::SCOPE_VERSION).unwrap_or(""),
    );
    for (k, v) in h.iter() {
        if let Some(rest) = k.strip_prefix(names::SCOPE_ATTR_PREFIX) {
            key_value(o, tags::SCOPE_ATTRIBUTES, rest, v);
        }
    }
}

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;
