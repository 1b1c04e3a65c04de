//! Reading one frame of an RPC connection, within the source's limits, whatever the framing
//! ([`FrameRead`]: avro's Netty frames, thrift's framed transport):
//! - between frames, a small read on the task's stack (an idle connection holds no buffer),
//!   within `idle-timeout`;
//! - from a frame's first byte on, one deadline for the whole frame (`request-timeout`), so a
//!   peer that sends a byte now and then cannot keep a frame open;
//! - the bytes a frame announces are reserved from the source's frame budget before they are
//!   read, and nothing is read beyond them but a small look-ahead for the next header, so all
//!   connections together hold at most half of `max-inflight-bytes` of frames (plus the
//!   look-aheads); a large frame is read into a buffer an earlier call gave back
//!   ([`crate::agent::source::frame_pool`]) when there is one.
//!
//! The stop signal is watched in every wait.

use bytes::BufMut;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;

use super::{At, RpcProtocol};
use crate::agent::source::budget::{self, Held};
use crate::agent::stop::Stop;
use sluice_core::Bytes;

/// Bytes of the first read after a frame boundary (kept on the task, not the heap buffer),
/// and the most read beyond what the frame being received announces.
pub(crate) const LOOKAHEAD_BYTES: usize = 1024;
/// A timeout long enough to mean "never".
const NEVER: std::time::Duration = std::time::Duration::from_secs(365 * 24 * 3600);

/// What [`FrameRead::next_frame`] found: a whole frame (its id and payload), none yet, or
/// garbage (what, kind: final).
pub(crate) type NextFrame<I> = Result<Option<(I, Bytes)>, (String, &'static str)>;

/// A framing's receive buffer (the wire crate's frame readers).
pub(crate) trait FrameRead: Send + 'static {
    /// What a frame is answered with besides its payload (avro: its serial).
    type Id: Send + 'static;
    /// The next whole frame, if there is one; an error (what, kind) is final.
    fn next_frame(&mut self) -> NextFrame<Self::Id>;
    /// Appends received bytes.
    fn push(&mut self, bytes: &[u8]);
    /// Bytes received and not yet returned in a frame.
    fn pending(&self) -> usize;
    /// Bytes of the frame being received, once its header is in (else 0).
    fn announced(&self) -> usize;
    /// Bytes the receive buffer holds allocated.
    fn capacity(&self) -> usize;
    /// Takes `v` as the receive buffer (a pooled one), keeping what is pending.
    fn adopt_buffer(&mut self, v: Vec<u8>);
    /// The receive buffer with room for `n` more bytes.
    fn read_buffer_exact(&mut self, n: usize) -> &mut Vec<u8>;
    /// The connection's first bytes, when kept (to name what a peer probably speaks).
    fn first(&self) -> &[u8] {
        &[]
    }
}

/// A whole frame and the frame budget it holds (until its payload is decoded).
pub(crate) struct Received<I> {
    /// The frame's number on its connection, from 1 in the order read: answers go out in it.
    pub(crate) number: u64,
    pub(crate) id: I,
    pub(crate) payload: Bytes,
    pub(crate) held: Option<Held>,
}

/// One connection's reading side: its source, peer and reader.
pub(crate) struct Reading<'a, P: RpcProtocol> {
    pub(crate) shared: &'a P,
    pub(crate) at: At<'a>,
    pub(crate) reader: P::Reader,
    pub(crate) stop: Stop,
    /// Frames read so far.
    read: u64,
}

impl<'a, P: RpcProtocol> Reading<'a, P> {
    /// A new connection's reading side.
    pub(crate) fn new(shared: &'a P, at: At<'a>, link: &P::Link) -> Self {
        Reading {
            reader: shared.reader(link),
            shared,
            at,
            stop: at.ctx.stop.clone(),
            read: 0,
        }
    }

    fn bad(&self, what: &str, kind: &str) {
        self.shared
            .bad_input(self.at, self.reader.first(), what, kind);
    }

