//! The `avro` source (`org.apache.flume.source.AvroSource`): Flume's `AvroSourceProtocol`
//! over Avro IPC with Netty framing, so Flume's avro sink, `flume-ng avro-client` and
//! Sluice's own avro sink can send to it.
//!
//! One task per connection ([`conn`]) reads frames ([`read`]), decodes them through the pure
//! state machine [`crate::wire::avro::server::ServerConn`] ([`decode`]: off the async workers
//! when large); `append`/`appendBatch` go to the channel processor as one batch (one
//! transaction per channel per call) and are answered `OK` only after every required channel
//! committed, `FAILED` otherwise. Pipelined calls are answered in order, each with its
//! serial. Limits: `max-frame-size`, `max-events-per-call`, `max-connections`,
//! `idle-timeout`, `request-timeout` (a whole frame), `max-inflight-bytes` (frames being
//! received and decoded events, over all connections: [`crate::agent::source::budget`]); `threads` bounds the
//! calls being decoded and put at once. Every upstream that makes a call is remembered for
//! the upstream-gone alarm (`clientGoneAfter`, `clientForgetAfter`;
//! [`crate::agent::alarm::upstreams`]): its IP and the `sluice.agent`/`sluice.sink` call
//! metadata of a Sluice sink. The connection layer takes any byte stream, so deflate and TLS
//! can wrap the socket later without touching the protocol code.

pub mod config;
mod conn;
mod decode;
mod peers;
mod read;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::budget::Budget;
use super::decoders::Decoders;
use super::refusals::RefusalLog;
use super::{SourceCtx, SourceError};
use crate::agent::alarm::upstreams::Upstreams;
use crate::agent::metrics::SourceCounter;
use crate::wire::avro::handshake::answer_with;
use crate::wire::avro::{AvroError, HandshakeRequest, HandshakeResponse, KnownClients};
pub use config::AvroSourceConfig;
pub use peers::{Peers, PEER_WINDOW};

/// Pause after a failed `accept` (e.g. out of file descriptors) so it does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What the connections of one source share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) cfg: AvroSourceConfig,
    /// Client protocol hashes accepted (locked only to look one up or remember one).
    pub(crate) known: Mutex<KnownClients>,
    pub(crate) open: AtomicUsize,
    pub(crate) peers: Peers,
    pub(crate) threads: Option<Semaphore>,
    /// Bytes of frames being received: half of `max-inflight-bytes`.
    pub(crate) frames: Budget,
    /// Bytes the decoded events of calls are counted for: the other half.
    pub(crate) decoded: Budget,
    /// Decodes running off the workers.
    pub(crate) decoders: Decoders,
    /// This source's remembered upstreams (the upstream-gone alarm).
    pub(crate) upstreams: Arc<Mutex<Upstreams>>,
}

impl Shared {
    /// Answers a handshake, holding the `known` lock only to look the client's hash up and
    /// to remember it (its protocol text is compared outside).
    pub(crate) fn answer_handshake(
        &self,
        req: &HandshakeRequest,
    ) -> Result<HandshakeResponse, AvroError> {
        let known = self.known.lock().knows(&req.client_hash);
        let (resp, learned) = answer_with(req, known)?;
        if learned {
            self.known.lock().remember(req.client_hash);
        }
        Ok(resp)
    }
}

/// Listens until stopped; each connection finishes the call it is putting.
pub async fn run(cfg: AvroSourceConfig, ctx: SourceCtx) -> Result<(), SourceError> {
    let listener = TcpListener::bind((cfg.bind.as_str(), cfg.port))
        .await
        .map_err(|e| ctx.error(format!("cannot listen on {}:{}: {e}", cfg.bind, cfg.port)))?;
    let local = listener.local_addr().ok();
    tracing::info!(source = %ctx.name, bind = %cfg.bind, port = cfg.port, ?local, "avro source listening");
    ctx.ready.accepting();
    let cfg_gone = (cfg.client_gone_after, cfg.client_forget_after);
    let shared = Arc::new(Shared {
        threads: cfg.threads.map(Semaphore::new),
        frames: Budget::new(cfg.max_inflight_bytes / 2),
        decoded: Budget::new(cfg.max_inflight_bytes / 2),
        decoders: Decoders::default(),
        cfg,
        known: Mutex::new(KnownClients::default()),
        open: AtomicUsize::new(0),
        peers: Peers::default(),
        upstreams: ctx.alarms.upstream_table(&ctx.name, cfg_gone.0, cfg_gone.1),
    });
    let g = shared.clone();
    ctx.counters.set_gauges(Box::new(move || {
        vec![
            (
                "OpenConnectionCount",
                g.open.load(Ordering::Relaxed).to_string(),
            ),
            (
                "UpstreamPeerCount",
                g.peers.recent(Instant::now()).to_string(),
            ),
        ]
    }));
    let mut conns = JoinSet::new();
    let mut stop = ctx.stop.clone();
    let mut refusals = RefusalLog::default();
    loop {
        tokio::select! {
            _ = stop.wait() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if shared.open.load(Ordering::Relaxed) >= shared.cfg.max_connections {
                        if let Some(refused) = refusals.refused(Instant::now()) {
                            tracing::warn!(source = %ctx.name, %peer, limit = shared.cfg.max_connections, refused, "connection refused: max-connections reached");
                        }
                        drop(stream);
                        continue;
                    }
                    accept(&mut conns, stream, peer, &ctx, &shared);
                }
                Err(e) => {
                    tracing::warn!(source = %ctx.name, error = %e, "accept failed");
                    if stop.sleep(ACCEPT_BACKOFF).await {
                        break;
                    }
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    while conns.join_next().await.is_some() {}
    Ok(())
}

fn accept(
    conns: &mut JoinSet<()>,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    ctx: &SourceCtx,
    shared: &Arc<Shared>,
) {
    let _ = stream.set_nodelay(true);
    shared.open.fetch_add(1, Ordering::Relaxed);
    shared.peers.seen(peer.ip(), Instant::now());
    // Flume's avro source logs OPEN, BOUND and CONNECTED (and DISCONNECTED, UNBOUND, CLOSED):
    // one line each way here.
    let local = stream.local_addr().ok();
    tracing::info!(source = %ctx.name, %peer, ?local, "upstream connected");
    let (ctx, shared) = (ctx.clone(), shared.clone());
    conns.spawn(async move {
        conn::serve(stream, peer, &ctx, &shared).await;
        tracing::info!(source = %ctx.name, %peer, "upstream disconnected");
        shared.open.fetch_sub(1, Ordering::Relaxed);
        shared.peers.seen(peer.ip(), Instant::now());
    });
}

/// The one log line and the metric of a connection closed for bad input.
pub(crate) fn bad_input(ctx: &SourceCtx, peer: SocketAddr, what: &str, kind: &str) {
    ctx.counters.add(SourceCounter::EventReadFail, 1);
    tracing::warn!(source = %ctx.name, %peer, kind, "avro connection closed: {what}");
}

impl crate::agent::source::BuildSource for AvroSourceConfig {
    fn listens(&self) -> bool {
        true
    }

    fn batch_size(&self) -> usize {
        1
    }

    fn tracks_upstreams(&self) -> bool {
        true
    }

    fn run(&self, ctx: crate::agent::source::SourceCtx) -> crate::agent::source::SourceTask {
        Box::pin(run(self.clone(), ctx))
    }
}
