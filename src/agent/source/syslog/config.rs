//! The syslog sources' keys: `syslogtcp`, `multiport_syslogtcp` and `syslogudp` (Flume's keys
//! and defaults, plus Sluice's named limits).

use std::time::Duration;

use super::parse::{KeepFields, EVENT_SIZE_DEFAULT, EVENT_SIZE_MIN};
use crate::agent::config::limits::{CONNECTIONS_MAX, DURATION_MS_MAX};
use crate::agent::config::Ctx;
use crate::agent::rpc::transport::settings::TlsServerSettings;

/// Default cap on open connections of a TCP syslog source (`maxConnections`).
pub(crate) const MAX_CONNECTIONS_DEFAULT: u64 = 1024;
/// Largest `maxConnections`.
pub(crate) const MAX_CONNECTIONS_LIMIT: u64 = CONNECTIONS_MAX;
/// Default idle timeout of a TCP syslog connection (`idleTimeout`, ms).
pub(crate) const IDLE_TIMEOUT_MS_DEFAULT: u64 = 120_000;
/// Largest `eventSize`.
pub(crate) const EVENT_SIZE_LIMIT: u64 = 64 << 20;
/// Default `readBufferSize` of `multiport_syslogtcp`.
pub(crate) const READ_BUFFER_DEFAULT: u64 = 1024;
/// Largest `readBufferSize`.
pub(crate) const READ_BUFFER_LIMIT: u64 = 1 << 20;
/// Default events per transaction of the TCP syslog sources (`batchSize`).
pub(crate) const SYSLOG_BATCH_DEFAULT: u64 = 100;

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
    /// `maxBufferedBytes` (Sluice; default [`BUFFERED_BYTES_DEFAULT`]): what all connections
    /// together may hold received and not yet committed (conn.rs); past it a connection waits
    /// before it reads, and the sender waits in TCP.
    pub max_buffered_bytes: u64,
    /// `ssl = true`: TLS with the `keystore` (PEM or PKCS12).
    pub tls: Option<TlsServerSettings>,
}

/// Default `maxBufferedBytes`: 128 MiB over all of a source's connections (1,000 connections
/// of a channel that refuses hold this, not the 2 MiB each a connection's two groups may).
pub const BUFFERED_BYTES_DEFAULT: u64 = 128 << 20;
/// Least `maxBufferedBytes`: two groups of the largest size and a grown read buffer.
pub const BUFFERED_BYTES_MIN: u64 = 4 << 20;

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

/// Reads a `syslogudp` source's keys.
pub(crate) fn parse_udp(cx: &mut Ctx<'_>) -> Option<SyslogUdpConfig> {
    let port = cx.port("port");
    Some(SyslogUdpConfig {
        host: cx.get("host").unwrap_or_else(|| "0.0.0.0".into()),
        syslog: syslog_options(cx, "false"),
        port: port?,
    })
}

/// Reads a `syslogtcp` source's keys.
pub(crate) fn parse_tcp(cx: &mut Ctx<'_>) -> Option<SyslogTcpConfig> {
    syslog_tcp(cx, false)
}

/// Reads a `multiport_syslogtcp` source's keys.
pub(crate) fn parse_multiport(cx: &mut Ctx<'_>) -> Option<SyslogTcpConfig> {
    syslog_tcp(cx, true)
}

fn syslog_options(cx: &mut Ctx<'_>, keep_default: &str) -> SyslogOptions {
    let event_size = cx
        .bytes_usize("eventSize", EVENT_SIZE_DEFAULT as u64, 0, EVENT_SIZE_LIMIT)
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
                .map(|p| cx.port_value("ports", p))
                .collect();
            if ports.is_empty() {
                cx.error("ports", "expected a space-separated list of ports");
                return None;
            }
            ports.into_iter().collect::<Option<Vec<u16>>>()
        })
    } else {
        cx.port("port").map(|p| vec![p])
    };
    let port_list = ports.clone().unwrap_or_default();
    let syslog = syslog_options(cx, "none");
    let tls = crate::agent::rpc::transport::config::listener_tls_keys(cx);
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
        batch_size: cx.usize("batchSize", SYSLOG_BATCH_DEFAULT, 1, 100_000),
        read_buffer_size: cx.bytes_usize("readBufferSize", read_default, 16, READ_BUFFER_LIMIT),
        max_connections: cx.usize(
            "maxConnections",
            MAX_CONNECTIONS_DEFAULT,
            1,
            MAX_CONNECTIONS_LIMIT,
        ),
        idle_timeout: cx.millis("idleTimeout", IDLE_TIMEOUT_MS_DEFAULT, 1, DURATION_MS_MAX),
        max_buffered_bytes: cx.bytes(
            "maxBufferedBytes",
            BUFFERED_BYTES_DEFAULT,
            BUFFERED_BYTES_MIN,
            u64::from(u32::MAX),
        ),
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
