//! sluice-core: the durable, striped file channel at the heart of Sluice, as a library.
//!
//! The core is synchronous and deterministic: every file operation goes through the [`io::Fs`]
//! seam, so tests can run it on a simulated file system ([`io::SimFs`]) that loses unsynced
//! bytes. It depends on no async runtime; the agent (the `sluice` crate) uses only this API.
//!
//! The public surface, and nothing else:
//! - the channel: [`FileChannel`], [`Transaction`], [`FileChannelConfig`], [`RecoveryPolicy`],
//!   the agent-wide memory budget of the channels' event caches ([`CacheBudget`]), the errors and reports ([`ChannelError`], [`ChannelStats`], [`RecoveryInfo`]), [`Event`];
//! - the file-system seam: [`io`] ([`io::Fs`], [`io::StdFs`], [`io::SimFs`]);
//! - the integrity tools' API: [`inspect`] (examine, verify, typed reports);
//! - the channel's encryption keys as a [`keys::KeyProvider`] hands them in ([`keys`]); the
//!   keystore readers are `sluice-keystore`'s, Flume's file-channel reader `sluice-flume`'s.
//!
//! The layers inside (`io` < `wal`, `checkpoint` < `channel`) are private; fuzz targets,
//! benches and white-box tests reach them through [`internals`] with the `internals` feature
//! (as raft-engine does). See `DESIGN.md` at the workspace root for the map and invariants.
//!
//! `examples/embed.rs` is a whole program using the channel directly.

mod channel;
mod checkpoint;
pub mod dedup;
mod event;
mod headers;
pub mod inspect;
mod invariant;
pub mod io;
pub mod keys;
mod wal;

pub use channel::config::{
    parse_size, split_aliases, DirectIo, EncryptionConfig, KeysError, CAPACITY_MAX, IGNORED_KEYS,
    KNOWN_KEYS,
};
pub use channel::flume_dirs::ADOPT_STATE;
pub use channel::{
    Backlog, CacheBudget, Cached, ChannelError, ChannelStats, ConfigError, ConfigWarning,
    FileChannel, FileChannelConfig, GroupCommitStats, NotCommitted, RecoveryInfo, RecoverySource,
    Transaction,
};
pub use event::{Bytes, Event, EventData, IntoBody};
pub use headers::{Headers, TEXT_SPARE_BYTES};
pub use invariant::hot_asserts_on;
pub use wal::record::{CURSOR_VALUE_BYTES_MAX, RECORD_BYTES_MAX};
pub use wal::replay::{ProgressSnapshot, ReplayError, ReplayProgress};
pub use wal::seal::{Keyring, SealError};
pub use wal::writer::WalError;
pub use wal::RecoveryPolicy;

/// White-box access to the layers for fuzz targets, benches and tests: not a stable API.
#[cfg(feature = "internals")]
pub mod internals {
    /// The channel's modules (config, examine, verify) and types.
    pub mod channel {
        pub use crate::channel::*;
    }
    /// The checkpoint codec, store and deletion journal.
    pub mod checkpoint {
        pub use crate::checkpoint::*;
    }
    /// The write-ahead log: record and segment codecs, writer, table, replay, assembler.
    pub mod wal {
        pub use crate::wal::*;
    }
}
