//! The directory locks of a channel: every checkpoint and data directory is locked while a
//! channel or a tool has it open, so a second agent or a repair cannot work beside it.

use std::path::Path;

use super::config::FileChannelConfig;
use super::error::ChannelError;
use crate::io::{DirLock, Fs};

/// The error of a failed `op` on `path`.
pub(super) fn io_err<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> ChannelError + 'a {
    move |source| ChannelError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

fn lock(fs: &dyn Fs, dir: &Path, create: bool) -> Result<Box<dyn DirLock>, ChannelError> {
    if create {
        fs.create_dir_all(dir)
            .map_err(io_err("create directory", dir))?;
    } else if !fs.exists(dir) {
        return Err(io_err("open directory", dir)(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such directory",
        )));
    }
    fs.lock_dir(dir).map_err(|e| {
        if e.kind() == std::io::ErrorKind::WouldBlock {
            ChannelError::Locked {
                dir: dir.to_path_buf(),
            }
        } else {
            ChannelError::Io {
                op: "lock",
                path: dir.to_path_buf(),
                source: e,
            }
        }
    })
}

/// Takes the locks of every directory of a channel (tools use this to refuse to work on a
/// channel an agent holds open). With `create`, missing directories are created (opening a
/// channel); without, a missing one is an error (read-only tools change nothing).
pub(crate) fn lock_all(
    fs: &dyn Fs,
    config: &FileChannelConfig,
    create: bool,
) -> Result<Vec<Box<dyn DirLock>>, ChannelError> {
    super::flume_dirs::refuse_flume_channel(fs, config)?;
    let mut dirs = vec![config.checkpoint_dir.clone()];
    if config.use_dual_checkpoints {
        if let Some(b) = &config.backup_checkpoint_dir {
            dirs.push(b.clone());
        }
    }
    dirs.extend(config.data_dirs.iter().cloned());
    let mut locks = Vec::with_capacity(dirs.len());
    for d in &dirs {
        locks.push(lock(fs, d, create)?);
    }
    Ok(locks)
}
