//! Writing and loading checkpoint files through the file-system seam.
//!
//! `checkpointDir/checkpoint` is replaced atomically: a crash at any moment leaves either the
//! old image or the new one (temporary file, fdatasync, rename, directory fsync). With dual
//! checkpoints the same bytes are then written the same way to `backupCheckpointDir`.
//!
//! The temporary file is written and fdatasynced [`SYNC_CHUNK_BYTES`] at a time: the image of
//! a large queue is tens of MB, and one flush of all of it would sit in front of every
//! commit's own fdatasync on the same device for as long as it lasts; flushed piecewise, a
//! commit waits behind one piece at most.

use std::path::{Path, PathBuf};

use super::format::{
    decode, CheckpointError, CheckpointImage, CHECKPOINT_BYTES_MIN, CHECKPOINT_MAGIC,
};
use super::sealed;
use crate::io::{read_file, Fs, OpenMode};
use crate::wal::seal::Keyring;

/// Bytes of a checkpoint written and fdatasynced at a time (about a millisecond of this
/// disk's buffered synced writes).
pub const SYNC_CHUNK_BYTES: usize = 256 << 10;

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

/// Loads and validates the checkpoint in `dir` (a sealed one cannot be opened: see
/// [`load_with`]).
pub fn load(fs: &dyn Fs, dir: &Path) -> Result<CheckpointImage, LoadError> {
    load_with(fs, dir, None)
}

/// Loads and validates the checkpoint in `dir`, opening a sealed one with `keyring`.
pub fn load_with(
    fs: &dyn Fs,
    dir: &Path,
    keyring: Option<&Keyring>,
) -> Result<CheckpointImage, LoadError> {
    let path = checkpoint_path(dir);
    if !fs.exists(&path) {
        return Err(LoadError::Missing(path));
    }
    let bytes = read_file(fs, &path).map_err(|source| LoadError::Io {
        path: path.clone(),
        source,
    })?;
    let opened = if sealed::is_sealed(&bytes) {
        sealed::open(keyring, &bytes)
    } else {
        Ok(bytes)
    };
    opened
        .and_then(|b| decode(&b))
        .map_err(|source| LoadError::Invalid { path, source })
}

/// Writes encoded checkpoint bytes into `dir` atomically. `bytes` come from
/// [`encode`](super::format::encode) (asserted: at least the smallest image, with the magic).
pub fn write(fs: &dyn Fs, dir: &Path, bytes: &[u8]) -> std::io::Result<()> {
    assert!(
        bytes.len() >= CHECKPOINT_BYTES_MIN
            && (bytes.starts_with(&CHECKPOINT_MAGIC) || sealed::is_sealed(bytes)),
        "not an encoded checkpoint ({} bytes)",
        bytes.len()
    );
    let path = checkpoint_path(dir);
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let file = fs.open(&tmp, OpenMode::CreateTruncate)?;
    let mut offset = 0u64;
    for chunk in bytes.chunks(SYNC_CHUNK_BYTES) {
        file.write_all_at(chunk, offset)?;
        file.sync_data()?;
        offset += chunk.len() as u64;
    }
    drop(file);
    fs.rename(&tmp, &path)?;
    fs.sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::format::{encode, DirPosition};
    use crate::io::{Fault, SimFs};
    use crate::wal::EventPtr;

    fn image(events: u64, created_ms: u64) -> Vec<u8> {
        encode(&CheckpointImage {
            created_ms,
            seq_next: events + 1,
            txid_next: 1,
            segment_next: 2,
            positions: vec![DirPosition {
                dir: "/d".to_owned(),
                segment: 1,
                offset: 64,
            }],
            deps: Vec::new(),
            dedup: Default::default(),
            cursors: Vec::new(),
            entries: (0..events)
                .map(|seq| {
                    let offset = u32::try_from(64 + seq * 100).unwrap();
                    (seq, EventPtr { segment: 1, offset })
                })
                .collect(),
        })
    }

    #[test]
    fn a_crash_at_any_operation_of_a_chunked_write_leaves_the_old_image_or_the_new() {
        let dir = Path::new("/c");
        let old = image(10, 1);
        // Three chunks and a bit.
        let new = image(3 * (SYNC_CHUNK_BYTES as u64) / 16 + 100, 2);
        assert!(new.len() > 3 * SYNC_CHUNK_BYTES);
        let probe = SimFs::new(0);
        probe.create_dir_all(dir).unwrap();
        write(&probe, dir, &old).unwrap();
        let before = probe.op_count();
        write(&probe, dir, &new).unwrap();
        let ops = probe.op_count() - before;
        assert!(ops >= 8, "{ops} operations: not written in chunks");
        for k in 0..=ops {
            let fs = SimFs::new(k);
            fs.create_dir_all(dir).unwrap();
            write(&fs, dir, &old).unwrap();
            fs.inject(Fault::Crash {
                at: fs.op_count() + k,
            });
            let _ = write(&fs, dir, &new);
            let img = fs.crash_image(k);
            let got = load(&img, dir).unwrap();
            assert!(
                got.created_ms == 1 || got.created_ms == 2,
                "crash at op {k}"
            );
            if k == ops {
                assert_eq!(got.created_ms, 2, "the whole write was durable");
            }
        }
    }
}
