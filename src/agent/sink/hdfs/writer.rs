//! The synchronous core of the `hdfs` sink: routes each event to its bucket (the escaped
//! directory and file prefix), keeps at most `maxOpenFiles` buckets open (the least recently
//! used is closed first, and also when an open finds no descriptor left, EMFILE/ENFILE),
//! rolls files by count, size, interval and idleness, keeps the unwritten bytes of all open
//! buckets within `hdfs.maxBufferBytes` (the largest buffer is written first, [`super::budget`]),
//! and makes every batch durable before [`HdfsWriter::write_batch`] returns. It runs on a
//! blocking thread;
//! all file access goes through the [`Fs`] seam.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::bucket::{BucketWriter, Naming, NAME_TRIES_MAX};
use super::budget::{event_bytes_max, BufferGauge};
use super::config::HdfsConfig;
use super::error::io_err;
pub use super::error::HdfsError;
use super::format::Layout;
use super::local_store::LocalStore;
use super::open_files::out_of_descriptors;
use super::path::{HostNames, PathTemplate};
use super::recover::{list_files, recover_all, search_root, Recovered};
use super::resume::{Resume, Snapshot};
pub use super::route::Refused;
use super::route::{refused_as_name, Bucket, Router};
use super::store::{Held, Store};
use crate::agent::java::serializer::JavaSerializer;
use sluice_core::io::Fs;
use sluice_core::Event;

#[derive(Debug)]
struct Open {
    writer: BucketWriter,
    used: u64,
}

#[derive(Debug)]
struct PendingClose {
    in_use: PathBuf,
    target: PathBuf,
    tries: u32,
    next: Instant,
}

/// The sink's state: open buckets and files waiting for a retried close.
#[derive(Debug)]
pub struct HdfsWriter {
    cfg: HdfsConfig,
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
    /// Batches written without a sync, synced by their acknowledgements
    /// ([`super::group_sync`]; [`HdfsWriter::share_syncs`]).
    pub(super) shared: Option<writer_group::Shared>,
    /// The sink's Java serializer, when `serializer` names one.
    java: Option<Arc<JavaSerializer>>,
}

impl HdfsWriter {
    /// A writer on a local file system; `start_ms` seeds the file counter (Flume starts it
    /// at the clock).
    pub fn new(
        cfg: HdfsConfig,
        fs: Arc<dyn Fs>,
        host: HostNames,
        start_ms: u64,
    ) -> Result<HdfsWriter, HdfsError> {
        HdfsWriter::on_store(cfg, Arc::new(LocalStore::new(fs)), host, start_ms)
    }

