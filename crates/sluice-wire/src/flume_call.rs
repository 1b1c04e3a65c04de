//! What Flume's two RPC protocols (Avro's `AvroSourceProtocol` and Thrift's
//! `ThriftSourceProtocol`) say alike about a call: its two methods, `append` and
//! `appendBatch`, and the limits on what one call may carry. Written once here and re-exported
//! under each protocol's names (`avro::call::{CallLimits, Message}`,
//! `thrift::service::{CallLimits, Method}`).

/// Default most events in one `appendBatch`.
pub const EVENTS_PER_CALL_MAX_DEFAULT: usize = 100_000;
/// Default most headers in one event.
pub const HEADERS_PER_EVENT_MAX_DEFAULT: usize = 1024;

/// Limits on what one call may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    /// Most events in one call.
    pub events_max: usize,
    /// Most headers in one event.
    pub headers_max: usize,
}

impl Default for CallLimits {
    fn default() -> Self {
        CallLimits {
            events_max: EVENTS_PER_CALL_MAX_DEFAULT,
            headers_max: HEADERS_PER_EVENT_MAX_DEFAULT,
        }
    }
}

/// The methods of Flume's source protocols (Avro calls them messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `append(AvroFlumeEvent)` / `append(ThriftFlumeEvent)`: one event.
    Append,
    /// `appendBatch(array<AvroFlumeEvent>)` / `appendBatch(list<ThriftFlumeEvent>)`: a batch.
    AppendBatch,
}

impl Method {
    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Method::Append => "append",
            Method::AppendBatch => "appendBatch",
        }
    }
}
