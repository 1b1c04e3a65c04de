//! The file channel's typed configuration, parsed from Flume's key names and defaults.
//!
//! Keys stay Flume's at this boundary only (`checkpointDir`, `dataDirs`, `keep-alive`, ...);
//! inside the crate every field carries its unit in its name. This file holds the struct, its
//! defaults and the checks between keys; `config/keys.rs` what each key does.

use std::path::PathBuf;
use std::time::Duration;

use crate::checkpoint::format::{DIRS_MAX, DIR_PATH_BYTES_MAX};
pub use crate::dedup::DedupLimits;
pub use crate::wal::policy::RecoveryPolicy;
pub use crate::wal::writer::DirectIo;
use crate::wal::writer::{LEADERS_DEFAULT, LEADERS_MAX};

pub use keys::{IGNORED_KEYS, KNOWN_KEYS};

/// Flume's default `maxFileSize`: `Integer.MAX_VALUE - 500 MiB`.
pub const MAX_FILE_SIZE_DEFAULT: u64 = 2_147_483_647 - 524_288_000;
/// The largest `maxFileSize` accepted: offsets in event pointers are 32-bit.
pub const MAX_FILE_SIZE_LIMIT: u64 = 2_147_483_647;
/// The smallest `maxFileSize` accepted.
pub const MAX_FILE_SIZE_MIN: u64 = 4096;
/// Flume's default and floor for `minimumRequiredSpace`.
pub const MINIMUM_REQUIRED_SPACE_DEFAULT: u64 = 524_288_000;
/// The floor of `minimumRequiredSpace`.
pub const MINIMUM_REQUIRED_SPACE_FLOOR: u64 = 1 << 20;
/// The floor of `checkpointInterval`, as in Flume.
pub const CHECKPOINT_INTERVAL_MS_FLOOR: u64 = 1000;
/// The longest `keep-alive`, `fsyncInterval` (seconds) and `checkpointInterval` (as ms): one
/// day, so adding them to an `Instant` can never overflow.
pub const DURATION_S_MAX: u64 = 86_400;
/// The largest `capacity` and `transactionCapacity`.
pub const CAPACITY_MAX: u64 = 1_000_000_000;
// A Flume channel's queue is read up to the same bound (`sluice-flume` checks its copy).
/// The largest `minimumRequiredSpace` (1 PiB).
pub const MINIMUM_REQUIRED_SPACE_MAX: u64 = 1 << 50;

/// Default `tailCacheSize`: 256 MiB. A 200 MB file found at once by TAILDIR put the edge's
/// takers about 230 MiB behind its puts: with 64 MiB, 52 % of its takes read the disk and the
/// two W2 agents spent 11 % more CPU per event (docs/performance-findings.md, "Two costs a
/// profile of W2 showed").
pub const TAIL_CACHE_BYTES_DEFAULT: u64 = 256 << 20;
/// The largest `tailCacheSize` (16 GiB).
pub const TAIL_CACHE_BYTES_MAX: u64 = 16 << 30;
/// Default `ackedEndRefreshInterval`, in milliseconds (docs/recovery.md, "Segments cut back").
pub const ACKED_END_REFRESH_MS_DEFAULT: u64 = 1_000;
/// The longest `ackedEndRefreshInterval`, in milliseconds (an hour).
pub const ACKED_END_REFRESH_MS_MAX: u64 = 3_600_000;
/// Default `recycleSegments`: spare files kept per data directory for recycling.
pub const RECYCLE_SEGMENTS_DEFAULT: usize = 2;
/// The largest `recycleSegments`.
pub const RECYCLE_SEGMENTS_MAX: u64 = 64;
/// Default of `dedupExpiry`: seven days.
pub const DEDUP_EXPIRY_S_DEFAULT: u64 = 7 * 86_400;
/// Largest `dedupExpiry`: a year.
pub const DEDUP_EXPIRY_S_MAX: u64 = 366 * 86_400;

