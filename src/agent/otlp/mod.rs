//! What the `otlp` source and sink share: the mapping between OpenTelemetry log records and
//! Flume events, both ways (`to_events.rs`; `encode.rs` and `encode_record.rs`, which write
//! the sink's request bytes straight from the events, with `client_codec.rs` their gRPC
//! codec), over the header names of `names.rs`, and the protocol's paths and content types
//! (`proto.rs`). Pure: no sockets, no channel; the generated types are `opentelemetry-proto`'s,
//! except the request the source decodes (`borrowed.rs`: types generated at build time whose
//! strings are slices of the received buffer) and what its events will cost once mapped, from
//! that decode (`cost.rs`). `to_records.rs`, the sink's former mapping into
//! `opentelemetry-proto`'s owned request, is kept for the tests as the encoder's reference.
//!
//! The mapping (docs/otlp.md has the table): a record's body is the event body (a string or
//! bytes as they are, any other `AnyValue` as JSON); its attributes are headers of the same
//! name; resource attributes are `otel.resource.<key>`, scope attributes
//! `otel.scope.attr.<key>`, and the record's own fields `timestamp` (ms), `otel.severity_text`,
//! `otel.severity_number`, `otel.trace_id`, `otel.span_id`, `otel.trace_flags`,
//! `otel.event_name`, `otel.scope.name`, `otel.scope.version`. The sink maps them back, so
//! Sluice → Sluice keeps every header and body exactly.

pub(crate) mod borrowed;
mod client_codec;
pub(crate) mod cost;
mod encode;
mod encode_record;
pub(crate) mod names;
pub mod proto;
pub(crate) mod to_events;
#[cfg(test)]
pub(crate) mod to_records;
pub(crate) mod value;

pub use client_codec::ExportCodec;
pub use encode::ExportBatch;
pub(crate) use to_events::{request_events, Mapped};
