//! The idle wait of the TAILDIR task: until a change event, the end of the backoff, or a
//! stop; and every [`ROTATION_CHECK_INTERVAL`] meanwhile a look whether a followed file left
//! its name ([`Tailer::rotated_away`]: a stat of each open file), so a rotation is noticed at
//! once where no change event comes (`watchChanges = false`, no inotify instance left, or a
//! file system whose changes inotify does not report: NFS, CIFS, FUSE), not when a backoff of
//! up to `maxBackoffSleep` ends.
//!
//! [`Tailer::rotated_away`]: crate::agent::source::taildir::tailer::Tailer::rotated_away

use std::time::{Duration, Instant};

use super::tail::{blocking, Tail};
use crate::agent::source::taildir::watch::DirWatch;
use crate::agent::source::{SourceCtx, SourceError};

/// How often an idle source looks for a rotation of its open files.
pub(crate) const ROTATION_CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// How an idle wait ended.
pub(super) enum Woken {
    /// The source is to stop.
    Stop,
    /// A change event, or the backoff ended.
    Changed,
    /// A followed file left its name: scan now.
    Rotated,
}

/// Waits up to `backoff` (see the module docs). Not cancel safe (a look holds the tailer on
/// the blocking pool): awaited to its end.
pub(super) async fn idle_wait(
    slot: &mut Option<Tail>,
    ctx: &SourceCtx,
    watch: &DirWatch,
    backoff: Duration,
) -> Result<Woken, SourceError> {
    let end = Instant::now() + backoff;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        let nap = left.min(ROTATION_CHECK_INTERVAL);
        let mut stop = ctx.stop.clone();
        tokio::select! {
            _ = stop.wait() => return Ok(Woken::Stop),
            _ = watch.changed() => return Ok(Woken::Changed),
            _ = tokio::time::sleep(nap) => {}
        }
        if nap >= left {
            return Ok(Woken::Changed);
        }
        if blocking(slot, ctx, |s| s.tailer.rotated_away()).await? {
            return Ok(Woken::Rotated);
        }
    }
}
