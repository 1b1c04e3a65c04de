//! The write ledger: what lets a checkpoint read the queue and the replay positions together
//! without stopping commits (no commit gate).
//!
//! Every append of a transaction (a commit or a copy-forward chunk) is *registered* in its
//! directory's ledger right after the writer returned, with the effects it will have on the
//! queue ([`Pending`]); it stays *pending* until the transaction applies it, under the queue
//! lock, once durable. Appends of one directory land in logical order (the writer's running
//! byte count, [`Appended::end`]), but their registrations may arrive in any order, so each
//! ledger keeps a **frontier**: the logical end up to which every append is registered, and
//! the (segment, offset) it corresponds to. A transaction applies only once the frontier has
//! passed its own end (it practically always has: the append before it registers right after
//! its own write, without any lock or I/O in between).
//!
//! A checkpoint holds the queue lock (so nothing applies) and reads each ledger: its frontier
//! is the directory's replay position, and the image is the applied queue plus the effects of
//! every pending transaction before the frontier. So every record before a position is in the
//! image and none after it is, exactly as with the old exclusive gate, but a checkpoint waits
//! for no commit's write or fsync and no commit waits for it. The pending transactions are
//! not yet known durable when the snapshot is taken; the checkpoint fsyncs every data
//! directory before it writes the image, and a failed fsync poisons the channel, so an image
//! never names an event that is not durable.
//!
//! Lock order: `state` → a ledger; registration and the frontier wait take a ledger alone.
//! This file is a leaf (`inner.rs` holds the ledgers); `apply.rs` drives them for a transaction.

use std::collections::BTreeMap;

use parking_lot::{Condvar, Mutex};

use crate::dedup::IdSpan;
use crate::wal::record::Cursor;
use crate::wal::writer::Appended;
use crate::wal::EventPtr;

/// The effects a registered transaction will have on the queue once applied.
#[derive(Clone, Debug, Default)]
pub(super) struct Pending {
    /// Seqs of the in-flight entries it finishes: the events a commit took, or the events a
    /// copy forward moves (their old pointers).
    pub finished: Vec<u64>,
    /// Entries it adds: a commit's puts, or the moved events at their new pointers.
    pub added: Vec<(u64, EventPtr)>,
    /// Segment dependencies its takes create: (segment written to, segment taken from).
    pub deps: Vec<(u32, u32)>,
    /// The event ids its puts commit (for a checkpoint's deduplication state).
    pub ids: Vec<IdSpan>,
    /// The cursors it sets.
    pub cursors: Vec<Cursor>,
    /// The sequence number of its commit record: which of two commits setting one cursor
    /// came later (0 for a copy forward, which sets none).
    pub commit_seq: u64,
}

impl Pending {
    /// The effects of a commit written to segment `written_to`: its `takes` (seq, pointer)
    /// finish, its `puts` (seq, pointer) join the queue, its `cursors` are set as of its
    /// commit record's `commit_seq`.
    pub fn commit(
        takes: &[(u64, EventPtr)],
        puts: Vec<(u64, EventPtr)>,
        written_to: u32,
        (ids, cursors, commit_seq): (Vec<IdSpan>, Vec<Cursor>, u64),
    ) -> Self {
        let mut deps: Vec<(u32, u32)> = Vec::new();
        for (_, ptr) in takes {
            // Taken events mostly come from one segment: skip repeats of the last one.
            if ptr.segment != written_to && deps.last().map(|d| d.1) != Some(ptr.segment) {
                deps.push((written_to, ptr.segment));
            }
        }
        deps.sort_unstable();
        deps.dedup();
        Pending {
            finished: takes.iter().map(|(seq, _)| *seq).collect(),
            added: puts,
            deps,
            ids,
            cursors,
            commit_seq,
        }
    }

    /// The effects of a copy forward: each held event (seq) gets its new pointer.
    pub fn copy(moved: Vec<(u64, EventPtr)>) -> Self {
        Pending {
            finished: moved.iter().map(|(seq, _)| *seq).collect(),
            added: moved,
            deps: Vec::new(),
            ids: Vec::new(),
            cursors: Vec::new(),
            commit_seq: 0,
        }
    }
}

/// Where a registered append landed: its directory and logical end (the ledger's key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Ticket {
    /// Index of the data directory.
    pub dir: usize,
    /// Where the writer put the bytes.
    pub appended: Appended,
}

