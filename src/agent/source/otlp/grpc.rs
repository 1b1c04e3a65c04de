//! The gRPC side: `opentelemetry-proto`'s generated `LogsService` server (tonic's codec,
//! gzip accepted, messages over `maxRequestBytes` refused with `OUT_OF_RANGE` by
//! tonic), whose `export` is [`Shared::export`]; a full channel answers `UNAVAILABLE`, which
//! OTLP exporters retry with backoff. Any other gRPC path (the trace and metrics services)
//! answers `UNIMPLEMENTED` naming the one service this source serves.

use std::sync::Arc;
use std::time::Instant;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use super::export::{Refusal, Shared};
use crate::agent::otlp::proto::{ExportLogsServiceRequest, ExportLogsServiceResponse};

/// The `LogsService` of one source.
#[derive(Debug)]
pub(super) struct Logs(pub(super) Arc<Shared>);

#[tonic::codegen::async_trait]
impl LogsService for Logs {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let deadline = Instant::now() + self.0.cfg.request_timeout;
        match self.0.export(request.into_inner(), deadline).await {
            Ok(r) => Ok(Response::new(r)),
            Err(Refusal::Busy(why)) => Err(Status::unavailable(why)),
        }
    }
}

/// The generated server for `shared`, with its limits.
pub(super) fn server(shared: Arc<Shared>) -> LogsServiceServer<Logs> {
    let max = shared.cfg.max_request_bytes;
    LogsServiceServer::new(Logs(shared))
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max)
}

/// The answer to a gRPC call of another service (traces, metrics, profiles).
pub(super) fn unimplemented<B: Default>(path: &str) -> hyper::Response<B> {
    Status::unimplemented(format!(
        "{} is not served: this Sluice otlp source takes logs only \
         (opentelemetry.proto.collector.logs.v1.LogsService/Export)",
        crate::agent::log_text::escape(path)
    ))
    .into_http()
}
