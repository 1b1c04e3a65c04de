//! Wire protocols spoken with other agents: pure codecs (functions of bytes, no sockets), so
//! they can be fuzzed and pinned by golden bytes. The connections that move their frames live
//! in `agent::rpc` and the sources and sinks.

pub mod avro;
pub mod bodies;
pub mod cost;
pub mod recv_buf;
pub mod splice;
pub mod text;
pub mod thrift;
