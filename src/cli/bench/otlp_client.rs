//! The otlp connection of `sluice bench --rpc otlp`: a gRPC `LogsService/Export` client on
//! tonic's channel whose codec encodes the request from a shared reference, straight into a
//! buffer sized for it, as the avro client encodes its events each call: the request is built
//! once per connection (the otlp sink's mapping) and neither cloned per call (1,000 records'
//! strings: that clone cost the client more than the encode) nor grown into.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use prost::Message;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;
use tonic::Status;

use sluice::agent::otlp::proto::GRPC_LOGS_EXPORT;

/// Least encode buffer (tonic's default is 8 KiB; it grows by doubling, copying each time).
const ENCODE_BUFFER_BYTES_MIN: usize = 8 << 10;

/// A prepared request and what its encoding needs.
#[derive(Clone)]
struct Prepared {
    req: Arc<ExportLogsServiceRequest>,
    bytes: usize,
}

/// Encodes a shared request; decodes the response.
struct RefCodec(usize);

impl Codec for RefCodec {
    type Encode = Arc<ExportLogsServiceRequest>;
    type Decode = ExportLogsServiceResponse;
    type Encoder = RefCodec;
    type Decoder = RefCodec;

    fn encoder(&mut self) -> RefCodec {
        RefCodec(self.0)
    }

    fn decoder(&mut self) -> RefCodec {
        RefCodec(self.0)
    }
}

impl Encoder for RefCodec {
    type Item = Arc<ExportLogsServiceRequest>;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst)
            .map_err(|e| Status::internal(format!("encoding the request: {e}")))
    }

    fn buffer_settings(&self) -> BufferSettings {
        // The 5-byte gRPC prefix and the message.
        BufferSettings::new(self.0.max(ENCODE_BUFFER_BYTES_MIN) + 5, 32 << 10)
    }
}

impl Decoder for RefCodec {
    type Item = ExportLogsServiceResponse;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        Message::decode(src)
            .map(Some)
            .map_err(|e| Status::internal(format!("decoding the response: {e}")))
    }
}

/// One otlp bench connection.
pub struct OtlpClient {
    grpc: tonic::client::Grpc<Channel>,
    prepared: Option<(usize, Prepared)>,
}

impl OtlpClient {
    /// Connects to `target` (`host:port`, cleartext).
    pub async fn connect(target: &str) -> anyhow::Result<OtlpClient> {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{target}"))?
            .tcp_nodelay(true)
            .connect()
            .await?;
        Ok(OtlpClient {
            grpc: tonic::client::Grpc::new(channel).max_decoding_message_size(1 << 20),
            prepared: None,
        })
    }

    /// Exports `events` (the request built again only when their count changed).
    pub async fn export(&mut self, events: &[sluice_core::Event]) -> Result<(), Status> {
        let p = match &self.prepared {
            Some((n, p)) if *n == events.len() => p.clone(),
            _ => {
                let req = sluice::agent::otlp::export_request(events).0;
                let p = Prepared {
                    bytes: req.encoded_len(),
                    req: Arc::new(req),
                };
                self.prepared = Some((events.len(), p.clone()));
                p
            }
        };
        self.grpc
            .ready()
            .await
            .map_err(|e| Status::unavailable(format!("connection not ready: {e}")))?;
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(GRPC_LOGS_EXPORT);
        self.grpc
            .unary(tonic::Request::new(p.req), path, RefCodec(p.bytes))
            .await
            .map(|_| ())
    }
}
