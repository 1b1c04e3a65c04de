//! The `--backup-directory` copy of a configuration read from URIs, as Flume 1.11's
//! `UriConfigurationProvider` keeps it: `DIR/.AGENT.properties`, written after every fetch
//! that read every URI, and read at start when a URI cannot be. Unlike Flume's, it holds the
//! values as written (`${...}` still unresolved, so a secret from the environment or a config
//! filter never lands on disk), and it is replaced atomically: a temporary file, fsynced,
//! renamed over the old one, the directory fsynced.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the configuration backup (--backup-directory) is on the real disk and tested there (DESIGN.md, the agent's std::fs rule)"
)]

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::agent::config::{files, properties, ConfFile};

/// Failure to write or read the backup, with the path.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// An I/O step failed.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done (`writing`, `renaming to`, ...).
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> BackupError + 'a {
    move |source| BackupError::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

/// The backup file of `agent` in `dir` (Flume's name, `.AGENT.properties`).
pub fn path(dir: &Path, agent: &str) -> PathBuf {
    dir.join(format!(".{agent}.properties"))
}

/// The text of the backup: the files merged as the loader merges them (a later file's key
/// replaces an earlier one's), one line per key, values as written.
pub fn text(files: &[ConfFile]) -> String {
    let (entries, _) = files::merge(files);
    let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut last: Vec<(String, String)> = Vec::with_capacity(entries.len());
    for (e, _) in entries {
        match at.get(&e.key).and_then(|&i| last.get_mut(i)) {
            Some(slot) => slot.1 = e.value,
            None => {
                at.insert(e.key.clone(), last.len());
                last.push((e.key, e.value));
            }
        }
    }
    properties::store(&last)
}

/// Writes `text` as the backup of `agent` in `dir` (made if missing), atomically and durably.
pub fn write(dir: &Path, agent: &str, text: &str) -> Result<PathBuf, BackupError> {
    std::fs::create_dir_all(dir).map_err(io("creating", dir))?;
    let target = path(dir, agent);
    let tmp = dir.join(format!(".{agent}.properties.tmp"));
    // Made fresh (O_EXCL): a link planted at the temporary's name is removed, never followed.
    let mut f = crate::agent::nofollow::create_fresh(&tmp).map_err(io("creating", &tmp))?;
    f.write_all(text.as_bytes()).map_err(io("writing", &tmp))?;
    f.sync_all().map_err(io("fsyncing", &tmp))?;
    drop(f);
    std::fs::rename(&tmp, &target).map_err(io("renaming", &tmp))?;
    let d = std::fs::File::open(dir).map_err(io("opening", dir))?;
    d.sync_all().map_err(io("fsyncing", dir))?;
    Ok(target)
}

/// The backup of `agent` in `dir`: `None` when there is none.
pub fn read(dir: &Path, agent: &str) -> Result<Option<ConfFile>, BackupError> {
    let p = path(dir, agent);
    let read = crate::agent::nofollow::open_read(&p).and_then(|mut f| {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut f, &mut text).map(|_| text)
    });
    match read {
        Ok(text) => Ok(Some(ConfFile {
            name: p.display().to_string(),
            text,
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("reading", &p)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backup_holds_the_merged_values_as_written_and_reads_back() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("bk");
        let files = [
            ConfFile {
                name: "u1".into(),
                text: "a1.x = ${env:HOME}\na1.y = 1\n".into(),
            },
            ConfFile {
                name: "u2".into(),
                text: "a1.y = 2\n".into(),
            },
        ];
        let written = write(&dir, "a1", &text(&files)).unwrap();
        assert_eq!(written, dir.join(".a1.properties"));
        let back = read(&dir, "a1").unwrap().unwrap();
        assert_eq!(back.text, "a1.x = ${env:HOME}\na1.y = 2\n");
        assert!(read(&dir, "other").unwrap().is_none());
        assert!(!dir.join(".a1.properties.tmp").exists());
    }
}
