//! Uploading one complete staged file to its object key: a plain `PUT` up to
//! `hdfs.s3PartBytes`, a multipart upload in parts of that size above it (at most
//! [`PARTS_IN_FLIGHT`] parts sent at once, each retried by the client). Either way the object
//! appears under its key only when the store has all of it (a multipart upload becomes an
//! object at `CompleteMultipartUpload`), so no reader ever sees part of a file; an upload
//! that fails is aborted (best effort: a crash leaves an incomplete multipart upload, which
//! holds no visible object and which the bucket's lifecycle rule removes).
//!
//! The file is read part by part from the local disk (through the `io::Fs` seam), one read
//! per part into a part buffer ([`PartBuffers`]) that is handed to the client as `Bytes`
//! without a further copy and taken back for the next part once the store has the part: the
//! one local copy is the only copy, an upload allocates at most `PARTS_IN_FLIGHT + 1` part
//! buffers however many parts the file has, and at most that many parts are in memory.

use std::io;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use object_store::path::Path as ObjPath;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload};
use sluice_core::io::FsFile;
use tokio::task::JoinSet;

/// Parts of one multipart upload sent at the same time.
pub const PARTS_IN_FLIGHT: usize = 2;

/// Why an upload failed: the store's error or the local read's.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The store refused or did not answer.
    #[error(transparent)]
    Store(#[from] object_store::Error),
    /// The staged file could not be read.
    #[error("reading the staged file: {0}")]
    Local(#[from] io::Error),
}

/// The part buffers of one upload: each part is read into a free buffer (a new one only
/// while fewer than `PARTS_IN_FLIGHT + 1` exist), and a sent part's buffer comes back once
/// no one else holds it.
#[derive(Debug)]
pub struct PartBuffers {
    free: Vec<BytesMut>,
    part_bytes: usize,
    /// Buffers allocated so far.
    pub allocated: usize,
}

impl PartBuffers {
    /// No buffers yet, for parts of at most `part_bytes`.
    pub fn new(part_bytes: usize) -> PartBuffers {
        PartBuffers {
            free: Vec::new(),
            part_bytes,
            allocated: 0,
        }
    }

    /// The `len` bytes at `offset` of `file`, read once into a free buffer.
    pub fn read(&mut self, file: &dyn FsFile, offset: u64, len: usize) -> io::Result<Bytes> {
        let mut buf = self.free.pop().unwrap_or_else(|| {
            self.allocated += 1;
            BytesMut::zeroed(self.part_bytes.max(len))
        });
        // A reused buffer holds a whole part already: no zeroing but for a longer part.
        if buf.len() < len {
            buf.resize(len, 0);
        }
        buf.truncate(len);
        file.read_exact_at(&mut buf, offset)?;
        Ok(buf.freeze())
    }

    /// Takes back the buffer of a part the store has (dropped if a clone is still held).
    pub fn recycle(&mut self, part: Bytes) {
        if let Ok(b) = part.try_into_mut() {
            self.free.push(b);
        }
    }
}

/// Reads `len` bytes at `offset` of `file` into a new buffer.
fn read_whole(file: &dyn FsFile, len: u64) -> io::Result<Bytes> {
    let n = usize::try_from(len)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "part too large"))?;
    PartBuffers::new(n).read(file, 0, n)
}

/// Uploads the first `len` bytes of `file` to `key`.
pub async fn upload(
    client: &Arc<dyn ObjectStore>,
    file: &dyn FsFile,
    len: u64,
    key: &ObjPath,
    part_bytes: u64,
) -> Result<(), UploadError> {
    if len <= part_bytes {
        let body = read_whole(file, len)?;
        client.put(key, body.into()).await?;
        return Ok(());
    }
    let chunk = usize::try_from(part_bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "part too large"))?;
    let mut mp = client.put_multipart(key).await?;
    let sent = match send_parts(mp.as_mut(), file, len, chunk).await {
        Ok(()) => mp.complete().await.map(drop).map_err(UploadError::from),
        Err(e) => Err(e),
    };
    if sent.is_err() {
        if let Err(abort) = mp.abort().await {
            tracing::debug!(key = %key, error = %abort, "aborting a failed multipart upload failed");
        }
    }
    sent
}

/// Sends the parts of the first `len` bytes of `file`, at most [`PARTS_IN_FLIGHT`] at once
/// (each on the runtime, so a part is read while the others are sent); returns when the
/// store has every part. On an error the parts still in flight are cancelled (the
/// `JoinSet` aborts them when dropped).
async fn send_parts(
    mp: &mut dyn MultipartUpload,
    file: &dyn FsFile,
    len: u64,
    chunk: usize,
) -> Result<(), UploadError> {
    let mut bufs = PartBuffers::new(chunk);
    let mut in_flight = JoinSet::new();
    let mut offset = 0u64;
    while offset < len {
        if in_flight.len() >= PARTS_IN_FLIGHT {
            if let Some(part) = part_done(&mut in_flight).await? {
                bufs.recycle(part);
            }
        }
        let n = usize::try_from(len - offset).map_or(chunk, |left| left.min(chunk));
        let part = bufs.read(file, offset, n)?;
        let put = mp.put_part(PutPayload::from(part.clone()));
        in_flight.spawn(async move { put.await.map(|()| part) });
        offset += n as u64;
    }
    while part_done(&mut in_flight).await?.is_some() {}
    Ok(())
}

/// The buffer of the next part the store confirmed, or `None` when none is in flight.
async fn part_done(
    in_flight: &mut JoinSet<object_store::Result<Bytes>>,
) -> Result<Option<Bytes>, UploadError> {
    match in_flight.join_next().await {
        None => Ok(None),
        Some(Ok(Ok(part))) => Ok(Some(part)),
        Some(Ok(Err(e))) => Err(e.into()),
        Some(Err(e)) => Err(io::Error::other(format!("a part's upload task ended: {e}")).into()),
    }
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "tests make and read their fixtures on the real disk (DESIGN.md, the agent's std::fs rule)"
)]
mod tests {
    use super::*;
    use sluice_core::io::{Fs, OpenMode, StdFs};

    #[test]
    fn a_part_buffer_is_read_once_and_reused_once_the_store_let_it_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("staged");
        let data: Vec<u8> = (0..25u8).collect();
        std::fs::write(&path, &data).unwrap();
        let file = StdFs.open(&path, OpenMode::Read).unwrap();
        let mut bufs = PartBuffers::new(10);
        let a = bufs.read(file.as_ref(), 0, 10).unwrap();
        let held = a.clone();
        bufs.recycle(a);
        let b = bufs.read(file.as_ref(), 10, 10).unwrap();
        assert_eq!(
            bufs.allocated, 2,
            "a buffer still held elsewhere is not reused"
        );
        assert_eq!(&held[..], &data[..10]);
        let b_ptr = b.as_ptr();
        bufs.recycle(b);
        let c = bufs.read(file.as_ref(), 20, 5).unwrap();
        assert_eq!(bufs.allocated, 2, "the free buffer was reused");
        assert_eq!(c.as_ptr(), b_ptr, "in place: the same allocation, no copy");
        assert_eq!(&c[..], &data[20..]);
    }
}
