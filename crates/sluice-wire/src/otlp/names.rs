//! The header names of the OTLP mapping (docs/otlp.md), written once.

/// Milliseconds since the epoch, as Flume's timestamp interceptor writes it: the record's
/// `time_unix_nano`, or its `observed_time_unix_nano` when that is 0.
pub const TIMESTAMP: &str = "timestamp";
/// `severity_text`.
pub const SEVERITY_TEXT: &str = "otel.severity_text";
/// `severity_number` (1..24, decimal).
pub const SEVERITY_NUMBER: &str = "otel.severity_number";
/// `trace_id`, 32 lowercase hex digits.
pub const TRACE_ID: &str = "otel.trace_id";
/// `span_id`, 16 lowercase hex digits.
pub const SPAN_ID: &str = "otel.span_id";
/// `flags` (decimal).
pub const TRACE_FLAGS: &str = "otel.trace_flags";
/// `event_name`.
pub const EVENT_NAME: &str = "otel.event_name";
/// The instrumentation scope's `name`.
pub const SCOPE_NAME: &str = "otel.scope.name";
/// The instrumentation scope's `version`.
pub const SCOPE_VERSION: &str = "otel.scope.version";
/// Prefix of the scope's attributes.
pub const SCOPE_ATTR_PREFIX: &str = "otel.scope.attr.";
/// Prefix of the resource's attributes.
pub const RESOURCE_PREFIX: &str = "otel.resource.";
