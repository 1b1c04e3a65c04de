//! What a scrape of the monitoring server may cost the agent (issue 64, item 9).
//!
//! Rendering `/metrics` (Flume's JSON or the Prometheus exposition, which also reads
//! `/proc/self`) and `/history` is the one answer of the server whose cost grows with the
//! agent. A client asking for it in a loop, or many asking at once, used to render it on the
//! runtime's workers as often as they asked, and took the sources' CPU.
//!
//! [`Renders`] bounds that: renders run one at a time, on a blocking thread (not on a worker
//! the sources need), and take at most a [`RENDER_SHARE_DIVISOR`]th of one core: each starts
//! at least [`RENDER_SHARE_DIVISOR`] times the previous render's duration after that one
//! started (at least [`RENDER_INTERVAL_MIN`], at most [`RENDER_INTERVAL_MAX`]). Requests that
//! waited while a render of their kind started share its body. No answer is stale: a request
//! is answered with a body whose rendering started after the request arrived. What it costs a
//! looping scraper is a wait of one interval per answer (10 ms for a small agent, whose
//! Prometheus render takes about 0.4 ms); nothing is refused. `/health`, `/ready` and the
//! status page's HTML do not come here: they cost next to nothing.
//!
//! Cancel safety: a request that goes away while waiting leaves its place in the queue; a
//! render it started finishes on its thread and is kept for the next request of its kind.

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Bytes;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Renders take at most one core divided by this: the next starts this many times the last
/// one's duration after it started.
pub(crate) const RENDER_SHARE_DIVISOR: u32 = 20;
/// The least time between the starts of two renders: a scraper in a loop gets at most 100
/// answers a second (Prometheus scrapes every 15 s by default, the status page every second).
pub(crate) const RENDER_INTERVAL_MIN: Duration = Duration::from_millis(10);
/// The most time between the starts of two renders, however long one took (a render slowed
/// by a loaded machine does not hold the next scrape longer).
pub(crate) const RENDER_INTERVAL_MAX: Duration = Duration::from_secs(1);

/// A body the server renders, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Flume's JSON.
    Json,
    /// The Prometheus exposition in OpenMetrics text.
    OpenMetrics,
    /// The Prometheus exposition in text 0.0.4.
    Text004,
    /// The status page's recent samples.
    History,
}

/// Why a body could not be rendered.
#[derive(Debug, thiserror::Error)]
#[error("rendering {kind:?} failed: {why}")]
pub(crate) struct RenderError {
    kind: Kind,
    why: String,
}

/// The last body of each kind and when its render started.
#[derive(Debug, Default)]
struct Last {
    /// When the next render may start.
    next: Option<Instant>,
    bodies: Vec<(Kind, Instant, Bytes)>,
}

impl Last {
    /// The body of `kind` whose render started at or after `arrived`.
    fn fresh(&self, kind: Kind, arrived: Instant) -> Option<Bytes> {
        self.bodies
            .iter()
            .find(|(k, started, _)| *k == kind && *started >= arrived)
            .map(|(_, _, body)| body.clone())
    }

    fn keep(&mut self, kind: Kind, started: Instant, body: Bytes) {
        self.bodies.retain(|(k, _, _)| *k != kind);
        self.bodies.push((kind, started, body));
    }
}

/// The renders of one monitoring server: one at a time, paced, shared.
#[derive(Debug, Default)]
pub(crate) struct Renders {
    last: Mutex<Last>,
}

impl Renders {
    /// The body of `kind`, rendered by `render` on a blocking thread after this call began,
    /// or shared from a render of its kind that started after this call began.
    pub(crate) async fn body(
        self: &Arc<Self>,
        kind: Kind,
        render: impl FnOnce() -> String + Send + 'static,
    ) -> Result<Bytes, RenderError> {
        let arrived = Instant::now();
        // tokio's mutex is fair: requests are served in the order they came.
        let mut last = self.last.lock().await;
        if let Some(body) = last.fresh(kind, arrived) {
            return Ok(body);
        }
        if let Some(next) = last.next {
            tokio::time::sleep_until(next).await;
        }
        let started = Instant::now();
        last.next = Some(started + RENDER_INTERVAL_MIN);
        let body = tokio::task::spawn_blocking(move || Bytes::from(render()))
            .await
            .map_err(|e| RenderError {
                kind,
                why: e.to_string(),
            })?;
        let spacing = started
            .elapsed()
            .saturating_mul(RENDER_SHARE_DIVISOR)
            .clamp(RENDER_INTERVAL_MIN, RENDER_INTERVAL_MAX);
        last.next = Some(started + spacing);
        last.keep(kind, started, body.clone());
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(start_paused = true)]
    async fn renders_in_a_loop_start_at_least_the_interval_apart_and_are_never_stale() {
        let renders = Arc::new(Renders::default());
        let count = Arc::new(AtomicUsize::new(0));
        let begin = Instant::now();
        for i in 0..5 {
            // The paused clock stands still during a render: each request comes a little
            // after the previous answer, as a real client's does.
            tokio::time::advance(Duration::from_millis(1)).await;
            let c = count.clone();
            let body = renders
                .body(Kind::Json, move || {
                    c.fetch_add(1, Ordering::Relaxed);
                    format!("{i}")
                })
                .await
                .unwrap();
            assert_eq!(
                body,
                Bytes::from(format!("{i}")),
                "rendered for this request"
            );
        }
        assert_eq!(count.load(Ordering::Relaxed), 5);
        assert!(Instant::now() - begin >= RENDER_INTERVAL_MIN * 4);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_waiting_together_share_one_render_of_their_kind() {
        let renders = Arc::new(Renders::default());
        // One render first, so the next ones wait for the interval together.
        renders.body(Kind::Json, || "first".into()).await.unwrap();
        tokio::time::advance(Duration::from_millis(1)).await;
        let count = Arc::new(AtomicUsize::new(0));
        let mut waiting = Vec::new();
        for _ in 0..8 {
            let (r, c) = (renders.clone(), count.clone());
            waiting.push(tokio::spawn(async move {
                r.body(Kind::Json, move || {
                    c.fetch_add(1, Ordering::Relaxed);
                    "shared".into()
                })
                .await
                .unwrap()
            }));
        }
        for w in waiting {
            assert_eq!(w.await.unwrap(), Bytes::from("shared"));
        }
        assert_eq!(count.load(Ordering::Relaxed), 1);
    }
}
