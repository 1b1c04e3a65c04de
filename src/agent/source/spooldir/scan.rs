//! Finding the next spool file, as Flume's ReliableSpoolingFileEventReader does: regular files
//! whose name does not start with `.`, does not end with `fileSuffix`, matches
//! `includePattern` and does not match `ignorePattern`; sub-directories too with
//! `recursiveDirectorySearch` (hidden ones and `trackerDir` skipped); then `consumeOrder`
//! (oldest or youngest modification time, ties by name; or random).
//!
//! A symbolic link in the spool (to a file or a directory) is never read, entered, renamed or
//! deleted through: whoever may drop files into `spoolDir` could otherwise make the agent ship
//! any file it can read, and with `recursiveDirectorySearch` and `deletePolicy = immediate`
//! delete files outside the spool. It is skipped with one WARN naming it.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use regex::Regex;

use super::config::{ConsumeOrder, SpoolDirConfig};

/// Most directory entries looked at per scan (a limit on one scan's memory and time).
pub(crate) const SCAN_ENTRIES_MAX: usize = 1_000_000;

/// Most skipped links remembered so that each is named once (past it, no more WARNs).
const WARNED_LINKS_MAX: usize = 10_000;

/// A file that may be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Candidate {
    /// Full path.
    pub path: PathBuf,
    /// Path relative to `spoolDir`, with `/`.
    pub rel: String,
    /// Inode.
    pub inode: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time.
    pub mtime: SystemTime,
}

/// The filters of one source.
#[derive(Debug)]
pub(crate) struct Filter {
    include: Regex,
    ignore: Regex,
    suffix: String,
    tracker_dir: PathBuf,
    recursive: bool,
    /// Links already named in a WARN.
    warned: Mutex<HashSet<PathBuf>>,
}

impl Filter {
    /// The filters of `cfg` (whose patterns were validated).
    pub(crate) fn new(cfg: &SpoolDirConfig) -> Result<Self, regex::Error> {
        Ok(Filter {
            include: cfg.include_regex()?,
            ignore: cfg.ignore_regex()?,
            suffix: cfg.file_suffix.clone(),
            tracker_dir: cfg.tracker_dir.clone(),
            recursive: cfg.recursive,
            warned: Mutex::new(HashSet::new()),
        })
    }

    /// Whether a file name is one to read.
    pub(crate) fn wants(&self, name: &str) -> bool {
        !name.starts_with('.')
            && !name.ends_with(&self.suffix)
            && self.include.is_match(name)
            && !self.ignore.is_match(name)
    }

    /// Names a skipped link once.
    fn warn_link(&self, path: &Path) {
        let Ok(mut warned) = self.warned.lock() else {
            return;
        };
        if warned.len() < WARNED_LINKS_MAX && warned.insert(path.to_path_buf()) {
            tracing::warn!(path = %path.display(), "a symbolic link in the spool directory: skipped (nothing is read, renamed or deleted through a link)");
        }
    }

    /// Every file to read under `root`; an unreadable `root` is an error, an unreadable
    /// sub-directory is skipped with a warning.
    pub(crate) fn scan(&self, root: &Path) -> std::io::Result<Vec<Candidate>> {
        let mut out = Vec::new();
        let mut dirs = vec![(root.to_path_buf(), String::new())];
        let mut seen = 0usize;
        let mut first = true;
        while let Some((dir, prefix)) = dirs.pop() {
            let rd = match std::fs::read_dir(&dir) {
                Ok(rd) => rd,
                Err(e) if first => return Err(e),
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "cannot list a spool sub-directory; skipped");
                    continue;
                }
            };
            first = false;
            for entry in rd {
                seen += 1;
                if seen > SCAN_ENTRIES_MAX {
                    tracing::warn!(
                        limit = SCAN_ENTRIES_MAX,
                        "spool directory scan stopped at the entry limit"
                    );
                    return Ok(out);
                }
                let Ok(entry) = entry else { continue };
                let name = entry.file_name().to_string_lossy().into_owned();
                let path = entry.path();
                // Never through a link: its own metadata, not its target's.
                let Ok(meta) = std::fs::symlink_metadata(&path) else {
                    continue;
                };
                if meta.file_type().is_symlink() {
                    self.warn_link(&path);
                    continue;
                }
                if meta.is_dir() {
                    if self.recursive && !name.starts_with('.') && path != self.tracker_dir {
                        dirs.push((path, format!("{prefix}{name}/")));
                    }
                    continue;
                }
                if !meta.is_file() || !self.wants(&name) {
                    continue;
                }
                out.push(Candidate {
                    path,
                    rel: format!("{prefix}{name}"),
                    inode: meta.ino(),
                    size: meta.len(),
                    mtime: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                });
            }
        }
        Ok(out)
    }
}

