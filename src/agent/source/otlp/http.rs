//! The HTTP side: `POST /v1/logs` with a protobuf (`application/x-protobuf`) or JSON
//! (`application/json`, OTLP's JSON mapping through `opentelemetry-proto`'s serde) body,
//! plain or gzip (`Content-Encoding`), bounded by `maxRequestBytes` before and after
//! decompression and by `requestTimeout`. The answer is the `ExportLogsServiceResponse` in
//! the request's encoding (200) once the channel committed; 503 with `Retry-After` when it
//! did not; 400 for a body that does not decode; 404 for the traces and metrics paths (and
//! any other), 405, 413 and 415 with a line saying what is accepted.

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use prost::Message;

use super::export::{Refusal, Shared};
use crate::agent::otlp::borrowed::{from_owned, ExportLogsServiceRequest};
use crate::agent::otlp::proto::{CONTENT_JSON, CONTENT_PROTOBUF, HTTP_LOGS_PATH, HTTP_OTHER_PATHS};

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
pub(super) async fn answer(req: Request<Incoming>, sh: Arc<Shared>) -> Response<Body> {
    let path = req.uri().path();
    if path != HTTP_LOGS_PATH {
        let what = if HTTP_OTHER_PATHS.contains(&path) {
            "this Sluice otlp source takes logs only"
        } else {
            "not found"
        };
        return text(
            StatusCode::NOT_FOUND,
            format!("{what}: POST OTLP logs to {HTTP_LOGS_PATH}\n"),
        );
    }
    if req.method() != Method::POST {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("method {} not allowed; POST OTLP logs\n", req.method()),
        );
    }
    let encoding = match header(&req, CONTENT_TYPE).as_deref().map(media_type) {
        Some(t) if t == CONTENT_PROTOBUF => Encoding::Protobuf,
        Some(t) if t == CONTENT_JSON => Encoding::Json,
        other => {
            return text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "content type {:?} not supported; send {CONTENT_PROTOBUF} or {CONTENT_JSON}\n",
                    other.unwrap_or_default()
                ),
            )
        }
    };
    let gzip = match header(&req, CONTENT_ENCODING).as_deref().map(str::trim) {
        None | Some("identity") | Some("") => false,
        Some(g) if g.eq_ignore_ascii_case("gzip") => true,
        Some(other) => {
            return text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("content encoding {other:?} not supported; send gzip or none\n"),
            )
        }
    };
    let deadline = Instant::now() + sh.cfg.request_timeout;
    let body = match read(req.into_body(), sh.cfg.max_request_bytes, deadline).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let max = sh.cfg.max_request_bytes;
    let mut stop = sh.ctx.stop.clone();
    let decoded = sh
        .decoders
        .run(body.len(), &mut stop, move || {
            decode(body, gzip, encoding, max)
        })
        .await;
    let (req, size) = match decoded {
        None => return busy("the source is stopping"),
        Some(Err((status, why))) => return text(status, format!("{why}\n")),
        Some(Ok(r)) => r,
    };
    match sh.export(req, size, deadline).await {
        Ok(resp) => encoded(encoding, &resp),
        Err(Refusal::Busy(why)) => busy(&why),
    }
}

/// The body, at most `max` bytes, by `deadline`.
async fn read(body: Incoming, max: usize, deadline: Instant) -> Result<Bytes, Response<Body>> {
    let collected = tokio::time::timeout_at(deadline.into(), Limited::new(body, max).collect());
    match collected.await {
        Err(_) => Err(text(
            StatusCode::REQUEST_TIMEOUT,
            "request body not received within requestTimeout\n",
        )),
        Ok(Ok(c)) => Ok(c.to_bytes()),
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(too_large(max))
        }
        Ok(Err(e)) => Err(text(
            StatusCode::BAD_REQUEST,
            format!("cannot read the request body: {e}\n"),
        )),
    }
}

/// The request in `body` (gunzipped first when `gzip`) and its bytes (decompressed), or the
/// status and reason to refuse it. A protobuf body is decoded into slices of itself; a JSON
/// one through `opentelemetry-proto`'s serde mapping, then re-encoded and decoded so.
fn decode(
    body: Bytes,
    gzip: bool,
    encoding: Encoding,
    max: usize,
) -> Result<(ExportLogsServiceRequest, usize), (StatusCode, String)> {
    let bytes = if gzip {
        Bytes::from(gunzip(&body, max)?)
    } else {
        body
    };
    let size = bytes.len();
    let refused = |what: &str, e: &dyn std::fmt::Display| {
        (
            StatusCode::BAD_REQUEST,
            format!("the body is not an ExportLogsServiceRequest in {what}: {e}"),
        )
    };
    let req = match encoding {
        Encoding::Protobuf => {
            ExportLogsServiceRequest::decode(bytes).map_err(|e| refused("protobuf", &e))?
        }
        Encoding::Json => super::json::decode(&bytes)
            .map_err(|e| refused("OTLP JSON", &e))
            .and_then(|r| from_owned(&r).map_err(|e| refused("OTLP JSON", &e)))?,
    };
    Ok((req, size))
}

/// `body` gunzipped, refused past `max` bytes.
fn gunzip(body: &[u8], max: usize) -> Result<Vec<u8>, (StatusCode, String)> {
    let mut out = Vec::new();
    let mut d = flate2::read::GzDecoder::new(body).take(max as u64 + 1);
    d.read_to_end(&mut out).map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            format!("the body is not valid gzip: {e}"),
        )
    })?;
    if out.len() > max {
        return Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body decompresses to more than maxRequestBytes ({max} bytes)"),
        ));
    }
    Ok(out)
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

fn too_large(max: usize) -> Response<Body> {
    text(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body exceeds maxRequestBytes ({max} bytes)\n"),
    )
}
