//! Group commit: [`DirWriter::sync_to`] returns once a logical position is durable, and
//! [`DirWriter::flush_to`] once it is in the file (for `fsyncPerTransaction = false`).
//!
//! A waiter whose bytes no running leader will cover becomes a leader, if fewer than
//! `max_leaders` (`groupCommitLeaders`, default [`LEADERS_DEFAULT`](super::LEADERS_DEFAULT)) are in flight. A leader
//! takes the `io` lock and, under `active`, cuts every pending direct-I/O byte out of the tail
//! buffer (appends go on into a fresh one) and notes its target (everything appended so far);
//! it writes the cut with one `O_DIRECT` write, gives its buffer back to the pool, and *releases
//! `io`* before its fdatasync (plus one fstat: the segment still has a name). So the next
//! leader can write and issue its own fdatasync while the first is still in the device's
//! flush: the block layer and ext4's journal merge concurrent flushes, and a group no longer
//! waits for the previous group's whole fsync before its own starts. Buffered appends are
//! already in the file; their leader only fsyncs. While a leader is in flight, the next one
//! starts no sooner than a moving average of a leader's pass divided by `max_leaders` after
//! it (bounded): started at once, the second leader took whoever arrived first (4.9 commits
//! per fsync instead of 10 at 16 committers) and the rest waited for a free slot; spaced, the
//! groups stay even (docs/performance-findings.md, "Group commit: where the time goes").
//!
//! With one leader at a time (the default), a lone leader gathers before it takes its target: it waits (bounded by half a leader's
//! mean pass and by a mean fdatasync, at most 5 ms; not at all once its own pending bytes
//! reach 256 KiB) until as many committers as the last group have arrived. The
//! first committer back from a group is the old leader, whose thread needs no wake-up; leading
//! at once it took a group of one or two while the rest were still being woken one by one,
//! and groups alternated small and large (8.4 commits per fdatasync at batch 1 × 16; 15.6
//! gathered). The want follows the last group, so a lone committer never waits and a group
//! that came in short lowers the next want. Gathering changes only when a target is taken,
//! never what an fdatasync covers.
//!
//! Why this is correct (the argument the tests check on the simulated file system):
//! - An fdatasync covers every write that completed before it was issued (buffered pages
//!   under writeback are waited for; O_DIRECT data sits in the device cache and the flush
//!   covers it). A leader's write completes before its fdatasync is issued, and every byte up
//!   to its target was written (by it or an earlier leader: writes are serialized by `io`)
//!   before that. So its success makes its whole target durable, whatever other leaders do,
//!   and `synced = max(synced, target)` may move past an earlier leader's target that is
//!   still in flight.
//! - The partial last block that the next leader rewrites while the previous one's flush runs
//!   keeps its earlier bytes in both the old and the new content (see `direct`), so a torn or
//!   lost rewrite never damages what the earlier flush made durable.
//! - Errors: concurrent fsyncs on one open file share its writeback-error cursor, so a page
//!   that failed may be reported to only one of them (the other returns 0 over data the kernel
//!   dropped). A failed leader poisons *before* it leaves the running set, and a successful
//!   leader's target is published only once every leader that was in its fdatasync when it
//!   finished has finished too, and only if nothing is poisoned then. A leader that issues its
//!   fdatasync later cannot take an error that an earlier one needed: that error was recorded
//!   before the earlier one checked. So no waiter ever sees an acknowledgement that a failed
//!   fdatasync might have covered; the waiters find the poison and fail.
//! - Segment crossing: `synced` is a logical position across segments. A roll seals the old
//!   segment (write, fdatasync, fstat) under `io` and `active` before any byte goes to the new
//!   one; it first waits until no leader is in its fdatasync (they hold neither lock then) and
//!   publishes only if nothing is poisoned, so the seal's own fsync can neither take a
//!   leader's error nor be taken from. A leader on the new segment covers old-segment bytes
//!   only through the seal, which completed before those bytes were appended.

mod lead;

use std::time::Duration;

use parking_lot::MutexGuard;

use super::commit_stats::GroupCommitStats;
use super::sync_state::{Held, Lead, SyncState};
use super::{DirWriter, WalError};

/// The longest a waiter holds back from leading to space leaders out (50 ms).
const STAGGER_MAX_NS: u64 = 50_000_000;

/// A gathering leader waits at most a leader's mean pass divided by this.
const GATHER_SHARE: u64 = 2;

/// ... and never longer than this (5 ms: half a slow disk's flush).
const GATHER_MAX_NS: u64 = 5_000_000;

/// A leader with this many bytes of its own pending does not gather (256 KiB, as many as a
/// group that does not zero ahead).
const GATHER_BYTES_MAX: u64 = 256 << 10;

