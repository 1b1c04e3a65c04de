//! Notifiers: one task per configured notifier, fed through its own bounded queue so a slow or
//! dead endpoint delays only itself and never the data path. A full queue drops its oldest
//! notice (counted in `NotificationsDropped`). Each request has the notifier's `timeout`;
//! a failure (no answer, an error, a status other than 2xx, a DingTalk `errcode` other than 0)
//! is retried `retries` times after `backoff`, doubling up to `maxBackoff`, then given up with
//! a warning (`NotificationsFailed`).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use parking_lot::Mutex;
use tokio::sync::Notify;

use super::body;
use super::notice::{now_ms, AlarmCounter, Notice};
use crate::agent::alarm::config::{NotifierConfig, NotifierKind};
use crate::agent::metrics::CounterGroup;
use crate::agent::stop::{self, Stop, StopHandle};

/// Notices waiting per notifier.
pub(crate) const QUEUE_MAX: usize = 1024;
/// Most bytes of an answer read (to see DingTalk's `errcode`).
pub(crate) const RESPONSE_BYTES_MAX: usize = 64 << 10;

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

#[derive(Debug, Default)]
struct Queue {
    items: Mutex<VecDeque<Notice>>,
    wake: Notify,
}

impl Queue {
    /// Adds a notice; whether the oldest one was dropped to make room.
    fn push(&self, n: Notice) -> bool {
        let dropped = {
            let mut q = self.items.lock();
            let dropped = q.len() >= QUEUE_MAX && q.pop_front().is_some();
            q.push_back(n);
            dropped
        };
        self.wake.notify_one();
        dropped
    }

    async fn pop(&self) -> Notice {
        loop {
            if let Some(n) = self.items.lock().pop_front() {
                return n;
            }
            self.wake.notified().await;
        }
    }
}

#[derive(Debug)]
struct Worker {
    queue: Arc<Queue>,
    stop: StopHandle,
}

/// The running notifiers of an agent.
#[derive(Debug)]
pub(crate) struct Dispatcher {
    configs: BTreeMap<String, NotifierConfig>,
    workers: BTreeMap<String, Worker>,
    counters: Arc<CounterGroup>,
}

impl Dispatcher {
    /// Starts one task per notifier (inside the tokio runtime).
    pub(crate) fn start(
        configs: &BTreeMap<String, NotifierConfig>,
        counters: Arc<CounterGroup>,
    ) -> Self {
        let mut workers = BTreeMap::new();
        for (name, cfg) in configs {
            let queue = Arc::new(Queue::default());
            let (handle, stop) = stop::channel();
            tokio::spawn(work(cfg.clone(), queue.clone(), counters.clone(), stop));
            workers.insert(
                name.clone(),
                Worker {
                    queue,
                    stop: handle,
                },
            );
        }
        Dispatcher {
            configs: configs.clone(),
            workers,
            counters,
        }
    }

    /// The configuration it runs.
    pub(crate) fn configs(&self) -> &BTreeMap<String, NotifierConfig> {
        &self.configs
    }

    /// Queues `n` for its notifiers (the alarm's list, or all). Never waits.
    pub(crate) fn send(&self, n: &Notice) {
        for (name, w) in &self.workers {
            let wanted = n
                .alarm
                .notifiers
                .as_ref()
                .is_none_or(|list| list.iter().any(|x| x == name));
            if wanted && w.queue.push(n.clone()) {
                self.counters.add(AlarmCounter::NotificationsDropped, 1);
                tracing::warn!(notifier = %name, max = QUEUE_MAX, "notifier queue full; dropped its oldest notice");
            }
        }
    }

    /// Stops every task.
    pub(crate) fn stop(self) {
        for w in self.workers.values() {
            w.stop.stop();
        }
    }
}

fn client(cfg: &NotifierConfig) -> HttpsClient {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(cfg.timeout));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new()).build(https)
}

async fn work(cfg: NotifierConfig, queue: Arc<Queue>, counters: Arc<CounterGroup>, mut stop: Stop) {
    let http = client(&cfg);
    loop {
        let n = tokio::select! {
            _ = stop.wait() => return,
            n = queue.pop() => n,
        };
        let mut backoff = cfg.backoff;
        let mut attempt = 0u64;
        loop {
            let r = tokio::select! {
                _ = stop.wait() => return,
                r = send_once(&http, &cfg, &n) => r,
            };
            match r {
                Ok(()) => {
                    counters.add(AlarmCounter::NotificationsSent, 1);
                    break;
                }
                Err(e) if attempt >= cfg.retries => {
                    counters.add(AlarmCounter::NotificationsFailed, 1);
                    tracing::warn!(notifier = %cfg.name, alarm = %n.alarm.id, state = n.state.word(), attempts = attempt + 1, error = %e, "notification not delivered; given up");
                    break;
                }
                Err(e) => {
                    attempt += 1;
                    tracing::debug!(notifier = %cfg.name, alarm = %n.alarm.id, attempt, error = %e, backoff_ms = backoff.as_millis() as u64, "notification failed; retrying");
                    if stop.sleep(backoff).await {
                        return;
                    }
                    backoff = (backoff * 2).min(cfg.max_backoff);
                }
            }
        }
    }
}

