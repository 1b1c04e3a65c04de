//! Which file the tailer reads next: oldest first, with the live file's turns while it
//! catches up (issue 81).
//!
//! Files are read in reading order (oldest first), up to `maxBatchCount` batches in a row from
//! one, as Flume does. After an outage that order alone makes a line written to `app.log` now
//! wait until every rotated or spooled file before it is read: tens of seconds at full speed.
//! So while the source **catches up** (the files behind the newest of each group, the
//! backlog, hold more than `catchUpBytes` unread) it reads in two lanes: the backlog, oldest
//! first, and the live files (per file group the newest file still under a matching name, the
//! one being written), which get one batch after every backlog batch. A live file read to its
//! end waits for its next change, so the backlog keeps nearly the whole speed, and fresh lines
//! enter the channel within one trip.
//!
//! Data at risk still goes first: while a backlog file has no spool link (the spool off, or no
//! link possible: only its name or descriptor keeps it, so the next rotation's delete or a
//! `kill -9` loses it), or a deleted backlog file is subject to `closeDeletedAfter`, or the
//! deleted files held reach [`AT_RISK_SHARE`] of `spoolBytes` or `maxDeletedOpenBytes` (the
//! oldest would be given up next), the order is strictly oldest first again. Below
//! `catchUpBytes` (the small tail a normal rotation leaves) it is strictly oldest first too, so
//! lines arrive in the order they were written.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use super::Tailer;

/// Share (numerator, denominator) of `spoolBytes` or `maxDeletedOpenBytes` held by deleted
/// files past which the backlog goes strictly first: 3/4.
pub(crate) const AT_RISK_SHARE: (u64, u64) = (3, 4);

/// The lane a file was picked from (which cursor moves).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lane {
    /// Oldest first over every file (not catching up, or data at risk).
    All,
    /// The backlog, while catching up.
    Backlog,
    /// A live file's turn, while catching up.
    Live,
}

/// A reading cursor: the file read last and how many batches in a row.
pub(super) type Cursor = Option<(u64, u64)>;

/// The live files (a set) and the backlog (every other followed file), worked out again
/// after each scan and forgotten file only: with a group per container, thousands of them,
/// doing it per batch cost more than reading the lines.
#[derive(Debug, Default)]
pub(super) struct Lanes {
    live: HashSet<u64>,
    backlog: Vec<u64>,
}

impl Tailer {
    /// The file to read next and its lane (see the module docs).
    pub(super) fn pick(&mut self) -> Option<(u64, Lane)> {
        let lanes = match self.lanes.take() {
            Some(l) => l,
            None => self.lanes_now(),
        };
        let picked = self.pick_with(&lanes);
        self.lanes = Some(lanes);
        picked
    }

    fn pick_with(&self, lanes: &Lanes) -> Option<(u64, Lane)> {
        let live = &lanes.live;
        if live.is_empty() || !self.catching_up(&lanes.backlog) {
            return self.pick_in(self.current, |_| true).map(|i| (i, Lane::All));
        }
        let backlog = self
            .pick_in(self.current, |i| !live.contains(&i))
            .map(|i| (i, Lane::Backlog));
        let fresh = self
            .pick_in(self.live_cursor, |i| live.contains(&i))
            .map(|i| (i, Lane::Live));
        if self.live_turn {
            fresh.or(backlog)
        } else {
            backlog.or(fresh)
        }
    }

    /// Moves the cursor of `lane` after a read of `inode`.
    pub(super) fn moved(&mut self, inode: u64, lane: Lane) {
        let bump = |c: Cursor| match c {
            Some((i, n)) if i == inode => Some((i, n + 1)),
            _ => Some((inode, 1)),
        };
        match lane {
            Lane::All => self.current = bump(self.current),
            Lane::Backlog => {
                self.current = bump(self.current);
                self.live_turn = true;
            }
            Lane::Live => {
                self.live_cursor = bump(self.live_cursor);
                self.live_turn = false;
            }
        }
    }

    /// The live files: per file group, the newest in reading order still under a matching
    /// name; the backlog: the others.
    fn lanes_now(&self) -> Lanes {
        let mut groups_seen = HashSet::new();
        let mut live = HashSet::new();
        for k in self.order.iter().rev() {
            if let Some(t) = self.files.get(&k.2) {
                if t.matched && groups_seen.insert(t.group) {
                    live.insert(k.2);
                }
            }
            if groups_seen.len() == self.groups.len() {
                break;
            }
        }
        let backlog = self
            .files
            .keys()
            .copied()
            .filter(|i| !live.contains(i))
            .collect();
        Lanes { live, backlog }
    }

    /// Whether the backlog holds more than `catchUpBytes` unread and none of it is at risk.
    fn catching_up(&self, backlog: &[u64]) -> bool {
        let mut unread: u64 = 0;
        for inode in backlog {
            let Some(t) = self.files.get(inode).filter(|t| t.pending) else {
                continue;
            };
            let deleted_timed = self.cfg.close_deleted_after.is_some() && t.deleted_since.is_some();
            if t.spool.is_none() || deleted_timed {
                return false;
            }
            unread = unread.saturating_add(t.size_seen.saturating_sub(t.read_offset()));
        }
        unread > self.cfg.catch_up_bytes && !self.deleted_near_limit()
    }

    /// Whether the deleted files held reach [`AT_RISK_SHARE`] of a limit that gives them up.
    fn deleted_near_limit(&self) -> bool {
        let held = self.deleted.open_bytes.load(Ordering::Relaxed);
        let (num, den) = AT_RISK_SHARE;
        let near = |limit: u64| limit > 0 && held.saturating_mul(den) >= limit.saturating_mul(num);
        let spool = if self.spool.is_on() {
            self.cfg.spool_bytes
        } else {
            0
        };
        near(spool) || near(self.cfg.max_deleted_open_bytes)
    }

    /// The file to read next among those `keep` accepts: the cursor's for up to
    /// `maxBatchCount` batches, then the next with data in reading order, from the start
    /// again after the last.
    fn pick_in(&self, cursor: Cursor, keep: impl Fn(u64) -> bool) -> Option<u64> {
        if let Some((inode, count)) = cursor {
            if keep(inode)
                && count < self.cfg.max_batch_count
                && self.files.get(&inode).is_some_and(|t| t.pending)
            {
                return Some(inode);
            }
        }
        let ready = |k: &&(u64, SystemTime, u64)| {
            keep(k.2) && self.files.get(&k.2).is_some_and(|t| t.pending)
        };
        let after = cursor
            .and_then(|(i, _)| self.files.get(&i))
            .map(|t| (t.age.0, t.age.1, t.inode));
        let first = match after {
            Some(a) => self
                .order
                .range((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded))
                .find(ready),
            None => None,
        };
        first.or_else(|| self.order.iter().find(ready)).map(|k| k.2)
    }
}
