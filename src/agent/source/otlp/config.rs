//! The `otlp` source's keys (Sluice's own; Flume has no OTLP source): `protocol` (`grpc`, the
//! default, or `http`), `bind`, `port` (4317 for gRPC, 4318 for HTTP, as the Collector's
//! receivers), the TLS keys of the http source, and the limits `maxRequestBytes` (a request's
//! body, compressed and decompressed), `maxEventBytes` (one record's event: a larger one is
//! rejected through `partial_success`), `maxInflightBytes`, `maxConnections`,
//! `maxConnectionsPerPeer`, `requestTimeout`, `idleTimeout`, and the avro source's `ipFilter`/`ipFilterRules` (`ip:` rules only).

use std::time::Duration;

use crate::agent::config::limits::{CONNECTIONS_MAX, DURATION_MS_MAX};
use crate::agent::config::Ctx;
use crate::agent::otlp::proto::{GRPC_PORT_DEFAULT, HTTP_PORT_DEFAULT};
use crate::agent::rpc::ipfilter::IpFilter;
use crate::agent::rpc::transport::settings::TlsServerSettings;

/// Default `maxRequestBytes` (16 MiB).
pub const REQUEST_BYTES_DEFAULT: u64 = 16 << 20;
/// Largest `maxRequestBytes`.
pub const REQUEST_BYTES_LIMIT: u64 = 1 << 30;
/// Default `maxEventBytes` (1 MiB).
pub const EVENT_BYTES_DEFAULT: u64 = 1 << 20;
/// Default `maxInflightBytes` (128 MiB, raised to four times `maxRequestBytes`).
pub const INFLIGHT_BYTES_DEFAULT: u64 = 128 << 20;
/// Default `maxConnections`.
pub const CONNECTIONS_DEFAULT: u64 = 1024;
/// Default `maxConnectionsPerPeer`: connections one peer address may hold open (an exporter
/// uses one, a Collector a few; 128 applications behind one NAT address still fit).
pub const CONNECTIONS_PER_PEER_DEFAULT: u64 = 128;
/// Default `requestTimeout` (ms): receiving a request's body.
pub const REQUEST_TIMEOUT_MS_DEFAULT: u64 = 30_000;
/// Default `idleTimeout` (ms): a gRPC connection with no call in progress that long is
/// closed with `GOAWAY` (its client reconnects at its next export).
pub const IDLE_TIMEOUT_MS_DEFAULT: u64 = 120_000;
/// Most concurrent gRPC streams (requests) per HTTP/2 connection.
pub const STREAMS_PER_CONNECTION_MAX: u32 = 64;

/// The OTLP transport a source serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `LogsService/Export` over gRPC (HTTP/2).
    Grpc,
    /// `POST /v1/logs`, protobuf or JSON, over HTTP/1.1 or HTTP/2.
    Http,
}

/// `otlp` source settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtlpSourceConfig {
    /// `protocol` (default `grpc`).
    pub protocol: Protocol,
    /// `bind` (default 0.0.0.0).
    pub bind: String,
    /// `port` (default 4317 for gRPC, 4318 for HTTP).
    pub port: u16,
    /// `maxRequestBytes` (default 16 MiB): a larger body (before or after gzip) is refused.
    pub max_request_bytes: usize,
    /// `maxEventBytes` (default 1 MiB): a record whose event is larger is rejected.
    pub max_event_bytes: usize,
    /// `maxInflightBytes` (default 128 MiB, at least 4 × `maxRequestBytes`): request bodies
    /// held at once by all connections, compressed plus decompressed.
    pub max_inflight_bytes: u64,
    /// `maxConnections` (default 1024).
    pub max_connections: usize,
    /// `maxConnectionsPerPeer` (default 128): open connections of one peer address.
    pub max_connections_per_peer: usize,
    /// `requestTimeout` (ms, default 30000): receiving one request.
    pub request_timeout: Duration,
    /// `idleTimeout` (ms, default 120000): a gRPC connection without a call in progress.
    pub idle_timeout: Duration,
    /// `ssl = true`: TLS with the `keystore` (PEM or PKCS12).
    pub tls: Option<TlsServerSettings>,
    /// `ipFilterRules` when `ipFilter = true` (checked: `ip:` rules only).
    pub ip_filter_rules: Option<String>,
}

