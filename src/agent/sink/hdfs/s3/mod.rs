//! The `hdfs` sink on an S3 or S3-compatible object store (`hdfs.path = s3a://BUCKET/...`,
//! `s3://...`, or `type = s3`): a [`Store`] that stages every open file on local disk and
//! uploads it whole when it is closed.
//!
//! Object stores have no append and no sync, so a batch is made durable where the sink's
//! local files are: [`Store::create`] opens the staging file `<staging dir>/<key>` through
//! [`LocalStore`] (the `io::Fs` seam), appends go there and [`StoreFile::sync`] fdatasyncs
//! it (and its directory for a new file) before the take commits. [`Store::publish`] (a
//! roll) uploads the complete staged file to the final key ([`upload`]: one `PUT`, or a
//! multipart upload that becomes visible only when complete) and removes the staged file
//! only after the store confirmed the object. The key is the sink's final path without its
//! leading `/`, a function of the staged file's name, so an upload repeated after a crash
//! overwrites the same object. In-use names exist only in staging; start-up recovery
//! ([`recover`]) cuts a staged file's torn tail and uploads it under its final key.
//!
//! The store's methods are synchronous (the sink's file work runs on a blocking thread);
//! each request runs on the agent's runtime through its handle, as [`super::remote`] does for
//! HDFS, bounded by `hdfs.callTimeout` per request and in retries (`object_store` retries
//! 5xx, 429 and 503 SlowDown with backoff).

pub mod config;
pub mod connect;
pub mod core_site;
pub mod cut;
pub mod plain;
pub mod recover;
pub mod staging;
pub mod upload;

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::runtime::Handle;

use super::format::Layout;
use super::local_store::LocalStore;
use super::store::{DirEntry, Recovered, Store, StoreFile};
pub use config::S3Config;
use sluice_core::io::{Fs, OpenMode};
use staging::{StagedFile, StagedGauge};

/// An S3 bucket with a local staging directory.
#[derive(Debug)]
pub struct S3Store {
    cfg: S3Config,
    fs: Arc<dyn Fs>,
    local: LocalStore,
    client: Arc<dyn ObjectStore>,
    handle: Handle,
    call_timeout: Duration,
    gauge: Arc<StagedGauge>,
    /// The literal root of `hdfs.path` (the probe lists under it).
    root: String,
}

/// An object store error as an `io::Error` whose kind the sink reads and whose text names
/// the bucket, the endpoint, the operation and the key.
pub fn s3_err(cfg: &S3Config, what: &str, key: &str, e: &dyn std::fmt::Display) -> io::Error {
    let text = e.to_string();
    let kind = if text.contains("403") || text.contains("SignatureDoesNotMatch") {
        io::ErrorKind::PermissionDenied
    } else if text.contains("NoSuchBucket") {
        io::ErrorKind::NotFound
    } else {
        io::ErrorKind::Other
    };
    let mut short: String = text
        .lines()
        .next()
        .unwrap_or("")
        .trim_end_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .chars()
        .take(400)
        .collect();
    for tag in ["Code", "Message"] {
        if let Some(v) = xml_tag(&text, tag) {
            short.push_str(&format!(" {tag}: {v}."));
        }
    }
    io::Error::new(kind, format!("{}: {what} {key}: {short}", cfg.describe()))
}

/// The text of the first `<tag>` of an S3 error body, at most 200 characters.
fn xml_tag<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = text.find(&open)? + open.len();
    let len = text[start..].find("</")?;
    let v = &text[start..start + len];
    Some(v.get(..200).unwrap_or(v))
}

