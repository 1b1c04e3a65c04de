//! Replacing a small state file atomically (the spooldir tracker, the TAILDIR position file,
//! the poison dead-letter file's directory sync):
//! write `<name>.tmp`, optionally fsync it, rename it over the file, optionally fsync the
//! directory. A reader sees the old or the new contents, never a mix. Without `durable`
//! the new contents survive a killed process (the page cache keeps them) but not a power
//! loss; with it they survive both.
//!
//! No link is followed (`super::nofollow`): the temporary is made fresh (whatever held its
//! name removed, then `O_EXCL`), and a state file read back that is a symbolic link is refused
//! naming it, so a link planted at `<name>` or `<name>.tmp` neither feeds the source nor
//! receives its state.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the file sources' state files, written and renamed on the real disk, tested there (DESIGN.md, the agent's std::fs rule)"
)]

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::nofollow;

/// Largest state file read back (a limit against a foreign or runaway file).
pub(crate) const STATE_FILE_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// The temporary name used while replacing `path`.
pub(crate) fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Replaces `path` by `bytes` (see the module docs).
pub(crate) fn replace(path: &Path, bytes: &[u8], durable: bool) -> std::io::Result<()> {
    let tmp = tmp_path(path);
    let result = (|| {
        let mut f = nofollow::create_fresh(&tmp)?;
        f.write_all(bytes)?;
        if durable {
            f.sync_all()?;
        }
        drop(f);
        std::fs::rename(&tmp, path)?;
        if durable {
            sync_parent(path)?;
        }
        Ok(())
    })();
    if result.is_err() {
        // Unlinks the name (a link itself, never its target).
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Fsyncs the directory holding `path` (so a rename, create or delete in it is durable).
pub(crate) fn sync_parent(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// Reads a state file of at most [`STATE_FILE_BYTES_MAX`]; `Ok(None)` if it does not exist.
/// A symbolic link there is refused ([`nofollow::LinkRefused`] naming it).
pub(crate) fn read(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    let f = match nofollow::open_read(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    if len > STATE_FILE_BYTES_MAX {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{len} bytes, more than the limit {STATE_FILE_BYTES_MAX}"),
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    f.take(STATE_FILE_BYTES_MAX).read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// Moves a damaged state file aside to `<name>.corrupt` (kept for the operator) and returns
/// the new name.
pub(crate) fn set_aside(path: &Path) -> std::io::Result<PathBuf> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".corrupt");
    let to = path.with_file_name(name);
    std::fs::rename(path, &to)?;
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_writes_new_contents_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        replace(&p, b"one", true).unwrap();
        replace(&p, b"two", false).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert!(!tmp_path(&p).exists());
        assert_eq!(read(&p).unwrap().unwrap(), b"two");
        assert!(read(&dir.path().join("none")).unwrap().is_none());
    }

    #[test]
    fn links_planted_at_the_state_file_or_its_temporary_are_refused_or_replaced_never_written_through(
    ) {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let p = dir.path().join("state.json");
        std::os::unix::fs::symlink(&victim, tmp_path(&p)).unwrap();
        replace(&p, b"one", true).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(read(&p).unwrap().unwrap(), b"one");
        std::fs::remove_file(&p).unwrap();
        std::os::unix::fs::symlink(&victim, &p).unwrap();
        let e = read(&p).unwrap_err();
        let refused = nofollow::link_refused(&e).map(|l| l.path.clone());
        assert_eq!(refused, Some(p.clone()), "{e}");
        // Replacing renames over the link itself: the target keeps its bytes.
        replace(&p, b"two", true).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(read(&p).unwrap().unwrap(), b"two");
    }

    #[test]
    fn replace_into_a_missing_directory_fails_and_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("no/such/state.json");
        assert!(replace(&p, b"x", true).is_err());
    }
}
