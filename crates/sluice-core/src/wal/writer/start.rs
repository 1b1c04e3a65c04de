//! Starting a segment (create, header, fsyncs) and the checks made of the active one: still
//! linked, and which errors are a full disk.

use std::io;
use std::path::Path;
use std::sync::Arc;

use super::error::WalError;
use crate::io::{Fs, FsFile, OpenMode};
use crate::wal::segment::segment_file_name;

/// Milliseconds since the Unix epoch (0 if the clock is before it; saturating far after).
pub(super) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Creates segment `id` with its `head` (header, and seal block when sealed), durably. `retry`: the id was reserved by an earlier
/// attempt that may have left a partial file, which is overwritten. Failures before the
/// directory fsync are [`WalError::Roll`] (nothing acknowledged is at stake); a failed
/// directory fsync is [`WalError::Io`] (the caller poisons: it is never retried).
pub(super) fn create_segment(
    fs: &dyn Fs,
    dir: &Path,
    id: u32,
    prev_in_dir: u32,
    retry: bool,
    head: &[u8],
) -> Result<Arc<dyn FsFile>, WalError> {
    assert!(id > prev_in_dir, "segment {id} after segment {prev_in_dir}");
    let path = dir.join(segment_file_name(id));
    let roll_err = |op, source| WalError::Roll {
        op,
        path: path.clone(),
        source,
    };
    let mode = if retry {
        OpenMode::CreateTruncate
    } else {
        OpenMode::CreateNew
    };
    let file = fs.open(&path, mode).map_err(|e| roll_err("create", e))?;
    file.write_all_at(head, 0)
        .map_err(|e| roll_err("write header", e))?;
    file.sync_data().map_err(|e| roll_err("sync header", e))?;
    fs.sync_dir(dir).map_err(|e| WalError::Io {
        op: "sync directory",
        path: dir.to_path_buf(),
        source: e,
    })?;
    Ok(file)
}

/// Fails if `file` no longer has a directory entry: its directory was removed or the file
/// unlinked under the channel. The error says so (and is what the channel is poisoned with).
pub(super) fn check_linked(file: &dyn FsFile) -> io::Result<()> {
    if file.is_unlinked()? {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "the segment was removed while the channel had it open (its data directory deleted \
             or replaced?); events committed to it are lost and reopening will refuse and name it",
        ));
    }
    Ok(())
}

/// Whether `e` means the file system is full.
pub(super) fn is_enospc(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOSPC) || e.kind() == io::ErrorKind::StorageFull
}
