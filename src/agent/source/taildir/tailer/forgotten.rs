//! Files the tailer stopped following after reading them to their end (no longer matched:
//! rotated away or between two names), remembered so that one seen again under a matching
//! name is followed on from where it was, not read again from its start. A logrotate-style
//! rotation renames `app.log.1` to `app.log.2` between a scan's listing and its stat, so the
//! file is missed by that scan, read to its end and forgotten, and found by the next one
//! under its new name: without this memory, a new file read from 0 (issue 81: a whole file
//! of 149,797 lines sent twice).
//!
//! A file is known again by its inode and birth time (an inode reused by a later file has
//! another birth time), or, where the file system keeps no birth time, by the fingerprint of
//! its committed bytes; without either it is taken as a new file. Bounded by
//! [`FORGOTTEN_MAX`], the oldest dropped first.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use super::{Releasing, Tailer};
use crate::agent::source::taildir::fingerprint::{self, Fingerprint};

/// Most forgotten files remembered.
pub(crate) const FORGOTTEN_MAX: usize = 10_000;

/// Where a forgotten file was.
#[derive(Debug, Clone)]
pub(crate) struct Forgotten {
    pub inode: u64,
    /// Its committed position.
    pub pos: u64,
    /// The end of what was read of it (past `pos` while its last batch is in flight).
    pub read: u64,
    pub born_ns: u64,
    pub fingerprint: Option<Fingerprint>,
    pub origin: Option<u64>,
}

/// The forgotten files, oldest first.
#[derive(Debug, Default)]
pub(crate) struct ForgottenFiles {
    list: VecDeque<Forgotten>,
}

impl ForgottenFiles {
    /// Remembers `f` (replacing an older entry of its inode).
    pub(crate) fn remember(&mut self, f: Forgotten) {
        self.list.retain(|o| o.inode != f.inode);
        if self.list.len() >= FORGOTTEN_MAX {
            self.list.pop_front();
        }
        self.list.push_back(f);
    }

    /// Takes the entry of `inode`, if any.
    fn take(&mut self, inode: u64) -> Option<Forgotten> {
        let i = self.list.iter().position(|f| f.inode == inode)?;
        self.list.remove(i)
    }

    /// Drops the entry of `inode` (the file was given up or read afresh).
    pub(crate) fn drop_inode(&mut self, inode: u64) {
        self.list.retain(|f| f.inode != inode);
    }
}

/// Whether the file at `path` of `len` bytes born at `born_ns` is the forgotten `f`.
fn same_file(f: &Forgotten, path: &Path, born_ns: u64, len: u64) -> bool {
    if len < f.read {
        return false;
    }
    if f.born_ns != 0 && born_ns != 0 {
        return f.born_ns == born_ns;
    }
    f.fingerprint
        .as_ref()
        .is_some_and(|fp| fingerprint::holds(path, f.inode, fp))
}

impl Tailer {
    /// The forgotten file (or the file whose last batch is in flight) of `inode`, if the file
    /// now at `path` is it: taken out of the memory (and out of `releasing`: followed again,
    /// its spool link kept).
    pub(super) fn found_again(
        &mut self,
        inode: u64,
        path: &Path,
        born_ns: u64,
        len: u64,
    ) -> Option<(Forgotten, Option<PathBuf>)> {
        let f = self.forgotten.take(inode)?;
        if !same_file(&f, path, born_ns, len) {
            return None;
        }
        let link = self
            .releasing
            .remove(&inode)
            .and_then(|r: Releasing| r.link);
        Some((f, link))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(inode: u64) -> Forgotten {
        Forgotten {
            inode,
            pos: 10,
            read: 10,
            born_ns: 5,
            fingerprint: None,
            origin: None,
        }
    }

    #[test]
    fn the_memory_keeps_one_entry_per_inode_and_at_most_the_limit() {
        let mut m = ForgottenFiles::default();
        m.remember(f(1));
        m.remember(f(1));
        assert_eq!(m.list.len(), 1);
        for i in 0..FORGOTTEN_MAX as u64 + 5 {
            m.remember(f(i + 2));
        }
        assert_eq!(m.list.len(), FORGOTTEN_MAX);
        assert!(m.take(2).is_none(), "the oldest went first");
    }

    #[test]
    fn a_file_is_the_same_by_birth_time_and_never_when_shorter_than_what_was_read() {
        let p = Path::new("/nonexistent");
        assert!(same_file(&f(1), p, 5, 10));
        assert!(
            !same_file(&f(1), p, 6, 10),
            "an inode reused by a later file"
        );
        assert!(!same_file(&f(1), p, 5, 9), "shorter: rewritten");
        let mut no_birth = f(1);
        no_birth.born_ns = 0;
        assert!(
            !same_file(&no_birth, p, 0, 10),
            "nothing to tell it by: a new file"
        );
    }
}
