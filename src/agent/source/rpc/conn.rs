//! One connection of an RPC source: read a frame ([`super::read`]), take a `threads` permit,
//! decode it ([`super::decode`]), put the events, write the answer (within
//! `request-timeout`). Garbage, truncated or oversized input closes the connection with one
//! log line and `EventReadFail`; the source and its other connections go on. The stop signal
//! is watched while waiting for input or for a budget; a call being put is finished.
//! Frames are read ahead of their answers (a client with calls in flight), and the calls that
//! wait behind one put, or arrive right behind one another, are put together in one
//! transaction, in order ([`serve`]).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::order::in_call_order;
use super::read::{FrameRead, Reading, Received};
use super::{decode, At, Decoded, Failed, RpcProtocol, Then};
use crate::agent::metrics::SourceCounter;
use crate::agent::source::rpc::answer::write_answer;
use crate::agent::source::rpc::put::Putter;
use crate::agent::source::upstream_log::UpstreamLog;
use crate::agent::source::SourceCtx;

/// Most calls of one connection read ahead of their answers (a client with several calls in
/// flight: a Sluice avro sink's `max-calls-in-flight`, 16 by default).
pub(crate) const CALLS_AT_ONCE_MAX: usize = 16;

/// The longest decoded calls wait for the calls arriving right behind them (a frame whose
/// first bytes came with the one before, or one read and being decoded) before they are put
/// without them. A call with nothing behind it is put at once.
pub(crate) const GATHER_MAX: std::time::Duration = std::time::Duration::from_millis(2);

/// A frame's id (what its answer carries besides the call's own).
type Id<P> = <<P as RpcProtocol>::Reader as FrameRead>::Id;

/// What a call's future gives back: its number on the connection (from 1, in the order read)
/// with the frame's id, the outcome, and the connection's call state after it (the
/// handshake's).
type CallDone<P> = (
    (u64, Id<P>),
    Result<Decoded<P>, Failed<P>>,
    <P as RpcProtocol>::Conn,
);

/// The calls being put together ([`put_group`]).
type Putting<'a, P> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Vec<CallDone<P>>> + Send + 'a>>;

/// Serves one connection until the peer leaves, misbehaves, or the source stops.
///
/// Frames are read while earlier calls are decoded and put, at most [`CALLS_AT_ONCE_MAX`]
/// ahead of their answers (before the protocol reads ahead, e.g. before avro's handshake is
/// done, one at a time). A call read while nothing else is under way is decoded and put at
/// once (on the blocking thread that decoded it, when large); calls read behind others are
/// decoded, then put together: every decoded call waiting when the connection's previous put
/// returns goes into one transaction, in the order they were sent, so a client's calls in
/// flight share one commit (and one fsync) and keep their order. A call with more arriving
/// right behind it (the next frame's first bytes came in its read, or the next call is being
/// decoded) waits for them, at most [`GATHER_MAX`], so the burst a sink sends at once is one
/// commit, not its first call alone and then the rest. Answers go out in the calls' order (a
/// call the protocol does not answer, a oneway one, keeps its place silently).
pub(crate) async fn serve<P, S>(
    stream: S,
    peer: SocketAddr,
    ctx: &SourceCtx,
    shared: &Arc<P>,
    log: &mut UpstreamLog<'_>,
) where
    P: RpcProtocol,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (rd, wr) = tokio::io::split(stream);
    let putter = Putter::of(ctx, P::NAME).for_peer(peer, &shared.base().origins);
    let at = At { ctx, peer };
    let link = P::link(shared, ctx);
    let reading = Reading::new(&**shared, at, &link);
    let mut a = Answering::new(wr, at, shared, log, link);
    let mut idle = Some((rd, reading));
    let mut read = None;
    let mut calls = futures::stream::FuturesOrdered::new();
    let mut ready: VecDeque<CallDone<P>> = VecDeque::new();
    let mut putting: Option<(Putting<'_, P>, usize)> = None;
    // The last frame read brought the next one's first bytes: a call is right behind it.
    let mut behind = false;
    // Until when decoded calls wait for those arriving behind them.
    let mut gather_until: Option<tokio::time::Instant> = None;
    loop {
        if putting.is_none() {
            let arriving = !calls.is_empty() || (behind && read.is_some());
            let hold = hold(arriving, calls.len(), &ready, gather_until, &putter);
            if !settle(&mut ready, &mut putting, hold, &putter, shared, &mut a).await {
                return;
            }
            gather_until = gather_deadline(putting.is_none(), ready.is_empty(), gather_until);
        }
        let under_way = calls.len() + ready.len() + putting.as_ref().map_or(0, |p| p.1);
        if idle.is_none() && read.is_none() && under_way == 0 {
            return;
        }
        // Read the next frame while calls run, up to the bound; before the protocol reads
        // ahead, only once the call before it answered (it may be the handshake).
        let room = under_way < CALLS_AT_ONCE_MAX && (P::reads_ahead(&a.conn) || under_way == 0);
        if let Some((mut rd, mut reading)) = idle.take_if(|_| room && read.is_none()) {
            read = Some(Box::pin(async move {
                let r = reading.next_frame(&mut rd).await;
                (r, (rd, reading))
            }));
        }
        let gather = gather_until.filter(|_| putting.is_none());
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
            (received, parts) = async { match read.as_mut() {
                Some(r) => r.await,
                None => std::future::pending().await,
            } } => {
                read = None;
                behind = false;
                // None: the peer left or misbehaved (logged): answer what it already sent.
                if let Some(received) = received {
                    behind = parts.1.reader.pending() > 0;
                    idle = Some(parts);
                    let put = (under_way == 0 && !behind).then(|| putter.clone());
                    calls.push_back(call(received, a.conn.clone(), shared, put, &ctx.stop));
                }
            }
            () = async { match gather {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            } } => {}
        }
    }
}

