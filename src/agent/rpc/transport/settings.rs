//! The transport settings of an RPC hop, read by [`super::config`] from Flume's keys:
//! what a source accepts ([`ServerSecurity`]) and how a sink connects ([`ClientSecurity`]).

use std::path::PathBuf;
use std::time::Duration;

/// Longest TLS handshake (and first-bytes wait) of an accepted connection by default.
pub(crate) const HANDSHAKE_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10);

/// A password, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl std::ops::Deref for Password {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// The TLS versions offered (rustls has only these two; SSLv3, TLSv1 and TLSv1.1 never).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsVersions {
    /// TLSv1.2.
    pub tls12: bool,
    /// TLSv1.3.
    pub tls13: bool,
}

/// A source's TLS: `ssl = true` and the `keystore*` keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsServerSettings {
    /// `keystore`: PEM (chain + unencrypted key) or PKCS12.
    pub keystore: PathBuf,
    /// `keystore-password` (PKCS12).
    pub keystore_password: Option<Password>,
    /// `include-protocols` / `exclude-protocols`.
    pub versions: TlsVersions,
    /// `include-cipher-suites` / `exclude-cipher-suites`: the suites left, by IANA name;
    /// `None` = all of rustls's.
    pub suites: Option<Vec<String>>,
}

/// Which server certificates a sink trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// `trust-all-certs = true`: any (no verification: for tests and migrations).
    AllCerts,
    /// `truststore`: the certificates in this PEM or PKCS12 file.
    Store {
        /// The file.
        path: PathBuf,
        /// `truststore-password` (PKCS12).
        password: Option<Password>,
    },
    /// No truststore: the public web PKI roots (Mozilla's, as the JVM's `cacerts`).
    Public,
}

/// A sink's TLS: `ssl = true` and the `truststore*` keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsClientSettings {
    /// What is trusted.
    pub trust: Trust,
    /// `verify-hostname` (Sluice; default true): the certificate must name `hostname`.
    pub verify_hostname: bool,
    /// `include-protocols` / `exclude-protocols`.
    pub versions: TlsVersions,
    /// The cipher suites left; `None` = all of rustls's.
    pub suites: Option<Vec<String>>,
}

/// `compression-type` (and the sink's `compression-level`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// `none`.
    None,
    /// `deflate`: a zlib stream over the whole connection, compressed at `level` (0-9).
    Deflate {
        /// `compression-level` (default 6).
        level: u32,
    },
}

/// What an RPC source accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerSecurity {
    /// `ssl = true`.
    pub tls: Option<TlsServerSettings>,
    /// `compression-type`.
    pub compression: Compression,
    /// `ipFilter = true`: the `ipFilterRules` text (checked when read).
    pub ip_filter: Option<String>,
    /// `ssl-handshake-timeout` (Sluice; ms, default 10 s): TLS handshake, and the wait for
    /// a TLS or deflate peer's first bytes.
    pub handshake_timeout: Duration,
    /// `max-inflate-ratio` (Sluice; default 0, off): inflated bytes per compressed byte a
    /// deflate connection may cost ([`super::deflate::Deflate::with_ratio_cap`]).
    pub inflate_ratio_max: u64,
    /// `ssl-max-handshakes` and `ssl-handshake-rate-per-peer` (Sluice).
    pub handshakes: HandshakeLimits,
}

/// How many TLS handshakes a source runs ([`super::handshake_budget`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandshakeLimits {
    /// `ssl-max-handshakes`: handshakes in progress at once; one more is refused.
    pub concurrent_max: usize,
    /// `ssl-handshake-rate-per-peer`: new handshakes per second from one peer address (a
    /// token bucket holding as many).
    pub per_peer_per_s: u32,
}

impl Default for HandshakeLimits {
    fn default() -> Self {
        HandshakeLimits {
            concurrent_max: super::handshake_budget::CONCURRENT_MAX_DEFAULT,
            per_peer_per_s: super::handshake_budget::PER_PEER_PER_S_DEFAULT,
        }
    }
}

impl Default for ServerSecurity {
    fn default() -> Self {
        ServerSecurity {
            tls: None,
            compression: Compression::None,
            ip_filter: None,
            handshake_timeout: HANDSHAKE_TIMEOUT_DEFAULT,
            inflate_ratio_max: super::deflate::INFLATE_RATIO_DEFAULT,
            handshakes: HandshakeLimits::default(),
        }
    }
}

/// How an RPC sink connects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSecurity {
    /// `ssl = true`.
    pub tls: Option<TlsClientSettings>,
    /// `compression-type` and `compression-level`.
    pub compression: Compression,
}

impl Default for ClientSecurity {
    fn default() -> Self {
        ClientSecurity {
            tls: None,
            compression: Compression::None,
        }
    }
}
