//! Where group commit's time goes: always-on sums of nanoseconds and counts (relaxed atomics,
//! a few `Instant::now()` per leader pass and per wake-up), read as [`GroupCommitStats`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Group commit's counters of one writer (or summed over a channel's writers). Times are sums
/// in nanoseconds; divide by the matching count for a mean.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupCommitStats {
    /// Leader passes (each cuts what is pending, writes it and, for `sync_to`, fdatasyncs).
    pub leads: u64,
    /// Leader passes that started while another leader was still in flight.
    pub overlapped_leads: u64,
    /// Time leaders waited for the `io` lock (held by another leader's write or a roll).
    pub io_wait_ns: u64,
    /// Direct-I/O writes by leaders.
    pub writes: u64,
    /// Time in those writes.
    pub write_ns: u64,
    /// fdatasync calls by leaders (rolls' own are not counted here).
    pub syncs: u64,
    /// Time in those fdatasyncs.
    pub sync_ns: u64,
    /// Time in the fstat after each (the segment still has a name).
    pub stat_ns: u64,
    /// Direct-I/O leaders that zeroed blocks ahead of their write (`zero_ahead`).
    pub zero_aheads: u64,
    /// Time in those zero writes.
    pub zero_ns: u64,
    /// Leader passes that held their target back to gather the last group's size.
    pub gathers: u64,
    /// Time leaders spent gathering.
    pub gather_ns: u64,
    /// Waiters that woke to a leader's result (a publish happened while they slept).
    pub wakeups: u64,
    /// Time from that publish (the leader's notify) to the waiter running again.
    pub wake_ns: u64,
    /// Direct-I/O buffers allocated (zero-filled) because the channel's buffer pool had none
    /// large enough: a steady stream should reuse its buffers and keep this near zero.
    pub fresh_buffers: u64,
}

impl GroupCommitStats {
    /// Adds `other`'s counts and times to these.
    pub fn add(&mut self, other: &GroupCommitStats) {
        self.leads += other.leads;
        self.overlapped_leads += other.overlapped_leads;
        self.io_wait_ns += other.io_wait_ns;
        self.writes += other.writes;
        self.write_ns += other.write_ns;
        self.syncs += other.syncs;
        self.sync_ns += other.sync_ns;
        self.stat_ns += other.stat_ns;
        self.zero_aheads += other.zero_aheads;
        self.zero_ns += other.zero_ns;
        self.gathers += other.gathers;
        self.gather_ns += other.gather_ns;
        self.wakeups += other.wakeups;
        self.wake_ns += other.wake_ns;
        self.fresh_buffers += other.fresh_buffers;
    }

    /// These counters minus `earlier`'s (saturating): what happened in between.
    pub fn since(&self, earlier: &GroupCommitStats) -> GroupCommitStats {
        GroupCommitStats {
            leads: self.leads.saturating_sub(earlier.leads),
            overlapped_leads: self
                .overlapped_leads
                .saturating_sub(earlier.overlapped_leads),
            io_wait_ns: self.io_wait_ns.saturating_sub(earlier.io_wait_ns),
            writes: self.writes.saturating_sub(earlier.writes),
            write_ns: self.write_ns.saturating_sub(earlier.write_ns),
            syncs: self.syncs.saturating_sub(earlier.syncs),
            sync_ns: self.sync_ns.saturating_sub(earlier.sync_ns),
            stat_ns: self.stat_ns.saturating_sub(earlier.stat_ns),
            zero_aheads: self.zero_aheads.saturating_sub(earlier.zero_aheads),
            zero_ns: self.zero_ns.saturating_sub(earlier.zero_ns),
            gathers: self.gathers.saturating_sub(earlier.gathers),
            gather_ns: self.gather_ns.saturating_sub(earlier.gather_ns),
            wakeups: self.wakeups.saturating_sub(earlier.wakeups),
            wake_ns: self.wake_ns.saturating_sub(earlier.wake_ns),
            fresh_buffers: self.fresh_buffers.saturating_sub(earlier.fresh_buffers),
        }
    }
}

/// The live counters behind [`GroupCommitStats`].
#[derive(Debug)]
pub(super) struct CommitTimers {
    base: Instant,
    pub(super) leads: AtomicU64,
    pub(super) overlapped_leads: AtomicU64,
    pub(super) io_wait_ns: AtomicU64,
    pub(super) writes: AtomicU64,
    pub(super) write_ns: AtomicU64,
    pub(super) syncs: AtomicU64,
    pub(super) sync_ns: AtomicU64,
    pub(super) stat_ns: AtomicU64,
    pub(super) zero_aheads: AtomicU64,
    pub(super) zero_ns: AtomicU64,
    pub(super) gathers: AtomicU64,
    pub(super) gather_ns: AtomicU64,
    pub(super) wakeups: AtomicU64,
    pub(super) wake_ns: AtomicU64,
}

impl CommitTimers {
    pub(super) fn new() -> Self {
        CommitTimers {
            base: Instant::now(),
            leads: AtomicU64::new(0),
            overlapped_leads: AtomicU64::new(0),
            io_wait_ns: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            write_ns: AtomicU64::new(0),
            syncs: AtomicU64::new(0),
            sync_ns: AtomicU64::new(0),
            stat_ns: AtomicU64::new(0),
            zero_aheads: AtomicU64::new(0),
            zero_ns: AtomicU64::new(0),
            gathers: AtomicU64::new(0),
            gather_ns: AtomicU64::new(0),
            wakeups: AtomicU64::new(0),
            wake_ns: AtomicU64::new(0),
        }
    }

    /// Nanoseconds since the writer was opened (a clock the counters share).
    pub(super) fn now_ns(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Adds the time since `since_ns` (from [`Self::now_ns`]) to `sum`; returns now.
    pub(super) fn add_since(&self, sum: &AtomicU64, since_ns: u64) -> u64 {
        let now = self.now_ns();
        sum.fetch_add(now.saturating_sub(since_ns), Ordering::Relaxed);
        now
    }

    pub(super) fn count(&self, n: &AtomicU64) {
        n.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn snapshot(&self) -> GroupCommitStats {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        GroupCommitStats {
            leads: l(&self.leads),
            overlapped_leads: l(&self.overlapped_leads),
            io_wait_ns: l(&self.io_wait_ns),
            writes: l(&self.writes),
            write_ns: l(&self.write_ns),
            syncs: l(&self.syncs),
            sync_ns: l(&self.sync_ns),
            stat_ns: l(&self.stat_ns),
            zero_aheads: l(&self.zero_aheads),
            zero_ns: l(&self.zero_ns),
            gathers: l(&self.gathers),
            gather_ns: l(&self.gather_ns),
            wakeups: l(&self.wakeups),
            wake_ns: l(&self.wake_ns),
            // Counted by the shared buffer pool, added in by the channel's stats.
            fresh_buffers: 0,
        }
    }
}
