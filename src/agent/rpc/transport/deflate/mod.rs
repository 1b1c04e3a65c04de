//! `compression-type = deflate` exactly as Flume does it (Netty's `JZlibEncoder` and
//! `JZlibDecoder` at the front of the pipeline): each direction of the connection is ONE zlib
//! (RFC 1950) stream for the connection's whole life, and every write ends with a SYNC flush
//! (`00 00 ff ff`), so the peer can decode each frame as soon as it arrives.
//!
//! [`Deflate`] wraps any byte stream (a TCP stream, or a TLS stream: TLS carries the zlib
//! stream, as Flume's pipeline orders them). Bounded memory: the read side holds
//! [`READ_BUFFER_BYTES`] of compressed input and inflates straight into the caller's buffer
//! (a small compressed frame that inflates to a huge one is pulled out piece by piece, and
//! the protocol's own frame limits apply to it); the write side compresses at most
//! [`WRITE_CHUNK_BYTES`] per call and takes nothing new until that has gone out.
//!
//! A source bounds what inflating costs through the frames the inflated bytes fill (its
//! `max-frame-size` and `max-inflight-bytes` apply to them as to uncompressed bytes). It may
//! also cap what a peer's bytes may inflate to ([`Deflate::with_ratio_cap`],
//! `max-inflate-ratio`, off by default): over the connection's life, the bytes inflated may not pass
//! [`INFLATE_FLOOR_BYTES`] plus the ratio times the compressed bytes received. The cap is
//! checked before inflating (each read inflates at most what is left of the allowance, plus
//! one byte that proves the stream goes on), so a zlib bomb costs at most the allowance, not
//! what it would inflate to. It is the connection's total and not each call's: a floor per
//! call would let a peer that flushes often multiply it.
//!
//! Errors: corrupt input is [`std::io::ErrorKind::InvalidData`] ("not a deflate stream");
//! a stream over its inflation cap is [`std::io::ErrorKind::InvalidData`] too
//! ([`DeflateError::Ratio`]);
//! a stream that ends in the middle of a flushed write (the connection closed after bytes
//! that do not end with a SYNC flush or the stream's end) is
//! [`std::io::ErrorKind::UnexpectedEof`] ("deflate stream cut mid-way"). Flume's server never
//! finishes its stream, so a connection closed right after a flushed write is a clean end.
//!
//! Cancel safety: all state lives in the struct, so a cancelled read or write loses nothing.
//!
//! Here: the struct, its cap and its errors; `inflate.rs` the read side, `compress.rs` the
//! write side.

use std::io;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use flate2::{Compress, Compression, Decompress};

/// Compressed bytes read from the peer at a time.
pub(crate) const READ_BUFFER_BYTES: usize = 16 << 10;
/// Most bytes inflated into the caller's buffer by one read.
pub(crate) const INFLATE_CHUNK_BYTES: usize = 64 << 10;
/// Most bytes of one write compressed at once (a larger write is taken in pieces).
pub(crate) const WRITE_CHUNK_BYTES: usize = 256 << 10;
/// Flume's `compression-level` default (Netty `ZlibEncoder(6)`).
#[cfg(test)]
pub(crate) const LEVEL_DEFAULT: u32 = 6;
/// Bytes a connection may inflate beyond its ratio cap (its first calls, a handshake).
pub(crate) const INFLATE_FLOOR_BYTES: u64 = 256 << 10;
/// `max-inflate-ratio` by default: 0, no ratio cap. What inflating costs is bounded by the
/// frames it fills instead: the inflated bytes of a call are read against `max-frame-size`
/// (a frame announcing more is refused at its header, after inflating a dozen bytes) and
/// reserved from `max-inflight-bytes` before they are inflated, exactly as uncompressed
/// bytes. A ratio cap refused Flume's own client on ordinary repetitive logs (identical lines
/// deflate 130-230:1 in batches of 100-1,000), which is what compression is for.
pub(crate) const INFLATE_RATIO_DEFAULT: u64 = 0;
/// The bytes a SYNC flush ends with (an empty stored block).
const SYNC_MARKER: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// A byte stream whose both directions are zlib streams.
#[derive(Debug)]
pub(crate) struct Deflate<S> {
    inner: S,
    inflate: Decompress,
    input: Box<[u8]>,
    in_pos: usize,
    in_len: usize,
    /// The last 4 compressed bytes received (to tell a cut stream from a clean end).
    tail: [u8; 4],
    received: u64,
    read_done: bool,
    deflate: Compress,
    output: Vec<u8>,
    out_pos: usize,
    finished: bool,
    cap: Option<RatioCap>,
}

