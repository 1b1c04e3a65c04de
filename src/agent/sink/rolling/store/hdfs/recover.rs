//! Closing an HDFS file that a crash (of the agent, a DataNode or the NameNode) or a failed
//! write left in use: `recover_lease` until the NameNode has closed it (the file then holds
//! at least every byte an `hsync` covered), cut a torn last unit if the file holds one, and
//! rename it to its final name as a normal roll would.
//!
//! HDFS files cannot be cut in place through this client, so a torn file is rewritten: its
//! whole units go to `<in-use name>.cut`, which is renamed to the final name before the
//! in-use file is removed. A crash in between leaves the in-use file, which the next start
//! recovers again (to `<final>.recovered` when the final name exists: duplicates, never a
//! loss). Files larger than [`RECOVER_READ_BYTES_MAX`] are renamed without the check.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::HdfsStore;
use crate::agent::sink::rolling::format::{valid_prefix, Layout};
use crate::agent::sink::rolling::store::Recovered;
use crate::agent::sink::rolling::store::Store;

/// Pause between `recover_lease` calls while the NameNode recovers the last block.
pub const LEASE_POLL: Duration = Duration::from_millis(500);
/// Longest wait for one file's lease recovery before the attempt fails (and is retried at
/// the next `retryInterval`, or the next start).
pub const LEASE_WAIT_MAX: Duration = Duration::from_secs(10);
/// Largest in-use file read back to find a torn last unit.
pub const RECOVER_READ_BYTES_MAX: u64 = 256 << 20;
/// What a rewritten (cut) file is first written as.
pub const CUT_SUFFIX: &str = ".cut";

/// Waits until the NameNode has closed `path` (recovering its lease when another writer, a
/// dead one included, holds it).
pub fn wait_closed(store: &HdfsStore, path: &Path) -> io::Result<()> {
    let start = Instant::now();
    loop {
        if store.recover_lease(path)? {
            return Ok(());
        }
        if start.elapsed() >= LEASE_WAIT_MAX {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "{}: lease recovery of {} not finished after {} s",
                    store.namenode(),
                    path.display(),
                    LEASE_WAIT_MAX.as_secs()
                ),
            ));
        }
        std::thread::sleep(LEASE_POLL);
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Recovers one in-use file (within its first `limit` bytes when given): see the module's
/// documentation.
pub fn recover_file(
    store: &HdfsStore,
    in_use: &Path,
    target: &Path,
    layout: Layout,
    limit: Option<u64>,
) -> io::Result<Recovered> {
    wait_closed(store, in_use)?;
    let len = store.len(in_use)?;
    let within = limit.map_or(len, |l| l.min(len));
    let mut whole: Option<Bytes> = None;
    let keep = if within == 0 {
        0
    } else if within > RECOVER_READ_BYTES_MAX {
        tracing::warn!(path = %in_use.display(), len, "in-use file too large to check for a torn tail; renamed as it is");
        len
    } else {
        let data = store.read_range(in_use, 0, within as usize)?;
        let keep = match valid_prefix(layout, &data) {
            Some(n) => n as u64,
            None => {
                tracing::warn!(path = %in_use.display(), "in-use file does not start like the configured file type; renamed without cutting");
                within
            }
        };
        whole = Some(data);
        keep
    };
    if keep == 0 {
        store.remove(in_use)?;
        tracing::warn!(namenode = %store.namenode(), path = %in_use.display(), cut_bytes = len, "removed an in-use file that held no whole record");
        return Ok(Recovered::removed(in_use, len));
    }
    let mut to = target.to_owned();
    if in_use != target && store.exists(&to)? {
        to = with_suffix(&to, ".recovered");
    }
    match whole {
        Some(data) if keep < len => {
            let cut = with_suffix(in_use, CUT_SUFFIX);
            store.write_whole(&cut, data.slice(..keep as usize))?;
            store.rename(&cut, &to)?;
            store.remove(in_use)?;
            tracing::warn!(namenode = %store.namenode(), path = %in_use.display(), kept_bytes = keep, cut_bytes = len - keep, "cut a torn last record");
        }
        _ if in_use != to => store.rename(in_use, &to)?,
        _ => {}
    }
    tracing::info!(namenode = %store.namenode(), from = %in_use.display(), to = %to.display(), kept_bytes = keep, "recovered an in-use file");
    Ok(Recovered {
        from: in_use.to_owned(),
        to: Some(to),
        kept: keep,
        cut: len - keep,
    })
}

/// Cuts a closed file to its first `len` bytes: they are written whole to `<path>.cut`,
/// which then replaces `path` in one rename (a crash in between leaves `path` as it was, and
/// the next start cuts it again). The bytes cut.
pub fn cut_published(store: &HdfsStore, path: &Path, len: u64) -> io::Result<u64> {
    let size = store.len(path)?;
    if size <= len {
        return Ok(0);
    }
    if len > RECOVER_READ_BYTES_MAX {
        return Err(io::Error::other(format!(
            "{}: cutting {} to {len} bytes would read more than {RECOVER_READ_BYTES_MAX} bytes",
            store.namenode(),
            path.display()
        )));
    }
    let data = store.read_range(path, 0, len as usize)?;
    let cut = with_suffix(path, CUT_SUFFIX);
    store.write_whole(&cut, data)?;
    store.replace(&cut, path)?;
    Ok(size - len)
}
