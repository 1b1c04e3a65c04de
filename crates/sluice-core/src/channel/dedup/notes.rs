//! What the deduplication state says in the log, each at most every
//! [`DEDUP_LOG_INTERVAL_MS`]: puts dropped as duplicates, ids refused, and new origins the
//! full table did not remember; and, counted always, puts dropped as duplicates of a
//! different event (conflicts).

use std::sync::atomic::{AtomicU64, Ordering};

use super::conflicts::Conflict;
use super::{now_ms, Dedup, DEDUP_LOG_INTERVAL_MS};
use crate::dedup::{DedupLimits, EVENT_ID_HEADER};
use crate::event::Event;

/// Whether a line limited by `after` (ms) may be logged now; if so, the next one waits
/// [`DEDUP_LOG_INTERVAL_MS`].
fn may_log(after_ms: &AtomicU64) -> bool {
    let now = now_ms();
    let after = after_ms.load(Ordering::Relaxed);
    now >= after
        && after_ms
            .compare_exchange(
                after,
                now + DEDUP_LOG_INTERVAL_MS,
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok()
}

impl Dedup {
    /// Counts refused ids and logs, at most every [`DEDUP_LOG_INTERVAL_MS`], what a
    /// transaction dropped as duplicates (the first one's id) and how many ids it refused.
    pub(super) fn note(&self, puts: &[Event], dropped_at: &[usize], refused: u64) {
        let total_refused = self.refused.fetch_add(refused, Ordering::Relaxed) + refused;
        if !may_log(&self.log_after_ms) {
            return;
        }
        let first = dropped_at
            .first()
            .and_then(|&i| puts[i].headers.get(EVENT_ID_HEADER))
            .unwrap_or("");
        let total_dropped = self.duplicates.load(Ordering::Relaxed) + dropped_at.len() as u64;
        if refused > 0 {
            tracing::warn!(
                refused,
                total_refused,
                "puts carried an event id this channel does not take (malformed, past the id limit, wider than one event, or one of its own ids not given yet); they were given fresh ids"
            );
        }
        if !dropped_at.is_empty() {
            tracing::info!(
                dropped = dropped_at.len(),
                total_dropped,
                first_id = first,
                "puts dropped as duplicates: the channel committed their event ids before"
            );
        }
    }

    /// Logs, at most every [`DEDUP_LOG_INTERVAL_MS`], that the table was full of recent
    /// origins and did not remember `origin`.
    pub(super) fn note_turned_away(&self, origin: u64, total: u64, limits: DedupLimits) {
        if !may_log(&self.turned_away_log_after_ms) {
            return;
        }
        tracing::warn!(
            origin = %format!("{origin:016x}"),
            total_turned_away = total,
            dedup_origins = limits.origins,
            recent_s = limits.recent_ms / 1000,
            "the deduplication table is full of event-id origins committed recently; a new origin was not remembered, so a resend of its events would be committed again (at least once); raise the channel's dedupOrigins if these are real upstreams"
        );
    }

    /// Counts `conflicts` and logs, at most every [`DEDUP_LOG_INTERVAL_MS`], the first one:
    /// its origin and id, and the digests of the body kept and of the body dropped.
    pub(super) fn note_conflicts(&self, conflicts: &[Conflict]) {
        let n = conflicts.len() as u64;
        let total = self.conflicts.fetch_add(n, Ordering::Relaxed) + n;
        let Some(first) = conflicts.first() else {
            return;
        };
        if !may_log(&self.conflicts_log_after_ms) {
            return;
        }
        tracing::warn!(
            origin = %format!("{:016x}", first.span.origin),
            id = %first.span,
            kept_bytes = first.kept >> 32,
            kept_crc = %format!("{:08x}", first.kept & 0xffff_ffff),
            dropped_bytes = first.dropped >> 32,
            dropped_crc = %format!("{:08x}", first.dropped & 0xffff_ffff),
            conflicts = n,
            total_conflicts = total,
            "puts dropped as duplicates carried an event id this channel committed for a different event: two upstreams number events under one origin (a channel copied with its files, a cloned VM or a restored snapshot that kept its identity, or a client forging ids), and the dropped events are lost here; find the upstreams of this origin and give one a new origin (docs/exactly-once.md, \"Copies\")"
        );
    }
}
