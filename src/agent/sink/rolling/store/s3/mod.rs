//! The `hdfs` sink on an S3 or S3-compatible object store (`hdfs.path = s3a://BUCKET/...`,
//! `s3://...`, or `type = s3`): a [`Store`] that stages every open file on local disk and
//! uploads it whole, in the background, once it is closed.
//!
//! Object stores have no append and no sync, so a batch is made durable where the sink's
//! local files are: [`Store::create`] opens the staging file `<staging dir>/<key>` through
//! [`LocalStore`] (the `io::Fs` seam), appends go there and [`StoreFile::sync`] fdatasyncs
//! it (and its directory for a new file) before the take commits. [`Store::publish`] (a
//! roll, the file closed and synced) queues the staged file ([`queue`]) and returns: upload
//! workers ([`transfer`]) upload it to the final key ([`upload`]: one `PUT`, or a multipart
//! upload that becomes visible only when complete) while the sink writes the next file, and
//! remove the staged file only after the store confirmed the object. The key is the sink's
//! final path without its leading `/`, a function of the staged file's name, so an upload
//! repeated after a crash overwrites the same object. In-use names exist only in staging;
//! start-up recovery ([`recover`]) cuts a staged file's torn tail and queues it under its
//! final key; the cut back and recovery hold the queue while they run.
//!
//! The store's methods are synchronous (the sink's file work runs on a blocking thread);
//! each request runs on the agent's runtime through its handle, as [`super::hdfs`] does for
//! HDFS, bounded by `hdfs.callTimeout` per request and in retries (`object_store` retries
//! 5xx, 429 and 503 SlowDown with backoff).

pub mod connect;
pub mod cut;
pub mod error;
pub mod queue;
pub mod recover;
pub mod staging;
pub mod transfer;
pub mod upload;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::agent::sink::rolling::bridge::Bridge;
use futures::StreamExt;
use object_store::path::Path as ObjPath;
use object_store::ObjectStore;

use super::local::LocalStore;
use super::{DirEntry, Recovered, Store, StoreFile, ToRecover};
pub use crate::agent::sink::rolling::config::s3::S3Config;
use crate::agent::sink::rolling::keys::KeyNames;
pub use error::s3_err;
use queue::{UploadQueue, UPLOADS_AT_ONCE};
use sluice_core::io::Fs;
use staging::{StagedFile, StagedGauge};
use transfer::Transfer;

/// The longest a batch waits for running uploads to free staging space before it is refused
/// (at most `hdfs.callTimeout`).
pub const ROOM_WAIT_MAX: Duration = Duration::from_secs(5);

/// An S3 bucket with a local staging directory and the uploads of its rolled files.
#[derive(Debug)]
pub struct S3Store {
    xfer: Arc<Transfer>,
    local: LocalStore,
    queue: Arc<UploadQueue>,
    /// Whether the upload workers were started (at the first roll).
    workers: std::sync::Once,
    /// The literal root of `hdfs.path` (the probe lists under it).
    root: String,
}

