//! The [`RollingWriter`]'s batch: every event routed first (a poison event left out with why),
//! each written to its bucket's open file within `hdfs.maxBufferBytes`, files rolled by
//! `rollCount`/`rollSize` as they fill, and the touched files flushed (synced with
//! `fsyncPerBatch`) before the batch is reported written.

use std::io;
use std::path::PathBuf;
use std::time::Instant;

use super::super::bucket::NAME_TRIES_MAX;
use super::super::budget::event_bytes_max;
use super::super::error::io_err;
use super::super::route::{Refused, Router, Routes};
use super::{RollingWriter, WriteError};
use sluice_core::Event;

impl RollingWriter {
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
    ) -> Result<Vec<Refused>, WriteError> {
        self.settle()?;
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
                self.store.delivered();
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
    fn admit(&mut self, events: &[Event], now: Instant) -> Result<(), WriteError> {
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
    fn make_budget_room(&mut self, need: usize) -> Result<(), WriteError> {
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
    ) -> Result<(), WriteError> {
        let routes = self.routes(events, now_ms);
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

    /// Where each event of a batch goes (no I/O).
    pub(super) fn routes(&self, events: &[Event], now_ms: i64) -> Routes {
        let counter_digits = (self.counter.saturating_add(NAME_TRIES_MAX as u64))
            .to_string()
            .len();
        Router {
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
        .route(events, now_ms)
    }

    /// Adds `e` to the open bucket `key`, first making room for it in `hdfs.maxBufferBytes`.
    /// The outer error is the file system's; the inner one the encoder's refusal of `e`.
    fn append_to(
        &mut self,
        key: &str,
        e: &Event,
        ts_ms: i64,
        now: Instant,
    ) -> Result<Result<(), io::Error>, WriteError> {
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
    fn roll_if_full(&mut self, key: &str, now: Instant) -> Result<(), WriteError> {
        let full = self.open.get(key).is_some_and(|o| {
            o.writer
                .should_rotate(self.cfg.roll_count, self.cfg.roll_size)
        });
        if full {
            self.close_key(key, now)?;
        }
        Ok(())
    }
}