/// Typed file-channel configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChannelConfig {
    /// `checkpointDir`.
    pub checkpoint_dir: PathBuf,
    /// `dataDirs`.
    pub data_dirs: Vec<PathBuf>,
    /// `useDualCheckpoints`.
    pub use_dual_checkpoints: bool,
    /// `backupCheckpointDir`.
    pub backup_checkpoint_dir: Option<PathBuf>,
    /// `capacity`: queued plus reserved events.
    pub capacity: u64,
    /// `capacityBytes` (Sluice): the most bytes the channel's files may take under its
    /// directories; a put that would cross it is refused like one at `capacity` (0: no
    /// byte bound, the default; see `config/capacity_bytes.rs`).
    pub capacity_bytes: u64,
    /// `transactionCapacity`: puts or takes per transaction.
    pub transaction_capacity: u64,
    /// `checkpointInterval` in milliseconds.
    pub checkpoint_interval_ms: u64,
    /// `checkpointOnClose`.
    pub checkpoint_on_close: bool,
    /// `maxFileSize`: segment roll threshold in bytes.
    pub max_file_size_bytes: u64,
    /// `minimumRequiredSpace`: free bytes a data dir must keep for puts.
    pub minimum_required_space_bytes: u64,
    /// `keep-alive`: how long a put waits for capacity.
    pub keep_alive: Duration,
    /// `fsyncPerTransaction`.
    pub fsync_per_transaction: bool,
    /// `fsyncInterval` (seconds in the config), used when `fsyncPerTransaction` is false.
    pub fsync_interval: Duration,
    /// `recoveryPolicy`.
    pub recovery_policy: RecoveryPolicy,
    /// `directIo` (Sluice): write segments with `O_DIRECT` (`auto`: where the file system
    /// takes it). Off by default: on the measured machines buffered writes were faster
    /// (docs/performance-findings.md, "Direct I/O").
    pub direct_io: DirectIo,
    /// `tailCacheSize` (Sluice): bytes of the newest committed events (payload plus 256 per
    /// event) kept in memory for takers that keep up, with direct I/O and buffered alike
    /// (0: none; see `channel/event_cache.rs`).
    pub tail_cache_bytes: u64,
    /// `groupCommitLeaders` (Sluice, advanced): group-commit leaders whose write + fdatasync
    /// may overlap per data directory (1: one at a time).
    pub group_commit_leaders: usize,
    /// `recycleSegments` (Sluice): retired segment files kept per data directory as spares
    /// that new segments are written into instead of fresh files (0: unlink them as before),
    /// with direct I/O and through the page cache alike.
    pub recycle_segments: usize,
    /// `ackedEndRefreshInterval` (Sluice, advanced): the longest a group-commit leader leaves
    /// the acknowledged-end record behind while commits come, in milliseconds; bytes
    /// acknowledged since its last refresh are what a cut while stopped can still hide.
    pub acked_end_refresh_ms: u64,
    /// `eventIds` (Sluice): every put carries an event id from its first durable commit on,
    /// and a put whose id this channel committed before is dropped (exactly-once; see
    /// docs/exactly-once.md).
    pub event_ids: bool,
    /// `dedupExpiry` (Sluice, seconds in the key): an origin not seen for this long is
    /// forgotten, after which a resend of its events would be committed again.
    pub dedup_expiry_ms: u64,
    /// `dedupRangesPerOrigin` and `dedupOrigins` (Sluice, advanced): the table's bounds.
    pub dedup_limits: DedupLimits,
    /// `adoptFlumeChannel` (Sluice): when the directories hold an Apache Flume file channel
    /// (or an adoption of one that did not finish), adopt its events in place before opening
    /// (`channel::adopt`); off, such directories are refused with the command to run.
    pub adopt_flume_channel: bool,
    /// `encryption.*` (Flume's keys): every new segment is sealed with `activeKey`
    /// (docs/encryption.md); `None`: segments are written plain.
    pub encryption: Option<Box<EncryptionConfig>>,
}

