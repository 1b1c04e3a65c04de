//! Read-only examination of a channel on disk, for the integrity tools (`inspect`, `verify`,
//! `dump`, `salvage`). It runs the very recovery code `open` runs, without repairing anything,
//! and holds the channel's directory locks, so it refuses a channel an agent holds open.

use std::path::PathBuf;
use std::sync::Arc;

use super::config::FileChannelConfig;
use super::error::ChannelError;
use super::inner::RecoverySource;
use super::locks::lock_all;
use super::recovery::{recover_state, segment_table};
use crate::checkpoint::store::checkpoint_path;
use crate::event::Event;
use crate::io::{DirLock, Fs};
use crate::wal::policy::Repair;
use crate::wal::replay::{ReplayProgress, ReplayReport};
use crate::wal::table::{ReadError, SegmentTable};
use crate::wal::EventPtr;

/// One segment as found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentSummary {
    /// Segment id.
    pub id: u32,
    /// Data directory.
    pub dir: PathBuf,
    /// File.
    pub path: PathBuf,
    /// Size in bytes.
    pub bytes: u64,
    /// Queued events whose put record is in this segment.
    pub live_events: u64,
    /// Records read from it (0 for segments before the checkpoint's replay position).
    pub records_replayed: u64,
}

/// The checkpoint used, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointSummary {
    /// Its file.
    pub path: PathBuf,
    /// When it was written (ms since the epoch).
    pub created_ms: u64,
    /// Entries it holds.
    pub entries: u64,
}

/// What a channel holds, as recovery sees it.
#[derive(Debug)]
pub struct Examination {
    /// Where the state came from.
    pub source: RecoverySource,
    /// Why checkpoints were refused, if they were.
    pub fallbacks: Vec<String>,
    /// The checkpoint used.
    pub checkpoint: Option<CheckpointSummary>,
    /// Queued events in order: (seq, pointer).
    pub queued: Vec<(u64, EventPtr)>,
    /// Every segment.
    pub segments: Vec<SegmentSummary>,
    /// What replay met.
    pub report: ReplayReport,
    /// Queued events whose segment is missing (salvage policy only).
    pub missing: Vec<(u64, u32)>,
    /// Segment files known to be missing, one line each (salvage policy only).
    pub missing_segments: Vec<String>,
    table: Arc<SegmentTable>,
    _locks: Vec<Box<dyn DirLock>>,
}

impl Examination {
    /// Reads a queued event back.
    pub fn read_event(&self, seq: u64, ptr: EventPtr) -> Result<Event, ReadError> {
        self.table.read_event(ptr, seq)
    }
}

/// Examines the channel described by `config` without changing it. Fails if a directory is
/// missing or locked by a running channel.
pub fn examine(fs: Arc<dyn Fs>, config: &FileChannelConfig) -> Result<Examination, ChannelError> {
    config.validate()?;
    for dir in std::iter::once(&config.checkpoint_dir).chain(&config.data_dirs) {
        if !fs.exists(dir) {
            return Err(ChannelError::Io {
                op: "find",
                path: dir.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
            });
        }
    }
    let locks = lock_all(fs.as_ref(), config, false)?;
    let rec = recover_state(
        fs.as_ref(),
        config,
        Repair::ReadOnly,
        &ReplayProgress::default(),
    )?;
    let table = segment_table(fs.as_ref(), &rec.outcome)?;
    let checkpoint = rec.image.as_ref().map(|img| CheckpointSummary {
        path: match rec.source {
            RecoverySource::BackupCheckpoint => config
                .backup_checkpoint_dir
                .as_ref()
                .map(|d| checkpoint_path(d))
                .unwrap_or_default(),
            _ => checkpoint_path(&config.checkpoint_dir),
        },
        created_ms: img.created_ms,
        entries: img.entries.len() as u64,
    });
    let segments = rec
        .outcome
        .segments
        .iter()
        .map(|s| SegmentSummary {
            id: s.id,
            dir: config
                .data_dirs
                .get(s.dir_index)
                .cloned()
                .unwrap_or_default(),
            path: s.path.clone(),
            bytes: s.len,
            live_events: rec.queue.live_in(s.id),
            records_replayed: s.records,
        })
        .collect();
    Ok(Examination {
        source: rec.source,
        fallbacks: rec.fallbacks,
        checkpoint,
        queued: rec.queue.ready().iter().map(|(k, v)| (*k, *v)).collect(),
        segments,
        report: rec.outcome.report,
        missing: rec.missing,
        missing_segments: rec.missing_segments,
        table,
        _locks: locks,
    })
}