/// Reads an `otlp` source's keys.
pub fn parse(cx: &mut Ctx<'_>) -> Option<OtlpSourceConfig> {
    let protocol = match cx.get("protocol").as_deref().map(str::trim) {
        None | Some("grpc") => Some(Protocol::Grpc),
        Some("http") | Some("http/protobuf") | Some("http/json") => Some(Protocol::Http),
        Some(other) => {
            cx.error(
                "protocol",
                format!("unsupported protocol {other:?}; supported: grpc, http"),
            );
            None
        }
    };
    let default_port = match protocol {
        Some(Protocol::Http) => HTTP_PORT_DEFAULT,
        _ => GRPC_PORT_DEFAULT,
    };
    let port = match cx.get("port") {
        None => Some(default_port),
        Some(_) => cx.port("port"),
    };
    let bind = cx.get("bind").unwrap_or_else(|| "0.0.0.0".into());
    let tls = crate::agent::rpc::transport::config::listener_tls_keys(cx);
    let ip_filter_rules = ip_filter(cx);
    let max_request_bytes = cx.bytes_usize(
        "maxRequestBytes",
        REQUEST_BYTES_DEFAULT,
        1024,
        REQUEST_BYTES_LIMIT,
    );
    let max_event_bytes = cx.bytes_usize(
        "maxEventBytes",
        EVENT_BYTES_DEFAULT,
        64,
        REQUEST_BYTES_LIMIT,
    );
    let floor = 4 * max_request_bytes as u64;
    let max_inflight_bytes = cx.bytes(
        "maxInflightBytes",
        INFLIGHT_BYTES_DEFAULT.max(floor),
        floor,
        u64::from(u32::MAX).max(floor),
    );
    Some(OtlpSourceConfig {
        bind,
        max_request_bytes,
        max_event_bytes,
        max_inflight_bytes,
        max_connections: cx.usize("maxConnections", CONNECTIONS_DEFAULT, 1, CONNECTIONS_MAX),
        max_connections_per_peer: cx.usize(
            "maxConnectionsPerPeer",
            CONNECTIONS_PER_PEER_DEFAULT,
            1,
            CONNECTIONS_MAX,
        ),
        request_timeout: cx.millis(
            "requestTimeout",
            REQUEST_TIMEOUT_MS_DEFAULT,
            1,
            DURATION_MS_MAX,
        ),
        idle_timeout: cx.millis("idleTimeout", IDLE_TIMEOUT_MS_DEFAULT, 1, DURATION_MS_MAX),
        tls,
        ip_filter_rules,
        protocol: protocol?,
        port: port?,
    })
}

/// `ipFilter` and `ipFilterRules`: the rules when the filter is on and they parse.
fn ip_filter(cx: &mut Ctx<'_>) -> Option<String> {
    let rules = cx.get("ipFilterRules");
    if !cx.bool("ipFilter", false) {
        return None;
    }
    let Some(rules) = rules else {
        cx.error(
            "ipFilter",
            "ipFilter = true but ipFilterRules is not defined (e.g. ipFilterRules = allow:ip:10.*,deny:ip:*)",
        );
        return None;
    };
    match IpFilter::parse(&rules) {
        Ok(f) if f.has_name_rules() => {
            cx.error(
                "ipFilterRules",
                "name: rules are not supported by the otlp source; write ip: rules",
            );
            None
        }
        Ok(_) => Some(rules),
        Err(e) => {
            cx.error("ipFilterRules", e.to_string());
            None
        }
    }
}
