//! Flume's Thrift RPC (`ThriftSourceProtocol` over the framed transport), as pure codecs:
//! [`frame`] (the `i32` length prefix), [`compact`] and [`binary`] (the two protocols
//! behind [`proto`]'s reading and writing traits), [`service`] (the IDL's types), [`server`] and
//! [`client`] (`append`/`appendBatch` calls, `Status` replies, `TApplicationException`s) and [`sniff`] (what a
//! connection's first bytes most probably are when they are not Thrift).
//!
//! Hand-written rather than built on the `thrift` crate: its API is synchronous
//! (`Read`/`Write` transports), it sizes containers from the peer's counts, and it decodes
//! into generated structs that would be copied again into [`sluice_core::Event`]; the
//! protocol is small (see DESIGN.md's dependency notes). Python's `thrift` package is the
//! independent peer in the tests.

pub mod binary;
pub mod client;
pub mod compact;
mod cursor;
pub mod error;
pub mod frame;
pub mod probe;
pub mod proto;
pub mod server;
pub mod service;
pub mod sniff;

pub use client::{decode_reply, encode_call};
pub use error::ThriftError;
pub use frame::{FrameReader, FRAME_BYTES_MAX_DEFAULT};
pub use server::{begin, encode_exception, encode_reply, Begun, EventCall};
pub use service::{CallLimits, ExceptionKind, Method, Protocol, Status};
