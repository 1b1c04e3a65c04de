//! The synchronous core of the `hdfs` sink: routes each event to its bucket (the escaped
//! directory and file prefix), keeps at most `maxOpenFiles` buckets open (the least recently
//! used is closed first), rolls files by count, size, interval and idleness, and makes every
//! batch durable before [`HdfsWriter::write_batch`] returns. It runs on a blocking thread;
//! all file access goes through the [`Fs`] seam.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::bucket::{BucketWriter, Naming};
use super::config::HdfsConfig;
use super::format::Layout;
use super::path::{event_time, HostNames, PathTemplate};
use super::recover::{recover_all, recover_file, search_root, Recovered};
use sluice_core::io::Fs;
use sluice_core::Event;

/// Why a batch could not be written.
#[derive(Debug, thiserror::Error)]
pub enum HdfsError {
    /// An event's path could not be built.
    #[error("{0}")]
    Escape(#[from] super::path::EscapeError),
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// The operation.
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> HdfsError + 'a {
    move |source| HdfsError::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

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
    fs: Arc<dyn Fs>,
    path: PathTemplate,
    prefix: PathTemplate,
    naming: Naming,
    layout: Layout,
    host: HostNames,
    counter: u64,
    use_stamp: u64,
    open: HashMap<String, Open>,
    closing: Vec<PendingClose>,
}

impl HdfsWriter {
    /// A writer; `start_ms` seeds the file counter (Flume starts it at the clock).
    pub fn new(
        cfg: HdfsConfig,
        fs: Arc<dyn Fs>,
        host: HostNames,
        start_ms: u64,
    ) -> Result<HdfsWriter, String> {
        let path = PathTemplate::parse(&cfg.path).map_err(|e| format!("hdfs.path: {e}"))?;
        let prefix =
            PathTemplate::parse(&cfg.file_prefix).map_err(|e| format!("hdfs.filePrefix: {e}"))?;
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
            fs,
            path,
            prefix,
            naming,
            host,
            counter: start_ms,
            use_stamp: 0,
            open: HashMap::new(),
            closing: Vec::new(),
        })
    }

    /// Recovers in-use files left below the path's literal root by an earlier run.
    pub fn recover(&mut self) -> Result<Vec<Recovered>, HdfsError> {
        let whole = !self.path.needs_time() && self.path.literal_prefix() == self.cfg.path;
        let root = search_root(self.path.literal_prefix(), whole);
        recover_all(self.fs.as_ref(), &root, &self.naming, self.layout)
            .map_err(io_err("recovering in-use files under", &root))
    }

    /// Files open now.
    pub fn open_files(&self) -> usize {
        self.open.len()
    }

    /// Writes a batch; returns only after it is durable (with `fsyncPerBatch`). On failure
    /// the files touched by the batch are closed through recovery and the error returned:
    /// the caller rolls the take back and the batch is written again (at least once).
    pub fn write_batch(
        &mut self,
        events: &[Event],
        now: Instant,
        now_ms: i64,
    ) -> Result<(), HdfsError> {
        // A busy sink is never idle, so the interval rolls are checked here too.
        if let Err(e) = self.tick(now) {
            tracing::warn!(error = %e, "closing a file due to roll failed; it is recovered and the batch goes to a new file");
        }
        let mut touched: Vec<String> = Vec::new();
        let result = self.write_events(events, now, now_ms, &mut touched);
        let result = result.and_then(|()| {
            for key in &touched {
                if let Some(o) = self.open.get_mut(key) {
                    let p = o.writer.in_use_path().to_owned();
                    o.writer
                        .flush(self.fs.as_ref(), self.cfg.fsync_per_batch)
                        .map_err(io_err("writing", &p))?;
                }
            }
            Ok(())
        });
        if result.is_err() {
            for key in touched {
                if let Some(o) = self.open.remove(&key) {
                    self.abandon(o.writer, now);
                }
            }
        }
        result
    }

    fn write_events(
        &mut self,
        events: &[Event],
        now: Instant,
        now_ms: i64,
        touched: &mut Vec<String>,
    ) -> Result<(), HdfsError> {
        for e in events {
            let ts = event_time(&e.headers, self.cfg.use_local_timestamp, now_ms)?;
            let dir =
                self.path
                    .render(&e.headers, ts, self.cfg.zone, self.cfg.round, &self.host)?;
            let prefix =
                self.prefix
                    .render(&e.headers, ts, self.cfg.zone, self.cfg.round, &self.host)?;
            let key = format!("{dir}/{prefix}");
            if !self.open.contains_key(&key) {
                self.make_room(now)?;
                let dir = PathBuf::from(&dir);
                let w = BucketWriter::open(
                    self.fs.as_ref(),
                    &dir,
                    &prefix,
                    &self.naming,
                    &mut self.counter,
                    self.layout,
                    now,
                )
                .map_err(io_err("opening a file in", &dir))?;
                tracing::debug!(path = %w.in_use_path().display(), "opened");
                self.open.insert(key.clone(), Open { writer: w, used: 0 });
            }
            self.use_stamp += 1;
            let stamp = self.use_stamp;
            let Some(o) = self.open.get_mut(&key) else {
                continue;
            };
            o.used = stamp;
            let p = o.writer.in_use_path().to_owned();
            o.writer
                .append(e, ts.unwrap_or(now_ms), now)
                .map_err(io_err("encoding an event for", &p))?;
            if !touched.contains(&key) {
                touched.push(key.clone());
            }
            if o.writer
                .should_rotate(self.cfg.roll_count, self.cfg.roll_size)
            {
                self.close_key(&key, now)?;
            }
        }
        Ok(())
    }

    fn make_room(&mut self, now: Instant) -> Result<(), HdfsError> {
        while self.open.len() >= self.cfg.max_open_files {
            let Some(oldest) = self
                .open
                .iter()
                .min_by_key(|(_, o)| o.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            tracing::debug!(bucket = %oldest, "maxOpenFiles reached; closing the least recently used file");
            self.close_key(&oldest, now)?;
        }
        Ok(())
    }

    fn close_key(&mut self, key: &str, now: Instant) -> Result<(), HdfsError> {
        let Some(mut o) = self.open.remove(key) else {
            return Ok(());
        };
        match o.writer.close(self.fs.as_ref(), self.cfg.fsync_per_batch) {
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
        for mut p in std::mem::take(&mut self.closing) {
            if p.next > now {
                keep.push(p);
                continue;
            }
            p.tries += 1;
            match recover_file(self.fs.as_ref(), &p.in_use, &p.target, self.layout) {
                Ok(_) => {}
                Err(e) if self.cfg.close_tries > 0 && p.tries >= self.cfg.close_tries => {
                    tracing::error!(path = %p.in_use.display(), error = %e, tries = p.tries, "giving up closing; the file keeps its in-use name until the next start recovers it");
                }
                Err(e) => {
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

    /// Closes every open file (at stop).
    pub fn close_all(&mut self, now: Instant) -> Result<(), HdfsError> {
        let keys: Vec<String> = self.open.keys().cloned().collect();
        let mut first_err = None;
        for key in keys {
            if let Err(e) = self.close_key(&key, now) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
