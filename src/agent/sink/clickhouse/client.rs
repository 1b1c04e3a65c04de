//! ClickHouse's HTTP interface, as the sink uses it: one POST per query (the SQL in the
//! `query` parameter, the rows, if any, as the body, gzip-encoded with `compression = gzip`),
//! the user and password in `X-ClickHouse-User` / `X-ClickHouse-Key`, and an answer that is
//! either 200 with the result or an error whose code is ClickHouse's (`X-ClickHouse-Exception-Code`
//! on newer servers, the body's `Code: N` on all). `url`'s servers are tried in turn: a
//! refused connection or a 5xx moves on to the next, and the one that answered is kept.
//!
//! Built on hyper's client with rustls (the project's HTTP stack, as the `http` sink); with
//! `ssl = true` its TLS configuration is the RPC and otlp sinks' own
//! ([`crate::agent::rpc::transport::tls::client_config`]: the truststore, `trust-all-certs`,
//! `verify-hostname`, protocols and suites), else Mozilla's roots for an `https://` url.
//! Connecting is bounded by `connectTimeout`, each exchange by `requestTimeout`, an answer's
//! body by [`ANSWER_BYTES_MAX`].

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::config::ClickHouseConfig;
use crate::agent::rpc::transport::{tls, TransportError};

/// Most bytes of an answer read (a read-back of ids is at most a batch of them).
pub(crate) const ANSWER_BYTES_MAX: usize = 64 << 20;

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Why a query has no answer, or what ClickHouse refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ChError {
    /// No connection (refused, unreachable, connect timeout): nothing was sent.
    #[error("cannot connect to ClickHouse at {url}: {why}")]
    Connect { url: String, why: String },
    /// The exchange broke or timed out after the request went: it may have run.
    #[error("ClickHouse at {url} gave no answer: {why}")]
    NoAnswer { url: String, why: String },
    /// ClickHouse answered with an error.
    #[error("ClickHouse at {url} answered {status}: Code {code}: {message}")]
    Server {
        url: String,
        status: u16,
        code: u32,
        message: String,
    },
    /// The server answered, but not as ClickHouse does.
    #[error("the server at {url} is not a ClickHouse HTTP interface (it answered {status} without ClickHouse's headers: {start:?})")]
    NotClickHouse {
        url: String,
        status: u16,
        start: String,
    },
}

impl ChError {
    /// Whether the query certainly did not run: nothing was sent, or the server refused it
    /// before reading its data (who sent it, which table, its SQL). Any other error may come
    /// after a part was written: `UNKNOWN_STATUS_OF_INSERT` (319, a replica lost ZooKeeper
    /// after writing), and an INSERT whose table wrote its part before a materialized view
    /// on it failed (`TOO_MANY_PARTS` and the like from the view's table), so those are
    /// read back before the take goes again.
    pub(crate) fn certainly_not_run(&self) -> bool {
        match self {
            ChError::Connect { .. } => true,
            // SYNTAX_ERROR, UNKNOWN_TABLE, UNKNOWN_DATABASE, READONLY, UNKNOWN_USER,
            // WRONG_PASSWORD, REQUIRED_PASSWORD, AUTHENTICATION_FAILED.
            ChError::Server { code, .. } => {
                matches!(code, 62 | 60 | 81 | 164 | 192 | 193 | 194 | 516)
            }
            _ => false,
        }
    }
}

/// The servers of one sink, and the one that answered last (a clone shares the connections).
#[derive(Clone)]
pub(crate) struct ChClient {
    client: HttpsClient,
    urls: Vec<String>,
    /// Shared by the clones, so a failover holds for every INSERT in flight.
    current: Arc<AtomicUsize>,
    user: String,
    key: String,
    gzip: bool,
    timeout: std::time::Duration,
}

