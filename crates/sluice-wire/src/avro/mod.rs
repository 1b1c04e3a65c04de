//! Flume's Avro RPC (`AvroSourceProtocol` over Avro IPC with Netty framing), as pure codecs:
//! [`frame`] (Netty framing), [`binary`] (Avro primitives), [`handshake`], [`call`]
//! (requests, responses, `AvroFlumeEvent`), [`protocol`] (the protocol text and its MD5), and
//! the per-connection state machines [`server::ServerConn`] and [`client::ClientConn`].
//!
//! Hand-written rather than built on `apache-avro`'s `Value` decoding: the hot path decodes
//! events straight into [`sluice_core::Event`] with one copy of each body (see DESIGN.md);
//! `apache-avro` is the differential oracle in the tests. Deflate (`compression-type`) wraps
//! the whole byte stream and so sits below the framing, in the connection layer.

pub mod binary;
pub mod call;
pub mod client;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod protocol;
pub mod server;

pub use call::{CallLimits, Message, Outcome, Status};
pub use error::AvroError;
pub use frame::{
    decode_frame, encode_frame, encode_frame_head, encode_frame_head_len, Decoded, Frame,
    FrameLimits, FrameReader,
};
pub use handshake::{HandshakeMatch, HandshakeRequest, HandshakeResponse, KnownClients, Md5};
pub use protocol::{PROTOCOL_JSON, PROTOCOL_MD5};
