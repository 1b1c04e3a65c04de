//! Reload on demand: SIGHUP and `POST /reload` on the monitoring server ask the running agent
//! to read its file again now, with the same rules as the `-i` poll (only changed components
//! restart; a file with errors leaves the running configuration as it is). This module is the
//! HTTP side and the vocabulary ([`Trigger`], [`Outcome`], the counters); the CLI's main loop
//! does the reload (`src/cli/agent_reload.rs`).
//!
//! The HTTP endpoint is off unless the CLI installs a [`Reloader`] (once per process, which
//! is one agent): the monitoring server's state stays as it is and needs no new field.
//! `POST /reload` is answered only for loopback peers (an IPv4-mapped `::ffff:127.0.0.1` too)
//! unless `-Dflume.monitoring.reload=any` (`off` disables it): anyone who can reach it can
//! make the agent re-read its file. A request sent by another site's page is refused before
//! it gets here ([`super::own_host`]).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hyper::{Method, StatusCode};
use tokio::sync::{mpsc, oneshot};

use crate::agent::metrics::counter::counters;
use crate::agent::metrics::CounterGroup;

/// How long `POST /reload` waits for the outcome (a restart of components is bounded by
/// the shutdown bound of each; more than this answers 504 and the reload goes on).
pub(crate) const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);
/// Reload requests queued at once; more are answered 503 (one is being applied).
pub(crate) const QUEUE_MAX: usize = 4;

counters! {
    /// A counter of the agent's reloads (`AGENT.<name>`).
    ReloadCounter, kind "AGENT", list RELOAD_COUNTERS {
        /// Reloads asked for (poll, SIGHUP, POST /reload), whatever their outcome.
        Request = "ReloadRequestCount",
        /// Reloads that restarted changed components.
        Applied = "ReloadAppliedCount",
        /// Reloads of a file describing the running configuration.
        Unchanged = "ReloadUnchangedCount",
        /// Reloads of a file with errors (the running configuration stayed).
        Rejected = "ReloadRejectedCount",
        /// Reloads that failed to read or apply (the running configuration stayed).
        Failed = "ReloadFailedCount",
        /// Reloads refused because they would leave events behind (a file channel that
        /// holds events moved); the running configuration stayed.
        Refused = "ReloadRefusedCount",
    }
}

/// The counters of reloads, shown as `AGENT.<agent>` in `/metrics`.
pub fn counters() -> Arc<CounterGroup> {
    CounterGroup::new("AGENT", RELOAD_COUNTERS)
}

/// What asked for a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The `-i` poll saw a file or URI change.
    Poll,
    /// The ZooKeeper watch on the agent's znode fired.
    Watch,
    /// SIGHUP.
    Signal,
    /// `POST /reload`.
    Http,
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Trigger::Poll => "file change",
            Trigger::Watch => "znode change",
            Trigger::Signal => "SIGHUP",
            Trigger::Http => "POST /reload",
        })
    }
}

/// How a reload ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The file describes the running configuration.
    Unchanged,
    /// The changed components were restarted.
    Applied,
    /// The file has errors (rendered with file:line:key); the running configuration stays.
    Rejected(Vec<String>),
    /// Reading the file or applying it failed; the running configuration stays.
    Failed(String),
    /// Applying the file would leave events behind (a file channel that holds events would
    /// move: which, from where to where, how many); nothing changed.
    Refused(String),
}

impl Outcome {
    /// Counts the outcome in `counters` (and the request).
    pub fn count(&self, counters: &CounterGroup) {
        counters.add(ReloadCounter::Request, 1);
        counters.add(
            match self {
                Outcome::Unchanged => ReloadCounter::Unchanged,
                Outcome::Applied => ReloadCounter::Applied,
                Outcome::Rejected(_) => ReloadCounter::Rejected,
                Outcome::Failed(_) => ReloadCounter::Failed,
                Outcome::Refused(_) => ReloadCounter::Refused,
            },
            1,
        );
    }

