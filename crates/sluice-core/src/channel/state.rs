//! The in-memory queue state and the capacity gate.
//!
//! `ready` holds committed events not yet taken, keyed by the sequence number of their put
//! record (the commit order), so a rollback puts taken events back exactly where they were.
//! It is a persistent map: a checkpoint clones it in O(1) under the commit gate and encodes
//! it afterwards without blocking traffic. `inflight` holds the events each open transaction
//! has taken; `live` counts, per segment, the events still queued or in flight there, which
//! decides when a segment may be deleted.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use imbl::OrdMap;
use parking_lot::{Condvar, Mutex};

use crate::wal::EventPtr;

/// Queue state guarded by one mutex.
#[derive(Debug, Default)]
pub struct QueueState {
    /// Committed, untaken events by put seq.
    pub ready: OrdMap<u64, EventPtr>,
    /// Taken-but-uncommitted events by transaction id.
    pub inflight: HashMap<u64, Vec<(u64, EventPtr)>>,
    /// Live (queued or in-flight) events per segment.
    pub live: HashMap<u32, u64>,
    /// Per segment, the other segments whose events it holds committed takes of: it must not
    /// be deleted before them (a full replay would bring their events back).
    pub deps: HashMap<u32, BTreeSet<u32>>,
}

impl QueueState {
    /// Adds a committed event.
    pub fn push(&mut self, seq: u64, ptr: EventPtr) {
        if self.ready.insert(seq, ptr).is_none() {
            *self.live.entry(ptr.segment).or_default() += 1;
        }
    }

    /// Takes the oldest event for transaction `txid`.
    pub fn take(&mut self, txid: u64) -> Option<(u64, EventPtr)> {
        let seq = self.ready.get_min().map(|(k, _)| *k)?;
        let ptr = self.ready.remove(&seq)?;
        self.inflight.entry(txid).or_default().push((seq, ptr));
        Some((seq, ptr))
    }

    /// Returns a transaction's taken events to the queue at their places.
    pub fn untake(&mut self, txid: u64) {
        if let Some(taken) = self.inflight.remove(&txid) {
            for (seq, ptr) in taken {
                self.ready.insert(seq, ptr);
            }
        }
    }

    /// Forgets a transaction's taken events for good: its commit, written to segment
    /// `written_to`, is durable.
    pub fn finish_takes(&mut self, txid: u64, written_to: u32) -> u64 {
        let Some(taken) = self.inflight.remove(&txid) else {
            return 0;
        };
        let mut last_target = None;
        for (_, ptr) in &taken {
            // Taken events mostly come from one segment: note each target once per run.
            if last_target != Some(ptr.segment) {
                self.note_dep(written_to, ptr.segment);
                last_target = Some(ptr.segment);
            }
            if let Some(n) = self.live.get_mut(&ptr.segment) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.live.remove(&ptr.segment);
                }
            }
        }
        taken.len() as u64
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

    /// Forgets a deleted segment: as a dependant and as a target.
    pub fn forget_segment(&mut self, id: u32) {
        self.deps.remove(&id);
        self.deps.retain(|_, ts| {
            ts.remove(&id);
            !ts.is_empty()
        });
    }

    /// Events queued plus in flight.
    pub fn depth(&self) -> u64 {
        self.ready.len() as u64 + self.inflight.values().map(|v| v.len() as u64).sum::<u64>()
    }

    /// Every live entry (queued and in flight), sorted by seq: what a checkpoint stores.
    pub fn snapshot_entries(
        ready: &OrdMap<u64, EventPtr>,
        inflight: &[(u64, EventPtr)],
    ) -> Vec<(u64, EventPtr)> {
        let mut v: Vec<(u64, EventPtr)> = Vec::with_capacity(ready.len() + inflight.len());
        v.extend(ready.iter().map(|(k, p)| (*k, *p)));
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
        let now = Instant::now();
        let deadline = now.checked_add(wait.min(CAPACITY_WAIT_MAX)).unwrap_or(now);
        let mut used = self.used.lock();
        while *used >= self.limit {
            if self.shut.load(Ordering::Acquire) {
                return false;
            }
            if self.freed.wait_until(&mut used, deadline).timed_out() && *used >= self.limit {
                return false;
            }
        }
        *used += 1;
        true
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
        *used = used.saturating_sub(n);
        drop(used);
        self.freed.notify_all();
    }
}
