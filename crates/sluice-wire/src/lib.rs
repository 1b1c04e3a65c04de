//! Sluice's wire codecs: the protocols spoken with other agents and programs as pure functions
//! of bytes (no sockets, no tokio, hyper or rdkafka), so they can be fuzzed and pinned by
//! golden bytes. Avro and Thrift RPC, syslog framing and parsing, the Java host's frames, Ganglia's
//! gmond packets, OTLP logs (records to events and back, over types generated from the
//! vendored `proto/`), the Flume event format on Kafka records, newline-delimited lines, the
//! http source's JSON events. The
//! connections that move their frames live in the agent (`sluice::agent`), which re-exports
//! this crate as `sluice::wire`.

pub mod avro;
pub mod bodies;
pub mod cost;
mod flume_call;
pub mod ganglia;
pub mod java;
pub mod java_map;
pub mod json;
pub mod kafka;
pub mod lines;
pub mod otlp;
pub mod recv_buf;
pub mod sent_headers;
pub mod splice;
pub mod syslog;
pub mod text;
pub mod thrift;