impl std::fmt::Debug for ChClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChClient")
            .field("urls", &self.urls)
            .field("current", &self.current)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl ChClient {
    /// A client for `cfg`'s servers, as `cfg.user` with `password`; an error names the
    /// truststore it cannot read.
    pub(crate) fn new(
        cfg: &ClickHouseConfig,
        password: String,
    ) -> Result<ChClient, TransportError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(cfg.connect_timeout));
        http.set_nodelay(true);
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let builder = match &cfg.tls {
            Some(s) => builder.with_tls_config(tls::client_config(s)?),
            None => builder.with_webpki_roots(),
        };
        let https = builder.https_or_http().enable_http1().wrap_connector(http);
        Ok(ChClient {
            client: Client::builder(TokioExecutor::new()).build(https),
            urls: cfg.urls.clone(),
            current: Arc::default(),
            user: cfg.user.clone(),
            key: password,
            gzip: cfg.gzip,
            timeout: cfg.request_timeout,
        })
    }

    /// The server queries go to now.
    pub(crate) fn url(&self) -> &str {
        let i = self.current.load(Ordering::Relaxed);
        self.urls.get(i).map_or("", String::as_str)
    }

    /// Runs `sql` (with `params` as settings in the URL and `body` as its data) on the
    /// current server, moving on to the next after a refused connection or a 5xx that is
    /// not ClickHouse refusing the query's data; the answer's body. Cancel safety: not cancel
    /// safe (a query dropped after it was sent may still run).
    pub(crate) async fn query(
        &mut self,
        sql: &str,
        params: &[(&str, &str)],
        body: Option<&Bytes>,
    ) -> Result<Bytes, ChError> {
        let mut last = None;
        for _ in 0..self.urls.len().max(1) {
            let url = self.url().to_owned();
            match self.once(&url, sql, params, body).await {
                Ok(b) => return Ok(b),
                Err(e) if fails_over(&e) && self.urls.len() > 1 => {
                    tracing::warn!(server = %url, "{e}; trying the next server of url");
                    // Only the first to see this server fail moves on (clones share it).
                    if let Some(i) = self.urls.iter().position(|u| *u == url) {
                        let _ = self.current.compare_exchange(
                            i,
                            (i + 1) % self.urls.len(),
                            Ordering::Relaxed,
                            Ordering::Relaxed,
                        );
                    }
                    // The error to give is one that may have run, if any server's was:
                    // a later refused connection must not make it look certainly not run.
                    if last.as_ref().is_none_or(ChError::certainly_not_run) {
                        last = Some(e);
                    }
                }
                Err(e) => {
                    return Err(match last {
                        Some(l) if !l.certainly_not_run() && e.certainly_not_run() => l,
                        _ => e,
                    })
                }
            }
        }
        Err(last.unwrap_or_else(|| ChError::Connect {
            url: String::new(),
            why: "no server in url".into(),
        }))
    }

    /// Runs `sql` on the current server and then on every other server of `url` (a read
    /// the failover's servers must all answer for: what an earlier INSERT left on one that
    /// the current one, a replica still fetching it, does not show yet). The current
    /// server's error fails the read; another's is logged and that server left out.
    pub(crate) async fn query_each(&mut self, sql: &str) -> Result<Vec<Bytes>, ChError> {
        let mut answers = vec![self.query(sql, &[], None).await?];
        let current = self.url().to_owned();
        for url in self.urls.clone().iter().filter(|u| **u != current) {
            match self.once(url, sql, &[], None).await {
                Ok(b) => answers.push(b),
                Err(e) => {
                    tracing::warn!(server = %url, "{e}; reading back without this server's rows (a replica fetches what it missed)");
                }
            }
        }
        Ok(answers)
    }

    async fn once(
        &self,
        url: &str,
        sql: &str,
        params: &[(&str, &str)],
        body: Option<&Bytes>,
    ) -> Result<Bytes, ChError> {
        let uri = uri(url, sql, params, body.is_some());
        let mut req = hyper::Request::post(uri)
            .header("X-ClickHouse-User", &self.user)
            .header("X-ClickHouse-Key", &self.key);
        let data = match body {
            Some(b) if self.gzip => {
                req = req.header(hyper::header::CONTENT_ENCODING, "gzip");
                gzip(b)
            }
            Some(b) => b.clone(),
            None => Bytes::copy_from_slice(sql.as_bytes()),
        };
        let req = req.body(Full::new(data)).map_err(|e| ChError::Connect {
            url: url.to_owned(),
            why: format!("cannot make the request: {e}"),
        })?;
        let exchange = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| request_error(url, &e))?;
            let status = resp.status().as_u16();
            let ours = resp
                .headers()
                .keys()
                .any(|k| k.as_str().starts_with("x-clickhouse-"));
            let header_code = resp
                .headers()
                .get("x-clickhouse-exception-code")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u32>().ok());
            let bytes = Limited::new(resp.into_body(), ANSWER_BYTES_MAX)
                .collect()
                .await
                .map_err(|e| ChError::NoAnswer {
                    url: url.to_owned(),
                    why: format!("reading the answer: {e}"),
                })?
                .to_bytes();
            answer(url, status, ours, header_code, bytes)
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(ChError::NoAnswer {
                url: url.to_owned(),
                why: format!(
                    "no answer within requestTimeout ({} ms)",
                    self.timeout.as_millis()
                ),
            }),
        }
    }
}

/// The request's URI: with data the SQL goes in the URL, without as the body (a long
/// `IN (...)` list); `params` as URL settings.
pub(crate) fn uri(url: &str, sql: &str, params: &[(&str, &str)], with_data: bool) -> String {
    let mut uri = if with_data {
        format!("{url}/?query={}", encode(sql))
    } else {
        format!("{url}/?")
    };
    for (k, v) in params {
        uri.push('&');
        uri.push_str(k);
        uri.push('=');
        uri.push_str(&encode(v));
    }
    uri
}

