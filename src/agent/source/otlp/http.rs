//! The HTTP side: `POST /v1/logs` with a protobuf (`application/x-protobuf`) or JSON
//! (`application/json`, OTLP's JSON mapping through `opentelemetry-proto`'s serde) body,
//! plain or gzip (`Content-Encoding`, inflated off the async workers: inflate.rs), bounded by
//! `maxRequestBytes` before and after decompression and by `requestTimeout`, its bytes
//! charged to the body budget as they are read (body.rs) and what its decode will allocate
//! to the decode budget before it is decoded (scan.rs, json.rs). The answer is the
//! `ExportLogsServiceResponse` in the request's encoding (200) once the channel committed;
//! 503 with `Retry-After` when it did not, or a budget stayed taken; 400 for a body that does
//! not decode; 413 for a body over `maxRequestBytes` or whose decode or events would cost more than
//! `maxInflightBytes` (export.rs; not retryable per the OTLP spec, rightly: no retry of it
//! could fit); 404 for the traces and metrics paths (and any other), 405
//! and 415 with a line saying what is accepted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use prost::Message;

use super::body::{self, BodyError};
use super::export::{Refusal, Shared};
use super::inflate::InflateError;
use crate::agent::otlp::borrowed::{from_owned, ExportLogsServiceRequest};
use crate::agent::otlp::proto::{CONTENT_JSON, CONTENT_PROTOBUF, HTTP_LOGS_PATH, HTTP_OTHER_PATHS};
use crate::agent::source::body_pace;

/// Seconds a client is told to wait after a 503.
pub const RETRY_AFTER_S: u32 = 2;

/// The body type both sides answer with.
pub(super) type Body = tonic::body::Body;

/// A request body's encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

/// Answers one HTTP request.
pub(super) async fn answer(
    req: Request<Incoming>,
    peer: SocketAddr,
    sh: Arc<Shared>,
) -> Response<Body> {
    let (encoding, gzip) = match accepted(&req) {
        Ok(x) => x,
        Err(refused) => return *refused,
    };
    let deadline = Instant::now() + sh.cfg.request_timeout;
    let max = sh.cfg.max_request_bytes;
    let mut charged = sh.bodies.charge_for(peer.ip());
    let pace = body_pace::receiving(&req);
    let read = body::read(req.into_body(), max, (&mut charged, pace), deadline.into());
    let body = match read.await {
        Ok(b) => b,
        Err(e) => return refused_body(&e),
    };
    let answer = export(&sh, body, encoding, gzip, deadline).await;
    drop(charged);
    answer
}

/// The request's encoding and whether it is gzipped, or the answer refusing its path,
/// method, content type or content encoding.
fn accepted(req: &Request<Incoming>) -> Result<(Encoding, bool), Box<Response<Body>>> {
    let path = req.uri().path();
    if path != HTTP_LOGS_PATH {
        let what = if HTTP_OTHER_PATHS.contains(&path) {
            "this Sluice otlp source takes logs only"
        } else {
            "not found"
        };
        return Err(Box::new(text(
            StatusCode::NOT_FOUND,
            format!("{what}: POST OTLP logs to {HTTP_LOGS_PATH}\n"),
        )));
    }
    if req.method() != Method::POST {
        return Err(Box::new(text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("method {} not allowed; POST OTLP logs\n", req.method()),
        )));
    }
    let encoding = match header(req, CONTENT_TYPE).as_deref().map(media_type) {
        Some(t) if t == CONTENT_PROTOBUF => Encoding::Protobuf,
        Some(t) if t == CONTENT_JSON => Encoding::Json,
        other => {
            return Err(Box::new(text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "content type {:?} not supported; send {CONTENT_PROTOBUF} or {CONTENT_JSON}\n",
                    other.unwrap_or_default()
                ),
            )))
        }
    };
    let gzip = match header(req, CONTENT_ENCODING).as_deref().map(str::trim) {
        None | Some("identity") | Some("") => false,
        Some(g) if g.eq_ignore_ascii_case("gzip") => true,
        Some(other) => {
            return Err(Box::new(text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("content encoding {other:?} not supported; send gzip or none\n"),
            )))
        }
    };
    Ok((encoding, gzip))
}

/// The body gunzipped, decoded and exported: the answer.
async fn export(
    sh: &Arc<Shared>,
    body: Bytes,
    encoding: Encoding,
    gzip: bool,
    deadline: Instant,
) -> Response<Body> {
    let max = sh.cfg.max_request_bytes;
    let mut stop = sh.ctx.stop.clone();
    let body = if gzip {
        match sh.inflaters.gunzip(body, max, &mut stop).await {
            Ok(b) => b,
            Err(InflateError::Stopped) => return busy("the source is stopping"),
            Err(e @ InflateError::TooLarge(_)) => {
                return text(StatusCode::PAYLOAD_TOO_LARGE, format!("{e}\n"))
            }
            Err(e) => return text(StatusCode::BAD_REQUEST, format!("{e}\n")),
        }
    } else {
        body
    };
    let scanned = sh
        .decoders
        .run(body.len(), &mut stop, move || {
            let s = scan(&body, encoding);
            (body, s)
        })
        .await;
    let (body, scanned) = match scanned {
        None => return busy("the source is stopping"),
        Some((_, Err((status, why)))) => return text(status, format!("{why}\n")),
        Some((b, Ok(s))) => (b, s),
    };
    let held = match sh
        .charge_decode(scanned.cost(), body.len(), encoding.name(), deadline)
        .await
    {
        Ok(h) => h,
        Err(r) => return refusal(r),
    };
    let decoded = sh
        .decoders
        .run(body.len(), &mut stop, move || decode(body, &scanned))
        .await;
    let (req, size) = match decoded {
        None => return busy("the source is stopping"),
        Some(Err((status, why))) => return text(status, format!("{why}\n")),
        Some(Ok(r)) => r,
    };
    match sh.export(req, size, held, deadline).await {
        Ok(resp) => encoded(encoding, &resp),
        Err(r) => refusal(r),
    }
}

