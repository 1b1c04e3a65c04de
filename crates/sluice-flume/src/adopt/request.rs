//! What an adoption is asked ([`AdoptRequest`]) and why it stops ([`AdoptError`]): a leaf
//! below the adoption's steps (`mod.rs`, `refuse.rs`, `staging.rs`), which all name both.

use std::path::PathBuf;

use crate::{FlumeDirs, FlumeError, FlumeKeys};
use sluice_core::ChannelError;
use sluice_core::FileChannelConfig;

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
