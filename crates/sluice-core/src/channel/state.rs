//! The in-memory queue state and the capacity gate.
//!
//! `ready` holds committed events not yet taken, keyed by the sequence number of their put
//! record (the commit order), so a rollback puts taken events back exactly where they were.
//! It is a [`ReadyQueue`] of shared chunks: a checkpoint clones it (two pointer copies) under
//! the commit gate and encodes it afterwards without blocking traffic. `inflight` holds the
//! events each open transaction has taken; `live` counts, per segment, the events still queued
//! or in flight there, which decides when a segment may be deleted.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::wal::replay::CommittedTxn;
use crate::wal::EventPtr;

pub(super) mod ids;
mod ready;

use ids::IdMap;
pub use ready::ReadyQueue;

/// Queue state guarded by one mutex. Its fields change only through the methods below, which
/// keep `live` equal to the events of `ready` and `inflight` per segment.
#[derive(Debug, Default)]
pub struct QueueState {
    /// Committed, untaken events by put seq.
    ready: ReadyQueue,
    /// Taken-but-uncommitted events by transaction id.
    inflight: IdMap<u64, Vec<(u64, EventPtr)>>,
    /// Live (queued or in-flight) events per segment; never a zero count.
    live: HashMap<u32, u64>,
    /// Per segment, the other segments whose events it holds committed takes of: it must not
    /// be deleted before them (a full replay would bring their events back).
    deps: IdMap<u32, BTreeSet<u32>>,
}

/// Events queued in the image and after it whose segment is gone: (seq, segment).
pub type MissingEvents = Vec<(u64, u32)>;

impl QueueState {
    /// Rebuilds the queue at open: the checkpoint's `entries` and `deps`, then the transactions
    /// replayed after it in commit order. Events whose segment is not in `present` are dropped
    /// from the queue and returned (open refuses them unless the policy is `salvage`).
    pub fn rebuild(
        entries: &[(u64, EventPtr)],
        deps: &[(u32, u32)],
        committed: &[CommittedTxn],
        present: &BTreeSet<u32>,
    ) -> (QueueState, MissingEvents) {
        let mut st = QueueState::default();
        // Replay removes takes anywhere in the queue: an ordered map does that best, and the
        // survivors go into the queue in order afterwards.
        let mut ready: BTreeMap<u64, EventPtr> = entries.iter().copied().collect();
        for (segment, target) in deps {
            st.note_dep(*segment, *target);
        }
        for txn in committed {
            // A put may replace an entry of the image: a copy forward keeps the put's seq.
            for (seq, ptr) in &txn.puts {
                ready.insert(*seq, *ptr);
            }
            for (put_seq, ptr) in &txn.takes {
                ready.remove(put_seq);
                st.note_dep(txn.segment, ptr.segment);
            }
        }
        let mut missing: MissingEvents = Vec::new();
        for (seq, ptr) in ready {
            if !present.contains(&ptr.segment) {
                missing.push((seq, ptr.segment));
                continue;
            }
            *st.live.entry(ptr.segment).or_default() += 1;
            let old = st.ready.insert(seq, ptr);
            debug_assert!(old.is_none(), "rebuild inserted seq {seq} twice");
        }
        st.deps.retain(|segment, targets| {
            targets.retain(|t| present.contains(t));
            present.contains(segment) && !targets.is_empty()
        });
        assert_eq!(st.live.values().sum::<u64>(), st.ready.len() as u64);
        (st, missing)
    }

    /// Applies a durable commit of transaction `txid` written to segment `written_to`: its
    /// puts (at their reserved seqs, strictly increasing and new to the queue) join the queue,
    /// its taken events are forgotten. Returns how many events it took.
    pub fn apply_commit(
        &mut self,
        txid: u64,
        written_to: u32,
        puts: impl IntoIterator<Item = (u64, EventPtr)>,
    ) -> u64 {
        let mut last_seq = None;
        let mut added = 0u64;
        for (seq, ptr) in puts {
            debug_assert!(last_seq < Some(seq), "put seqs not increasing in a commit");
            // Every put of a commit is in the segment its one append went to, so the live
            // count is raised once per commit below.
            assert_eq!(
                ptr.segment, written_to,
                "a put outside its commit's segment"
            );
            last_seq = Some(seq);
            let old = self.ready.insert(seq, ptr);
            assert!(old.is_none(), "seq {seq} committed twice");
            added += 1;
        }
        if added > 0 {
            *self.live.entry(written_to).or_default() += added;
        }
        self.finish_takes(txid, written_to)
    }

    /// Takes the oldest event for transaction `txid`.
    pub fn take(&mut self, txid: u64) -> Option<(u64, EventPtr)> {
        let entry = self.ready.pop_first()?;
        self.inflight.entry(txid).or_default().push(entry);
        Some(entry)
    }