impl S3Store {
    /// A store for `cfg` whose requests run on `handle` (the agent's runtime), each bounded
    /// by `call_timeout`; `gauge` counts the staged bytes (walked now). Connects lazily.
    pub fn connect(
        cfg: &S3Config,
        root: &str,
        fs: Arc<dyn Fs>,
        call_timeout: Duration,
        handle: Handle,
        gauge: Arc<StagedGauge>,
    ) -> Result<S3Store, String> {
        let client = connect::client(cfg, call_timeout)
            .map_err(|e| format!("{}: cannot set up the S3 client: {e}", cfg.describe()))?;
        let staged = staging::staged_bytes(fs.as_ref(), &cfg.staging_dir).map_err(|e| {
            format!(
                "S3 staging {}: cannot read it: {e}",
                cfg.staging_dir.display()
            )
        })?;
        gauge.set(staged);
        Ok(S3Store {
            cfg: cfg.clone(),
            local: LocalStore::new(fs.clone()),
            fs,
            client,
            handle,
            call_timeout,
            gauge,
            root: root.trim_start_matches('/').to_owned(),
        })
    }

    /// The staged file of a sink path (`/logs/x.tmp` → `<staging>/logs/x.tmp`).
    pub fn staged(&self, path: &Path) -> PathBuf {
        self.cfg
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
        &self.cfg
    }

    /// The staged bytes.
    pub fn gauge(&self) -> &Arc<StagedGauge> {
        &self.gauge
    }

    /// Runs one store operation to its end, or fails it after `limit`.
    fn call<T>(
        &self,
        what: &str,
        key: &str,
        limit: Duration,
        fut: impl Future<Output = Result<T, io::Error>>,
    ) -> io::Result<T> {
        match self.handle.block_on(tokio::time::timeout(limit, fut)) {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{}: {what} {key}: not finished within {} ms",
                    self.cfg.describe(),
                    limit.as_millis()
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

    /// Whether the bucket answers with these credentials: the first page of a listing under
    /// the path's literal root.
    pub fn probe(&self) -> io::Result<()> {
        let prefix = ObjPath::from(self.root.as_str());
        let client = &self.client;
        let cfg = &self.cfg;
        self.call("listing", &self.root, self.call_timeout, async move {
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
        if self.fs.exists(&self.staged(path)) {
            return Ok(true);
        }
        // A new file's final key is looked up so that an object of that name (another agent
        // with the same prefix, a clock set back) is not overwritten; while the store does
        // not answer, the name (`prefix.<ms clock + n>`) is taken as free, so batches keep
        // being staged through an outage.
        let key = self.key(path)?;
        let client = &self.client;
        let cfg = &self.cfg;
        let found = self.call("looking up", key.as_ref(), self.call_timeout, async {
            match client.head(&key).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(s3_err(cfg, "looking up", key.as_ref(), &e)),
            }
        });
        match found {
            Err(e) if e.kind() != io::ErrorKind::PermissionDenied => {
                tracing::debug!(key = %key, error = %e, "cannot look the key up; taking the name as free");
                Ok(false)
            }
            r => r,
        }
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn StoreFile>> {
        let inner = self.local.create(&self.staged(path))?;
        Ok(Box::new(StagedFile {
            inner,
            gauge: self.gauge.clone(),
        }))
    }

    fn publish(&self, from: &Path, to: &Path) -> io::Result<()> {
        let staged = self.staged(from);
        let len = self.fs.open(&staged, OpenMode::Read)?.len()?;
        let key = self.key(to)?;
        self.upload_staged(&staged, len, &key)?;
        tracing::debug!(key = %key, bytes = len, "uploaded");
        self.remove_staged(&staged, len)
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        self.local.list_dir(&self.staged(dir))
    }

    fn recover(
        &self,
        in_use: &Path,
        target: &Path,
        layout: Layout,
        limit: Option<u64>,
    ) -> io::Result<Recovered> {
        recover::recover_staged(self, in_use, target, layout, limit)
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
                format!("{}: no object {}", self.cfg.describe(), path.display()),
            )
        })
    }

    fn list_published(&self, root: &Path) -> io::Result<Vec<PathBuf>> {
        self.list_objects(root)
    }

    fn describe(&self) -> String {
        self.cfg.describe()
    }

    fn defers_publish(&self) -> bool {
        true
    }

    fn admit(&self, need: u64) -> io::Result<()> {
        self.gauge.admit(need, &self.cfg.staging_dir)
    }

    fn probe(&self) -> io::Result<()> {
        S3Store::probe(self)
    }
}
