//! Reading one frame of a thrift connection, within the source's limits (as the avro
//! source reads its frames):
//! - between frames, a small read on the task's stack (an idle connection holds no buffer),
//!   within `idle-timeout`;
//! - from a frame's first byte on, one deadline for the whole frame (`request-timeout`), so a
//!   peer that sends a byte now and then cannot keep a frame open;
//! - the bytes a frame announces are reserved from the source's frame budget before they are
//!   read, and nothing is read beyond them but a small look-ahead, so all connections
//!   together hold at most half of `max-inflight-bytes` of frames (plus the look-aheads).
//!
//! The connection's first bytes are kept ([`First`]) so a refusal can name what the peer
//! probably speaks.

use std::net::SocketAddr;

use bytes::{BufMut, Bytes};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;

use super::{bad_input, Shared};
use crate::agent::source::budget::{self, Held};
use crate::agent::source::SourceCtx;
use crate::agent::stop::Stop;
use crate::wire::thrift::sniff::SNIFF_BYTES;
use crate::wire::thrift::FrameReader;

/// Bytes of the first read after a frame boundary (kept on the task, not the heap buffer),
/// and the most read beyond what the frame being received announces.
pub(crate) const LOOKAHEAD_BYTES: usize = 1024;
/// A timeout long enough to mean "never".
const NEVER: std::time::Duration = std::time::Duration::from_secs(365 * 24 * 3600);

/// The first bytes a connection received.
#[derive(Debug, Default)]
pub(crate) struct First {
    bytes: [u8; SNIFF_BYTES],
    len: usize,
}

impl First {
    fn keep(&mut self, b: &[u8]) {
        let n = (SNIFF_BYTES - self.len).min(b.len());
        if let (Some(to), Some(from)) = (self.bytes.get_mut(self.len..self.len + n), b.get(..n)) {
            to.copy_from_slice(from);
            self.len += n;
        }
    }

    /// The bytes kept.
    pub(crate) fn get(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// A whole frame's payload and the frame budget it holds (until it is decoded).
pub(crate) struct Received {
    pub(crate) payload: Bytes,
    pub(crate) held: Option<Held>,
}

/// What one connection reads with.
pub(crate) struct Reading<'c> {
    pub(crate) reader: FrameReader,
    pub(crate) first: First,
    pub(crate) stop: Stop,
    pub(crate) peer: SocketAddr,
    pub(crate) ctx: &'c SourceCtx,
    pub(crate) shared: &'c Shared,
}

impl Reading<'_> {
    fn bad(&self, what: &str, kind: &str) {
        bad_input(
            self.ctx,
            self.shared,
            self.peer,
            self.first.get(),
            what,
            kind,
        );
    }

    /// A failed read: a deflate stream over `max-inflate-ratio` is bad input worth a
    /// warning; other failures (a reset socket) are not.
    fn read_failed(&self, e: &std::io::Error) {
        use crate::agent::rpc::transport::deflate::DeflateError;
        if matches!(DeflateError::of(e), Some(DeflateError::Ratio { .. })) {
            self.bad(&e.to_string(), "inflate-ratio");
        } else {
            let (ctx, peer) = (self.ctx, self.peer);
            tracing::debug!(source = %ctx.name, %peer, error = %e, "thrift connection: read failed");
        }
    }

    /// The next frame, or `None` when the connection is over (already logged).
    pub(crate) async fn next_frame<S>(&mut self, stream: &mut S) -> Option<Received>
    where
        S: AsyncRead + Unpin,
    {
        let cfg = &self.shared.cfg;
        let (ctx, peer) = (self.ctx, self.peer);
        let mut held: Option<Held> = None;
        let mut deadline: Option<Instant> = None;
        loop {
            match self.reader.next_frame() {
                Ok(Some(payload)) => return Some(Received { payload, held }),
                Ok(None) => {}
                Err(e) => {
                    self.bad(&e.to_string(), e.kind());
                    return None;
                }
            }
            let pending = self.reader.pending();
            if pending == 0 {
                let wait = cfg.idle_timeout.unwrap_or(NEVER);
                let mut small = [0u8; LOOKAHEAD_BYTES];
                let r = tokio::select! {
                    _ = self.stop.wait() => return None,
                    r = tokio::time::timeout(wait, stream.read(&mut small)) => r,
                };
                match r {
                    Ok(Ok(0)) => return None,
                    Ok(Ok(n)) => {
                        let got = small.get(..n).unwrap_or_default();
                        self.first.keep(got);
                        self.reader.push(got);
                    }
                    Ok(Err(e)) => {
                        self.read_failed(&e);
                        return None;
                    }
                    Err(_) => {
                        tracing::info!(source = %ctx.name, %peer, idle_s = wait.as_secs(), "thrift connection closed: idle-timeout");
                        return None;
                    }
                }
                continue;
            }
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + cfg.request_timeout);
            let timeout_ms = cfg.request_timeout.as_millis() as u64;
            // Reserve what the frame announces (and what is already here) before reading it.
            let announced = self.reader.announced().max(pending);
            let have = budget::bytes(&held);
            if announced as u64 > have {
                let more = tokio::select! {
                    _ = self.stop.wait() => return None,
                    r = tokio::time::timeout_at(deadline, self.shared.frames.acquire(announced as u64 - have)) => r,
                };
                match more {
                    Ok(Some(more)) => budget::grow(&mut held, more),
                    Ok(None) => {
                        let what = format!(
                            "frame of {announced} bytes exceeds half of max-inflight-bytes ({} bytes)",
                            self.shared.frames.total()
                        );
                        self.bad(&what, "oversized");
                        return None;
                    }
                    Err(_) => {
                        let what = format!("frame of {announced} announced bytes not admitted within request-timeout ({timeout_ms} ms): the source's frame budget is taken (max-inflight-bytes)");
                        self.bad(&what, "budget");
                        return None;
                    }
                }
            }
            let want = announced - pending + LOOKAHEAD_BYTES;
            // Into a buffer a decoded call gave back, when this one is too small for the frame.
            if self.reader.capacity() < pending + want {
                if let Some(v) = self.shared.frame_pool.take(pending + want) {
                    self.reader.adopt_buffer(v);
                }
            }
            let mut buf = self.reader.read_buffer_exact(want).limit(want);
            let read = tokio::select! {
                _ = self.stop.wait() => return None,
                r = tokio::time::timeout_at(deadline, stream.read_buf(&mut buf)) => r,
            };
            match read {
                Ok(Ok(0)) => {
                    let what = format!("peer closed the connection in the middle of a frame ({pending} bytes received)");
                    self.bad(&what, "truncated");
                    return None;
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    self.read_failed(&e);
                    return None;
                }
                Err(_) => {
                    let what = format!("frame not received whole within request-timeout ({timeout_ms} ms from its first byte; {pending} bytes received)");
                    self.bad(&what, "truncated");
                    return None;
                }
            }
        }
    }
}
