//! One connection of the `avro` source: read a frame (within `idle-timeout` before its first
//! byte and `request-timeout` after it), let the state machine decide, put the events, write
//! the answer (within `request-timeout`). Garbage, truncated or oversized input closes the
//! connection with one log line and `EventReadFail`; the source and its other connections go
//! on. The stop signal is watched while waiting for input; a call being put is finished.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::Shared;
use crate::agent::alarm::upstreams::UpstreamKey;
use crate::agent::metrics::SourceCounter;
use crate::agent::source::SourceCtx;
use crate::wire::avro::call::CallLimits;
use crate::wire::avro::server::{Action, ServerConn};
use crate::wire::avro::{encode_frame, Frame, FrameLimits, FrameReader, KnownClients, Status};

/// Bytes asked of the socket per read.
const READ_CHUNK_BYTES: usize = 64 << 10;
/// Bytes of the first read after a frame boundary (kept on the task, not the heap buffer).
const IDLE_READ_BYTES: usize = 1024;
/// Most buffers in one frame (Flume's client sends 2).
const FRAME_BUFFERS_MAX: usize = 4096;
/// A timeout long enough to mean "never".
const NEVER: Duration = Duration::from_secs(365 * 24 * 3600);

/// Serves one connection until the peer leaves, misbehaves, or the source stops.
pub(crate) async fn serve<S>(mut stream: S, peer: SocketAddr, ctx: &SourceCtx, shared: &Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let cfg = &shared.cfg;
    let mut reader = FrameReader::new(FrameLimits {
        frame_bytes_max: cfg.max_frame_bytes,
        buffers_max: FRAME_BUFFERS_MAX,
    });
    let mut conn = ServerConn::new(CallLimits {
        events_max: cfg.max_events_per_call,
        ..CallLimits::default()
    });
    let mut out = Vec::new();
    let mut stop = ctx.stop.clone();
    let mut upstream = UpstreamGuard {
        ctx,
        shared,
        key: None,
    };
    loop {
        let frame = match next_frame(&mut stream, &mut reader, &mut stop, peer, ctx, shared).await {
            Some(f) => f,
            None => return,
        };
        // The shared cache is locked only while a handshake is read, never while events are.
        let action = if conn.handshaken() {
            conn.on_request(&frame.payload, &mut KnownClients::default())
        } else {
            conn.on_request(&frame.payload, &mut shared.known.lock())
        };
        drop(frame.payload);
        let (bufs, close) = match action {
            Err(e) => {
                bad_input(ctx, peer, &e.to_string(), e.kind());
                return;
            }
            Ok(Action::Reply(bufs)) => (bufs, false),
            Ok(Action::Refuse { reply, error }) => {
                bad_input(ctx, peer, &error.to_string(), error.kind());
                (reply, true)
            }
            Ok(Action::Put {
                batch,
                events,
                handshake,
            }) => {
                if upstream.key.is_none() {
                    upstream.identify(peer, conn.call_meta());
                }
                let status = put(ctx, shared, batch, events).await;
                shared.peers.seen(peer.ip(), Instant::now());
                (ServerConn::status_reply(handshake, status).to_vec(), false)
            }
        };
        out.clear();
        encode_frame(frame.serial, &bufs, &mut out);
        match tokio::time::timeout(cfg.request_timeout, stream.write_all(&out)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!(source = %ctx.name, %peer, error = %e, "avro connection: write failed");
                return;
            }
            Err(_) => {
                tracing::warn!(source = %ctx.name, %peer, timeout_ms = cfg.request_timeout.as_millis() as u64, "avro connection closed: answer not taken within request-timeout");
                return;
            }
        }
        if close {
            let _ = stream.shutdown().await;
            return;
        }
    }
}

/// Counts this connection as one of its upstream's from its first call (when the call
/// metadata says who it is) until the connection ends, however it ends.
struct UpstreamGuard<'a> {
    ctx: &'a SourceCtx,
    shared: &'a Shared,
    key: Option<UpstreamKey>,
}