    /// The next frame, or `None` when the connection is over (already logged).
    pub(crate) async fn next_frame<S>(
        &mut self,
        stream: &mut S,
    ) -> Option<Received<<P::Reader as FrameRead>::Id>>
    where
        S: AsyncRead + Unpin,
    {
        let mut held: Option<Held> = None;
        let mut deadline: Option<Instant> = None;
        loop {
            match self.reader.next_frame() {
                Ok(Some((id, payload))) => {
                    self.read += 1;
                    let number = self.read;
                    return Some(Received {
                        number,
                        id,
                        payload,
                        held,
                    });
                }
                Ok(None) => {}
                Err((what, kind)) => {
                    self.bad(&what, kind);
                    return None;
                }
            }
            let pending = self.reader.pending();
            if pending == 0 {
                self.between_frames(stream).await?;
                continue;
            }
            let timeout = self.shared.base().request_timeout;
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + timeout);
            self.reserve(&mut held, deadline).await?;
            self.read_rest(stream, pending, deadline).await?;
        }
    }

    /// Between calls: a small read, so an idle connection holds no large buffer.
    async fn between_frames<S: AsyncRead + Unpin>(&mut self, stream: &mut S) -> Option<()> {
        let wait = self.shared.base().idle_timeout.unwrap_or(NEVER);
        let mut small = [0u8; LOOKAHEAD_BYTES];
        let r = tokio::select! {
            _ = self.stop.wait() => return None,
            r = tokio::time::timeout(wait, stream.read(&mut small)) => r,
        };
        match r {
            Ok(Ok(0)) => None,
            Ok(Ok(n)) => {
                self.reader.push(small.get(..n).unwrap_or_default());
                Some(())
            }
            Ok(Err(e)) => {
                self.read_failed(&e);
                None
            }
            Err(_) => {
                let (source, peer) = (&self.at.ctx.name, self.at.peer);
                tracing::info!(source = %source, %peer, idle_s = wait.as_secs(), "{} connection closed: idle-timeout", P::NAME);
                None
            }
        }
    }

    /// Reserves what the frame announces (and what is already here) before reading it.
    async fn reserve(&mut self, held: &mut Option<Held>, deadline: Instant) -> Option<()> {
        let frames = &self.shared.base().frames;
        let announced = self.reader.announced().max(self.reader.pending());
        let have = budget::bytes(held);
        if announced as u64 <= have {
            return Some(());
        }
        let more = tokio::select! {
            _ = self.stop.wait() => return None,
            r = tokio::time::timeout_at(deadline, frames.acquire(announced as u64 - have)) => r,
        };
        match more {
            Ok(Some(more)) => {
                budget::grow(held, more);
                return Some(());
            }
            Ok(None) => {
                let total = frames.total();
                let what = format!(
                    "frame of {announced} bytes exceeds half of max-inflight-bytes ({total} bytes)"
                );
                self.bad(&what, "oversized");
            }
            Err(_) => {
                let timeout_ms = self.shared.base().request_timeout.as_millis() as u64;
                let what = format!("frame of {announced} announced bytes not admitted within request-timeout ({timeout_ms} ms): the source's frame budget is taken (max-inflight-bytes)");
                self.bad(&what, "budget");
            }
        }
        None
    }

    /// Reads the rest of what is announced, and a little beyond for the next header, into a
    /// buffer a decoded call gave back when this one is too small for it.
    async fn read_rest<S>(
        &mut self,
        stream: &mut S,
        pending: usize,
        deadline: Instant,
    ) -> Option<()>
    where
        S: AsyncRead + Unpin,
    {
        let announced = self.reader.announced().max(pending);
        let want = announced - pending + LOOKAHEAD_BYTES;
        if self.reader.capacity() < pending + want {
            if let Some(v) = self.shared.base().frame_pool.take(pending + want) {
                self.reader.adopt_buffer(v);
            }
        }
        let mut buf = self.reader.read_buffer_exact(want).limit(want);
        let read = tokio::select! {
            _ = self.stop.wait() => return None,
            r = tokio::time::timeout_at(deadline, stream.read_buf(&mut buf)) => r,
        };
        let what = match read {
            Ok(Ok(0)) => format!(
                "peer closed the connection in the middle of a frame ({pending} bytes received)"
            ),
            Ok(Ok(_)) => return Some(()),
            Ok(Err(e)) => {
                self.read_failed(&e);
                return None;
            }
            Err(_) => {
                let timeout_ms = self.shared.base().request_timeout.as_millis() as u64;
                format!("frame not received whole within request-timeout ({timeout_ms} ms from its first byte; {pending} bytes received)")
            }
        };
        self.bad(&what, "truncated");
        None
    }

    /// A failed read: bad input worth a warning when the protocol says so
    /// ([`RpcProtocol::read_failed_kind`]); else (a reset socket) a debug line.
    fn read_failed(&self, e: &std::io::Error) {
        match P::read_failed_kind(e) {
            Some(kind) => self.bad(&e.to_string(), kind),
            None => {
                let (source, peer) = (&self.at.ctx.name, self.at.peer);
                tracing::debug!(source = %source, %peer, error = %e, "{} connection: read failed", P::NAME);
            }
        }
    }
}

/// A broken transport layer (a corrupt or cut deflate stream, a TLS error) is bad input
/// worth a warning; a reset socket is not.
pub(crate) fn transport_kind(e: &std::io::Error) -> Option<&'static str> {
    use crate::agent::rpc::transport::deflate::DeflateError;
    match DeflateError::of(e) {
        Some(DeflateError::Ratio { .. }) => Some("inflate-ratio"),
        _ if e.kind() == std::io::ErrorKind::InvalidData => Some("transport"),
        Some(_) => Some("deflate"),
        None => None,
    }
}

/// Only a deflate stream over `max-inflate-ratio` is bad input (the thrift source's choice).
pub(crate) fn ratio_kind(e: &std::io::Error) -> Option<&'static str> {
    use crate::agent::rpc::transport::deflate::DeflateError;
    matches!(DeflateError::of(e), Some(DeflateError::Ratio { .. })).then_some("inflate-ratio")
}
