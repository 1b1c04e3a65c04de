//! The `otlp` sink's keys (Sluice's own): `endpoint` (a URL: `http://host:4317` for gRPC,
//! `http://host:4318/v1/logs` for HTTP, `https://` with `ssl = true`), `protocol` (`grpc`,
//! the default, or `http` for HTTP/protobuf), `batchSize` (100: records per export),
//! `compression` (`gzip`, the default, or `none`), `connectTimeout` (5000 ms) and
//! `requestTimeout` (10000 ms); TLS with the avro sink's keys (`ssl`, `truststore`,
//! `truststore-type`, `truststore-password`, `trust-all-certs`, `verify-hostname`, the
//! protocol and cipher-suite lists), read by the RPC sinks' own parser
//! ([`crate::agent::rpc::transport::config::client_keys`]). An `https://` endpoint needs
//! `ssl = true` and `ssl = true` an `https://` endpoint, so neither is silently ignored.

use std::time::Duration;

use crate::agent::config::limits::{BATCH_SIZE_MAX, DURATION_MS_MAX};
use crate::agent::config::Ctx;
use crate::agent::rpc::transport::settings::TlsClientSettings;
use crate::agent::rpc::transport::Compression;

/// Default `batchSize`.
pub(crate) const BATCH_SIZE_DEFAULT: u64 = 100;
/// Default `connectTimeout` (ms).
pub(crate) const CONNECT_TIMEOUT_MS_DEFAULT: u64 = 5_000;
/// Default `requestTimeout` (ms).
pub(crate) const REQUEST_TIMEOUT_MS_DEFAULT: u64 = 10_000;

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
    /// `ssl = true`: TLS as the `truststore*` keys say (the endpoint is `https://`).
    pub tls: Option<TlsClientSettings>,
}

/// Reads an `otlp` sink's keys.
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<OtlpSinkConfig> {
    let endpoint = cx.required("endpoint");
    let security = crate::agent::rpc::transport::config::client_keys(cx);
    if security.compression != Compression::None {
        cx.error(
            "compression-type",
            "the otlp sink compresses each export (compression = gzip, the default), not the \
             connection: remove compression-type",
        );
    }
    let tls = security.tls;
    let endpoint = endpoint.and_then(|e| check_endpoint(cx, e, tls.is_some()));
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
        tls,
    })
}

/// The endpoint when it is an `http://` URL (`ssl` off) or an `https://` one (`ssl = true`)
/// with a host.
fn check_endpoint(cx: &mut Ctx<'_>, e: String, ssl: bool) -> Option<String> {
    let scheme = match e.parse::<hyper::Uri>() {
        Ok(u) if u.host().is_some() => u.scheme_str().map(str::to_owned),
        _ => None,
    };
    match (scheme.as_deref(), ssl) {
        (Some("http"), false) | (Some("https"), true) => Some(e),
        (Some("https"), false) => {
            cx.error(
                "endpoint",
                format!(
                    "{e:?} is https:// but ssl is not true: set ssl = true (and truststore = \
                     the receiver's CA, unless a public CA signed its certificate)"
                ),
            );
            None
        }
        (Some("http"), true) => {
            cx.error(
                "endpoint",
                format!("ssl = true needs an https:// endpoint, got {e:?}"),
            );
            None
        }
        _ => {
            cx.error(
                "endpoint",
                format!("expected an http:// or https:// URL (http://host:4317), got {e:?}"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::agent::registry::SinkKind;
    use crate::agent::rpc::transport::settings::Trust;
    use crate::agent::topology::load;

    const BASE: &str = "a1.channels = c1\na1.channels.c1.type = memory\na1.sinks = k1\n\
                        a1.sinks.k1.channel = c1\na1.sinks.k1.type = otlp\n";

    /// The error `text`'s sink gets on `key`.
    fn error_on(text: &str, key: &str) -> String {
        let loaded = load(&format!("{BASE}{text}"), "a1", &[]);
        assert!(loaded.config.is_none(), "{text} was accepted");
        loaded
            .problems
            .iter()
            .find(|p| p.key == format!("a1.sinks.k1.{key}"))
            .map(|p| p.message.clone())
            .unwrap_or_else(|| panic!("no problem on {key}: {:?}", loaded.problems))
    }

    #[test]
    fn an_https_endpoint_with_ssl_reads_the_avro_sinks_truststore_keys() {
        let ca = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/net_support/tls/ca.pem"
        );
        let text = format!(
            "{BASE}a1.sinks.k1.endpoint = https://localhost:4317\na1.sinks.k1.ssl = true\n\
             a1.sinks.k1.truststore = {ca}\na1.sinks.k1.truststore-type = PEM\n"
        );
        let loaded = load(&text, "a1", &[]);
        let cfg = loaded.config.expect("valid");
        let SinkKind::Otlp(c) = &cfg.sinks["k1"].kind else {
            panic!("not an otlp sink")
        };
        let tls = c.tls.as_ref().expect("TLS on");
        assert!(matches!(&tls.trust, Trust::Store { path, .. } if path.ends_with("ca.pem")));
        assert!(tls.verify_hostname);
    }

    #[test]
    fn https_and_ssl_go_together_and_a_connection_compression_is_refused() {
        let m = error_on("a1.sinks.k1.endpoint = https://h:4317\n", "endpoint");
        assert!(m.contains("set ssl = true"), "{m}");
        let m = error_on(
            "a1.sinks.k1.endpoint = http://h:4317\na1.sinks.k1.ssl = true\n",
            "endpoint",
        );
        assert!(m.contains("needs an https:// endpoint"), "{m}");
        let m = error_on(
            "a1.sinks.k1.endpoint = http://h:4317\na1.sinks.k1.compression-type = deflate\n",
            "compression-type",
        );
        assert!(m.contains("compression = gzip"), "{m}");
        let m = error_on(
            "a1.sinks.k1.endpoint = https://h:4317\na1.sinks.k1.ssl = true\n\
             a1.sinks.k1.truststore = /nonexistent/ca.pem\n",
            "truststore",
        );
        assert!(m.contains("/nonexistent/ca.pem"), "{m}");
    }
}
