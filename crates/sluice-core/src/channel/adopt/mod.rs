//! Adopting an Apache Flume file channel: the events Flume had acknowledged and not yet
//! delivered become a Sluice file channel's queue, in Flume's order, headers and bodies byte
//! for byte, fsynced before success is reported. Flume's files are only read; in place they
//! are moved into a `flume-adopted-<time>/` folder in each directory once the new channel is
//! durable. A kill at any moment and a rerun give the same channel, never half of one and
//! never an event twice (`staging.rs`). [`survey`] reads everything and writes nothing.

mod refuse;
mod staging;

use std::path::PathBuf;
use std::sync::Arc;

use self::refuse::{refuse_downgrade, refuse_live_flume, refuse_non_empty};
pub use self::staging::{read_done, ADOPTED_PREFIX, ADOPT_DONE, ADOPT_STATE, STAGING};
use self::staging::{Phase, *};
use super::config::FileChannelConfig;
use super::error::ChannelError;
use super::inner::FileChannel;
use crate::flume::{FlumeChannel, FlumeDirs, FlumeError, FlumeKeys, FlumeReport};
use crate::io::Fs;

/// The most events one transaction of the new channel carries.
const BATCH_MAX: usize = 1000;

/// Why an adoption stopped; nothing it wrote is used until a run ends.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdoptError {
    /// Reading Flume's channel failed.
    #[error(transparent)]
    Flume(#[from] FlumeError),
    /// Writing the new channel failed.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// A file operation failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A live Flume holds the channel.
    #[error("{} is locked by process {pid} (a running Flume agent?): stop it first", path.display())]
    FlumeRunning {
        /// The lock file.
        path: PathBuf,
        /// Its holder.
        pid: u32,
    },
    /// A target directory holds files already.
    #[error("{} is not empty ({found}): give new, empty directories, or adopt in place", dir.display())]
    TargetNotEmpty {
        /// The directory.
        dir: PathBuf,
        /// Some of what it holds.
        found: String,
    },
    /// More events than the new channel's capacity.
    #[error("Flume's channel holds {events} events, more than the new channel's capacity {capacity}: raise capacity")]
    OverCapacity {
        /// Events queued.
        events: u64,
        /// The capacity.
        capacity: u64,
    },
    /// Where the adoption expects its own directory or file there is a link, a FIFO, or
    /// another user's: nothing was removed or moved.
    #[error("{} is {found}, where the adoption expects its own directory or file (made by this user): it never follows a link or works in another user's folder, and removed or moved nothing; check what it is, remove it, and rerun", path.display())]
    NotOwn {
        /// The path.
        path: PathBuf,
        /// What is there instead.
        found: String,
    },
    /// Flume's channel is encrypted and the new one has no keys: its events would be written
    /// in plaintext.
    #[error("Flume's channel is encrypted ({files} log files with key {alias:?}, e.g. {}) but the new channel has no encryption keys, so its events would be written in plaintext: give the new channel its keys (encryption.activeKey and encryption.keyProvider.*: in the agent's channel, or `sluice channel adopt --set encryption.activeKey=ALIAS --set encryption.keyProvider=JCEKSFILE --set encryption.keyProvider.keyStoreFile=FILE ...`, see docs/encryption.md), or pass --allow-plaintext to accept plaintext", example.display())]
    WouldDowngrade {
        /// Flume's encrypted log files.
        files: usize,
        /// One of them.
        example: PathBuf,
        /// Its key alias.
        alias: String,
    },
    /// A queued event's record is damaged and `skip_damaged` was not set: a plain rerun
    /// stops at the same record.
    #[error("{cause}: the adoption stopped at this damaged record and adopted nothing (Flume's files are untouched), and a plain rerun stops here again: rerun `sluice channel adopt` with --skip-damaged to adopt every other event, each damaged one printed and lost (--dry-run lists them first)")]
    Damaged {
        /// The damaged record.
        cause: FlumeError,
    },
    /// The state file is not one an adoption writes.
    #[error("{} holds {text:?}, not an adoption's state: remove it only if no adoption ran here", path.display())]
    BadState {
        /// The file.
        path: PathBuf,
        /// Its start.
        text: String,
    },
}

