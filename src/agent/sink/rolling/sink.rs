//! [`RollingSink`]: the async face of the rolling-file engine, shared by `type = hdfs` and
//! `type = s3`. It owns a [`RollingWriter`] (synchronous, run on a blocking thread by [`job`])
//! and the store's client kept across writers, and hands the runner the batch's group-sync
//! acknowledgement ([`super::group_sync`]), the exactly-once cursor ([`super::resume`]) and
//! the poison events ([`crate::agent::sink::poison`]).
//!
//! How a batch travels, take to commit: `deliver` runs one job on a blocking thread (`job`)
//! that routes, encodes and appends it to its buckets' files (a handed serializer's `Async`
//! answers and each HDFS or S3 request waited on inside it, on the one [`super::bridge`]); on
//! HDFS the job also hsyncs, so the take commits after that one trip. On a local path with
//! `hdfs.fsyncPerBatch` a batch that opens, rolls and closes no file makes no trip at
//! `deliver`: it is routed, encoded and staged in its files' memory on the sink's task
//! (`RollingWriter::stage_batch`), and its acknowledgement's one trip writes every batch
//! staged meanwhile and fdatasyncs each file once ([`super::group_sync`]); an acknowledgement
//! an earlier trip covered makes none. Other batches go to the job, which only writes. S3 writes the
//! batch to local staging files in the same one trip (fdatasynced there); uploads run at roll,
//! off the take's path. The flat writer (`file_roll`) makes one trip per group of batches
//! instead ([`super::flat`]).

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::budget;
use super::config::RollingConfig;
use super::group_sync::GROUP_SYNC_DEPTH;
use super::open_files;
use super::resume;
use super::serializer::{StartSerializer, StreamSerializer};
use super::store::{Store, Target};
use super::writer::RollingWriter;
use crate::agent::metrics::CounterGroup;
use crate::agent::sink::contract::BoxError;
use crate::agent::sink::output_down::OutputDown;
use crate::agent::sink::{Poisoned, SinkError, SinkErrorKind};
use crate::agent::stop::Stop;
use sluice_core::io::{Fs, StdFs};
use sluice_core::Event;

mod job;
#[cfg(test)]
mod timeout_tests;

pub use super::store::target::REMOTE_JOB_CALLS_MAX;
use job::Running;

/// The rolling-file sink (`type = hdfs` and `type = s3`).
#[derive(Debug)]
pub struct RollingSink {
    name: String,
    cfg: RollingConfig,
    fs: Arc<dyn Fs>,
    writer: Option<Box<RollingWriter>>,
    running: Option<Running>,
    poisoned: Vec<Poisoned>,
    /// Which store `hdfs.path` names, and what the driver asks of it.
    target: Target,
    /// The store (connected with the first call), kept across writers.
    store: Option<Arc<dyn Store>>,
    /// Failed calls in a row (a line is logged when they end).
    failures: u32,
    /// The unwritten bytes of the open buckets (`hdfs.maxBufferBytes`), kept across writers.
    buffered: Arc<budget::BufferGauge>,
    /// The last committed take's cursor, until start-up recovery has cut back to it.
    resume: Option<resume::Resume>,
    /// The last delivered batch's shared sync, for the runner ([`group_sync`]).
    acks: Option<crate::agent::sink::Acks>,
    /// Starts the serializer the sink was handed (`serializer` naming a class).
    start_serializer: Option<StartSerializer>,
    /// That serializer (started with the first writer), kept across writers.
    serializer: Option<Arc<dyn StreamSerializer>>,
    /// The bridge to the agent's runtime (`job`), made with the first call.
    bridge: Option<super::bridge::Bridge>,
    /// Whether a local output (`hdfs.path` on a local path, an S3 sink's staging directory)
    /// can be written (`OutputDownMillis`, read by `/health`).
    output: OutputDown,
}

/// The longest an S3 sink's stop waits for its queued uploads (within the runner's stop
/// grace, `RUNNER_STOP_GRACE`); what is not uploaded by then stays staged for the next start.
pub const STOP_UPLOAD_WAIT_MAX: std::time::Duration = std::time::Duration::from_secs(2);

pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl RollingSink {
    /// A sink on the real file system. On a local path, `hdfs.maxOpenFiles` is clamped to
    /// the process's open-file limit less [`open_files::FD_HEADROOM`], with a WARN.
    pub fn new(name: &str, mut cfg: RollingConfig) -> RollingSink {
        if Target::of(&cfg).holds_descriptors() {
            open_files::clamp_to_nofile(name, &mut cfg);
        }
        RollingSink::with_fs(name, cfg, Arc::new(StdFs))
    }

    /// A sink on the given file system (tests use `SimFs`).
    pub fn with_fs(name: &str, cfg: RollingConfig, fs: Arc<dyn Fs>) -> RollingSink {
        RollingSink {
            target: Target::of(&cfg),
            store: None,
            name: name.to_owned(),
            cfg,
            fs,
            writer: None,
            running: None,
            poisoned: Vec::new(),
            failures: 0,
            buffered: Arc::default(),
            resume: None,
            acks: None,
            start_serializer: None,
            serializer: None,
            bridge: None,
            output: OutputDown::default(),
        }
    }

    /// Writes DataStream files through the serializer `start` starts (with the first file):
    /// `serializer` naming a class, hosted outside the engine ([`super::serializer`]).
    pub fn with_serializer(mut self, start: StartSerializer) -> RollingSink {
        self.start_serializer = Some(start);
        self
    }

    /// The unwritten bytes of the open buckets, now and at most since start.
    pub fn buffer_gauge(&self) -> Arc<budget::BufferGauge> {
        self.buffered.clone()
    }

    /// Publishes `BufferedBytes` and `BufferedBytesPeak` with the sink's counters.
    /// With S3 also `StagedBytes` and `StagingFullRefusals` (batches refused for want of
    /// staging space, `hdfs.maxStagedBytes`).
    pub fn attach(&mut self, counters: Arc<CounterGroup>) {
        let gauge = self.buffered.clone();
        let store_gauges = self.target.gauges();
        let output = self.output.clone();
        counters.set_gauges(Box::new(move || {
            let mut g = vec![
                ("BufferedBytes", gauge.bytes().to_string()),
                ("BufferedBytesPeak", gauge.peak_bytes().to_string()),
            ];
            g.extend(output.gauges());
            g.extend(store_gauges());
            g
        }));
    }

    fn err(&self, kind: SinkErrorKind, e: impl Into<BoxError>) -> SinkError {
        SinkError::new(self.name.clone(), kind, e)
    }

    /// Writes a batch and makes it durable. Cancel safety: not cancel safe; a cancelled call
    /// leaves its blocking work running, and the next call waits for it.
    /// Events that can never be written are left out and kept for [`take_poisoned`](Self::take_poisoned).
    pub async fn deliver(&mut self, events: Vec<Event>) -> Result<(), SinkError> {
        self.poisoned.clear();
        let written = match self.stage(&events) {
            Some(staged) => staged.map(|(refused, pending)| (events, refused, pending)),
            None => {
                self.run(move |w| {
                    let refused = w.write_batch(&events, Instant::now(), now_ms())?;
                    Ok((events, refused, w.take_pending_sync()))
                })
                .await
            }
        };
        let (events, refused, pending) = written.inspect_err(|e| self.output_failed(e))?;
        self.output.up();
        if let Some((group, generation)) = pending {
            let (sink, dir) = (self.name.clone(), self.cfg.path.clone());
            self.acks = Some(crate::agent::sink::Acks(Box::pin(async move {
                group.sync_async(generation).await.map_err(|e| {
                    SinkError::store(sink, format!("syncing the batch's files under {dir}: {e}"))
                })
            })));
        }
        let mut events: Vec<Option<Event>> = events.into_iter().map(Some).collect();
        for r in refused {
            if let Some(event) = events.get_mut(r.index).and_then(Option::take) {
                self.poisoned.push(Poisoned {
                    event,
                    reason: r.reason,
                });
            }
        }
        crate::agent::failpoint::hold(crate::agent::failpoint::HDFS_SINK_DELIVERED).await;
        Ok(())
    }

    /// Marks a local output down after a failed batch, naming the key of the directory that
    /// could not be written: `hdfs.path` on a local path, the staging directory of an S3 sink
    /// (whose batches go only there). A remote HDFS shows its own failures.
    fn output_failed(&self, e: &SinkError) {
        let Some(key) = self.target.down_key(&self.cfg) else {
            return;
        };
        self.output.down(&format!("{e} (check {key})"));
    }

    /// The events the last `deliver` left out as poison.
    pub fn take_poisoned(&mut self) -> Vec<Poisoned> {
        std::mem::take(&mut self.poisoned)
    }

    /// Rolls files whose interval or idle time passed (the first call recovers in-use files).
    /// On HDFS, a failure while earlier calls are still failing (the cluster is down) is
    /// logged at debug only: the line that named the NameNode, the path and the reason was
    /// logged at the first failure, and the runner logs every failed delivery.
    pub async fn tick(&mut self) -> Result<(), SinkError> {
        match self.run(|w| w.tick(Instant::now())).await {
            Err(e) if self.target.is_remote() && self.failures > 1 => {
                tracing::debug!(sink = %self.name, error = %e, "periodic work still failing");
                Ok(())
            }
            r => r,
        }
    }

    /// Closes every open file and waits up to [`STOP_UPLOAD_WAIT_MAX`] (at most
    /// `hdfs.callTimeout`) for an S3 sink's queued uploads; the rest stays staged.
    pub async fn close(&mut self) {
        if self.writer.is_none() && self.running.is_none() {
            return;
        }
        let limit = self.cfg.call_timeout.min(STOP_UPLOAD_WAIT_MAX);
        if let Err(e) = self.run(move |w| w.stop(Instant::now(), limit)).await {
            tracing::warn!(sink = %self.name, error = %e, "closing files failed; they are recovered at the next start");
        }
    }

    /// Recovers in-use files now (normally done by the first call).
    pub async fn start(&mut self) -> Result<(), SinkError> {
        self.run(|_| Ok(())).await
    }

    /// The output's cursor before any batch (the runner commits it when the channel holds
    /// none): files recovered, none open, the last file number seen. `None` when the store
    /// cannot be cut back.
    pub async fn baseline(&mut self) -> Result<Option<Vec<u8>>, SinkError> {
        self.start().await.inspect_err(|e| self.output_failed(e))?;
        self.output.up();
        Ok(self.writer.as_ref().and_then(|w| w.cursor()))
    }
}