/// Orders candidates by `consumeOrder`.
pub(crate) fn order(files: &mut [Candidate], how: ConsumeOrder) {
    match how {
        ConsumeOrder::Oldest => files.sort_by(|a, b| a.mtime.cmp(&b.mtime).then(a.rel.cmp(&b.rel))),
        ConsumeOrder::Youngest => {
            files.sort_by(|a, b| b.mtime.cmp(&a.mtime).then(a.rel.cmp(&b.rel)))
        }
        ConsumeOrder::Random => fastrand::shuffle(files),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn filter(recursive: bool, include: &str, ignore: &str) -> Filter {
        Filter {
            include: Regex::new(&format!("^(?:{include})$")).unwrap(),
            ignore: Regex::new(&format!("^(?:{ignore})$")).unwrap(),
            suffix: ".COMPLETED".into(),
            tracker_dir: PathBuf::from("/none/.flumespool"),
            recursive,
            warned: Mutex::new(HashSet::new()),
        }
    }

    #[test]
    fn hidden_completed_and_ignored_names_are_skipped() {
        let f = filter(false, ".*\\.log", ".*skip.*");
        assert!(f.wants("a.log"));
        assert!(!f.wants(".a.log"));
        assert!(!f.wants("a.log.COMPLETED"));
        assert!(!f.wants("a.txt"));
        assert!(!f.wants("skip.log"));
    }

    #[test]
    fn scan_finds_files_in_subdirectories_only_when_recursive() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a"), b"1").unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("sub/b"), b"22").unwrap();
        std::fs::create_dir(d.path().join(".flumespool")).unwrap();
        std::fs::write(d.path().join(".flumespool/x"), b"").unwrap();
        let flat = filter(false, ".*", "^$").scan(d.path()).unwrap();
        assert_eq!(flat.len(), 1);
        let mut deep = filter(true, ".*", "^$").scan(d.path()).unwrap();
        deep.sort_by(|a, b| a.rel.cmp(&b.rel));
        let rels: Vec<&str> = deep.iter().map(|c| c.rel.as_str()).collect();
        assert_eq!(rels, ["a", "sub/b"]);
        assert_eq!(deep[1].size, 2);
    }

    #[test]
    fn links_to_files_and_directories_are_skipped_even_when_recursive() {
        let d = tempfile::tempdir().unwrap();
        let spool = d.path().join("spool");
        let outside = d.path().join("outside");
        std::fs::create_dir_all(&spool).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("victim"), b"secret").unwrap();
        std::fs::write(spool.join("real"), b"1").unwrap();
        std::os::unix::fs::symlink(outside.join("victim"), spool.join("file-link")).unwrap();
        std::os::unix::fs::symlink(&outside, spool.join("dir-link")).unwrap();
        for recursive in [false, true] {
            let found = filter(recursive, ".*", "^$").scan(&spool).unwrap();
            let rels: Vec<&str> = found.iter().map(|c| c.rel.as_str()).collect();
            assert_eq!(rels, ["real"], "recursive = {recursive}");
        }
    }

    #[test]
    fn an_unreadable_spool_dir_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        assert!(filter(false, ".*", "^$")
            .scan(&d.path().join("missing"))
            .is_err());
    }

    #[test]
    fn oldest_first_orders_by_mtime_then_name() {
        let t = SystemTime::UNIX_EPOCH;
        let c = |rel: &str, s: u64| Candidate {
            path: PathBuf::from(rel),
            rel: rel.into(),
            inode: 0,
            size: 0,
            mtime: t + Duration::from_secs(s),
        };
        let mut v = vec![c("b", 1), c("a", 2), c("c", 1)];
        order(&mut v, ConsumeOrder::Oldest);
        let names: Vec<&str> = v.iter().map(|c| c.rel.as_str()).collect();
        assert_eq!(names, ["b", "c", "a"]);
        order(&mut v, ConsumeOrder::Youngest);
        assert_eq!(v[0].rel, "a");
    }
}
