//! The gRPC side: `LogsService/Export`, a unary call served here rather than by tonic's
//! server, so that the source owns every step that costs memory or CPU: the body is read
//! frame by frame, each frame charged to the body budget before it is kept (body.rs) and the
//! whole by `requestTimeout`; a gzip message (`grpc-encoding: gzip`) is inflated off the async
//! workers, at most `maxRequestBytes` (inflate.rs); the message is decoded into
//! `borrowed.rs`'s types (each string and body a slice of it), after what that decode will
//! allocate was charged to the decode budget (scan.rs), and is [`Shared::export`].
//!
//! Answers: the response message with `grpc-status: 0`; `OUT_OF_RANGE` for a message over
//! `maxRequestBytes` (compressed or not, as tonic's limit answered), `RESOURCE_EXHAUSTED` for
//! one whose decode or events would cost more than `maxInflightBytes` (not retryable per the
//! OTLP spec without `RetryInfo`, rightly: no retry of it could fit), `UNAVAILABLE` (which OTLP
//! exporters retry with backoff) when a budget stayed taken or a channel did not take the
//! records, `INTERNAL` for a message that is not an `ExportLogsServiceRequest`,
//! `UNIMPLEMENTED` for another compression, and for any other gRPC path (the trace and metrics
//! services, another method) naming the one method this source serves. Responses are not
//! compressed.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use prost::Message;
use tonic::Status;

use super::body::{self, BodyError};
use super::export::{Refusal, Shared};
use super::inflate::InflateError;
use super::scan;
use crate::agent::otlp::borrowed::ExportLogsServiceRequest;
use crate::agent::otlp::proto::{ExportLogsServiceResponse, GRPC_LOGS_EXPORT};
use crate::agent::source::body_pace;
use crate::agent::source::http_serve::Answer;

/// Bytes of a gRPC message's prefix: a compressed flag and a 4-byte big-endian length.
const PREFIX_BYTES: usize = 5;

/// Answers one gRPC call of the logs service from `peer`; abandoned when its body failed (a
/// reset, or not whole by `requestTimeout`): it counts against the connection's
/// abandoned-call budget (`source/http_serve`).
pub(super) async fn call(
    sh: Arc<Shared>,
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
) -> Answer<tonic::body::Body> {
    if req.uri().path() != GRPC_LOGS_EXPORT {
        return Answer::answered(unimplemented(req.uri().path()));
    }
    let gzip = match gzip(req.headers()) {
        Ok(g) => g,
        Err(s) => return Answer::answered(s.into_http()),
    };
    let deadline = tokio::time::Instant::now() + sh.cfg.request_timeout;
    let max = sh.cfg.max_request_bytes;
    let mut charged = sh.bodies.charge_for(peer.ip());
    let pace = body_pace::receiving(&req);
    let body = req.into_body();
    let raw = match body::read(body, max + PREFIX_BYTES, (&mut charged, pace), deadline).await {
        Ok(b) => b,
        Err(e) => {
            return Answer {
                response: refused_body(&e, max).into_http(),
                abandoned: matches!(e, BodyError::TimedOut | BodyError::Failed(_)),
            }
        }
    };
    let response = match export(&sh, raw, gzip, deadline).await {
        Ok(r) => reply(&r),
        Err(s) => s.into_http(),
    };
    drop(charged);
    Answer::answered(response)
}

/// Whether the call's message is gzipped (`grpc-encoding`); another encoding is refused.
fn gzip(headers: &HeaderMap) -> Result<bool, Status> {
    match headers.get("grpc-encoding").map(HeaderValue::as_bytes) {
        None | Some(b"identity") => Ok(false),
        Some(b"gzip") => Ok(true),
        Some(other) => Err(Status::unimplemented(format!(
            "grpc-encoding {:?} is not supported; send gzip or identity",
            String::from_utf8_lossy(other)
        ))),
    }
}

