//! The `avro` sink (Flume's `AvroSink`): forwards batches to a downstream avro source with
//! one `appendBatch` each, over one connection it keeps open and re-opens by itself: an
//! [`RpcSink`] over [`AvroClient`], whose calls carry the agent's and the sink's names in the
//! handshake's call metadata. The connection handling is `rpc_sink`'s.

pub mod config;

use std::sync::Arc;

pub use config::AvroSinkConfig;

use super::rpc_keys::RpcSinkTimings;
use super::rpc_sink::{RpcClient, RpcSink};
pub use super::rpc_sink::{DOWN_WARN_EVERY, STOP_GRACE};
use crate::agent::histogram::Histogram;
use crate::agent::rpc::avro_client::{AvroClient, AvroClientConfig};
pub use crate::agent::rpc::meta::{META_AGENT, META_SINK};
use crate::agent::rpc::transport::ClientTransport;
use sluice_core::Event;

/// One `avro` sink.
pub type AvroSink = RpcSink<AvroClient>;

impl RpcClient for AvroClient {
    type Config = AvroSinkConfig;

    async fn open_for_sink(
        addr: &str,
        transport: &ClientTransport,
        cfg: &AvroSinkConfig,
        timings: &RpcSinkTimings,
        sink: &str,
    ) -> Result<Self, String> {
        let client_cfg = AvroClientConfig {
            connect_timeout: timings.connect_timeout,
            request_timeout: timings.request_timeout,
            ..AvroClientConfig::default()
        };
        let mut client = AvroClient::connect_with(addr, transport, client_cfg)
            .await
            .map_err(|e| e.to_string())?;
        client.set_call_meta(vec![
            (META_AGENT.to_owned(), cfg.agent.clone().into_bytes()),
            (META_SINK.to_owned(), sink.to_owned().into_bytes()),
        ]);
        Ok(client)
    }

    fn idle_broken(&mut self) -> bool {
        AvroClient::idle_broken(self)
    }

    fn record_latency(&mut self, h: Arc<Histogram>) {
        AvroClient::record_latency(self, h);
    }

    async fn append_batch(&mut self, events: &[Event]) -> Result<(), String> {
        AvroClient::append_batch(self, events)
            .await
            .map_err(|e| e.to_string())
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
