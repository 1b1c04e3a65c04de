//! The tailer's side of loss at the source ([`crate::agent::source::taildir::loss`]): a
//! followed file given up unread is counted to the line, named in one WARN and forgotten;
//! the count is saved in `<positionFile>.loss` ([`loss_file`]) before the WARN, restored at
//! start, and the saved entries whose files went while the source was stopped are counted
//! at the first scan.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Tailer;
use crate::agent::alarm::loss::LossWindow;
use crate::agent::metrics::CounterGroup;
use crate::agent::source::taildir::loss::count_from;
use crate::agent::source::taildir::loss_file::{self, LossState};

impl Tailer {
    /// Counts the loss to the source's counters and its loss window too (the tailer alone
    /// keeps totals); the counters show the totals restored at start.
    pub(crate) fn count_loss_to(
        &mut self,
        counters: Arc<CounterGroup>,
        window: Arc<parking_lot::Mutex<LossWindow>>,
    ) {
        self.lost.counters = Some(counters);
        self.lost.window = Some(window);
        self.lost.show_totals();
    }

    /// Takes up the loss state saved by the previous run ([`loss_file::load`]).
    pub(crate) fn restore_loss(&mut self, state: LossState) {
        self.lost.restore(state);
    }

    /// Lines and bytes given up unread since the position file began.
    pub fn lost_unread(&self) -> (u64, u64) {
        (self.lost.lines, self.lost.bytes)
    }

    /// The loss state to save: the totals, the files given up since the last durable
    /// position write and every followed file's size.
    pub(crate) fn loss_state(&self) -> LossState {
        let sizes: BTreeMap<u64, u64> = self
            .files
            .values()
            .map(|t| (t.inode, t.size_seen.max(t.pos)))
            .collect();
        self.lost.state(sizes)
    }

    /// A durable position write without the files given up before it is on disk: they need
    /// not be remembered any more.
    pub(crate) fn loss_positions_saved(&mut self) {
        self.lost.given_up.clear();
    }

    /// Saves the loss state durably now (a loss was counted).
    fn save_loss(&self) {
        let pf = &self.cfg.position_file;
        if let Err(e) = loss_file::save(pf, &self.loss_state()) {
            tracing::error!(loss_file = %loss_file::path_of(pf).display(), error = %e, "cannot write the TAILDIR loss file; a restart now would forget lines counted as lost");
        }
    }

    /// Gives `inode` up unread because of `why`: counts its lines and bytes past its
    /// committed position, saves the count, says so in one WARN, forgets it and removes its
    /// spool link.
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
            self.lost.note_given_up(inode, path.clone());
            self.forget(inode, true);
            self.save_loss();
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
            self.forget(inode, true);
        }
    }

    /// After the first scan: the saved entries that matched no file. Those of files given
    /// up before are skipped (counted then); those with a size saved by the previous run are
    /// files gone while the source was stopped and not kept by the spool: counted as lost
    /// from their position to that size, one WARN each; the rest (a Flume position file, a
    /// file from another host) are named in one WARN and dropped.
    pub(super) fn count_saved_gone(&mut self) {
        let saved = std::mem::take(&mut self.saved);
        let recorded = std::mem::take(&mut self.lost.recorded);
        let mut unknown = Vec::new();
        let mut counted = false;
        for e in saved.into_values() {
            if self.lost.was_given_up(e.inode, &e.file) {
                continue;
            }
            let Some(&size) = recorded.get(&e.inode) else {
                unknown.push(e);
                continue;
            };
            let bytes = size.saturating_sub(e.pos);
            if bytes == 0 {
                tracing::info!(file = %e.file, inode = e.inode, "file gone while the source was stopped, after it was read to its end");
                continue;
            }
            let lines = self.lost.estimate(bytes);
            self.lost.add(lines, bytes);
            self.lost.note_given_up(e.inode, e.file.clone());
            counted = true;
            tracing::warn!(
                file = %e.file,
                inode = e.inode,
                size,
                pos = e.pos,
                lines_lost = lines,
                bytes_lost = bytes,
                lines_counted = "estimated from the bytes at the mean line length read",
                bytes_counted = "from the size saved at the last durable position write (lines written after it are not known: at least this many)",
                "file gone while the source was stopped (deleted or renamed out of the pattern, not kept by the spool) before it was read to its end; its unread lines are lost (keep spoolBytes on, with positionFile on the logs' file system)"
            );
        }
        if counted {
            self.save_loss();
        }
        if !unknown.is_empty() {
            let sample: Vec<&str> = unknown.iter().take(3).map(|e| e.file.as_str()).collect();
            tracing::warn!(
                position_file = %self.cfg.position_file.display(),
                entries = unknown.len(),
                ?sample,
                "position entries match no followed file and no size was saved for them (files gone, or a position file from Flume or another host): their unread lines, if any, are not counted; ignored"
            );
        }
    }
}