/// The body's one message, inflated, decoded and exported: the response, or the status.
async fn export(
    sh: &Arc<Shared>,
    raw: Bytes,
    gzip: bool,
    deadline: tokio::time::Instant,
) -> Result<ExportLogsServiceResponse, Status> {
    let max = sh.cfg.max_request_bytes;
    let mut stop = sh.ctx.stop.clone();
    let message = match (message(raw, max)?, gzip) {
        (Framed::Plain(m), _) => m,
        (Framed::Compressed(_), false) => {
            return Err(Status::internal(
                "a compressed message without grpc-encoding",
            ))
        }
        (Framed::Compressed(m), true) => match sh.inflaters.gunzip(m, max, &mut stop).await {
            Ok(m) => m,
            Err(InflateError::Stopped) => {
                return Err(Status::unavailable("the source is stopping"))
            }
            Err(e @ InflateError::TooLarge(_)) => {
                return Err(Status::out_of_range(format!("message too large: {e}")))
            }
            Err(e) => return Err(Status::internal(e.to_string())),
        },
    };
    let size = message.len();
    let refused = |e: Refusal| match e {
        Refusal::Busy(why) => Status::unavailable(why),
        Refusal::TooLarge(why) => Status::resource_exhausted(why),
    };
    let (message, cost) = match sh
        .decoders
        .run(size, &mut stop, move || {
            let cost = scan::decoded_bytes(&message);
            (message, cost)
        })
        .await
    {
        None => return Err(Status::unavailable("the source is stopping")),
        Some((_, Err(e))) => return Err(not_a_request(e)),
        Some((m, Ok(cost))) => (m, cost),
    };
    let held = sh
        .charge_decode(cost, size, "protobuf", deadline.into_std())
        .await
        .map_err(refused)?;
    let decoded = sh
        .decoders
        .run(size, &mut stop, move || {
            ExportLogsServiceRequest::decode(message)
        })
        .await;
    let request = match decoded {
        None => return Err(Status::unavailable("the source is stopping")),
        Some(Err(e)) => return Err(not_a_request(e)),
        Some(Ok(r)) => r,
    };
    sh.export(request, size, held, deadline.into_std())
        .await
        .map_err(refused)
}

/// As tonic's prost codec answers a message that does not decode.
fn not_a_request(e: impl std::fmt::Display) -> Status {
    Status::internal(format!("not an ExportLogsServiceRequest in protobuf: {e}"))
}

/// The status for a body that was not received.
fn refused_body(e: &BodyError, max: usize) -> Status {
    match e {
        BodyError::TooLarge(_) => Status::out_of_range(format!(
            "message too large: more than maxRequestBytes ({max} bytes)"
        )),
        BodyError::Busy | BodyError::PeerShare(_) => Status::unavailable(e.to_string()),
        BodyError::TimedOut => Status::deadline_exceeded(e.to_string()),
        BodyError::Failed(_) => Status::cancelled(e.to_string()),
    }
}

/// A unary call's one message, by its compressed flag.
enum Framed {
    Plain(Bytes),
    Compressed(Bytes),
}

/// The one message of a unary call's body.
fn message(mut raw: Bytes, max: usize) -> Result<Framed, Status> {
    if raw.len() < PREFIX_BYTES {
        return Err(Status::internal("the request has no whole gRPC message"));
    }
    let prefix = raw.split_to(PREFIX_BYTES);
    let len = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize;
    if len > max {
        return Err(Status::out_of_range(format!(
            "message too large: {len} bytes, more than maxRequestBytes ({max} bytes)"
        )));
    }
    if raw.len() != len {
        return Err(Status::internal(format!(
            "a unary call's body must be one message of {len} bytes; it has {} bytes after the prefix",
            raw.len()
        )));
    }
    match prefix[0] {
        0 => Ok(Framed::Plain(raw)),
        1 => Ok(Framed::Compressed(raw)),
        f => Err(Status::internal(format!("invalid compressed flag {f}"))),
    }
}

/// The `OK` answer carrying `resp`.
fn reply(resp: &ExportLogsServiceResponse) -> hyper::Response<tonic::body::Body> {
    let len = resp.encoded_len();
    let mut data = BytesMut::with_capacity(PREFIX_BYTES + len);
    data.put_u8(0);
    data.put_u32(len as u32);
    // Encoding into a buffer with room for the message cannot fail.
    let _ = resp.encode(&mut data);
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    let mut r = hyper::Response::new(tonic::body::Body::new(Unary {
        data: Some(data.freeze()),
        trailers: Some(trailers),
    }));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    r.headers_mut().insert(
        "grpc-accept-encoding",
        HeaderValue::from_static("gzip,identity"),
    );
    r
}

/// A unary answer's body: the message, then the trailers.
struct Unary {
    data: Option<Bytes>,
    trailers: Option<HeaderMap>,
}

impl Body for Unary {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(d) = self.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(d))));
        }
        Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && self.trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
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
