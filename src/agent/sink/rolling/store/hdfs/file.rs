//! One file open for writing on HDFS ([`HdfsFile`], its lease held by this client), and
//! [`HdfsCalls`]: one HDFS call driven to its end or its deadline (`hdfs.callTimeout`), for
//! the store's calls and the open file's alike.

use std::future::Future;
use std::io;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use hdfs_native::HdfsError;

use super::error::hdfs_err;
use crate::agent::sink::rolling::bridge::Bridge;
use crate::agent::sink::rolling::store::StoreFile;

/// What the store and each open file need to run their calls under the deadline.
#[derive(Clone, Debug)]
pub(super) struct HdfsCalls {
    pub(super) bridge: Bridge,
    pub(super) call_timeout: Duration,
    pub(super) namenode: String,
}

impl HdfsCalls {
    /// Runs one HDFS call to its end or its deadline.
    pub(super) fn call<T>(
        &self,
        what: &str,
        path: &Path,
        fut: impl Future<Output = Result<T, HdfsError>>,
    ) -> io::Result<T> {
        let limit = self.call_timeout;
        match self.bridge.wait_for(limit, fut) {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(hdfs_err(&self.namenode, what, path, e)),
            None => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{}: {what} {}: no answer within hdfs.callTimeout ({} ms)",
                    self.namenode,
                    path.display(),
                    limit.as_millis()
                ),
            )),
        }
    }
}

/// One file open for writing on HDFS (its lease held by this client).
pub(super) struct HdfsFile {
    pub(super) store: HdfsCalls,
    pub(super) path: std::path::PathBuf,
    pub(super) writer: Option<hdfs_native::file::FileWriter>,
}

impl std::fmt::Debug for HdfsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HdfsFile")
            .field("path", &self.path)
            .field("open", &self.writer.is_some())
            .finish()
    }
}

impl HdfsFile {
    fn run<T>(
        &mut self,
        what: &str,
        f: impl for<'w> FnOnce(
            &'w mut hdfs_native::file::FileWriter,
        )
            -> std::pin::Pin<Box<dyn Future<Output = Result<T, HdfsError>> + 'w>>,
    ) -> io::Result<T> {
        let c = &self.store;
        let Some(w) = self.writer.as_mut() else {
            return Err(io::Error::other(format!(
                "{}: {what} {}: the file was already closed",
                c.namenode,
                self.path.display()
            )));
        };
        c.call(what, &self.path, f(w))
    }
}

impl StoreFile for HdfsFile {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let buf = Bytes::copy_from_slice(bytes);
        self.run("writing", move |w| Box::pin(w.write_bytes(buf)))
            .map(|_| ())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.run("syncing (hsync)", |w| Box::pin(w.hsync()))
    }

    fn close(&mut self) -> io::Result<()> {
        self.run("closing", |w| Box::pin(w.close()))?;
        self.writer = None;
        Ok(())
    }
}