/// Why an [`S3Store`] cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The object store client cannot be made (its [`s3_err`] names the store).
    #[error("{0}")]
    Client(#[source] io::Error),
    /// The staging directory cannot be read.
    #[error("S3 staging {}: cannot read it: {source}", path.display())]
    Staging {
        /// The staging directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

impl S3Store {
    /// A store for `cfg` whose requests run on the agent's runtime through `bridge`, each bounded
    /// by `call_timeout`; a failed upload is tried again after a backoff of at most
    /// `retry_max`; `gauge` counts the staged bytes (walked now). Connects lazily.
    pub fn connect(
        cfg: &S3Config,
        root: &str,
        fs: Arc<dyn Fs>,
        (call_timeout, retry_max): (Duration, Duration),
        keys: KeyNames,
        bridge: Bridge,
        gauge: Arc<StagedGauge>,
    ) -> Result<S3Store, SetupError> {
        let client = connect::client(cfg, call_timeout)
            .map_err(|e| SetupError::Client(s3_err(cfg, "setting up the client for", root, &e)))?;
        tracing::info!(store = %cfg.describe(), path_style = cfg.conn.path_style, "S3 store");
        S3Store::with_client(
            Transfer {
                cfg: cfg.clone(),
                fs,
                client,
                bridge,
                call_timeout,
                retry_max,
                keys,
                gauge,
            },
            root,
        )
    }

    /// A store on the client of `xfer` (tests give an in-memory one).
    pub fn with_client(xfer: Transfer, root: &str) -> Result<S3Store, SetupError> {
        let staging = &xfer.cfg.staging_dir;
        let staged = staging::staged_bytes(xfer.fs.as_ref(), staging).map_err(|source| {
            SetupError::Staging {
                path: staging.clone(),
                source,
            }
        })?;
        xfer.gauge.set(staged);
        Ok(S3Store {
            local: LocalStore::new(xfer.fs.clone()),
            xfer: Arc::new(xfer),
            queue: Arc::default(),
            workers: std::sync::Once::new(),
            root: root.trim_start_matches('/').to_owned(),
        })
    }

    /// The staged file of a sink path (`/logs/x.tmp` → `<staging>/logs/x.tmp`).
    pub fn staged(&self, path: &Path) -> PathBuf {
        self.xfer
            .cfg
            .staging_dir
            .join(path.strip_prefix("/").unwrap_or(path))
    }

    /// The object key of a sink path (`/logs/x` → `logs/x`).
    pub fn key(&self, path: &Path) -> io::Result<ObjPath> {
        let s = path.to_str().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not UTF-8; object keys are", path.display()),
            )
        })?;
        ObjPath::parse(s.trim_start_matches('/')).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{s:?} is not a valid object key: {e}"),
            )
        })
    }

    /// The settings.
    pub fn config(&self) -> &S3Config {
        &self.xfer.cfg
    }

    /// The staged bytes.
    pub fn gauge(&self) -> &Arc<StagedGauge> {
        &self.xfer.gauge
    }

    /// Uploads the first `len` bytes of the local file `staged` to `key`.
    pub fn upload_staged(&self, staged: &Path, len: u64, key: &ObjPath) -> io::Result<()> {
        self.xfer.upload_staged(staged, len, key)
    }

    /// Removes a staged file (after its upload, or cut away) and makes that durable.
    pub fn remove_staged(&self, staged: &Path, len: u64) -> io::Result<()> {
        self.queue.forget(staged);
        self.xfer.remove_staged(staged, len)
    }

    /// Queues the staged file `staged` for upload to `key` (the workers start with the
    /// first one; if they cannot, the file stays staged for the next start).
    pub fn queue_upload(&self, staged: &Path, key: ObjPath) {
        self.queue.push(staged, key);
        self.workers.call_once(|| {
            if let Err(e) = transfer::spawn_workers(&self.queue, &self.xfer, UPLOADS_AT_ONCE) {
                tracing::error!(store = %self.xfer.cfg.describe(), error = %e, "cannot start the upload threads; rolled files stay staged and are uploaded at the next start");
            }
        });
    }

    /// Waits up to `limit` for the queued uploads (at stop); logs what stays staged.
    pub fn drain_uploads(&self, limit: Duration) {
        if self.queue.is_empty() {
            return;
        }
        let left = self.queue.drain(std::time::Instant::now() + limit);
        if left.is_empty() {
            tracing::info!(store = %self.xfer.cfg.describe(), "every rolled file uploaded");
        } else {
            tracing::warn!(store = %self.xfer.cfg.describe(), files = left.len(), staging = %self.xfer.cfg.staging_dir.display(), "{} rolled files not uploaded within {} ms of the stop: they stay staged and are uploaded at the next start", left.len(), limit.as_millis());
        }
    }

    /// Whether the bucket answers with these credentials: the first page of a listing under
    /// the path's literal root.
    pub fn probe(&self) -> io::Result<()> {
        let prefix = ObjPath::from(self.root.as_str());
        let client = &self.xfer.client;
        let cfg = &self.xfer.cfg;
        self.xfer
            .call("listing", &self.root, self.xfer.call_timeout, async move {
                let mut list = client.list(Some(&prefix));
                match list.next().await {
                    Some(Err(e)) => Err(s3_err(cfg, "listing", prefix.as_ref(), &e)),
                    _ => Ok(()),
                }
            })
    }
}

