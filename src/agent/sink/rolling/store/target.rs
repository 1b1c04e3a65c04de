//! [`Target`]: which store a sink's `hdfs.path` names (a local or mounted directory, an
//! `hdfs://` cluster, an `s3a://` bucket), connected as one `Arc<dyn Store>`, and what the
//! driver (`super::super::sink`) must know of it before or besides its calls: how long one
//! job may take, whether its open files hold the process's descriptors, whether batches may
//! share a sync, which key to name when the output is down, and the staging gauge. With the
//! stores' own folders, this is the only code that tells the stores apart.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::hdfs::{ClientSetupError, HdfsStore};
use super::parquet::ParquetStore;
use super::s3::staging::StagedGauge;
use super::s3::{S3Store, SetupError};
use super::Store;
use crate::agent::sink::rolling::bridge::Bridge;
use crate::agent::sink::rolling::config::RollingConfig;
use crate::agent::sink::rolling::path::PathTemplate;
use crate::agent::sink::rolling::recover::search_root;
use sluice_core::io::Fs;

/// How many HDFS calls' deadlines one job of a remote sink may take in all, beyond the wait
/// for a lease recovery, before the sink stops waiting for it (each call has its own
/// `hdfs.callTimeout`; this only bounds a job that makes many).
pub const REMOTE_JOB_CALLS_MAX: u32 = 8;

/// Why a sink's store cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The HDFS client.
    #[error(transparent)]
    Hdfs(#[from] ClientSetupError),
    /// The S3 client or its staging directory.
    #[error(transparent)]
    S3(#[from] SetupError),
}

/// The store a sink's configuration names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Local,
    Hdfs,
    S3,
}

/// Where a sink's files go, and what the driver asks of it.
#[derive(Debug)]
pub struct Target {
    kind: Kind,
    /// An S3 sink's staged bytes (`hdfs.maxStagedBytes`), kept across its stores.
    staged: Arc<StagedGauge>,
}

impl Target {
    /// The store `cfg` names.
    pub fn of(cfg: &RollingConfig) -> Target {
        let kind = match (&cfg.remote, &cfg.s3) {
            (_, Some(_)) => Kind::S3,
            (Some(_), None) => Kind::Hdfs,
            (None, None) => Kind::Local,
        };
        let (max_staged, staging) = cfg.s3.as_ref().map_or((u64::MAX, PathBuf::new()), |s| {
            (s.max_staged_bytes, s.staging_dir.clone())
        });
        let staged = StagedGauge::new(max_staged, &staging, cfg.keys.of("hdfs.maxStagedBytes"));
        Target {
            kind,
            staged: Arc::new(staged),
        }
    }

    /// The store, on `fs` (local files, an S3 sink's staging) and the runtime behind
    /// `bridge` (HDFS and S3 calls). The remote stores connect lazily: an unreachable one
    /// fails its first call, not this.
    pub fn connect(
        &self,
        cfg: &RollingConfig,
        fs: Arc<dyn Fs>,
        bridge: Bridge,
    ) -> Result<Arc<dyn Store>, ConnectError> {
        let local_fs = fs.clone();
        let store: Arc<dyn Store> = match (&cfg.remote, &cfg.s3) {
            (_, Some(c)) => {
                let root = search_root(
                    PathTemplate::parse(&cfg.path)
                        .map(|t| t.literal_prefix().to_owned())
                        .unwrap_or_default()
                        .as_str(),
                    false,
                );
                Arc::new(S3Store::connect(
                    c,
                    &root.to_string_lossy(),
                    fs,
                    (cfg.call_timeout, cfg.retry_interval),
                    cfg.keys,
                    bridge,
                    self.staged.clone(),
                )?)
            }
            (Some(r), None) => Arc::new(HdfsStore::connect(r, cfg.call_timeout, bridge)?),
            (None, None) => super::on_fs(fs),
        };
        // `serializer = parquet`: rows staged locally, each file handed over whole at roll.
        Ok(match &cfg.parquet {
            Some(p) => Arc::new(ParquetStore::new(
                store,
                local_fs,
                p.staging_dir.clone(),
                p.spec.clone(),
                (cfg.in_use_prefix.clone(), cfg.in_use_suffix.clone()),
            )),
            None => store,
        })
    }

    /// The longest one job of the sink may take: one call's `hdfs.callTimeout` on a local
    /// path; on a remote store [`REMOTE_JOB_CALLS_MAX`] of them (and, on HDFS, the wait for
    /// a lease recovery).
    pub fn job_deadline(&self, call_timeout: Duration) -> Duration {
        match self.kind {
            Kind::Local => call_timeout,
            Kind::S3 => call_timeout.saturating_mul(REMOTE_JOB_CALLS_MAX),
            Kind::Hdfs => {
                call_timeout.saturating_mul(REMOTE_JOB_CALLS_MAX)
                    + super::hdfs::recover::LEASE_WAIT_MAX
            }
        }
    }

    /// Whether each open file holds one of the process's descriptors (a local path):
    /// `hdfs.maxOpenFiles` is then kept below the open-file limit.
    pub fn holds_descriptors(&self) -> bool {
        self.kind == Kind::Local
    }

    /// Whether batches may share one sync ([`super::Store::shares_syncs`]), known before the
    /// store is connected (for the runner's pipeline depth).
    pub fn shares_syncs(&self) -> bool {
        self.kind == Kind::Local
    }

    /// Whether the store is reached over the network: while it is down, repeated failures
    /// of the periodic work are logged at debug only (the first one named it).
    pub fn is_remote(&self) -> bool {
        self.kind != Kind::Local
    }

    /// The key and directory to check when a batch cannot be written to the local output
    /// (`hdfs.path` on a local path, an S3 sink's staging directory, where its batches go);
    /// `None` for HDFS, whose failures name the NameNode themselves.
    pub fn down_key(&self, cfg: &RollingConfig) -> Option<String> {
        match (self.kind, &cfg.s3) {
            (Kind::S3, Some(s3)) => Some(format!(
                "{} {}",
                cfg.keys.of("hdfs.s3StagingDir"),
                s3.staging_dir.display()
            )),
            (Kind::Local, _) => Some(format!("{} {}", cfg.keys.of("hdfs.path"), cfg.path)),
            _ => None,
        }
    }

    /// The store's own gauges (an S3 sink's `StagedBytes` and `StagingFullRefusals`), read
    /// each time the sink's counters are.
    pub fn gauges(&self) -> impl Fn() -> Vec<(&'static str, String)> + Send + Sync + 'static {
        let staged = (self.kind == Kind::S3).then(|| self.staged.clone());
        move || match &staged {
            Some(s) => vec![
                ("StagedBytes", s.bytes().to_string()),
                ("StagingFullRefusals", s.refusals().to_string()),
            ],
            None => Vec::new(),
        }
    }

    /// An S3 sink's staged bytes (`hdfs.maxStagedBytes`), shared by its stores.
    pub fn staged_gauge(&self) -> Arc<StagedGauge> {
        self.staged.clone()
    }
}
