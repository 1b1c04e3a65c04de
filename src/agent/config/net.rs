//! Settings of the network sources of issue 14: `syslogtcp`, `multiport_syslogtcp`,
//! `syslogudp`, `http` and `netcatudp` (Flume's keys and defaults, plus Sluice's named limits).

use std::time::Duration;

use super::ctx::Ctx;
use super::limits::DURATION_MS_MAX;
use super::types::SourceKind;
use crate::agent::source::syslog::parse::{KeepFields, EVENT_SIZE_DEFAULT, EVENT_SIZE_MIN};
use crate::agent::source::tls::TlsConfig;

/// Default cap on open connections of a TCP syslog or HTTP source (`maxConnections`).
pub const MAX_CONNECTIONS_DEFAULT: u64 = 1024;
/// Largest `maxConnections`.
pub const MAX_CONNECTIONS_LIMIT: u64 = 65_536;
/// Default idle timeout of a TCP syslog connection (`idleTimeout`, ms).
pub const IDLE_TIMEOUT_MS_DEFAULT: u64 = 120_000;
/// Largest `eventSize`.
pub const EVENT_SIZE_LIMIT: u64 = 64 << 20;
/// Default `maxBodyBytes` of the HTTP source.
pub const HTTP_BODY_BYTES_DEFAULT: u64 = 16 << 20;
/// Largest `maxBodyBytes`.
pub const HTTP_BODY_BYTES_LIMIT: u64 = 1 << 30;
/// Default `maxEventsPerRequest` of the HTTP source (JSON handler).
pub const HTTP_EVENTS_PER_REQUEST_DEFAULT: u64 = 100_000;
/// Default `maxInflightBytes` of the HTTP source (128 MiB, raised to twice `maxBodyBytes`).
pub const HTTP_INFLIGHT_BYTES_DEFAULT: u64 = 128 << 20;
/// Default time for a client to send a request's headers (`headerReadTimeout`, ms); also how
/// long an idle keep-alive connection is kept.
pub const HTTP_HEADER_TIMEOUT_MS_DEFAULT: u64 = 30_000;
/// Default time for a client to send a request's body (`requestTimeout`, ms).
pub const HTTP_REQUEST_TIMEOUT_MS_DEFAULT: u64 = 30_000;
/// Flume's BlobHandler `maxBlobLength` default.
pub const BLOB_LENGTH_DEFAULT: u64 = 100_000_000;
/// Default `readBufferSize` of `multiport_syslogtcp`.
pub const READ_BUFFER_DEFAULT: u64 = 1024;
/// Largest `readBufferSize`.
pub const READ_BUFFER_LIMIT: u64 = 1 << 20;
/// Default events per transaction of the TCP syslog sources (`batchSize`).
pub const SYSLOG_BATCH_DEFAULT: u64 = 100;

/// How syslog frames become events (shared by the TCP and UDP sources).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyslogOptions {
    /// `eventSize` in bytes (default 2500, raised to at least 10 as in Flume).
    pub event_size: usize,
    /// `keepFields`.
    pub keep: KeepFields,
    /// `clientIPHeader`: header that gets the client's IP address.
    pub client_ip_header: Option<String>,
    /// `clientHostnameHeader`: header that gets the client's host name (reverse lookup).
    pub client_hostname_header: Option<String>,
}

/// `syslogtcp` and `multiport_syslogtcp` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyslogTcpConfig {
    /// `host` (default all interfaces).
    pub host: String,
    /// `port`, or the `ports` list of `multiport_syslogtcp`.
    pub ports: Vec<u16>,
    /// Parsing options.
    pub syslog: SyslogOptions,
    /// `portHeader` (multiport): header that gets the local port.
    pub port_header: Option<String>,
    /// `batchSize` (default 100): most events per transaction.
    pub batch_size: usize,
    /// `readBufferSize` (default 1024 for multiport; 8192 for syslogtcp): bytes per read.
    pub read_buffer_size: usize,
    /// `maxConnections` (default 1024): connections beyond it are closed at once.
    pub max_connections: usize,
    /// `idleTimeout` (ms, default 120000): a connection silent this long is closed.
    pub idle_timeout: Duration,
    /// `ssl = true`: TLS with the PEM `keystore`.
    pub tls: Option<TlsConfig>,
}

/// `syslogudp` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyslogUdpConfig {
    /// `host` (default all interfaces).
    pub host: String,
    /// `port`.
    pub port: u16,
    /// Parsing options.
    pub syslog: SyslogOptions,
}

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
    /// `ssl = true`: TLS with the PEM `keystore`.
    pub tls: Option<TlsConfig>,
}

