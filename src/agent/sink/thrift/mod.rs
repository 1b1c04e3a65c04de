//! The `thrift` sink (Flume's `ThriftSink`): forwards batches to a downstream thrift source
//! with one `appendBatch` each, in the compact (default) or binary protocol, over one
//! connection it keeps open and re-opens by itself: an [`RpcSink`] over [`ThriftClient`], the
//! same connection handling as the avro sink (`rpc_sink`).

pub mod config;

use std::sync::Arc;

pub use config::ThriftSinkConfig;

use super::rpc_keys::RpcSinkTimings;
use super::rpc_sink::{RpcClient, RpcSink};
pub use super::rpc_sink::{DOWN_WARN_EVERY, STOP_GRACE};
use crate::agent::histogram::Histogram;
use crate::agent::rpc::error::RpcError;
use crate::agent::rpc::thrift_client::{ThriftClient, ThriftClientConfig};
use crate::agent::rpc::transport::ClientTransport;
use sluice_core::Event;

/// One `thrift` sink.
pub type ThriftSink = RpcSink<ThriftClient>;

impl RpcClient for ThriftClient {
    type Config = ThriftSinkConfig;

    async fn open_for_sink(
        addr: &str,
        transport: &ClientTransport,
        cfg: &ThriftSinkConfig,
        timings: &RpcSinkTimings,
        sink: &str,
    ) -> Result<Self, RpcError> {
        let client_cfg = ThriftClientConfig {
            connect_timeout: timings.connect_timeout,
            request_timeout: timings.request_timeout,
            protocol: cfg.protocol,
            event_ids: cfg.event_ids,
        };
        let client = ThriftClient::connect_with(addr, transport, client_cfg).await?;
        super::rpc_sink::log_event_ids(sink, addr, client.sends_ids());
        Ok(client)
    }

    fn idle_broken(&mut self) -> bool {
        ThriftClient::idle_broken(self)
    }

    fn record_latency(&mut self, h: Arc<Histogram>) {
        ThriftClient::record_latency(self, h);
    }

    async fn append_batch(&mut self, events: &[Event]) -> Result<(), RpcError> {
        Ok(ThriftClient::append_batch(self, events).await?)
    }
}

impl crate::agent::sink::BuildSink for ThriftSinkConfig {
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn batch_key(&self) -> &'static str {
        "batch-size"
    }

    fn build(&self, name: &str) -> Box<dyn crate::agent::sink::Sink> {
        Box::new(ThriftSink::new(name, self.clone()))
    }
}
