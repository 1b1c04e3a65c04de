//! Whether a source accepts input yet: a network source says so once its sockets are bound
//! (and its TLS set up), any other source as it starts. The runtime waits for it before the
//! agent reports that it started, so a client that connects on seeing `agent started` is
//! never refused.

use std::sync::Arc;

use tokio::sync::watch;

/// Where a source is in its start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Readiness {
    /// Not accepting input yet.
    Starting,
    /// Accepting input (its sockets are bound).
    Accepting,
    /// Its last start failed (the supervisor restarts it with backoff); why.
    Failed(String),
}

/// The source's side: says when it accepts input. Cloned into every restart of the source.
#[derive(Clone, Debug)]
pub struct Ready(Arc<watch::Sender<Readiness>>);

/// The runtime's side: waits for the source.
pub(crate) type ReadyWait = watch::Receiver<Readiness>;

impl Ready {
    /// A new pair, `Starting`.
    pub(crate) fn new() -> (Ready, ReadyWait) {
        let (tx, rx) = watch::channel(Readiness::Starting);
        (Ready(Arc::new(tx)), rx)
    }

    /// One nobody waits for (tests and benches that run a source on its own).
    pub(crate) fn detached() -> Ready {
        Ready::new().0
    }

    /// The source accepts input.
    pub(crate) fn accepting(&self) {
        self.0.send_replace(Readiness::Accepting);
    }

    /// The source's start failed with `why`.
    pub(crate) fn failed(&self, why: impl std::fmt::Display) {
        self.0.send_replace(Readiness::Failed(why.to_string()));
    }
}

impl Default for Ready {
    fn default() -> Self {
        Ready::detached()
    }
}

/// The longest the runtime waits for its sources to accept input before it reports how far
/// they got (a bind takes microseconds; this bounds a source stuck before its bind).
pub(crate) const READY_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Waits until every source of `waits` accepts input or has failed its start, at most
/// `bound` in all; returns the sources that do not accept input, each with why.
pub(crate) async fn wait_all(
    waits: &std::collections::BTreeMap<String, ReadyWait>,
    bound: std::time::Duration,
) -> Vec<(String, String)> {
    let deadline = tokio::time::Instant::now() + bound;
    let mut not_ready = Vec::new();
    for (name, wait) in waits {
        let mut wait = wait.clone();
        let why =
            match tokio::time::timeout_at(deadline, wait.wait_for(|s| *s != Readiness::Starting))
                .await
            {
                Ok(Ok(state)) => match &*state {
                    Readiness::Failed(why) => Some(why.clone()),
                    _ => None,
                },
                Ok(Err(_)) => Some("its task ended".to_owned()),
                Err(_) => Some(format!("not accepting input after {} s", bound.as_secs())),
            };
        if let Some(why) = why {
            not_ready.push((name.clone(), why));
        }
    }
    not_ready
}
