//! What the `otlp` source and sink share beyond the wire crate's mapping (`wire::otlp`:
//! records ↔ events, the borrowed request types, the cost estimate, the encoder), re-exported
//! here under the agent's short paths: the protocol's paths, content types and
//! `opentelemetry-proto`'s generated types (`proto.rs`: responses and the JSON encoding), and
//! the sink's gRPC codec (`client_codec.rs`, tonic's). No sockets, no channel.

mod client_codec;
pub mod proto;

pub use crate::wire::otlp::ExportBatch;
pub(crate) use crate::wire::otlp::{borrowed, cost};
pub(crate) use crate::wire::otlp::{request_events, Mapped};
pub use client_codec::ExportCodec;
