//! One export over the wire and what its answer means for the batch: [`Outcome::Accepted`]
//! (the receiver's response, perhaps with `partial_success`), [`Outcome::Retry`] (a transport
//! failure, a timeout or a retryable status: the take rolls back and the runner backs off) or
//! [`Outcome::Refused`] (the receiver refuses the batch itself: gRPC `INVALID_ARGUMENT`, HTTP
//! 400; its events are poison) or [`Outcome::TooLarge`] (HTTP 413, gRPC `OUT_OF_RANGE` or a
//! `RESOURCE_EXHAUSTED` "larger than max": the batch is split, down to the one event, which is
//! then poison). gRPC runs on tonic's channel (it reconnects by itself),
//! HTTP/protobuf on hyper's pooled client, both connecting through [`Dialer`] (TCP and TLS,
//! bounded by `connectTimeout`); each export is bounded by `requestTimeout`, and an answer
//! body is read up to [`RESPONSE_BYTES_MAX`]. A failure's text is its whole cause chain
//! (tonic and hyper wrap the dialer's error, which names the endpoint and the certificate
//! problem).

use std::io::Write;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioExecutor;
use prost::Message;
use tonic::codec::CompressionEncoding;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint};
use tonic::Code;

use super::config::{OtlpSinkConfig, Protocol};
use super::dial::Dialer;
use crate::agent::otlp::proto::{ExportLogsServiceResponse, CONTENT_PROTOBUF, GRPC_LOGS_EXPORT};
use crate::agent::otlp::{ExportBatch, ExportCodec};

/// Most bytes of a receiver's answer read.
pub(crate) const RESPONSE_BYTES_MAX: usize = 1 << 20;

/// What an export's answer means.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The receiver took the request (its `partial_success` may reject some records).
    Accepted(ExportLogsServiceResponse),
    /// Send the batch again later.
    Retry(String),
    /// The receiver refuses the batch itself; why.
    Refused(String),
    /// The receiver refuses the request as too large; why.
    TooLarge(String),
}

type HttpClient = hyper_util::client::legacy::Client<Dialer, Full<Bytes>>;

/// A connection to the receiver.
#[derive(Debug)]
pub(crate) enum Client {
    /// gRPC (`LogsService/Export` through [`ExportCodec`]).
    Grpc(tonic::client::Grpc<Channel>),
    /// HTTP/protobuf.
    Http(HttpClient),
}

/// Why a [`Client`] cannot be made: the configuration cannot work.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    /// The TLS settings (truststore, keys) cannot be used.
    #[error(transparent)]
    Tls(#[from] crate::agent::rpc::transport::TransportError),
    /// The endpoint is not a usable URI.
    #[error("endpoint {endpoint:?}: {source}")]
    Endpoint {
        endpoint: String,
        #[source]
        source: tonic::transport::Error,
    },
}

impl Client {
    /// A client for `cfg` (gRPC connects lazily, on the first export).
    pub(crate) fn new(cfg: &OtlpSinkConfig) -> Result<Client, ClientError> {
        let dialer = Dialer::new(cfg)?;
        match cfg.protocol {
            Protocol::Grpc => {
                let ep = Endpoint::from_shared(cfg.endpoint.clone())
                    .map_err(|source| ClientError::Endpoint {
                        endpoint: cfg.endpoint.clone(),
                        source,
                    })?
                    .timeout(cfg.request_timeout);
                let mut c = tonic::client::Grpc::new(ep.connect_with_connector_lazy(dialer))
                    .max_decoding_message_size(RESPONSE_BYTES_MAX)
                    .accept_compressed(CompressionEncoding::Gzip);
                if cfg.gzip {
                    c = c.send_compressed(CompressionEncoding::Gzip);
                }
                Ok(Client::Grpc(c))
            }
            Protocol::Http => Ok(Client::Http(
                hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(dialer),
            )),
        }
    }

    /// Sends `batch`'s request. Cancel safety: cancelling may leave the request delivered
    /// (the batch is then sent again: at least once).
    pub(crate) async fn export(
        &mut self,
        batch: &Arc<ExportBatch>,
        cfg: &OtlpSinkConfig,
    ) -> Outcome {
        let exchange = async {
            match self {
                Client::Grpc(c) => match grpc_export(c, batch).await {
                    Ok(r) => Outcome::Accepted(r),
                    Err(s) => grpc_failure(&s, &cfg.endpoint),
                },
                Client::Http(c) => http_export(c, batch, cfg).await,
            }
        };
        match tokio::time::timeout(cfg.request_timeout, exchange).await {
            Ok(o) => o,
            Err(_) => Outcome::Retry(format!(
                "no answer from {} within requestTimeout ({} ms)",
                cfg.endpoint,
                cfg.request_timeout.as_millis()
            )),
        }
    }
}

