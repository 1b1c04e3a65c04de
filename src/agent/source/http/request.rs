//! One request of the `http` source: read the body (bounded in size and time, its bytes
//! reserved from the source's body budget before it is read), decode it (large bodies off the
//! async workers, the events counted against the decoded budget before they are kept), commit
//! it, answer. Both budgets are halves of `maxInflightBytes`, so all requests in flight
//! together hold at most that much, however many arrive at once.

use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body as _, Bytes, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use tokio::time::Instant;

use super::config::{HttpConfig, HttpHandler};
use super::handler;
use crate::agent::metrics::SourceCounter;
use crate::agent::source::body_pace::{self, Receiving};
use crate::agent::source::budget::{self, Budget, Held};
use crate::agent::source::decoders::Decoders;
use crate::agent::source::SourceCtx;
use crate::wire::cost::{EVENT_COST_BYTES, HEADER_COST_BYTES};
use crate::wire::json::{json_cost, json_events_counted, JsonError};
use sluice_core::Event;

/// The first guess of a JSON body's decoded bytes: this many times the body, plus
/// [`GUESS_EXTRA_BYTES`].
const GUESS_FACTOR: u64 = 2;
/// See [`GUESS_FACTOR`].
const GUESS_EXTRA_BYTES: u64 = 64 << 10;

/// What the requests of one source share.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) cfg: HttpConfig,
    /// Bytes of bodies being received: half of `maxInflightBytes`.
    pub(super) bodies: Budget,
    /// Bytes decoded events are counted for until their put returns: the other half.
    pub(super) decoded: Budget,
    pub(super) decoders: Decoders,
}

impl Shared {
    pub(super) fn new(cfg: HttpConfig) -> Self {
        Shared {
            bodies: Budget::new(cfg.max_inflight_bytes / 2),
            decoded: Budget::new(cfg.max_inflight_bytes / 2),
            decoders: Decoders::default(),
            cfg,
        }
    }
}

fn reply(status: StatusCode, text: impl Into<String>) -> Response<Full<Bytes>> {
    let text: String = text.into();
    let mut resp = Response::new(Full::new(Bytes::from(text)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn busy(what: &str) -> Response<Full<Bytes>> {
    reply(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the source is busy: {what} (maxInflightBytes); retry later\n"),
    )
}

/// One request: read the body, decode it, commit it, answer.
pub(super) async fn answer(
    req: Request<Incoming>,
    sh: &Arc<Shared>,
    ctx: &SourceCtx,
) -> Response<Full<Bytes>> {
    let cfg = &sh.cfg;
    if req.method() != Method::POST && req.method() != Method::GET {
        let mut r = reply(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("method {} not allowed; POST events\n", req.method()),
        );
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cfg.max_body_bytes as u64) {
        return too_large(cfg, ctx);
    }
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let query = req.uri().query().map(str::to_owned);
    let deadline = Instant::now() + cfg.request_timeout;
    // The body's bytes are reserved before it is read: its length when the request gives it
    // (`Content-Length`, or none at all), else all of maxBodyBytes (chunked).
    let known = req
        .body()
        .size_hint()
        .exact()
        .map(|n| n.min(cfg.max_body_bytes as u64));
    let reserve = known.unwrap_or(cfg.max_body_bytes as u64);
    let Ok(Some(mut body_held)) =
        tokio::time::timeout_at(deadline, sh.bodies.acquire(reserve)).await
    else {
        return busy("request bodies being received hold the body budget");
    };
    // Counted in the connection's pace from here: the wait for the budget is the source's.
    let pace = body_pace::receiving(&req);
    let bytes = match read_body(req.into_body(), cfg, (known, pace), deadline).await {
        Ok(b) => b,
        Err(Some(resp)) => return resp,
        Err(None) => return too_large(cfg, ctx),
    };
    budget::shrink_to(&mut body_held, bytes.len() as u64);
    let decoded = decode(bytes, content_type, query, sh, ctx, deadline).await;
    drop(body_held);
    match decoded {
        Ok((events, held)) => commit(events, held, ctx).await,
        Err(resp) => resp,
    }
}

/// The body's events by the source's handler, with their share of the decoded budget held;
/// `Err`: the answer to a body that cannot be decoded now (stopping, busy, bad JSON).
async fn decode(
    bytes: Bytes,
    content_type: Option<String>,
    query: Option<String>,
    sh: &Arc<Shared>,
    ctx: &SourceCtx,
    deadline: Instant,
) -> Result<(Vec<Event>, Held), Response<Full<Bytes>>> {
    let mut stop = ctx.stop.clone();
    match &sh.cfg.handler {
        HttpHandler::Json => match json(bytes, content_type, sh, deadline, &mut stop).await {
            Ok(x) => Ok(x),
            Err(Refused::Stopped) => Err(reply(
                StatusCode::SERVICE_UNAVAILABLE,
                "the source is stopping\n",
            )),
            Err(Refused::Busy) => Err(busy(
                "decoded events of other requests hold the decoded budget",
            )),
            Err(Refused::Json(e)) => {
                ctx.counters.add(SourceCounter::EventReadFail, 1);
                tracing::warn!(source = %ctx.name, reason = %e, "bad request");
                let status = match e {
                    JsonError::Bad(_) => StatusCode::BAD_REQUEST,
                    _ => StatusCode::PAYLOAD_TOO_LARGE,
                };
                Err(reply(status, format!("Bad request from client. {e}\n")))
            }
        },
        HttpHandler::Blob { max_blob_length } => {
            let n = bytes.len().min(*max_blob_length) as u64;
            let q = query.as_deref().unwrap_or_default();
            let params = q.split('&').filter(|p| !p.is_empty()).count() as u64;
            let cost = EVENT_COST_BYTES + n + params * HEADER_COST_BYTES + 2 * q.len() as u64;
            let Ok(Some(held)) = tokio::time::timeout_at(deadline, sh.decoded.acquire(cost)).await
            else {
                return Err(busy(
                    "decoded events of other requests hold the decoded budget",
                ));
            };
            let e = handler::blob_event(&bytes, query.as_deref(), *max_blob_length);
            Ok((vec![e], held))
        }
    }
}

/// Commits the request's events into the channels (none: nothing to commit) and answers:
/// 200 once committed, 503 when a channel refused them. `held` (their decoded budget) is
/// released only after the commit.
async fn commit(events: Vec<Event>, held: Held, ctx: &SourceCtx) -> Response<Full<Bytes>> {
    let n = events.len() as u64;
    ctx.counters.add(SourceCounter::AppendBatchReceived, 1);
    ctx.counters.add(SourceCounter::EventReceived, n);
    if n > 0 {
        crate::agent::tap::offer(crate::agent::tap::Point::Source, &ctx.name, &events);
        if let Err(e) = ctx.router.process(events).await {
            ctx.counters.add(SourceCounter::ChannelWriteFail, 1);
            tracing::warn!(source = %ctx.name, error = %e, "batch not accepted; answering 503");
            return reply(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("Error appending event to channel. Channel might be full. {e}\n"),
            );
        }
    }
    drop(held);
    ctx.counters.add(SourceCounter::AppendBatchAccepted, 1);
    ctx.counters.add(SourceCounter::EventAccepted, n);
    reply(StatusCode::OK, "")
}

/// The body, read into one buffer of its declared size (no second copy), its bytes counted
/// in the connection's `pace` as they arrive (a trickling body is closed first at
/// `maxConnections`: `source/body_pace.rs`). `Err(None)`: over `maxBodyBytes`;
/// `Err(Some(answer))`: another failure.
async fn read_body(
    body: Incoming,
    cfg: &HttpConfig,
    (declared, pace): (Option<u64>, Option<Receiving>),
    deadline: Instant,
) -> Result<Bytes, Option<Response<Full<Bytes>>>> {
    let mut body = Limited::new(body, cfg.max_body_bytes);
    let mut buf = Vec::with_capacity(declared.unwrap_or(0) as usize);
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => {
                return Err(Some(reply(
                    StatusCode::REQUEST_TIMEOUT,
                    "request body not received in time\n",
                )))
            }
            Ok(None) => return Ok(Bytes::from(buf)),
            Ok(Some(f)) => f,
        };
        match frame {
            Ok(f) => {
                if let Ok(data) = f.into_data() {
                    if let Some(p) = &pace {
                        p.arrived(data.len());
                    }
                    buf.extend_from_slice(&data);
                }
            }
            Err(e) => {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    return Err(None);
                }
                return Err(Some(reply(
                    StatusCode::BAD_REQUEST,
                    format!("cannot read request body: {e}\n"),
                )));
            }
        }
    }
}