    /// Returns a transaction's taken (or held) events to the queue at their places.
    pub fn untake(&mut self, txid: u64) {
        if let Some(taken) = self.inflight.remove(&txid) {
            for (seq, ptr) in taken {
                let old = self.ready.insert(seq, ptr);
                debug_assert!(old.is_none(), "seq {seq} both queued and in flight");
            }
        }
    }

    /// Holds every live event of `segment` for transaction `txid` like a take, if they are all
    /// queued (none in flight elsewhere), at most `max` of them and found among the first
    /// `budget` entries of the queue. Returns them, or `None` leaving the queue as it was.
    pub fn hold(
        &mut self,
        txid: u64,
        segment: u32,
        budget: usize,
        max: usize,
    ) -> Option<Vec<(u64, EventPtr)>> {
        let live = self.live.get(&segment).copied().unwrap_or(0);
        let picks: Vec<(u64, EventPtr)> = self
            .ready
            .iter()
            .take(budget)
            .filter(|(_, p)| p.segment == segment)
            .take(max)
            .copied()
            .collect();
        if picks.is_empty() || picks.len() as u64 != live {
            return None;
        }
        for (k, _) in &picks {
            self.ready.remove(*k);
        }
        let old = self.inflight.insert(txid, picks.clone());
        assert!(old.is_none(), "transaction {txid} already holds events");
        Some(picks)
    }

    /// Applies a durable copy forward of the events `txid` holds from segment `from`: each goes
    /// back to the queue at its seq with the pointer `moved` gives it (in hold order); `from`
    /// keeps whatever else became live there meanwhile.
    pub fn apply_copy(&mut self, txid: u64, from: u32, moved: &[EventPtr]) {
        let held = self.inflight.remove(&txid).unwrap_or_default();
        assert_eq!(
            held.len(),
            moved.len(),
            "copied events differ from those held"
        );
        for ((seq, old), ptr) in held.iter().zip(moved) {
            debug_assert_eq!(old.segment, from, "a held event outside its segment");
            self.ready.insert(*seq, *ptr);
            *self.live.entry(ptr.segment).or_default() += 1;
        }
        // A commit whose records were appended to `from` before it rolled may apply while
        // the copy ran (it was pending in the ledger, so the compaction's count missed it):
        // its events stay live there and keep the segment.
        let was = self.live.remove(&from).unwrap_or(0);
        let held = held.len() as u64;
        assert!(
            was >= held,
            "segment {from} had {was} live events, {held} held"
        );
        if was > held {
            self.live.insert(from, was - held);
        }
    }

    /// Forgets a transaction's taken events for good: its commit, written to segment
    /// `written_to`, is durable.
    fn finish_takes(&mut self, txid: u64, written_to: u32) -> u64 {
        let Some(taken) = self.inflight.remove(&txid) else {
            return 0;
        };
        // Taken events mostly come from one segment: each run of one segment notes its
        // dependency and lowers its live count once.
        let mut rest = taken.as_slice();
        while let Some((_, first)) = rest.first() {
            let run = rest
                .iter()
                .take_while(|(_, p)| p.segment == first.segment)
                .count();
            self.note_dep(written_to, first.segment);
            self.release_live(first.segment, run as u64);
            rest = rest.get(run..).unwrap_or_default();
        }
        taken.len() as u64
    }

    /// Lowers `segment`'s live count by `n` (forgetting it at zero).
    fn release_live(&mut self, segment: u32, n: u64) {
        let live = self.live.entry(segment).or_default();
        assert!(*live >= n, "live count of segment {segment} underflows");
        *live -= n;
        if *live == 0 {
            self.live.remove(&segment);
        }
    }

    /// Records that `segment` holds a committed take of an event put in `target`.
    pub fn note_dep(&mut self, segment: u32, target: u32) {
        if segment != target {
            self.deps.entry(segment).or_default().insert(target);
        }
    }

    /// Every dependency as sorted (segment, target) pairs: what a checkpoint stores.
    pub fn dep_pairs(&self) -> Vec<(u32, u32)> {
        let mut v: Vec<(u32, u32)> = self
            .deps
            .iter()
            .flat_map(|(s, ts)| ts.iter().map(move |t| (*s, *t)))
            .collect();
        v.sort_unstable();
        v
    }

    /// The segments whose events `segment` holds committed takes of.
    pub fn deps_of(&self, segment: u32) -> Option<&BTreeSet<u32>> {
        self.deps.get(&segment)
    }

