//! Exactly-once output for the `hdfs` sink on a local path, HDFS or S3 (docs/exactly-once.md).
//!
//! After each delivered batch the sink describes its output as a [`Snapshot`]: the last file
//! number it gave out and the length of every open file. On a file channel the take commits
//! that snapshot as the sink's cursor, in the same commit record. Every change after it is an
//! append to a file the snapshot lists, a rename of one (a roll) or a file with a higher
//! number, so [`cut_back`] can restore the snapshot's state exactly: each listed file cut to
//! its length (recovered from in use, or cut where a roll published it) and every newer file
//! of the sink removed. The channel gives the takes that never committed again, and their
//! events are written once.
//!
//! The sink cuts back at start (to the cursor the channel recovered) and after a failed batch
//! (to its last delivered snapshot), before it writes anything else. A snapshot too large for
//! a cursor ([`CURSOR_VALUE_BYTES_MAX`], about 60 open files) is committed as `overflow`: the
//! output is then not cut back (at least once) until a batch with fewer open files commits.
//!
//! `flat::resume` is `file_roll`'s cursor: one file and its length, in Flume's flat layout.

use std::io;
use std::path::{Path, PathBuf};

use super::bucket::Naming;
use super::format::Layout;
use super::store::{Store, ToRecover};
use sluice_core::CURSOR_VALUE_BYTES_MAX;

const MAGIC: &str = "sluice-hdfs 1";

/// The sink's output after a delivered batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The directory below which the sink's files are found (its path's literal root).
    pub root: PathBuf,
    /// The last file number given out: every later file has a higher one.
    pub counter: u64,
    /// The open files (in-use paths) and their lengths.
    pub files: Vec<(PathBuf, u64)>,
}

/// A decoded cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resume {
    /// The output as the last committed take left it.
    At(Snapshot),
    /// The last committed take's snapshot did not fit in a cursor: nothing to cut back to.
    Overflow,
}

impl Snapshot {
    /// The cursor: text lines, `overflow` when the snapshot does not fit.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = format!("{MAGIC}\n{}\n{}\n", self.counter, self.root.display());
        for (path, len) in &self.files {
            s.push_str(&format!("{len}\t{}\n", path.display()));
        }
        if s.len() > CURSOR_VALUE_BYTES_MAX || self.paths_unprintable() {
            return format!("{MAGIC}\noverflow\n").into_bytes();
        }
        s.into_bytes()
    }

    /// Whether a path cannot be written as a line of UTF-8 text (and read back the same).
    fn paths_unprintable(&self) -> bool {
        std::iter::once(&self.root)
            .chain(self.files.iter().map(|(p, _)| p))
            .any(|p| p.to_str().is_none_or(|t| t.contains(['\n', '\t'])))
    }
}

/// Reads a cursor written by [`Snapshot::encode`]; `None` when it is not one.
pub fn decode(cursor: &[u8]) -> Option<Resume> {
    let text = std::str::from_utf8(cursor).ok()?;
    let mut lines = text.strip_suffix('\n')?.split('\n');
    if lines.next()? != MAGIC {
        return None;
    }
    let counter = lines.next()?;
    if counter == "overflow" {
        return Some(Resume::Overflow);
    }
    let counter = counter.parse().ok()?;
    let root = PathBuf::from(lines.next()?);
    let mut files = Vec::new();
    for line in lines {
        let (len, path) = line.split_once('\t')?;
        let path = PathBuf::from(path);
        // A file the sink wrote is below its root: a listed path elsewhere (a forged or
        // damaged cursor) is not this sink's cursor, and nothing is cut by it.
        if !below(&path, &root) {
            return None;
        }
        files.push((path, len.parse().ok()?));
    }
    Some(Resume::At(Snapshot {
        root,
        counter,
        files,
    }))
}

/// Whether `path` is strictly below `root`, without a `..` that could climb out of it.
fn below(path: &Path, root: &Path) -> bool {
    use std::path::Component;
    path != root
        && path.starts_with(root)
        && !path.components().any(|c| matches!(c, Component::ParentDir))
}

/// What [`cut_back`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CutBack {
    /// Bytes cut from the listed files (uncommitted batches and torn tails).
    pub cut: u64,
    /// Newer files removed, with their lengths.
    pub removed: Vec<(PathBuf, u64)>,
    /// Bytes the snapshot counts that the files no longer have (written and then lost to
    /// something outside the sink: a file removed by hand, a store that lost synced data).
    pub missing: u64,
}

