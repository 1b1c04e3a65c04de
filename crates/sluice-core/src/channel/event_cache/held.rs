//! The held events themselves: runs of one commit's puts in sequence order, each event
//! counted against the limit by its payload plus [`EVENT_OVERHEAD`], the oldest evicted first.

use std::collections::VecDeque;

use crate::event::Event;

/// Bytes counted per event on top of its payload: the shared handle, its headers' index and
/// the cache's own entry.
pub(super) const EVENT_OVERHEAD: usize = 256;

/// What an event counts against the limit (its payload never changes while it is shared:
/// a holder that writes to it gets a copy).
pub(super) fn cost(event: &Event) -> usize {
    event.payload_bytes() + EVENT_OVERHEAD
}

/// The puts of one commit, numbered `first..first + slots.len()`: a slot empties when its
/// event is taken or evicted.
pub(super) struct Run {
    pub(super) first: u64,
    /// No event is held before this slot.
    pub(super) head: usize,
    pub(super) slots: Vec<Option<Event>>,
    pub(super) live: usize,
}

impl Run {
    pub(super) fn end(&self) -> u64 {
        self.first + self.slots.len() as u64
    }
}

/// The held events as runs in sequence order, so takes that follow the queue (the usual
/// case: it is ordered by sequence number too) read the front run's slots one after the
/// other instead of a hash table's scattered entries, which cost a cache miss per take.
#[derive(Default)]
pub(super) struct Held {
    /// Sorted by `first`, never overlapping. Emptied runs leave at the front, and all at once
    /// when they outnumber the held events (a held event at the front keeps those behind it).
    pub(super) runs: VecDeque<Run>,
    pub(super) events: usize,
    pub(super) bytes: usize,
}

impl Held {
    /// The index of the run numbering `seq`.
    pub(super) fn find(&self, seq: u64) -> Option<usize> {
        let front = self.runs.front()?;
        if seq >= front.first && seq < front.end() {
            return Some(0);
        }
        let after = self.runs.partition_point(|r| r.first <= seq);
        let at = after.checked_sub(1)?;
        (seq < self.runs[at].end()).then_some(at)
    }

    /// Removes the event of the put numbered `seq`.
    pub(super) fn remove(&mut self, seq: u64) -> Option<Event> {
        let at = self.find(seq)?;
        let run = &mut self.runs[at];
        let slot = usize::try_from(seq - run.first).ok()?;
        let event = run.slots.get_mut(slot)?.take()?;
        run.live -= 1;
        if slot == run.head {
            run.head += 1;
        }
        self.events -= 1;
        self.bytes -= cost(&event);
        self.trim();
        Some(event)
    }

    /// Keeps a commit's run, first dropping (into `evicted`) any held run it overlaps.
    /// Commits become durable together, so runs may arrive a little out of order: the place
    /// is found by a binary search (usually the back).
    pub(super) fn insert(&mut self, run: Run, evicted: &mut Vec<Event>) {
        let mut at = self.runs.partition_point(|r| r.first < run.first);
        // A sequence number is never reused within one open; stay consistent anyway.
        while at > 0 && self.runs[at - 1].end() > run.first {
            at -= 1;
            self.drop_run(at, evicted);
        }
        while self.runs.get(at).is_some_and(|r| r.first < run.end()) {
            self.drop_run(at, evicted);
        }
        self.events += run.live;
        self.bytes += run.slots.iter().flatten().map(cost).sum::<usize>();
        self.runs.insert(at, run);
    }

    /// Removes the run at `at`, its events into `evicted`.
    pub(super) fn drop_run(&mut self, at: usize, evicted: &mut Vec<Event>) {
        if let Some(old) = self.runs.remove(at) {
            for event in old.slots.into_iter().flatten() {
                self.events -= 1;
                self.bytes -= cost(&event);
                evicted.push(event);
            }
        }
    }

    /// Evicts the oldest events until the bytes fit `limit`.
    pub(super) fn evict_to(&mut self, limit: usize, evicted: &mut Vec<Event>) {
        while self.bytes > limit {
            let Some(run) = self.runs.front_mut() else {
                break;
            };
            while run.head < run.slots.len() && self.bytes > limit {
                if let Some(event) = run.slots[run.head].take() {
                    run.live -= 1;
                    self.events -= 1;
                    self.bytes -= cost(&event);
                    evicted.push(event);
                }
                run.head += 1;
            }
            self.trim();
        }
    }

    /// Drops emptied runs from the front, and from everywhere once they outnumber the events.
    pub(super) fn trim(&mut self) {
        while self.runs.front().is_some_and(|r| r.live == 0) {
            self.runs.pop_front();
        }
        if self.runs.len() > 2 * self.events + 1024 {
            self.runs.retain(|r| r.live > 0);
        }
    }
}
