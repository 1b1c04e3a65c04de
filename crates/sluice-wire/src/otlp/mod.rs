//! OTLP logs: the mapping between OpenTelemetry log records and Flume events, both ways, as
//! pure functions (the agent's `otlp` source and sink and `bench --rpc otlp` move the bytes).
//! `to_events.rs` maps a received request (`borrowed.rs`: types generated at build time from
//! the vendored `proto/`, whose strings are slices of the received buffer) into events, after
//! `cost.rs` has said what they will cost; `encode.rs` and `encode_record.rs` write a request's
//! protobuf bytes straight from events; `names.rs` holds the header names and `value.rs` an
//! `AnyValue` as text. `to_records.rs`, the sink's former mapping into an owned request
//! (`owned.rs`, the tests' types), is kept for the tests as the encoder's reference.
//!
//! The mapping (docs/otlp.md has the table): a record's body is the event body (a string or
//! bytes as they are, any other `AnyValue` as JSON); its attributes are headers of the same
//! name; resource attributes are `otel.resource.<key>`, scope attributes
//! `otel.scope.attr.<key>`, and the record's own fields `timestamp` (ms), `otel.severity_text`,
//! `otel.severity_number`, `otel.trace_id`, `otel.span_id`, `otel.trace_flags`,
//! `otel.event_name`, `otel.scope.name`, `otel.scope.version`. The sink maps them back, so
//! Sluice → Sluice keeps every header and body exactly.

/// `mod generated`: the types build.rs wrote to `$OUT_DIR` + `$file`, under the one lint
/// allow-list generated code needs (prost's output is not ours to document or lint).
macro_rules! generated {
    ($file:literal) => {
        #[allow(
            clippy::all,
            clippy::pedantic,
            dead_code,
            missing_docs,
            missing_debug_implementations,
            unreachable_pub,
            rustdoc::all
        )]
        mod generated {
            include!(concat!(env!("OUT_DIR"), $file));
        }
    };
}

pub mod borrowed;
pub mod cost;
mod encode;
mod encode_record;
pub mod names;
#[cfg(test)]
pub(crate) mod owned;
pub mod to_events;
#[cfg(test)]
pub(crate) mod to_records;
pub mod value;

pub use encode::ExportBatch;
pub use to_events::{request_events, Mapped, RecordError, Rejected};
