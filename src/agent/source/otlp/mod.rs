//! The `otlp` source: OpenTelemetry's logs service, over gRPC (`protocol = grpc`, HTTP/2,
//! default port 4317) or HTTP (`protocol = http`, `POST /v1/logs`, HTTP/1.1, default port
//! 4318), as the Collector's OTLP receiver has them; a source serves one of them, so a
//! Collector user who wants both configures two sources. Each `LogRecord` becomes an event
//! (`agent::otlp`'s mapping); a request's events are put in **one call** of the channel
//! processor and the answer is sent only after every required channel committed them
//! (export.rs): with the file channel, an OTLP `OK` means "on disk".
//!
//! config.rs reads the keys; grpc.rs serves `LogsService/Export` (its request decoded into
//! `agent::otlp::borrowed`'s types), http.rs the `/v1/logs` handler; both read bodies through
//! body.rs (charged to the body budget as read, half of it at most per peer address), gunzip
//! through inflate.rs (off the async workers, half the CPUs at most), charge what decoding
//! will allocate before decoding (scan.rs for protobuf, json.rs for JSON: a small body of
//! tiny repeated fields is large once decoded) and export through export.rs (the events'
//! cost charged before they are built). This file gives the serving
//! path shared with the http source (`source/http_serve`) its settings: connections (at most
//! `maxConnections`, and `maxConnectionsPerPeer` per peer address; `ipFilterRules`; TLS with
//! `ssl = true`, a PEM or PKCS12 keystore) served on hyper's HTTP/2 or HTTP/1 connection,
//! whose limits (64 streams per connection, 16 KiB of headers, and the reset budgets that end
//! a rapid-reset or refused-stream flood with `GOAWAY`: [`serving`]; the abandoned-call
//! budget that cuts a connection resetting the calls it opened; `idleTimeout` for a gRPC
//! connection without calls; the header and keep-alive time of an HTTP/1 one,
//! `requestTimeout`) bound what one peer can hold.
//!
//! Delivery: at-least-once for exporters that retry on `UNAVAILABLE` / 503 (all OTLP
//! exporters do, with backoff); records rejected through `partial_success` are never put.

mod body;
pub mod config;
mod export;
mod grpc;
mod http;
mod inflate;
mod json;
mod scan;

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::Request;

pub use super::http_serve::ABANDONED_CALLS_MAX;
use super::http_serve::{self, Answer, H2Limits, HttpService, Serve, Version};
use super::{SourceCtx, SourceError};
use crate::agent::otlp::proto::GRPC_LOGS_SERVICE;
pub use body::PEER_SHARE_DIVISOR;
pub use config::{OtlpSourceConfig, Protocol, STREAMS_PER_CONNECTION_MAX};
pub use http::RETRY_AFTER_S;
pub use inflate::inflaters_max;

/// Most bytes of request headers a peer may send (HTTP/1 and HTTP/2).
pub const HEADER_BYTES_MAX: u32 = 16 << 10;
/// HTTP/2 flow-control window of one gRPC stream: a 1 MiB export arrives without waiting
/// for a window update (hyper's default is 1 MiB; the client's batches are often larger).
pub const STREAM_WINDOW_BYTES: u32 = 4 << 20;
/// HTTP/2 flow-control window of one connection (all its streams).
pub const CONNECTION_WINDOW_BYTES: u32 = 16 << 20;
/// Largest HTTP/2 frame a peer may send: small next to an export, so a body is charged to the
/// body budget (body.rs) in steps of at most this much. (Under tonic's server, which copied
/// each frame into its message buffer, it also kept the copies down: docs/otlp.md#throughput.)
pub const FRAME_BYTES_MAX: u32 = 64 << 10;
/// Streams a peer may reset before the connection accepted them; one more and the connection
/// ends with `GOAWAY` (`ENHANCE_YOUR_CALM`): the HTTP/2 rapid-reset flood (CVE-2023-44487),
/// whose HEADERS + RST_STREAM pairs cost the server work but never count as open streams.
/// h2's own default, set here so it is ours and documented.
pub const RESETS_PENDING_ACCEPT_MAX: usize = 20;
/// Streams this side may reset for a peer's errors (malformed frames or headers) on one
/// connection; one more ends it with `GOAWAY` (the "made you reset" flood,
/// RUSTSEC-2024-0003 / CVE-2025-8671). hyper's default is 1024; an exporter makes none.
pub const LOCAL_ERROR_RESETS_MAX: usize = 64;

