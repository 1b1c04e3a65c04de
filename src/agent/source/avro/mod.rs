//! The `avro` source (`org.apache.flume.source.AvroSource`): Flume's `AvroSourceProtocol`
//! over Avro IPC with Netty framing, so Flume's avro sink, `flume-ng avro-client` and
//! Sluice's own avro sink can send to it.
//!
//! One task per connection ([`conn`]) moves frames through the pure state machine
//! [`crate::wire::avro::server::ServerConn`]; `append`/`appendBatch` go to the channel
//! processor as one batch (one transaction per channel per call) and are answered `OK` only
//! after every required channel committed, `FAILED` otherwise. Pipelined calls are answered
//! in order, each with its serial. Limits: `max-frame-size`, `max-events-per-call`,
//! `max-connections`, `idle-timeout`, `request-timeout`; `threads` bounds the calls being put
//! at once. Every upstream that makes a call is remembered for the upstream-gone alarm
//! (`clientGoneAfter`, `clientForgetAfter`; [`crate::agent::alarm::upstreams`]): its IP and
//! the `sluice.agent`/`sluice.sink` call metadata of a Sluice sink. The connection layer takes any byte stream, so deflate and TLS can wrap the
//! socket later without touching the protocol code.

pub mod config;
mod conn;
mod peers;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{SourceCtx, SourceError};
use crate::agent::alarm::upstreams::Upstreams;
use crate::wire::avro::KnownClients;
pub use config::AvroSourceConfig;
pub use peers::{Peers, PEER_WINDOW};

/// Pause after a failed `accept` (e.g. out of file descriptors) so it does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// At most one "connection refused: limit" warning per this interval.
const REFUSE_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// What the connections of one source share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) cfg: AvroSourceConfig,
    pub(crate) known: Mutex<KnownClients>,
    pub(crate) open: AtomicUsize,
    pub(crate) peers: Peers,
    pub(crate) threads: Option<Semaphore>,
    /// This source's remembered upstreams (the upstream-gone alarm).
    pub(crate) upstreams: Arc<Mutex<Upstreams>>,
}

/// Listens until stopped; each connection finishes the call it is putting.
pub async fn run(cfg: AvroSourceConfig, ctx: SourceCtx) -> Result<(), SourceError> {
    let listener = TcpListener::bind((cfg.bind.as_str(), cfg.port))
        .await
        .map_err(|e| ctx.error(format!("cannot listen on {}:{}: {e}", cfg.bind, cfg.port)))?;
    let local = listener.local_addr().ok();
    tracing::info!(source = %ctx.name, bind = %cfg.bind, port = cfg.port, ?local, "avro source listening");
    let cfg_gone = (cfg.client_gone_after, cfg.client_forget_after);
    let shared = Arc::new(Shared {
        threads: cfg.threads.map(Semaphore::new),
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
    let mut refused = 0u64;
    let mut refuse_logged: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = stop.wait() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if shared.open.load(Ordering::Relaxed) >= shared.cfg.max_connections {
                        refused += 1;
                        if refuse_logged.is_none_or(|t| t.elapsed() >= REFUSE_LOG_INTERVAL) {
                            tracing::warn!(source = %ctx.name, %peer, limit = shared.cfg.max_connections, refused, "connection refused: max-connections reached");
                            refuse_logged = Some(Instant::now());
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
    tracing::debug!(source = %ctx.name, %peer, "avro connection");
    let (ctx, shared) = (ctx.clone(), shared.clone());
    conns.spawn(async move {
        conn::serve(stream, peer, &ctx, &shared).await;
        shared.open.fetch_sub(1, Ordering::Relaxed);
        shared.peers.seen(peer.ip(), Instant::now());
    });
}

impl crate::agent::source::BuildSource for AvroSourceConfig {
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
