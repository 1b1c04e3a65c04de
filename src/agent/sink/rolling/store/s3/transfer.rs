//! What moves a staged file to the store: [`Transfer`] (the client, the staging file system
//! and the staged-bytes gauge, shared by the sink's thread and its upload workers) uploads
//! one staged file and removes it only after the store confirmed the object; the workers
//! ([`spawn_workers`], [`super::queue::UPLOADS_AT_ONCE`] threads) take rolled files from the
//! [`UploadQueue`] and upload them while the sink writes the next ones.
//!
//! Each request runs on the agent's runtime through its handle, bounded by
//! `hdfs.callTimeout` per request and in retries (`object_store` retries 5xx, 429 and 503
//! SlowDown with backoff); an upload that still fails is queued again after its backoff
//! ([`super::queue::retry_after`], up to `hdfs.retryInterval`), its staged file untouched.

use std::future::Future;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use object_store::path::Path as ObjPath;
use object_store::ObjectStore;

use super::queue::{retry_after, UploadQueue};
use super::staging::StagedGauge;
use super::{s3_err, upload};
use crate::agent::sink::rolling::bridge::Bridge;
use crate::agent::sink::rolling::config::s3::S3Config;
use crate::agent::sink::rolling::keys::KeyNames;
use sluice_core::io::{Fs, OpenMode};

/// The client and the staging space of one S3 sink.
#[derive(Debug)]
pub struct Transfer {
    /// The settings.
    pub cfg: S3Config,
    /// The staging file system.
    pub fs: Arc<dyn Fs>,
    /// The S3 client.
    pub client: Arc<dyn ObjectStore>,
    /// The agent's runtime, the engine's one bridge to it.
    pub bridge: Bridge,
    /// `hdfs.callTimeout`.
    pub call_timeout: Duration,
    /// `hdfs.retryInterval`: the longest wait before a failed upload is tried again.
    pub retry_max: Duration,
    /// How messages name the keys.
    pub keys: KeyNames,
    /// The staged bytes.
    pub gauge: Arc<StagedGauge>,
}

impl Transfer {
    /// Runs one store operation to its end, or fails it after `limit`.
    pub fn call<T>(
        &self,
        what: &str,
        key: &str,
        limit: Duration,
        fut: impl Future<Output = Result<T, io::Error>>,
    ) -> io::Result<T> {
        match self.bridge.wait_for(limit, fut) {
            Some(r) => r,
            None => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{}: {what} {key}: not finished within {} ms ({})",
                    self.cfg.describe(),
                    limit.as_millis(),
                    self.cfg.conn.endpoint_from.what_to_set()
                ),
            )),
        }
    }

    /// Uploads the first `len` bytes of the local file `staged` to `key`; the time allowed
    /// grows with the parts (`hdfs.callTimeout` per part and one more).
    pub fn upload_staged(&self, staged: &Path, len: u64, key: &ObjPath) -> io::Result<()> {
        let file = self.fs.open(staged, OpenMode::Read)?;
        let parts = len / self.cfg.part_bytes + 1;
        let limit = self
            .call_timeout
            .saturating_mul(u32::try_from(parts + 1).unwrap_or(u32::MAX));
        let client = &self.client;
        let cfg = &self.cfg;
        self.call("uploading to", key.as_ref(), limit, async move {
            upload::upload(client, file.as_ref(), len, key, cfg.part_bytes)
                .await
                .map_err(|e| match e {
                    upload::UploadError::Local(e) => e,
                    upload::UploadError::Store(e) => s3_err(cfg, "uploading to", key.as_ref(), &e),
                })
        })
    }

    /// Removes a staged file (after its upload) and makes that durable.
    pub fn remove_staged(&self, staged: &Path, len: u64) -> io::Result<()> {
        self.fs.remove_file(staged)?;
        self.gauge.sub(len);
        let dir = staged.parent().unwrap_or(Path::new("/"));
        self.fs.sync_dir(dir)
    }

    /// Uploads a whole staged file to `key` and then removes it; its length.
    pub fn upload_and_remove(&self, staged: &Path, key: &ObjPath) -> io::Result<u64> {
        let len = self.fs.open(staged, OpenMode::Read)?.len()?;
        self.upload_staged(staged, len, key)?;
        self.remove_staged(staged, len)?;
        Ok(len)
    }
}

/// Starts `n` upload workers on `queue`.
pub fn spawn_workers(queue: &Arc<UploadQueue>, xfer: &Arc<Transfer>, n: usize) -> io::Result<()> {
    for i in 0..n {
        let (q, x) = (queue.clone(), xfer.clone());
        std::thread::Builder::new()
            .name(format!("s3-upload-{i}"))
            .spawn(move || work(&q, &x))?;
    }
    Ok(())
}

/// One worker: uploads what the queue gives until it is closed.
fn work(queue: &UploadQueue, xfer: &Transfer) {
    while let Some(u) = queue.take() {
        match xfer.upload_and_remove(&u.staged, &u.key) {
            Ok(bytes) => {
                if u.tries > 0 {
                    tracing::info!(key = %u.key, bytes, failed_tries = u.tries, "uploaded a rolled file after failed tries");
                } else {
                    tracing::debug!(key = %u.key, bytes, "uploaded");
                }
                queue.finish(u, None);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && !xfer.fs.exists(&u.staged) => {
                // Uploaded and removed by an earlier attempt, or cut away by the cut back.
                tracing::debug!(path = %u.staged.display(), "staged file gone before its upload");
                queue.finish(u, None);
            }
            Err(e) => {
                let wait = retry_after(u.tries.saturating_add(1), xfer.retry_max);
                if u.tries == 0 {
                    tracing::warn!(path = %u.staged.display(), key = %u.key, error = %e, retry_in_ms = wait.as_millis() as u64, "uploading a rolled file failed; it stays staged and is uploaded again after a backoff (up to {}), and at the next start", xfer.keys.of("hdfs.retryInterval"));
                } else {
                    tracing::debug!(path = %u.staged.display(), error = %e, tries = u.tries + 1, "upload failed again");
                }
                queue.finish(u, Some(wait));
            }
        }
    }
}
