//! What the `otlp` source and sink share: the mapping between OpenTelemetry log records and
//! Flume events, both ways (`to_events.rs`, `to_records.rs`), over the header names of
//! `names.rs`, and the protocol's paths and content types (`proto.rs`). Pure: no sockets, no
//! channel; the generated types are `opentelemetry-proto`'s, except the request the source
//! decodes (`borrowed.rs`: types generated at build time whose strings are slices of the
//! received buffer).
//!
//! The mapping (docs/otlp.md has the table): a record's body is the event body (a string or
//! bytes as they are, any other `AnyValue` as JSON); its attributes are headers of the same
//! name; resource attributes are `otel.resource.<key>`, scope attributes
//! `otel.scope.attr.<key>`, and the record's own fields `timestamp` (ms), `otel.severity_text`,
//! `otel.severity_number`, `otel.trace_id`, `otel.span_id`, `otel.trace_flags`,
//! `otel.event_name`, `otel.scope.name`, `otel.scope.version`. The sink maps them back, so
//! Sluice → Sluice keeps every header and body exactly.

pub(crate) mod borrowed;
pub(crate) mod names;
pub mod proto;
pub(crate) mod to_events;
pub(crate) mod to_records;
pub(crate) mod value;

pub(crate) use to_events::{request_events, Mapped};
pub use to_records::export_request;
