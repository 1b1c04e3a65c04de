//! The `http` source's keys (Flume's `HTTPSource`): `bind`, `port`, `handler` (JSONHandler or
//! BlobHandler with `handler.maxBlobLength`), the TLS keys, plus Sluice's limits
//! (`maxBodyBytes`, `maxEventsPerRequest`, `maxInflightBytes`, `maxConnections`, `headerReadTimeout`, `requestTimeout`). Jetty's own
//! prefixes (`QueuedThreadPool.*`, ...) are accepted and ignored.

use std::time::Duration;

use crate::agent::config::limits::{BATCH_SIZE_MAX, CONNECTIONS_MAX, DURATION_MS_MAX};
use crate::agent::config::Ctx;
use crate::agent::rpc::transport::settings::TlsServerSettings;

/// Default cap on open connections of an HTTP source (`maxConnections`).
pub(crate) const MAX_CONNECTIONS_DEFAULT: u64 = 1024;
/// Default `maxBodyBytes` of the HTTP source.
pub(crate) const HTTP_BODY_BYTES_DEFAULT: u64 = 16 << 20;
/// Largest `maxBodyBytes`.
pub(crate) const HTTP_BODY_BYTES_LIMIT: u64 = 1 << 30;
/// Default `maxEventsPerRequest` of the HTTP source (JSON handler).
pub(crate) const HTTP_EVENTS_PER_REQUEST_DEFAULT: u64 = 100_000;
/// Default `maxInflightBytes` of the HTTP source (128 MiB, raised to twice `maxBodyBytes`).
pub(crate) const HTTP_INFLIGHT_BYTES_DEFAULT: u64 = 128 << 20;
/// Default time for a client to send a request's headers (`headerReadTimeout`, ms); also how
/// long an idle keep-alive connection is kept.
pub(crate) const HTTP_HEADER_TIMEOUT_MS_DEFAULT: u64 = 30_000;
/// Default time for a client to send a request's body (`requestTimeout`, ms).
pub(crate) const HTTP_REQUEST_TIMEOUT_MS_DEFAULT: u64 = 30_000;
/// Flume's BlobHandler `maxBlobLength` default.
pub(crate) const BLOB_LENGTH_DEFAULT: u64 = 100_000_000;

/// The `http` source's handler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpHandler {
    /// `org.apache.flume.source.http.JSONHandler` (default).
    Json,
    /// `org.apache.flume.sink.solr.morphline.BlobHandler`: the body is one event, cut at
    /// `handler.maxBlobLength` bytes; query parameters become headers.
    Blob {
        /// `handler.maxBlobLength` (default 100000000).
        max_blob_length: usize,
    },
}

/// `http` source settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpConfig {
    /// `bind` (default 0.0.0.0).
    pub bind: String,
    /// `port`.
    pub port: u16,
    /// `handler`.
    pub handler: HttpHandler,
    /// `maxBodyBytes` (default 16 MiB): larger requests get 413.
    pub max_body_bytes: usize,
    /// `maxEventsPerRequest` (Sluice; default 100,000): a JSON body with more gets 413.
    pub max_events_per_request: usize,
    /// `maxInflightBytes` (Sluice; default 128 MiB, or twice `maxBodyBytes` if more): bodies
    /// being received may hold half of it, decoded events the other half.
    pub max_inflight_bytes: u64,
    /// `maxConnections` (default 1024).
    pub max_connections: usize,
    /// `headerReadTimeout` (ms, default 30000), also the keep-alive idle time.
    pub header_read_timeout: Duration,
    /// `requestTimeout` (ms, default 30000) to receive a body.
    pub request_timeout: Duration,
    /// `ssl = true`: TLS with the `keystore` (PEM or PKCS12).
    pub tls: Option<TlsServerSettings>,
}

/// Reads an `http` source's keys.
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<HttpConfig> {
    let port = cx.port("port");
    let bind = cx.get("bind").unwrap_or_else(|| "0.0.0.0".into());
    // A refused handler or port does not end the build before every key was read.
    let handler = handler(cx);
    cx.use_prefix("handler.");
    let tls = crate::agent::rpc::transport::config::listener_tls_keys(cx);
    for p in [
        "QueuedThreadPool.",
        "HttpConfiguration.",
        "SslContextFactory.",
        "ServerConnector.",
    ] {
        cx.use_prefix(p);
    }
    let max_body_bytes = cx.bytes_usize(
        "maxBodyBytes",
        HTTP_BODY_BYTES_DEFAULT,
        1,
        HTTP_BODY_BYTES_LIMIT,
    );
    let max_events_per_request = cx.usize(
        "maxEventsPerRequest",
        HTTP_EVENTS_PER_REQUEST_DEFAULT,
        1,
        BATCH_SIZE_MAX,
    );
    let max_inflight_bytes = inflight_bytes(cx, max_body_bytes as u64);
    Some(HttpConfig {
        tls,
        bind,
        max_body_bytes,
        max_events_per_request,
        max_inflight_bytes,
        max_connections: cx.usize(
            "maxConnections",
            MAX_CONNECTIONS_DEFAULT,
            1,
            CONNECTIONS_MAX,
        ),
        header_read_timeout: cx.millis(
            "headerReadTimeout",
            HTTP_HEADER_TIMEOUT_MS_DEFAULT,
            1,
            DURATION_MS_MAX,
        ),
        request_timeout: cx.millis(
            "requestTimeout",
            HTTP_REQUEST_TIMEOUT_MS_DEFAULT,
            1,
            DURATION_MS_MAX,
        ),
        port: port?,
        handler: handler?,
    })
}

/// `handler`: Flume's JSONHandler (the default) or BlobHandler (`handler.maxBlobLength`).
fn handler(cx: &mut Ctx<'_>) -> Option<HttpHandler> {
    match cx.get("handler").as_deref().map(str::trim) {
        None | Some("org.apache.flume.source.http.JSONHandler") | Some("JSONHandler") => {
            Some(HttpHandler::Json)
        }
        Some("org.apache.flume.sink.solr.morphline.BlobHandler") | Some("BlobHandler") => {
            Some(HttpHandler::Blob {
                max_blob_length: cx.bytes_usize(
                    "handler.maxBlobLength",
                    BLOB_LENGTH_DEFAULT,
                    1,
                    i32::MAX as u64,
                ),
            })
        }
        Some(other) => {
            cx.error(
                "handler",
                format!(
                    "unsupported handler {other:?}; supported: \
                     org.apache.flume.source.http.JSONHandler, \
                     org.apache.flume.sink.solr.morphline.BlobHandler"
                ),
            );
            None
        }
    }
}

/// `maxInflightBytes` of an http source: half of it must hold one largest body.
fn inflight_bytes(cx: &mut Ctx<'_>, max_body_bytes: u64) -> u64 {
    let floor = 2 * max_body_bytes;
    match cx.get("maxInflightBytes") {
        None => HTTP_INFLIGHT_BYTES_DEFAULT.max(floor),
        Some(_) => {
            let n = cx.bytes(
                "maxInflightBytes",
                HTTP_INFLIGHT_BYTES_DEFAULT,
                1 << 20,
                u32::MAX as u64,
            );
            if n < floor {
                cx.error(
                    "maxInflightBytes",
                    format!(
                        "{n} is less than twice maxBodyBytes ({floor}): half of the budget must \
                         hold one whole body"
                    ),
                );
            }
            n
        }
    }
}
