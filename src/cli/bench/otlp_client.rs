//! The otlp connection of `sluice bench --rpc otlp`: a gRPC `LogsService/Export` client on
//! tonic's channel that sends each batch as the otlp sink does: [`ExportBatch`] groups and
//! measures the events and writes the request straight into tonic's message buffer through
//! [`ExportCodec`], every call (as the avro client encodes its events every call). The
//! events are the connection's prepared batch, shared (`Arc<[Event]>`) instead of copied per
//! call.

use std::sync::Arc;

use tonic::transport::Channel;
use tonic::Status;

use sluice::agent::otlp::proto::GRPC_LOGS_EXPORT;
use sluice::agent::otlp::{ExportBatch, ExportCodec};
use sluice_core::Event;

/// Most bytes of a response decoded.
const RESPONSE_BYTES_MAX: usize = 1 << 20;

/// One otlp bench connection.
pub struct OtlpClient {
    grpc: tonic::client::Grpc<Channel>,
    /// The batch last sent, shared with each call's request.
    events: Option<Arc<[Event]>>,
}

impl OtlpClient {
    /// Connects to `target` (`host:port`, cleartext).
    pub async fn connect(target: &str) -> anyhow::Result<OtlpClient> {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{target}"))?
            .tcp_nodelay(true)
            .connect()
            .await?;
        Ok(OtlpClient {
            grpc: tonic::client::Grpc::new(channel).max_decoding_message_size(RESPONSE_BYTES_MAX),
            events: None,
        })
    }

    /// Exports `events` (shared again when they are the batch last sent).
    pub async fn export(&mut self, events: &[Event]) -> Result<(), Status> {
        let shared = match &self.events {
            Some(e)
                if e.len() == events.len()
                    && e.iter().zip(events).all(|(a, b)| a.shares_with(b)) =>
            {
                e.clone()
            }
            _ => {
                let e: Arc<[Event]> = Arc::from(events);
                self.events = Some(e.clone());
                e
            }
        };
        let batch = Arc::new(ExportBatch::new(shared));
        self.grpc
            .ready()
            .await
            .map_err(|e| Status::unavailable(format!("connection not ready: {e}")))?;
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(GRPC_LOGS_EXPORT);
        let codec = ExportCodec::for_batch(&batch);
        self.grpc
            .unary(tonic::Request::new(batch), path, codec)
            .await
            .map(|_| ())
    }
}