/// A refused connection, or a server-side failure that is not about the query's data: the
/// next server may do better.
fn fails_over(e: &ChError) -> bool {
    match e {
        ChError::Connect { .. } => true,
        ChError::Server {
            status,
            code,
            message,
            ..
        } => *status >= 500 && !super::rows::bad_value(*code, message),
        _ => false,
    }
}

/// The answer's body, or the error it carries.
fn answer(
    url: &str,
    status: u16,
    ours: bool,
    header_code: Option<u32>,
    bytes: Bytes,
) -> Result<Bytes, ChError> {
    let text = || String::from_utf8_lossy(&bytes[..bytes.len().min(2000)]).into_owned();
    if status == 200 && ours {
        return Ok(bytes);
    }
    let body_code = body_code(&text());
    match header_code.or(body_code) {
        Some(code) if ours => Err(ChError::Server {
            url: url.to_owned(),
            status,
            code,
            message: message(&text()),
        }),
        _ => Err(ChError::NotClickHouse {
            url: url.to_owned(),
            status,
            start: text().chars().take(120).collect(),
        }),
    }
}

/// `N` of a body that starts `Code: N, e.displayText() = ...`.
fn body_code(text: &str) -> Option<u32> {
    let rest = text.trim_start().strip_prefix("Code:")?;
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The error's text without the `Code: N, e.displayText() = DB::Exception:` prefix and the
/// `, e.what() = ...` tail.
fn message(text: &str) -> String {
    let t = text.trim();
    let t = t.split_once("DB::Exception: ").map_or(t, |(_, m)| m);
    let t = t.split_once(", e.what() =").map_or(t, |(m, _)| m);
    t.trim().to_owned()
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut out = String::new();
    let mut s = e.source();
    while let Some(x) = s {
        out.push_str(&x.to_string());
        out.push_str("; ");
        s = x.source();
    }
    out
}

/// `b` gzip-encoded (fast level: the link, not the ratio, is what it saves).
fn gzip(b: &[u8]) -> Bytes {
    let mut enc =
        flate2::write::GzEncoder::new(Vec::with_capacity(b.len() / 4), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(b);
    Bytes::from(enc.finish().unwrap_or_default())
}

/// `s` percent-encoded for a URL's query string.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A request that got no response: refused or cut before (`Connect`), or after it was sent.
fn request_error(url: &str, e: &hyper_util::client::legacy::Error) -> ChError {
    let why = format!("{e}: {}", source_chain(e));
    if e.is_connect() {
        ChError::Connect {
            url: url.to_owned(),
            why,
        }
    } else {
        ChError::NoAnswer {
            url: url.to_owned(),
            why,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_body_gives_its_code_and_message() {
        let t = "Code: 27, e.displayText() = DB::Exception: Cannot parse input: expected \" before: abc (while read the value of key n): (at row 2)\n, e.what() = DB::Exception\n";
        assert_eq!(body_code(t), Some(27));
        assert_eq!(
            message(t),
            "Cannot parse input: expected \" before: abc (while read the value of key n): (at row 2)"
        );
        let e = answer("u", 500, true, None, Bytes::from(t)).unwrap_err();
        assert!(matches!(e, ChError::Server { code: 27, .. }));
        let e = answer("u", 404, false, None, Bytes::from("<html>")).unwrap_err();
        assert!(matches!(e, ChError::NotClickHouse { status: 404, .. }));
        assert!(answer("u", 200, false, None, Bytes::from("1")).is_err());
    }

    #[test]
    fn only_a_refusal_before_the_data_is_certainly_not_run() {
        let server = |code| ChError::Server {
            url: "u".into(),
            status: 500,
            code,
            message: String::new(),
        };
        let connect = ChError::Connect {
            url: "u".into(),
            why: "refused".into(),
        };
        assert!(connect.certainly_not_run());
        for code in [60, 81, 193, 516] {
            assert!(server(code).certainly_not_run(), "{code}");
        }
        // Unknown status; too many parts (from a materialized view's table after the
        // table's part was written); a read-only replica; ZooKeeper.
        for code in [319, 252, 242, 999] {
            assert!(!server(code).certainly_not_run(), "{code}");
        }
        let lost = ChError::NoAnswer {
            url: "u".into(),
            why: "reset".into(),
        };
        assert!(!lost.certainly_not_run());
    }

    #[test]
    fn a_query_string_is_percent_encoded() {
        assert_eq!(
            encode("SELECT 1 FROM `d`.`t`"),
            "SELECT%201%20FROM%20%60d%60.%60t%60"
        );
    }
}
