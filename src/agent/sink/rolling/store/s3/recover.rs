//! Start-up recovery of a staged file a crash (or a failed write) left behind: the staged
//! file is cut after its last whole unit within the length the last committed take covered
//! when there is one (as a local in-use file is, `recover::recover_file`), synced, and
//! queued for upload to its final key as a roll queues it ([`super::queue`]; the upload
//! removes it only after the store confirmed the object). A file with no whole unit is
//! removed. The key is the same one a normal roll would have used, so an upload that had
//! completed before the crash is overwritten by the same bytes, never doubled; nothing is
//! renamed locally, so a crash at any step leaves the staged file under its in-use name for
//! the next start. The caller holds the queue ([`super::queue::UploadQueue::pause`]) while
//! it cuts, so no upload reads a file being cut.

use std::io;
use std::path::Path;

use super::S3Store;
use crate::agent::sink::rolling::format::{valid_prefix, Layout};
use crate::agent::sink::rolling::store::Recovered;
use sluice_core::io::OpenMode;

/// Recovers the staged file of the sink path `in_use` to the key of `target`, within its
/// first `limit` bytes when given (exactly-once output: the committed length).
pub fn recover_staged(
    store: &S3Store,
    in_use: &Path,
    target: &Path,
    layout: Layout,
    limit: Option<u64>,
) -> io::Result<Recovered> {
    let staged = store.staged(in_use);
    let fs = store.xfer.fs.as_ref();
    let data = sluice_core::io::read_file(fs, &staged)?;
    let len = data.len() as u64;
    let within = limit.map_or(data.len(), |l| l.min(len) as usize);
    let keep = match data.get(..within).and_then(|d| valid_prefix(layout, d)) {
        Some(n) => n as u64,
        None => {
            tracing::warn!(path = %staged.display(), "staged file does not start like the configured file type; uploaded without cutting");
            within as u64
        }
    };
    drop(data);
    if keep == 0 {
        store.remove_staged(&staged, len)?;
        tracing::warn!(path = %staged.display(), cut_bytes = len, "removed a staged file that held no whole record");
        return Ok(Recovered::removed(in_use, len));
    }
    if keep < len {
        let file = fs.open(&staged, OpenMode::ReadWrite)?;
        file.set_len(keep)?;
        file.sync_data()?;
        store.xfer.gauge.sub(len - keep);
        tracing::warn!(path = %staged.display(), kept_bytes = keep, cut_bytes = len - keep, "cut a torn last record");
    }
    let key = store.key(target)?;
    store.queue_upload(&staged, key.clone());
    tracing::info!(from = %staged.display(), to = %key, store = %store.config().describe(), kept_bytes = keep, "recovered an in-use file; queued for upload");
    Ok(Recovered {
        from: in_use.to_owned(),
        to: Some(target.to_owned()),
        kept: keep,
        cut: len - keep,
    })
}
