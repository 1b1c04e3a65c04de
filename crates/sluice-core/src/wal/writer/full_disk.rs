//! A full disk as the writer meets it: the free-space check before an append (spares given
//! back before a put is refused) and the cut after a write that failed, where ENOSPC fails
//! only that append and anything else poisons the channel.

use std::io;
use std::sync::atomic::Ordering;

use super::start::is_enospc;
use super::{DirWriter, WalError};
use crate::io::FsFile;

impl DirWriter {
    /// Refuses an append of `len` bytes when the directory's free space would fall under
    /// `min_free` (`minimumRequiredSpace`), after giving back the recycled spares.
    pub(super) fn check_space(&self, min_free: Option<u64>, len: u64) -> Result<(), WalError> {
        let Some(min) = min_free else {
            return Ok(());
        };
        // Stored only when it changes: every put passes here.
        if self.min_free_seen.load(Ordering::Relaxed) != min {
            self.min_free_seen.store(min, Ordering::Relaxed);
        }
        match self.space.check(self.fs.as_ref(), &self.dir, min, len) {
            // Spares are a cache of written blocks: released before a put is refused.
            Err(WalError::DiskFull { .. }) if self.release_spares() => {
                self.space.check(self.fs.as_ref(), &self.dir, min, len)
            }
            r => r,
        }
    }

    /// Handles a failed append of `len` bytes at `offset`: ENOSPC cuts the partial bytes away
    /// and fails only this append (poisoning if even the cut fails); anything else poisons.
    pub(super) fn write_failed(
        &self,
        file: &dyn FsFile,
        segment_id: u32,
        offset: u64,
        len: u64,
        e: io::Error,
    ) -> WalError {
        let path = self.segment_path(segment_id);
        if !is_enospc(&e) {
            self.poison.set("write", path.clone(), &e);
            return WalError::Io {
                op: "write",
                path,
                source: e,
            };
        }
        // Drop the partial record so it can never be replayed; if even that fails, the tail
        // is unknown and the channel must stop writing.
        if let Err(t) = file.set_len(offset) {
            self.poison.set("truncate after ENOSPC", path, &t);
        }
        self.space.note_full();
        WalError::DiskFull {
            dir: self.dir.clone(),
            available: 0,
            required: len,
        }
    }
}
