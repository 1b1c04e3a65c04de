//! The adoption's state on disk, so a rerun after a kill at any moment ends where an
//! uninterrupted run would. The new channel is written into `.sluice-adopt/` inside each
//! target directory (same file system: moving its files up is a rename each); the file
//! `adopt.state` in the target checkpoint directory names the phase:
//!
//! - `writing`: the staged channel is incomplete; a rerun empties the staging and starts over
//!   (Flume's files are untouched in this phase).
//! - `moving <folder> <events>`: the staged channel is durable; in place, Flume's files are
//!   being moved into `<folder>` (`flume-adopted-<time>`) in each directory.
//! - `raising <folder> <events>`: Flume's files are all moved; the staged files are being
//!   moved up into the directories.
//!
//! The state file goes last, after every move is durable. A file channel refuses to open a
//! directory holding it ([`ADOPT_STATE`]), so a half-adopted channel never runs.

use std::path::{Path, PathBuf};

use super::request::AdoptError;
use sluice_core::io::{read_file, write_file_atomic, EntryKind, Fs, OwnEnd};

/// The state file's name, in the target checkpoint directory: the core's, which refuses a
/// channel whose checkpoint directory holds it.
pub use sluice_core::ADOPT_STATE;
/// The file a finished adoption leaves in the target checkpoint directory (`done <events>`),
/// so that a rerun after a kill that came just too late says so instead of refusing.
pub const ADOPT_DONE: &str = "adopt.done";
/// The staging directory's name, in every target directory.
pub const STAGING: &str = ".sluice-adopt";
/// The prefix of the folder Flume's files are moved into, in place.
pub const ADOPTED_PREFIX: &str = "flume-adopted-";

/// Where an adoption stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// No adoption under way.
    Idle,
    /// The staged channel is being written.
    Writing,
    /// Flume's files are moving into the folder; the staged channel holds `events`.
    Moving(String, u64),
    /// The staged files are moving up.
    Raising(String, u64),
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> AdoptError + 'a {
    move |source| AdoptError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

impl Phase {
    /// Where the phase stands in an adoption's one order (Idle, Writing, Moving, Raising):
    /// a run only ever moves forward, then back to Idle when done.
    pub fn step(&self) -> u8 {
        match self {
            Phase::Idle => 0,
            Phase::Writing => 1,
            Phase::Moving(..) => 2,
            Phase::Raising(..) => 3,
        }
    }

    /// The state file's text (none for Idle: the file is removed).
    fn text(&self) -> Option<String> {
        match self {
            Phase::Idle => None,
            Phase::Writing => Some("writing\n".to_string()),
            Phase::Moving(f, n) => Some(format!("moving {f} {n}\n")),
            Phase::Raising(f, n) => Some(format!("raising {f} {n}\n")),
        }
    }

    /// The phase a state file's `text` names, if it names one.
    fn parse(text: &str) -> Option<Phase> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let events = |w: Option<&&str>| w.and_then(|w| w.parse::<u64>().ok());
        match (words.first().copied(), words.get(1), events(words.get(2))) {
            (Some("writing"), None, _) => Some(Phase::Writing),
            (Some("moving"), Some(f), Some(n)) => Some(Phase::Moving((*f).to_string(), n)),
            (Some("raising"), Some(f), Some(n)) => Some(Phase::Raising((*f).to_string(), n)),
            _ => None,
        }
    }
}

/// Reads the phase from `checkpoint_dir`.
pub fn read_phase(fs: &dyn Fs, checkpoint_dir: &Path) -> Result<Phase, AdoptError> {
    let path = checkpoint_dir.join(ADOPT_STATE);
    if !fs.exists(&path) {
        return Ok(Phase::Idle);
    }
    let text = read_file(fs, &path).map_err(io("read", &path))?;
    let text = String::from_utf8_lossy(&text);
    Phase::parse(&text).ok_or_else(|| AdoptError::BadState {
        path,
        text: text.trim().chars().take(80).collect(),
    })
}

