//! The integrity tools' API (`sluice channel inspect|verify|dump|salvage`, `crashtest`): read a
//! channel on disk without changing it and report what it holds and what is wrong, in typed
//! reports.
//!
//! Everything here runs the same recovery code `open` runs (replay through the one transaction
//! assembler), read-only, holding the channel's directory locks.

use std::path::Path;

pub use crate::channel::examine::{examine, CheckpointSummary, Examination, SegmentSummary};
pub use crate::channel::verify::{
    check_checkpoint, checkpoint_dirs, verify, CheckpointCheck, CheckpointState, Problem,
    Verification,
};
pub use crate::checkpoint::store::LoadError;
pub use crate::checkpoint::DirPosition;
pub use crate::wal::replay::ReplayReport;
pub use crate::wal::table::ReadError;
pub use crate::wal::EventPtr;

use crate::io::Fs;

/// The replay positions (one per data directory) of the checkpoint in `checkpoint_dir`.
pub fn replay_positions(fs: &dyn Fs, checkpoint_dir: &Path) -> Result<Vec<DirPosition>, LoadError> {
    crate::checkpoint::store::load(fs, checkpoint_dir).map(|img| img.positions)
}

/// The newest segment the head record of data directory `dir` names, if it has a readable one.
pub fn head_segment(fs: &dyn Fs, dir: &Path) -> Option<u32> {
    crate::wal::head::read(fs, dir)
}
