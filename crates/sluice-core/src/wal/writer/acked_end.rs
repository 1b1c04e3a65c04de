//! Keeping the directory's acknowledged-end record ([`crate::wal::acked`]) fresh: the ends
//! that fdatasyncs made durable are noted here (by a group-commit leader once its target is
//! published, by a roll once its seal is), and written out atomically by a leader at most
//! every `ackedEndRefreshInterval` or [`REFRESH_BYTES`], by the first leader after a roll, and
//! on demand (checkpoint, close). Only the leader's own commit waits for it: the leader writes after
//! it has published and woken its group, and a failed write is logged, never a commit's failure
//! (the record only narrows what an outside truncation can hide; see docs/recovery.md).

use parking_lot::Mutex;

use super::DirWriter;
use crate::wal::acked::{self, SegmentEnds, REFRESH_BYTES};

/// The ends noted and written so far.
#[derive(Debug, Default)]
pub(super) struct AckedState {
    /// Durable ends noted (the newest [`acked::ACKED_SEGMENTS_MAX`] segments).
    ends: SegmentEnds,
    /// What the record on disk says (as far as this writer knows).
    on_disk: SegmentEnds,
    /// When the record was last written (writer clock), and the logical position then.
    written_at_ns: u64,
    written_pos: u64,
    /// The next leader writes whatever the interval says (a roll sealed a segment).
    force: bool,
    /// A write is under way (another leader skips its own).
    writing: bool,
}

/// The acknowledged-end state of one writer.
#[derive(Debug, Default)]
pub(super) struct AckedEnd {
    state: Mutex<AckedState>,
    /// The longest a leader leaves the record behind while commits come
    /// (`ackedEndRefreshInterval`).
    interval_ns: u64,
}

impl AckedEnd {
    /// The state of a writer whose directory's record names `ends` (recovery has clamped them
    /// to what it accepted).
    pub(super) fn loaded(ends: SegmentEnds, interval_ns: u64) -> Self {
        AckedEnd {
            interval_ns,
            state: Mutex::new(AckedState {
                on_disk: ends.clone(),
                ends,
                ..AckedState::default()
            }),
        }
    }
}

impl DirWriter {
    /// A leader's target `pos` (segment `id`, `end` bytes of it) is published durable: notes
    /// it, and writes the record when due. Called with no lock held.
    pub(super) fn acked_durable(&self, id: u32, end: u64, pos: u64) {
        let now = self.timers.now_ns();
        let bytes = {
            let mut st = self.acked.state.lock();
            acked::raise(&mut st.ends, id, end);
            let due = st.force
                || now.saturating_sub(st.written_at_ns) >= self.acked.interval_ns
                || pos.saturating_sub(st.written_pos) >= REFRESH_BYTES
                || st.on_disk.last().is_none_or(|(s, _)| *s != id);
            if !due || st.writing || st.ends == st.on_disk {
                return;
            }
            st.writing = true;
            st.force = false;
            st.written_at_ns = now;
            st.written_pos = pos;
            st.ends.clone()
        };
        self.write_acked(bytes);
    }

    /// A roll's seal made segment `id` durable up to `end`: the next leader writes it.
    pub(super) fn acked_sealed(&self, id: u32, end: u64) {
        let mut st = self.acked.state.lock();
        acked::raise(&mut st.ends, id, end);
        st.force = true;
    }

    /// Writes the ends noted so far now, unless they are on disk already (the checkpoint and
    /// a clean close call it after their fsyncs).
    pub fn refresh_acked_end(&self) {
        let bytes = {
            let mut st = self.acked.state.lock();
            if st.writing || st.ends.is_empty() || st.ends == st.on_disk {
                return;
            }
            st.writing = true;
            st.force = false;
            st.written_at_ns = self.timers.now_ns();
            st.ends.clone()
        };
        self.write_acked(bytes);
    }

    fn write_acked(&self, ends: SegmentEnds) {
        let result = acked::write(self.fs.as_ref(), &self.dir, &ends);
        let mut st = self.acked.state.lock();
        st.writing = false;
        match result {
            Ok(()) => st.on_disk = ends,
            Err(e) => {
                // Best effort: a stale record only widens what a cut can hide.
                st.force = true;
                tracing::warn!(dir = %self.dir.display(), error = %e, "could not update the acknowledged-end record");
            }
        }
    }
}