/// The inflation cap of a source's connection ([`Deflate::with_ratio_cap`]).
#[derive(Debug)]
struct RatioCap {
    ratio_max: u64,
    /// Counts the connections closed for passing their cap (the source's metric).
    refused: Arc<AtomicU64>,
    tripped: bool,
}

impl RatioCap {
    /// Inflated bytes allowed after `received` compressed bytes.
    fn allowance(&self, received: u64) -> u64 {
        INFLATE_FLOOR_BYTES.saturating_add(self.ratio_max.saturating_mul(received))
    }
}

impl<S> Deflate<S> {
    /// Wraps `inner`; what this side writes is compressed at `level` (0-9).
    pub(crate) fn new(inner: S, level: u32) -> Self {
        Deflate {
            inner,
            inflate: Decompress::new(true),
            input: vec![0u8; READ_BUFFER_BYTES].into_boxed_slice(),
            in_pos: 0,
            in_len: 0,
            tail: [0xff; 4],
            received: 0,
            read_done: false,
            deflate: Compress::new(Compression::new(level.min(9)), true),
            output: Vec::new(),
            out_pos: 0,
            finished: false,
            cap: None,
        }
    }

    /// The same, refusing to inflate more than [`INFLATE_FLOOR_BYTES`] plus `ratio_max`
    /// bytes per compressed byte received; a stream that would is refused with
    /// [`DeflateError::Ratio`] and counted once in `refused`.
    pub(crate) fn with_ratio_cap(mut self, ratio_max: u64, refused: Arc<AtomicU64>) -> Self {
        self.cap = Some(RatioCap {
            ratio_max,
            refused,
            tripped: false,
        });
        self
    }
}

/// What went wrong in a deflate stream (the inner error of the [`io::Error`] a read
/// returns; [`DeflateError::of`] finds it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DeflateError {
    /// The bytes are not a zlib stream.
    #[error("not a deflate stream ({0}); does the peer use compression-type = deflate too?")]
    Corrupt(String),
    /// The connection closed in the middle of a flushed write.
    #[error(
        "deflate stream cut mid-way: the connection closed after {0} compressed bytes that do \
         not end a flushed write"
    )]
    Cut(u64),
    /// The peer's bytes inflate beyond the source's cap (a zlib bomb).
    #[error(
        "deflate stream inflates beyond max-inflate-ratio: more than {inflated} bytes from \
         {compressed} compressed bytes (ratio {}:1; at most {ratio_max}:1 beyond the first {} \
         bytes)", ratio_of(*.inflated, *.compressed), INFLATE_FLOOR_BYTES
    )]
    Ratio {
        /// Bytes inflated (one past the allowance).
        inflated: u64,
        /// Compressed bytes received.
        compressed: u64,
        /// `max-inflate-ratio`.
        ratio_max: u64,
    },
}

/// `inflated` per compressed byte, rounded down.
fn ratio_of(inflated: u64, compressed: u64) -> u64 {
    inflated / compressed.max(1)
}

impl DeflateError {
    /// The deflate error inside `e`, if it is one.
    pub(crate) fn of(e: &io::Error) -> Option<&DeflateError> {
        e.get_ref().and_then(|i| i.downcast_ref::<DeflateError>())
    }
}

fn corrupt(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        DeflateError::Corrupt(e.to_string()),
    )
}

mod compress;
mod inflate;

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "tests make and read their fixtures on the real disk (DESIGN.md, the agent's std::fs rule)"
)]
mod tests;
