//! Which replay position of a checkpoint belongs to which data directory, whatever spelling of
//! the directory wrote it. Used by recovery (`missing`), and by `verify`'s checkpoint checks.

use std::path::{Path, PathBuf};

use crate::checkpoint::format::DirPosition;
use crate::io::Fs;
use crate::wal::replay::list_segments;

/// The replay position a checkpoint holds for data directory `dir`, whatever spelling of the
/// directory (and whatever working directory) wrote it: the position stored under the same
/// spelling; else the one whose stored path has the same canonical path; else the one naming a
/// segment this directory holds (segment ids are unique across a channel's directories, and a
/// position's segment is never deleted while the position is current); else, for a directory
/// that had no segment yet, the position at its `index` among the `dirs` configured.
pub(crate) fn position_of<'a>(
    fs: &dyn Fs,
    dir: &Path,
    index: usize,
    dirs: usize,
    positions: &'a [DirPosition],
) -> Option<&'a DirPosition> {
    let key = dir.to_string_lossy();
    if let Some(p) = positions.iter().find(|p| p.dir == key) {
        return Some(p);
    }
    if let Some(canon) = canonical_or_parent(fs, dir) {
        let same = |p: &&DirPosition| {
            canonical_or_parent(fs, Path::new(&p.dir)).is_some_and(|c| c == canon)
        };
        if let Some(p) = positions.iter().find(same) {
            return Some(p);
        }
    }
    let held = list_segments(fs, dir).unwrap_or_default();
    if let Some(p) = positions
        .iter()
        .find(|p| held.iter().any(|(id, _)| *id == p.segment))
    {
        return Some(p);
    }
    // A directory that had no segment yet (segment 0) has nothing to identify it by: take the
    // position at its index when the checkpoint has one per configured directory.
    positions
        .get(index)
        .filter(|p| p.segment == 0 && positions.len() == dirs && held.is_empty())
}

/// `dir` canonicalised; for a directory that no longer exists (removed under the channel, or
/// not yet created), its parent canonicalised with the name appended, so that a vanished data
/// directory is still matched to its replay position and reported as missing.
fn canonical_or_parent(fs: &dyn Fs, dir: &Path) -> Option<PathBuf> {
    if let Ok(c) = fs.canonicalize(dir) {
        return Some(c);
    }
    let name = dir.file_name()?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs.canonicalize(parent).ok().map(|p| p.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{OpenMode, SimFs};

    fn pos(dir: &str, segment: u32) -> DirPosition {
        DirPosition {
            dir: dir.into(),
            segment,
            offset: 32,
        }
    }

    #[test]
    fn a_position_is_found_by_spelling_then_by_the_segment_its_directory_holds() {
        let fs = SimFs::new(1);
        for d in ["/x/d0", "/x/d1"] {
            fs.create_dir_all(Path::new(d)).unwrap();
        }
        fs.open(Path::new("/x/d1/log-0000000007"), OpenMode::CreateNew)
            .unwrap();
        let positions = [pos("d0", 3), pos("d1", 7)];
        let found = |dir: &str, i| position_of(&fs, Path::new(dir), i, 2, &positions);
        assert_eq!(found("d0", 0), Some(&positions[0]));
        // Another spelling: d1 holds segment 7, so the position naming 7 is d1's, at any index.
        assert_eq!(found("/x/d1", 0), Some(&positions[1]));
        // d0 under another spelling holds no segment a position names, and its position is
        // not segment 0: no match (open then replays it whole; verify reports it).
        assert_eq!(found("/x/d0", 0), None);
    }

    #[test]
    fn a_directory_without_segments_takes_the_position_at_its_index_only_if_it_named_none() {
        let fs = SimFs::new(1);
        fs.create_dir_all(Path::new("/x/d1")).unwrap();
        let positions = [pos("d0", 3), pos("d1", 0)];
        assert_eq!(
            position_of(&fs, Path::new("/x/d1"), 1, 2, &positions),
            Some(&positions[1])
        );
        // Not when the checkpoint's directories do not line up with the configuration.
        assert_eq!(position_of(&fs, Path::new("/x/d1"), 1, 3, &positions), None);
    }
}
