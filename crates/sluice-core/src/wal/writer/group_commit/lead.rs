//! One group-commit leader's pass: the target taken and the pending bytes cut (under `io`
//! and `active`), the cut written and zeros written ahead of it (under `io`), then the
//! fdatasync and the check that the segment still has a name (no lock held).

use std::sync::atomic::Ordering;

use super::LeadDone;
use crate::io::FsFile;
use crate::wal::aligned::align_up;
use crate::wal::writer::start::check_linked;
use crate::wal::writer::zero_ahead::{IoScratch, ZeroPlan};
use crate::wal::writer::{DirWriter, WalError};

impl DirWriter {
    /// One leader pass: take the target and cut what is pending (under `io` and `active`),
    /// write it and cache it (under `io`), then fsync when `durable` (no lock held).
    /// Returns the logical position covered, the nanoseconds its fdatasync took, and the
    /// segment and its length that position is.
    pub(super) fn lead(&self, seq: u64, end: u64, durable: bool) -> Result<LeadDone, WalError> {
        let t = &self.timers;
        let asked = t.now_ns();
        let mut io = self.io.lock();
        let took = t.add_since(&t.io_wait_ns, asked);
        // A roll may have failed while this leader gathered or waited for `io`.
        self.poison.check()?;
        let (file, (id, seg_end), target, mut cut, plan) = {
            let mut a = self.active.lock();
            let cut = self.cut_pending(&mut a);
            let plan = a.direct.as_ref().map(|d| ZeroPlan {
                zeroed: d.zeroed,
                allocated: d.allocated,
                cut_avg: io.cut_avg,
            });
            let target = a.written;
            // Under `active`: no append can slip in between the target and its claim.
            let mut s = self.sync.lock();
            if let Some(l) = s.running.iter_mut().find(|l| l.seq == seq) {
                l.cut = true;
            }
            s.claimed_flushed = s.claimed_flushed.max(target);
            if durable {
                s.claimed_synced = s.claimed_synced.max(target);
                s.close_group();
            }
            // Without a file (nothing appended since the open) nothing is fsynced here: the
            // recovered segment's length is not known durable, so it is not noted.
            let at = match a.file {
                Some(_) => (a.segment_id, a.offset),
                None => (0, 0),
            };
            (a.file.clone(), at, target, cut, plan)
        };
        assert!(
            target >= end,
            "sync_to({end}) beyond the {target} bytes written"
        );
        if let Some((c, direct)) = cut.as_mut() {
            self.write_cut(id, direct.as_ref(), c)?;
            t.count(&t.writes);
            t.add_since(&t.write_ns, took);
            if let Some(plan) = plan {
                let end = c.start + align_up(c.buf.len() as u64);
                self.zero_ahead(&mut io, (id, direct.as_ref()), plan, (c.start, end));
            }
        }
        if let Some((c, _)) = cut {
            self.recycle_cut(c);
        }
        drop(io);
        let sync_ns = if durable {
            self.lead_sync(file.as_deref(), id)?
        } else {
            0
        };
        Ok((target, sync_ns, (id, seg_end)))
    }

    /// After a leader wrote its cut `[start, end)` of direct segment `id` (under `io`): zeros
    /// ahead when the plan asks for it, and notes how far the file is known written. A failed
    /// zero write is logged and stops zeroing until the allocation grows; it never fails the
    /// group.
    fn zero_ahead(
        &self,
        io: &mut IoScratch,
        (id, file): (u32, &dyn FsFile),
        plan: ZeroPlan,
        (start, end): (u64, u64),
    ) {
        let mut known = end;
        io.cut_avg = plan.next_avg(end.saturating_sub(start));
        if let Some((from, to)) = plan.range(start, end) {
            let t = &self.timers;
            let began = t.now_ns();
            match file.write_zeros_at((to - from) as usize, from) {
                Ok(()) => known = to,
                Err(e) => {
                    tracing::warn!(path = %self.segment_path(id).display(), error = %e, "cannot zero ahead; this segment's later writes go into unwritten blocks");
                    known = plan.allocated;
                }
            }
            t.count(&t.zero_aheads);
            t.add_since(&t.zero_ns, began);
        }
        // `io` is held: no roll can have replaced the segment since the cut.
        if let Some(d) = self.active.lock().direct.as_mut() {
            d.zeroed = d.zeroed.max(known);
        }
    }

    /// The group-commit leader's fsync of segment `id`, and (one fstat) the check that the
    /// segment still has a name: bytes synced into an unlinked file are lost all the same.
    /// Either failure poisons.
    fn lead_sync(&self, file: Option<&dyn FsFile>, id: u32) -> Result<u64, WalError> {
        let Some(f) = file else {
            return Ok(0);
        };
        let t = &self.timers;
        let path = self.segment_path(id);
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        t.count(&t.syncs);
        let start = t.now_ns();
        if let Err(e) = f.sync_data() {
            self.poison.set("fsync", path.clone(), &e);
            return Err(WalError::Io {
                op: "fsync",
                path,
                source: e,
            });
        }
        let synced = t.add_since(&t.sync_ns, start);
        let linked = check_linked(f).map_err(|e| self.poison.refuse("stat", path, e));
        t.add_since(&t.stat_ns, synced);
        linked.map(|()| synced.saturating_sub(start))
    }
}
