//! RPC connections to other agents: the async edges around the pure codecs of
//! [`crate::wire`]. [`avro_client`] is the client used by the avro sink and the
//! `avro-client` / `bench --rpc avro` tools, [`avro_pipe`] the same connection with several
//! calls in flight (the avro sink's `max-calls-in-flight`); [`meta`] the call metadata keys a Sluice sink
//! sends and an avro source reads back; [`error`] the clients' [`error::RpcError`] and its
//! kinds; [`transport`] the TLS / deflate layer under every RPC connection, [`ipfilter`]
//! Flume's `ipFilterRules`, [`thrift_protocol`] the thrift source's and sink's `protocol` key.

pub mod avro_client;
pub mod avro_pipe;
mod clients;
pub mod error;
pub(crate) mod ipfilter;
pub(crate) mod meta;
pub mod thrift_client;
pub(crate) mod thrift_protocol;
pub mod transport;