/// What to adopt and where.
#[derive(Debug)]
pub struct AdoptRequest<'a> {
    /// Flume's directories.
    pub flume: FlumeDirs,
    /// The keys of an encrypted Flume channel.
    pub keys: &'a FlumeKeys,
    /// The new channel (its directories are Flume's when `in_place`).
    pub target: FileChannelConfig,
    /// Move Flume's files aside in its own directories instead of writing new ones.
    pub in_place: bool,
    /// Skip queued events whose record is damaged (each named) instead of stopping.
    pub skip_damaged: bool,
    /// When the adoption started (ms since the epoch): names the folder in place.
    pub now_ms: u64,
    /// Adopt an encrypted Flume channel into a channel without encryption keys, its events
    /// then written in plaintext (refused otherwise: [`AdoptError::WouldDowngrade`]).
    pub allow_plaintext: bool,
}

/// What an adoption did.
#[derive(Debug)]
pub struct Adopted {
    /// Events in the new channel.
    pub events: u64,
    /// Flume's replay, when this run read it (a rerun that only finished moves did not).
    pub report: Option<FlumeReport>,
    /// Damaged events skipped, each named.
    pub skipped: Vec<String>,
    /// Where Flume's files went, in place.
    pub moved_to: Option<String>,
    /// Whether this run finished an interrupted one.
    pub resumed: bool,
    /// Whether a finished adoption was found and nothing was done (`adopt.done`).
    pub already_done: bool,
}

/// What a Flume channel holds, read whole without writing.
#[derive(Debug)]
pub struct Survey {
    /// The replay.
    pub report: FlumeReport,
    /// Events queued.
    pub events: u64,
    /// Their header and body bytes.
    pub bytes: u64,
    /// The first and last queued event's `timestamp` header, if they have one.
    pub first_last_timestamp: (Option<String>, Option<String>),
    /// Queued events whose record is damaged, each named.
    pub damaged: Vec<String>,
}

/// Reads the Flume channel in `dirs` and every queued event, writing nothing.
pub fn survey(fs: &dyn Fs, dirs: &FlumeDirs, keys: &FlumeKeys) -> Result<Survey, AdoptError> {
    refuse_live_flume(fs, dirs)?;
    let ch = FlumeChannel::open(fs, dirs, keys)?;
    let (mut bytes, mut damaged) = (0u64, Vec::new());
    for p in &ch.queue {
        match ch.read_event(*p) {
            Ok(e) => bytes += e.payload_bytes() as u64,
            Err(e) => damaged.push(e.to_string()),
        }
    }
    let stamp = |p: Option<&u64>| {
        p.and_then(|p| ch.read_event(*p).ok())
            .and_then(|e| e.headers.get("timestamp").map(str::to_string))
    };
    Ok(Survey {
        events: ch.queue.len() as u64,
        bytes,
        first_last_timestamp: (stamp(ch.queue.first()), stamp(ch.queue.last())),
        damaged,
        report: ch.report,
    })
}

/// Every directory of the new channel.
fn target_dirs(c: &FileChannelConfig) -> Vec<PathBuf> {
    let mut v = vec![c.checkpoint_dir.clone()];
    if c.use_dual_checkpoints {
        v.extend(c.backup_checkpoint_dir.iter().cloned());
    }
    v.extend(c.data_dirs.iter().cloned());
    v
}

/// Adopts the Flume channel of `req` (or finishes an interrupted adoption).
pub fn adopt(fs: Arc<dyn Fs>, req: &AdoptRequest<'_>) -> Result<Adopted, AdoptError> {
    let fsr = fs.as_ref();
    let dirs = target_dirs(&req.target);
    let ckpt = &req.target.checkpoint_dir;
    guard_all(fsr, &dirs, ckpt)?;
    let phase = read_phase(fsr, ckpt)?;
    if phase == Phase::Idle {
        if let Some(events) = read_done(fsr, ckpt)? {
            return Ok(Adopted {
                events,
                report: None,
                skipped: Vec::new(),
                moved_to: None,
                resumed: false,
                already_done: true,
            });
        }
    }
    let resumed = phase != Phase::Idle;
    let mut out = Adopted {
        events: 0,
        report: None,
        skipped: Vec::new(),
        moved_to: None,
        resumed,
        already_done: false,
    };
    let (folder, events) = match phase {
        Phase::Moving(f, n) | Phase::Raising(f, n) => (f, n),
        Phase::Idle | Phase::Writing => {
            refuse_live_flume(fsr, &req.flume)?;
            if !req.in_place && phase == Phase::Idle {
                for d in &dirs {
                    refuse_non_empty(fsr, d)?;
                }
            }
            // Every refusal that needs no write comes before `adopt.state`: a refused run
            // leaves the directories as it found them.
            let flume = open_checked(fsr, req)?;
            write_phase(fsr, ckpt, &Phase::Writing)?;
            for d in &dirs {
                clear_staging(fsr, d)?;
            }
            let events = write_staged(fs.clone(), req, flume, &mut out)?;
            let folder = format!("{ADOPTED_PREFIX}{}", req.now_ms);
            write_phase(fsr, ckpt, &Phase::Moving(folder.clone(), events))?;
            (folder, events)
        }
    };
    if !matches!(read_phase(fsr, ckpt)?, Phase::Raising(..)) {
        if req.in_place {
            for d in &dirs {
                move_flume_files(fsr, d, &folder)?;
            }
            out.moved_to = Some(folder.clone());
        }
        write_phase(fsr, ckpt, &Phase::Raising(folder.clone(), events))?;
    } else if req.in_place {
        out.moved_to = Some(folder.clone());
    }
    for d in &dirs {
        raise_staging(fsr, d)?;
    }
    write_done(fsr, ckpt, events)?;
    out.events = events;
    Ok(out)
}

