//! Sluice: a log-transport agent built around a durable, striped file channel.
//!
//! The crate has two halves. The **core** (`io`, `wal`, `checkpoint`, `channel`) is synchronous
//! and deterministic: every file operation goes through the [`io::Fs`] seam, so tests can run it
//! on a simulated file system that loses unsynced bytes. The **agent** (`agent`) is async (tokio)
//! and reaches the channel only through its public API.
//!
//! See `DESIGN.md` for the module map and the invariants.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_debug_implementations)]

pub mod agent;
pub mod channel;
pub mod checkpoint;
pub mod event;
pub mod io;
pub mod wal;
pub mod wire;

pub use channel::{ChannelError, FileChannel, FileChannelConfig, Transaction};
pub use event::Event;
