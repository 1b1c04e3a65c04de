//! Making room under the byte bound (`capacityBytes`) for a put that does not fit: reclaim
//! what taken events still occupy, then wait for takes, then refuse.
//!
//! Reclaiming rolls every data directory whose active segment holds only taken events (so
//! the next checkpoint can delete it), runs a checkpoint (which deletes every segment whose
//! events are all taken and copies the last few live events of an old segment forward), and
//! measures the directories anew. One put reclaims at a time; the others wait for it and
//! look again. A reclaim runs only when takes have committed since the last one (otherwise
//! it could free nothing), or when [`RECLAIM_STALE`] has passed. A put still without room
//! waits for the next take commit (at most [`WAIT_STEP`] at a time) until its `keep-alive`
//! runs out, and is then refused like a put at `capacity`.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::checkpointer;
use super::inner::Inner;

/// The longest a put waits for a take before it looks again.
const WAIT_STEP: Duration = Duration::from_millis(50);
/// A reclaim runs again after this long even if no take committed (an outside change, a
/// copy forward that finished).
const RECLAIM_STALE: Duration = Duration::from_secs(1);

/// Reserves `cost` bytes under the bound, reclaiming and waiting up to `wait` for them;
/// whether they were reserved.
pub(super) fn make_room(inner: &Inner, cost: u64, wait: Duration) -> bool {
    let bound = &inner.bound;
    let now = Instant::now();
    let deadline = now.checked_add(wait).unwrap_or(now);
    loop {
        if bound.try_reserve(cost, inner.checkpoint_reserve_bytes()) {
            return true;
        }
        if inner.check_open().is_err() || inner.capacity.is_shut() {
            return false;
        }
        reclaim(inner);
        if bound.try_reserve(cost, inner.checkpoint_reserve_bytes()) {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        let step = (deadline - now).min(WAIT_STEP);
        let mut g = bound.room.0.lock();
        let _ = bound.room.1.wait_for(&mut g, step);
    }
}

/// Rolls the directories whose active segment holds only taken events, checkpoints and
/// measures, if a take committed since the last reclaim (or it is stale).
fn reclaim(inner: &Inner) {
    let bound = &inner.bound;
    let mut last = bound.reclaim.lock();
    let stale = last.is_none_or(|t| t.elapsed() >= RECLAIM_STALE);
    let took = bound.takes_since_reclaim.swap(0, Ordering::AcqRel);
    if took == 0 && !stale {
        return;
    }
    roll_taken_segments(inner);
    // A checkpoint measures the directories once it has deleted what it could.
    if let Err(e) = checkpointer::checkpoint(inner) {
        tracing::warn!(error = %e, "a checkpoint to make room under capacityBytes failed");
        bound.measure(inner.fs.as_ref(), &inner.config);
    }
    *last = Some(Instant::now());
}

/// Rolls each data directory whose active segment holds records but no live event: once the
/// checkpoint's replay position is past it, it can go.
fn roll_taken_segments(inner: &Inner) {
    for w in &inner.writers {
        let (segment, offset) = w.position();
        if segment == 0 || offset <= crate::wal::segment::SEGMENT_HEADER_BYTES {
            continue;
        }
        if inner.state.lock().live_in(segment) > 0 {
            continue;
        }
        if let Err(e) = w.roll_now() {
            let dir = inner.config.data_dirs.get(w.index());
            tracing::warn!(dir = ?dir, error = %e, "could not roll a segment of taken events to make room under capacityBytes");
        }
    }
}
