//! `GET /tap?component=NAME&rate=N` on the monitoring server: streams the live tap
//! ([`crate::agent::tap`]) as JSON lines (chunked). Off unless `-Dflume.monitoring.tap` is
//! `loopback` or `any` (it shows log contents); `loopback` answers only loopback peers (an
//! IPv4-mapped `::ffff:127.0.0.1` too). A stream ends with the connection's life
//! ([`super::http::CONNECTION_TIME_MAX`]); `sluice tap` connects again until it has its
//! `--limit`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame};
use hyper::{Method, StatusCode};

use super::reload::Access;
use crate::agent::tap::{self, Tap, RATE_DEFAULT};

static ACCESS: OnceLock<Access> = OnceLock::new();

/// Sets who may tap (once per process; the default is [`Access::Off`]).
pub fn allow(access: Access) {
    let _ = ACCESS.set(access);
}

/// The body of a tap answer: one line per sampled event until the client goes away.
#[derive(Debug)]
pub(crate) struct TapBody(Tap);

impl Body for TapBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.lines.poll_recv(cx).map(|line| {
            line.map(|mut l| {
                l.push('\n');
                Ok(Frame::data(Bytes::from(l)))
            })
        })
    }
}

/// What `/tap` answers: a refusal (status, text) or a stream.
#[derive(Debug)]
pub(crate) enum TapAnswer {
    /// Not allowed, bad query, or too many taps.
    Refused(StatusCode, String),
    /// The stream.
    Stream(TapBody),
}

/// Answers `/tap` (`None` for another path).
pub(crate) fn answer(
    method: &Method,
    path: &str,
    query: Option<&str>,
    peer: SocketAddr,
) -> Option<TapAnswer> {
    if path != "/tap" {
        return None;
    }
    let refuse = |s, m: &str| Some(TapAnswer::Refused(s, format!("{m}\n")));
    if method != Method::GET {
        return refuse(StatusCode::METHOD_NOT_ALLOWED, "use GET /tap");
    }
    let allowed = match ACCESS.get().copied().unwrap_or(Access::Off) {
        Access::Off => {
            return refuse(
                StatusCode::NOT_FOUND,
                "the tap is off (-Dflume.monitoring.tap=loopback|any)",
            )
        }
        Access::Loopback => peer.ip().to_canonical().is_loopback(),
        Access::Any => true,
    };
    if !allowed {
        return refuse(
            StatusCode::FORBIDDEN,
            "the tap is for loopback peers only (-Dflume.monitoring.tap=any)",
        );
    }
    let mut component = None;
    let mut rate = RATE_DEFAULT;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("component", v)) if !v.is_empty() => component = Some(v.to_owned()),
            Some(("rate", v)) => match v.parse::<u32>() {
                Ok(r) if (1..=tap::RATE_MAX).contains(&r) => rate = r,
                _ => {
                    return refuse(
                        StatusCode::BAD_REQUEST,
                        &format!("rate must be 1 to {}", tap::RATE_MAX),
                    )
                }
            },
            _ => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    &format!("unknown parameter {pair:?}; use component= and rate="),
                )
            }
        }
    }
    match tap::attach(component, rate) {
        Some(t) => Some(TapAnswer::Stream(TapBody(t))),
        None => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("{} taps are attached already", tap::TAPS_MAX),
        ),
    }
}
