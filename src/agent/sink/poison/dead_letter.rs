//! A sink's dead letter: where its poison events go ([`super::PoisonHandler`]), on by default
//! so that no acknowledged event is lost to a default (issue 79).
//!
//! - `deadLetter.directory` unset: a directory `deadletter` beside the sink's channel, i.e.
//!   in the parent of a file channel's `checkpointDir` (`/var/lib/flume/ck` →
//!   `/var/lib/flume/deadletter`), or `./deadletter` in the agent's working directory for a
//!   memory or kafka channel ([`default_dir`]).
//! - `deadLetter.maxBytes` (default [`DEAD_LETTER_BYTES_DEFAULT`], 1 GiB): the file's bound. A
//!   batch whose poison events would take it over the bound is not committed (rolled back,
//!   retried after the runner's backoff: the sink stalls as Flume's does), with a WARN naming
//!   the file and what to do; nothing is dropped.
//! - `deadLetter.drop = true`: the only way to drop poison events (counted and logged).
//!
//! The file is `<directory>/<sink>.deadletter.jsonl`, one JSON object per event, fsynced
//! before the take commits. A failed write is cut back (no record twice, no torn line), and a
//! symbolic link at the directory or the file is refused, naming it ([`append_bounded`]).

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the poison dead-letter file is on the real disk and tested there (DESIGN.md, the agent's std::fs rule)"
)]

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::agent::config::Ctx;
use crate::agent::nofollow;

/// The default `deadLetter.maxBytes`: 1 GiB.
pub const DEAD_LETTER_BYTES_DEFAULT: u64 = 1 << 30;
/// The smallest `deadLetter.maxBytes` accepted (64 KiB: a few batches of poison events).
pub const DEAD_LETTER_BYTES_MIN: u64 = 64 << 10;
/// The name of the default dead-letter directory, beside the channel.
pub const DEFAULT_DIR_NAME: &str = "deadletter";
/// The dead-letter file of a sink: `<directory>/<sink>` + this.
pub const DEAD_LETTER_SUFFIX: &str = ".deadletter.jsonl";

/// What a sink does with its poison events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeadLetter {
    /// Appended to `<dir>/<sink>.deadletter.jsonl`, which never grows over `max_bytes`.
    Write {
        /// The directory (`deadLetter.directory`, or the default beside the channel).
        dir: PathBuf,
        /// `deadLetter.maxBytes`.
        max_bytes: u64,
    },
    /// Dropped, counted and logged (`deadLetter.drop = true`).
    Drop,
}

impl DeadLetter {
    /// Written to `dir`, bounded by the default `deadLetter.maxBytes`.
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        DeadLetter::Write {
            dir: dir.into(),
            max_bytes: DEAD_LETTER_BYTES_DEFAULT,
        }
    }
}

/// A sink's `deadLetter.*` keys as written, before the channel's default is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DeadLetterKeys {
    dir: Option<PathBuf>,
    drop: bool,
    max_bytes: u64,
}

/// Reads `deadLetter.directory`, `deadLetter.maxBytes` and `deadLetter.drop` (any sink type).
pub(crate) fn parse(cx: &mut Ctx<'_>) -> DeadLetterKeys {
    let dir = cx.get("deadLetter.directory");
    if dir.as_deref().is_some_and(|d| d.trim().is_empty()) {
        cx.error(
            "deadLetter.directory",
            "must not be empty; leave it unset for the default directory beside the channel, or set deadLetter.drop = true to drop poison events",
        );
    }
    let max_bytes = cx.bytes(
        "deadLetter.maxBytes",
        DEAD_LETTER_BYTES_DEFAULT,
        DEAD_LETTER_BYTES_MIN,
        u64::MAX,
    );
    let drop = cx.bool("deadLetter.drop", false);
    if drop && dir.is_some() {
        cx.error(
            "deadLetter.drop",
            "deadLetter.drop = true drops poison events, but deadLetter.directory is set too; keep one of them",
        );
    }
    DeadLetterKeys {
        dir: dir.filter(|d| !d.trim().is_empty()).map(PathBuf::from),
        drop,
        max_bytes,
    }
}

