//! The logs request as the source decodes it: types that prost-build generates at build time
//! (the crate's build.rs) from the OTLP `.proto` files vendored in the crate's `proto/` (opentelemetry-proto v1.8.0,
//! the version `opentelemetry-proto` 0.31 generates from), with every `string` and `bytes`
//! field a [`bytes::Bytes`]. Decoded from a `Bytes` buffer (tonic's message buffer, the HTTP
//! body), each string, body and id is a slice of that buffer: no allocation and no copy per
//! value, where `opentelemetry-proto`'s owned types allocate a `String` per body, attribute
//! key and attribute value. The wire format is the same (a `string` is a length-delimited
//! `bytes` that must be UTF-8), so the mapping (`to_events.rs`) checks UTF-8 where it makes
//! text, and a record whose string is not UTF-8 is rejected alone, through `partial_success`.
//!
//! Only the request is decoded with these types; responses and the JSON encoding keep
//! `opentelemetry-proto`'s (the agent's), and the sink's requests are written by `encode.rs`.

generated!("/otlp_borrowed.rs");

pub use generated::opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest;
pub use generated::opentelemetry::proto::common::v1::{
    any_value::Value, AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
pub use generated::opentelemetry::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
pub use generated::opentelemetry::proto::resource::v1::Resource;

/// `req`, an owned request of the same schema (`opentelemetry-proto`'s, as the agent's JSON
/// mapping reads it), as the borrowed type, through its protobuf encoding (which cannot fail
/// to decode: same schema).
pub fn from_owned(
    req: &impl prost::Message,
) -> Result<ExportLogsServiceRequest, prost::DecodeError> {
    use prost::Message;
    ExportLogsServiceRequest::decode(bytes::Bytes::from(req.encode_to_vec()))
}