/// Listens until stopped (on the one HTTP serving path, `source/http_serve`); open
/// connections finish the request they are serving.
pub async fn run(cfg: OtlpSourceConfig, ctx: SourceCtx) -> Result<(), SourceError> {
    let serve = serving(&cfg);
    let shared = Arc::new(export::Shared::new(cfg, ctx.clone()));
    http_serve::serve(serve, shared, &ctx).await
}

/// How the source listens and serves: ALPN `h2` for gRPC (gRPC clients require it),
/// `http/1.1` for HTTP; the HTTP/2 limits of a gRPC connection (a flood of streams costs one
/// connection at most [`STREAMS_PER_CONNECTION_MAX`] open streams, more refused with
/// `REFUSED_STREAM`; [`RESETS_PENDING_ACCEPT_MAX`] resets before accept and
/// [`LOCAL_ERROR_RESETS_MAX`] error resets, past either `GOAWAY` and the close); an HTTP
/// connection's headers within `requestTimeout` and 4 × [`HEADER_BYTES_MAX`].
fn serving(cfg: &OtlpSourceConfig) -> Serve {
    let (alpn, version): (&'static [&'static [u8]], _) = match cfg.protocol {
        Protocol::Grpc => (
            &[b"h2"],
            Version::Http2 {
                limits: H2Limits {
                    streams_max: STREAMS_PER_CONNECTION_MAX,
                    resets_pending_accept_max: RESETS_PENDING_ACCEPT_MAX,
                    local_error_resets_max: LOCAL_ERROR_RESETS_MAX,
                    stream_window_bytes: STREAM_WINDOW_BYTES,
                    connection_window_bytes: CONNECTION_WINDOW_BYTES,
                    frame_bytes_max: FRAME_BYTES_MAX,
                    header_bytes_max: HEADER_BYTES_MAX,
                },
                idle_timeout: cfg.idle_timeout,
            },
        ),
        Protocol::Http => (
            &[b"http/1.1"],
            Version::Http1 {
                header_read_timeout: cfg.request_timeout,
                buf_bytes_max: Some(HEADER_BYTES_MAX as usize * 4),
            },
        ),
    };
    Serve {
        what: match cfg.protocol {
            Protocol::Grpc => "otlp source (gRPC)",
            Protocol::Http => "otlp source (HTTP)",
        },
        bind: cfg.bind.clone(),
        port: cfg.port,
        tls: cfg.tls.clone(),
        alpn,
        ip_filter_rules: cfg.ip_filter_rules.clone(),
        max_connections: cfg.max_connections,
        max_connections_per_peer: cfg.max_connections_per_peer,
        request_timeout: cfg.request_timeout,
        version,
    }
}

impl HttpService for export::Shared {
    type Body = tonic::body::Body;

    async fn answer(
        self: Arc<Self>,
        req: Request<Incoming>,
        peer: SocketAddr,
    ) -> Answer<Self::Body> {
        match self.cfg.protocol {
            Protocol::Http => Answer::answered(http::answer(req, peer, self).await),
            Protocol::Grpc if req.uri().path().starts_with(GRPC_LOGS_SERVICE) => {
                grpc::call(self, req, peer).await
            }
            Protocol::Grpc => Answer::answered(grpc::unimplemented(req.uri().path())),
        }
    }

    fn cut(&self, peer: SocketAddr, answered: u64, abandoned: u64) {
        export::Shared::cut(self, peer, (answered, abandoned));
    }
}

impl crate::agent::source::BuildSource for OtlpSourceConfig {
    fn listens(&self) -> bool {
        true
    }

    fn batch_size(&self) -> usize {
        // One request is one transaction of whatever size the exporter sent.
        1
    }

    fn run(&self, ctx: SourceCtx) -> crate::agent::source::SourceTask {
        Box::pin(run(self.clone(), ctx))
    }
}
