//! Segment recycling: a segment the checkpoint no longer needs is renamed to a spare
//! (`spare-<id>`) instead of unlinked, and the next roll writes its new header into the spare
//! and renames it to the new segment's name. The new segment is then written over blocks that
//! are already allocated and written: the disk overwrites them (no unwritten-extent
//! conversion, no file-size change for the journal to commit at every fdatasync), and gc
//! skips the unlink (20–30 ms for a large file). Written through the page cache, the spare's
//! pages are usually still cached: the writes overwrite them instead of filling newly
//! allocated pages, 3–4× less kernel CPU per byte on the 2-core VM (docs/performance-findings.md,
//! "Recycling buffered segments"); its pages never go back to the free lists, where a VM
//! with free page reporting hands them to the host and pays again at their next first touch.
//!
//! The earlier use's bytes stay after the new tail. They can never be read as live data: the
//! new segment is version 2, whose record CRCs are salted with its id, so no earlier record
//! passes ([`crate::wal::record::record_crc`]); the first block is written whole (header and
//! zeros), and the new records are always followed by zeros, which the scanner takes as the
//! end of this use:
//! - direct: every direct write pads its last block with zeros, and a sealed segment whose
//!   records end exactly at a block boundary gets one zero block there
//!   ([`DirWriter::zero_block_at`]);
//! - buffered: every append carries zeros in the same `pwritev` up to the page boundary at
//!   least one frame header past its end ([`page_pad`]). Its writes therefore end on page
//!   boundaries, and a partial page is always the one the previous append just wrote: no
//!   write has to read a page of an uncached spare from the disk first.
//!
//! Crash safety, step by step (docs/recovery.md, "Recycled segments"):
//! - retire: rename `log-<old>` to `spare-<old>`, fsync the directory, only then offer the
//!   spare. A crash before the fsync leaves either name; the deletion journal finishes a
//!   `log-<old>` (unlinks it), and a spare is ignored by replay and the tools.
//! - take: write the new header block (O_DIRECT, or buffered), fdatasync, rename to
//!   `log-<new>`, fsync the directory. Until the rename the file is a spare (ignored, whatever
//!   it holds); after it, its header is already the new one (synced before the rename), so a
//!   `log-<new>` never carries a stale header. A failure before the rename drops the spare
//!   and the roll creates a fresh file; a failed directory fsync poisons, as for a fresh
//!   segment.
//! - open: spares found are kept (up to `recycleSegments`; their content is never read), the
//!   rest, or all of them when recycling is off, are removed.
//!
//! Spares hold disk space. A directory keeps them only while its last known free space leaves
//! room for a whole segment above `minimumRequiredSpace` (else a retired segment is unlinked),
//! and a put refused for space first removes the spares and looks again.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::direct::DirectTail;
use super::{DirWriter, WalError};
use crate::io::{FsFile, OpenMode, DIRECT_ALIGN};
use crate::wal::aligned::AlignedBuf;
use crate::wal::record::FRAME_LEN_AT;
use crate::wal::segment::{is_spare_file_name, spare_file_name};

/// The zeros a buffered append into a recycled file that ends at `end` carries: up to the
/// page boundary at least one frame header past it, so the scanner always meets a zeroed frame
/// header after the last record (then the earlier use's bytes, which fail this salt).
pub(super) fn page_pad(end: u64) -> usize {
    let page = DIRECT_ALIGN as u64;
    let frame_header = FRAME_LEN_AT.end as u64;
    // At most a page and a frame header: fits usize.
    ((end + frame_header).next_multiple_of(page) - end) as usize
}

/// A segment started in a recycled spare: its buffered handle, and its direct tail (`None`:
/// written through the page cache, with padded appends).
pub(super) struct Recycled {
    pub file: Arc<dyn FsFile>,
    pub tail: Option<DirectTail>,
}

impl DirWriter {
    /// Whether retired segments of this directory become spares.
    pub(super) fn recycling(&self) -> bool {
        self.recycle_max > 0
    }