impl crate::agent::sink::Sink for RollingSink {
    fn take_acks(&mut self) -> Option<crate::agent::sink::Acks> {
        self.acks.take()
    }

    /// With shared syncs (a local path, `hdfs.fsyncPerBatch`), as many takes open as
    /// file_roll keeps, so one sync covers several batches.
    fn pipeline_depth(&self) -> usize {
        if self.cfg.fsync_per_batch && self.target.shares_syncs() {
            GROUP_SYNC_DEPTH
        } else {
            crate::agent::sink::PIPELINE_DEPTH
        }
    }

    fn take_poisoned(&mut self) -> Vec<crate::agent::sink::Poisoned> {
        RollingSink::take_poisoned(self)
    }

    fn attach(&mut self, counters: Arc<CounterGroup>, _stop: Stop) {
        RollingSink::attach(self, counters);
    }

    fn deliver(
        &mut self,
        events: Vec<Event>,
    ) -> crate::agent::channel::BoxFuture<'_, Result<crate::agent::sink::Delivery, SinkError>> {
        Box::pin(async move {
            RollingSink::deliver(self, events)
                .await
                .map(|()| crate::agent::sink::Delivery::Done)
        })
    }

    fn tick(&mut self) -> crate::agent::channel::BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(RollingSink::tick(self))
    }

    fn cursor(&mut self) -> Option<Vec<u8>> {
        self.writer.as_ref()?.cursor()
    }

    fn baseline(
        &mut self,
    ) -> crate::agent::channel::BoxFuture<'_, Result<Option<Vec<u8>>, SinkError>> {
        Box::pin(RollingSink::baseline(self))
    }

    fn restore(
        &mut self,
        cursor: Vec<u8>,
    ) -> crate::agent::channel::BoxFuture<'_, Result<bool, SinkError>> {
        Box::pin(async move {
            match resume::decode(&cursor) {
                Some(r) => {
                    self.resume = Some(r);
                    Ok(true)
                }
                None => Err(self.err(
                    SinkErrorKind::Store,
                    "the committed cursor is not one this sink wrote",
                )),
            }
        })
    }

    fn stop(&mut self) -> crate::agent::channel::BoxFuture<'_, ()> {
        Box::pin(self.close())
    }
}
