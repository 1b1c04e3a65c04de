//! One list plus watch of the node's pods, as client-go's reflector does it: list
//! `/api/v1/pods?fieldSelector=spec.nodeName=<node>` (in pages of [`PAGE_LIMIT`]), then watch
//! from the list's resourceVersion with bookmarks; a watch that ends (the server's
//! `timeoutSeconds`, a dropped connection) is opened again from the last resourceVersion seen
//! (an event's or a bookmark's); `410 Gone`, as an HTTP status or as a watch's ERROR event,
//! lists again. Any other failure (no connection, 401, 403, a bad body) marks the API down in
//! the [`Store`] (WARN, `/health`, gauges) and is retried after a capped backoff, resuming from
//! where it was; the lines flow meanwhile with their path's metadata.
//!
//! Cancel safety: [`run`] holds no state outside itself; dropping it (the source ends) stops it.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::client::{ApiClient, ApiError};
use super::config::ApiConfig;
use super::pod::{PodList, PodMeta, WatchEvent};
use super::store::Store;

/// Pods asked for per list page.
pub(crate) const PAGE_LIMIT: usize = 500;
/// Largest list page body.
pub(crate) const PAGE_BYTES_MAX: usize = 64 << 20;
/// Largest watch line (one pod object; etcd's object limit is 1.5 MiB).
pub(crate) const WATCH_LINE_BYTES_MAX: usize = 16 << 20;
/// The watch's `timeoutSeconds`: the server ends it after this, and it is opened again (so the
/// token file is read again at least this often).
pub(crate) const WATCH_TIMEOUT: Duration = Duration::from_secs(290);
/// How long a watch may be silent (no event, no bookmark) before it is given up.
pub(crate) const WATCH_IDLE_MAX: Duration = Duration::from_secs(330);
/// First and largest wait before a failed request is tried again.
const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Percent-encodes a query value.
fn encode(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// The watch's state between requests.
struct Watcher {
    client: ApiClient,
    cfg: ApiConfig,
    node: String,
    store: Arc<Store>,
}

/// Runs the list and watch of `cfg`'s node into `store` until dropped.
pub(crate) async fn run(cfg: ApiConfig, store: Arc<Store>) {
    let Some(node) = cfg.node_name.clone() else {
        store.set_down(format!(
            "API server {}: nodeName is not set and NODE_NAME is empty: the node's pods cannot be selected",
            cfg.server
        ));
        return;
    };
    let mut backoff = BACKOFF_MIN;
    let client = loop {
        match ApiClient::new(&cfg) {
            Ok(c) => break c,
            Err(e) => {
                store.set_down(e.to_string());
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    };
    let w = Watcher {
        client,
        cfg,
        node,
        store,
    };
    w.run().await;
}

impl Watcher {
    async fn run(&self) {
        let mut rv: Option<String> = None;
        let mut backoff = BACKOFF_MIN;
        loop {
            let r = match rv.clone() {
                None => self.list().await.map(Some),
                Some(v) => self.watch(v).await.map(Some),
            };
            match r {
                Ok(v) => {
                    rv = v;
                    backoff = BACKOFF_MIN;
                }
                Err(ApiError::Gone { .. }) => {
                    tracing::info!(api_server = %self.client.server(), "410 Gone: the watch's resourceVersion expired; listing the node's pods again");
                    rv = None;
                }
                Err(e) => {
                    self.store.set_down(e.to_string());
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }

    fn selector(&self) -> String {
        format!(
            "/api/v1/pods?fieldSelector={}",
            encode(&format!("spec.nodeName={}", self.node))
        )
    }

    fn meta(&self, o: super::pod::Object) -> PodMeta {
        PodMeta::of(o.metadata, &self.node, &self.cfg.annotations)
    }

    /// Lists the node's pods (every page) into the store; the list's resourceVersion.
    async fn list(&self) -> Result<String, ApiError> {
        let mut pods = Vec::new();
        let mut cont: Option<String> = None;
        let rv = loop {
            let mut q = format!("{}&limit={PAGE_LIMIT}", self.selector());
            if let Some(c) = &cont {
                q.push_str(&format!("&continue={}", encode(c)));
            }
            let answer = self.client.get(&q).await?;
            let page: PodList = self.read_json(answer.into_body()).await?;
            pods.extend(page.items.into_iter().map(|o| self.meta(o)));
            match page.metadata.continue_token.filter(|c| !c.is_empty()) {
                Some(c) => cont = Some(c),
                None => break page.metadata.resource_version,
            }
        };
        let n = pods.len();
        self.store.relisted(pods);
        self.store.set_up();
        tracing::debug!(api_server = %self.client.server(), pods = n, resource_version = %rv, "listed the node's pods");
        Ok(rv)
    }

    async fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        body: Incoming,
    ) -> Result<T, ApiError> {
        let bad = |why: String| ApiError::Body {
            server: self.client.server().to_owned(),
            why,
        };
        let bytes = tokio::time::timeout(
            super::client::HEAD_TIMEOUT * 2,
            Limited::new(body, PAGE_BYTES_MAX).collect(),
        )
        .await
        .map_err(|_| bad("the list's body did not come in time".to_owned()))?
        .map_err(|e| bad(format!("reading the list: {e}")))?
        .to_bytes();
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("the list is not a PodList: {e}")))
    }

    /// Watches from `rv` until the watch ends; the last resourceVersion seen.
    async fn watch(&self, mut rv: String) -> Result<String, ApiError> {
        let q = format!(
            "{}&watch=1&allowWatchBookmarks=true&timeoutSeconds={}&resourceVersion={}",
            self.selector(),
            WATCH_TIMEOUT.as_secs(),
            encode(&rv)
        );
        let mut body = self.client.get(&q).await?.into_body();
        self.store.set_up();
        let bad = |why: String| ApiError::Body {
            server: self.client.server().to_owned(),
            why,
        };
        let mut buf: Vec<u8> = Vec::new();
        loop {
            let frame = match tokio::time::timeout(WATCH_IDLE_MAX, body.frame()).await {
                Err(_) => {
                    return Err(ApiError::Timeout {
                        server: self.client.server().to_owned(),
                        secs: WATCH_IDLE_MAX.as_secs(),
                    })
                }
                // The watch ended: opened again from `rv`.
                Ok(None) => return Ok(rv),
                Ok(Some(f)) => f.map_err(|e| bad(format!("the watch broke off: {e}")))?,
            };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            buf.extend_from_slice(&data);
            while let Some(i) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=i).collect();
                self.event(&line, &mut rv)?;
            }
            if buf.len() > WATCH_LINE_BYTES_MAX {
                return Err(bad(format!(
                    "a watch event over {WATCH_LINE_BYTES_MAX} bytes"
                )));
            }
        }
    }

    /// Applies one watch line, moving `rv` on.
    fn event(&self, line: &[u8], rv: &mut String) -> Result<(), ApiError> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let e: WatchEvent = serde_json::from_slice(line).map_err(|e| ApiError::Body {
            server: self.client.server().to_owned(),
            why: format!("a watch line is not an event: {e}"),
        })?;
        let new_rv = e.object.metadata.resource_version.clone();
        match e.kind.as_str() {
            "ADDED" | "MODIFIED" => self.store.upsert(self.meta(e.object)),
            "DELETED" => self.store.delete(self.meta(e.object)),
            "BOOKMARK" => {}
            "ERROR" => {
                let server = self.client.server().to_owned();
                return Err(match e.object.code {
                    Some(410) => ApiError::Gone { server },
                    code => ApiError::Status {
                        server,
                        status: code.unwrap_or(0),
                        hint: format!(" in the watch: {}", e.object.message.unwrap_or_default()),
                    },
                });
            }
            other => tracing::debug!(kind = other, "a watch event of an unknown type; skipped"),
        }
        if !new_rv.is_empty() {
            *rv = new_rv;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(super::encode("spec.nodeName=n-1"), "spec.nodeName%3Dn-1");
        assert_eq!(super::encode("a+b/c="), "a%2Bb%2Fc%3D");
    }
}