    /// A writer on any [`Store`] (a local file system or an HDFS cluster).
    pub fn on_store(
        cfg: HdfsConfig,
        store: Arc<dyn Store>,
        host: HostNames,
        start_ms: u64,
    ) -> Result<HdfsWriter, HdfsError> {
        let template = |key: &str| {
            let key = cfg.keys.of(key);
            move |source| HdfsError::Template { key, source }
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
        Ok(HdfsWriter {
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
            shared: None,
            java: None,
        })
    }

    /// Writes new files through the sink's Java serializer (`serializer` naming a class).
    pub(crate) fn set_java(&mut self, ser: Arc<JavaSerializer>) {
        self.java = Some(ser);
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
    pub fn recover(&mut self, resume: Option<&Resume>) -> Result<Vec<Recovered>, HdfsError> {
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
        Ok(found.recovered)
    }

    /// Files open now.
    pub fn open_files(&self) -> usize {
        self.open.len()
    }

    /// Writes a batch; returns only after it is durable (with `fsyncPerBatch`). Every event is
    /// routed first ([`super::route`]): those that can never be written (a poison event) are
    /// left out and returned with why, before anything of the batch is written, so the rest
    /// is written once. On failure the files touched by the batch are closed through recovery
    /// and the error returned: the caller rolls the take back and the batch is written again
    /// (at least once).
    pub fn write_batch(
        &mut self,
        events: &[Event],
        now: Instant,
        now_ms: i64,
    ) -> Result<Vec<Refused>, HdfsError> {
        self.cut_back_unsynced();
        if self.rewind_due {
            self.rewind()?;
            self.rewound();
        }
        // A busy sink is never idle, so the interval rolls are checked here too.
        if let Err(e) = self.tick(now) {
            tracing::warn!(error = %e, "closing a file due to roll failed; it is recovered and the batch goes to a new file");
        }
        self.admit(events, now)?;
        let mut touched: Vec<String> = Vec::new();
        let mut refused = Vec::new();
        let result = self.write_events(events, now, now_ms, &mut touched, &mut refused);
        // Kept for the next batch: at most the budget's share of each open bucket.
        let keep = self.cfg.max_buffer_bytes / self.open.len().max(1);
        let sync = self.syncs_each_batch();
        let result = result.and_then(|()| {
            for key in &touched {
                if let Some(o) = self.open.get_mut(key) {
                    let p = o.writer.in_use_path().to_owned();
                    o.writer.flush(sync, keep).map_err(io_err("writing", &p))?;
                }
            }
            Ok(())
        });
        let result = result.and_then(|()| self.stage_sync(&touched));
        match &result {
            Ok(()) if self.delivered.is_some() => {
                self.delivered = Some(self.snapshot());
                self.note_batch();
                self.created.clear();
            }
            Ok(()) => {}
            Err(_) if self.delivered.is_some() => {
                self.rewind_due = true;
                match self.rewind() {
                    Ok(()) => self.rewound(),
                    Err(e) => {
                        tracing::warn!(error = %e, "cutting the output back after a failed batch failed; retried before the next batch is written");
                    }
                }
            }
            Err(_) => {
                for key in touched {
                    if let Some(o) = self.open.remove(&key) {
                        self.abandon(o.writer, now);
                    }
                }
            }
        }
        self.buffered.set(self.buffered_bytes());
        result.map(|()| refused)
    }

    /// Whether the store takes the batch (an S3 sink's staging space): when it refuses, the
    /// open files are closed (uploaded, which frees their staged bytes) and it is asked
    /// once more; a second refusal fails the batch before anything is written.
    fn admit(&mut self, events: &[Event], now: Instant) -> Result<(), HdfsError> {
        let need: u64 = events.iter().map(|e| event_bytes_max(e) as u64).sum();
        if self.store.admit(need).is_ok() {
            return Ok(());
        }
        if let Err(e) = self.close_all(now) {
            tracing::debug!(error = %e, "closing files to free staging space failed");
        }
        let root = PathBuf::from(self.path.literal_prefix());
        self.store
            .admit(need)
            .map_err(io_err("staging a batch for", &root))
    }

    /// Writes the largest buffers until `need` more bytes fit in `hdfs.maxBufferBytes` (or
    /// nothing is buffered: an event larger than the budget alone is still written whole).
    /// Every bucket with buffered bytes was touched by this batch, so a failure here closes
    /// it through recovery and the take is rolled back, as a failure at the batch's end does.
    fn make_budget_room(&mut self, need: usize) -> Result<(), HdfsError> {
        loop {
            let buffered = self.buffered_bytes();
            if buffered.saturating_add(need) <= self.cfg.max_buffer_bytes {
                return Ok(());
            }
            let Some((key, largest)) = self
                .open
                .iter_mut()
                .max_by_key(|(_, o)| o.writer.buffered_bytes())
                .filter(|(_, o)| o.writer.buffered_bytes() > 0)
            else {
                return Ok(());
            };
            tracing::debug!(bucket = %key, bytes = largest.writer.buffered_bytes(), "{} reached; writing the largest buffer early", self.cfg.keys.of("hdfs.maxBufferBytes"));
            let p = largest.writer.in_use_path().to_owned();
            let sync = self.cfg.fsync_per_batch && self.shared.is_none();
            largest
                .writer
                .flush(sync, 0)
                .map_err(io_err("writing", &p))?;
            self.buffered.set(self.buffered_bytes());
        }
    }

    fn write_events(
        &mut self,
        events: &[Event],
        now: Instant,
        now_ms: i64,
        touched: &mut Vec<String>,
        refused: &mut Vec<Refused>,
    ) -> Result<(), HdfsError> {
        let counter_digits = (self.counter.saturating_add(NAME_TRIES_MAX as u64))
            .to_string()
            .len();
        let routes = Router {
            path: &self.path,
            prefix: &self.prefix,
            cfg: &self.cfg,
            host: &self.host,
            name_extra_bytes: self.naming.in_use_prefix.len()
                + 1
                + counter_digits
                + self.naming.suffix.len()
                + self.naming.in_use_suffix.len(),
        }
        .route(events, now_ms);
        // Buckets whose file the file system refused by name (with header escapes only).
        let mut bad: Vec<(usize, String)> = Vec::new();
        for (index, (e, route)) in events.iter().zip(routes.events).enumerate() {
            let route = match route {
                Ok(r) => r,
                Err(reason) => {
                    let reason = reason.to_string();
                    refused.push(Refused { index, reason });
                    continue;
                }
            };
            if let Some((_, why)) = bad.iter().find(|(b, _)| *b == route.bucket) {
                refused.push(Refused {
                    index,
                    reason: why.clone(),
                });
                continue;
            }
            let Some(bucket) = routes.buckets.get(route.bucket) else {
                continue;
            };
            let key = bucket.key.as_str();
            if let Some(why) = self.open_bucket(bucket, now)? {
                refused.push(Refused {
                    index,
                    reason: why.clone(),
                });
                bad.push((route.bucket, why));
                continue;
            }
            if let Err(err) = self.append_to(key, e, route.ts.unwrap_or(now_ms), now)? {
                // The encoder adds nothing of an event it refuses (a record too large).
                refused.push(Refused {
                    index,
                    reason: format!("cannot be encoded: {err}"),
                });
                continue;
            }
            if !touched.iter().any(|k| k == key) {
                touched.push(key.to_owned());
            }
            self.roll_if_full(key, now)?;
        }
        Ok(())
    }

    /// Opens the file of `bucket` unless it is open (making room among `hdfs.maxOpenFiles`
    /// first); `Some(why)` when the file system refuses the name of a file made from headers
    /// (its events are refused, the batch goes on).
    fn open_bucket(&mut self, bucket: &Bucket, now: Instant) -> Result<Option<String>, HdfsError> {
        if self.open.contains_key(bucket.key.as_str()) {
            return Ok(None);
        }
        self.make_room(now)?;
        let dir = PathBuf::from(&bucket.dir);
        let mut opened = self.open_in(&dir, &bucket.prefix, now);
        if opened.as_ref().is_err_and(out_of_descriptors) && !self.open.is_empty() {
            // Fewer descriptors than maxOpenFiles assumed (other files of the agent,
            // a lower limit): give one back, as an eviction does, and try once more.
            tracing::warn!(open = self.open.len(), dir = %dir.display(), "out of file descriptors opening a file; closing the least recently used one and trying again");
            self.close_least_recent(now)?;
            opened = self.open_in(&dir, &bucket.prefix, now);
        }
        let w = match opened {
            Ok(w) => w,
            Err(err) if bucket.from_event && refused_as_name(&err) => {
                return Ok(Some(format!(
                    "the file system refuses the name of a file in {:?} made from headers: {err}",
                    bucket.dir
                )));
            }
            Err(err) => return Err(io_err("opening a file in", &dir)(err)),
        };
        tracing::debug!(path = %w.in_use_path().display(), "opened");
        self.open
            .insert(bucket.key.clone(), Open { writer: w, used: 0 });
        Ok(None)
    }

    /// Adds `e` to the open bucket `key`, first making room for it in `hdfs.maxBufferBytes`.
    /// The outer error is the file system's; the inner one the encoder's refusal of `e`.
    fn append_to(
        &mut self,
        key: &str,
        e: &Event,
        ts_ms: i64,
        now: Instant,
    ) -> Result<Result<(), io::Error>, HdfsError> {
        self.make_budget_room(event_bytes_max(e))?;
        self.use_stamp += 1;
        let stamp = self.use_stamp;
        let Some(o) = self.open.get_mut(key) else {
            return Ok(Ok(()));
        };
        o.used = stamp;
        let appended = o.writer.append(e, ts_ms, now);
        self.buffered.set(self.buffered_bytes());
        Ok(appended)
    }

    /// Closes the bucket `key` when `rollCount` or `rollSize` says its next event goes to a
    /// new file.
    fn roll_if_full(&mut self, key: &str, now: Instant) -> Result<(), HdfsError> {
        let full = self.open.get(key).is_some_and(|o| {
            o.writer
                .should_rotate(self.cfg.roll_count, self.cfg.roll_size)
        });
        if full {
            self.close_key(key, now)?;
        }
        Ok(())
    }

    fn make_room(&mut self, now: Instant) -> Result<(), HdfsError> {
        while self.open.len() >= self.cfg.max_open_files {
            tracing::debug!("maxOpenFiles reached; closing the least recently used file");
            if !self.close_least_recent(now)? {
                break;
            }
        }
        Ok(())
    }

    /// Opens a new file of the bucket `prefix` in `dir`.
    fn open_in(&mut self, dir: &Path, prefix: &str, now: Instant) -> io::Result<BucketWriter> {
        let mut w = BucketWriter::open(
            self.store.as_ref(),
            dir,
            prefix,
            &self.naming,
            &mut self.counter,
            self.layout,
            now,
        )?;
        if let Some(ser) = &self.java {
            // The stream is named by the file's counter (a u32 of it: never two open files).
            if let Err(e) = w.attach_java(ser.clone(), self.counter as u32) {
                self.abandon(w, now);
                return Err(e);
            }
        }
        if self.delivered.is_some() {
            self.created.push(w.in_use_path().to_owned());
        }
        Ok(w)
    }

    /// Closes the least recently used open file; whether there was one.
    fn close_least_recent(&mut self, now: Instant) -> Result<bool, HdfsError> {
        let Some(oldest) = self
            .open
            .iter()
            .min_by_key(|(_, o)| o.used)
            .map(|(k, _)| k.clone())
        else {
            return Ok(false);
        };
        tracing::debug!(bucket = %oldest, "closing the least recently used file");
        self.close_key(&oldest, now)?;
        Ok(true)
    }

    fn close_key(&mut self, key: &str, now: Instant) -> Result<(), HdfsError> {
        let Some(mut o) = self.open.remove(key) else {
            return Ok(());
        };
        let closed = o.writer.finish(self.cfg.fsync_per_batch);
        if closed.is_ok() && self.store.defers_publish() {
            if let Err(e) = o.writer.publish(self.store.as_ref()) {
                let (in_use, target) = (o.writer.in_use_path(), o.writer.target_path());
                tracing::warn!(path = %in_use.display(), error = %e, "publishing a closed file failed; it stays where it is, complete, and is published again every {}", self.cfg.keys.of("hdfs.retryInterval"));
                self.closing.push(PendingClose {
                    in_use: in_use.to_owned(),
                    target: target.to_owned(),
                    tries: 0,
                    next: now + self.cfg.retry_interval,
                });
            }
            return Ok(());
        }
        match closed.and_then(|()| o.writer.publish(self.store.as_ref())) {
            Ok(()) => {
                tracing::debug!(path = %o.writer.target_path().display(), "closed");
                Ok(())
            }
            Err(e) => {
                let p = o.writer.in_use_path().to_owned();
                self.abandon(o.writer, now);
                Err(HdfsError::Io {
                    what: "closing",
                    path: p,
                    source: e,
                })
            }
        }
    }

    /// A file whose write or close failed: never written again; closed by recovery (its
    /// torn tail cut), now or at a later tick (`closeTries`, `retryInterval`).
    fn abandon(&mut self, w: BucketWriter, now: Instant) {
        let (in_use, target) = (w.in_use_path().to_owned(), w.target_path().to_owned());
        drop(w);
        self.closing.push(PendingClose {
            in_use,
            target,
            tries: 0,
            next: now,
        });
        self.retry_closes(now);
    }

    fn retry_closes(&mut self, now: Instant) {
        let mut keep = Vec::new();
        let mut store_failing = false;
        for mut p in std::mem::take(&mut self.closing) {
            if p.next > now {
                keep.push(p);
                continue;
            }
            if store_failing {
                p.next = now + self.cfg.retry_interval;
                keep.push(p);
                continue;
            }
            p.tries += 1;
            match self.store.recover(&p.in_use, &p.target, self.layout, None) {
                Ok(_) => {}
                Err(e) if self.cfg.close_tries > 0 && p.tries >= self.cfg.close_tries => {
                    tracing::error!(path = %p.in_use.display(), error = %e, tries = p.tries, "giving up closing; the file keeps its in-use name until the next start recovers it");
                }
                Err(e) => {
                    store_failing = self.store.defers_publish();
                    tracing::warn!(path = %p.in_use.display(), error = %e, tries = p.tries, "closing failed; will retry");
                    p.next = now + self.cfg.retry_interval;
                    keep.push(p);
                }
            }
        }
        self.closing = keep;
    }

    /// Closes files whose `rollInterval` or `idleTimeout` passed, and retries failed closes.
    pub fn tick(&mut self, now: Instant) -> Result<(), HdfsError> {
        let due: Vec<String> = self
            .open
            .iter()
            .filter(|(_, o)| {
                let w = &o.writer;
                self.cfg
                    .roll_interval
                    .is_some_and(|d| now.duration_since(w.opened_at) >= d)
                    || self
                        .cfg
                        .idle_timeout
                        .is_some_and(|d| now.duration_since(w.last_write) >= d)
            })
            .map(|(k, _)| k.clone())
            .collect();
        let mut first_err = None;
        for key in due {
            if let Err(e) = self.close_key(&key, now) {
                first_err.get_or_insert(e);
            }
        }
        self.retry_closes(now);
        first_err.map_or(Ok(()), Err)
    }

    /// Closes every open file and waits up to `limit` for the store's background work (an
    /// S3 store's uploads): the sink's stop.
    pub fn stop(&mut self, now: Instant, limit: std::time::Duration) -> Result<(), HdfsError> {
        let closed = self.close_all(now);
        self.store.drain(limit);
        closed
    }

    /// Closes every open file, and tries once more every close still pending.
    pub fn close_all(&mut self, now: Instant) -> Result<(), HdfsError> {
        let keys: Vec<String> = self.open.keys().cloned().collect();
        let mut first_err = None;
        for key in keys {
            if let Err(e) = self.close_key(&key, now) {
                first_err.get_or_insert(e);
            }
        }
        for p in &mut self.closing {
            p.next = now;
        }
        self.retry_closes(now);
        first_err.map_or(Ok(()), Err)
    }
}

#[path = "writer_resume.rs"]
mod writer_resume;

#[path = "writer_group.rs"]
pub(super) mod writer_group;

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "writer_s3_tests.rs"]
mod s3_tests;
