//! The live tap (`sluice tap`, `GET /tap` on the monitoring server): a sample of the events
//! passing a point of the running agent, as JSON lines. Points: a source's output (the batch
//! it hands to its channel processor, before interceptors), a channel's puts (after
//! interceptors and the selector) and a sink's takes.
//!
//! It never slows the data path: with no tap attached a point costs one relaxed atomic load
//! per batch; attached, a point takes a lock per batch, and only the sampled events are
//! copied and rendered, at most [`Subscriber`]'s rate (events per second, a token bucket), at
//! most [`BATCH_SAMPLE_MAX`] per batch, into a bounded queue that drops (and counts) what the
//! client does not read in time. A hub is process-wide (one agent per process).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::mpsc;

use sluice_core::Event;

/// Events one tap may be sent per second at most, by default.
pub(crate) const RATE_DEFAULT: u32 = 100;
/// Largest rate a tap may ask for.
pub(crate) const RATE_MAX: u32 = 10_000;
/// Events sampled from one batch at most (spread over the batch).
pub(crate) const BATCH_SAMPLE_MAX: usize = 8;
/// Body bytes shown per event; the rest is cut (`"truncated": true`).
pub(crate) const BODY_BYTES_MAX: usize = 4096;
/// Lines queued per tap before the newest are dropped.
pub(crate) const QUEUE_LINES_MAX: usize = 1024;
/// Taps attached at once.
pub(crate) const TAPS_MAX: usize = 4;

/// Where events are seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Point {
    /// A source's output.
    Source,
    /// A channel's puts.
    Channel,
    /// A sink's takes.
    Sink,
}

impl Point {
    fn name(self) -> &'static str {
        match self {
            Point::Source => "source",
            Point::Channel => "channel",
            Point::Sink => "sink",
        }
    }
}

/// One attached tap.
#[derive(Debug)]
struct Subscriber {
    id: u64,
    component: Option<String>,
    rate: f64,
    tokens: f64,
    refilled: Instant,
    tx: mpsc::Sender<String>,
    dropped: Arc<AtomicU64>,
}

impl Subscriber {
    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + dt * self.rate).min(self.rate.max(1.0));
        self.refilled = now;
    }
}

#[derive(Debug, Default)]
struct Hub {
    attached: AtomicUsize,
    next_id: AtomicU64,
    subs: Mutex<Vec<Subscriber>>,
}

static HUB: std::sync::LazyLock<Hub> = std::sync::LazyLock::new(Hub::default);

/// An attached tap: its lines arrive on `lines`; dropping it detaches.
#[derive(Debug)]
pub(crate) struct Tap {
    id: u64,
    /// JSON lines, one per sampled event.
    pub lines: mpsc::Receiver<String>,
}

impl Drop for Tap {
    fn drop(&mut self) {
        let mut subs = HUB.subs.lock();
        subs.retain(|s| s.id != self.id);
        HUB.attached.store(subs.len(), Ordering::Relaxed);
    }
}

/// Attaches a tap on `component` (every component when `None`) at `rate` events per second;
/// `None` when [`TAPS_MAX`] are attached already.
pub(crate) fn attach(component: Option<String>, rate: u32) -> Option<Tap> {
    let mut subs = HUB.subs.lock();
    if subs.len() >= TAPS_MAX {
        return None;
    }
    let (tx, rx) = mpsc::channel(QUEUE_LINES_MAX);
    let id = HUB.next_id.fetch_add(1, Ordering::Relaxed);
    let dropped = Arc::new(AtomicU64::new(0));
    let rate = f64::from(rate.clamp(1, RATE_MAX));
    subs.push(Subscriber {
        id,
        component,
        rate,
        tokens: rate.min(BATCH_SAMPLE_MAX as f64),
        refilled: Instant::now(),
        tx,
        dropped,
    });
    HUB.attached.store(subs.len(), Ordering::Relaxed);
    Some(Tap { id, lines: rx })
}

/// Whether any tap is attached (the data path's only cost when none is).
#[inline]
pub(crate) fn attached() -> bool {
    HUB.attached.load(Ordering::Relaxed) > 0
}

/// Offers a batch seen at `point` of `component` to the attached taps.
#[inline]
pub(crate) fn offer(point: Point, component: &str, events: &[Event]) {
    if attached() && !events.is_empty() {
        offer_slow(point, component, events);
    }
}

#[cold]
fn offer_slow(point: Point, component: &str, events: &[Event]) {
    let now = Instant::now();
    let mut subs = HUB.subs.lock();
    for s in subs.iter_mut() {
        if s.component.as_deref().is_some_and(|c| c != component) {
            continue;
        }
        s.refill(now);
        let n = (s.tokens.floor() as usize)
            .min(BATCH_SAMPLE_MAX)
            .min(events.len());
        if n == 0 {
            continue;
        }
        s.tokens -= n as f64;
        let step = events.len() / n;
        for e in events.iter().step_by(step.max(1)).take(n) {
            if s.tx.try_send(render(point, component, e)).is_err() {
                s.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// One event as a JSON line (without the newline).
pub(crate) fn render(point: Point, component: &str, e: &Event) -> String {
    let cut = e.body.len() > BODY_BYTES_MAX;
    let body = String::from_utf8_lossy(&e.body[..e.body.len().min(BODY_BYTES_MAX)]);
    let mut v = serde_json::json!({
        "point": point.name(),
        "component": component,
        "headers": e.headers.to_map(),
        "body": body,
    });
    if cut {
        v["truncated"] = serde_json::Value::Bool(true);
    }
    v.to_string()
}