impl DeadLetterKeys {
    /// The sink's dead letter: its keys, the default directory beside its channel when
    /// `deadLetter.directory` is unset (`checkpoint_dir`: a file channel's `checkpointDir`).
    pub(crate) fn resolve(self, checkpoint_dir: Option<&Path>) -> DeadLetter {
        if self.drop {
            return DeadLetter::Drop;
        }
        DeadLetter::Write {
            dir: self.dir.unwrap_or_else(|| default_dir(checkpoint_dir)),
            max_bytes: self.max_bytes,
        }
    }
}

/// The default dead-letter directory of a sink: `deadletter` in the parent of its file
/// channel's `checkpointDir` (`checkpoint_dir`), else `./deadletter` (the agent's working
/// directory; `/var/lib/sluice` under the packaged systemd unit).
pub fn default_dir(checkpoint_dir: Option<&Path>) -> PathBuf {
    match checkpoint_dir.and_then(Path::parent) {
        Some(p) if !p.as_os_str().is_empty() => p.join(DEFAULT_DIR_NAME),
        _ => PathBuf::from(DEFAULT_DIR_NAME),
    }
}

/// Why poison events could not be set aside (the batch is then rolled back).
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    /// The blocking task that writes the dead letter failed.
    #[error("dead-letter writer: {0}")]
    Writer(#[source] tokio::task::JoinError),
    /// The dead letter could not be written or synced.
    #[error("cannot write the dead letter {}: {source}", path.display())]
    Write {
        /// The dead-letter file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The dead letter would grow over `deadLetter.maxBytes`.
    #[error("the dead letter {} is full: {used} bytes, and {more} more would pass deadLetter.maxBytes = {max}; move the file away (or raise deadLetter.maxBytes) and the sink goes on by itself", path.display())]
    Full {
        /// The dead-letter file.
        path: PathBuf,
        /// Its size.
        used: u64,
        /// The bytes of the batch's poison events.
        more: u64,
        /// `deadLetter.maxBytes`.
        max: u64,
    },
}

/// Appends `bytes` to `file` (created with `dir` if missing) and makes them durable, unless
/// the file would grow over `max_bytes` (then nothing is written). The size is read from the
/// file each time, so a file moved away by the operator frees the bound at once.
///
/// Neither `dir` nor `file` is followed if it is a symbolic link (refused, naming it: the
/// directory is opened `O_NOFOLLOW` and the file under it with `openat`), and the file must
/// be a regular file. A write or fsync that fails (ENOSPC, EIO) cuts the file back to where
/// the batch began, so the retry writes its records once and no torn line is left; a torn
/// last line left by a crash is cut before the next batch.
pub(crate) fn append_bounded(
    dir: &Path,
    file: &Path,
    bytes: &[u8],
    max_bytes: u64,
) -> Result<(), DeadLetterError> {
    let io = |source| DeadLetterError::Write {
        path: file.to_owned(),
        source,
    };
    let name = file.file_name().ok_or_else(|| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "a dead-letter file needs a name",
        ))
    })?;
    let (d, existing) = size_now(dir, name).map_err(io)?;
    let more = bytes.len() as u64;
    let now = existing.unwrap_or(0);
    if now.saturating_add(more) > max_bytes {
        return Err(DeadLetterError::Full {
            path: file.to_owned(),
            used: now,
            more,
            max: max_bytes,
        });
    }
    let d = match d {
        Some(d) => d,
        None => nofollow::make_dir(dir).map_err(io)?,
    };
    let flags = libc::O_RDWR | libc::O_CREAT | libc::O_APPEND | libc::O_NONBLOCK;
    let f = nofollow::open_at(&d, name, flags, 0o666, file).map_err(io)?;
    let start = whole_start(&f, file).map_err(io)?;
    if let Err(e) = (&f).write_all(bytes).and_then(|()| f.sync_data()) {
        // The batch is rolled back and retried: none of its records may stay behind.
        if let Err(cut) = f.set_len(start).and_then(|()| f.sync_data()) {
            tracing::error!(path = %file.display(), error = %cut, "cannot cut the dead letter back after a failed write; its last records may be there twice");
        }
        return Err(io(e));
    }
    if existing.is_none() {
        d.sync_all().map_err(io)?;
    }
    Ok(())
}

