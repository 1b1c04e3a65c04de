//! The synchronous core of the `hdfs` and `s3` sinks, on any [`Store`]: routes each event to its bucket (the escaped
//! directory and file prefix), keeps at most `maxOpenFiles` buckets open (the least recently
//! used is closed first, and also when an open finds no descriptor left, EMFILE/ENFILE),
//! rolls files by count, size, interval and idleness, keeps the unwritten bytes of all open
//! buckets within `hdfs.maxBufferBytes` (the largest buffer is written first, [`super::budget`]),
//! and makes every batch durable before [`RollingWriter::write_batch`] returns. It runs on a
//! blocking thread; all file access goes through its store.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::bridge::Bridge;
use super::bucket::{BucketWriter, Naming};
use super::budget::BufferGauge;
use super::config::RollingConfig;
use super::error::io_err;
pub use super::error::WriteError;
use super::format::Layout;
use super::path::{HostNames, PathTemplate};
use super::recover::{list_files, recover_all, search_root, Recovered};
use super::resume::{Resume, Snapshot};
pub use super::route::Refused;
use super::serializer::StreamSerializer;
use super::store::{Held, Store};
use close::PendingClose;

#[derive(Debug)]
struct Open {
    writer: BucketWriter,
    used: u64,
}

/// The sink's state: open buckets and files waiting for a retried close.
#[derive(Debug)]
pub struct RollingWriter {
    cfg: RollingConfig,
    store: Arc<dyn Store>,
    path: PathTemplate,
    prefix: PathTemplate,
    naming: Naming,
    layout: Layout,
    host: HostNames,
    counter: u64,
    use_stamp: u64,
    open: HashMap<String, Open>,
    closing: Vec<PendingClose>,
    buffered: Arc<BufferGauge>,
    /// The output after the last delivered batch, when the store can be cut back to it.
    delivered: Option<Snapshot>,
    /// Files (in-use paths) opened since `delivered` was taken.
    created: Vec<PathBuf>,
    /// A failed batch is not cut back yet: nothing is written until it is.
    rewind_due: bool,
    /// Files (in-use paths) opened since the last [`RollingWriter::mark`]: what a call that
    /// times out opened.
    since_mark: Vec<PathBuf>,
    /// Files a given-up call opened ([`RollingWriter::give_up_since`]), removed by the next
    /// cut back with `created`: only files this writer opened, never another writer's in a
    /// shared directory.
    given_up: Vec<PathBuf>,
    /// Batches written without a sync, synced by their acknowledgements
    /// ([`super::group_sync`]; [`RollingWriter::share_syncs`]).
    pub(super) shared: Option<group::Shared>,
    /// The serializer the sink was handed (`serializer` naming a class), and the bridge its
    /// `Async` steps are waited on.
    handed: Option<(Arc<dyn StreamSerializer>, Bridge)>,
    /// [`RollingWriter::recover`] has run: the in-use files below the root are this writer's.
    recovered: bool,
}

impl RollingWriter {
    /// A writer on any [`Store`] (a local file system, `store::local::LocalStore`, or an HDFS cluster);
    /// `start_ms` seeds the file counter (Flume starts it at the clock).
    pub fn on_store(
        cfg: RollingConfig,
        store: Arc<dyn Store>,
        host: HostNames,
        start_ms: u64,
    ) -> Result<RollingWriter, WriteError> {
        let template = |key: &str| {
            let key = cfg.keys.of(key);
            move |source| WriteError::Template { key, source }
        };
        let path = PathTemplate::parse(&cfg.path).map_err(template("hdfs.path"))?;
        let prefix = PathTemplate::parse(&cfg.file_prefix).map_err(template("hdfs.filePrefix"))?;
        let suffix = match (&cfg.file_suffix, cfg.codec, cfg.file_type) {
            (s, _, _) if !s.is_empty() => s.clone(),
            (_, Some(c), super::config::FileType::CompressedStream) => c.extension().to_owned(),
            _ => String::new(),
        };
        let naming = Naming {
            suffix,
            in_use_prefix: cfg.in_use_prefix.clone(),
            in_use_suffix: cfg.in_use_suffix.clone(),
            fixed_prefix: (prefix.literal_prefix() == cfg.file_prefix)
                .then(|| cfg.file_prefix.clone()),
        };
        Ok(RollingWriter {
            layout: Layout::of(&cfg),
            cfg,
            store,
            path,
            prefix,
            naming,
            host,
            counter: start_ms,
            use_stamp: 0,
            open: HashMap::new(),
            closing: Vec::new(),
            buffered: Arc::default(),
            delivered: None,
            created: Vec::new(),
            rewind_due: false,
            since_mark: Vec::new(),
            given_up: Vec::new(),
            shared: None,
            handed: None,
            recovered: false,
        })
    }

    /// Writes new files through `ser` (`serializer` naming a class), waiting for its
    /// `Async` steps on `bridge`.
    pub(crate) fn set_serializer(&mut self, ser: Arc<dyn StreamSerializer>, bridge: Bridge) {
        self.handed = Some((ser, bridge));
    }

    /// Publishes the buffered bytes to `gauge` (the sink's, kept across writers).
    pub fn set_buffer_gauge(&mut self, gauge: Arc<BufferGauge>) {
        gauge.set(self.buffered_bytes());
        self.buffered = gauge;
    }

    /// The unwritten bytes of all open buckets.
    pub fn buffered_bytes(&self) -> usize {
        self.open.values().map(|o| o.writer.buffered_bytes()).sum()
    }

    /// The directory below which the sink's files are.
    fn root(&self) -> PathBuf {
        let whole = !self.path.needs_time() && self.path.literal_prefix() == self.cfg.path;
        search_root(self.path.literal_prefix(), whole)
    }

    /// Recovers in-use files left below the path's literal root by an earlier run, after
    /// cutting the output back to `resume` (the last committed take's cursor) when the store
    /// can ([`resume`]).
    pub fn recover(&mut self, resume: Option<&Resume>) -> Result<Vec<Recovered>, WriteError> {
        let root = self.root();
        let store = self.store.clone();
        let _held = Held::new(store.as_ref());
        self.store
            .probe()
            .map_err(io_err("checking the store under", &root))?;
        let mut files = list_files(self.store.as_ref(), &root)
            .map_err(io_err("looking for the sink's files under", &root))?;
        let handled = self.cut_back_at_start(resume, &root, &files)?;
        files.retain(|f| !handled.contains(f));
        let found = recover_all(
            self.store.as_ref(),
            &files,
            &root,
            &self.naming,
            self.layout,
        )
        .map_err(io_err("recovering in-use files under", &root))?;
        // File numbers only grow, across runs too: a cursor's number must be below every
        // file written after it.
        self.counter = self.counter.max(found.last_counter.unwrap_or(0));
        if self.store.cuts_back() {
            self.delivered = Some(self.snapshot());
        }
        self.recovered = true;
        Ok(found.recovered)
    }

    /// Whether [`RollingWriter::recover`] has run on this writer.
    pub fn recovered(&self) -> bool {
        self.recovered
    }

    /// Files open now.
    pub fn open_files(&self) -> usize {
        self.open.len()
    }
}

mod batch;
mod close;
pub(super) mod group;
mod open;
mod resume;
mod stage;

#[cfg(test)]
pub(super) mod tests;

#[cfg(test)]
mod s3_tests;
