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

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

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

    /// How much of `out_max` this read may inflate (at least 1: one byte past the allowance
    /// proves the stream would go on).
    fn capped(&self, out_max: usize) -> usize {
        match &self.cap {
            None => out_max,
            Some(cap) => {
                let left = cap
                    .allowance(self.received)
                    .saturating_sub(self.inflate.total_out());
                out_max.min(usize::try_from(left).unwrap_or(usize::MAX).max(1))
            }
        }
    }

    /// The error once the inflated total passed the allowance (counted once).
    fn over_cap(&mut self) -> Option<io::Error> {
        let cap = self.cap.as_mut()?;
        let inflated = self.inflate.total_out();
        if inflated <= cap.allowance(self.received) {
            return None;
        }
        if !cap.tripped {
            cap.tripped = true;
            cap.refused.fetch_add(1, Ordering::Relaxed);
        }
        Some(io::Error::new(
            io::ErrorKind::InvalidData,
            DeflateError::Ratio {
                inflated,
                compressed: self.received,
                ratio_max: cap.ratio_max,
            },
        ))
    }

    /// Makes room at the end of the input buffer: empties it when all was used, moves the
    /// unused bytes to its start when it is full.
    fn make_input_room(&mut self) {
        if self.in_pos == self.in_len {
            self.in_pos = 0;
            self.in_len = 0;
        } else if self.in_len == self.input.len() {
            self.input.copy_within(self.in_pos..self.in_len, 0);
            self.in_len -= self.in_pos;
            self.in_pos = 0;
        }
    }

    fn remember_tail(&mut self, n: usize) {
        let new = self
            .input
            .get(self.in_len - n..self.in_len)
            .unwrap_or_default();
        let mut joined = self.tail.to_vec();
        joined.extend_from_slice(new.get(new.len().saturating_sub(4)..).unwrap_or_default());
        let start = joined.len() - 4;
        self.tail.copy_from_slice(&joined[start..]);
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

impl<S: AsyncRead + Unpin> AsyncRead for Deflate<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        // Inflate into at most this much of `buf` per call: a caller's buffer of a whole
        // frame is uninitialised, and zeroing all of it for each piece would cost more than
        // inflating.
        let out_max = buf.remaining().min(INFLATE_CHUNK_BYTES);
        loop {
            if this.read_done {
                return Poll::Ready(Ok(()));
            }
            if let Some(e) = this.over_cap() {
                return Poll::Ready(Err(e));
            }
            let out_max = this.capped(out_max);
            // Inflate what is buffered (or what the inflater still holds) into `buf`.
            let (before_in, before_out) = (this.inflate.total_in(), this.inflate.total_out());
            let input = this.input.get(this.in_pos..this.in_len).unwrap_or_default();
            let status = this
                .inflate
                .decompress(
                    input,
                    buf.initialize_unfilled_to(out_max),
                    FlushDecompress::None,
                )
                .map_err(corrupt)?;
            let used = (this.inflate.total_in() - before_in) as usize;
            let made = (this.inflate.total_out() - before_out) as usize;
            this.in_pos += used;
            if let Some(e) = this.over_cap() {
                return Poll::Ready(Err(e));
            }
            buf.advance(made);
            if status == Status::StreamEnd {
                // The peer finished its stream (it closes next); nothing follows it.
                this.read_done = true;
                return Poll::Ready(Ok(()));
            }
            if made > 0 {
                return Poll::Ready(Ok(()));
            }
            if this.in_pos < this.in_len && used > 0 {
                continue;
            }
            // Need more compressed input.
            this.make_input_room();
            let mut rb = ReadBuf::new(this.input.get_mut(this.in_len..).unwrap_or_default());
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut rb))?;
            let n = rb.filled().len();
            if n == 0 {
                if this.received == 0 || (this.in_pos == this.in_len && this.tail == SYNC_MARKER) {
                    return Poll::Ready(Ok(()));
                }
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    DeflateError::Cut(this.received),
                )));
            }
            this.in_len += n;
            this.received += n as u64;
            this.remember_tail(n);
        }
    }
}