impl Store for S3Store {
    fn mkdirs(&self, dir: &Path) -> io::Result<()> {
        self.local.mkdirs(&self.staged(dir))
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        if self.xfer.fs.exists(&self.staged(path)) {
            return Ok(true);
        }
        // Only the store's 404 is "no object": a HEAD that failed (no answer, 5xx, 403) is
        // an error, so the cut back fails (and is retried) instead of taking an object it
        // could not see as absent.
        Ok(self.object_len(path)?.is_some())
    }

    fn name_taken(&self, path: &Path) -> io::Result<bool> {
        // A new file's final key is looked up so that an object of that name (another agent
        // with the same prefix, a clock set back) is not overwritten; while the store does
        // not answer, the name (`prefix.<ms clock + n>`) is taken as free, so batches keep
        // being staged through an outage. Refused credentials still fail.
        match self.exists(path) {
            Err(e) if e.kind() != io::ErrorKind::PermissionDenied => {
                tracing::debug!(path = %path.display(), error = %e, "cannot look the key up; taking the name as free");
                Ok(false)
            }
            r => r,
        }
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn StoreFile>> {
        let inner = self.local.create(&self.staged(path))?;
        Ok(Box::new(StagedFile {
            inner,
            gauge: self.xfer.gauge.clone(),
        }))
    }

    fn publish(&self, from: &Path, to: &Path) -> io::Result<()> {
        // Closed and fdatasynced already: durable where it is until the upload confirms.
        let key = self.key(to)?;
        self.queue_upload(&self.staged(from), key);
        Ok(())
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        self.local.list_dir(&self.staged(dir))
    }

    fn recover(&self, f: ToRecover<'_>) -> io::Result<Recovered> {
        recover::recover_staged(self, f.in_use, f.target, f.layout, f.limit)
    }

    fn cuts_back(&self) -> bool {
        true
    }

    fn cut_published(&self, path: &Path, len: u64) -> io::Result<u64> {
        self.cut_object(path, len)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        match self.staged_len(path)? {
            Some(len) => self.remove_staged(&self.staged(path), len),
            None => self.delete_object(path),
        }
    }

    fn len(&self, path: &Path) -> io::Result<u64> {
        if let Some(len) = self.staged_len(path)? {
            return Ok(len);
        }
        self.object_len(path)?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: no object {}", self.xfer.cfg.describe(), path.display()),
            )
        })
    }

    fn list_published(&self, root: &Path) -> io::Result<Vec<PathBuf>> {
        self.list_objects(root)
    }

    fn describe(&self) -> String {
        self.xfer.cfg.describe()
    }

    fn defers_publish(&self) -> bool {
        true
    }

    fn admit(&self, need: u64) -> io::Result<()> {
        // Uploads running may free room: wait for them a while before refusing.
        let deadline = Instant::now() + self.xfer.call_timeout.min(ROOM_WAIT_MAX);
        while !self.xfer.gauge.has_room(need)
            && self.queue.running()
            && self.queue.wait_change(deadline)
        {}
        self.xfer.gauge.admit(need)
    }

    fn probe(&self) -> io::Result<()> {
        S3Store::probe(self)
    }

    fn pause_background(&self) {
        self.queue.pause();
    }

    fn resume_background(&self) {
        self.queue.resume();
    }

    fn drain(&self, limit: Duration) {
        self.drain_uploads(limit);
    }
}

impl Drop for S3Store {
    fn drop(&mut self) {
        self.queue.close();
    }
}
