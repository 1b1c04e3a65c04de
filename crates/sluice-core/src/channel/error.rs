//! The channel's typed errors. Backpressure errors give the caller's event back.

use std::path::PathBuf;
use std::sync::Arc;

use super::config::{ConfigError, KeysError};
use crate::checkpoint::store::LoadError;
use crate::event::Event;
use crate::wal::record::EncodeError;
use crate::wal::replay::ReplayError;
use crate::wal::table::ReadError;
use crate::wal::writer::WalError;

/// Everything that can go wrong in the file channel.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The channel stayed full for the whole `keep-alive`. The event comes back.
    #[error("the channel is full: capacity {capacity} reached and no room freed within keep-alive; sinks are not keeping up")]
    Full {
        /// The event that was not put (`None` once taken: [`ChannelError::take_event`]).
        event: Option<Box<Event>>,
        /// The channel's capacity.
        capacity: u64,
    },
    /// The channel's files would cross `capacityBytes` and no room was reclaimed or freed by
    /// takes within `keep-alive`. The event comes back, as at [`ChannelError::Full`].
    #[error("the channel is full: its files would take more than capacityBytes {capacity_bytes} ({used_bytes} bytes counted) and no room was freed within keep-alive; sinks are not keeping up")]
    FullBytes {
        /// The event that was not put (`None` once taken: [`ChannelError::take_event`]).
        event: Option<Box<Event>>,
        /// `capacityBytes`.
        capacity_bytes: u64,
        /// What counted against it when the put gave up.
        used_bytes: u64,
    },
    /// The transaction already holds `transactionCapacity` puts or takes.
    #[error("transaction capacity {capacity} reached: commit or roll back before adding more")]
    TransactionFull {
        /// The event that was not put, for a put.
        event: Option<Box<Event>>,
        /// The limit.
        capacity: u64,
    },
    /// The event is too large to store.
    #[error("event cannot be stored: {reason}")]
    EventTooLarge {
        /// The event (`None` once taken: [`ChannelError::take_event`]).
        event: Option<Box<Event>>,
        /// Which limit it breaks.
        reason: EncodeError,
    },
    /// A data directory lacks free space for puts. Takes keep working.
    #[error("{0}")]
    DiskFull(WalError),
    /// The write path failed earlier (`op` on `path` failed with `source`); the channel
    /// refuses writes until reopened.
    #[error("the channel refuses writes after an earlier I/O failure ({op} {}: {source}); reopen it to recover", path.display())]
    Poisoned {
        /// What was being done (`write`, `fsync`, ...).
        op: &'static str,
        /// On which file or directory.
        path: PathBuf,
        /// The error, shared with the channel's poison latch.
        source: Arc<std::io::Error>,
    },
    /// A write, fsync or read failed.
    #[error("{0}")]
    Wal(WalError),
    /// An event could not be read back.
    #[error("reading an event: {0}")]
    Read(ReadError),
    /// Opening found damage the recovery policy does not tolerate.
    #[error("recovery refused: {0}")]
    Recovery(ReplayError),
    /// Segments are missing: queued events point into them, or a data directory lost its
    /// replay position or a segment after it. Nothing is opened (`salvage` opens without them
    /// and counts the loss).
    #[error("{detail}; acknowledged events would be lost, so the channel is not opened (recoveryPolicy=salvage or `sluice channel salvage` opens without them and reports the loss)")]
    SegmentsMissing {
        /// Every missing segment file and the events it held.
        detail: String,
        /// Queued events (from the checkpoint and the log) that point into missing segments.
        events: u64,
        /// The first such event, as (queue key, segment).
        first: Option<(u64, u32)>,
    },
    /// Segments are cut back: shorter than their directory's acknowledged-end record, the
    /// checkpoint's replay position or its queued events say they were (no crash shortens
    /// fdatasynced bytes). Nothing is opened (`salvage` opens without the lost events and
    /// counts them).
    #[error("{detail}; acknowledged events would be lost, so the channel is not opened (recoveryPolicy=salvage or `sluice channel salvage` opens without them and reports the loss)")]
    SegmentsCutBack {
        /// Every cut-back segment: its length, the length it held at least, the events lost.
        detail: String,
        /// Queued events whose records were in the missing bytes.
        events: u64,
    },
    /// A directory is locked by another process or channel.
    #[error("{} is in use by another Sluice channel or process (lock file {}); stop it first or point this channel at other directories", dir.display(), dir.join(crate::io::LOCK_FILE_NAME).display())]
    Locked {
        /// The directory.
        dir: PathBuf,
    },
    /// The directories hold an Apache Flume file channel, not adopted.
    #[error("{} holds an Apache Flume file channel ({found}): set adoptFlumeChannel = true on this channel to adopt its events in place, or run `sluice channel adopt` (docs/coming-from-flume.md, \"Moving a Flume agent\")", dir.display())]
    FlumeChannel {
        /// The first directory with Flume's files.
        dir: PathBuf,
        /// Up to three of Flume's files found there.
        found: String,
    },
    /// An adoption of a Flume channel into these directories did not finish.
    #[error("an adoption of a Flume channel into {} was interrupted (adopt.state): rerun `sluice channel adopt` with the same arguments, or start the agent with adoptFlumeChannel = true, to finish it (one that stopped at a damaged record stops there again: add --skip-damaged)", dir.display())]
    AdoptionInterrupted {
        /// The checkpoint directory.
        dir: PathBuf,
    },
    /// A file-system operation failed during open, close or checkpoint.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The `encryption.*` keys could not be loaded (names the file and the config key).
    #[error("encryption keys: {0}")]
    Keys(Box<KeysError>),
    /// A checkpoint could not be loaded and the policy refuses to fall back.
    #[error("checkpoint: {0}")]
    Checkpoint(LoadError),
    /// Bad configuration.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The channel was closed.
    #[error("the channel is closed")]
    Closed,
    /// A transaction of a group commit ([`Transaction::commit_all`](super::Transaction::commit_all))
    /// not committed because one before it could not be written.
    #[error("not committed: transaction {position} of a group of {total}, after an earlier one of the group failed")]
    GroupCut {
        /// Its place in the group (from 1).
        position: usize,
        /// The group's size.
        total: usize,
    },
    /// A cursor beyond the limits (`wal::record::layout`, "commit tail").
    #[error("cursor {key:?} refused: {why}")]
    Cursor {
        /// Its key (cut to the key limit).
        key: String,
        /// Which limit.
        why: &'static str,
    },
}

