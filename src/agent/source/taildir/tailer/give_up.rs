//! The tailer's side of loss at the source ([`crate::agent::source::taildir::loss`]): a
//! followed file given up unread is counted to the line, named in one WARN and forgotten.

use std::sync::Arc;

use super::Tailer;
use crate::agent::metrics::CounterGroup;
use crate::agent::source::taildir::loss::count_from;

impl Tailer {
    /// Counts the loss to the source's counters too (the tailer alone keeps totals).
    pub(crate) fn count_loss_to(&mut self, counters: Arc<CounterGroup>) {
        self.lost.counters = Some(counters);
    }

    /// Lines and bytes given up unread since the source started.
    pub fn lost_unread(&self) -> (u64, u64) {
        (self.lost.lines, self.lost.bytes)
    }

    /// Gives `inode` up unread because of `why`: counts its lines and bytes past its
    /// committed position, says so in one WARN, forgets it and removes its spool link.
    pub(crate) fn give_up(&mut self, inode: u64, why: &str) {
        let Some(t) = self.files.get_mut(&inode) else {
            return;
        };
        let pos = t.pos;
        let counted = match t.open() {
            Ok(Some(f)) => count_from(f, pos).ok(),
            _ => None,
        };
        let (lines, bytes, size, exact) = match counted {
            Some((lines, bytes)) => (lines, bytes, pos + bytes, true),
            None => {
                let bytes = t.size_seen.saturating_sub(pos);
                (self.lost.estimate(bytes), bytes, t.size_seen, false)
            }
        };
        let path = t.path.display().to_string();
        if bytes > 0 {
            self.lost.add(lines, bytes);
            tracing::warn!(
                file = %path,
                inode,
                size,
                pos,
                lines_lost = lines,
                bytes_lost = bytes,
                lines_counted = if exact { "exactly" } else { "estimated from the bytes" },
                why,
                "file given up before it was read to its end; its unread lines are lost (raise spoolBytes or the deleted-file limits, or make the channel drain)"
            );
        } else {
            tracing::info!(file = %path, inode, why, "file closed after it was read to its end");
        }
        self.forget(inode, true);
    }
}
