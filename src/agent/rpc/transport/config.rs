//! The one key parser for TLS, compression and IP filtering, shared by every RPC source
//! ([`server_keys`]) and sink ([`client_keys`]), with Flume's key names:
//!
//! | key | side | default | meaning |
//! |---|---|---|---|
//! | `ssl` | both | false | TLS on the connection |
//! | `keystore`, `keystore-password`, `keystore-type` | source | env `FLUME_SSL_KEYSTORE_*` | PEM or PKCS12 (JKS refused with the `keytool` command) |
//! | `truststore`, `truststore-password`, `truststore-type` | sink | public web roots | PEM or PKCS12 |
//! | `trust-all-certs` | sink | false | verify nothing |
//! | `verify-hostname` | sink | true | Sluice: the certificate must name `hostname` |
//! | `include-protocols`, `exclude-protocols` | both | all / `SSLv3` | among `TLSv1.2`, `TLSv1.3` |
//! | `include-cipher-suites`, `exclude-cipher-suites` | both | rustls's | IANA/Java names |
//! | `compression-type` | both | none | `deflate`: a zlib stream over the connection |
//! | `compression-level` | both | 6 | 0-9 (Flume's source always uses 6) |
//! | `ipFilter`, `ipFilterRules` | source | false | [`crate::agent::rpc::ipfilter`] |
//! | `ssl-handshake-timeout` | source | 10000 | Sluice: ms for the handshake |
//! | `ssl-max-handshakes` | source | 32 | Sluice: TLS handshakes in progress at once |
//! | `ssl-handshake-rate-per-peer` | source | 20 | Sluice: new handshakes per second per peer address |
//! | `max-inflate-ratio` | source | 0 (off) | Sluice: inflated bytes per compressed byte (beyond 256 KiB); 0 or 2-100000 |
//!
//! The http, otlp and syslog TCP sources read the same `ssl`, `keystore*`, protocol and suite
//! keys through [`listener_tls_keys`] (and Flume's HTTP source's older `enableSSL` and
//! `keystorePassword`).
//!
//! Lists (protocols, suites) are separated by spaces, as Flume's, or commas. The stores are
//! read while the configuration is read, so a bad one is reported with its line (and by
//! `sluice config check`).

use std::path::PathBuf;
use std::time::Duration;

use super::settings::{
    ClientSecurity, Compression, HandshakeLimits, Password, ServerSecurity, TlsClientSettings,
    TlsServerSettings, TlsVersions, Trust, HANDSHAKE_TIMEOUT_DEFAULT,
};
use super::{deflate, handshake_budget, tls, ClientTransport, ServerTransport};
use crate::agent::config::Ctx;
use crate::agent::rpc::ipfilter::IpFilter;

/// Longest `ssl-handshake-timeout`, in ms.
pub(crate) const HANDSHAKE_TIMEOUT_MS_MAX: u64 = 600_000;
/// Largest `max-inflate-ratio` (deflate itself cannot pass about 1032:1).
pub(crate) const INFLATE_RATIO_MAX: u64 = 100_000;

/// Reads a source's `ssl`, `keystore*`, protocol, suite, `compression-*` and `ipFilter*` keys.
pub(crate) fn server_keys(cx: &mut Ctx<'_>) -> ServerSecurity {
    let tls = if cx.bool("ssl", false) {
        server_tls(cx)
    } else {
        for p in ["keystore", "include-", "exclude-"] {
            cx.use_prefix(p);
        }
        None
    };
    let compression = compression(cx);
    let ip_filter = if cx.bool("ipFilter", false) {
        match cx.get("ipFilterRules") {
            None => {
                cx.error(
                    "ipFilter",
                    "ipFilter = true but ipFilterRules is not defined (e.g. \
                     ipFilterRules = allow:ip:10.*,deny:ip:*)",
                );
                None
            }
            Some(rules) => match IpFilter::parse(&rules) {
                Ok(_) => Some(rules),
                Err(e) => {
                    cx.error("ipFilterRules", e.to_string());
                    None
                }
            },
        }
    } else {
        cx.get("ipFilterRules");
        None
    };
    let ms = cx.u64(
        "ssl-handshake-timeout",
        HANDSHAKE_TIMEOUT_DEFAULT.as_millis() as u64,
        1,
        HANDSHAKE_TIMEOUT_MS_MAX,
    );
    let (inflate_ratio_max, handshakes) = budget_keys(cx);
    let sec = ServerSecurity {
        tls,
        compression,
        ip_filter,
        handshake_timeout: Duration::from_millis(ms),
        inflate_ratio_max,
        handshakes,
    };
    if sec.tls.is_some() {
        if let Err(e) = ServerTransport::new(&sec) {
            cx.error("keystore", e.to_string());
        }
    }
    sec
}

