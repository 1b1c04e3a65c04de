//! Pacing a file source to its channels' takers (issue 69). TAILDIR and spooldir read a file
//! far faster than a sink drains the channel; the events beyond the channel's event cache
//! are then read back from the segments by every take (CRC, decode, allocation: 27 % more
//! CPU per event in W2 with a 16 MiB cache). So before it reads, a file source waits while
//! a channel's untaken events already cost more than [`CACHE_PART`] of its cache and a taker
//! committed a take within [`TAKER_IDLE`], as Fluent Bit pauses an input above its
//! `mem_buf_limit` and resumes it below. A stopped or stuck sink does not stop the source:
//! once no take committed for [`TAKER_IDLE`], it reads at full speed and the channel is the
//! buffer, its capacity ruling as before. Nothing durable changes: the source waits between
//! batches, after its committed positions are saved.

use std::time::Duration;

use sluice_core::Backlog;

use super::SourceCtx;

/// A channel whose takers have not committed a take for this long is not paced to.
pub(crate) const TAKER_IDLE: Duration = Duration::from_secs(1);

/// How often a paced source looks at the backlog again (a look is the queue lock for an
/// instant).
pub(crate) const PACE_POLL: Duration = Duration::from_millis(5);

/// The part of the event cache (numerator, denominator) the untaken events may cost before
/// the source waits: the rest is room for the batches it reads in one go.
pub(crate) const CACHE_PART: (u64, u64) = (1, 2);

/// Whether a source should wait for the takers of a channel with this backlog.
pub(crate) fn holds_back(b: &Backlog) -> bool {
    b.beyond(CACHE_PART.0, CACHE_PART.1) && b.since_take.is_some_and(|t| t < TAKER_IDLE)
}

/// Whether one of the source's channels holds it back now.
pub(crate) fn held_back(ctx: &SourceCtx) -> bool {
    ctx.router.channels().backlogs().any(|b| holds_back(&b))
}

/// Waits while one of the source's channels holds it back ([`holds_back`]); true when the
/// source was stopped meanwhile. Ends at the latest [`TAKER_IDLE`] after the last take.
///
/// Cancel safety: cancel safe (it only looks and sleeps).
pub(crate) async fn pace(ctx: &SourceCtx) -> bool {
    let mut stop = ctx.stop.clone();
    while held_back(ctx) {
        if stop.sleep(PACE_POLL).await {
            return true;
        }
    }
    false
}
