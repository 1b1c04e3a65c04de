//! The `hdfs` sink's file work on a blocking thread: each call runs as one job on the sink's
//! [`RollingWriter`] (the first one recovers in-use files, after cutting back to the committed
//! cursor), against its one [`Store`] (which one, only `store::Target` knows; connected once
//! and kept across writers),
//! bounded by `hdfs.callTimeout`; a job that times out keeps running, the next call waits
//! for it first, and what it wrote is cut back before its writer writes again (its take was
//! rolled back, so the batch comes again).

use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinHandle;

use super::super::bridge::Bridge;
use super::super::group_sync::SyncGroup;
use super::super::path;
use super::super::resume::{Resume, Snapshot};
use super::super::route::Refused;
use super::super::store::Store;
use super::super::writer::{RollingWriter, WriteError};
use super::now_ms;
use super::RollingSink;
use crate::agent::sink::{SinkError, SinkErrorKind};
use sluice_core::Event;

/// A staged batch: its refused events and the sync its acknowledgement awaits.
pub(super) type Staged = (Vec<Refused>, Option<(Arc<SyncGroup>, u64)>);

/// A job's writer, the mark its work started from ([`RollingWriter::mark`]) and its result.
type Job<T> = JoinHandle<(Box<RollingWriter>, Option<Snapshot>, Result<T, WriteError>)>;
/// A call that timed out and still runs (the next call waits for it): its writer, or, if its
/// thread failed, the mark to cut back to ([`RollingSink::writer_lost`]).
pub(super) type Running = JoinHandle<Result<Box<RollingWriter>, Option<Snapshot>>>;

impl RollingSink {
    /// The longest one job may take before the sink stops waiting for it.
    fn job_deadline(&self) -> std::time::Duration {
        self.target.job_deadline(self.cfg.call_timeout)
    }

    /// The sink's one bridge to the runtime it runs on (its remote store's calls and its
    /// handed serializer's steps), made with the first call.
    fn bridge(&mut self) -> Bridge {
        self.bridge
            .get_or_insert_with(|| Bridge::new(tokio::runtime::Handle::current()))
            .clone()
    }

    /// The sink's store, connected with the first call and kept across writers.
    fn store(&mut self) -> Result<Arc<dyn Store>, SinkError> {
        if let Some(s) = &self.store {
            return Ok(s.clone());
        }
        let bridge = self.bridge();
        let s = self
            .target
            .connect(&self.cfg, self.fs.clone(), bridge)
            .map_err(|e| self.err(SinkErrorKind::Config, e))?;
        self.store = Some(s.clone());
        Ok(s)
    }

    async fn writer(&mut self) -> Result<Box<RollingWriter>, SinkError> {
        if let Some(job) = self.running.take() {
            let mut job = job;
            match tokio::time::timeout(self.job_deadline(), &mut job).await {
                Ok(Ok(Ok(w))) => self.writer = Some(w),
                Ok(lost) => {
                    self.writer_lost(lost.ok().and_then(Result::err).flatten());
                    return Err(self.err(SinkErrorKind::Store, "file worker failed"));
                }
                Err(_) => {
                    self.running = Some(job);
                    return Err(self.err(
                        SinkErrorKind::Timeout,
                        format!(
                            "the previous file call is still running after {} ms ({})",
                            self.job_deadline().as_millis(),
                            self.cfg.keys.of("hdfs.callTimeout")
                        ),
                    ));
                }
            }
        }
        if let Some(w) = self.writer.take() {
            return Ok(w);
        }
        let host = path::HostNames::detect();
        let store = self.store()?;
        let mut w = RollingWriter::on_store(self.cfg.clone(), store, host, now_ms().max(0) as u64)
            .map_err(|e| self.err(SinkErrorKind::Store, e))?;
        w.set_buffer_gauge(self.buffered.clone());
        if self.start_serializer.is_some() {
            let bridge = self.bridge();
            if let Some(start) = &self.start_serializer {
                let ser = self.serializer.get_or_insert_with(|| start.start());
                w.set_serializer(ser.clone(), bridge);
            }
        }
        Ok(Box::new(w))
    }