/// The answer to a refused request: 503 to retry, 413 for one no retry could fit.
fn refusal(r: Refusal) -> Response<Body> {
    match r {
        Refusal::Busy(why) => busy(&why),
        Refusal::TooLarge(why) => text(StatusCode::PAYLOAD_TOO_LARGE, format!("{why}\n")),
    }
}

/// A body scanned for what its decode costs.
enum Scanned {
    Protobuf(u64),
    Json(super::json::Scan),
}

impl Scanned {
    fn cost(&self) -> u64 {
        match self {
            Scanned::Protobuf(c) => *c,
            Scanned::Json(s) => s.cost,
        }
    }
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Protobuf => "protobuf",
            Encoding::Json => "OTLP JSON",
        }
    }
}

/// What decoding `bytes` will cost, or the status and reason to refuse them.
fn scan(bytes: &[u8], encoding: Encoding) -> Result<Scanned, (StatusCode, String)> {
    let refused = |e: &dyn std::fmt::Display| {
        let what = encoding.name();
        (
            StatusCode::BAD_REQUEST,
            format!("the body is not an ExportLogsServiceRequest in {what}: {e}"),
        )
    };
    match encoding {
        Encoding::Protobuf => super::scan::decoded_bytes(bytes)
            .map(Scanned::Protobuf)
            .map_err(|e| refused(&e)),
        Encoding::Json => super::json::scan(bytes)
            .map(Scanned::Json)
            .map_err(|e| refused(&e)),
    }
}

/// The answer to a body that was not received.
fn refused_body(e: &BodyError) -> Response<Body> {
    match e {
        BodyError::TooLarge(_) => text(StatusCode::PAYLOAD_TOO_LARGE, format!("{e}\n")),
        BodyError::TimedOut => text(StatusCode::REQUEST_TIMEOUT, format!("{e}\n")),
        BodyError::Busy | BodyError::PeerShare(_) => busy(&e.to_string()),
        BodyError::Failed(_) => text(StatusCode::BAD_REQUEST, format!("{e}\n")),
    }
}

/// The request in `body` (already gunzipped and scanned) and its bytes, or the status and
/// reason to refuse it. A protobuf body is decoded into slices of itself; a JSON one through
/// `opentelemetry-proto`'s serde mapping, then re-encoded and decoded so.
fn decode(
    bytes: Bytes,
    scanned: &Scanned,
) -> Result<(ExportLogsServiceRequest, usize), (StatusCode, String)> {
    let size = bytes.len();
    let refused = |what: &str, e: &dyn std::fmt::Display| {
        (
            StatusCode::BAD_REQUEST,
            format!("the body is not an ExportLogsServiceRequest in {what}: {e}"),
        )
    };
    let req = match scanned {
        Scanned::Protobuf(_) => {
            ExportLogsServiceRequest::decode(bytes).map_err(|e| refused("protobuf", &e))?
        }
        Scanned::Json(s) => super::json::decode(&bytes, s)
            .map_err(|e| refused("OTLP JSON", &e))
            .and_then(|r| from_owned(&r).map_err(|e| refused("OTLP JSON", &e)))?,
    };
    Ok((req, size))
}

/// The response in the request's encoding.
fn encoded(
    encoding: Encoding,
    resp: &crate::agent::otlp::proto::ExportLogsServiceResponse,
) -> Response<Body> {
    let (bytes, ct) = match encoding {
        Encoding::Protobuf => (resp.encode_to_vec(), CONTENT_PROTOBUF),
        Encoding::Json => (
            serde_json::to_vec(resp).unwrap_or_else(|_| b"{}".to_vec()),
            CONTENT_JSON,
        ),
    };
    let mut r = Response::new(Body::new(Full::new(Bytes::from(bytes))));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    r
}

fn header(req: &Request<Incoming>, name: hyper::header::HeaderName) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// `application/json; charset=utf-8` -> `application/json`, lowercase.
fn media_type(ct: &str) -> String {
    ct.split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

pub(super) fn text(status: StatusCode, t: impl Into<String>) -> Response<Body> {
    let mut r = Response::new(Body::new(Full::new(Bytes::from(t.into()))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn busy(why: &str) -> Response<Body> {
    let mut r = text(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the source is busy: {why}\n"),
    );
    r.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_S));
    r
}
