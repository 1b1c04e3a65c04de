//! The `hdfs` sink on a local or mounted file system: Flume's bucketing (`hdfs.path` escapes),
//! rolling, in-use naming and file types, with a stronger contract than Flume's: a batch is
//! written, flushed and fsynced (the file, and its directory for a new file or a rename)
//! before `deliver` returns `Ok`, so the runner commits the take only for durable bytes.
//! In-use files left by a crash are recovered when the sink starts. `hdfs.maxOpenFiles` is
//! kept below the process's open-file limit ([`open_files`]).
//!
//! Header values in `hdfs.path` and `hdfs.filePrefix` are confined to their path component
//! ([`confine`]); an event that can never be written (no usable timestamp, a header-made name
//! too long for any file system) is left out of its batch before anything is written and
//! reported as a poison event ([`super::poison`]), so the rest of the batch is written once.
//!
//! The file work runs on a blocking thread ([`writer::HdfsWriter`], synchronous) through a
//! [`store::Store`]: the `io::Fs` seam for a local path ([`local_store::LocalStore`]), or a real HDFS
//! cluster for an `hdfs://` path ([`remote::HdfsStore`], each HDFS call bounded by
//! `hdfs.callTimeout`). A local call is bounded by `hdfs.callTimeout` as a whole. A call that
//! times out keeps running; the next call waits for it first (never two at once on the same
//! files). The unwritten bytes of all open buckets share one budget, `hdfs.maxBufferBytes`
//! ([`budget`]), published as the `BufferedBytes` gauge.

pub mod bucket;
pub mod budget;
pub mod codec;
pub mod config;
pub mod confine;
pub mod error;
pub mod format;
pub mod group_sync;
pub mod keys;
pub mod local_store;
pub mod open_files;
pub mod path;
pub mod recover;
pub mod remote;
pub mod resume;
pub mod route;
pub mod s3;
pub mod store;
pub mod writer;

use crate::agent::java::serializer::JavaSerializer;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio::task::JoinHandle;

use local_store::LocalStore;
use remote::HdfsStore;
use s3::staging::StagedGauge;
use s3::S3Store;
use store::Store;

use super::contract::BoxError;
use super::{Poisoned, SinkError, SinkErrorKind};
use crate::agent::metrics::CounterGroup;
use crate::agent::stop::Stop;
pub use config::HdfsConfig;
use sluice_core::io::{Fs, StdFs};
use sluice_core::Event;
use writer::{HdfsError, HdfsWriter};

type Job<T> = JoinHandle<(Box<HdfsWriter>, Result<T, HdfsError>)>;
/// A call that timed out and still runs (the next call waits for it): its writer, or `None`
/// if its thread failed.
type Running = JoinHandle<Option<Box<HdfsWriter>>>;

/// The `hdfs` sink.
#[derive(Debug)]
pub struct HdfsSink {
    name: String,
    cfg: HdfsConfig,
    fs: Arc<dyn Fs>,
    writer: Option<Box<HdfsWriter>>,
    running: Option<Running>,
    started: bool,
    poisoned: Vec<Poisoned>,
    /// The HDFS client of an `hdfs://` sink, kept across writers.
    remote: Option<Arc<HdfsStore>>,
    /// The S3 client of an `s3a://` sink, kept across writers.
    s3: Option<Arc<S3Store>>,
    /// The staged bytes of an S3 sink (`hdfs.maxStagedBytes`), kept across writers.
    staged: Arc<StagedGauge>,
    /// Failed calls in a row (a line is logged when they end).
    failures: u32,
    /// The unwritten bytes of the open buckets (`hdfs.maxBufferBytes`), kept across writers.
    buffered: Arc<budget::BufferGauge>,
    /// The last committed take's cursor, until start-up recovery has cut back to it.
    resume: Option<resume::Resume>,
    /// The last delivered batch's shared sync, for the runner ([`group_sync`]).
    acks: Option<crate::agent::sink::Acks>,
    /// The user's Java serializer (started with the first writer), kept across writers.
    java: Option<Arc<JavaSerializer>>,
}

/// Clamps `cfg.max_open_files` to the open-file limit in force ([`open_files`]).
fn clamp_to_nofile(name: &str, cfg: &mut HdfsConfig) {
    let limit = match crate::agent::rlimit::nofile_soft_limit() {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(sink = %name, error = %e, "cannot read the open-file limit; {} is not checked against it", cfg.keys.of("hdfs.maxOpenFiles"));
            return;
        }
    };
    if let Some(clamped) = open_files::clamp_max_open_files(cfg.max_open_files, limit) {
        let key = cfg.keys.of("hdfs.maxOpenFiles");
        tracing::warn!(
            sink = %name,
            "{key} {} is above the open-file limit {limit} less {} descriptors kept for the rest of the agent; keeping at most {clamped} files open (raise the limit with ulimit -n, or lower {key})",
            cfg.max_open_files,
            open_files::FD_HEADROOM,
        );
        cfg.max_open_files = clamped;
    }
}