/// Why a JSON body's events are not put.
enum Refused {
    Json(JsonError),
    Busy,
    Stopped,
}

/// The events of a JSON body and the decoded budget they hold: decoded at once if a guess of
/// their size is free and enough, else counted first and waited for (within the request's
/// deadline).
async fn json(
    bytes: Bytes,
    content_type: Option<String>,
    sh: &Arc<Shared>,
    deadline: Instant,
    stop: &mut crate::agent::stop::Stop,
) -> Result<(Vec<Event>, Held), Refused> {
    let size = bytes.len();
    let events_max = sh.cfg.max_events_per_request;
    let total = sh.decoded.total();
    let first = sh
        .decoders
        .run(size, stop, {
            let (sh, bytes, ct) = (sh.clone(), bytes.clone(), content_type.clone());
            move || {
                let guess = (bytes.len() as u64)
                    .saturating_mul(GUESS_FACTOR)
                    .saturating_add(GUESS_EXTRA_BYTES)
                    .min(total);
                if let Some(mut held) = sh.decoded.try_acquire(guess) {
                    match json_events_counted(&bytes, ct.as_deref(), events_max, guess) {
                        Ok((events, cost)) => {
                            budget::shrink_to(&mut held, cost);
                            return Ok(Ok((events, held)));
                        }
                        Err(JsonError::OverBudget { .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
                json_cost(&bytes, ct.as_deref(), events_max).map(Err)
            }
        })
        .await
        .ok_or(Refused::Stopped)?;
    let cost = match first.map_err(Refused::Json)? {
        Ok(done) => return Ok(done),
        Err(cost) => cost,
    };
    if cost > total {
        return Err(Refused::Json(JsonError::OverBudget { max: total }));
    }
    let held = match tokio::time::timeout_at(deadline, sh.decoded.acquire(cost)).await {
        Ok(Some(h)) => h,
        _ => return Err(Refused::Busy),
    };
    let decoded = sh
        .decoders
        .run(size, stop, move || {
            json_events_counted(&bytes, content_type.as_deref(), events_max, cost)
        })
        .await
        .ok_or(Refused::Stopped)?;
    let (events, _) = decoded.map_err(Refused::Json)?;
    Ok((events, held))
}

fn too_large(cfg: &HttpConfig, ctx: &SourceCtx) -> Response<Full<Bytes>> {
    ctx.counters.add(SourceCounter::EventReadFail, 1);
    reply(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "request body exceeds maxBodyBytes ({} bytes)\n",
            cfg.max_body_bytes
        ),
    )
}
