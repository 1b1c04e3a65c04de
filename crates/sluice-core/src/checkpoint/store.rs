//! Writing and loading checkpoint files through the file-system seam.
//!
//! `checkpointDir/checkpoint` is replaced atomically: a crash at any moment leaves either the
//! old image or the new one (temporary file, fdatasync, rename, directory fsync). With dual
//! checkpoints the same bytes are then written the same way to `backupCheckpointDir`.

use std::path::{Path, PathBuf};

use super::format::{
    decode, CheckpointError, CheckpointImage, CHECKPOINT_BYTES_MIN, CHECKPOINT_MAGIC,
};
use crate::io::{read_file, write_file_atomic, Fs};

/// File name of a checkpoint inside its directory.
pub const CHECKPOINT_FILE_NAME: &str = "checkpoint";

/// The checkpoint file of a directory.
pub fn checkpoint_path(dir: &Path) -> PathBuf {
    dir.join(CHECKPOINT_FILE_NAME)
}

/// Why a checkpoint could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// There is none.
    #[error("no checkpoint at {}", .0.display())]
    Missing(PathBuf),
    /// It could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// It is damaged.
    #[error("{}: {source}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: CheckpointError,
    },
}

/// Loads and validates the checkpoint in `dir`.
pub fn load(fs: &dyn Fs, dir: &Path) -> Result<CheckpointImage, LoadError> {
    let path = checkpoint_path(dir);
    if !fs.exists(&path) {
        return Err(LoadError::Missing(path));
    }
    let bytes = read_file(fs, &path).map_err(|source| LoadError::Io {
        path: path.clone(),
        source,
    })?;
    decode(&bytes).map_err(|source| LoadError::Invalid { path, source })
}

/// Writes encoded checkpoint bytes into `dir` atomically. `bytes` come from
/// [`encode`](super::format::encode) (asserted: at least the smallest image, with the magic).
pub fn write(fs: &dyn Fs, dir: &Path, bytes: &[u8]) -> std::io::Result<()> {
    assert!(
        bytes.len() >= CHECKPOINT_BYTES_MIN && bytes.starts_with(&CHECKPOINT_MAGIC),
        "not an encoded checkpoint ({} bytes)",
        bytes.len()
    );
    write_file_atomic(fs, &checkpoint_path(dir), bytes)
}
