//! The API server's HTTP client: hyper with rustls (ring), the project's HTTP stack, checking
//! the server against `caFile` (or the public web roots), sending the bearer token read again
//! from `tokenFile` before every request (a projected token rotates: a list, a watch's
//! reconnect, a retry after 401 each read the file as it is now). Every request has a
//! deadline for its answer's head ([`HEAD_TIMEOUT`]); bodies are read by the caller with its
//! own limits.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use hyper::{Request, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use super::config::ApiConfig;

/// The deadline of a connection and of an answer's head.
pub(crate) const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest token file read.
const TOKEN_BYTES_MAX: u64 = 64 * 1024;

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// Why a request to the API server failed; each names the server.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// `caFile` could not be read or holds no certificate.
    #[error("API server {server}: caFile {}: {why}", path.display())]
    Ca {
        server: String,
        path: PathBuf,
        why: String,
    },
    /// No connection, or the request failed.
    #[error("API server {server}: {why}")]
    Request { server: String, why: String },
    /// No answer within [`HEAD_TIMEOUT`], or a watch silent too long.
    #[error("API server {server}: no answer within {} s", secs)]
    Timeout { server: String, secs: u64 },
    /// An answer other than 200 (410 is [`ApiError::Gone`]).
    #[error("API server {server}: HTTP {status}{hint}")]
    Status {
        server: String,
        status: u16,
        hint: String,
    },
    /// 410 Gone (an HTTP status or a watch's ERROR event): the resourceVersion is too old.
    #[error("API server {server}: 410 Gone (resourceVersion expired)")]
    Gone { server: String },
    /// A body that could not be read or parsed.
    #[error("API server {server}: {why}")]
    Body { server: String, why: String },
}

/// The client of one API server.
pub(crate) struct ApiClient {
    server: String,
    token_file: PathBuf,
    client: HttpsClient,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("server", &self.server)
            .field("token_file", &self.token_file)
            .finish()
    }
}

/// The roots a server is checked against: `ca` (PEM), or the public web roots.
fn roots(server: &str, ca: Option<&Path>) -> Result<RootCertStore, ApiError> {
    let mut roots = RootCertStore::empty();
    let Some(path) = ca else {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        return Ok(roots);
    };
    let bad = |why: String| ApiError::Ca {
        server: server.to_owned(),
        path: path.to_path_buf(),
        why,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    for c in CertificateDer::pem_slice_iter(&bytes) {
        let c = c.map_err(|e| bad(format!("not PEM certificates: {e}")))?;
        roots.add(c).map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("holds no certificate".to_owned()));
    }
    Ok(roots)
}

impl ApiClient {
    /// A client for `cfg`'s server (its CA read now).
    pub(crate) fn new(cfg: &ApiConfig) -> Result<ApiClient, ApiError> {
        let roots = roots(&cfg.server, cfg.ca_file.as_deref())?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ApiError::Request {
                server: cfg.server.clone(),
                why: e.to_string(),
            })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(HEAD_TIMEOUT));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(ApiClient {
            server: cfg.server.clone(),
            token_file: cfg.token_file.clone(),
            client: Client::builder(TokioExecutor::new()).build(https),
        })
    }

    /// The server, as errors name it.
    pub(crate) fn server(&self) -> &str {
        &self.server
    }

    /// The token as the file holds it now (`None`: no file, or empty).
    async fn token(&self) -> Option<String> {
        use tokio::io::AsyncReadExt;
        let f = tokio::fs::File::open(&self.token_file).await.ok()?;
        let mut s = String::new();
        f.take(TOKEN_BYTES_MAX).read_to_string(&mut s).await.ok()?;
        let t = s.trim().to_owned();
        (!t.is_empty()).then_some(t)
    }

    /// `GET <server><path_and_query>`: the answer when it is 200 (its body unread).
    pub(crate) async fn get(&self, path_and_query: &str) -> Result<Response<Incoming>, ApiError> {
        let uri = format!("{}{path_and_query}", self.server);
        let token = self.token().await;
        let mut req = Request::get(uri.as_str()).header(ACCEPT, "application/json");
        if let Some(t) = &token {
            let mut v =
                HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| ApiError::Request {
                    server: self.server.clone(),
                    why: format!(
                        "tokenFile {}: not a token a header can carry",
                        self.token_file.display()
                    ),
                })?;
            v.set_sensitive(true);
            req = req.header(AUTHORIZATION, v);
        }
        let req = req.body(Empty::new()).map_err(|e| ApiError::Request {
            server: self.server.clone(),
            why: e.to_string(),
        })?;
        let answer = tokio::time::timeout(HEAD_TIMEOUT, self.client.request(req))
            .await
            .map_err(|_| ApiError::Timeout {
                server: self.server.clone(),
                secs: HEAD_TIMEOUT.as_secs(),
            })?
            .map_err(|e| ApiError::Request {
                server: self.server.clone(),
                why: chain(&e),
            })?;
        let status = answer.status().as_u16();
        match status {
            200 => Ok(answer),
            410 => Err(ApiError::Gone {
                server: self.server.clone(),
            }),
            _ => Err(ApiError::Status {
                server: self.server.clone(),
                status,
                hint: self.hint(status, token.is_some()),
            }),
        }
    }

    /// What an HTTP status likely means.
    fn hint(&self, status: u16, had_token: bool) -> String {
        let file = self.token_file.display();
        match status {
            401 if had_token => format!(
                " Unauthorized: the token of {file} is refused (it is read again at each request)"
            ),
            401 => format!(" Unauthorized: no token (tokenFile {file} is missing or empty)"),
            403 => " Forbidden: the service account may not list and watch pods (ClusterRole: get, list, watch on pods)".to_owned(),
            _ => String::new(),
        }
    }
}

/// An error and its causes, `outer: inner`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cause = c.source();
    }
    s
}