impl UpstreamGuard<'_> {
    fn identify(&mut self, peer: SocketAddr, meta: &[(String, Vec<u8>)]) {
        let key = UpstreamKey::from_meta(peer.ip(), meta);
        self.ctx
            .alarms
            .upstream_opened(&self.ctx.name, &self.shared.upstreams, &key);
        self.key = Some(key);
    }
}

impl Drop for UpstreamGuard<'_> {
    fn drop(&mut self) {
        if let Some(key) = &self.key {
            self.ctx.alarms.upstream_closed(&self.shared.upstreams, key);
        }
    }
}

/// Puts one call's events; the status to answer.
async fn put(
    ctx: &SourceCtx,
    shared: &Shared,
    batch: bool,
    events: Vec<sluice_core::Event>,
) -> Status {
    let n = events.len() as u64;
    let c = &ctx.counters;
    c.add(
        if batch {
            SourceCounter::AppendBatchReceived
        } else {
            SourceCounter::AppendReceived
        },
        1,
    );
    c.add(SourceCounter::EventReceived, n);
    let _permit = match &shared.threads {
        Some(s) => s.acquire().await.ok(),
        None => None,
    };
    match ctx.router.process(events).await {
        Ok(()) => {
            c.add(
                if batch {
                    SourceCounter::AppendBatchAccepted
                } else {
                    SourceCounter::AppendAccepted
                },
                1,
            );
            c.add(SourceCounter::EventAccepted, n);
            Status::Ok
        }
        Err(e) => {
            c.add(SourceCounter::ChannelWriteFail, 1);
            tracing::warn!(source = %ctx.name, events = n, error = %e, "avro call answered FAILED");
            Status::Failed
        }
    }
}

/// The next frame, or `None` when the connection is over (already logged).
async fn next_frame<S>(
    stream: &mut S,
    reader: &mut FrameReader,
    stop: &mut crate::agent::stop::Stop,
    peer: SocketAddr,
    ctx: &SourceCtx,
    shared: &Shared,
) -> Option<Frame>
where
    S: AsyncRead + Unpin,
{
    let cfg = &shared.cfg;
    loop {
        match reader.next_frame() {
            Ok(Some(f)) => return Some(f),
            Ok(None) => {}
            Err(e) => {
                bad_input(ctx, peer, &e.to_string(), e.kind());
                return None;
            }
        }
        let pending = reader.pending();
        let wait = if pending > 0 {
            cfg.request_timeout
        } else {
            cfg.idle_timeout.unwrap_or(NEVER)
        };
        let read = if pending == 0 {
            // Between calls: a small read, so an idle connection holds no large buffer.
            let mut small = [0u8; IDLE_READ_BYTES];
            let r = tokio::select! {
                _ = stop.wait() => return None,
                r = tokio::time::timeout(wait, stream.read(&mut small)) => r,
            };
            if let Ok(Ok(n)) = r {
                reader.push(&small[..n]);
            }
            r
        } else {
            tokio::select! {
                _ = stop.wait() => return None,
                r = tokio::time::timeout(wait, stream.read_buf(reader.read_buffer(READ_CHUNK_BYTES))) => r,
            }
        };
        match read {
            Ok(Ok(0)) => {
                if pending > 0 {
                    bad_input(ctx, peer, &format!("peer closed the connection in the middle of a frame ({pending} bytes received)"), "truncated");
                }
                return None;
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::debug!(source = %ctx.name, %peer, error = %e, "avro connection: read failed");
                return None;
            }
            Err(_) if pending > 0 => {
                bad_input(ctx, peer, &format!("rest of a frame not received within request-timeout ({} ms, {pending} bytes received)", wait.as_millis()), "truncated");
                return None;
            }
            Err(_) => {
                tracing::info!(source = %ctx.name, %peer, idle_s = wait.as_secs(), "avro connection closed: idle-timeout");
                return None;
            }
        }
    }
}

/// The one log line and the metric of a connection closed for bad input.
fn bad_input(ctx: &SourceCtx, peer: SocketAddr, what: &str, kind: &str) {
    ctx.counters.add(SourceCounter::EventReadFail, 1);
    tracing::warn!(source = %ctx.name, %peer, kind, "avro connection closed: {what}");
}