/// The TLS keys of a source that is not an RPC one (http, otlp, syslog TCP): `ssl` (or
/// `enableSSL`), `keystore*`, protocols and suites; `None` = no TLS. The keystore is read
/// now, so a bad one is reported with its line (and by `config check`).
pub(crate) fn listener_tls_keys(cx: &mut Ctx<'_>) -> Option<TlsServerSettings> {
    if !(cx.bool("ssl", false) | cx.bool("enableSSL", false)) {
        for p in ["keystore", "include-", "exclude-"] {
            cx.use_prefix(p);
        }
        return None;
    }
    let tls = server_tls(cx)?;
    if let Err(e) = tls::acceptor(&tls, &[]) {
        cx.error("keystore", e.to_string());
    }
    Some(tls)
}

/// `max-inflate-ratio`, `ssl-max-handshakes` and `ssl-handshake-rate-per-peer`.
fn budget_keys(cx: &mut Ctx<'_>) -> (u64, HandshakeLimits) {
    let inflate_ratio_max = cx.u64(
        "max-inflate-ratio",
        deflate::INFLATE_RATIO_DEFAULT,
        0,
        INFLATE_RATIO_MAX,
    );
    if inflate_ratio_max == 1 {
        cx.error(
            "max-inflate-ratio",
            "must be 0 (no ratio cap) or between 2 and 100000: 1 refuses every compressed byte",
        );
    }
    let handshakes = HandshakeLimits {
        concurrent_max: cx.u64(
            "ssl-max-handshakes",
            handshake_budget::CONCURRENT_MAX_DEFAULT as u64,
            1,
            handshake_budget::CONCURRENT_MAX_MAX as u64,
        ) as usize,
        per_peer_per_s: cx.u64(
            "ssl-handshake-rate-per-peer",
            u64::from(handshake_budget::PER_PEER_PER_S_DEFAULT),
            1,
            u64::from(handshake_budget::PER_PEER_PER_S_MAX),
        ) as u32,
    };
    (inflate_ratio_max, handshakes)
}

/// Reads a sink's `ssl`, `truststore*`, `trust-all-certs`, `verify-hostname`, protocol, suite
/// and `compression-*` keys.
pub(crate) fn client_keys(cx: &mut Ctx<'_>) -> ClientSecurity {
    let tls = if cx.bool("ssl", false) {
        client_tls(cx)
    } else {
        for p in [
            "truststore",
            "trust-all-certs",
            "verify-hostname",
            "include-",
            "exclude-",
        ] {
            cx.use_prefix(p);
        }
        None
    };
    let sec = ClientSecurity {
        tls,
        compression: compression(cx),
    };
    if sec.tls.is_some() {
        if let Err(e) = ClientTransport::new(&sec) {
            cx.error("truststore", e.to_string());
        }
    }
    sec
}

