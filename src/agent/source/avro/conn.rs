//! One connection of the `avro` source: read a frame (read.rs: the whole frame within
//! `request-timeout` of its first byte, its bytes reserved from the frame budget before they
//! are read), take a `threads` permit, decode it (decode.rs: off the async workers when it is
//! large, its events counted against the decoded budget), put the events, write the answer
//! (within `request-timeout`). Garbage, truncated or oversized input closes the connection
//! with one log line and `EventReadFail`; the source and its other connections go on. The
//! stop signal is watched while waiting for input or for a budget; a call being put is
//! finished. A large call is decoded and put on one blocking thread (decode.rs, [`crate::agent::source::rpc_put`]).
//! Frames are read ahead of their answers (a client with calls in flight), and the calls that
//! wait behind one put are put together in one transaction, in order ([`serve`]).

use std::collections::VecDeque;
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

/// Most calls of one connection read ahead of their answers (a client with several calls in
/// flight: a Sluice avro sink's `max-calls-in-flight`).
pub(crate) const CALLS_AT_ONCE_MAX: usize = 8;

/// What a call's future gives back: the frame's serial, the outcome, and the connection's
/// state after it (the handshake's).
type CallDone = (i32, Result<Decoded, Failed>, ServerConn);

/// Serves one connection until the peer leaves, misbehaves, or the source stops.
///
/// Frames are read while earlier calls are decoded and put, at most [`CALLS_AT_ONCE_MAX`]
/// ahead of their answers (before the handshake is done, one at a time). A call read while
/// nothing else is under way is decoded and put at once (on the blocking thread that decoded
/// it, when large); calls read behind others are decoded, then put together: every decoded
/// call waiting when the connection's previous put returns goes into one transaction, in
/// the order they were sent, so a client's calls in flight share one commit (and one fsync)
/// and keep their order. Answers go out in the calls' order.
pub(crate) async fn serve<S>(
    stream: S,
    peer: SocketAddr,
    ctx: &SourceCtx,
    shared: &Arc<Shared>,
    log: &mut UpstreamLog<'_>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (rd, wr) = tokio::io::split(stream);
    let putter = Putter::of(ctx, "avro");
    let mut a = Answering::new(wr, ctx, shared, peer, log);
    let mut idle = Some((rd, frame_reader(shared), ctx.stop.clone()));
    let mut reading = None;
    let mut calls = futures::stream::FuturesOrdered::new();
    let mut ready: VecDeque<CallDone> = VecDeque::new();
    let mut putting: Option<(Putting<'_>, usize)> = None;
    loop {
        if putting.is_none() && !settle(&mut ready, &mut putting, &putter, shared, &mut a).await {
            return;
        }
        let under_way = calls.len() + ready.len() + putting.as_ref().map_or(0, |p| p.1);
        if idle.is_none() && reading.is_none() && under_way == 0 {
            return;
        }
        // Read the next frame while calls run, up to the bound; before the handshake is
        // done, only once the call before it answered (it may be the handshake).
        let room = under_way < CALLS_AT_ONCE_MAX && (a.conn.handshaken() || under_way == 0);
        if room && reading.is_none() {
            if let Some((mut rd, mut reader, mut stop)) = idle.take() {
                reading = Some(Box::pin(async move {
                    let r =
                        read::next_frame(&mut rd, &mut reader, &mut stop, peer, ctx, shared).await;
                    (r, (rd, reader, stop))
                }));
            }
        }
        tokio::select! {
            biased;
            group = async { match putting.as_mut() {
                Some((p, _)) => p.await,
                None => std::future::pending().await,
            } } => {
                putting = None;
                for done in group {
                    if !a.respond(done).await {
                        return;
                    }
                }
            }
            Some(done) = futures::StreamExt::next(&mut calls) => ready.push_back(done),
            (received, parts) = async { match reading.as_mut() {
                Some(r) => r.await,
                None => std::future::pending().await,
            } } => {
                reading = None;
                // None: the peer left or misbehaved (logged): answer what it already sent.
                if let Some(received) = received {
                    idle = Some(parts);
                    let put = (under_way == 0).then(|| putter.clone());
                    calls.push_back(call(received, a.conn.clone(), shared, put, ctx.stop.clone()));
                }
            }
        }
    }
}

/// A connection's frame reader, within the source's limits.
fn frame_reader(shared: &Shared) -> FrameReader {
    let mut reader = FrameReader::new(FrameLimits {
        frame_bytes_max: shared.cfg.max_frame_bytes,
        buffers_max: FRAME_BUFFERS_MAX,
    });
    reader.set_home(shared.frame_pool.home());
    reader
}

/// The calls being put together ([`put_group`]).
type Putting<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Vec<CallDone>> + Send + 'a>>;

/// While no put runs: answers what is ready, in order, up to the first decoded call, and
/// starts putting it with the decoded calls behind it (`putting`: the put and its calls).
/// False when the connection ends.
async fn settle<'a, W: AsyncWrite + Unpin>(
    ready: &mut VecDeque<CallDone>,
    putting: &mut Option<(Putting<'a>, usize)>,
    putter: &Putter,
    shared: &'a Shared,
    a: &mut Answering<'_, '_, W>,
) -> bool {
    while let Some(done) = ready.pop_front() {
        if matches!(done.1, Ok(Decoded::Events { .. })) {
            ready.push_front(done);
            let group = take_group(ready, putter.put_capacity());
            let n = group.len();
            *putting = Some((Box::pin(put_group(putter.clone(), group, shared)), n));
            return true;
        }
        if !a.respond(done).await {
            return false;
        }
    }
    true
}

/// The decoded calls at the front of `ready`, up to the first that is not one or that would
/// take their events past `capacity` (the channels' `transactionCapacity`; the first call
/// always goes).
fn take_group(ready: &mut VecDeque<CallDone>, capacity: usize) -> Vec<CallDone> {
    let mut events = 0usize;
    let n = ready
        .iter()
        .enumerate()
        .take_while(|(i, d)| match &d.1 {
            Ok(Decoded::Events { events: e, .. }) => {
                events = events.saturating_add(e.len());
                *i == 0 || events <= capacity
            }
            _ => false,
        })
        .count();
    ready.drain(..n).collect()
}

/// Puts the events of `group` (decoded calls, in order) in one transaction; each call comes
/// back [`Decoded::Committed`] with the one status.
async fn put_group(putter: Putter, group: Vec<CallDone>, shared: &Shared) -> Vec<CallDone> {
    let joined = group.len().saturating_sub(1) as u64;
    shared
        .joined
        .fetch_add(joined, std::sync::atomic::Ordering::Relaxed);
    let mut batches = Vec::with_capacity(group.len());
    let mut all = Vec::new();
    let mut held = Vec::with_capacity(group.len());
    let mut heads = Vec::with_capacity(group.len());
    for (serial, decoded, conn) in group {
        if let Ok(Decoded::Events {
            call,
            events,
            held: h,
        }) = decoded
        {
            batches.push(call.batch);
            all.extend(events);
            held.push(h);
            heads.push((serial, call, conn));
        }
    }
    let status = Status::of(putter.put_calls(&batches, all).await);
    drop(held);
    heads
        .into_iter()
        .map(|(serial, call, conn)| (serial, Ok(Decoded::Committed { call, status }), conn))
        .collect()
}

/// One call: a `threads` permit, then decoded (and put, with `putter`). Owns what it uses, so
/// several run at once beside the connection's reads.
async fn call(
    received: read::Received,
    mut conn: ServerConn,
    shared: &Arc<Shared>,
    putter: Option<Putter>,
    mut stop: crate::agent::stop::Stop,
) -> CallDone {
    let deadline = tokio::time::Instant::now() + shared.cfg.request_timeout;
    let serial = received.frame.serial;
    // `threads` bounds the calls being decoded and put at once.
    let _thread = match &shared.threads {
        None => None,
        Some(t) => tokio::select! {
            _ = stop.wait() => return (serial, Err(Failed::Stopped), conn),
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
        putter.as_ref(),
    )
    .await;
    (serial, decoded, conn)
}

/// The answering side of a connection: its write half and what an answer needs.
struct Answering<'a, 'l, W> {
    wr: W,
    out: Vec<u8>,
    /// The handshake's state, from the calls made before it was done.
    conn: ServerConn,
    ctx: &'a SourceCtx,
    shared: &'a Arc<Shared>,
    peer: SocketAddr,
    log: &'a mut UpstreamLog<'l>,
    upstream: UpstreamGuard<'a>,
}

impl<'a, 'l, W: AsyncWrite + Unpin> Answering<'a, 'l, W> {
    fn new(
        wr: W,
        ctx: &'a SourceCtx,
        shared: &'a Arc<Shared>,
        peer: SocketAddr,
        log: &'a mut UpstreamLog<'l>,
    ) -> Self {
        let conn = ServerConn::new(CallLimits {
            events_max: shared.cfg.max_events_per_call,
            ..CallLimits::default()
        });
        Answering {
            wr,
            out: Vec::new(),
            conn,
            ctx,
            shared,
            peer,
            log,
            upstream: UpstreamGuard {
                ctx,
                shared,
                key: None,
            },
        }
    }

    /// Answers a finished call within `request-timeout`; false when the connection ends
    /// (logged).
    async fn respond(&mut self, (serial, decoded, after): CallDone) -> bool {
        let (ctx, shared, peer) = (self.ctx, self.shared, self.peer);
        if !self.conn.handshaken() {
            self.conn = after;
        }
        if matches!(decoded, Ok(Decoded::Reply(_) | Decoded::Committed { .. })) {
            self.log.valid_call();
        }
        let (bufs, close) = match decoded {
            Err(Failed::Stopped) => return false,
            Err(Failed::Bad(e)) => {
                bad_input(ctx, shared, peer, &e.to_string(), e.kind());
                return false;
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
            // Put in a group before it is answered; never answered as it is.
            Ok(Decoded::Events { call, .. }) => {
                let reply = ServerConn::status_reply(call.handshake, Status::Failed);
                (reply.to_vec(), false)
            }
            Ok(Decoded::Committed { call, status }) => {
                if self.upstream.key.is_none() {
                    self.upstream.identify(peer, &call.meta);
                }
                shared.peers.seen(peer.ip(), Instant::now());
                (
                    ServerConn::status_reply(call.handshake, status).to_vec(),
                    false,
                )
            }
        };
        self.out.clear();
        encode_frame(serial, &bufs, &mut self.out);
        let who = (ctx.name.as_str(), "avro", peer);
        if !write_answer(&mut self.wr, &self.out, shared.cfg.request_timeout, who).await {
            return false;
        }
        if close {
            let _ = self.wr.shutdown().await;
            return false;
        }
        true
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