/// `netcatudp` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetcatUdpConfig {
    /// `bind` (default all interfaces).
    pub bind: String,
    /// `port`.
    pub port: u16,
    /// `remoteAddressHeader` (Flume's code reads `remoteAddress`; both are accepted): header
    /// that gets the sender as `/ip:port`.
    pub remote_address_header: Option<String>,
}

/// The settings of a network source type, or `None` if `short` is not one.
pub fn source(cx: &mut Ctx<'_>, short: &str) -> Option<Option<SourceKind>> {
    Some(match short {
        "syslogtcp" => syslog_tcp(cx, false).map(SourceKind::SyslogTcp),
        "multiport_syslogtcp" => syslog_tcp(cx, true).map(SourceKind::MultiportSyslogTcp),
        "syslogudp" => {
            let port = port(cx, "port");
            let cfg = SyslogUdpConfig {
                host: cx.get("host").unwrap_or_else(|| "0.0.0.0".into()),
                syslog: syslog_options(cx, "false"),
                port: port?,
            };
            Some(SourceKind::SyslogUdp(cfg))
        }
        "http" => http(cx).map(SourceKind::Http),
        "netcatudp" => {
            let port = port(cx, "port");
            let header = cx
                .get("remoteAddressHeader")
                .or_else(|| cx.get("remoteAddress"));
            Some(SourceKind::NetcatUdp(NetcatUdpConfig {
                bind: cx.get("bind").unwrap_or_else(|| "0.0.0.0".into()),
                remote_address_header: header,
                port: port?,
            }))
        }
        _ => return None,
    })
}

fn port(cx: &mut Ctx<'_>, key: &str) -> Option<u16> {
    let p = cx.required(key)?;
    parse_port(cx, key, &p)
}

fn parse_port(cx: &mut Ctx<'_>, key: &str, p: &str) -> Option<u16> {
    match p.trim().parse::<u16>() {
        Ok(n) => Some(n),
        Err(_) => {
            cx.error(key, format!("expected a port number 0-65535, got {p:?}"));
            None
        }
    }
}

fn bounded(cx: &mut Ctx<'_>, key: &str, default: u64, min: u64, max: u64) -> usize {
    cx.u64(key, default, min, max) as usize
}

fn syslog_options(cx: &mut Ctx<'_>, keep_default: &str) -> SyslogOptions {
    let event_size = bounded(
        cx,
        "eventSize",
        EVENT_SIZE_DEFAULT as u64,
        0,
        EVENT_SIZE_LIMIT,
    )
    .max(EVENT_SIZE_MIN);
    let keep_text = cx.get("keepFields").unwrap_or_else(|| keep_default.into());
    let keep = KeepFields::parse(&keep_text);
    let known = ["priority", "version", "timestamp", "hostname"];
    let lower = keep_text.trim().to_ascii_lowercase();
    if !matches!(lower.as_str(), "" | "none" | "false" | "all" | "true") {
        let unknown: Vec<&str> = lower
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty() && !known.contains(w))
            .collect();
        if !unknown.is_empty() {
            cx.warn(
                "keepFields",
                format!(
                    "unknown field(s) {}; expected none, all, or any of {}",
                    unknown.join(" "),
                    known.join(" ")
                ),
            );
        }
    }
    SyslogOptions {
        event_size,
        keep,
        client_ip_header: cx.get("clientIPHeader"),
        client_hostname_header: cx.get("clientHostnameHeader"),
    }
}

fn syslog_tcp(cx: &mut Ctx<'_>, multi: bool) -> Option<SyslogTcpConfig> {
    let host = cx.get("host").unwrap_or_else(|| "0.0.0.0".into());
    // A refused port does not end the build: every other key is still read and checked,
    // and `None` is returned at the end.
    let ports = if multi {
        cx.required("ports").and_then(|list| {
            let ports: Vec<Option<u16>> = list
                .split_whitespace()
                .map(|p| parse_port(cx, "ports", p))
                .collect();
            if ports.is_empty() {
                cx.error("ports", "expected a space-separated list of ports");
                return None;
            }
            ports.into_iter().collect::<Option<Vec<u16>>>()
        })
    } else {
        port(cx, "port").map(|p| vec![p])
    };
    let port_list = ports.clone().unwrap_or_default();
    let syslog = syslog_options(cx, "none");
    let tls = super::tls::tls(cx);
    let port_header = if multi { cx.get("portHeader") } else { None };
    if multi {
        charsets(cx, &port_list);
        // Tokio's worker threads do the work of Flume's `numProcessors` MINA processors.
        cx.get("numProcessors");
    }
    let read_default = if multi { READ_BUFFER_DEFAULT } else { 8192 };
    Some(SyslogTcpConfig {
        tls,
        host,
        syslog,
        port_header,
        batch_size: bounded(cx, "batchSize", SYSLOG_BATCH_DEFAULT, 1, 100_000),
        read_buffer_size: bounded(cx, "readBufferSize", read_default, 16, READ_BUFFER_LIMIT),
        max_connections: bounded(
            cx,
            "maxConnections",
            MAX_CONNECTIONS_DEFAULT,
            1,
            MAX_CONNECTIONS_LIMIT,
        ),
        idle_timeout: Duration::from_millis(cx.u64(
            "idleTimeout",
            IDLE_TIMEOUT_MS_DEFAULT,
            1,
            DURATION_MS_MAX,
        )),
        ports: ports?,
    })
}

