//! The direct-I/O steps of a [`DirWriter`]: copying an append into the aligned tail (allocating
//! the file ahead first), cutting the pending bytes for the group-commit leader, writing a cut
//! as whole blocks, and giving its buffer back; every buffer comes from and goes back to the
//! channel's buffer pool.

use std::sync::Arc;

use super::direct::{Cut, DirectTail};
use super::records::{first_frame_checks_out, Records};
use super::start::is_enospc;
use super::{Active, DirWriter, WalError};
use crate::invariant::hot_assert;
use crate::io::FsFile;
use crate::wal::aligned::{align_up, AlignedBuf};
use crate::wal::seal::SegmentKey;

/// Smallest capacity of a fresh direct-I/O buffer (sized at one and a half times the last
/// group's bytes, and grown into a larger pooled one when a group needs more).
const DIRECT_BUF_MIN: usize = 64 << 10;

impl DirWriter {
    /// Encodes `records` (to land at `offset` of `segment_id`, salted for it) into the direct
    /// tail, allocating the file ahead first when they would pass its allocation: the
    /// allocation must leave `min_free` too, and ENOSPC there fails only this append.
    pub(super) fn buffer_direct(
        &self,
        tail: &mut DirectTail,
        (segment_id, offset, key): (u32, u64, Option<&SegmentKey>),
        records: &mut dyn Records,
        min_free: Option<u64>,
    ) -> Result<(), WalError> {
        hot_assert!(
            tail.start + tail.buf.len() as u64 == offset,
            "the direct tail does not end where the append starts"
        );
        let len = records.len() as usize;
        let end = offset + len as u64;
        if end > tail.allocated {
            let mut want = DirectTail::allocation_for(end, self.max_file_bytes);
            if self.check_space(min_free, want - tail.allocated).is_err() {
                // Near the floor: allocate only what this append needs.
                want = align_up(end);
                self.check_space(min_free, want - tail.allocated)?;
            }
            if let Err(e) = tail.file.allocate(want) {
                if is_enospc(&e) {
                    self.space.note_full();
                    return Err(WalError::DiskFull {
                        dir: self.dir.clone(),
                        available: 0,
                        required: want - tail.allocated,
                    });
                }
                return Err(WalError::Io {
                    op: "allocate",
                    path: self.segment_path(segment_id),
                    source: e,
                });
            }
            tail.allocated = want;
        }
        let need = tail.buf.len() + len;
        if need > tail.buf.capacity() {
            // Grow into a pooled buffer rather than a fresh zero-filled one.
            let mut bigger = self.fresh_buffer(need * 2);
            bigger.extend(tail.buf.as_slice());
            let old = std::mem::replace(&mut tail.buf, bigger);
            self.table.pool().recycle(old);
        }
        match key {
            Some(key) => records.seal_into(&mut tail.buf, key, offset),
            None => records.encode_into(&mut tail.buf, segment_id),
        }
        hot_assert!(
            tail.start + tail.buf.len() as u64 == end,
            "records encoded into the direct tail are not the length they said"
        );
        let at = (offset - tail.start) as usize;
        hot_assert!(
            first_frame_checks_out(&tail.buf.as_slice()[at..], segment_id, key, offset),
            "records appended to segment {segment_id} are not salted for it"
        );
        Ok(())
    }

    /// Takes the active segment's pending direct bytes out to be written (under `io`).
    pub(super) fn cut_pending(&self, a: &mut Active) -> Option<(Cut, Arc<dyn FsFile>)> {
        let tail = a.direct.as_mut().filter(|t| t.pending())?;
        // Room for a group half again as large as this one.
        let fresh = self.fresh_buffer(tail.buf.len() + tail.buf.len() / 2);
        let file = tail.file.clone();
        Some((tail.cut(fresh), file))
    }

    /// A direct-I/O buffer of at least `capacity` bytes (and at least [`DIRECT_BUF_MIN`]).
    pub(super) fn fresh_buffer(&self, capacity: usize) -> AlignedBuf {
        self.table.pool().buffer(capacity.max(DIRECT_BUF_MIN))
    }

    /// Writes a cut of segment `id` with direct I/O (under `io`); a failure poisons.
    pub(super) fn write_cut(
        &self,
        id: u32,
        file: &dyn FsFile,
        cut: &mut Cut,
    ) -> Result<(), WalError> {
        if let Err(e) = file.write_all_at(cut.buf.padded(), cut.start) {
            let path = self.segment_path(id);
            self.poison.set("write", path.clone(), &e);
            return Err(WalError::Io {
                op: "write",
                path,
                source: e,
            });
        }
        Ok(())
    }

    /// Gives the buffer of a cut that is on disk back to the pool.
    pub(super) fn recycle_cut(&self, cut: Cut) {
        self.table.pool().recycle(cut.buf);
    }
}
