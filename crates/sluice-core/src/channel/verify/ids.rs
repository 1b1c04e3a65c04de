//! The event ids against the deduplication state (docs/exactly-once.md), for `channel
//! verify`: every queued event's id must be held by the state an open rebuilds (else a resend
//! of it would be put twice), no id may be queued twice, and a checkpoint's next own id must
//! lie above every own id it holds (else the channel would give an id twice). An id whose
//! origin the state forgot (expiry, `dedupOrigins`) or that lies below the origin's oldest
//! kept range (`dedupRangesPerOrigin`) is not a problem: the state only forgets by design.

use std::path::Path;

use super::report::{problem, Problem};
use crate::checkpoint::CheckpointImage;
use crate::dedup::{DedupTable, IdSpan, EVENT_ID_HEADER};
use crate::event::Event;

/// One queued event's id and where its record is.
pub(super) struct QueuedId {
    pub seq: u64,
    pub span: IdSpan,
    pub file: std::path::PathBuf,
    pub offset: u64,
}

/// The queued id of `event`, if it carries one.
pub(super) fn queued_id(event: &Event, seq: u64, file: &Path, offset: u64) -> Option<QueuedId> {
    let span = IdSpan::parse(event.headers.get(EVENT_ID_HEADER)?)?;
    Some(QueuedId {
        seq,
        span,
        file: file.to_owned(),
        offset,
    })
}

/// Checks the queued ids against `table` (the state an open rebuilds).
pub(super) fn check_queued(table: &DedupTable, mut ids: Vec<QueuedId>, out: &mut Vec<Problem>) {
    for q in &ids {
        let Some(state) = table.origin(q.span.origin) else {
            continue;
        };
        let forgotten = state.ranges.first().is_none_or(|r| q.span.hi <= r.0);
        if !forgotten && !table.contains(&q.span) {
            out.push(problem(
                &q.file,
                q.offset,
                format!(
                    "queued event seq {} carries id {} that the deduplication state does not hold: a resend of it would be put twice",
                    q.seq, q.span
                ),
            ));
        }
    }
    ids.sort_by_key(|q| (q.span.origin, q.span.lo, q.seq));
    for w in ids.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if a.span.origin == b.span.origin && b.span.lo < a.span.hi {
            out.push(problem(
                &b.file,
                b.offset,
                format!(
                    "queued event seq {} carries id {}, which overlaps id {} of queued event seq {}: the same event is queued twice",
                    b.seq, b.span, a.span, a.seq
                ),
            ));
        }
    }
}

/// Checks that a checkpoint's next own id lies above every own id it holds.
pub(super) fn check_image(path: &Path, image: &CheckpointImage, out: &mut Vec<Problem>) {
    let d = &image.dedup;
    if d.own_origin == 0 {
        return;
    }
    let held = d
        .origins
        .iter()
        .find(|(o, _)| *o == d.own_origin)
        .and_then(|(_, s)| s.ranges.last().map(|r| r.1));
    if let Some(max) = held.filter(|m| *m >= d.own_next) {
        out.push(problem(
            path,
            0,
            format!(
                "the next own id {} is not above the highest own id held, {max}: the channel would give ids twice",
                d.own_next
            ),
        ));
    }
}
