//! Checkpoints: a durable image of the channel's queue, so that opening replays only the
//! records written after it.
//!
//! [`format`] is the pure codec; [`store`] writes an image atomically (temporary file, fsync,
//! rename, directory fsync), keeps the optional backup copy and loads the newest valid image
//! with its fallbacks; [`journal`] records a set of segments being deleted.

pub mod format;
pub mod journal;
pub mod sealed;
pub mod store;

pub use format::{CheckpointImage, DirPosition};
