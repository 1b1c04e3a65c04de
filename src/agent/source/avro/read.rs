//! Reading one frame of an avro connection, within the source's limits:
//! - between frames, a small read on the task's stack (an idle connection holds no buffer),
//!   within `idle-timeout`;
//! - from a frame's first byte on, one deadline for the whole frame (`request-timeout`), so a
//!   peer that sends a byte now and then cannot keep a frame open;
//! - the bytes a frame announces are reserved from the source's frame budget before they are
//!   read, and nothing is read beyond them but a small look-ahead for the next header, so all
//!   connections together hold at most half of `max-inflight-bytes` of frames (plus the
//!   look-aheads); a large frame is read into a buffer an earlier call gave back
//!   ([`crate::agent::source::frame_pool`]) when there is one.

use std::net::SocketAddr;

use bytes::BufMut;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;

use super::{bad_input, Shared};
use crate::agent::source::budget::{self, Held};
use crate::agent::source::SourceCtx;
use crate::agent::stop::Stop;
use crate::wire::avro::{Frame, FrameReader};

/// Bytes of the first read after a frame boundary (kept on the task, not the heap buffer),
/// and the most read beyond what the frame being received announces.
pub(crate) const LOOKAHEAD_BYTES: usize = 1024;
/// A timeout long enough to mean "never".
const NEVER: std::time::Duration = std::time::Duration::from_secs(365 * 24 * 3600);

/// A whole frame and the frame budget it holds (until its payload is decoded).
pub(crate) struct Received {
    pub(crate) frame: Frame,
    pub(crate) held: Option<Held>,
}

/// The next frame, or `None` when the connection is over (already logged).
pub(crate) async fn next_frame<S>(
    stream: &mut S,
    reader: &mut FrameReader,
    stop: &mut Stop,
    peer: SocketAddr,
    ctx: &SourceCtx,
    shared: &Shared,
) -> Option<Received>
where
    S: AsyncRead + Unpin,
{
    let cfg = &shared.cfg;
    let mut held: Option<Held> = None;
    let mut deadline: Option<Instant> = None;
    loop {
        match reader.next_frame() {
            Ok(Some(frame)) => return Some(Received { frame, held }),
            Ok(None) => {}
            Err(e) => {
                bad_input(ctx, shared, peer, &e.to_string(), e.kind());
                return None;
            }
        }
        let pending = reader.pending();
        if pending == 0 {
            // Between calls: a small read, so an idle connection holds no large buffer.
            let wait = cfg.idle_timeout.unwrap_or(NEVER);
            let mut small = [0u8; LOOKAHEAD_BYTES];
            let r = tokio::select! {
                _ = stop.wait() => return None,
                r = tokio::time::timeout(wait, stream.read(&mut small)) => r,
            };
            match r {
                Ok(Ok(0)) => return None,
                Ok(Ok(n)) => reader.push(small.get(..n).unwrap_or_default()),
                Ok(Err(e)) => {
                    read_failed(ctx, shared, peer, &e);
                    return None;
                }
                Err(_) => {
                    tracing::info!(source = %ctx.name, %peer, idle_s = wait.as_secs(), "avro connection closed: idle-timeout");
                    return None;
                }
            }
            continue;
        }
        let deadline = *deadline.get_or_insert_with(|| Instant::now() + cfg.request_timeout);
        let timeout_ms = cfg.request_timeout.as_millis() as u64;
        // Reserve what the frame announces (and what is already here) before reading it.
        let announced = reader.announced().max(pending);
        let have = budget::bytes(&held);
        if announced as u64 > have {
            let more = tokio::select! {
                _ = stop.wait() => return None,
                r = tokio::time::timeout_at(deadline, shared.frames.acquire(announced as u64 - have)) => r,
            };
            match more {
                Ok(Some(more)) => budget::grow(&mut held, more),
                Ok(None) => {
                    let what = format!(
                        "frame of {announced} bytes exceeds half of max-inflight-bytes ({} bytes)",
                        shared.frames.total()
                    );
                    bad_input(ctx, shared, peer, &what, "oversized");
                    return None;
                }
                Err(_) => {
                    let what = format!("frame of {announced} announced bytes not admitted within request-timeout ({timeout_ms} ms): the source's frame budget is taken (max-inflight-bytes)");
                    bad_input(ctx, shared, peer, &what, "budget");
                    return None;
                }
            }
        }
        // Read the rest of what is announced, and a little beyond for the next header, into
        // a buffer a decoded call gave back when this one is too small for it.
        let want = announced - pending + LOOKAHEAD_BYTES;
        if reader.capacity() < pending + want {
            if let Some(v) = shared.frame_pool.take(pending + want) {
                reader.adopt_buffer(v);
            }
        }
        let mut buf = reader.read_buffer_exact(want).limit(want);
        let read = tokio::select! {
            _ = stop.wait() => return None,
            r = tokio::time::timeout_at(deadline, stream.read_buf(&mut buf)) => r,
        };
        match read {
            Ok(Ok(0)) => {
                let what = format!("peer closed the connection in the middle of a frame ({pending} bytes received)");
                bad_input(ctx, shared, peer, &what, "truncated");
                return None;
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                read_failed(ctx, shared, peer, &e);
                return None;
            }
            Err(_) => {
                let what = format!("frame not received whole within request-timeout ({timeout_ms} ms from its first byte; {pending} bytes received)");
                bad_input(ctx, shared, peer, &what, "truncated");
                return None;
            }
        }
    }
}

/// A failed read: a broken transport layer (a corrupt or cut deflate stream, a TLS error) is
/// bad input worth a warning; a reset socket is not.
fn read_failed(ctx: &SourceCtx, shared: &Shared, peer: SocketAddr, e: &std::io::Error) {
    use crate::agent::rpc::transport::deflate::DeflateError;
    match e.kind() {
        _ if matches!(DeflateError::of(e), Some(DeflateError::Ratio { .. })) => {
            bad_input(ctx, shared, peer, &e.to_string(), "inflate-ratio")
        }
        std::io::ErrorKind::InvalidData => {
            bad_input(ctx, shared, peer, &e.to_string(), "transport")
        }
        _ if DeflateError::of(e).is_some() => {
            bad_input(ctx, shared, peer, &e.to_string(), "deflate")
        }
        _ => {
            tracing::debug!(source = %ctx.name, %peer, error = %e, "avro connection: read failed");
        }
    }
}