impl Default for FileChannelConfig {
    fn default() -> Self {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        let base = home.join(".flume").join("file-channel");
        FileChannelConfig {
            checkpoint_dir: base.join("checkpoint"),
            data_dirs: vec![base.join("data")],
            use_dual_checkpoints: false,
            backup_checkpoint_dir: None,
            capacity: 1_000_000,
            capacity_bytes: 0,
            transaction_capacity: 10_000,
            checkpoint_interval_ms: 30_000,
            checkpoint_on_close: true,
            max_file_size_bytes: MAX_FILE_SIZE_DEFAULT,
            minimum_required_space_bytes: MINIMUM_REQUIRED_SPACE_DEFAULT,
            keep_alive: Duration::from_secs(3),
            fsync_per_transaction: true,
            fsync_interval: Duration::from_secs(5),
            recovery_policy: RecoveryPolicy::TolerateTail,
            direct_io: DirectIo::Auto,
            tail_cache_bytes: TAIL_CACHE_BYTES_DEFAULT,
            group_commit_leaders: LEADERS_DEFAULT,
            recycle_segments: RECYCLE_SEGMENTS_DEFAULT,
            acked_end_refresh_ms: ACKED_END_REFRESH_MS_DEFAULT,
            event_ids: true,
            adopt_flume_channel: false,
            encryption: None,
            dedup_expiry_ms: DEDUP_EXPIRY_S_DEFAULT * 1000,
            dedup_limits: DedupLimits::default(),
        }
    }
}

/// A configuration key with a bad value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    /// The Flume key.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// A configuration key whose value was replaced by a default or that was ignored: the key and
/// the sentence said about it (its `Display`, naming the key).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigWarning {
    /// The Flume key.
    pub key: String,
    /// What was done about it.
    pub message: String,
}

impl ConfigWarning {
    fn new(key: &str, message: String) -> ConfigWarning {
        ConfigWarning {
            key: key.to_owned(),
            message,
        }
    }
}

fn err(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.to_owned(),
        message: message.into(),
    }
}

impl FileChannelConfig {
    /// This configuration with its `encryption.*` keys read by `provider` (no change to a
    /// plain channel): the embedding program's, as the core reads no keystore.
    pub fn with_key_provider(mut self, provider: &crate::keys::KeySource) -> Self {
        if let Some(e) = self.encryption.as_mut() {
            e.provider = provider.clone();
        }
        self
    }

    /// Checks relations between keys.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.transaction_capacity > self.capacity {
            return Err(err(
                "transactionCapacity",
                format!(
                    "{} exceeds capacity {}",
                    self.transaction_capacity, self.capacity
                ),
            ));
        }
        if self.data_dirs.is_empty() {
            return Err(err("dataDirs", "needs at least one directory"));
        }
        if self.use_dual_checkpoints {
            match &self.backup_checkpoint_dir {
                None => {
                    return Err(err(
                        "backupCheckpointDir",
                        "required when useDualCheckpoints is true",
                    ))
                }
                Some(b) if *b == self.checkpoint_dir || self.data_dirs.contains(b) => {
                    return Err(err(
                        "backupCheckpointDir",
                        "must differ from checkpointDir and from every data dir",
                    ))
                }
                Some(_) => {}
            }
        }
        // What a checkpoint can record (its encoder asserts these, its decoder checks them).
        if self.data_dirs.len() > DIRS_MAX {
            return Err(err(
                "dataDirs",
                format!(
                    "{} directories, more than the {DIRS_MAX} a checkpoint records",
                    self.data_dirs.len()
                ),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for d in &self.data_dirs {
            let stored = d.to_string_lossy().len();
            if stored > DIR_PATH_BYTES_MAX {
                return Err(err(
                    "dataDirs",
                    format!("a path of {stored} bytes, longer than the {DIR_PATH_BYTES_MAX} a checkpoint records"),
                ));
            }
            if !seen.insert(d) {
                return Err(err("dataDirs", format!("{} is listed twice", d.display())));
            }
        }
        self.validate_capacity_bytes()
    }

    /// A config for tests and tools: one checkpoint dir and the given data dirs, defaults
    /// otherwise.
    pub fn with_dirs(checkpoint_dir: impl Into<PathBuf>, data_dirs: Vec<PathBuf>) -> Self {
        FileChannelConfig {
            checkpoint_dir: checkpoint_dir.into(),
            data_dirs,
            ..FileChannelConfig::default()
        }
    }
}

mod capacity_bytes;
mod encryption;
mod keys;
#[cfg(test)]
mod tests;

pub use capacity_bytes::parse_size;
pub use encryption::{split_aliases, EncryptionConfig, KeysError};
