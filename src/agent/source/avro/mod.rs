//! The `avro` source (`org.apache.flume.source.AvroSource`): Flume's `AvroSourceProtocol`
//! over Avro IPC with Netty framing, so Flume's avro sink, `flume-ng avro-client` and
//! Sluice's own avro sink can send to it.
//!
//! Connections are accepted by the shared [`Listener`](super::listener) (the
//! `max-connections` cap; connections beyond it are closed at once and counted as
//! `ConnectionRefusedCount`) and admitted by [`Gate`](super::rpc::admit).
//! One task per connection runs the RPC connection machine
//! ([`crate::agent::source::rpc`]: frames read ahead of their answers, decoded off the async
//! workers when large, calls in flight joined into one put), with the avro protocol
//! ([`protocol`]: the pure state machine [`crate::wire::avro::server::ServerConn`]);
//! `append`/`appendBatch` go to the channel processor as one batch (one
//! transaction per channel per call) and are answered `OK` only after every required channel
//! committed, `FAILED` otherwise. Pipelined calls are answered in order, each with its
//! serial. Limits: `max-frame-size`, `max-events-per-call`, `max-connections`,
//! `idle-timeout`, `request-timeout` (a whole frame), `max-inflight-bytes` (frames being
//! received and decoded events, over all connections: [`crate::agent::source::budget`]); `threads` bounds the
//! calls being decoded and put at once. Every upstream that makes a call is remembered for
//! the upstream-gone alarm (`clientGoneAfter`, `clientForgetAfter`;
//! [`crate::agent::alarm::upstreams`]): its IP and the `sluice.agent`/`sluice.sink` call
//! metadata of a Sluice sink. Below the protocol, [`crate::agent::rpc::transport`] applies
//! `ipFilter`, checks the first bytes, and runs the TLS and deflate layers (`ssl`,
//! `compression-type`), each connection in its own task.

pub mod config;
mod peers;
mod protocol;

use std::sync::Arc;

use super::listener::Listener;
use super::rpc::RpcBase;
use super::{SourceCtx, SourceError, SourceErrorKind};
use crate::agent::alarm::upstreams::Upstreams;
use crate::agent::rpc::transport::ServerTransport;
use crate::wire::avro::handshake::answer_with;
use crate::wire::avro::{AvroError, HandshakeRequest, HandshakeResponse, KnownClients};
pub use config::AvroSourceConfig;
use parking_lot::Mutex;
pub use peers::{Peers, PEER_WINDOW};

/// What the connections of one source share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) cfg: AvroSourceConfig,
    /// Client protocol hashes accepted (locked only to look one up or remember one).
    pub(crate) known: Mutex<KnownClients>,
    pub(crate) peers: Peers,
    /// Budgets, decoders, `threads`, timeouts, the transport and the connection counts
    /// ([`crate::agent::source::rpc`]).
    pub(crate) rpc: RpcBase,
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
    let transport =
        ServerTransport::new(&cfg.security).map_err(|e| ctx.fail(SourceErrorKind::Config, e))?;
    let listener = Listener::bind(&ctx, &cfg.bind, &[cfg.port], cfg.max_connections).await?;
    let local = listener.local_addr();
    tracing::info!(source = %ctx.name, bind = %cfg.bind, port = cfg.port, ?local, transport = %transport.describe(), "avro source listening");
    let cfg_gone = (cfg.client_gone_after, cfg.client_forget_after);
    let shared = Arc::new(Shared {
        rpc: RpcBase::new(
            transport,
            cfg.threads,
            cfg.max_inflight_bytes,
            cfg.request_timeout,
            cfg.idle_timeout,
        ),
        cfg,
        known: Mutex::new(KnownClients::default()),
        peers: Peers::default(),
        upstreams: ctx.alarms.upstream_table(&ctx.name, cfg_gone.0, cfg_gone.1),
    });
    super::rpc::listen::accept(listener, &ctx, shared).await;
    Ok(())
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