/// A key, or Flume's global setting from the environment (`FLUME_SSL_KEYSTORE_PATH`, ...).
fn key_or_env(cx: &mut Ctx<'_>, key: &str, env: &str) -> Option<String> {
    cx.get(key)
        .or_else(|| std::env::var(env).ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn store_type(cx: &mut Ctx<'_>, key: &str, env: &str) {
    if let Some(t) = key_or_env(cx, key, env) {
        match t.to_ascii_uppercase().as_str() {
            // The file's content decides; JKS files are refused with the keytool command
            // when they are read (a "JKS" keystore that is really PKCS12 is fine, as in Java).
            "JKS" | "PKCS12" | "PEM" => {}
            _ => cx.error(
                key,
                format!(
                    "unknown store type {t:?}: Sluice reads PKCS12 and PEM (and names the \
                         keytool command that converts JKS)"
                ),
            ),
        }
    }
}

fn server_tls(cx: &mut Ctx<'_>) -> Option<TlsServerSettings> {
    let keystore = key_or_env(cx, "keystore", "FLUME_SSL_KEYSTORE_PATH");
    let password = key_or_env(cx, "keystore-password", "FLUME_SSL_KEYSTORE_PASSWORD")
        .or_else(|| cx.get("keystorePassword"));
    store_type(cx, "keystore-type", "FLUME_SSL_KEYSTORE_TYPE");
    let versions = protocols(cx);
    let suites = suites(cx);
    let Some(keystore) = keystore else {
        cx.error("keystore", "ssl = true needs a keystore (PKCS12 or PEM)");
        return None;
    };
    Some(TlsServerSettings {
        keystore: PathBuf::from(keystore),
        keystore_password: password.map(Password),
        versions: versions?,
        suites: suites?,
    })
}

fn client_tls(cx: &mut Ctx<'_>) -> Option<TlsClientSettings> {
    let trust_all = cx.bool("trust-all-certs", false);
    let store = key_or_env(cx, "truststore", "FLUME_SSL_TRUSTSTORE_PATH");
    let password = key_or_env(cx, "truststore-password", "FLUME_SSL_TRUSTSTORE_PASSWORD");
    store_type(cx, "truststore-type", "FLUME_SSL_TRUSTSTORE_TYPE");
    let verify_hostname = cx.bool("verify-hostname", true);
    let versions = protocols(cx);
    let suites = suites(cx);
    let trust = match (trust_all, store) {
        (true, store) => {
            if store.is_some() {
                cx.warn(
                    "truststore",
                    "ignored: trust-all-certs = true trusts any certificate",
                );
            }
            cx.warn(
                "trust-all-certs",
                "the downstream's certificate is not verified: anyone on the path can read \
                 and change the events",
            );
            Trust::AllCerts
        }
        (false, Some(path)) => Trust::Store {
            path: PathBuf::from(path),
            password: password.map(Password),
        },
        (false, None) => Trust::Public,
    };
    Some(TlsClientSettings {
        trust,
        verify_hostname,
        versions: versions?,
        suites: suites?,
    })
}

fn compression(cx: &mut Ctx<'_>) -> Compression {
    let level = cx.u64("compression-level", 6, 0, 9) as u32;
    match cx.get("compression-type") {
        None => Compression::None,
        Some(c) => match c.trim().to_ascii_lowercase().as_str() {
            "none" => Compression::None,
            "deflate" => Compression::Deflate { level },
            _ => {
                cx.error(
                    "compression-type",
                    format!("unknown compression type {c:?}; supported: none, deflate"),
                );
                Compression::None
            }
        },
    }
}

fn list(v: Option<String>) -> Vec<String> {
    v.unwrap_or_default()
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `include-protocols` / `exclude-protocols` onto TLSv1.2 and TLSv1.3.
fn protocols(cx: &mut Ctx<'_>) -> Option<TlsVersions> {
    const JAVA: [&str; 6] = [
        "SSLv2Hello",
        "SSLv3",
        "TLSv1",
        "TLSv1.1",
        "TLSv1.2",
        "TLSv1.3",
    ];
    let include = list(cx.get("include-protocols"));
    let exclude = list(cx.get("exclude-protocols"));
    for (key, names) in [
        ("include-protocols", &include),
        ("exclude-protocols", &exclude),
    ] {
        let unknown: Vec<&String> = names
            .iter()
            .filter(|n| !JAVA.contains(&n.as_str()))
            .collect();
        if !unknown.is_empty() {
            cx.warn(key, format!("unknown protocol names ignored: {unknown:?}"));
        }
    }
    let offered = |name: &str| {
        (include.is_empty() || include.iter().any(|p| p == name))
            && !exclude.iter().any(|p| p == name)
    };
    let v = TlsVersions {
        tls12: offered("TLSv1.2"),
        tls13: offered("TLSv1.3"),
    };
    if !v.tls12 && !v.tls13 {
        let key = if include.is_empty() {
            "exclude-protocols"
        } else {
            "include-protocols"
        };
        cx.error(
            key,
            "no protocol left to offer: Sluice offers TLSv1.2 and TLSv1.3 only",
        );
        return None;
    }
    Some(v)
}

/// `include-cipher-suites` / `exclude-cipher-suites` onto rustls's suites; `Some(None)` = all.
fn suites(cx: &mut Ctx<'_>) -> Option<Option<Vec<String>>> {
    let include = list(cx.get("include-cipher-suites"));
    let exclude = list(cx.get("exclude-cipher-suites"));
    if include.is_empty() && exclude.is_empty() {
        return Some(None);
    }
    let known = tls::known_suites();
    let unknown: Vec<&String> = include.iter().filter(|s| !known.contains(s)).collect();
    if !unknown.is_empty() {
        cx.warn(
            "include-cipher-suites",
            format!("not offered by rustls, ignored: {unknown:?} (it offers {known:?})"),
        );
    }
    let left: Vec<String> = known
        .iter()
        .filter(|s| include.is_empty() || include.contains(s))
        .filter(|s| !exclude.contains(s))
        .cloned()
        .collect();
    if left.is_empty() {
        let key = if include.is_empty() {
            "exclude-cipher-suites"
        } else {
            "include-cipher-suites"
        };
        cx.error(
            key,
            format!("no cipher suite left; rustls offers {known:?}"),
        );
        return None;
    }
    Some(Some(left))
}
