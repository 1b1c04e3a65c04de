//! One `--conf-uri` (http or https), read as Flume 1.11's `HttpConfigurationSource` reads it:
//! a GET with Basic authentication when `--conf-user` and `--conf-password` are given, and on
//! a poll `If-Modified-Since` set to the `Last-Modified` of the last answer (304: unchanged).
//! Unlike Flume, an answer other than 200 and 304 is an error (Flume takes a 500 as
//! "unchanged"), and a request has a deadline ([`REQUEST_TIMEOUT`]) and a body a maximum
//! ([`CONF_BYTES_MAX`]). HTTPS checks the server against the public CA roots.

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::header::{HeaderValue, AUTHORIZATION, IF_MODIFIED_SINCE, LAST_MODIFIED};
use hyper::{Request, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::CONF_BYTES_MAX;

/// The deadline of one request, connection and body included (Flume's is 60 s to connect
/// and 60 s to read).
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// Why a URI could not be read; every variant names the URI.
#[derive(Debug, thiserror::Error)]
pub enum UriError {
    /// Not an http or https URI.
    #[error("--conf-uri {uri}: {why}")]
    Bad {
        /// The URI as given.
        uri: String,
        /// What is wrong with it.
        why: String,
    },
    /// No connection, or the request failed.
    #[error("{uri}: {why}")]
    Request {
        /// The URI.
        uri: String,
        /// The client's error, with its causes.
        why: String,
    },
    /// No whole answer within [`REQUEST_TIMEOUT`].
    #[error("{uri}: no answer within {} s", REQUEST_TIMEOUT.as_secs())]
    Timeout {
        /// The URI.
        uri: String,
    },
    /// An answer other than 200 or 304.
    #[error("{uri}: HTTP {status}{hint}")]
    Status {
        /// The URI.
        uri: String,
        /// The status code.
        status: u16,
        /// What it likely means.
        hint: &'static str,
    },
    /// The body could not be read, is over [`CONF_BYTES_MAX`] or is not UTF-8.
    #[error("{uri}: {why}")]
    Body {
        /// The URI.
        uri: String,
        /// What went wrong.
        why: String,
    },
}

/// What a fetch found.
#[derive(Debug, PartialEq, Eq)]
pub enum Fetched {
    /// A 200 answer: the text (the same as before or not).
    Text(String),
    /// A 304 answer to `If-Modified-Since`.
    NotModified,
}

/// One configuration URI and what the last answer said.
pub struct UriSource {
    uri: Uri,
    shown: String,
    auth: Option<HeaderValue>,
    last_modified: Option<HeaderValue>,
    client: HttpsClient,
}

impl std::fmt::Debug for UriSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UriSource")
            .field("uri", &self.shown)
            .field("basic_auth", &self.auth.is_some())
            .field("last_modified", &self.last_modified)
            .finish()
    }
}

impl UriSource {
    /// A source for `uri`, with Basic authentication when `user` and `password` are given.
    pub fn new(uri: &str, basic: Option<(&str, &str)>) -> Result<UriSource, UriError> {
        let bad = |why: &str| UriError::Bad {
            uri: uri.to_owned(),
            why: why.to_owned(),
        };
        let parsed: Uri = uri.parse().map_err(|e| bad(&format!("not a URI: {e}")))?;
        match parsed.scheme_str() {
            Some("http" | "https") => {}
            _ => {
                return Err(bad(
                    "only http:// and https:// URIs are read (use -f for a file)",
                ))
            }
        }
        if parsed.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(bad(
                "credentials in the URI are not sent; use --conf-user and --conf-password",
            ));
        }
        let auth = match basic {
            None => None,
            Some((user, password)) => {
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                let mut v = HeaderValue::from_str(&format!("Basic {token}"))
                    .map_err(|_| bad("the user or password cannot be sent in a header"))?;
                v.set_sensitive(true);
                Some(v)
            }
        };
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(REQUEST_TIMEOUT));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(UriSource {
            shown: parsed.to_string(),
            uri: parsed,
            auth,
            last_modified: None,
            client: Client::builder(TokioExecutor::new()).build(https),
        })
    }

    /// The URI, for logs and problems.
    pub fn name(&self) -> &str {
        &self.shown
    }

    /// GETs the URI; with `conditional`, asks `If-Modified-Since` the last `Last-Modified`
    /// seen. Cancel safe: the remembered `Last-Modified` changes only when a 200 is read.
    pub async fn fetch(&mut self, conditional: bool) -> Result<Fetched, UriError> {
        let mut req = Request::get(self.uri.clone());
        if let Some(a) = &self.auth {
            req = req.header(AUTHORIZATION, a.clone());
        }
        if let (true, Some(lm)) = (conditional, &self.last_modified) {
            req = req.header(IF_MODIFIED_SINCE, lm.clone());
        }
        let req = req.body(Empty::new()).map_err(|e| UriError::Bad {
            uri: self.shown.clone(),
            why: e.to_string(),
        })?;
        let uri = self.shown.clone();
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(req)).await;
        let (text, last_modified) = match answer {
            Err(_) => return Err(UriError::Timeout { uri }),
            Ok(Err(e)) => return Err(e),
            Ok(Ok(None)) => return Ok(Fetched::NotModified),
            Ok(Ok(Some(got))) => got,
        };
        self.last_modified = last_modified;
        Ok(Fetched::Text(text))
    }

    /// One request: `None` on 304, else the text and its `Last-Modified`.
    async fn exchange(
        &self,
        req: Request<Empty<Bytes>>,
    ) -> Result<Option<(String, Option<HeaderValue>)>, UriError> {
        let uri = || self.shown.clone();
        let resp = self
            .client
            .request(req)
            .await
            .map_err(|e| UriError::Request {
                uri: uri(),
                why: chain(&e),
            })?;
        match resp.status() {
            StatusCode::OK => {}
            StatusCode::NOT_MODIFIED => return Ok(None),
            s => {
                return Err(UriError::Status {
                    uri: uri(),
                    status: s.as_u16(),
                    hint: match s {
                        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                            " (authorization failed: check --conf-user and --conf-password)"
                        }
                        StatusCode::NOT_FOUND => " (no configuration at this URI)",
                        _ => "",
                    },
                })
            }
        }
        let last_modified = resp.headers().get(LAST_MODIFIED).cloned();
        let body = Limited::new(resp.into_body(), CONF_BYTES_MAX)
            .collect()
            .await
            .map_err(|e| UriError::Body {
                uri: uri(),
                why: format!("reading the body (at most {CONF_BYTES_MAX} bytes): {e}"),
            })?
            .to_bytes();
        let text = String::from_utf8(body.to_vec()).map_err(|_| UriError::Body {
            uri: uri(),
            why: "the configuration is not UTF-8".to_owned(),
        })?;
        Ok(Some((text, last_modified)))
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
