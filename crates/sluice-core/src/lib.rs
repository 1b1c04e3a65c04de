//! sluice-core: the durable, striped file channel at the heart of Sluice.
//!
//! The core (`io`, `wal`, `checkpoint`, `channel`) is synchronous and deterministic: every file
//! operation goes through the [`io::Fs`] seam, so tests can run it on a simulated file system
//! that loses unsynced bytes. It depends on no async runtime; the agent (the `sluice` crate)
//! reaches the channel only through this crate's API.
//!
//! See `DESIGN.md` at the workspace root for the module map and the invariants.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_debug_implementations)]

pub mod channel;
pub mod checkpoint;
pub mod event;
mod invariant;
pub mod io;
pub mod wal;

pub use channel::{ChannelError, FileChannel, FileChannelConfig, Transaction};
pub use event::Event;
pub use invariant::hot_asserts_on;