/// The longest an S3 sink's stop waits for its queued uploads (within the runner's stop
/// grace, `RUNNER_STOP_GRACE`); what is not uploaded by then stays staged for the next start.
pub const STOP_UPLOAD_WAIT_MAX: std::time::Duration = std::time::Duration::from_secs(2);

/// How many HDFS calls' deadlines one job of a remote sink may take in all, beyond the wait
/// for a lease recovery, before the sink stops waiting for it (each call has its own
/// `hdfs.callTimeout`; this only bounds a job that makes many).
pub const REMOTE_JOB_CALLS_MAX: u32 = 8;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl HdfsSink {
    /// A sink on the real file system. On a local path, `hdfs.maxOpenFiles` is clamped to
    /// the process's open-file limit less [`open_files::FD_HEADROOM`], with a WARN.
    pub fn new(name: &str, mut cfg: HdfsConfig) -> HdfsSink {
        if cfg.remote.is_none() {
            clamp_to_nofile(name, &mut cfg);
        }
        HdfsSink::with_fs(name, cfg, Arc::new(StdFs))
    }

    /// A sink on the given file system (tests use `SimFs`).
    pub fn with_fs(name: &str, cfg: HdfsConfig, fs: Arc<dyn Fs>) -> HdfsSink {
        let (max_staged, staging) = cfg.s3.as_ref().map_or((u64::MAX, Default::default()), |s| {
            (s.max_staged_bytes, s.staging_dir.clone())
        });
        let staged = StagedGauge::new(max_staged, &staging, cfg.keys.of("hdfs.maxStagedBytes"));
        HdfsSink {
            name: name.to_owned(),
            cfg,
            fs,
            writer: None,
            running: None,
            started: false,
            poisoned: Vec::new(),
            remote: None,
            s3: None,
            staged: Arc::new(staged),
            failures: 0,
            buffered: Arc::default(),
            resume: None,
            acks: None,
            java: None,
        }
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
        let staged = self.cfg.s3.is_some().then(|| self.staged.clone());
        counters.set_gauges(Box::new(move || {
            let mut g = vec![
                ("BufferedBytes", gauge.bytes().to_string()),
                ("BufferedBytesPeak", gauge.peak_bytes().to_string()),
            ];
            if let Some(s) = &staged {
                g.push(("StagedBytes", s.bytes().to_string()));
                g.push(("StagingFullRefusals", s.refusals().to_string()));
            }
            g
        }));
    }

    /// The staged bytes of an S3 sink.
    pub fn staged_gauge(&self) -> Arc<StagedGauge> {
        self.staged.clone()
    }

    /// The longest one job may take before the sink stops waiting for it.
    fn job_deadline(&self) -> std::time::Duration {
        match self.cfg.remote {
            None if self.cfg.s3.is_some() => {
                self.cfg.call_timeout.saturating_mul(REMOTE_JOB_CALLS_MAX)
            }
            None => self.cfg.call_timeout,
            Some(_) => {
                self.cfg.call_timeout.saturating_mul(REMOTE_JOB_CALLS_MAX)
                    + remote::recover::LEASE_WAIT_MAX
            }
        }
    }

    fn store(&mut self) -> Result<Arc<dyn Store>, SinkError> {
        if let Some(c) = &self.cfg.s3 {
            if let Some(s) = &self.s3 {
                return Ok(s.clone());
            }
            let handle = tokio::runtime::Handle::current();
            let root = recover::search_root(
                path::PathTemplate::parse(&self.cfg.path)
                    .map(|t| t.literal_prefix().to_owned())
                    .unwrap_or_default()
                    .as_str(),
                false,
            );
            let s = Arc::new(
                S3Store::connect(
                    c,
                    &root.to_string_lossy(),
                    self.fs.clone(),
                    (self.cfg.call_timeout, self.cfg.retry_interval),
                    self.cfg.keys,
                    handle,
                    self.staged.clone(),
                )
                .map_err(|e| self.err(SinkErrorKind::Config, e))?,
            );
            self.s3 = Some(s.clone());
            return Ok(s);
        }
        let Some(r) = &self.cfg.remote else {
            return Ok(Arc::new(LocalStore::new(self.fs.clone())));
        };
        if let Some(s) = &self.remote {
            return Ok(s.clone());
        }
        let handle = tokio::runtime::Handle::current();
        let s = Arc::new(
            HdfsStore::connect(r, self.cfg.call_timeout, handle)
                .map_err(|e| self.err(SinkErrorKind::Config, e))?,
        );
        self.remote = Some(s.clone());
        Ok(s)
    }

    fn err(&self, kind: SinkErrorKind, e: impl Into<BoxError>) -> SinkError {
        SinkError::new(self.name.clone(), kind, e)
    }

    async fn writer(&mut self) -> Result<Box<HdfsWriter>, SinkError> {
        if let Some(job) = self.running.take() {
            let mut job = job;
            match tokio::time::timeout(self.job_deadline(), &mut job).await {
                Ok(Ok(Some(w))) => self.writer = Some(w),
                Ok(_) => {
                    // The writer is gone with the thread; a new one recovers its files.
                    self.started = false;
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
        let mut w = HdfsWriter::on_store(self.cfg.clone(), store, host, now_ms().max(0) as u64)
            .map_err(|e| self.err(SinkErrorKind::Store, e))?;
        w.set_buffer_gauge(self.buffered.clone());
        if let Some(spec) = &self.cfg.java_serializer {
            let name = &self.name;
            let ser = self
                .java
                .get_or_insert_with(|| Arc::new(JavaSerializer::start(name, spec)));
            w.set_java(ser.clone());
        }
        Ok(Box::new(w))
    }

    async fn run<T, F>(&mut self, f: F) -> Result<T, SinkError>
    where
        T: Send + 'static,
        F: FnOnce(&mut HdfsWriter) -> Result<T, HdfsError> + Send + 'static,
    {
        let mut w = self.writer().await?;
        let first = !self.started;
        let resume = self.resume.clone().filter(|_| first);
        let job: Job<T> = tokio::task::spawn_blocking(move || {
            if first {
                if let Err(e) = w.recover(resume.as_ref()) {
                    return (w, Err(e));
                }
                w.share_syncs();
            }
            let r = f(&mut w);
            (w, r)
        });
        let mut job = job;
        match tokio::time::timeout(self.job_deadline(), &mut job).await {
            Ok(Ok((w, r))) => {
                self.writer = Some(w);
                if first && r.is_ok() {
                    self.started = true;
                    self.resume = None;
                }
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
            Ok(Err(e)) => {
                self.started = false;
                Err(self.err(SinkErrorKind::Store, format!("file worker failed: {e}")))
            }
            Err(_) => {
                self.running = Some(tokio::spawn(async move { job.await.ok().map(|(w, _)| w) }));
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

    /// Writes a batch and makes it durable. Cancel safety: not cancel safe; a cancelled call
    /// leaves its blocking work running, and the next call waits for it.
    /// Events that can never be written are left out and kept for [`take_poisoned`](Self::take_poisoned).
    pub async fn deliver(&mut self, events: Vec<Event>) -> Result<(), SinkError> {
        self.poisoned.clear();
        let (events, refused, pending) = self
            .run(move |w| {
                let refused = w.write_batch(&events, Instant::now(), now_ms())?;
                Ok((events, refused, w.take_pending_sync()))
            })
            .await?;
        if let Some((group, generation)) = pending {
            let (sink, dir) = (self.name.clone(), self.cfg.path.clone());
            self.acks = Some(crate::agent::sink::Acks(Box::pin(async move {
                tokio::task::spawn_blocking(move || group.sync_through(generation))
                    .await
                    .unwrap_or_else(|e| Err(std::io::Error::other(e)))
                    .map_err(|e| {
                        SinkError::store(
                            sink,
                            format!("syncing the batch's files under {dir}: {e}"),
                        )
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
            Err(e) if (self.cfg.remote.is_some() || self.cfg.s3.is_some()) && self.failures > 1 => {
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
}

impl crate::agent::sink::Sink for HdfsSink {
    fn take_acks(&mut self) -> Option<crate::agent::sink::Acks> {
        self.acks.take()
    }

    /// With shared syncs (a local path, `hdfs.fsyncPerBatch`), as many takes open as
    /// file_roll keeps, so one sync covers several batches.
    fn pipeline_depth(&self) -> usize {
        if self.cfg.fsync_per_batch && self.cfg.remote.is_none() && self.cfg.s3.is_none() {
            crate::agent::sink::file_roll::GROUP_SYNC_DEPTH
        } else {
            crate::agent::sink::PIPELINE_DEPTH
        }
    }

    fn take_poisoned(&mut self) -> Vec<crate::agent::sink::Poisoned> {
        HdfsSink::take_poisoned(self)
    }

    fn attach(&mut self, counters: Arc<CounterGroup>, _stop: Stop) {
        HdfsSink::attach(self, counters);
    }

    fn deliver(
        &mut self,
        events: Vec<Event>,
    ) -> crate::agent::channel::BoxFuture<'_, Result<crate::agent::sink::Delivery, SinkError>> {
        Box::pin(async move {
            HdfsSink::deliver(self, events)
                .await
                .map(|()| crate::agent::sink::Delivery::Done)
        })
    }

    fn tick(&mut self) -> crate::agent::channel::BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(HdfsSink::tick(self))
    }

    fn cursor(&mut self) -> Option<Vec<u8>> {
        self.writer.as_ref()?.cursor()
    }

    fn restore(
        &mut self,
        cursor: Vec<u8>,
    ) -> crate::agent::channel::BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async move {
            match resume::decode(&cursor) {
                Some(r) => {
                    self.resume = Some(r);
                    Ok(())
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

impl crate::agent::sink::BuildSink for HdfsConfig {
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn batch_key(&self) -> &'static str {
        "hdfs.batchSize"
    }

    fn build(&self, name: &str) -> Box<dyn crate::agent::sink::Sink> {
        Box::new(HdfsSink::new(name, self.clone()))
    }
}
