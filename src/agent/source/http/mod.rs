//! The `http` source (Flume's `HTTPSource`) on hyper's HTTP/1 server: a POST's body goes
//! through the handler (handler.rs, `wire::json`; request.rs reads, decodes and commits it) and
//! its events are put in **one transaction**; the answer is 200 only after every required
//! channel committed them, 400 with the reason for a body the handler refuses, 413 for a
//! body over `maxBodyBytes` or a JSON body over `maxEventsPerRequest` or whose events would
//! take more than half of `maxInflightBytes`, 503 when a channel did not accept the batch or
//! the source's in-flight budget stayed taken (the client should resend), 408 when the body
//! does not arrive within `requestTimeout`. Connections are kept alive; at most `maxConnections` are open
//! (more are closed at once, counted as `ConnectionRefusedCount`, with one warning at most
//! every 10 s), and `headerReadTimeout` bounds both reading a request's headers and an idle
//! keep-alive connection. Listening, the connection limit, TLS (`ssl = true`: a PEM or PKCS12
//! keystore, the handshake within 10 s) and the stop are the serving path's
//! (`source/http_serve`), shared with the otlp source; this source answers the requests.
//!
//! Delivery: at-least-once for clients that resend on anything but 200 (a 200 is sent only
//! after the commit; a crash before it loses nothing the client was told was accepted).

pub(crate) mod config;
pub(crate) mod handler;
mod request;

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::Request;

use super::http_serve::{self, Answer, HttpService, Serve, Version};
use super::{SourceCtx, SourceError};
pub(crate) use config::HttpConfig;

/// Listens until stopped (on the one HTTP serving path, `source/http_serve`); open
/// connections finish the request they are serving.
pub(crate) async fn run(cfg: HttpConfig, ctx: SourceCtx) -> Result<(), SourceError> {
    let serve = Serve {
        what: "http source",
        bind: cfg.bind.clone(),
        port: cfg.port,
        tls: cfg.tls.clone(),
        alpn: &[],
        ip_filter_rules: None,
        max_connections: cfg.max_connections,
        max_connections_per_peer: usize::MAX,
        request_timeout: cfg.request_timeout,
        version: Version::Http1 {
            header_read_timeout: cfg.header_read_timeout,
            buf_bytes_max: None,
        },
    };
    let source = Arc::new(HttpSource {
        shared: Arc::new(request::Shared::new(cfg)),
        ctx: ctx.clone(),
    });
    http_serve::serve(serve, source, &ctx).await
}

/// The http source on the serving path.
struct HttpSource {
    shared: Arc<request::Shared>,
    ctx: SourceCtx,
}

impl HttpService for HttpSource {
    type Body = Full<Bytes>;

    async fn answer(
        self: Arc<Self>,
        req: Request<Incoming>,
        _peer: SocketAddr,
    ) -> Answer<Self::Body> {
        Answer::answered(request::answer(req, &self.shared, &self.ctx).await)
    }

    fn cut(&self, _peer: SocketAddr, _answered: u64, _abandoned: u64) {
        // HTTP/1 serves one request at a time: no call is abandoned behind an answered one.
    }
}

impl crate::agent::source::BuildSource for HttpConfig {
    fn listens(&self) -> bool {
        true
    }

    fn batch_size(&self) -> usize {
        // One request is one transaction of whatever size the client sent.
        1
    }

    fn run(&self, ctx: crate::agent::source::SourceCtx) -> crate::agent::source::SourceTask {
        Box::pin(run(self.clone(), ctx))
    }
}
