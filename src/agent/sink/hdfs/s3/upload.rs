//! Uploading one complete staged file to its object key: a plain `PUT` up to
//! `hdfs.s3PartBytes`, a multipart upload in parts of that size above it (at most
//! [`PARTS_IN_FLIGHT`] parts sent at once, each retried by the client). Either way the object
//! appears under its key only when the store has all of it (a multipart upload becomes an
//! object at `CompleteMultipartUpload`), so no reader ever sees part of a file; an upload
//! that fails is aborted (best effort: a crash leaves an incomplete multipart upload, which
//! holds no visible object and which the bucket's lifecycle rule removes).
//!
//! The file is read part by part from the local disk (through the `io::Fs` seam): the one
//! local copy is the only copy, and at most `PARTS_IN_FLIGHT + 1` parts are in memory.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use sluice_core::io::FsFile;

/// Parts of one multipart upload sent at the same time.
pub const PARTS_IN_FLIGHT: usize = 2;

/// Reads `len` bytes at `offset` of `file`.
fn read_part(file: &dyn FsFile, offset: u64, len: u64) -> io::Result<Bytes> {
    let n = usize::try_from(len)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "part too large"))?;
    let mut buf = vec![0u8; n];
    file.read_exact_at(&mut buf, offset)?;
    Ok(Bytes::from(buf))
}

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

/// Uploads the first `len` bytes of `file` to `key`.
pub async fn upload(
    client: &Arc<dyn ObjectStore>,
    file: &dyn FsFile,
    len: u64,
    key: &ObjPath,
    part_bytes: u64,
) -> Result<(), UploadError> {
    if len <= part_bytes {
        let body = read_part(file, 0, len)?;
        client.put(key, body.into()).await?;
        return Ok(());
    }
    let chunk = usize::try_from(part_bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "part too large"))?;
    let mut mp = WriteMultipart::new_with_chunk_size(client.put_multipart(key).await?, chunk);
    let mut offset = 0u64;
    while offset < len {
        let n = part_bytes.min(len - offset);
        let part = match mp.wait_for_capacity(PARTS_IN_FLIGHT).await {
            Ok(()) => read_part(file, offset, n).map_err(UploadError::from),
            Err(e) => Err(e.into()),
        };
        match part {
            Ok(b) => mp.put(b),
            Err(e) => {
                if let Err(abort) = mp.abort().await {
                    tracing::debug!(key = %key, error = %abort, "aborting a failed multipart upload failed");
                }
                return Err(e);
            }
        }
        offset += n;
    }
    mp.finish().await?;
    Ok(())
}