/// A moving average (7/8 of the old, 1/8 of the new; the first sample as it is).
fn moving_average(avg: u64, sample: u64) -> u64 {
    if avg == 0 {
        sample
    } else {
        (avg * 7 + sample) / 8
    }
}

/// How long a roll waits, per round, for leaders in their fdatasync before looking again.
const SEAL_WAIT: Duration = Duration::from_millis(100);

/// A logical position made durable, and the segment and its length that position is.
type DurableEnd = (u64, (u32, u64));
/// What a leader's pass did: the position covered, its fdatasync's nanoseconds, and the
/// segment and its length at that position.
type LeadDone = (u64, u64, (u32, u64));

impl DirWriter {
    /// Returns once every byte up to logical position `end` is durable. Concurrent callers
    /// share fsyncs: each pass either returns, waits for a running leader, or leads one
    /// write + fsync that covers `end` (`end` was appended before).
    pub fn sync_to(&self, end: u64) -> Result<(), WalError> {
        self.settle(end, true)
    }

    /// Returns once every byte up to logical position `end` is in the file (readable), not
    /// necessarily durable. Only appends with [`super::Appended::pending_write`] need it.
    pub fn flush_to(&self, end: u64) -> Result<(), WalError> {
        self.settle(end, false)
    }

    /// Group commit's counters so far.
    pub fn commit_stats(&self) -> GroupCommitStats {
        self.timers.snapshot()
    }

    fn settle(&self, end: u64, durable: bool) -> Result<(), WalError> {
        let mut s = self.sync.lock();
        if durable && s.claimed_synced < end {
            // Bytes no leader has claimed: this committer joins the next group.
            s.arrivals += 1;
            if s.gather_want != 0 && s.gathered() >= s.gather_want {
                s.gather_want = 0;
                self.gather_cv.notify_one();
            }
        }
        loop {
            self.poison.check()?;
            if s.reached(durable) >= end {
                return Ok(());
            }
            if s.covered(end, durable) || s.running.len() >= self.max_leaders {
                let seen = s.publishes;
                self.synced_cv.wait(&mut s);
                if s.publishes != seen {
                    self.timers.count(&self.timers.wakeups);
                    self.timers
                        .add_since(&self.timers.wake_ns, s.published_at_ns);
                }
                continue;
            }
            let now = self.timers.now_ns();
            if !s.running.is_empty() {
                // Space overlapping leaders evenly over a pass, so the groups stay even
                // instead of the second leader taking whoever arrives first.
                let due = s.last_lead_at_ns + s.lead_avg_ns / self.max_leaders as u64;
                if now < due {
                    let wait = Duration::from_nanos((due - now).min(STAGGER_MAX_NS));
                    let _ = self.synced_cv.wait_for(&mut s, wait);
                    continue;
                }
            }
            let (seq, now) = self.begin_lead(&mut s, end, durable);
            drop(s);
            self.timers.count(&self.timers.leads);
            let result = self.lead(seq, end, durable);
            s = self.sync.lock();
            // Published durable (not merely held for an overlapping leader): its end may go
            // into the acknowledged-end record, written with no lock held.
            if let Some((target, (id, seg_end))) =
                self.finish_lead(&mut s, seq, now, durable, result)?
            {
                drop(s);
                self.acked_durable(id, seg_end, target);
                s = self.sync.lock();
            }
        }
    }

    /// Makes this committer a leader (under `sync`): its sequence number, the gathering of a
    /// lone durable leader's group, and the time its pass starts.
    fn begin_lead(&self, s: &mut MutexGuard<'_, SyncState>, end: u64, durable: bool) -> (u64, u64) {
        let seq = s.next_seq;
        s.next_seq += 1;
        if !s.running.is_empty() {
            self.timers.count(&self.timers.overlapped_leads);
        }
        s.running.push(Lead {
            seq,
            durable,
            cut: false,
        });
        // Only with one leader at a time: overlapping leaders (`groupCommitLeaders` > 1)
        // exist to put a second fdatasync in flight, which a complete group would leave
        // nobody to start; they keep their own spacing above.
        if durable && self.max_leaders == 1 && s.running.len() == 1 {
            self.gather(s, end);
        }
        let now = self.timers.now_ns();
        s.last_lead_at_ns = now;
        (seq, now)
    }