/// One `Export` call.
async fn grpc_export(
    c: &mut tonic::client::Grpc<Channel>,
    batch: &Arc<ExportBatch>,
) -> Result<ExportLogsServiceResponse, tonic::Status> {
    c.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(format!("connection not ready: {e}")))?;
    let path = PathAndQuery::from_static(GRPC_LOGS_EXPORT);
    let codec = ExportCodec::for_batch(batch);
    c.unary(tonic::Request::new(batch.clone()), path, codec)
        .await
        .map(tonic::Response::into_inner)
}

/// A gRPC status as an outcome: `INVALID_ARGUMENT` refuses the batch; every other status is
/// retried (OTLP's retryable codes, and the rest too: an `UNIMPLEMENTED` or
/// `UNAUTHENTICATED` receiver is a configuration to fix, not records to throw away).
fn grpc_failure(s: &tonic::Status, endpoint: &str) -> Outcome {
    let text = format!("{:?}: {}", s.code(), causes(s, s.message()));
    // grpc-go says "received message larger than max"; tonic answers OUT_OF_RANGE "decoded
    // message length too large". RESOURCE_EXHAUSTED is otherwise OTLP's throttling: retried.
    let too_large = s.code() == Code::OutOfRange
        || (s.code() == Code::ResourceExhausted && s.message().contains("larger than max"));
    if s.code() == Code::InvalidArgument {
        Outcome::Refused(format!("the receiver refused the batch ({text})"))
    } else if too_large {
        Outcome::TooLarge(format!(
            "the receiver refused the request as too large ({text})"
        ))
    } else {
        Outcome::Retry(format!("export to {endpoint} failed ({text})"))
    }
}

/// `first` and the text of every cause of `e` it does not already hold, `: `-joined and
/// escaped for a log line.
fn causes(e: &(dyn std::error::Error + 'static), first: &str) -> String {
    let mut text = first.to_owned();
    let mut next = e.source();
    while let Some(cause) = next {
        let t = cause.to_string();
        if !text.contains(&t) {
            text = format!("{text}: {t}");
        }
        next = cause.source();
    }
    crate::agent::log_text::escape(&text).into_owned()
}

async fn http_export(c: &HttpClient, batch: &ExportBatch, cfg: &OtlpSinkConfig) -> Outcome {
    let mut buf = BytesMut::with_capacity(batch.encoded_len());
    batch.encode(&mut buf);
    let mut body = buf.freeze();
    let mut builder =
        hyper::Request::post(&cfg.endpoint).header(hyper::header::CONTENT_TYPE, CONTENT_PROTOBUF);
    if cfg.gzip {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        if gz.write_all(&body).is_ok() {
            if let Ok(b) = gz.finish() {
                body = Bytes::from(b);
                builder = builder.header(hyper::header::CONTENT_ENCODING, "gzip");
            }
        }
    }
    let request = match builder.body(Full::new(body)) {
        Ok(r) => r,
        Err(e) => {
            return Outcome::Refused(format!("cannot build a request for {}: {e}", cfg.endpoint))
        }
    };
    let resp = match c.request(request).await {
        Ok(r) => r,
        Err(e) => {
            return Outcome::Retry(format!(
                "POST {}: {}",
                cfg.endpoint,
                causes(&e, &e.to_string())
            ))
        }
    };
    let status = resp.status().as_u16();
    let bytes = match Limited::new(resp.into_body(), RESPONSE_BYTES_MAX)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(e) => return Outcome::Retry(format!("reading the answer of {}: {e}", cfg.endpoint)),
    };
    let text = || crate::agent::log_text::escape(&String::from_utf8_lossy(&bytes)).into_owned();
    match status {
        200..=299 => match ExportLogsServiceResponse::decode(bytes.as_ref()) {
            Ok(r) => Outcome::Accepted(r),
            Err(_) if bytes.is_empty() => Outcome::Accepted(ExportLogsServiceResponse::default()),
            Err(e) => Outcome::Retry(format!(
                "{} answered {status} with an undecodable body: {e}",
                cfg.endpoint
            )),
        },
        400 => Outcome::Refused(format!("{} answered {status}: {}", cfg.endpoint, text())),
        413 => Outcome::TooLarge(format!("{} answered {status}: {}", cfg.endpoint, text())),
        _ => Outcome::Retry(format!("{} answered {status}: {}", cfg.endpoint, text())),
    }
}
