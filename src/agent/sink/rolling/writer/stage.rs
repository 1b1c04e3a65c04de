//! The [`RollingWriter`]'s batch without a trip to the blocking pool: on a local path with
//! shared syncs (`hdfs.fsyncPerBatch`, [`super::group`]), a batch that needs no file opened,
//! rolled or closed is routed, encoded and staged in its files' memory on the sink's task
//! ([`crate::agent::sink::rolling::store::StoreFile::stage`]); its acknowledgement's sync
//! writes it, with every batch staged meanwhile, and fdatasyncs (one trip per group of batches,
//! as the flat writer's). Any other batch goes the blocking way ([`RollingWriter::write_batch`]),
//! and every trip writes what is staged first ([`RollingWriter::write_staged`]).

use std::time::Instant;

use super::super::budget::event_bytes_max;
use super::super::error::io_err;
use super::super::route::{Refused, Routes};
use super::{RollingWriter, WriteError};
use sluice_core::Event;

impl RollingWriter {
    /// Stages a batch when that needs no I/O (see the module), with what
    /// [`RollingWriter::write_batch`] returns; `None` when it would need I/O: nothing was
    /// done, and the batch goes to `write_batch` on the blocking pool.
    pub fn stage_batch(
        &mut self,
        events: &[Event],
        now: Instant,
        now_ms: i64,
    ) -> Option<Result<Vec<Refused>, WriteError>> {
        if !self.can_stage(now) {
            return None;
        }
        let routes = self.routes(events, now_ms);
        if !self.takes_without_io(events, &routes) {
            return None;
        }
        let mut refused = Vec::new();
        let mut touched: Vec<String> = Vec::new();
        for (index, (e, route)) in events.iter().zip(routes.events).enumerate() {
            let route = match route {
                Ok(r) => r,
                Err(reason) => {
                    refused.push(Refused {
                        index,
                        reason: reason.to_string(),
                    });
                    continue;
                }
            };
            let Some(bucket) = routes.buckets.get(route.bucket) else {
                continue;
            };
            let Some(o) = self.open.get_mut(bucket.key.as_str()) else {
                continue;
            };
            self.use_stamp += 1;
            o.used = self.use_stamp;
            if let Err(err) = o.writer.append(e, route.ts.unwrap_or(now_ms), now) {
                refused.push(Refused {
                    index,
                    reason: format!("cannot be encoded: {err}"),
                });
                continue;
            }
            if !touched.contains(&bucket.key) {
                touched.push(bucket.key.clone());
            }
        }
        let keep = self.cfg.max_buffer_bytes / self.open.len().max(1);
        for key in &touched {
            if let Some(o) = self.open.get_mut(key) {
                if let Err(e) = o.writer.stage(keep) {
                    // Not seen on a local file; the next trip cuts back before writing.
                    self.rewind_due = true;
                    let p = o.writer.in_use_path().to_owned();
                    return Some(Err(io_err("staging a batch in", &p)(e)));
                }
            }
        }
        if let Err(e) = self.stage_sync(&touched) {
            self.rewind_due = true;
            return Some(Err(e));
        }
        self.delivered = Some(self.snapshot());
        self.note_batch();
        self.created.clear();
        self.buffered.set(self.buffered_bytes());
        Some(Ok(refused))
    }

    /// Whether the writer may stage at all now: batches share syncs on a plain local path,
    /// nothing waits to be cut back, closed or rolled, and no handed serializer is in use.
    fn can_stage(&self, now: Instant) -> bool {
        let Some(shared) = self.shared.as_ref() else {
            return false;
        };
        self.store.stages_batches()
            && !self.rewind_due
            && self.handed.is_none()
            && self.delivered.is_some()
            && self.closing.is_empty()
            && !shared.failing()
            && !self.open.values().any(|o| self.roll_due(&o.writer, now))
    }

    /// Whether `routes` sends every event to an open file that no roll by count or size
    /// closes within the batch, and the batch fits in `hdfs.maxBufferBytes`.
    fn takes_without_io(&self, events: &[Event], routes: &Routes) -> bool {
        // Per bucket: its events and body bytes in this batch.
        let mut adds = vec![(0u64, 0u64); routes.buckets.len()];
        let mut need = 0usize;
        for (e, r) in events.iter().zip(&routes.events) {
            if let Some(add) = r.as_ref().ok().and_then(|r| adds.get_mut(r.bucket)) {
                add.0 += 1;
                add.1 += e.body.len() as u64;
                need = need.saturating_add(event_bytes_max(e));
            }
        }
        let rolls_or_opens = routes
            .buckets
            .iter()
            .zip(&adds)
            .any(|(bucket, (n, bytes))| {
                *n > 0
                    && self.open.get(bucket.key.as_str()).is_none_or(|o| {
                        let w = &o.writer;
                        self.cfg.roll_count.is_some_and(|c| w.events + n >= c)
                            || self
                                .cfg
                                .roll_size
                                .is_some_and(|s| w.body_bytes + bytes >= s)
                    })
            });
        !rolls_or_opens && self.buffered_bytes().saturating_add(need) <= self.cfg.max_buffer_bytes
    }

    /// Writes every open file's staged bytes (no sync): each trip to the blocking pool does
    /// this first, so what it does to a file (a roll, a close, a cut back) sees every byte
    /// delivered. A failed write fails the sync group, as a failed fdatasync does: no staged
    /// batch is called durable, and the output is cut back before anything else is written.
    pub fn write_staged(&mut self) {
        let mut failed = None;
        for o in self.open.values_mut() {
            if let Err(e) = o.writer.write_staged() {
                failed.get_or_insert((o.writer.in_use_path().to_owned(), e));
            }
        }
        if let Some((path, e)) = failed {
            tracing::warn!(path = %path.display(), error = %e, "writing staged batches failed; they are written again after a cut back");
            if let Some(shared) = self.shared.as_ref() {
                shared.fail();
            }
        }
    }
}