/// The events of the finished adoption recorded in `checkpoint_dir`, if there was one.
pub fn read_done(fs: &dyn Fs, checkpoint_dir: &Path) -> Result<Option<u64>, AdoptError> {
    let path = checkpoint_dir.join(ADOPT_DONE);
    if !fs.exists(&path) {
        return Ok(None);
    }
    let text = read_file(fs, &path).map_err(io("read", &path))?;
    let text = String::from_utf8_lossy(&text);
    match text.split_whitespace().collect::<Vec<_>>()[..] {
        ["done", n] => n.parse().map(Some).map_err(|_| AdoptError::BadState {
            path: path.clone(),
            text: text.trim().chars().take(80).collect(),
        }),
        _ => Err(AdoptError::BadState {
            path,
            text: text.trim().chars().take(80).collect(),
        }),
    }
}

/// The events of the adoption `checkpoint_dir` holds finished: `adopt.done` without
/// `adopt.state` (both at once: a kill came between writing the one and removing the other,
/// so the adoption still has its last step to take).
pub fn finished(fs: &dyn Fs, checkpoint_dir: &Path) -> Result<Option<u64>, AdoptError> {
    if read_phase(fs, checkpoint_dir)? != Phase::Idle {
        return Ok(None);
    }
    read_done(fs, checkpoint_dir)
}

/// Records a finished adoption of `events` durably, then removes the state file.
pub fn write_done(fs: &dyn Fs, checkpoint_dir: &Path, events: u64) -> Result<(), AdoptError> {
    let path = checkpoint_dir.join(ADOPT_DONE);
    let text = format!("done {events}\n");
    // Checked before the write: what a rerun reads back is the count written.
    assert_eq!(
        text.split_whitespace()
            .nth(1)
            .and_then(|n| n.parse::<u64>().ok()),
        Some(events),
        "invariant: adopt.done reads back the events it records"
    );
    write_file_atomic(fs, &path, text.as_bytes()).map_err(io("write", &path))?;
    write_phase(fs, checkpoint_dir, &Phase::Idle)
}

/// Writes `phase` durably into `checkpoint_dir` (removing the file for [`Phase::Idle`]).
pub fn write_phase(fs: &dyn Fs, checkpoint_dir: &Path, phase: &Phase) -> Result<(), AdoptError> {
    let path = checkpoint_dir.join(ADOPT_STATE);
    let Some(text) = phase.text() else {
        if fs.exists(&path) {
            fs.remove_file(&path).map_err(io("remove", &path))?;
            fs.sync_dir(checkpoint_dir)
                .map_err(io("sync", checkpoint_dir))?;
        }
        return Ok(());
    };
    // Checked before the write: a rerun after a kill reads back this very phase (a folder
    // name with a space would not), never a `BadState` of our own making.
    assert_eq!(
        Phase::parse(&text).as_ref(),
        Some(phase),
        "invariant: adopt.state reads back the phase written"
    );
    fs.create_dir_all(checkpoint_dir)
        .map_err(io("create", checkpoint_dir))?;
    write_file_atomic(fs, &path, text.as_bytes()).map_err(io("write", &path))
}

/// What `path` must be, where the adoption creates, empties, moves or removes things.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Own {
    /// A directory of the adoption's own (`.sluice-adopt`, `flume-adopted-<time>`).
    Dir,
    /// A file of the adoption's own (`adopt.state`, `adopt.done`).
    File,
}

/// Refuses `path` unless it is absent or what the adoption itself made: a directory (or
/// file) owned by this process's user, not a link, a FIFO or another user's. Links are not
/// followed (`lstat`), so nothing is ever emptied, moved or removed through one.
pub fn guard_own(fs: &dyn Fs, path: &Path, want: Own) -> Result<(), AdoptError> {
    let info = match fs.entry_info(path) {
        Ok(i) => i,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io("inspect", path)(e)),
    };
    let kind_ok = match want {
        Own::Dir => info.kind == EntryKind::Dir,
        Own::File => info.kind == EntryKind::File,
    };
    if kind_ok && info.own {
        return Ok(());
    }
    Err(AdoptError::NotOwn {
        path: path.to_path_buf(),
        found: if kind_ok {
            format!("owned by uid {}, another user", info.uid)
        } else {
            info.kind.describe().to_string()
        },
    })
}