impl<S: AsyncWrite + Unpin> Deflate<S> {
    /// Writes out the compressed bytes waiting; `Ready(Ok)` once none wait.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.out_pos < self.output.len() {
            let pending = self.output.get(self.out_pos..).unwrap_or_default();
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, pending))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out_pos += n;
        }
        self.output.clear();
        self.out_pos = 0;
        Poll::Ready(Ok(()))
    }

    /// Compresses `data` into the output buffer, ending with `flush`.
    fn compress(&mut self, data: &[u8], flush: FlushCompress) -> io::Result<()> {
        let mut used = 0usize;
        loop {
            self.output.reserve(data.len() / 2 + 64);
            let before = self.deflate.total_in();
            let rest = data.get(used..).unwrap_or_default();
            self.deflate
                .compress_vec(rest, &mut self.output, flush)
                .map_err(io::Error::other)?;
            used += (self.deflate.total_in() - before) as usize;
            // Done when all input is in and the flush left room to spare.
            if used == data.len() && self.output.len() < self.output.capacity() {
                return Ok(());
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Deflate<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let take = buf.len().min(WRITE_CHUNK_BYTES);
        this.compress(buf.get(..take).unwrap_or_default(), FlushCompress::Sync)?;
        // Start sending at once; what is left goes out on the next write or flush.
        if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(take))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        if !this.finished {
            // End the stream as Flume's client does on close.
            this.finished = true;
            this.compress(&[], FlushCompress::Finish)?;
            ready!(this.poll_drain(cx))?;
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "tests make and read their fixtures on the real disk (DESIGN.md, the agent's std::fs rule)"
)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn reference(name: &str) -> Vec<u8> {
        // Copied from ../shared/reference/wire (tests/wire/avro_wire_golden.rs checks they match).
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("crates/sluice-wire/tests/fixtures/wire")
            .join(name);
        std::fs::read(p).unwrap()
    }

    async fn inflate_all(compressed: Vec<u8>) -> io::Result<Vec<u8>> {
        let (mut a, b) = tokio::io::duplex(1 << 16);
        let writer = tokio::spawn(async move {
            // Dribble the bytes in small pieces: the reader must not care how they arrive.
            for piece in compressed.chunks(7) {
                a.write_all(piece).await.unwrap();
            }
        });
        let mut d = Deflate::new(b, LEVEL_DEFAULT);
        let mut out = Vec::new();
        let r = d.read_to_end(&mut out).await;
        writer.await.unwrap();
        r.map(|_| out)
    }

    #[tokio::test]
    async fn flumes_deflate_streams_inflate_to_the_plain_frames() {
        for dir in ["c2s", "s2c"] {
            let got = inflate_all(reference(&format!("avro-deflate-conn-{dir}.bin")))
                .await
                .unwrap();
            assert_eq!(
                got,
                reference(&format!("avro-deflate-conn-{dir}.inflated.bin"))
            );
            assert_eq!(got, reference(&format!("avro-conn-{dir}.bin")));
        }
    }

    #[tokio::test]
    async fn a_stream_cut_mid_way_is_a_clear_error_and_a_flushed_end_is_not() {
        let full = reference("avro-deflate-conn-s2c.bin");
        // Flume's server never finishes its stream: it ends on a SYNC flush.
        assert!(full.ends_with(&SYNC_MARKER));
        let cut = full[..full.len() - 6].to_vec();
        let e = inflate_all(cut).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
        assert!(
            matches!(DeflateError::of(&e), Some(DeflateError::Cut(_))),
            "{e}"
        );
        assert!(e.to_string().contains("cut mid-way"), "{e}");
        let e = inflate_all(reference("avro-conn-c2s.bin"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
        assert!(e.to_string().contains("compression-type = deflate"), "{e}");
    }

    /// `data` as one zlib stream ending with a SYNC flush.
    fn zlib(data: &[u8], level: u32) -> Vec<u8> {
        let mut z = Compress::new(Compression::new(level), true);
        let mut out = Vec::with_capacity(data.len() + 1024);
        z.compress_vec(data, &mut out, FlushCompress::Sync).unwrap();
        out
    }

    /// Reads all of `compressed` through a capped reader: what was inflated, or the error.
    async fn inflate_capped(compressed: Vec<u8>, ratio: u64) -> (io::Result<usize>, u64) {
        let (mut a, b) = tokio::io::duplex(1 << 16);
        tokio::spawn(async move {
            let _ = a.write_all(&compressed).await;
        });
        let refused = Arc::new(AtomicU64::new(0));
        let mut d = Deflate::new(b, LEVEL_DEFAULT).with_ratio_cap(ratio, refused.clone());
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0;
        let r = loop {
            match d.read(&mut buf).await {
                Ok(0) => break Ok(total),
                Ok(n) => total += n,
                Err(e) => break Err(e),
            }
        };
        (r, refused.load(Ordering::Relaxed))
    }

    #[tokio::test]
    async fn a_bomb_is_refused_within_its_allowance_and_ordinary_text_is_not() {
        // 16 MiB of zeros: about 16 KiB compressed, so at most 256 KiB + 100 x that inflates.
        let bomb = zlib(&vec![0u8; 16 << 20], 9);
        let allowance = INFLATE_FLOOR_BYTES + 100 * bomb.len() as u64;
        let (r, refused) = inflate_capped(bomb, 100).await;
        let e = r.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
        match DeflateError::of(&e) {
            Some(DeflateError::Ratio { inflated, .. }) => assert!(*inflated <= allowance + 1),
            other => panic!("{other:?}: {e}"),
        }
        assert!(e.to_string().contains("at most 100:1"), "{e}");
        assert_eq!(refused, 1);
        // Log-like lines compress far less than 100:1: all of them come through.
        let text: Vec<u8> = (0..200_000u32)
            .flat_map(|i| {
                format!(
                    "2026-11-25 host{} app[{}]: request {i} served\n",
                    i % 7,
                    i % 13
                )
                .into_bytes()
            })
            .collect();
        let (r, refused) = inflate_capped(zlib(&text, 6), 100).await;
        assert_eq!(r.unwrap(), text.len());
        assert_eq!(refused, 0);
    }

    #[tokio::test]
    async fn what_one_side_writes_the_other_reads_frame_by_frame() {
        let (a, b) = tokio::io::duplex(1 << 12);
        let (mut a, mut b) = (Deflate::new(a, 1), Deflate::new(b, 6));
        let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let sent = big.clone();
        let w = tokio::spawn(async move {
            a.write_all(b"hello").await.unwrap();
            a.flush().await.unwrap();
            a.write_all(&sent).await.unwrap();
            a.shutdown().await.unwrap();
            a
        });
        let mut first = [0u8; 5];
        b.read_exact(&mut first).await.unwrap();
        assert_eq!(&first, b"hello");
        let mut rest = Vec::new();
        b.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, big);
        // The stream began with a zlib header.
        let _ = w.await.unwrap();
    }
}
