//! The `hdfs` sink's file work on a blocking thread: each call runs as one job on the sink's
//! [`HdfsWriter`] (the first one recovers in-use files, after cutting back to the committed
//! cursor), against its [`Store`] (local, HDFS or S3, connected once and kept across writers),
//! bounded by `hdfs.callTimeout`; a job that times out keeps running and the next call
//! waits for it first.

use std::sync::Arc;

use tokio::task::JoinHandle;

use super::super::bridge::Bridge;
use super::super::store::hdfs as remote;
use super::super::store::hdfs::HdfsStore;
use super::super::store::local::LocalStore;
use super::super::store::s3::S3Store;
use super::super::store::Store;
use super::super::writer::{HdfsError, HdfsWriter};
use super::super::{path, recover};
use super::now_ms;
use super::RollingSink;
use crate::agent::sink::{SinkError, SinkErrorKind};

type Job<T> = JoinHandle<(Box<HdfsWriter>, Result<T, HdfsError>)>;
/// A call that timed out and still runs (the next call waits for it): its writer, or `None`
/// if its thread failed.
pub(super) type Running = JoinHandle<Option<Box<HdfsWriter>>>;

/// How many HDFS calls' deadlines one job of a remote sink may take in all, beyond the wait
/// for a lease recovery, before the sink stops waiting for it (each call has its own
/// `hdfs.callTimeout`; this only bounds a job that makes many).
pub const REMOTE_JOB_CALLS_MAX: u32 = 8;

impl RollingSink {
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

    /// The sink's one bridge to the runtime it runs on (its remote store's calls and its
    /// handed serializer's steps), made with the first call.
    fn bridge(&mut self) -> Bridge {
        self.bridge
            .get_or_insert_with(|| Bridge::new(tokio::runtime::Handle::current()))
            .clone()
    }

    fn store(&mut self) -> Result<Arc<dyn Store>, SinkError> {
        let bridge = self.bridge();
        if let Some(c) = &self.cfg.s3 {
            if let Some(s) = &self.s3 {
                return Ok(s.clone());
            }
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
                    bridge,
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
        let s = Arc::new(
            HdfsStore::connect(r, self.cfg.call_timeout, bridge)
                .map_err(|e| self.err(SinkErrorKind::Config, e))?,
        );
        self.remote = Some(s.clone());
        Ok(s)
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
        if self.start_serializer.is_some() {
            let bridge = self.bridge();
            if let Some(start) = &self.start_serializer {
                let ser = self.serializer.get_or_insert_with(|| start.start());
                w.set_serializer(ser.clone(), bridge);
            }
        }
        Ok(Box::new(w))
    }

    pub(super) async fn run<T, F>(&mut self, f: F) -> Result<T, SinkError>
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
}
