//! Group commit's shared state (under `DirWriter::sync`): the positions reached, the leaders
//! in flight and the finished leaders' targets held until every fdatasync that overlapped
//! them has finished (the rules are in `group_commit`, which drives it). A leaf: it imports
//! nothing from the writer.

/// Leaders in flight at most, by default (`groupCommitLeaders`).
pub const LEADERS_DEFAULT: usize = 1;
/// The most `groupCommitLeaders` takes.
pub const LEADERS_MAX: usize = 4;

/// One leader in flight.
#[derive(Debug)]
pub(super) struct Lead {
    pub(super) seq: u64,
    pub(super) durable: bool,
    /// Its target is taken (under `active`); until then it will cover every append so far.
    pub(super) cut: bool,
}

/// A finished leader's target, published once the leaders it waits for have finished.
#[derive(Debug)]
pub(super) struct Held {
    pub(super) target: u64,
    pub(super) durable: bool,
    /// Leaders that were in their fdatasync when it finished.
    pub(super) waits_for: Vec<u64>,
}

/// Group commit's shared state (under `DirWriter::sync`).
#[derive(Debug, Default)]
pub(super) struct SyncState {
    /// Logical bytes made durable.
    pub(super) synced: u64,
    /// Logical bytes in the file (written, maybe not yet durable).
    pub(super) flushed: u64,
    pub(super) running: Vec<Lead>,
    pub(super) held: Vec<Held>,
    pub(super) next_seq: u64,
    /// Highest target taken by a running durable leader / by any running leader.
    pub(super) claimed_synced: u64,
    pub(super) claimed_flushed: u64,
    /// Publishes so far, and when the last one was (for the wake-up time).
    pub(super) publishes: u64,
    pub(super) published_at_ns: u64,
    /// When the newest leader started, and a moving average of a durable leader's pass.
    pub(super) last_lead_at_ns: u64,
    pub(super) lead_avg_ns: u64,
    /// A moving average of a durable leader's fdatasync.
    pub(super) sync_avg_ns: u64,
    /// Durable committers that entered `sync_to` so far, and that count when the last
    /// durable leader took its target: the difference is the next group so far.
    pub(super) arrivals: u64,
    pub(super) arrivals_at_cut: u64,
    /// Committers in the last durable leader's group (arrivals between two targets).
    pub(super) last_group: u64,
    /// A leader holds its cut until this many have arrived since the last one (0: none is).
    pub(super) gather_want: u64,
}

impl SyncState {
    pub(super) fn reached(&self, durable: bool) -> u64 {
        if durable {
            self.synced
        } else {
            self.flushed.max(self.synced)
        }
    }

    /// Whether a running leader will cover `end` (it has not taken its target yet, or took
    /// one at least `end`): then waiting beats leading.
    pub(super) fn covered(&self, end: u64, durable: bool) -> bool {
        let uncut = self
            .running
            .iter()
            .any(|l| !l.cut && (l.durable || !durable));
        let claimed = if durable {
            self.claimed_synced
        } else {
            self.claimed_flushed.max(self.claimed_synced)
        };
        uncut || claimed >= end
    }

    /// Committers arrived since the last durable leader took its target.
    pub(super) fn gathered(&self) -> u64 {
        self.arrivals - self.arrivals_at_cut
    }

    /// A durable leader takes its target: the group it covers is closed.
    pub(super) fn close_group(&mut self) {
        self.last_group = self.gathered();
        self.arrivals_at_cut = self.arrivals;
    }

    /// Leaders in their fdatasync (durable, target taken).
    pub(super) fn syncing(&self) -> Vec<u64> {
        self.running
            .iter()
            .filter(|l| l.cut && l.durable)
            .map(|l| l.seq)
            .collect()
    }

    /// Publishes every held target whose leaders have all finished, unless poisoned (then
    /// none ever is).
    pub(super) fn publish(&mut self, poisoned: bool, now_ns: u64) {
        if poisoned {
            self.held.clear();
        } else {
            let running: Vec<u64> = self.running.iter().map(|l| l.seq).collect();
            let (mut synced, mut flushed) = (self.synced, self.flushed);
            self.held.retain(|h| {
                if h.waits_for.iter().any(|s| running.contains(s)) {
                    return true;
                }
                flushed = flushed.max(h.target);
                if h.durable {
                    synced = synced.max(h.target);
                }
                false
            });
            (self.synced, self.flushed) = (synced, flushed);
        }
        self.publishes += 1;
        self.published_at_ns = now_ns;
    }
}