    /// The HTTP answer: status and a JSON body.
    pub(crate) fn answer(&self) -> (StatusCode, String) {
        let (status, outcome, errors) = match self {
            Outcome::Unchanged => (StatusCode::OK, "unchanged", Vec::new()),
            Outcome::Applied => (StatusCode::OK, "applied", Vec::new()),
            Outcome::Rejected(e) => (StatusCode::UNPROCESSABLE_ENTITY, "rejected", e.clone()),
            Outcome::Failed(e) => (StatusCode::INTERNAL_SERVER_ERROR, "failed", vec![e.clone()]),
            Outcome::Refused(e) => (StatusCode::CONFLICT, "refused", vec![e.clone()]),
        };
        let body = serde_json::json!({ "outcome": outcome, "errors": errors });
        (status, format!("{body}\n"))
    }
}

/// Who may `POST /reload` (`-Dflume.monitoring.reload`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Nobody: 403.
    Off,
    /// Loopback peers only (the default).
    Loopback,
    /// Any peer that reaches the monitoring server.
    Any,
}

impl Access {
    /// Parses `off`, `loopback` or `any`.
    pub fn parse(text: &str) -> Option<Access> {
        match text.trim().to_ascii_lowercase().as_str() {
            "off" | "false" => Some(Access::Off),
            "loopback" => Some(Access::Loopback),
            "any" => Some(Access::Any),
            _ => None,
        }
    }
}

/// A request to the main loop and where to send its outcome.
pub type Request = (Trigger, oneshot::Sender<Outcome>);

/// The HTTP side's handle on the main loop.
#[derive(Debug)]
pub(crate) struct Reloader {
    tx: mpsc::Sender<Request>,
    access: Access,
}

static RELOADER: OnceLock<Reloader> = OnceLock::new();

/// Installs the process's reloader; returns the receiving end for the main loop, or `None`
/// when one was installed already.
pub fn install(access: Access) -> Option<mpsc::Receiver<Request>> {
    let (tx, rx) = mpsc::channel(QUEUE_MAX);
    RELOADER.set(Reloader { tx, access }).ok().map(|()| rx)
}

/// Answers `/reload` (`None` for any other path): status, content type, body.
pub(crate) async fn answer(
    method: &Method,
    path: &str,
    peer: Option<SocketAddr>,
) -> Option<(StatusCode, &'static str, String)> {
    if path != "/reload" {
        return None;
    }
    let text = |status, msg: &str| Some((status, "text/plain", format!("{msg}\n")));
    if method != Method::POST {
        return text(StatusCode::METHOD_NOT_ALLOWED, "use POST /reload");
    }
    let Some(r) = RELOADER.get() else {
        return text(StatusCode::NOT_FOUND, "reload over HTTP is not available");
    };
    let allowed = match r.access {
        Access::Off => false,
        Access::Any => true,
        Access::Loopback => peer.is_some_and(|p| p.ip().to_canonical().is_loopback()),
    };
    if !allowed {
        return text(
            StatusCode::FORBIDDEN,
            "reload over HTTP is off for this address (-Dflume.monitoring.reload=loopback|any|off)",
        );
    }
    let (tx, rx) = oneshot::channel();
    if r.tx.try_send((Trigger::Http, tx)).is_err() {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "reloads are queued already; try again",
        );
    }
    match tokio::time::timeout(ANSWER_TIMEOUT, rx).await {
        Ok(Ok(o)) => {
            let (status, body) = o.answer();
            Some((status, "application/json", body))
        }
        Ok(Err(_)) => text(StatusCode::SERVICE_UNAVAILABLE, "the agent is stopping"),
        Err(_) => text(
            StatusCode::GATEWAY_TIMEOUT,
            "the reload takes longer than 60 s; its outcome will be in the log and /metrics",
        ),
    }
}
