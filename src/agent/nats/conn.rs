//! The connection keys of the `nats` sink and source, read alike: `url` (comma-separated
//! `nats://host:port`, or `tls://`; the client reconnects across them and the servers the
//! cluster announces), credentials (`user` with `password`, `token`, or a `.creds` file in
//! `credsFile`: at most one), TLS with the RPC sinks' keys (`ssl`, `truststore`,
//! `trust-all-certs`, ...: [`crate::agent::rpc::transport::config::client_keys`]), and
//! `connect-timeout` / `request-timeout` in ms. [`connect`] opens the client under one
//! deadline over the whole handshake of every server it tries (TCP, the server's `INFO`,
//! TLS, `CONNECT`/`PONG`: `connect-timeout` per server; the client's own timeout covers only
//! the TCP connect, so a port that accepts and never says `INFO` hung it), logs the
//! server that answered and keeps [`DownSince`] (the `ConnectionDownMillis` gauge that
//! `/health` reads) up to date from the client's own connection events.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::{Client, ConnectErrorKind, ConnectOptions, Event, ServerAddr};

use crate::agent::config::ctx::Ctx;
use crate::agent::metrics::CounterGroup;
use crate::agent::rpc::transport::config::client_keys;
use crate::agent::rpc::transport::settings::{Password, TlsClientSettings};
use crate::agent::rpc::transport::Compression;

/// `connect-timeout` default, in ms (one server's whole handshake: TCP, `INFO`, TLS,
/// `CONNECT`/`PONG`).
pub(crate) const CONNECT_TIMEOUT_MS_DEFAULT: u64 = 10_000;
/// `request-timeout` default, in ms (a JetStream API call, a batch's PubAck).
pub(crate) const REQUEST_TIMEOUT_MS_DEFAULT: u64 = 10_000;
/// Longest timeout accepted (one hour): a limit, not a target.
pub(crate) const TIMEOUT_MS_MAX: u64 = 3_600_000;

/// How the client proves who it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Auth {
    /// No credentials.
    None,
    /// `user` and `password`.
    UserPassword { user: String, password: Password },
    /// `token`.
    Token(Password),
    /// `credsFile`: a JWT and NKey seed, as `nsc` writes them.
    Creds(PathBuf),
}

/// The connection settings of one nats component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ConnKeys {
    /// `url`, split at commas.
    pub servers: Vec<String>,
    /// The credentials.
    pub auth: Auth,
    /// `ssl = true` and the truststore keys.
    pub tls: Option<TlsClientSettings>,
    /// `connect-timeout`.
    pub connect_timeout: Duration,
    /// `request-timeout`.
    pub request_timeout: Duration,
}

impl ConnKeys {
    /// `url` as written (for messages).
    pub(crate) fn url(&self) -> String {
        self.servers.join(",")
    }
}

/// Reads the connection keys; `None` after an error (reported through `cx`).
pub(crate) fn read(cx: &mut Ctx<'_>) -> Option<ConnKeys> {
    let url = cx.required("url");
    let mut servers = Vec::new();
    for s in url.iter().flat_map(|u| u.split(',')).map(str::trim) {
        if s.is_empty() {
            continue;
        }
        match s.parse::<ServerAddr>() {
            Ok(_) => servers.push(s.to_owned()),
            Err(e) => cx.error(
                "url",
                format!("{s:?} is not a NATS server address (nats://host:port): {e}"),
            ),
        }
    }
    if url.is_some() && servers.is_empty() {
        cx.error("url", "names no server (nats://host:port, comma-separated)");
    }
    let auth = auth(cx);
    let security = client_keys(cx);
    if security.compression != Compression::None {
        cx.error(
            "compression-type",
            "NATS has no deflate transport; remove compression-type",
        );
    }
    let connect_timeout = ms(cx, "connect-timeout", CONNECT_TIMEOUT_MS_DEFAULT);
    let request_timeout = ms(cx, "request-timeout", REQUEST_TIMEOUT_MS_DEFAULT);
    if cx.failed() {
        return None;
    }
    Some(ConnKeys {
        servers,
        auth: auth?,
        tls: security.tls,
        connect_timeout,
        request_timeout,
    })
}

fn ms(cx: &mut Ctx<'_>, key: &str, default: u64) -> Duration {
    Duration::from_millis(cx.u64(key, default, 1, TIMEOUT_MS_MAX))
}