    /// A batch staged on the sink's task, when the writer takes it without I/O
    /// ([`RollingWriter::stage_batch`]): its refused events and its pending sync; `None`
    /// when it goes to the blocking pool ([`RollingSink::run`]).
    pub(super) fn stage(&mut self, events: &[Event]) -> Option<Result<Staged, SinkError>> {
        if self.running.is_some() {
            return None;
        }
        let w = self.writer.as_mut().filter(|w| w.recovered())?;
        let staged = w
            .stage_batch(events, Instant::now(), now_ms())?
            .map(|refused| (refused, w.take_pending_sync()));
        Some(self.settled(staged))
    }

    /// A call's result, its failure counted (a line is logged when failures end).
    fn settled<T>(&mut self, r: Result<T, WriteError>) -> Result<T, SinkError> {
        match &r {
            Ok(_) if self.failures > 0 => {
                tracing::info!(sink = %self.name, failed_calls = self.failures, "file work succeeds again");
                self.failures = 0;
            }
            Ok(_) => {}
            Err(_) => self.failures = self.failures.saturating_add(1),
        }
        r.map_err(|e| self.err(SinkErrorKind::Store, e))
    }

    /// The writer is gone with its job's thread (a bug: it panicked). Its take was rolled
    /// back; the next writer cuts the output back to `mark`, the output before that job, as
    /// at start (with none, to the committed cursor `resume` still holds, or not at all).
    fn writer_lost(&mut self, mark: Option<Snapshot>) {
        if let Some(m) = mark {
            self.resume = Some(Resume::At(m));
        }
    }

    pub(super) async fn run<T, F>(&mut self, f: F) -> Result<T, SinkError>
    where
        T: Send + 'static,
        F: FnOnce(&mut RollingWriter) -> Result<T, WriteError> + Send + 'static,
    {
        let mut w = self.writer().await?;
        // A writer recovers its files once, before its first work: a later job on it (after
        // a failed or timed-out first one) must not take its own open files for a crash's.
        let resume = self.resume.clone().filter(|_| !w.recovered());
        // Where to cut back to if the job's thread fails and takes the writer with it (a
        // writer not recovered yet: the committed cursor, kept in `resume`).
        let lost = w.recovered().then(|| w.mark()).flatten();
        let job: Job<T> = tokio::task::spawn_blocking(move || {
            if !w.recovered() {
                if let Err(e) = w.recover(resume.as_ref()) {
                    return (w, None, Err(e));
                }
                w.share_syncs();
            }
            w.write_staged();
            let mark = w.mark();
            let r = f(&mut w);
            (w, mark, r)
        });
        let mut job = job;
        match tokio::time::timeout(self.job_deadline(), &mut job).await {
            Ok(Ok((w, _, r))) => {
                if w.recovered() {
                    self.resume = None;
                }
                self.writer = Some(w);
                self.settled(r)
            }
            Ok(Err(e)) => {
                self.writer_lost(lost);
                Err(self.err(SinkErrorKind::Store, format!("file worker failed: {e}")))
            }
            Err(_) => {
                // Its take is rolled back and its batch comes again: what it wrote is cut
                // away before the writer writes anything else.
                self.running = Some(tokio::spawn(async move {
                    match job.await {
                        Ok((mut w, mark, _)) => {
                            w.give_up_since(mark);
                            Ok(w)
                        }
                        Err(_) => Err(lost),
                    }
                }));
                Err(self.err(
                    SinkErrorKind::Timeout,
                    format!(
                        "file work took longer than {} ms ({})",
                        self.job_deadline().as_millis(),
                        self.cfg.keys.of("hdfs.callTimeout")
                    ),
                ))
            }
        }
    }
}
