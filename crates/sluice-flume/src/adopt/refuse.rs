//! What stops an adoption before it writes: a live Flume holding its lock, a target
//! directory (not in place) holding someone's files, and an encrypted Flume channel whose
//! events the new channel would write in plaintext.

use std::path::Path;

use super::request::{AdoptError, AdoptRequest};
use super::staging;
use crate::{FlumeDirs, FlumeReport};
use sluice_core::io::{Fs, LOCK_FILE_NAME};

/// Refuses a Flume channel whose `in_use.lock` a live process holds.
pub(super) fn refuse_live_flume(fs: &dyn Fs, dirs: &FlumeDirs) -> Result<(), AdoptError> {
    let all = std::iter::once(&dirs.checkpoint_dir)
        .chain(&dirs.backup_checkpoint_dir)
        .chain(&dirs.data_dirs);
    for d in all {
        let lock = d.join(LOCK_FILE_NAME);
        if !fs.exists(&lock) {
            continue;
        }
        match fs.posix_lock_holder(&lock) {
            Ok(Some(pid)) => return Err(AdoptError::FlumeRunning { path: lock, pid }),
            Ok(None) => {}
            Err(source) => {
                return Err(AdoptError::Io {
                    op: "check the lock of",
                    path: lock,
                    source,
                })
            }
        }
    }
    Ok(())
}

/// Refuses a target directory (not in place) holding anything but an adoption's own files.
pub(super) fn refuse_non_empty(fs: &dyn Fs, dir: &Path) -> Result<(), AdoptError> {
    let Ok(names) = fs.list_dir(dir) else {
        return Ok(());
    };
    let other: Vec<String> = names
        .into_iter()
        .filter(|n| !staging::is_adoption_file(n))
        .take(3)
        .collect();
    if other.is_empty() {
        Ok(())
    } else {
        Err(AdoptError::TargetNotEmpty {
            dir: dir.to_path_buf(),
            found: other.join(", "),
        })
    }
}

/// Refuses to write an encrypted Flume channel's events in plaintext unless allowed.
pub(super) fn refuse_downgrade(
    report: &FlumeReport,
    req: &AdoptRequest<'_>,
) -> Result<(), AdoptError> {
    let sealed: Vec<_> = report
        .files
        .iter()
        .filter_map(|(p, _, alias)| alias.as_ref().map(|a| (p, a)))
        .collect();
    match sealed.first() {
        Some((example, alias)) if req.target.encryption.is_none() && !req.allow_plaintext => {
            Err(AdoptError::WouldDowngrade {
                files: sealed.len(),
                example: (*example).clone(),
                alias: (*alias).clone(),
            })
        }
        _ => Ok(()),
    }
}
