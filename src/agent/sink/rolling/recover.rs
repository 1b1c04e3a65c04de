//! Start-up recovery of in-use files left by a crash (or by a write that failed): each is cut
//! after its last whole unit (line, compressed unit, SequenceFile record, Avro block), synced,
//! and renamed to its final name as a normal close would, so no reader ever sees a
//! half-written file under a final name. A file with no whole unit is removed. Every cut is
//! logged with the bytes it cost.
//!
//! Files are found by walking the literal part of `hdfs.path` (the directories before the
//! first escape), at most [`WALK_DEPTH_MAX`] levels and [`WALK_ENTRIES_MAX`] entries deep.

use std::io;
use std::path::{Path, PathBuf};

use super::bucket::Naming;
use super::format::Layout;
pub use super::store::Recovered;
use super::store::{DirEntry, Store, ToRecover};

/// Deepest directory level searched below the path's literal root.
pub const WALK_DEPTH_MAX: usize = 16;
/// Most directory entries looked at.
pub const WALK_ENTRIES_MAX: usize = 200_000;

/// The directory to search: the template's literal part up to its last `/`.
pub fn search_root(literal_prefix: &str, whole_is_literal: bool) -> PathBuf {
    if whole_is_literal {
        return PathBuf::from(literal_prefix);
    }
    match literal_prefix.rfind('/') {
        Some(0) => PathBuf::from("/"),
        Some(i) => PathBuf::from(&literal_prefix[..i]),
        None => PathBuf::from("."),
    }
}

/// Whether `final_name` looks like one of ours: `<prefix>.<digits><suffix>`.
fn looks_like_ours(final_name: &str, naming: &Naming) -> bool {
    naming.counter_of(final_name).is_some()
}

/// Calls `f(dir, name)` for every file below `root` (not directories), at most
/// [`WALK_DEPTH_MAX`] levels and [`WALK_ENTRIES_MAX`] entries deep; nothing when `root` does
/// not exist.
pub fn walk(store: &dyn Store, root: &Path, f: &mut dyn FnMut(&Path, &str)) -> io::Result<()> {
    let mut stack = vec![(root.to_owned(), 0usize)];
    let mut seen = 0usize;
    while let Some((dir, depth)) = stack.pop() {
        let entries = match store.list_dir(&dir) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::NotFound && dir == root => return Ok(()),
            Err(e) => return Err(e),
        };
        for DirEntry { name, is_dir } in entries {
            seen += 1;
            if seen > WALK_ENTRIES_MAX {
                tracing::warn!(root = %root.display(), "stopped looking at the sink's files after {WALK_ENTRIES_MAX} entries");
                return Ok(());
            }
            if !is_dir {
                f(&dir, &name);
            } else if depth < WALK_DEPTH_MAX {
                stack.push((dir.join(&name), depth + 1));
            }
        }
    }
    Ok(())
}

/// What start-up recovery found.
#[derive(Debug, Default)]
pub struct Found {
    /// The in-use files recovered.
    pub recovered: Vec<Recovered>,
    /// The highest file number of ours seen (in use or final): new files get higher ones.
    pub last_counter: Option<u64>,
}

/// Every file below `root` (one [`walk`], and what [`Store::list_published`] adds), for
/// [`recover_all`] and the exactly-once cut back at start to share.
pub fn list_files(store: &dyn Store, root: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    walk(store, root, &mut |dir, name| files.push(dir.join(name)))?;
    files.extend(store.list_published(root)?);
    Ok(files)
}

/// Recovers every in-use file among `files` (a [`list_files`] of `root`), through the store
/// (which cuts and publishes each: [`recover_file`] on a local file system, lease recovery on
/// HDFS).
pub fn recover_all(
    store: &dyn Store,
    files: &[PathBuf],
    root: &Path,
    naming: &Naming,
    layout: Layout,
) -> io::Result<Found> {
    let mut found = Found::default();
    let mut in_use = Vec::new();
    for path in files {
        let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str()))
        else {
            continue;
        };
        let of_in_use = naming.final_of_in_use(name);
        let counter = naming.counter_of(of_in_use.unwrap_or(name));
        if counter.is_some() {
            found.last_counter = found.last_counter.max(counter);
        }
        if let Some(final_name) = of_in_use.filter(|f| looks_like_ours(f, naming)) {
            in_use.push((path.clone(), dir.join(final_name)));
        }
    }
    if naming.in_use_prefix.is_empty() && naming.in_use_suffix.is_empty() {
        tracing::warn!(root = %root.display(), "in-use files have no prefix or suffix: files left by a crash cannot be told apart and are not recovered");
        return Ok(found);
    }
    for (path, target) in in_use {
        let file = ToRecover {
            in_use: &path,
            target: &target,
            layout,
            limit: None,
        };
        match store.recover(file) {
            Ok(r) => found.recovered.push(r),
            Err(e) if store.skips_unrecoverable() && e.kind() == io::ErrorKind::WouldBlock => {
                tracing::warn!(path = %path.display(), error = %e, "cannot recover this in-use file now; it keeps its name until the next start");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(found)
}