    /// Ends leader `seq`'s pass (under `sync`): its timings, its target held until the
    /// leaders before it are done, the publish, and the wake-up. Answers the target and the
    /// segment end it made durable when they are published durable (for the acknowledged-end
    /// record), `None` otherwise.
    fn finish_lead(
        &self,
        s: &mut MutexGuard<'_, SyncState>,
        seq: u64,
        started_ns: u64,
        durable: bool,
        result: Result<LeadDone, WalError>,
    ) -> Result<Option<DurableEnd>, WalError> {
        if let Some(i) = s.running.iter().position(|l| l.seq == seq) {
            s.running.swap_remove(i);
        }
        if let (Ok((_, sync_ns, _)), true) = (&result, durable) {
            let took = self.timers.now_ns().saturating_sub(started_ns);
            s.lead_avg_ns = moving_average(s.lead_avg_ns, took);
            s.sync_avg_ns = moving_average(s.sync_avg_ns, *sync_ns);
        }
        if let Ok((target, _, _)) = &result {
            let waits_for = s.syncing();
            s.held.push(Held {
                target: *target,
                durable,
                waits_for,
            });
        }
        // A failure poisoned before this point (write, fsync, stat all latch it).
        let poisoned = self.poison.cause().is_some();
        s.publish(poisoned, self.timers.now_ns());
        self.synced_cv.notify_all();
        let (target, _, at) = result?;
        let published = durable && !poisoned && s.synced >= target && at.0 > 0;
        Ok(published.then_some((target, at)))
    }

    /// A lone durable leader, before it takes its target, waits until as many committers as
    /// the last group have arrived since that group's target was taken, for at most a share
    /// of a leader's pass ([`GATHER_SHARE`], at most [`GATHER_MAX_NS`]) and never longer than
    /// a mean fdatasync: waiting saves at most one, and a pass of large writes (1 MiB groups:
    /// 1.2 ms of write, 0.28 ms of fdatasync) kept the disk idle 0.74 ms per group for it. Without it, the
    /// first committer back from a group (the old leader, whose thread needs no wake-up)
    /// leads at once with a group of one or two while the rest, still being woken one after
    /// the other, wait for its fdatasync and then make one large group: groups alternate
    /// small and large (8.4 commits per fdatasync at batch 1 × 16 instead of 15). Arrivals
    /// wait on the uncut leader meanwhile, as on any running leader. The wait adapts: a group
    /// that came in short sets the next want, and a lone committer never waits.
    ///
    /// A leader whose own bytes since the last target already reach [`GATHER_BYTES_MAX`] does
    /// not wait at all: its fdatasync is spread over a large group of bytes whatever comes,
    /// and at batch 1,000 × 1 KiB the wait (with its timer's wake-up on a busy host: 0.48 ms
    /// per group) was a quarter of the single leader's pass.
    fn gather(&self, s: &mut MutexGuard<'_, SyncState>, end: u64) {
        let want = s.last_group;
        if want <= 1 || s.lead_avg_ns == 0 || s.gathered() >= want {
            return;
        }
        if end.saturating_sub(s.claimed_synced) >= GATHER_BYTES_MAX {
            return;
        }
        let limit = (s.lead_avg_ns / GATHER_SHARE)
            .min(s.sync_avg_ns)
            .min(GATHER_MAX_NS);
        let limit = Duration::from_nanos(limit);
        let start = self.timers.now_ns();
        s.gather_want = want;
        while s.gathered() < want {
            let left = limit.saturating_sub(Duration::from_nanos(
                self.timers.now_ns().saturating_sub(start),
            ));
            if left.is_zero() || self.gather_cv.wait_for(s, left).timed_out() {
                break;
            }
        }
        s.gather_want = 0;
        self.timers.count(&self.timers.gathers);
        self.timers.add_since(&self.timers.gather_ns, start);
    }

    /// Before a roll's seal fsyncs the active segment (under `io` and `active`): waits until
    /// no leader is in its fdatasync, so the two never share the file's writeback-error
    /// cursor. Leaders in their fdatasync hold neither lock, so they finish.
    pub(super) fn await_leaders_synced(&self) {
        let mut s = self.sync.lock();
        while !s.syncing().is_empty() {
            // Timed: a wake-up is also sent by every publish, this only bounds a lost one.
            let _ = self.synced_cv.wait_for(&mut s, SEAL_WAIT);
        }
    }

    /// After a roll's seal made everything up to `written` durable: publishes it, unless a
    /// leader failed (then the seal's success may hide that failure, and nothing is).
    pub(super) fn publish_sealed(&self, written: u64) -> Result<(), WalError> {
        self.poison.check()?;
        {
            let mut s = self.sync.lock();
            s.synced = s.synced.max(written);
            s.flushed = s.flushed.max(written);
            s.publishes += 1;
            s.published_at_ns = self.timers.now_ns();
        }
        self.synced_cv.notify_all();
        Ok(())
    }

    /// Makes everything written so far durable.
    pub fn sync_all(&self) -> Result<(), WalError> {
        let end = self.active.lock().written;
        self.sync_to(end)
    }
}

#[cfg(test)]
mod tests;