/// The dead-letter directory's handle (`None` when it does not exist yet) and the size of the
/// entry `name` in it (`None` when there is none), links not followed.
fn size_now(
    dir: &Path,
    name: &std::ffi::OsStr,
) -> std::io::Result<(Option<std::fs::File>, Option<u64>)> {
    let d = match nofollow::open_dir(dir) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((None, None)),
        Err(e) => return Err(e),
    };
    let size = match nofollow::lstat_at(&d, name) {
        Ok(st) => Some(st.size),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    Ok((Some(d), size))
}

/// Checks the opened dead letter is a regular file and cuts a torn last line (a crash in a
/// write); where the next batch begins.
fn whole_start(f: &std::fs::File, file: &Path) -> std::io::Result<u64> {
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let start = whole_end(f, meta.len())?;
    if start < meta.len() {
        f.set_len(start)?;
        tracing::warn!(path = %file.display(), cut_bytes = meta.len() - start, "cut a torn last line from the dead letter");
    }
    Ok(start)
}

/// Where the last whole line of a file of `len` bytes ends: `len` when it ends with a
/// newline (or is empty), else just after its last newline (0 if it has none).
fn whole_end(f: &std::fs::File, len: u64) -> std::io::Result<u64> {
    use std::os::unix::fs::FileExt;
    const STEP: u64 = 64 << 10;
    let mut last = [0u8; 1];
    if len == 0 {
        return Ok(0);
    }
    f.read_exact_at(&mut last, len - 1)?;
    if last[0] == b'\n' {
        return Ok(len);
    }
    let mut end = len;
    let mut buf = vec![0u8; STEP as usize];
    while end > 0 {
        let from = end.saturating_sub(STEP);
        let chunk = &mut buf[..(end - from) as usize];
        f.read_exact_at(chunk, from)?;
        if let Some(i) = memchr::memrchr(b'\n', chunk) {
            return Ok(from + i as u64 + 1);
        }
        end = from;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_directory_is_beside_a_file_channels_checkpoint_dir() {
        assert_eq!(
            default_dir(Some(Path::new("/var/lib/flume/ck"))),
            PathBuf::from("/var/lib/flume/deadletter")
        );
        assert_eq!(default_dir(None), PathBuf::from("deadletter"));
    }

    #[test]
    fn a_write_over_the_bound_is_refused_and_writes_nothing() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("k1.deadletter.jsonl");
        append_bounded(d.path(), &file, b"0123456789", 15).unwrap();
        let e = append_bounded(d.path(), &file, b"0123456789", 15).unwrap_err();
        assert!(
            matches!(
                e,
                DeadLetterError::Full {
                    used: 10,
                    more: 10,
                    max: 15,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("deadLetter.maxBytes"), "{e}");
        assert_eq!(std::fs::read(&file).unwrap(), b"0123456789");
        // Moved away by the operator: there is room again.
        std::fs::rename(&file, d.path().join("old")).unwrap();
        append_bounded(d.path(), &file, b"0123456789", 15).unwrap();
    }

    #[test]
    fn a_symlinked_dead_letter_file_or_directory_is_refused_by_name_and_the_victim_keeps_its_bytes()
    {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, b"precious\n").unwrap();
        let dir = d.path().join("dead");
        std::fs::create_dir(&dir).unwrap();
        let file = dir.join("k1.deadletter.jsonl");
        std::os::unix::fs::symlink(&victim, &file).unwrap();
        let e = append_bounded(&dir, &file, b"{}\n", 1 << 20).unwrap_err();
        assert!(
            e.to_string()
                .contains("is a symbolic link; refusing to follow it"),
            "{e}"
        );
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious\n");
        let elsewhere = d.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        let linked = d.path().join("linked");
        std::os::unix::fs::symlink(&elsewhere, &linked).unwrap();
        let e = append_bounded(
            &linked,
            &linked.join("k1.deadletter.jsonl"),
            b"{}\n",
            1 << 20,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("{} is a symbolic link", linked.display())),
            "{e}"
        );
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    }

    #[test]
    fn a_torn_last_line_is_cut_before_the_next_batch() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("k1.deadletter.jsonl");
        std::fs::write(&file, b"{\"a\":1}\n{\"b\":").unwrap();
        append_bounded(d.path(), &file, b"{\"c\":3}\n", 1 << 20).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"{\"a\":1}\n{\"c\":3}\n");
        assert_eq!(
            whole_end(&std::fs::File::open(&file).unwrap(), 0).unwrap(),
            0
        );
    }
}
