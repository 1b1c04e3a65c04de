//! Reads an Apache Flume file channel (format v3, what Flume 1.x writes) as Flume's replay
//! would: which checkpoint it takes (`checkpoint.rs`, the backup when the primary is refused
//! and `backupComplete` says the copy is whole, else none), the log files of every data
//! directory (`log.rs`, AES-CTR deciphered with the configured keys), the replay that merges
//! them in write order (`replay.rs`), and the events at the queue's pointers with their CRC32
//! checked. Nothing is written by the reader: [`adopt`] turns what it reads into a Sluice
//! channel through the core's public API. Its own crate, so the core keeps a storage engine's
//! dependencies (protobuf, AES-CTR and MD5 are Flume's, not the WAL's).

pub mod adopt;
mod checkpoint;
mod error;
mod inflight;
mod invariant;
pub mod limits;
mod log;
pub mod proto;
mod queue;
mod refusal;
mod replay;
mod window;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use self::checkpoint::{CheckpointRead, FlumeCheckpoint};
pub use self::error::FlumeError;
pub use self::log::{log_id, split_ptr, FlumeKeys, LogFile};
pub use self::refusal::{CheckpointRefusal, InflightDamage, RecordDamage};
pub use self::replay::ReplayCounts;
use sluice_core::io::Fs;
use sluice_core::keys::{KeyFiles, KeyWarning};
use sluice_core::Event;
use sluice_keystore::KeystoreError;

/// Where a Flume file channel lives, as its configuration names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlumeDirs {
    /// `checkpointDir`.
    pub checkpoint_dir: PathBuf,
    /// `backupCheckpointDir`, when `useDualCheckpoints` is on.
    pub backup_checkpoint_dir: Option<PathBuf>,
    /// `dataDirs`.
    pub data_dirs: Vec<PathBuf>,
}

/// Which checkpoint the replay started from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckpointUsed {
    /// The primary.
    Primary,
    /// The backup, after the primary was refused for the reason given.
    Backup(String),
    /// None: the queue rebuilt from the logs alone, for the reason given.
    None(String),
}

/// What the replay found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlumeReport {
    /// The checkpoint used.
    pub checkpoint: CheckpointUsed,
    /// Events in the checkpoint's queue.
    pub checkpoint_queue: u64,
    /// The records replayed.
    pub counts: ReplayCounts,
    /// Every log file: (file, bytes, key alias when encrypted).
    pub files: Vec<(PathBuf, u64, Option<String>)>,
}

/// A Flume channel as its replay leaves it: the queue and a reader of its events.
#[derive(Debug)]
pub struct FlumeChannel {
    /// The queue, head first: each pointer `fileID << 32 | offset`.
    pub queue: Vec<u64>,
    /// What the replay found.
    pub report: FlumeReport,
    logs: BTreeMap<u32, LogFile>,
}

/// The checkpoint to start from and what was decided.
/// `queue_max` is the most events the logs could hold.
fn choose_checkpoint(
    fs: &dyn Fs,
    dirs: &FlumeDirs,
    queue_max: u64,
) -> Result<(Option<FlumeCheckpoint>, CheckpointUsed), FlumeError> {
    let why = match checkpoint::read(fs, &dirs.checkpoint_dir, queue_max)? {
        CheckpointRead::Usable(c) => return Ok((Some(c), CheckpointUsed::Primary)),
        CheckpointRead::Absent => "no checkpoint file".to_string(),
        CheckpointRead::Refused(why) => why.to_string(),
    };
    if let Some(b) = &dirs.backup_checkpoint_dir {
        if fs.exists(&b.join("backupComplete")) {
            match checkpoint::read(fs, b, queue_max)? {
                CheckpointRead::Usable(c) => return Ok((Some(c), CheckpointUsed::Backup(why))),
                CheckpointRead::Absent => {}
                CheckpointRead::Refused(b_why) => {
                    return Ok((
                        None,
                        CheckpointUsed::None(format!("{why}; backup: {b_why}")),
                    ))
                }
            }
        }
    }
    Ok((None, CheckpointUsed::None(why)))
}

impl FlumeChannel {
    /// Replays the channel in `dirs`; encrypted log files need their keys in `keys`.
    pub fn open(fs: &dyn Fs, dirs: &FlumeDirs, keys: &FlumeKeys) -> Result<Self, FlumeError> {
        let logs = log::discover(fs, &dirs.data_dirs, keys)?;
        let log_bytes: u64 = logs.iter().map(LogFile::len).sum();
        let (ckpt, used) = choose_checkpoint(fs, dirs, log_bytes / limits::PUT_RECORD_BYTES_MIN)?;
        let mut counts = ReplayCounts::default();
        let queue = replay::replay(&logs, ckpt.as_ref(), &mut counts)?;
        let report = FlumeReport {
            checkpoint: used,
            checkpoint_queue: ckpt.as_ref().map_or(0, |c| c.queue.len() as u64),
            counts,
            files: logs
                .iter()
                .map(|l| (l.path.clone(), l.len(), l.key_alias.clone()))
                .collect(),
        };
        let logs: BTreeMap<u32, LogFile> = logs.into_iter().map(|l| (l.id, l)).collect();
        let mut missing: BTreeMap<u32, u64> = BTreeMap::new();
        for p in &queue {
            let (id, _) = split_ptr(*p);
            if !logs.contains_key(&id) {
                *missing.entry(id).or_default() += 1;
            }
        }
        if let Some((id, count)) = missing.into_iter().next() {
            return Err(FlumeError::MissingLog {
                id,
                count,
                dirs: log::join(&dirs.data_dirs),
            });
        }
        Ok(FlumeChannel {
            queue,
            report,
            logs,
        })
    }

    /// The event at `ptr` (a pointer of [`FlumeChannel::queue`]), its CRC32 checked.
    pub fn read_event(&self, ptr: u64) -> Result<Event, FlumeError> {
        let (id, offset) = split_ptr(ptr);
        match self.logs.get(&id) {
            Some(l) => l.read_event(offset),
            None => Err(FlumeError::MissingLog {
                id,
                count: 1,
                dirs: String::new(),
            }),
        }
    }
}

/// The keys of an encrypted Flume channel, loaded from its `JCEKSFILE` key provider's files
/// (`KeyFiles`), by the aliases the configuration lists; and the warnings about those files
/// (readable by group or others), for the caller to log.
pub fn load_keys(
    fs: &dyn Fs,
    files: &KeyFiles,
) -> Result<(FlumeKeys, Vec<KeyWarning>), KeystoreError> {
    let loaded = sluice_keystore::load_key_files(fs, files)?;
    let mut keys = FlumeKeys::new();
    for ((alias, _), key) in files.keys.iter().zip(&loaded.keys) {
        keys.insert(alias.clone(), zeroize::Zeroizing::new(key.bytes().to_vec()));
    }
    Ok((keys, loaded.warnings))
}

/// Whether `dir` holds a Flume checkpoint or data directory's files (`checkpoint.meta`,
/// `inflightputs`, `log-N.meta`, ...).
pub fn looks_like_flume(fs: &dyn Fs, dir: &Path) -> bool {
    fs.list_dir(dir).is_ok_and(|names| {
        names.iter().any(|n| {
            matches!(
                n.as_str(),
                "checkpoint.meta" | "inflightputs" | "inflighttakes" | "queueset"
            ) || n
                .strip_prefix("log-")
                .and_then(|r| r.strip_suffix(".meta"))
                .is_some_and(|d| log_id(&format!("log-{d}")).is_some())
        })
    })
}
