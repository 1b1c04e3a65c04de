//! The `avro` sink (Flume's `AvroSink`): forwards batches to a downstream avro source with
//! one `appendBatch` each, over one connection it keeps open and re-opens by itself: an
//! [`RpcSink`] over [`AvroLink`], whose calls carry the agent's and the sink's names in the
//! handshake's call metadata. With `max-calls-in-flight` above 1 (the default, 4) the
//! connection is an [`AvroPipe`]: a batch's call is sent and the next batch taken while it is
//! answered, so the downstream's group commit can take several calls in one fsync; each take
//! still commits only after its own `OK`. The connection handling is `rpc_sink`'s.

pub mod config;

use std::sync::Arc;

pub use config::AvroSinkConfig;

use super::rpc_keys::RpcSinkTimings;
use super::rpc_sink::{Answer, RpcClient, RpcSink};
pub use super::rpc_sink::{DOWN_WARN_EVERY, STOP_GRACE};
use crate::agent::histogram::Histogram;
use crate::agent::rpc::avro_client::{AvroClient, AvroClientConfig};
use crate::agent::rpc::avro_pipe::AvroPipe;
use crate::agent::rpc::error::RpcError;
pub use crate::agent::rpc::meta::{META_AGENT, META_SINK};
use crate::agent::rpc::transport::ClientTransport;
use sluice_core::Event;

/// One `avro` sink.
pub type AvroSink = RpcSink<AvroLink>;

/// The avro sink's connection: one call at a time, or several in flight
/// (`max-calls-in-flight` above 1).
#[derive(Debug)]
pub enum AvroLink {
    /// Each call answered before the next is sent.
    One(AvroClient),
    /// Several calls in flight.
    Pipe(AvroPipe),
}

impl RpcClient for AvroLink {
    type Config = AvroSinkConfig;

    async fn open_for_sink(
        addr: &str,
        transport: &ClientTransport,
        cfg: &AvroSinkConfig,
        timings: &RpcSinkTimings,
        sink: &str,
    ) -> Result<Self, RpcError> {
        let client_cfg = AvroClientConfig {
            connect_timeout: timings.connect_timeout,
            request_timeout: timings.request_timeout,
            ..AvroClientConfig::default()
        };
        let mut client =
            AvroClient::connect_ids(addr, transport, client_cfg, cfg.event_ids).await?;
        super::rpc_sink::log_event_ids(sink, addr, client.sends_ids());
        client.set_call_meta(vec![
            (META_AGENT.to_owned(), cfg.agent.clone().into_bytes()),
            (META_SINK.to_owned(), sink.to_owned().into_bytes()),
        ]);
        if cfg.calls_in_flight > 1 {
            return AvroPipe::new(client, timings.request_timeout).map(AvroLink::Pipe);
        }
        Ok(AvroLink::One(client))
    }

    fn idle_broken(&mut self) -> bool {
        match self {
            AvroLink::One(c) => c.idle_broken(),
            AvroLink::Pipe(p) => p.closed_idle(),
        }
    }

    fn record_latency(&mut self, h: Arc<Histogram>) {
        match self {
            AvroLink::One(c) => c.record_latency(h),
            AvroLink::Pipe(p) => p.record_latency(h),
        }
    }

    async fn append_batch(&mut self, events: &[Event]) -> Result<(), RpcError> {
        match self {
            AvroLink::One(c) => c.append_batch(events).await,
            AvroLink::Pipe(p) => p.send(events).await?.wait().await,
        }
    }

    fn pipelined(&self) -> bool {
        matches!(self, AvroLink::Pipe(_))
    }

    async fn send_batch(&mut self, events: &[Event]) -> Result<Answer, RpcError> {
        match self {
            AvroLink::One(c) => {
                let r = c.append_batch(events).await;
                Ok(Box::pin(std::future::ready(r)))
            }
            AvroLink::Pipe(p) => {
                let answer = p.send(events).await?;
                Ok(Box::pin(answer.wait()))
            }
        }
    }

    fn broken(&self) -> Option<RpcError> {
        match self {
            AvroLink::One(_) => None,
            AvroLink::Pipe(p) => p.broken(),
        }
    }
}

impl crate::agent::sink::BuildSink for AvroSinkConfig {
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn batch_key(&self) -> &'static str {
        "batch-size"
    }

    fn build(&self, name: &str) -> Box<dyn crate::agent::sink::Sink> {
        Box::new(AvroSink::new(name, self.clone()))
    }
}

#[cfg(test)]
mod tests;
