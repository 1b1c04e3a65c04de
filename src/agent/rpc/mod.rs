//! RPC connections to other agents: the async edges around the pure codecs of
//! [`crate::wire`]. [`avro_client`] is the client used by the avro sink and the
//! `avro-client` / `bench --rpc avro` tools; [`thrift_client`] the thrift sink's and
//! `bench --rpc thrift`'s.

pub mod avro_client;
pub mod thrift_client;