    /// Drops queued events whose records are gone (a cut-back segment opened under
    /// `salvage`); returns how many were queued.
    pub fn drop_lost(&mut self, lost: &[(u64, EventPtr)]) -> u64 {
        let mut dropped = 0;
        for (seq, _) in lost {
            let Some(ptr) = self.ready.remove(*seq) else {
                continue;
            };
            if let Some(n) = self.live.get_mut(&ptr.segment) {
                *n -= 1;
                if *n == 0 {
                    self.live.remove(&ptr.segment);
                }
            }
            dropped += 1;
        }
        debug_assert_eq!(self.live.values().sum::<u64>(), self.depth());
        dropped
    }

    /// Forgets a deleted segment: as a dependant and as a target.
    pub fn forget_segment(&mut self, id: u32) {
        debug_assert!(!self.live.contains_key(&id), "forgetting a live segment");
        self.deps.remove(&id);
        self.deps.retain(|_, ts| {
            ts.remove(&id);
            !ts.is_empty()
        });
    }

    /// Committed events not taken, by put seq (shared chunks: a clone is two pointer copies).
    pub fn ready(&self) -> &ReadyQueue {
        &self.ready
    }

    /// Every event taken by an open transaction (or held by a copy forward).
    pub fn inflight_entries(&self) -> Vec<(u64, EventPtr)> {
        self.inflight.values().flatten().copied().collect()
    }

    /// Events taken by open transactions.
    pub fn inflight_len(&self) -> u64 {
        self.inflight.values().map(|v| v.len() as u64).sum()
    }

    /// Live (queued or in-flight) events in `segment`.
    pub fn live_in(&self, segment: u32) -> u64 {
        self.live.get(&segment).copied().unwrap_or(0)
    }

    /// Live events per segment (segments without any are absent).
    pub fn live_counts(&self) -> &HashMap<u32, u64> {
        &self.live
    }

    /// Events queued plus in flight.
    pub fn depth(&self) -> u64 {
        self.ready.len() as u64 + self.inflight_len()
    }
    /// Every live entry (queued and in flight), sorted by seq: what a checkpoint stores.
    pub fn snapshot_entries(
        ready: &ReadyQueue,
        inflight: &[(u64, EventPtr)],
    ) -> Vec<(u64, EventPtr)> {
        let mut v: Vec<(u64, EventPtr)> = Vec::with_capacity(ready.len() + inflight.len());
        v.extend(ready.iter().copied());
        if !inflight.is_empty() {
            v.extend_from_slice(inflight);
            v.sort_unstable_by_key(|(k, _)| *k);
        }
        v
    }
}

/// The longest a put waits for capacity, whatever `keep-alive` says (one day).
pub const CAPACITY_WAIT_MAX: Duration = Duration::from_secs(86_400);

/// Counts queued plus reserved events against `capacity`; puts wait up to keep-alive.
#[derive(Debug)]
pub struct Capacity {
    used: Mutex<u64>,
    freed: Condvar,
    limit: u64,
    shut: AtomicBool,
}

impl Capacity {
    /// A gate with `limit` permits of which `used` are taken.
    pub fn new(limit: u64, used: u64) -> Self {
        Capacity {
            used: Mutex::new(used),
            freed: Condvar::new(),
            limit,
            shut: AtomicBool::new(false),
        }
    }

    /// The limit.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Permits taken now: queued, in-flight and reserved events.
    pub fn used(&self) -> u64 {
        *self.used.lock()
    }

    /// Takes one permit, waiting up to `wait` (capped at [`CAPACITY_WAIT_MAX`]); gives up at
    /// once when the gate is shut.
    pub fn acquire(&self, wait: Duration) -> bool {
        let mut used = self.used.lock();
        if *used < self.limit {
            // The common case: no clock read, no deadline.
            *used += 1;
            return true;
        }
        let now = Instant::now();
        let deadline = now.checked_add(wait.min(CAPACITY_WAIT_MAX)).unwrap_or(now);
        while *used >= self.limit {
            if self.shut.load(Ordering::Acquire) {
                return false;
            }
            if self.freed.wait_until(&mut used, deadline).timed_out() && *used >= self.limit {
                return false;
            }
        }
        *used += 1;
        debug_assert!(*used <= self.limit, "more permits out than the limit");
        true
    }

    /// Whether the gate is shut (the channel is closing).
    pub fn is_shut(&self) -> bool {
        self.shut.load(Ordering::Acquire)
    }

    /// Shuts the gate: waiting and later puts give up (the channel is closing).
    pub fn shut(&self) {
        self.shut.store(true, Ordering::Release);
        let _guard = self.used.lock();
        self.freed.notify_all();
    }

    /// Returns `n` permits.
    pub fn release(&self, n: u64) {
        if n == 0 {
            return;
        }
        let mut used = self.used.lock();
        // More permits back than were taken is an accounting bug, not something to round off.
        assert!(n <= *used, "{n} permits released, {} taken", *used);
        *used -= n;
        drop(used);
        self.freed.notify_all();
    }
}