#[derive(Debug)]
struct DirState {
    /// Logical end up to which every append of the directory is registered.
    frontier: u64,
    /// (segment, offset) at the frontier: the replay position a checkpoint may use.
    position: (u32, u64),
    /// Registered appends beyond a gap: logical start -> (logical end, segment, end offset).
    ahead: BTreeMap<u64, (u64, u32, u64)>,
    /// Registered, not yet applied (or discarded), by logical end.
    pending: BTreeMap<u64, Pending>,
}

/// The ledger of one data directory.
#[derive(Debug)]
pub(super) struct DirLedger {
    st: Mutex<DirState>,
    covered: Condvar,
}

impl DirLedger {
    /// A ledger whose writer has appended nothing yet and stands at `position`.
    pub fn new(position: (u32, u64)) -> Self {
        DirLedger {
            st: Mutex::new(DirState {
                frontier: 0,
                position,
                ahead: BTreeMap::new(),
                pending: BTreeMap::new(),
            }),
            covered: Condvar::new(),
        }
    }

    /// Registers the `len` bytes appended at `a` with their effects.
    pub fn register(&self, a: &Appended, len: u64, pending: Pending) {
        assert!(a.end >= len, "an append ending before its own bytes");
        let start = a.end - len;
        let end_offset = a.offset + len;
        let mut st = self.st.lock();
        assert!(
            start >= st.frontier,
            "append at logical {start} registered twice (frontier {})",
            st.frontier
        );
        let old = st.pending.insert(a.end, pending);
        assert!(old.is_none(), "two appends ending at logical {}", a.end);
        if start > st.frontier {
            st.ahead.insert(start, (a.end, a.segment_id, end_offset));
            return;
        }
        st.frontier = a.end;
        st.position = (a.segment_id, end_offset);
        // Close the gaps this append filled; each pass removes one entry of `ahead`.
        while let Some((end, segment, offset)) = {
            let f = st.frontier;
            st.ahead.remove(&f)
        } {
            st.frontier = end;
            st.position = (segment, offset);
        }
        drop(st);
        self.covered.notify_all();
    }

    /// Waits until every append before logical `end` (its own included) is registered.
    pub fn wait_covered(&self, end: u64) {
        let mut st = self.st.lock();
        while st.frontier < end {
            self.covered.wait(&mut st);
        }
    }

    /// Removes the pending effects of the append ending at `end` (to apply or discard them).
    pub fn take(&self, end: u64) -> Option<Pending> {
        self.st.lock().pending.remove(&end)
    }

    /// The replay position and the effects of every pending append before it.
    pub fn snapshot(&self) -> ((u32, u64), Vec<Pending>) {
        let st = self.st.lock();
        let before = st.pending.range(..=st.frontier).map(|(_, p)| p.clone());
        (st.position, before.collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appended(segment_id: u32, offset: u64, end: u64) -> Appended {
        Appended {
            segment_id,
            offset,
            end,
            pending_write: false,
        }
    }

    #[test]
    fn the_frontier_waits_for_a_gap_and_then_passes_everything_registered() {
        let l = DirLedger::new((3, 100));
        // Three appends of 10 bytes in segment 4 (logical 0..10, 10..20, 20..30).
        l.register(&appended(4, 40, 20), 10, Pending::default());
        l.register(&appended(4, 50, 30), 10, Pending::default());
        let (pos, pending) = l.snapshot();
        assert_eq!(pos, (3, 100), "a gap at logical 0 keeps the old position");
        assert!(pending.is_empty());
        l.register(&appended(4, 30, 10), 10, Pending::default());
        let (pos, pending) = l.snapshot();
        assert_eq!(pos, (4, 60));
        assert_eq!(pending.len(), 3);
        l.wait_covered(30);
        assert!(l.take(20).is_some());
        assert!(l.take(20).is_none());
        assert_eq!(l.snapshot().1.len(), 2);
    }

    #[test]
    fn a_snapshot_holds_the_effects_of_pending_appends_before_the_frontier_only() {
        let l = DirLedger::new((1, 64));
        let p = |seq| Pending {
            added: vec![(
                seq,
                EventPtr {
                    segment: 1,
                    offset: 64,
                },
            )],
            ..Pending::default()
        };
        l.register(&appended(1, 64, 10), 10, p(7));
        l.register(&appended(2, 64, 30), 10, p(9));
        let (pos, pending) = l.snapshot();
        assert_eq!(pos, (1, 74));
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].added[0].0, 7);
    }
}