    /// Takes up the spares left in the directory: keeps at most `recycleSegments` of them
    /// (none when recycling is off) and removes the rest (best effort: a spare left behind is
    /// ignored by everything and removed at the next open).
    pub(super) fn with_spares_found(self) -> Self {
        let names = match self.fs.list_dir(&self.dir) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(dir = %self.dir.display(), error = %e, "cannot list spares");
                return self;
            }
        };
        let mut extra = Vec::new();
        {
            let mut spares = self.spares.lock();
            for name in names.iter().filter(|n| is_spare_file_name(n)) {
                let path = self.dir.join(name);
                if spares.len() < self.recycle_max {
                    spares.push(path);
                } else {
                    extra.push(path);
                }
            }
            if !spares.is_empty() {
                tracing::debug!(dir = %self.dir.display(), spares = spares.len(), "spare segment files kept for recycling");
            }
        }
        self.remove_spares(extra);
        self
    }

    /// Retires segment `id` at `path` (no longer needed by any checkpoint): renamed to a spare
    /// and the directory fsynced when recycling has room for one, else unlinked. Returns
    /// whether it became a spare.
    pub fn retire(&self, path: &Path, id: u32) -> io::Result<bool> {
        // Only gc retires (one checkpoint at a time), so the count can only fall (a roll taking
        // a spare) between this check and the push: the lock is not held over the fsync, which
        // a roll (and the commits behind it) would otherwise wait for.
        if self.recycling() && self.room_for_spare() && self.spares.lock().len() < self.recycle_max
        {
            let spare = self.dir.join(spare_file_name(id));
            self.fs.rename(path, &spare)?;
            // Offered only once durable: a roll must never write a new header into a file
            // whose old name a crash could bring back.
            self.fs.sync_dir(&self.dir)?;
            self.spares.lock().push(spare);
            return Ok(true);
        }
        self.fs.remove_file(path)?;
        Ok(false)
    }

    /// Whether the directory's last known free space leaves room for one more segment above
    /// `minimumRequiredSpace`: else a retired segment's space is given back.
    fn room_for_spare(&self) -> bool {
        let min = self.min_free_seen.load(Ordering::Relaxed);
        self.space.cached() >= min.saturating_add(self.max_file_bytes)
    }

    /// Removes every spare (a put was refused for space); returns whether any was removed.
    pub(super) fn release_spares(&self) -> bool {
        let spares = std::mem::take(&mut *self.spares.lock());
        let removed = self.remove_spares(spares);
        if removed {
            tracing::info!(dir = %self.dir.display(), "short of space: spare segment files removed");
        }
        removed
    }

    /// Unlinks `paths` (best effort: a spare left behind is ignored by everything and removed
    /// at the next open), then fsyncs the directory if any went; returns whether any went.
    fn remove_spares(&self, paths: Vec<PathBuf>) -> bool {
        let mut removed = false;
        for path in paths {
            match self.fs.remove_file(&path) {
                Ok(()) => removed = true,
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot remove a spare")
                }
            }
        }
        if removed {
            if let Err(e) = self.fs.sync_dir(&self.dir) {
                tracing::warn!(dir = %self.dir.display(), error = %e, "cannot sync the directory after removing spares");
            }
        }
        removed
    }

    /// Starts segment `id` in a spare, when recycling and one is there: its `header` (and
    /// seal block) written as the first block with O_DIRECT and synced, renamed, directory
    /// fsynced.
    /// `Ok(None)`: no spare, or it could not be prepared (then it is dropped and the caller
    /// creates a fresh file). Errors after the rename are the caller's to handle as a roll's.
    pub(super) fn start_recycled(
        &self,
        id: u32,
        header: &[u8],
    ) -> Result<Option<Recycled>, WalError> {
        if !self.recycling() {
            return Ok(None);
        }
        let Some(spare) = self.spares.lock().pop() else {
            return Ok(None);
        };
        let prepared = if self.writes_direct() {
            self.prepare_spare(&spare, header).map(Some)
        } else {
            self.prepare_spare_buffered(&spare, header).map(|()| None)
        };
        let direct = match prepared {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(path = %spare.display(), error = %e, "cannot recycle a spare; removing it and creating a fresh segment");
                if let Err(e) = self.fs.remove_file(&spare) {
                    tracing::warn!(path = %spare.display(), error = %e, "cannot remove the spare");
                }
                return Ok(None);
            }
        };
        let path = self.segment_path(id);
        if let Err(e) = self.fs.rename(&spare, &path) {
            tracing::warn!(path = %spare.display(), error = %e, "cannot rename a spare; creating a fresh segment");
            return Ok(None);
        }
        self.fs.sync_dir(&self.dir).map_err(|e| WalError::Io {
            op: "sync directory",
            path: self.dir.clone(),
            source: e,
        })?;
        let file = self
            .fs
            .open(&path, OpenMode::ReadWrite)
            .map_err(|e| WalError::Roll {
                op: "open recycled",
                path: path.clone(),
                source: e,
            })?;
        let Some(direct) = direct else {
            self.recycled.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(spare = %spare.display(), segment = id, "recycled a spare as a new segment (buffered)");
            return Ok(Some(Recycled { file, tail: None }));
        };
        // The earlier use wrote the file up to its length: inside it no allocation is needed;
        // appends past it allocate as in a fresh file.
        let len = direct.len().map_err(|e| WalError::Roll {
            op: "stat recycled",
            path: path.clone(),
            source: e,
        })?;
        let allocated = len - len % DIRECT_ALIGN as u64;
        let mut tail = DirectTail::new(direct, self.fresh_buffer(0), header, allocated);
        // Written whole by its earlier use: nothing to zero ahead inside it.
        tail.zeroed = allocated;
        self.recycled.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(spare = %spare.display(), segment = id, bytes = len, "recycled a spare as a new segment");
        Ok(Some(Recycled {
            file,
            tail: Some(tail),
        }))
    }

    /// Opens `spare` for direct I/O and makes its first block the new `header` followed by
    /// zeros, durably.
    fn prepare_spare(&self, spare: &Path, header: &[u8]) -> io::Result<Arc<dyn FsFile>> {
        let file = self.fs.open_direct(spare)?;
        let mut block = AlignedBuf::with_capacity(DIRECT_ALIGN);
        block.extend(header);
        file.write_all_at(block.padded(), 0)?;
        file.sync_data()?;
        Ok(file)
    }

    /// Opens `spare` through the page cache and makes its first page the new `header`
    /// followed by zeros, durably.
    fn prepare_spare_buffered(&self, spare: &Path, header: &[u8]) -> io::Result<()> {
        let file = self.fs.open(spare, OpenMode::ReadWrite)?;
        file.write_all_at_padded(header, DIRECT_ALIGN - header.len(), 0)?;
        file.sync_data()
    }

    /// Writes one block of zeros at `offset` (block-aligned) of a direct segment whose records
    /// end there, so that its end reads as zeroes and not as an earlier use's bytes.
    pub(super) fn zero_block_at(&self, file: &dyn FsFile, offset: u64) -> io::Result<()> {
        debug_assert!(offset % DIRECT_ALIGN as u64 == 0, "unaligned zero block");
        let mut block = AlignedBuf::with_capacity(DIRECT_ALIGN);
        block.extend(&[0]);
        file.write_all_at(block.padded(), offset)
    }
}

#[cfg(test)]
mod tests {
    use super::page_pad;

    #[test]
    fn a_padded_append_ends_on_a_page_boundary_at_least_a_frame_header_past_its_end() {
        for end in [32, 100, 4088, 4089, 4095, 4096, 4097, 8183, 8184, 1 << 20] {
            let pad = page_pad(end) as u64;
            assert_eq!((end + pad) % 4096, 0, "end {end}");
            assert!(pad >= 8, "end {end}: only {pad} zeros");
            assert!(pad < 4096 + 8, "end {end}: {pad} zeros");
        }
        assert_eq!(page_pad(4088), 8);
        assert_eq!(page_pad(4089), 4096 + 7);
        assert_eq!(page_pad(4096), 4096);
    }
}