/// `user`/`password`, `token`, `credsFile`: at most one kind.
fn auth(cx: &mut Ctx<'_>) -> Option<Auth> {
    let user = cx.get("user").map(|s| s.trim().to_owned());
    let password = cx.get("password");
    let token = cx.get("token").map(|s| s.trim().to_owned());
    let creds = cx.get("credsFile").map(|s| PathBuf::from(s.trim()));
    let kinds = [user.is_some(), token.is_some(), creds.is_some()];
    if kinds.iter().filter(|k| **k).count() > 1 {
        cx.error(
            "user",
            "set one of user/password, token and credsFile, not several",
        );
        return None;
    }
    match (user, password, token, creds) {
        (Some(user), Some(password), ..) => Some(Auth::UserPassword {
            user,
            password: Password(password),
        }),
        (Some(_), None, ..) => {
            cx.error("password", "user is set but password is not");
            None
        }
        (None, Some(_), ..) => {
            cx.error("user", "password is set but user is not");
            None
        }
        (None, None, Some(t), _) => Some(Auth::Token(Password(t))),
        (None, None, None, Some(p)) => Some(Auth::Creds(p)),
        (None, None, None, None) => Some(Auth::None),
    }
}

/// When the connection went down (ms since the epoch), 0 while it is up, and why: the
/// `ConnectionDownMillis` gauge `/health` reads, and `ConnectionDownReason` (shown while
/// down, when a reason is known), which `/health` quotes.
#[derive(Clone, Debug, Default)]
pub(crate) struct DownSince {
    since: Arc<AtomicU64>,
    why: Arc<parking_lot::Mutex<String>>,
}

impl DownSince {
    /// Marks the connection down (keeps the first moment of an outage).
    pub(crate) fn down(&self) {
        let _ =
            self.since
                .compare_exchange(0, now_ms().max(1), Ordering::Relaxed, Ordering::Relaxed);
    }

    /// Marks the connection down for `why` (a refusal naming the stream and the servers).
    pub(crate) fn down_because(&self, why: &dyn std::fmt::Display) {
        self.down();
        *self.why.lock() = why.to_string();
    }

    /// Marks the connection up.
    pub(crate) fn up(&self) {
        self.since.store(0, Ordering::Relaxed);
        self.why.lock().clear();
    }

    /// How long the connection has been down, in ms (0 while up).
    pub(crate) fn down_ms(&self) -> u64 {
        match self.since.load(Ordering::Relaxed) {
            0 => 0,
            since => now_ms().saturating_sub(since).max(1),
        }
    }

    /// Shows [`DownSince::down_ms`] as the `ConnectionDownMillis` gauge of `counters`, and
    /// the reason as `ConnectionDownReason` while down.
    pub(crate) fn gauge(&self, counters: &CounterGroup) {
        let me = self.clone();
        counters.set_gauges(Box::new(move || me.gauges()));
    }

