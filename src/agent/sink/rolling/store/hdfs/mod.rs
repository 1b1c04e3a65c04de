//! The `hdfs` sink on a real HDFS cluster: a [`Store`] over `hdfs-native` (HDFS's own RPC and
//! data-transfer protocols in Rust; no JVM, no libhdfs).
//!
//! The store's methods are synchronous (the sink's file work runs on a blocking thread); each
//! drives one HDFS call on the agent's runtime under its own deadline (`hdfs.callTimeout`),
//! so that a NameNode that does not answer, or a DataNode pipeline that hangs, becomes an
//! error the sink rolls back and retries, never a stuck sink. The client's own connect
//! time-out and NameNode retries are set so that it fails within that deadline too.
//!
//! A batch is durable when [`StoreFile::sync`] returns: `hsync`, i.e. every DataNode of the
//! pipeline acknowledged the bytes and the NameNode recorded the synced length. A file is
//! closed (completed at the NameNode) before it is renamed to its final name; a file left in
//! use by a crash is closed by lease recovery ([`recover`]).

pub mod recover;

mod error;
mod file;

use std::future::Future;
use std::io;
use std::path::Path;
use std::time::Duration;

use crate::agent::sink::rolling::bridge::Bridge;
use bytes::Bytes;
use hdfs_native::{Client, ClientBuilder, HdfsError, WriteOptions};

use error::path_str;
pub use error::ClientSetupError;
use file::{HdfsCalls, HdfsFile};

use super::{DirEntry, Store, StoreFile, ToRecover};
pub use crate::agent::sink::rolling::config::remote::RemoteConfig;
use crate::agent::sink::rolling::store::Recovered;

/// Permission of the directories the sink creates (Hadoop's default before the umask).
pub const DIR_PERMISSION: u32 = 0o755;
/// NameNode attempts per call by the client before it fails (the sink then retries later).
pub const CLIENT_FAILOVER_ATTEMPTS: u32 = 2;
/// Longest pause between the client's NameNode attempts.
pub const CLIENT_RETRY_SLEEP_MAX_MS: u64 = 1_000;

/// A real HDFS cluster.
#[derive(Debug)]
pub struct HdfsStore {
    client: Client,
    calls: HdfsCalls,
}

impl HdfsStore {
    /// A store for `remote` whose calls run on the agent's runtime through `bridge` and each take
    /// at most `call_timeout`. Connects lazily: an unreachable NameNode fails the first call.
    pub fn connect(
        remote: &RemoteConfig,
        call_timeout: Duration,
        bridge: Bridge,
    ) -> Result<HdfsStore, ClientSetupError> {
        let namenode = remote.describe();
        let timeout_ms = call_timeout.as_millis().max(1).to_string();
        let settings = [
            ("dfs.client.socket-timeout", timeout_ms),
            (
                "dfs.client.failover.max.attempts",
                CLIENT_FAILOVER_ATTEMPTS.to_string(),
            ),
            ("dfs.client.failover.sleep.base.millis", "100".to_owned()),
            (
                "dfs.client.failover.sleep.max.millis",
                CLIENT_RETRY_SLEEP_MAX_MS.to_string(),
            ),
        ];
        let mut builder = ClientBuilder::new()
            .with_config(settings)
            .with_io_runtime(bridge.handle().clone());
        if let Some(url) = remote.url() {
            builder = builder.with_url(url);
        }
        if let Some(dir) = &remote.config_dir {
            builder = builder.with_config_dir(dir.clone());
        }
        if let Some(user) = &remote.user {
            builder = builder.with_user(user.clone());
        }
        let client = builder.build().map_err(|source| ClientSetupError {
            namenode: namenode.clone(),
            source,
        })?;
        Ok(HdfsStore {
            client,
            calls: HdfsCalls {
                bridge,
                call_timeout,
                namenode,
            },
        })
    }

    /// The NameNode, for log lines.
    pub fn namenode(&self) -> &str {
        &self.calls.namenode
    }

    /// Runs one HDFS call to its end or its deadline.
    fn call<T>(
        &self,
        what: &str,
        path: &Path,
        fut: impl Future<Output = Result<T, HdfsError>>,
    ) -> io::Result<T> {
        self.calls.call(what, path, fut)
    }