impl ChannelError {
    /// The event handed back by a failed put, if any.
    pub fn into_event(mut self) -> Option<Event> {
        self.take_event()
    }

    /// The event handed back by a failed put, taken out of the error (which stays as it
    /// was otherwise): a caller that puts a batch hands it back whole with the error.
    pub fn take_event(&mut self) -> Option<Event> {
        match self {
            ChannelError::Full { event, .. }
            | ChannelError::FullBytes { event, .. }
            | ChannelError::EventTooLarge { event, .. }
            | ChannelError::TransactionFull { event, .. } => event.take().map(|e| *e),
            _ => None,
        }
    }

    /// Whether the error is backpressure (full channel, full transaction or full disk) rather
    /// than a failure: retrying later may succeed without a reopen.
    pub fn is_backpressure(&self) -> bool {
        matches!(
            self,
            ChannelError::Full { .. }
                | ChannelError::FullBytes { .. }
                | ChannelError::TransactionFull { .. }
                | ChannelError::DiskFull(_)
        )
    }
}

impl From<WalError> for ChannelError {
    fn from(e: WalError) -> Self {
        match e {
            WalError::DiskFull { .. } => ChannelError::DiskFull(e),
            WalError::Poisoned { op, path, source } => ChannelError::Poisoned { op, path, source },
            other => ChannelError::Wal(other),
        }
    }
}

impl From<KeysError> for ChannelError {
    fn from(e: KeysError) -> Self {
        ChannelError::Keys(Box::new(e))
    }
}