/// Checks, before anything is removed or moved, every path of `dirs` an adoption creates,
/// empties, moves or removes: each `.sluice-adopt` and `flume-adopted-*`, and the state files
/// in `checkpoint_dir`.
pub fn guard_all(fs: &dyn Fs, dirs: &[PathBuf], checkpoint_dir: &Path) -> Result<(), AdoptError> {
    for name in [ADOPT_STATE, ADOPT_DONE] {
        guard_own(fs, &checkpoint_dir.join(name), Own::File)?;
    }
    for d in dirs {
        guard_own(fs, &d.join(STAGING), Own::Dir)?;
        let Ok(names) = fs.list_dir(d) else { continue };
        for n in names.iter().filter(|n| n.starts_with(ADOPTED_PREFIX)) {
            guard_own(fs, &d.join(n), Own::Dir)?;
        }
    }
    Ok(())
}

/// Empties and removes `dir/.sluice-adopt` (files only: the staged channel has no folders).
pub fn clear_staging(fs: &dyn Fs, dir: &Path) -> Result<(), AdoptError> {
    let staging = dir.join(STAGING);
    guard_own(fs, &staging, Own::Dir)?;
    if !fs.exists(&staging) {
        return Ok(());
    }
    // Through a descriptor: a link swapped in after the check above empties nothing.
    fs.remove_own_dir(&staging)
        .map_err(io("empty and remove", &staging))?;
    fs.sync_dir(dir).map_err(io("sync", dir))
}

/// Whether `name` in a target directory is the adoption's own: its staging folder, its state
/// files, or a state file's temporary (left by a kill between its write and its rename).
pub fn is_adoption_file(name: &str) -> bool {
    let base = name.strip_suffix(".tmp").unwrap_or(name);
    base == ADOPT_STATE || base == ADOPT_DONE || name == STAGING
}

/// Moves every entry of `dir` but the adoption's own into `dir/folder` (Flume's files, in
/// place); what an earlier run moved is not there any more, so a rerun moves the rest.
pub fn move_flume_files(fs: &dyn Fs, dir: &Path, folder: &str) -> Result<(), AdoptError> {
    let dest = dir.join(folder);
    guard_own(fs, &dest, Own::Dir)?;
    fs.create_dir_all(&dest).map_err(io("create", &dest))?;
    guard_own(fs, &dest, Own::Dir)?;
    let names: Vec<String> = fs
        .list_dir(dir)
        .map_err(io("list", dir))?
        .into_iter()
        .filter(|n| !is_adoption_file(n) && !n.starts_with(ADOPTED_PREFIX))
        .collect();
    // Between descriptors: a link swapped in for the folder after the check moves nothing.
    fs.move_entries(dir, &dest, &names, OwnEnd::To)
        .map_err(io("move Flume's files into", &dest))?;
    fs.sync_dir(&dest).map_err(io("sync", &dest))?;
    fs.sync_dir(dir).map_err(io("sync", dir))
}

/// Moves the staged files of `dir` up into it and removes the staging directory.
pub fn raise_staging(fs: &dyn Fs, dir: &Path) -> Result<(), AdoptError> {
    let staging = dir.join(STAGING);
    guard_own(fs, &staging, Own::Dir)?;
    if !fs.exists(&staging) {
        return Ok(());
    }
    let names = fs.list_dir(&staging).map_err(io("list", &staging))?;
    fs.move_entries(&staging, dir, &names, OwnEnd::From)
        .map_err(io("move the staged files out of", &staging))?;
    fs.sync_dir(dir).map_err(io("sync", dir))?;
    fs.remove_dir(&staging).map_err(io("remove", &staging))?;
    fs.sync_dir(dir).map_err(io("sync", dir))
}

/// `dir/.sluice-adopt`.
pub fn staged(dir: &Path) -> PathBuf {
    dir.join(STAGING)
}
