//! Segment recycling: with direct I/O, a segment the checkpoint no longer needs is renamed to a
//! spare (`spare-<id>`) instead of unlinked, and the next roll writes its new header into the
//! spare and renames it to the new segment's name. The new segment is then written over blocks
//! that are already allocated and written: the disk overwrites them (no unwritten-extent
//! conversion, no file-size change for the journal to commit at every fdatasync), and gc
//! skips the unlink (20–30 ms for a large file).
//!
//! The earlier use's bytes stay after the new tail. They can never be read as live data: the
//! new segment is version 2, whose record CRCs are salted with its id, so no earlier record
//! passes ([`crate::wal::record::record_crc`]); the first block is written whole (header and
//! zeros) and every direct write pads its last block with zeros, so the new records end in
//! zeroes that the scanner takes as the end of this use. A sealed segment whose records end
//! exactly at a block boundary gets one zero block there ([`DirWriter::zero_block_at`]).
//!
//! Crash safety, step by step (docs/recovery.md, "Recycled segments"):
//! - retire: rename `log-<old>` to `spare-<old>`, fsync the directory, only then offer the
//!   spare. A crash before the fsync leaves either name; the deletion journal finishes a
//!   `log-<old>` (unlinks it), and a spare is ignored by replay and the tools.
//! - take: write the new header block (O_DIRECT), fdatasync, rename to `log-<new>`, fsync the
//!   directory. Until the rename the file is a spare (ignored, whatever it holds); after it,
//!   its header is already the new one (synced before the rename), so a `log-<new>` never
//!   carries a stale header. A failure before the rename drops the spare and the roll creates
//!   a fresh file; a failed directory fsync poisons, as for a fresh segment.
//! - open: spares found are kept (up to `recycleSegments`; their content is never read), the
//!   rest, or all of them when recycling is off, are removed.
//!
//! Buffered segments (`directIo = false`, or where the file system refuses O_DIRECT) are never
//! recycled: a buffered write of part of a page of an existing, uncached file reads the page
//! from disk first, and nothing would zero the end of the last block.

use std::io;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::direct::{DirectIo, DirectTail};
use super::start::{now_ms, SEGMENT_HEADER_LEN};
use super::{DirWriter, WalError};
use crate::io::{FsFile, OpenMode, DIRECT_ALIGN};
use crate::wal::aligned::AlignedBuf;
use crate::wal::segment::{encode_header, is_spare_file_name, spare_file_name, SegmentHeader};

/// A segment started in a recycled spare: its buffered handle, direct tail and header.
pub(super) struct Recycled {
    pub file: Arc<dyn FsFile>,
    pub tail: DirectTail,
}

impl DirWriter {
    /// Whether retired segments of this directory become spares.
    pub(super) fn recycling(&self) -> bool {
        self.recycle_max > 0
            && self.direct_mode != DirectIo::Off
            && !self.direct_refused.load(Ordering::Relaxed)
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
        let keep = if self.recycling() {
            self.recycle_max
        } else {
            0
        };
        let mut removed = false;
        {
            let mut spares = self.spares.lock();
            for name in names.iter().filter(|n| is_spare_file_name(n)) {
                let path = self.dir.join(name);
                if spares.len() < keep {
                    spares.push(path);
                    continue;
                }
                match self.fs.remove_file(&path) {
                    Ok(()) => removed = true,
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "cannot remove a spare")
                    }
                }
            }
            if !spares.is_empty() {
                tracing::debug!(dir = %self.dir.display(), spares = spares.len(), "spare segment files kept for recycling");
            }
        }
        if removed {
            if let Err(e) = self.fs.sync_dir(&self.dir) {
                tracing::warn!(dir = %self.dir.display(), error = %e, "cannot sync the directory after removing spares");
            }
        }
        self
    }

    /// Retires segment `id` at `path` (no longer needed by any checkpoint): renamed to a spare
    /// and the directory fsynced when recycling has room for one, else unlinked. Returns
    /// whether it became a spare.
    pub fn retire(&self, path: &Path, id: u32) -> io::Result<bool> {
        // Only gc retires (one checkpoint at a time), so the count can only fall (a roll taking
        // a spare) between this check and the push: the lock is not held over the fsync, which
        // a roll (and the commits behind it) would otherwise wait for.
        if self.recycling() && self.spares.lock().len() < self.recycle_max {
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

    /// Starts segment `id` (after `prev_in_dir`) in a spare, when recycling and one is there:
    /// new header block written with O_DIRECT and synced, renamed, directory fsynced.
    /// `Ok(None)`: no spare, or it could not be prepared (then it is dropped and the caller
    /// creates a fresh file). Errors after the rename are the caller's to handle as a roll's.
    pub(super) fn start_recycled(
        &self,
        id: u32,
        prev_in_dir: u32,
    ) -> Result<Option<Recycled>, WalError> {
        if !self.recycling() {
            return Ok(None);
        }
        let Some(spare) = self.spares.lock().pop() else {
            return Ok(None);
        };
        let header = encode_header(&SegmentHeader::new(id, now_ms(), prev_in_dir));
        let direct = match self.prepare_spare(&spare, &header) {
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
        // The earlier use wrote the file up to its length: inside it no allocation is needed;
        // appends past it allocate as in a fresh file.
        let len = direct.len().map_err(|e| WalError::Roll {
            op: "stat recycled",
            path: path.clone(),
            source: e,
        })?;
        let allocated = len - len % DIRECT_ALIGN as u64;
        let mut tail = DirectTail::new(direct, self.fresh_buffer(0), &header, allocated);
        // Written whole by its earlier use: nothing to zero ahead inside it.
        tail.zeroed = allocated;
        self.recycled.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(spare = %spare.display(), segment = id, bytes = len, "recycled a spare as a new segment");
        Ok(Some(Recycled { file, tail }))
    }

    /// Opens `spare` for direct I/O and makes its first block the new `header` followed by
    /// zeros, durably.
    fn prepare_spare(
        &self,
        spare: &Path,
        header: &[u8; SEGMENT_HEADER_LEN],
    ) -> io::Result<Arc<dyn FsFile>> {
        let file = self.fs.open_direct(spare)?;
        let mut block = AlignedBuf::with_capacity(DIRECT_ALIGN);
        block.extend(header);
        file.write_all_at(block.padded(), 0)?;
        file.sync_data()?;
        Ok(file)
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
