//! Adopting an Apache Flume file channel: the events Flume had acknowledged and not yet
//! delivered become a Sluice file channel's queue, in Flume's order, headers and bodies byte
//! for byte, fsynced before success is reported. Flume's files are only read; in place they
//! are moved into a `flume-adopted-<time>/` folder in each directory once the new channel is
//! durable. A kill at any moment and a rerun give the same channel, never half of one and
//! never an event twice (`staging.rs`). [`survey`] reads everything and writes nothing.

mod refuse;
mod request;
mod staging;

use std::path::PathBuf;
use std::sync::Arc;

use self::refuse::{refuse_downgrade, refuse_live_flume, refuse_non_empty};
pub use self::request::{AdoptError, AdoptRequest};
pub use self::staging::{finished, read_done, ADOPTED_PREFIX, ADOPT_DONE, ADOPT_STATE, STAGING};
use self::staging::{Phase, *};
use crate::{FlumeChannel, FlumeDirs, FlumeKeys, FlumeReport};
use sluice_core::io::Fs;
use sluice_core::{FileChannel, FileChannelConfig};

/// The most events one transaction of the new channel carries.
const BATCH_MAX: usize = 1000;

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
            advance(fsr, ckpt, &phase, &Phase::Writing)?;
            for d in &dirs {
                clear_staging(fsr, d)?;
            }
            let events = write_staged(fs.clone(), req, flume, &mut out)?;
            let folder = format!("{ADOPTED_PREFIX}{}", req.now_ms);
            advance(
                fsr,
                ckpt,
                &Phase::Writing,
                &Phase::Moving(folder.clone(), events),
            )?;
            (folder, events)
        }
    };
    move_and_raise(fsr, req, &dirs, (&folder, events))?;
    if req.in_place {
        out.moved_to = Some(folder);
    }
    out.events = events;
    Ok(out)
}

/// Moves Flume's files into `folder` (in place), raises the staged channel of `events` into
/// every directory and records the adoption done: from the phase on disk, which names this
/// very `(folder, events)`.
fn move_and_raise(
    fs: &dyn Fs,
    req: &AdoptRequest<'_>,
    dirs: &[PathBuf],
    (folder, events): (&str, u64),
) -> Result<(), AdoptError> {
    let ckpt = &req.target.checkpoint_dir;
    match read_phase(fs, ckpt)? {
        Phase::Raising(f, n) => {
            assert!(
                f == folder && n == events,
                "invariant: one adoption per state file"
            );
        }
        now => {
            assert_eq!(
                now,
                Phase::Moving(folder.to_owned(), events),
                "invariant: the moves start from the phase this run recorded or read"
            );
            if req.in_place {
                for d in dirs {
                    move_flume_files(fs, d, folder)?;
                }
            }
            advance(fs, ckpt, &now, &Phase::Raising(folder.to_owned(), events))?;
        }
    }
    for d in dirs {
        raise_staging(fs, d)?;
    }
    write_done(fs, ckpt, events)
}

/// Records `to`, the phase after `from`: an adoption's phases only move forward (a write a
/// kill cut short starts over: Writing again).
fn advance(
    fs: &dyn Fs,
    ckpt: &std::path::Path,
    from: &Phase,
    to: &Phase,
) -> Result<(), AdoptError> {
    assert!(
        to.step() > from.step() || (*from == Phase::Writing && *to == Phase::Writing),
        "invariant: an adoption moves forward ({from:?} -> {to:?})"
    );
    write_phase(fs, ckpt, to)
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
        || !(pending || dirs.iter().any(|d| crate::looks_like_flume(fs.as_ref(), d)))
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
    // Every queued event is written or (with --skip-damaged) named as skipped, and the target
    // takes them all (`open_checked` refused a queue over its capacity).
    assert_eq!(
        written + out.skipped.len() as u64,
        flume.queue.len() as u64,
        "invariant: every queued Flume event is adopted or named as skipped"
    );
    assert!(
        written <= req.target.capacity,
        "invariant: an adoption writes no more than the channel's capacity"
    );
    out.report = Some(flume.report);
    Ok(written)
}