    /// `ConnectionDownMillis`, and `ConnectionDownReason` while down (for a sink that shows
    /// gauges of its own beside them).
    pub(crate) fn gauges(&self) -> Vec<(&'static str, String)> {
        let ms = self.down_ms();
        let mut g = vec![("ConnectionDownMillis", ms.to_string())];
        let why = self.why.lock();
        if ms > 0 && !why.is_empty() {
            g.push(("ConnectionDownReason", why.clone()));
        }
        g
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Why a nats component has no connection; each names the servers (`url`) or the file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnError {
    /// `credsFile` cannot be read or holds no JWT and seed.
    #[error("cannot read credsFile {}: {source}; it must hold a user JWT and an NKey seed, as `nsc` writes them", .path.display())]
    Creds {
        /// The file.
        path: PathBuf,
        /// What reading it said.
        source: std::io::Error,
    },
    /// The TLS keys do not make a client configuration.
    #[error("TLS settings (ssl, truststore) for NATS at {url}: {source}")]
    Tls {
        /// `url`.
        url: String,
        /// What is wrong with them.
        source: crate::agent::rpc::transport::TransportError,
    },
    /// No server of `url` finished the handshake in time.
    #[error("cannot connect to NATS at {url}: no server finished the NATS handshake (TCP, INFO, TLS, CONNECT/PONG) within {ms} ms (connect-timeout per server tried); is a NATS server answering on that port, or something else that accepts connections and says nothing?")]
    Handshake {
        /// `url`.
        url: String,
        /// The deadline, in ms.
        ms: u128,
    },
    /// No server of `url` took the connection.
    #[error("cannot connect to NATS at {url}: {source}; {hint}")]
    Connect {
        /// `url`.
        url: String,
        /// The client's error.
        source: async_nats::ConnectError,
        /// What to check (naming `credsFile` when it is set).
        hint: String,
    },
}

/// Connects to one of `keys.servers` (each tried once, in random order) as component `who`
/// (`sink k1`), within `connect-timeout` per server over the whole handshake; the client then
/// reconnects by itself for as long as it lives. The error names the servers and what to do.
/// Cancel safe (a connection half made is dropped).
pub(crate) async fn connect(
    who: &str,
    keys: &ConnKeys,
    down: DownSince,
) -> Result<Client, ConnError> {
    let opts = options(who, keys, down.clone()).await?;
    let addrs: Vec<ServerAddr> = keys.servers.iter().filter_map(|s| s.parse().ok()).collect();
    let deadline = keys
        .connect_timeout
        .saturating_mul(u32::try_from(addrs.len().max(1)).unwrap_or(u32::MAX));
    let Ok(connected) = tokio::time::timeout(deadline, opts.connect(addrs)).await else {
        down.down();
        return Err(ConnError::Handshake {
            url: keys.url(),
            ms: deadline.as_millis(),
        });
    };
    match connected {
        Ok(client) => {
            let info = client.server_info();
            tracing::info!(component = who, server = %info.server_name, addr = %format!("{}:{}", info.host, info.port), version = %info.version, "connected to NATS");
            down.up();
            Ok(client)
        }
        Err(e) => {
            down.down();
            let hint = match (e.kind(), &keys.auth) {
                (
                    ConnectErrorKind::AuthorizationViolation | ConnectErrorKind::Authentication,
                    Auth::Creds(p),
                ) => format!(
                    "the servers refused the credentials of credsFile {}: is its account known there (the server's resolver) and its user JWT signed by that account?",
                    p.display()
                ),
                (
                    ConnectErrorKind::AuthorizationViolation | ConnectErrorKind::Authentication,
                    _,
                ) => "the servers refused the credentials: check user/password or token".to_owned(),
                (ConnectErrorKind::Tls, _) => {
                    "TLS failed: check ssl and the truststore keys".to_owned()
                }
                _ => "is a server running there? check url".to_owned(),
            };
            Err(ConnError::Connect {
                url: keys.url(),
                source: e,
                hint,
            })
        }
    }
}

async fn options(who: &str, keys: &ConnKeys, down: DownSince) -> Result<ConnectOptions, ConnError> {
    let mut o = match &keys.auth {
        Auth::None => ConnectOptions::new(),
        Auth::UserPassword { user, password } => {
            ConnectOptions::with_user_and_password(user.clone(), password.0.clone())
        }
        Auth::Token(t) => ConnectOptions::with_token(t.0.clone()),
        Auth::Creds(p) => ConnectOptions::with_credentials_file(p)
            .await
            .map_err(|source| ConnError::Creds {
                path: p.clone(),
                source,
            })?,
    };
    if let Some(tls) = &keys.tls {
        let cfg = crate::agent::rpc::transport::tls::client_config(tls).map_err(|source| {
            ConnError::Tls {
                url: keys.url(),
                source,
            }
        })?;
        o = o.tls_client_config(cfg).require_tls(true);
    }
    let who_cb = who.to_owned();
    Ok(o.name(format!("sluice {who}"))
        .connection_timeout(keys.connect_timeout)
        .request_timeout(Some(keys.request_timeout))
        .max_reconnects(None)
        .event_callback(move |ev| {
            let (down, who) = (down.clone(), who_cb.clone());
            async move {
                match ev {
                    Event::Connected => {
                        down.up();
                        tracing::info!(component = %who, "reconnected to NATS");
                    }
                    Event::Disconnected => {
                        down.down();
                        tracing::warn!(component = %who, "disconnected from NATS; reconnecting");
                    }
                    other => tracing::debug!(component = %who, event = %other, "NATS event"),
                }
            }
        }))
}