/// Charsets whose bytes for ASCII are ASCII: the parser works on bytes and keeps the body
/// as received, so any of these reads the same headers as Flume's decoder.
const ASCII_CHARSETS: &[&str] = &[
    "utf-8",
    "utf8",
    "us-ascii",
    "ascii",
    "iso-8859-1",
    "latin1",
    "iso-8859-15",
    "windows-1252",
    "cp1252",
];

fn charsets(cx: &mut Ctx<'_>, ports: &[u16]) {
    let keys: Vec<String> = cx
        .comp()
        .props
        .keys()
        .filter(|k| k.starts_with("charset."))
        .cloned()
        .collect();
    for k in keys {
        let v = cx.get(&k).unwrap_or_default();
        if let Some(p) = k.strip_prefix("charset.port.") {
            if !p.parse::<u16>().is_ok_and(|p| ports.contains(&p)) {
                cx.warn(&k, format!("port {p} is not in ports; ignored"));
            }
        } else if k != "charset.default" {
            cx.warn(
                &k,
                "unknown key; expected charset.default or charset.port.<port>",
            );
            continue;
        }
        if !ASCII_CHARSETS.contains(&v.trim().to_ascii_lowercase().as_str()) {
            cx.error(
                &k,
                format!(
                    "charset {v:?} is not supported; supported: UTF-8, US-ASCII, ISO-8859-1, \
                     ISO-8859-15, windows-1252 (bodies are kept as received)"
                ),
            );
        }
    }
}

fn http(cx: &mut Ctx<'_>) -> Option<HttpConfig> {
    let port = port(cx, "port");
    let bind = cx.get("bind").unwrap_or_else(|| "0.0.0.0".into());
    // A refused handler or port does not end the build before every key was read.
    let handler = match cx.get("handler").as_deref().map(str::trim) {
        None | Some("org.apache.flume.source.http.JSONHandler") | Some("JSONHandler") => {
            Some(HttpHandler::Json)
        }
        Some("org.apache.flume.sink.solr.morphline.BlobHandler") | Some("BlobHandler") => {
            Some(HttpHandler::Blob {
                max_blob_length: bounded(
                    cx,
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
    };
    cx.use_prefix("handler.");
    let tls = super::tls::tls(cx);
    for p in [
        "QueuedThreadPool.",
        "HttpConfiguration.",
        "SslContextFactory.",
        "ServerConnector.",
    ] {
        cx.use_prefix(p);
    }
    let max_body_bytes = bounded(
        cx,
        "maxBodyBytes",
        HTTP_BODY_BYTES_DEFAULT,
        1,
        HTTP_BODY_BYTES_LIMIT,
    );
    let max_events_per_request = bounded(
        cx,
        "maxEventsPerRequest",
        HTTP_EVENTS_PER_REQUEST_DEFAULT,
        1,
        super::build::BATCH_SIZE_MAX,
    );
    let max_inflight_bytes = http_inflight_bytes(cx, max_body_bytes as u64);
    Some(HttpConfig {
        tls,
        bind,
        max_body_bytes,
        max_events_per_request,
        max_inflight_bytes,
        max_connections: bounded(
            cx,
            "maxConnections",
            MAX_CONNECTIONS_DEFAULT,
            1,
            MAX_CONNECTIONS_LIMIT,
        ),
        header_read_timeout: Duration::from_millis(cx.u64(
            "headerReadTimeout",
            HTTP_HEADER_TIMEOUT_MS_DEFAULT,
            1,
            DURATION_MS_MAX,
        )),
        request_timeout: Duration::from_millis(cx.u64(
            "requestTimeout",
            HTTP_REQUEST_TIMEOUT_MS_DEFAULT,
            1,
            DURATION_MS_MAX,
        )),
        port: port?,
        handler: handler?,
    })
}

/// `maxInflightBytes` of an http source: half of it must hold one largest body.
fn http_inflight_bytes(cx: &mut Ctx<'_>, max_body_bytes: u64) -> u64 {
    let floor = 2 * max_body_bytes;
    match cx.get("maxInflightBytes") {
        None => HTTP_INFLIGHT_BYTES_DEFAULT.max(floor),
        Some(_) => {
            let n = cx.u64(
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