/// Why one notification attempt failed.
#[derive(Debug, thiserror::Error)]
enum NotifyError {
    /// The request could not be built (a bad URL).
    #[error("bad request for {notifier}: {source}")]
    Request {
        notifier: String,
        #[source]
        source: hyper::http::Error,
    },
    /// Connecting or sending failed.
    #[error("POST: {0}")]
    Post(#[source] hyper_util::client::legacy::Error),
    /// Not a 2xx answer.
    #[error("answered {0}")]
    Status(hyper::StatusCode),
    /// DingTalk answered a non-zero `errcode`.
    #[error("DingTalk errcode {code}: {message}")]
    DingTalk { code: i64, message: String },
    /// No answer in time.
    #[error("no answer within {ms} ms")]
    Timeout { ms: u64 },
}

/// One attempt: `Ok` on a 2xx answer (and DingTalk's `errcode` 0 when it sends one).
async fn send_once(
    http: &HttpsClient,
    cfg: &NotifierConfig,
    n: &Notice,
) -> Result<(), NotifyError> {
    let (payload, url) = match cfg.kind {
        NotifierKind::Log => {
            let b = body::webhook(n);
            tracing::info!(notifier = %cfg.name, "alarm notice: {}", String::from_utf8_lossy(&b));
            return Ok(());
        }
        NotifierKind::Webhook => (body::webhook(n), cfg.url.clone().unwrap_or_default()),
        NotifierKind::DingTalk => {
            let url = cfg.url.clone().unwrap_or_default();
            let url = match &cfg.secret {
                Some(s) => body::dingtalk_signed_url(&url, s, now_ms()),
                None => url,
            };
            (body::dingtalk(n), url)
        }
    };
    let req = hyper::Request::post(url.as_str())
        .header(
            hyper::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )
        .body(Full::new(Bytes::from(payload)))
        .map_err(|source| NotifyError::Request {
            notifier: cfg.name.clone(),
            source,
        })?;
    let exchange = async {
        let resp = http.request(req).await.map_err(NotifyError::Post)?;
        let status = resp.status();
        let answer = Limited::new(resp.into_body(), RESPONSE_BYTES_MAX)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        if !status.is_success() {
            return Err(NotifyError::Status(status));
        }
        if cfg.kind == NotifierKind::DingTalk {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&answer) {
                if let Some(code) = v
                    .get("errcode")
                    .and_then(|c| c.as_i64())
                    .filter(|c| *c != 0)
                {
                    return Err(NotifyError::DingTalk {
                        code,
                        message: v["errmsg"].to_string(),
                    });
                }
            }
        }
        Ok(())
    };
    match tokio::time::timeout(cfg.timeout, exchange).await {
        Ok(r) => r,
        Err(_) => Err(NotifyError::Timeout {
            ms: cfg.timeout.as_millis() as u64,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::alarm::config::AlarmSeverity;
    use crate::agent::alarm::{Alarm, NoticeState};

    fn notice(i: usize) -> Notice {
        Notice {
            alarm: Alarm {
                id: format!("a{i}"),
                name: format!("a{i}"),
                severity: AlarmSeverity::Warn,
                message: String::new(),
                agent: "a1".into(),
                raised_at_ms: 0,
                metric: None,
                value: None,
                threshold: None,
                notifiers: None,
                upstream: None,
            },
            state: NoticeState::Raised,
            cleared_at_ms: None,
            value: None,
        }
    }

    #[test]
    fn a_full_queue_drops_its_oldest_notice() {
        let q = Queue::default();
        for i in 0..QUEUE_MAX {
            assert!(!q.push(notice(i)));
        }
        assert!(q.push(notice(QUEUE_MAX)));
        let items = q.items.lock();
        assert_eq!(items.len(), QUEUE_MAX);
        assert_eq!(items.front().map(|n| n.alarm.id.as_str()), Some("a1"));
    }
}