    /// `recover_lease` once: whether the file is closed.
    pub(crate) fn recover_lease(&self, path: &Path) -> io::Result<bool> {
        let p = path_str(path)?;
        self.call(
            "recovering the lease of",
            path,
            self.client.recover_lease(p),
        )
    }

    /// The length of a file (closed, or synced so far).
    pub(crate) fn len(&self, path: &Path) -> io::Result<u64> {
        let p = path_str(path)?;
        let st = self.call("looking up", path, self.client.get_file_info(p))?;
        Ok(st.length as u64)
    }

    /// Reads `len` bytes from `offset` of a closed file.
    pub(crate) fn read_range(&self, path: &Path, offset: u64, len: usize) -> io::Result<Bytes> {
        let p = path_str(path)?;
        let client = &self.client;
        self.call("reading", path, async move {
            let r = client.read(p).await?;
            r.read_range(offset as usize, len).await
        })
    }

    /// Writes `bytes` as a whole new file (replacing one of that name), closed.
    pub(crate) fn write_whole(&self, path: &Path, bytes: Bytes) -> io::Result<()> {
        let p = path_str(path)?;
        let client = &self.client;
        self.call("writing", path, async move {
            let mut w = client
                .create(p, WriteOptions::default().overwrite(true))
                .await?;
            w.write_bytes(bytes).await?;
            w.close().await
        })
    }

    /// Removes a file.
    pub(crate) fn remove(&self, path: &Path) -> io::Result<()> {
        let p = path_str(path)?;
        self.call("removing", path, self.client.delete(p, false))
            .map(|_| ())
    }

    /// Renames `from` to `to` (never over an existing file).
    pub(crate) fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let (f, t) = (path_str(from)?, path_str(to)?);
        self.call("renaming", from, self.client.rename(f, t, false))
    }

    /// Renames `from` over `to` in one step (HDFS `rename2` with `OVERWRITE`).
    pub(crate) fn replace(&self, from: &Path, to: &Path) -> io::Result<()> {
        let (f, t) = (path_str(from)?, path_str(to)?);
        self.call("replacing", to, self.client.rename(f, t, true))
    }
}

impl Store for HdfsStore {
    fn mkdirs(&self, dir: &Path) -> io::Result<()> {
        let p = path_str(dir)?;
        self.call(
            "creating the directory",
            dir,
            self.client.mkdirs(p, DIR_PERMISSION, true),
        )
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        let p = path_str(path)?;
        match self.call("looking up", path, self.client.get_file_info(p)) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn StoreFile>> {
        let p = path_str(path)?;
        let writer = self.call(
            "creating",
            path,
            self.client
                .create(p, WriteOptions::default().create_parent(false)),
        )?;
        Ok(Box::new(HdfsFile {
            store: self.calls.clone(),
            path: path.to_owned(),
            writer: Some(writer),
        }))
    }

    fn publish(&self, from: &Path, to: &Path) -> io::Result<()> {
        if from == to {
            return Ok(());
        }
        self.rename(from, to)
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        let p = path_str(dir)?;
        let found = self.call("listing", dir, self.client.list_status(p, false))?;
        Ok(found
            .into_iter()
            .filter_map(|st| {
                let name = st.path.rsplit('/').next()?.to_owned();
                (!name.is_empty()).then_some(DirEntry {
                    name,
                    is_dir: st.isdir,
                })
            })
            .collect())
    }

    fn recover(&self, f: ToRecover<'_>) -> io::Result<Recovered> {
        recover::recover_file(self, f.in_use, f.target, f.layout, f.limit)
    }

    fn cuts_back(&self) -> bool {
        true
    }

    fn cut_published(&self, path: &Path, len: u64) -> io::Result<u64> {
        recover::cut_published(self, path, len)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        HdfsStore::remove(self, path)
    }

    fn len(&self, path: &Path) -> io::Result<u64> {
        HdfsStore::len(self, path)
    }

    fn describe(&self) -> String {
        self.calls.namenode.clone()
    }

    fn skips_unrecoverable(&self) -> bool {
        true
    }
}
