//! Cutting an S3 sink's output back to a committed snapshot (exactly-once output,
//! `super::super::resume`): what the [`Store`](super::super::store::Store) methods
//! `cut_published`, `remove`, `len` and `list_published` do on a bucket.
//!
//! A file the snapshot lists as open is still staged, or was uploaded since. A staged one is
//! cut on local disk (`recover` with a limit, [`super::recover`]). An uploaded one is an
//! object, which cannot be cut in place: its first `len` bytes are read back (ranged `GET`s,
//! one part at a time) and written again under the same key (one `PUT`, or a multipart upload
//! that replaces the object only when complete), so a crash in between leaves the object as
//! it was and the next start cuts it again. Objects above [`CUT_OBJECT_BYTES_MAX`] are not
//! read back: they are left whole, and an ERROR says so (their uncommitted tail is then
//! written twice). Files newer than the snapshot are removed: a staged file from local disk,
//! an object with `DELETE`; uploaded objects are found by listing the bucket below the sink's
//! root ([`S3Store::list_objects`]), at most [`LIST_OBJECTS_MAX`].

use std::io;
use std::path::{Path, PathBuf};

use futures::StreamExt;
use object_store::{ObjectStoreExt, WriteMultipart};

use super::upload::PARTS_IN_FLIGHT;
use super::{s3_err, S3Store};
use sluice_core::io::OpenMode;

/// Largest object read back to be cut (the bound the HDFS cut uses too).
pub const CUT_OBJECT_BYTES_MAX: u64 = 256 << 20;
/// Most objects listed below the sink's root at start.
pub const LIST_OBJECTS_MAX: usize = 200_000;

impl S3Store {
    /// The size of the object of a sink path, or `None` when there is none.
    pub fn object_len(&self, path: &Path) -> io::Result<Option<u64>> {
        let key = self.key(path)?;
        let (client, cfg) = (&self.xfer.client, &self.xfer.cfg);
        self.xfer
            .call("looking up", key.as_ref(), self.xfer.call_timeout, async {
                match client.head(&key).await {
                    Ok(meta) => Ok(Some(meta.size)),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(s3_err(cfg, "looking up", key.as_ref(), &e)),
                }
            })
    }

    /// Rewrites the object of `path` as its first `len` bytes; the bytes cut.
    pub fn cut_object(&self, path: &Path, len: u64) -> io::Result<u64> {
        let size = self.object_len(path)?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: no object {}", self.xfer.cfg.describe(), path.display()),
            )
        })?;
        if size <= len {
            return Ok(0);
        }
        let key = self.key(path)?;
        if len > CUT_OBJECT_BYTES_MAX {
            tracing::error!(key = %key, store = %self.xfer.cfg.describe(), object_bytes = size, committed_bytes = len, "not cutting an object larger than {CUT_OBJECT_BYTES_MAX} bytes back to the last committed take: its last {} bytes are written again (duplicates)", size - len);
            return Ok(0);
        }
        let parts = len / self.xfer.cfg.part_bytes + 1;
        let limit = self
            .xfer
            .call_timeout
            .saturating_mul(u32::try_from(2 * parts + 1).unwrap_or(u32::MAX));
        let (client, cfg) = (&self.xfer.client, &self.xfer.cfg);
        let part_bytes = cfg.part_bytes;
        self.xfer.call("cutting", key.as_ref(), limit, async {
            let fail = |e: object_store::Error| s3_err(cfg, "cutting", key.as_ref(), &e);
            if len <= part_bytes {
                let body = client.get_range(&key, 0..len).await.map_err(fail)?;
                client.put(&key, body.into()).await.map_err(fail)?;
                return Ok(());
            }
            let chunk = usize::try_from(part_bytes).unwrap_or(usize::MAX);
            let upload = client.put_multipart(&key).await.map_err(fail)?;
            let mut mp = WriteMultipart::new_with_chunk_size(upload, chunk);
            let mut offset = 0u64;
            while offset < len {
                let end = len.min(offset + part_bytes);
                let part = match mp.wait_for_capacity(PARTS_IN_FLIGHT).await {
                    Ok(()) => client.get_range(&key, offset..end).await,
                    Err(e) => Err(e),
                };
                match part {
                    Ok(b) => mp.put(b),
                    Err(e) => {
                        let _ = mp.abort().await;
                        return Err(fail(e));
                    }
                }
                offset = end;
            }
            mp.finish().await.map_err(fail)?;
            Ok(())
        })?;
        tracing::info!(key = %key, kept_bytes = len, cut_bytes = size - len, "cut an uploaded object back to the last committed take");
        Ok(size - len)
    }

    /// Deletes the object of `path`.
    pub fn delete_object(&self, path: &Path) -> io::Result<()> {
        let key = self.key(path)?;
        let (client, cfg) = (&self.xfer.client, &self.xfer.cfg);
        self.xfer
            .call("deleting", key.as_ref(), self.xfer.call_timeout, async {
                client
                    .delete(&key)
                    .await
                    .map_err(|e| s3_err(cfg, "deleting", key.as_ref(), &e))
            })
    }

    /// The sink paths of the objects below the sink path `root` (at most
    /// [`LIST_OBJECTS_MAX`], with a WARN when there are more).
    pub fn list_objects(&self, root: &Path) -> io::Result<Vec<PathBuf>> {
        let prefix = self.key(root)?;
        let (client, cfg) = (&self.xfer.client, &self.xfer.cfg);
        let pages = (LIST_OBJECTS_MAX / 1000 + 1) as u32;
        let limit = self.xfer.call_timeout.saturating_mul(pages);
        let prefix_ref = (!prefix.as_ref().is_empty()).then_some(&prefix);
        let (paths, more) = self.xfer.call("listing", prefix.as_ref(), limit, async {
            let mut list = client.list(prefix_ref);
            let mut out = Vec::new();
            while let Some(meta) = list.next().await {
                let meta = meta.map_err(|e| s3_err(cfg, "listing", prefix.as_ref(), &e))?;
                if out.len() == LIST_OBJECTS_MAX {
                    return Ok((out, true));
                }
                out.push(PathBuf::from(format!("/{}", meta.location)));
            }
            Ok((out, false))
        })?;
        if more {
            tracing::warn!(root = %root.display(), store = %self.xfer.cfg.describe(), "stopped listing the sink's objects after {LIST_OBJECTS_MAX}: newer objects beyond them are not cut back (give the sink a key prefix of its own)");
        }
        Ok(paths)
    }

    /// The length of the staged file of `path`, or `None` when there is none.
    pub fn staged_len(&self, path: &Path) -> io::Result<Option<u64>> {
        let staged = self.staged(path);
        if !self.xfer.fs.exists(&staged) {
            return Ok(None);
        }
        Ok(Some(self.xfer.fs.open(&staged, OpenMode::Read)?.len()?))
    }
}