/// With `adoptFlumeChannel`, adopts in place the Flume channel the directories of `config`
/// hold (or finishes an adoption that did not end); `None` when there is nothing to adopt.
pub fn adopt_if_flume(
    fs: Arc<dyn Fs>,
    config: &FileChannelConfig,
    keys: &FlumeKeys,
    now_ms: u64,
) -> Result<Option<Adopted>, AdoptError> {
    let dirs = target_dirs(config);
    let pending = fs.exists(&config.checkpoint_dir.join(ADOPT_STATE));
    if !config.adopt_flume_channel
        || !(pending
            || dirs
                .iter()
                .any(|d| crate::flume::looks_like_flume(fs.as_ref(), d)))
    {
        return Ok(None);
    }
    let req = AdoptRequest {
        flume: FlumeDirs {
            checkpoint_dir: config.checkpoint_dir.clone(),
            backup_checkpoint_dir: config
                .backup_checkpoint_dir
                .clone()
                .filter(|_| config.use_dual_checkpoints),
            data_dirs: config.data_dirs.clone(),
        },
        keys,
        target: config.clone(),
        in_place: true,
        skip_damaged: false,
        now_ms,
        // The agent reads Flume's keys from the channel's own `encryption.*`, so an encrypted
        // Flume channel is read only where the new one seals: no downgrade to allow.
        allow_plaintext: false,
    };
    adopt(fs, &req).map(Some)
}

/// Opens Flume's channel and refuses what the target cannot take (a downgrade to plaintext,
/// more events than its capacity) before anything is written.
fn open_checked(fs: &dyn Fs, req: &AdoptRequest<'_>) -> Result<FlumeChannel, AdoptError> {
    let flume = FlumeChannel::open(fs, &req.flume, req.keys)?;
    refuse_downgrade(&flume.report, req)?;
    let events = flume.queue.len() as u64;
    if events > req.target.capacity {
        return Err(AdoptError::OverCapacity {
            events,
            capacity: req.target.capacity,
        });
    }
    Ok(flume)
}

/// Writes Flume's queue into the staged channel, durably; returns the events written.
fn write_staged(
    fs: Arc<dyn Fs>,
    req: &AdoptRequest<'_>,
    flume: FlumeChannel,
    out: &mut Adopted,
) -> Result<u64, AdoptError> {
    let mut cfg = req.target.clone();
    cfg.checkpoint_dir = staged(&cfg.checkpoint_dir);
    cfg.backup_checkpoint_dir = cfg.backup_checkpoint_dir.as_deref().map(staged);
    cfg.data_dirs = cfg.data_dirs.iter().map(|d| staged(d)).collect();
    cfg.checkpoint_on_close = true;
    let ch = FileChannel::open_with_fs(cfg, fs)?;
    let batch = usize::try_from(req.target.transaction_capacity)
        .unwrap_or(BATCH_MAX)
        .clamp(1, BATCH_MAX);
    let mut written = 0u64;
    for chunk in flume.queue.chunks(batch) {
        let mut txn = ch.transaction();
        for p in chunk {
            match flume.read_event(*p) {
                Ok(e) => {
                    txn.put(e)?;
                    written += 1;
                }
                Err(e) if req.skip_damaged => out.skipped.push(e.to_string()),
                Err(cause) => {
                    txn.rollback();
                    let _ = ch.close();
                    return Err(AdoptError::Damaged { cause });
                }
            }
        }
        txn.commit()?;
    }
    ch.close()?;
    out.report = Some(flume.report);
    Ok(written)
}
