//! One connection of the `avro` source: read a frame (read.rs: the whole frame within
//! `request-timeout` of its first byte, its bytes reserved from the frame budget before they
//! are read), take a `threads` permit, decode it (decode.rs: off the async workers when it is
//! large, its events counted against the decoded budget), put the events, write the answer
//! (within `request-timeout`). Garbage, truncated or oversized input closes the connection
//! with one log line and `EventReadFail`; the source and its other connections go on. The
//! stop signal is watched while waiting for input or for a budget; a call being put is
//! finished. A large call is decoded and put on one blocking thread (decode.rs, [`crate::agent::source::rpc_put`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::decode::{self, Decoded, Failed};
use super::{bad_input, read, Shared};
use crate::agent::alarm::upstreams::UpstreamKey;
use crate::agent::metrics::SourceCounter;
use crate::agent::source::rpc_answer::write_answer;
use crate::agent::source::rpc_put::Putter;
use crate::agent::source::upstream_log::UpstreamLog;
use crate::agent::source::SourceCtx;
use crate::wire::avro::call::CallLimits;
use crate::wire::avro::server::ServerConn;
use crate::wire::avro::{encode_frame, FrameLimits, FrameReader, Status};

/// Most buffers in one frame (Flume's client sends 2).
const FRAME_BUFFERS_MAX: usize = crate::wire::avro::frame::FRAME_BUFFERS_MAX_DEFAULT;

/// Serves one connection until the peer leaves, misbehaves, or the source stops.
pub(crate) async fn serve<S>(
    mut stream: S,
    peer: SocketAddr,
    ctx: &SourceCtx,
    shared: &Arc<Shared>,
    log: &mut UpstreamLog<'_>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let cfg = &shared.cfg;
    let mut reader = FrameReader::new(FrameLimits {
        frame_bytes_max: cfg.max_frame_bytes,
        buffers_max: FRAME_BUFFERS_MAX,
    });
    reader.set_home(shared.frame_pool.home());
    let mut conn = ServerConn::new(CallLimits {
        events_max: cfg.max_events_per_call,
        ..CallLimits::default()
    });
    let mut out = Vec::new();
    let mut stop = ctx.stop.clone();
    let putter = Putter::of(ctx, "avro");
    let mut upstream = UpstreamGuard {
        ctx,
        shared,
        key: None,
    };
    loop {
        let Some(received) =
            read::next_frame(&mut stream, &mut reader, &mut stop, peer, ctx, shared).await
        else {
            return;
        };
        let deadline = tokio::time::Instant::now() + cfg.request_timeout;
        let serial = received.frame.serial;
        // `threads` bounds the calls being decoded and put at once.
        let _thread = match &shared.threads {
            None => None,
            Some(t) => tokio::select! {
                _ = stop.wait() => return,
                p = t.acquire() => p.ok(),
            },
        };
        let decoded = decode::decode(
            &mut conn,
            received.frame.payload,
            received.held,
            shared,
            deadline,
            &mut stop,
            &putter,
        )
        .await;
        if matches!(decoded, Ok(Decoded::Reply(_) | Decoded::Committed { .. })) {
            log.valid_call();
        }
        let (bufs, close) = match decoded {
            Err(Failed::Stopped) => return,
            Err(Failed::Bad(e)) => {
                bad_input(ctx, shared, peer, &e.to_string(), e.kind());
                return;
            }
            Ok(Decoded::Reply(bufs)) => (bufs, false),
            Ok(Decoded::Refuse { reply, error }) => {
                bad_input(ctx, shared, peer, &error.to_string(), error.kind());
                (reply, true)
            }
            Ok(Decoded::Busy { call, cost }) => {
                ctx.counters.add(SourceCounter::ChannelWriteFail, 1);
                tracing::warn!(source = %ctx.name, %peer, decoded_bytes = cost, "avro call answered FAILED: its events would not fit the source's decoded budget within request-timeout (max-inflight-bytes)");
                let reply = ServerConn::status_reply(call.handshake, Status::Failed);
                (reply.to_vec(), false)
            }
            Ok(Decoded::Committed { call, status }) => {
                if upstream.key.is_none() {
                    upstream.identify(peer, &call.meta);
                }
                shared.peers.seen(peer.ip(), Instant::now());
                (
                    ServerConn::status_reply(call.handshake, status).to_vec(),
                    false,
                )
            }
        };
        out.clear();
        encode_frame(serial, &bufs, &mut out);
        let who = (ctx.name.as_str(), "avro", peer);
        if !write_answer(&mut stream, &out, cfg.request_timeout, who).await {
            return;
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