/// Which files are newer than the snapshot.
#[derive(Debug)]
pub enum Newer<'a> {
    /// Those of ours among these files (at start: every file below the snapshot's root, the
    /// listing start-up recovery uses too) with a higher number.
    Among(&'a [PathBuf]),
    /// These in-use paths (a failed batch: the sink knows what it opened since).
    Listed(&'a [PathBuf]),
}

/// The final path of an in-use path.
fn target_of(naming: &Naming, in_use: &Path) -> PathBuf {
    let name = in_use.file_name().and_then(|n| n.to_str());
    match name.and_then(|n| naming.final_of_in_use(n)) {
        Some(f) => in_use.with_file_name(f),
        None => in_use.to_owned(),
    }
}

/// Restores the output to `snap`: see the module's documentation.
pub fn cut_back(
    store: &dyn Store,
    naming: &Naming,
    layout: Layout,
    snap: &Snapshot,
    newer: Newer<'_>,
) -> io::Result<CutBack> {
    let mut done = CutBack::default();
    for (in_use, len) in &snap.files {
        let target = target_of(naming, in_use);
        if in_use != &target && store.exists(in_use)? {
            let r = store.recover(ToRecover {
                in_use,
                target: &target,
                layout,
                limit: Some(*len),
            })?;
            done.cut += r.cut;
            done.missing += len.saturating_sub(r.kept);
        } else if store.exists(&target)? {
            done.cut += store.cut_published(&target, *len)?;
            done.missing += len.saturating_sub(store.len(&target)?);
        } else {
            done.missing += len;
        }
    }
    let mut newer_files = Vec::new();
    match newer {
        Newer::Listed(paths) => {
            for in_use in paths {
                newer_files.push(in_use.clone());
                let target = target_of(naming, in_use);
                if &target != in_use {
                    newer_files.push(target);
                }
            }
        }
        Newer::Among(files) => newer_files.extend(
            files
                .iter()
                .filter(|p| {
                    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                    let final_name = naming.final_of_in_use(name).unwrap_or(name);
                    naming
                        .counter_of(final_name)
                        .is_some_and(|c| c > snap.counter)
                })
                .cloned(),
        ),
    }
    for path in newer_files {
        if !store.exists(&path)? {
            continue;
        }
        let len = store.len(&path)?;
        store.remove(&path)?;
        done.removed.push((path, len));
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(files: usize) -> Snapshot {
        Snapshot {
            root: PathBuf::from("/data/logs"),
            counter: 1_764_000_000_123,
            files: (0..files)
                .map(|i| {
                    (
                        PathBuf::from(format!("/data/logs/2026/11/25/FlumeData.{i}.tmp")),
                        i as u64 * 1000,
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn a_snapshot_reads_back_as_written() {
        for n in [0, 1, 7] {
            let s = snap(n);
            assert_eq!(decode(&s.encode()), Some(Resume::At(s)));
        }
    }

    #[test]
    fn a_snapshot_too_large_for_a_cursor_is_committed_as_overflow() {
        let s = snap(200);
        let bytes = s.encode();
        assert!(bytes.len() <= CURSOR_VALUE_BYTES_MAX);
        assert_eq!(decode(&bytes), Some(Resume::Overflow));
    }

    #[test]
    fn a_path_that_would_break_the_lines_is_committed_as_overflow() {
        let mut s = snap(1);
        s.files[0].0 = PathBuf::from("/data/a\tb");
        assert_eq!(decode(&s.encode()), Some(Resume::Overflow));
    }

    #[test]
    fn a_listed_file_outside_the_root_makes_the_cursor_not_this_sinks() {
        let mut s = snap(1);
        s.files = vec![(PathBuf::from("/var/lib/x"), 0)];
        assert_eq!(decode(&s.encode()), None);
        s.files = vec![(s.root.join("../../var/lib/x"), 0)];
        assert_eq!(decode(&s.encode()), None);
        let s = snap(1);
        assert!(decode(&s.encode()).is_some());
    }

    #[test]
    fn other_cursors_are_not_snapshots() {
        for c in [
            &b""[..],
            b"12\t/a/b",
            b"sluice-hdfs 1\nx\n/r\n",
            b"sluice-hdfs 1\n5\n/r\nzz\t/a\n",
        ] {
            assert_eq!(decode(c), None, "{c:?}");
        }
    }
}
