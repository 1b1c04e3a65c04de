//! The gRPC side: `LogsService/Export` served by tonic's unary server with the source's own
//! codec (codec.rs: the request decoded into `borrowed.rs`'s types, not `opentelemetry-proto`'s
//! owned ones), gzip accepted, messages over `maxRequestBytes` refused with `OUT_OF_RANGE` by
//! tonic; the call is [`Shared::export`], and a full channel answers `UNAVAILABLE`, which OTLP
//! exporters retry with backoff. Any other gRPC path (the trace and metrics services, another
//! method) answers `UNIMPLEMENTED` naming the one method this source serves.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use tonic::codec::CompressionEncoding;
use tonic::server::{Grpc, UnaryService};
use tonic::{Request, Response, Status};

use super::codec::{ExportCodec, Received};
use super::export::{Refusal, Shared};
use crate::agent::otlp::proto::{ExportLogsServiceResponse, GRPC_LOGS_EXPORT};

/// The `Export` method of one source.
#[derive(Debug)]
struct Export(Arc<Shared>);

/// What [`Export`]'s call returns.
type ExportFuture =
    Pin<Box<dyn Future<Output = Result<Response<ExportLogsServiceResponse>, Status>> + Send>>;

impl UnaryService<Received> for Export {
    type Response = ExportLogsServiceResponse;
    type Future = ExportFuture;

    fn call(&mut self, request: Request<Received>) -> ExportFuture {
        let shared = self.0.clone();
        Box::pin(async move {
            let deadline = Instant::now() + shared.cfg.request_timeout;
            let Received { request, bytes } = request.into_inner();
            match shared.export(request, bytes, deadline).await {
                Ok(r) => Ok(Response::new(r)),
                Err(Refusal::Busy(why)) => Err(Status::unavailable(why)),
            }
        })
    }
}

/// Answers one gRPC call of the logs service.
pub(super) async fn call<B>(
    shared: Arc<Shared>,
    req: hyper::Request<B>,
) -> hyper::Response<tonic::body::Body>
where
    B: hyper::body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    if req.uri().path() != GRPC_LOGS_EXPORT {
        return unimplemented(req.uri().path());
    }
    let mut grpc = Grpc::new(ExportCodec)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(shared.cfg.max_request_bytes);
    grpc.unary(Export(shared), req).await
}

/// The answer to a gRPC call of another service (traces, metrics, profiles) or method.
pub(super) fn unimplemented<B: Default>(path: &str) -> hyper::Response<B> {
    Status::unimplemented(format!(
        "{} is not served: this Sluice otlp source takes logs only \
         (opentelemetry.proto.collector.logs.v1.LogsService/Export)",
        crate::agent::log_text::escape(path)
    ))
    .into_http()
}