/// Whether the decoded calls in `ready` wait for calls arriving behind them (`arriving`;
/// `decoding` being decoded): there is room for them, the gathering time (`gather_until`)
/// is not over and the group is under the channels' `transactionCapacity`.
fn hold<P: RpcProtocol>(
    arriving: bool,
    decoding: usize,
    ready: &VecDeque<CallDone<P>>,
    gather_until: Option<tokio::time::Instant>,
    putter: &Putter,
) -> bool {
    arriving
        && decoding + ready.len() < CALLS_AT_ONCE_MAX
        && gather_until.is_none_or(|t| tokio::time::Instant::now() < t)
        && events_in(ready) < putter.put_capacity()
}

/// Until when decoded calls wait for those arriving behind them: [`GATHER_MAX`] from when
/// calls were first ready with no put running (`no_put`); `None` otherwise.
fn gather_deadline(
    no_put: bool,
    ready_empty: bool,
    until: Option<tokio::time::Instant>,
) -> Option<tokio::time::Instant> {
    if no_put && !ready_empty {
        until.or_else(|| Some(tokio::time::Instant::now() + GATHER_MAX))
    } else {
        None
    }
}

/// While no put runs: answers what is ready, in order, up to the first decoded call, and
/// starts putting it with the decoded calls behind it (`putting`: the put and its calls),
/// unless it is to `hold` them for calls arriving behind. False when the connection ends.
async fn settle<'a, P: RpcProtocol, W: AsyncWrite + Unpin>(
    ready: &mut VecDeque<CallDone<P>>,
    putting: &mut Option<(Putting<'a, P>, usize)>,
    hold: bool,
    putter: &Putter,
    shared: &'a P,
    a: &mut Answering<'_, '_, P, W>,
) -> bool {
    while let Some(done) = ready.pop_front() {
        if matches!(done.1, Ok(Decoded::Events { .. })) {
            ready.push_front(done);
            if hold {
                return true;
            }
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

/// The events of the decoded calls in `ready`.
fn events_in<P: RpcProtocol>(ready: &VecDeque<CallDone<P>>) -> usize {
    ready
        .iter()
        .map(|d| match &d.1 {
            Ok(Decoded::Events { events, .. }) => events.len(),
            _ => 0,
        })
        .sum()
}

/// The decoded calls at the front of `ready`, up to the first that is not one or that would
/// take their events past `capacity` (the channels' `transactionCapacity`; the first call
/// always goes).
fn take_group<P: RpcProtocol>(
    ready: &mut VecDeque<CallDone<P>>,
    capacity: usize,
) -> Vec<CallDone<P>> {
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
/// back [`Decoded::Committed`] with the one outcome.
async fn put_group<P: RpcProtocol>(
    putter: Putter,
    group: Vec<CallDone<P>>,
    shared: &P,
) -> Vec<CallDone<P>> {
    let joined = group.len().saturating_sub(1) as u64;
    shared
        .base()
        .joined
        .fetch_add(joined, std::sync::atomic::Ordering::Relaxed);
    let mut batches = Vec::with_capacity(group.len());
    let mut all = Vec::new();
    let mut held = Vec::with_capacity(group.len());
    let mut heads = Vec::with_capacity(group.len());
    for (id, decoded, conn) in group {
        if let Ok(Decoded::Events {
            call,
            events,
            held: h,
        }) = decoded
        {
            batches.push(P::batch(&call));
            all.extend(events);
            held.push(h);
            heads.push((id, call, conn));
        }
    }
    let committed = putter.put_calls(&batches, all).await;
    drop(held);
    heads
        .into_iter()
        .map(|(id, call, conn)| (id, Ok(Decoded::Committed { call, committed }), conn))
        .collect()
}

/// One call: a `threads` permit, then decoded (and put, with `putter`). Owns what it uses,
/// so several run at once beside the connection's reads.
async fn call<P: RpcProtocol>(
    received: Received<Id<P>>,
    mut conn: P::Conn,
    shared: &Arc<P>,
    putter: Option<Putter>,
    stop: &crate::agent::stop::Stop,
) -> CallDone<P> {
    let mut stop = stop.clone();
    let base = shared.base();
    let deadline = tokio::time::Instant::now() + base.request_timeout;
    let id = (received.number, received.id);
    // `threads` bounds the calls being decoded and put at once.
    let _thread = match &base.threads {
        None => None,
        Some(t) => tokio::select! {
            _ = stop.wait() => return (id, Err(Failed::Stopped), conn),
            p = t.acquire() => p.ok(),
        },
    };
    let decoded = decode::decode(
        &mut conn,
        received.payload,
        received.held,
        shared,
        deadline,
        &mut stop,
        putter.as_ref(),
    )
    .await;
    (id, decoded, conn)
}

/// The answering side of a connection: its write half and what an answer needs.
struct Answering<'a, 'l, P: RpcProtocol, W> {
    wr: W,
    out: Vec<u8>,
    /// The call state, from the calls made before the protocol read ahead (the handshake).
    conn: P::Conn,
    at: At<'a>,
    shared: &'a Arc<P>,
    log: &'a mut UpstreamLog<'l>,
    link: P::Link,
    /// The number of the last call answered (0: none yet).
    answered: u64,
}

impl<'a, 'l, P: RpcProtocol, W: AsyncWrite + Unpin> Answering<'a, 'l, P, W> {
    fn new(
        wr: W,
        at: At<'a>,
        shared: &'a Arc<P>,
        log: &'a mut UpstreamLog<'l>,
        link: P::Link,
    ) -> Self {
        Answering {
            wr,
            out: Vec::new(),
            conn: shared.conn(),
            at,
            shared,
            log,
            link,
            answered: 0,
        }
    }

    /// Answers a finished call within `request-timeout`; false when the connection ends
    /// (logged).
    async fn respond(&mut self, ((number, id), decoded, after): CallDone<P>) -> bool {
        in_call_order(&mut self.answered, number);
        if !P::reads_ahead(&self.conn) {
            self.conn = after;
        }
        let done = match decoded {
            Err(Failed::Stopped) => return false,
            Err(Failed::Bad(bad)) => Err(bad),
            Ok(Decoded::Busy { call, cost }) => {
                let (ctx, peer) = (self.at.ctx, self.at.peer);
                ctx.counters.add(SourceCounter::ChannelWriteFail, 1);
                tracing::warn!(source = %ctx.name, %peer, decoded_bytes = cost, "{} call answered FAILED: its events would not fit the source's decoded budget within request-timeout (max-inflight-bytes)", P::NAME);
                Ok(Decoded::Busy { call, cost })
            }
            // `Events` is put in a group before it is answered: never answered as it is.
            Ok(d) => Ok(d),
        };
        self.out.clear();
        let answer = self
            .shared
            .answer(&mut self.link, self.at, id, done, &mut self.out);
        if answer.valid {
            self.log.valid_call();
        }
        let close = match answer.then {
            Then::End => return false,
            Then::Nothing => return true,
            Then::Send => false,
            Then::SendAndClose => true,
        };
        let timeout = self.shared.base().request_timeout;
        let who = (self.at.ctx.name.as_str(), P::NAME, self.at.peer);
        if !write_answer(&mut self.wr, &self.out, timeout, who).await {
            return false;
        }
        if close {
            let _ = self.wr.shutdown().await;
            return false;
        }
        true
    }
}
