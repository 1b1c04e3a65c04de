//! The protocol's side of an RPC sink: [`RpcClient`], what [`super::RpcSink`] asks of the
//! avro or thrift client it drives (connect, `appendBatch`, calls in flight), and the
//! [`Answer`] of a call sent ahead.

use std::future::Future;
use std::sync::Arc;

use crate::agent::histogram::Histogram;
use crate::agent::rpc::error::RpcError;
use crate::agent::rpc::transport::ClientTransport;
use crate::agent::sink::rpc_keys::{RpcSinkSettings, RpcSinkTimings};
use sluice_core::Event;

/// One RPC protocol's client, as [`RpcSink`] drives it.
pub trait RpcClient: std::fmt::Debug + Send + Sized + 'static {
    /// The sink's settings this protocol reads when it connects.
    type Config: RpcSinkSettings + Send + Sync + std::fmt::Debug + 'static;

    /// Connects to `addr` over `transport` within `timings.connect_timeout`, for sink `sink`.
    fn open_for_sink<'a>(
        addr: &'a str,
        transport: &'a ClientTransport,
        cfg: &'a Self::Config,
        timings: &'a RpcSinkTimings,
        sink: &'a str,
    ) -> impl Future<Output = Result<Self, RpcError>> + Send + 'a;

    /// Whether the peer closed the connection while it was idle.
    fn idle_broken(&mut self) -> bool;

    /// Records each call's round trip into `h`.
    fn record_latency(&mut self, h: Arc<Histogram>);

    /// One `appendBatch`: `Ok` only on the peer's `OK`.
    fn append_batch<'a>(
        &'a mut self,
        events: &'a [Event],
    ) -> impl Future<Output = Result<(), RpcError>> + Send + 'a;

    /// Whether this connection keeps several calls in flight ([`RpcClient::send_batch`]).
    fn pipelined(&self) -> bool {
        false
    }

    /// Writes one `appendBatch` and returns its answer to wait for apart from the client
    /// (`Ok` only on the peer's `OK`); only called when [`RpcClient::pipelined`] (else
    /// it sends the batch and waits for its answer).
    fn send_batch<'a>(
        &'a mut self,
        events: &'a [Event],
    ) -> impl Future<Output = Result<Answer, RpcError>> + Send + 'a {
        async move {
            let r = self.append_batch(events).await;
            Ok(Box::pin(std::future::ready(r)) as Answer)
        }
    }

    /// Why the connection broke while calls were in flight, if it did: it is then dropped.
    fn broken(&self) -> Option<RpcError> {
        None
    }
}

/// Says once per connection whether its calls carry the events' ids (docs/exactly-once.md,
/// "A staged migration").
pub(crate) fn log_event_ids(sink: &str, addr: &str, sends: bool) {
    if sends {
        tracing::info!(sink = %sink, addr = %addr, "the downstream takes event ids: calls carry them (exactly-once hop)");
    } else {
        tracing::info!(sink = %sink, addr = %addr, "the downstream is not known to take event ids (a Flume collector, or eventIds = false): calls carry only the events' own headers (at-least-once hop)");
    }
}

/// The answer to a call sent with [`RpcClient::send_batch`]: `Ok` only on the peer's `OK`.
pub type Answer = crate::agent::channel::BoxFuture<'static, Result<(), RpcError>>;
