//! The `thrift` source (`org.apache.flume.source.ThriftSource`): Flume's
//! `ThriftSourceProtocol` over the framed transport, in the compact (default) or binary
//! protocol, so Flume's thrift sink, its `ThriftRpcClient`, applications using the IDL and
//! Sluice's own thrift sink can send to it.
//!
//! Connections are accepted by the shared [`Listener`](super::listener) (the
//! `max-connections` cap; connections beyond it are closed at once and counted as
//! `ConnectionRefusedCount`) and admitted by [`Gate`](super::rpc::admit).
//! One task per connection runs the RPC connection machine ([`crate::agent::source::rpc`]:
//! frames read within `request-timeout` of their first byte and reserved from the frame
//! budget before they are read, up to 8 calls read ahead of their answers, decoded off the
//! async workers when large and counted against the decoded budget, the calls that waited
//! behind a put joined into one transaction, `CallsJoinedCount`) with the thrift protocol
//! ([`protocol`]: the pure codec [`crate::wire::thrift`]); `append`/`appendBatch` go to the
//! channel processor as one batch (one transaction per channel per call, or per joined calls) and are answered
//! `OK` only after every required channel committed, `FAILED` otherwise. Calls are answered
//! in order, each with its seqid. Garbage closes its connection with a log line naming the
//! probable cause (rate-limited per source: a few per interval, then a count; a connection
//! is announced as "upstream connected" only after its first valid call) (TLS, HTTP, Avro, deflate, the other protocol: [`crate::wire::thrift::sniff`])
//! and `EventReadFail`; the source and its other connections go on. Limits as the avro
//! source's: `max-frame-size`, `max-events-per-call`, `max-connections`, `idle-timeout`,
//! `request-timeout`, `max-inflight-bytes`; `threads` bounds the calls decoded and put at once.
//! Below the protocol, [`crate::agent::rpc::transport`] applies `ipFilter`, checks the first
//! bytes, and runs the TLS and deflate layers (`ssl`, `compression-type`), each connection in
//! its own task, as for the avro source.

pub mod config;
mod protocol;

use std::sync::Arc;

use super::listener::Listener;
use super::rpc::RpcBase;
use super::{SourceCtx, SourceError, SourceErrorKind};
use crate::agent::rpc::transport::{Protocol as Speaks, ServerTransport};
pub use config::ThriftSourceConfig;

/// What the connections of one source share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) cfg: ThriftSourceConfig,
    /// Budgets, decoders, `threads`, timeouts, the transport and the connection counts
    /// ([`crate::agent::source::rpc`]).
    pub(crate) rpc: RpcBase,
}

/// Listens until stopped; each connection finishes the call it is putting.
pub async fn run(cfg: ThriftSourceConfig, ctx: SourceCtx) -> Result<(), SourceError> {
    let transport = ServerTransport::new(&cfg.security)
        .map_err(|e| ctx.fail(SourceErrorKind::Config, e))?
        .speaking(Speaks::Thrift);
    let listener = Listener::bind(&ctx, &cfg.bind, &[cfg.port], cfg.max_connections).await?;
    let local = listener.local_addr();
    tracing::info!(source = %ctx.name, bind = %cfg.bind, port = cfg.port, protocol = cfg.protocol.name(), ?local, transport = %transport.describe(), "thrift source listening");
    let shared = Arc::new(Shared {
        rpc: RpcBase::new(
            transport,
            cfg.threads,
            cfg.max_inflight_bytes,
            cfg.request_timeout,
            cfg.idle_timeout,
        ),
        cfg,
    });
    super::rpc::listen::accept(listener, &ctx, shared).await;
    Ok(())
}

impl crate::agent::source::BuildSource for ThriftSourceConfig {
    fn listens(&self) -> bool {
        true
    }

    fn batch_size(&self) -> usize {
        1
    }

    fn run(&self, ctx: SourceCtx) -> crate::agent::source::SourceTask {
        Box::pin(run(self.clone(), ctx))
    }
}
