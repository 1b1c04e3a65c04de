//! The [`RollingWriter`]'s closes: a file closed when it rolls, idles or the sink stops, then
//! published (renamed to its final name, or left for the store to publish); a file whose
//! write or close failed is closed through recovery, retried every `hdfs.retryInterval` up
//! to `hdfs.closeTries`.

use std::path::PathBuf;
use std::time::Instant;

use super::super::bucket::BucketWriter;
use super::super::store::ToRecover;
use super::{RollingWriter, WriteError};

#[derive(Debug)]
pub(super) struct PendingClose {
    pub(super) in_use: PathBuf,
    target: PathBuf,
    tries: u32,
    next: Instant,
}

impl RollingWriter {
    pub(super) fn close_key(&mut self, key: &str, now: Instant) -> Result<(), WriteError> {
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
                Err(WriteError::Io {
                    what: "closing",
                    path: p,
                    source: e,
                })
            }
        }
    }

    /// A file whose write or close failed: never written again; closed by recovery (its
    /// torn tail cut), now or at a later tick (`closeTries`, `retryInterval`).
    pub(super) fn abandon(&mut self, w: BucketWriter, now: Instant) {
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
            let file = ToRecover {
                in_use: &p.in_use,
                target: &p.target,
                layout: self.layout,
                limit: None,
            };
            match self.store.recover(file) {
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

    /// Closes files whose `rollInterval` or `idleTimeout` passed, and retries failed closes,
    /// after any cut back that is due ([`RollingWriter::settle`]).
    pub fn tick(&mut self, now: Instant) -> Result<(), WriteError> {
        self.settle()?;
        let due: Vec<String> = self
            .open
            .iter()
            .filter(|(_, o)| self.roll_due(&o.writer, now))
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
    /// S3 store's uploads): the sink's stop, after any cut back that is due (if that fails,
    /// the files are left in use for the next start's recovery).
    pub fn stop(&mut self, now: Instant, limit: std::time::Duration) -> Result<(), WriteError> {
        self.settle()?;
        let closed = self.close_all(now);
        self.store.drain(limit);
        closed
    }

    /// Whether `rollInterval` or `idleTimeout` says the open file `w` is closed now.
    pub(super) fn roll_due(&self, w: &BucketWriter, now: Instant) -> bool {
        self.cfg
            .roll_interval
            .is_some_and(|d| now.duration_since(w.opened_at) >= d)
            || self
                .cfg
                .idle_timeout
                .is_some_and(|d| now.duration_since(w.last_write) >= d)
    }

    /// Closes every open file, and tries once more every close still pending.
    pub fn close_all(&mut self, now: Instant) -> Result<(), WriteError> {
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
