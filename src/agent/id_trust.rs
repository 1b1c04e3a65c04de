//! Which sources may hand the file channel an event id (`sluiceId`, docs/exactly-once.md):
//! the trust boundary of exactly-once.
//!
//! A file channel drops a put whose id it committed before, so an id is a claim over what
//! the channel will accept later: whoever can set it can make a collector drop events that
//! another sender had acknowledged. Ids are therefore taken only from sources that carry
//! Sluice's own hops (avro, thrift: an upstream Sluice channel numbered the events) or that
//! number their lines themselves (TAILDIR, spooldir). Every other source (http, otlp, kafka,
//! syslog, netcat, exec, Java sources, ...) removes a `sluiceId` its peer sent before the
//! interceptors run, so the channel numbers the event itself: at least once, never a loss.
//! `trustEventIds` overrides it per source, either way (an otlp source fed only by Sluice's
//! otlp sink, say, or an avro source open to clients that are not Sluice).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::agent::metrics::{CounterGroup, SourceCounter};
use sluice_core::dedup::EVENT_ID_HEADER;
use sluice_core::Event;

/// The key that sets a source's trust.
pub const TRUST_KEY: &str = "trustEventIds";

/// Source types whose event ids are taken by default: Sluice's hops and the sources that
/// number their own input (the file sources their lines, `nats` its messages by stream
/// sequence; Flume's short names, as the registry spells them).
const TRUSTED_BY_DEFAULT: &[&str] = &[
    "avro",
    "thrift",
    "TAILDIR",
    "spooldir",
    "nats",
    "kubernetes",
];

/// Least time between two log lines about removed ids, per source.
const STRIP_LOG_INTERVAL_MS: u64 = 10_000;

/// Whether a source of type `short` (the registry's short name) takes its events' ids
/// unless `trustEventIds` says otherwise.
pub fn trusted_by_default(short: &str) -> bool {
    TRUSTED_BY_DEFAULT.contains(&short)
}

/// A source's side of the boundary: keeps ids, or removes them, counting and logging.
#[derive(Debug, Default)]
pub(crate) struct IdGate {
    strip: bool,
    counters: Option<Arc<CounterGroup>>,
    /// When the next line may be logged (ms since the epoch).
    log_after_ms: AtomicU64,
    /// Ids removed since the last line.
    since: AtomicU64,
}

impl IdGate {
    /// A gate that keeps ids when `trusted`, else removes them.
    pub(crate) fn new(trusted: bool) -> Self {
        IdGate {
            strip: !trusted,
            ..IdGate::default()
        }
    }

    /// Whether ids are kept.
    pub(crate) fn trusts(&self) -> bool {
        !self.strip
    }

    /// Counts removed ids into `counters` (`EventIdStrippedCount`).
    pub(crate) fn count_into(&mut self, counters: Arc<CounterGroup>) {
        self.counters = Some(counters);
    }

    /// Removes the `sluiceId` header of every event when the source does not trust its
    /// peers' ids. A batch without one is not touched (no event is copied).
    pub(crate) fn admit(&self, events: &mut [Event]) {
        if !self.strip {
            return;
        }
        let mut n = 0u64;
        for e in events.iter_mut() {
            if e.headers.contains_key(EVENT_ID_HEADER) {
                e.headers.remove(EVENT_ID_HEADER);
                n += 1;
            }
        }
        if n > 0 {
            self.removed(n);
        }
    }

    fn removed(&self, n: u64) {
        if let Some(c) = &self.counters {
            c.add(SourceCounter::EventIdStripped, n);
        }
        self.since.fetch_add(n, Ordering::Relaxed);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let after = self.log_after_ms.load(Ordering::Relaxed);
        let due = now >= after
            && self
                .log_after_ms
                .compare_exchange(
                    after,
                    now.saturating_add(STRIP_LOG_INTERVAL_MS),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok();
        if due {
            let events = self.since.swap(0, Ordering::Relaxed);
            tracing::warn!(
                events,
                "removed the sluiceId header of events from peers whose event ids this source does not trust; the channel numbers them itself (set {TRUST_KEY} = true on a source fed only by Sluice hops)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_id(n: u64) -> Event {
        Event::new(format!("e{n}")).header(EVENT_ID_HEADER, format!("{:016x}:{n}", 7))
    }

    #[test]
    fn an_untrusting_gate_removes_ids_and_counts_them_and_a_trusting_one_keeps_them() {
        let counters = CounterGroup::source();
        let mut gate = IdGate::new(false);
        gate.count_into(counters.clone());
        let mut batch = vec![with_id(1), Event::new("plain").header("k", "v"), with_id(2)];
        gate.admit(&mut batch);
        assert!(batch
            .iter()
            .all(|e| !e.headers.contains_key(EVENT_ID_HEADER)));
        assert_eq!(batch[1].headers.get("k"), Some("v"));
        assert_eq!(counters.count(SourceCounter::EventIdStripped), 2);
        let mut kept = vec![with_id(3)];
        IdGate::new(true).admit(&mut kept);
        assert!(kept[0].headers.contains_key(EVENT_ID_HEADER));
    }

    #[test]
    fn only_sluice_hops_and_self_numbering_file_sources_are_trusted_by_default() {
        for t in ["avro", "thrift", "TAILDIR", "spooldir"] {
            assert!(trusted_by_default(t), "{t}");
        }
        for t in [
            "http",
            "otlp",
            "kafka",
            "netcat",
            "syslogtcp",
            "exec",
            "seq",
            "java",
        ] {
            assert!(!trusted_by_default(t), "{t}");
        }
    }
}
