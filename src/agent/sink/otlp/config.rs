//! The `otlp` sink's keys (Sluice's own): `endpoint` (an `http://` URL: `http://host:4317`
//! for gRPC, `http://host:4318/v1/logs` for HTTP), `protocol` (`grpc`, the default, or
//! `http` for HTTP/protobuf), `batchSize` (100: records per export), `compression` (`gzip`,
//! the default, or `none`), `connectTimeout` (5000 ms) and `requestTimeout` (10000 ms).

use std::time::Duration;

use crate::agent::config::limits::{BATCH_SIZE_MAX, DURATION_MS_MAX};
use crate::agent::config::Ctx;

/// Default `batchSize`.
pub const BATCH_SIZE_DEFAULT: u64 = 100;
/// Default `connectTimeout` (ms).
pub const CONNECT_TIMEOUT_MS_DEFAULT: u64 = 5_000;
/// Default `requestTimeout` (ms).
pub const REQUEST_TIMEOUT_MS_DEFAULT: u64 = 10_000;

/// The OTLP transport a sink exports over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `LogsService/Export` over gRPC.
    Grpc,
    /// `POST` of a protobuf body to the endpoint URL.
    Http,
}

/// `otlp` sink settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtlpSinkConfig {
    /// `endpoint`: the receiver's URL.
    pub endpoint: String,
    /// `protocol` (default `grpc`).
    pub protocol: Protocol,
    /// `batchSize` (default 100): records per take transaction and per export.
    pub batch_size: usize,
    /// `compression = gzip` (the default) or `none`.
    pub gzip: bool,
    /// `connectTimeout` (default 5 s).
    pub connect_timeout: Duration,
    /// `requestTimeout` (default 10 s): one export, from sending to the answer.
    pub request_timeout: Duration,
}

/// Reads an `otlp` sink's keys.
pub fn parse(cx: &mut Ctx<'_>) -> Option<OtlpSinkConfig> {
    let endpoint = cx
        .required("endpoint")
        .and_then(|e| match e.parse::<hyper::Uri>() {
            Ok(u) if u.scheme_str() == Some("http") && u.host().is_some() => Some(e),
            Ok(u) if u.scheme_str() == Some("https") => {
                cx.error(
                    "endpoint",
                    "https:// (TLS) is not supported by the otlp sink yet; use http://",
                );
                None
            }
            _ => {
                cx.error(
                    "endpoint",
                    format!("expected an http:// URL (http://host:4317), got {e:?}"),
                );
                None
            }
        });
    let protocol = match cx.get("protocol").as_deref().map(str::trim) {
        None | Some("grpc") => Some(Protocol::Grpc),
        Some("http") | Some("http/protobuf") => Some(Protocol::Http),
        Some(other) => {
            cx.error(
                "protocol",
                format!("unsupported protocol {other:?}; supported: grpc, http (protobuf)"),
            );
            None
        }
    };
    let gzip = match cx.get("compression").as_deref().map(str::trim) {
        None | Some("gzip") => Some(true),
        Some("none") => Some(false),
        Some(other) => {
            cx.error(
                "compression",
                format!("unsupported compression {other:?}; supported: gzip, none"),
            );
            None
        }
    };
    Some(OtlpSinkConfig {
        batch_size: cx.usize("batchSize", BATCH_SIZE_DEFAULT, 1, BATCH_SIZE_MAX),
        connect_timeout: cx.millis(
            "connectTimeout",
            CONNECT_TIMEOUT_MS_DEFAULT,
            1,
            DURATION_MS_MAX,
        ),
        request_timeout: cx.millis(
            "requestTimeout",
            REQUEST_TIMEOUT_MS_DEFAULT,
            1,
            DURATION_MS_MAX,
        ),
        endpoint: endpoint?,
        protocol: protocol?,
        gzip: gzip?,
    })
}
