//! How [`SimFs`](super::SimFs) treats the entries its test helpers make beside files and
//! directories: a symbolic link is followed by `exists` and `open_regular(Links::Follow)`,
//! refused by `open` ([`LinkRefused`], as `O_NOFOLLOW` does) and `open_regular(Links::Refuse)`,
//! and reported by `entry_info`; a FIFO makes `open` fail with
//! `WouldBlock` (a real open would wait) and `open_regular` refuse it; `remove_file` and
//! `rename` act on the entry itself, as on Linux.

use std::io;
use std::path::{Path, PathBuf};

use super::state::{Special, State};
use crate::io::entry::{EntryInfo, EntryKind, LinkRefused, Links, NotRegular};

/// What `open` and `open_regular` do with a special entry at `path`.
pub(super) enum OpenSpecial {
    /// Not a special entry: open it as usual.
    Plain,
    /// A link: open its target instead.
    Follow(PathBuf),
}

/// The kind and owner of `path`, links not followed.
pub(super) fn entry_info(st: &State, path: &Path) -> io::Result<EntryInfo> {
    let kind = match st.specials.get(path) {
        Some(Special::Symlink(_)) => EntryKind::Symlink,
        Some(Special::Fifo) => EntryKind::Fifo,
        None if st.dirs.contains_key(path) => EntryKind::Dir,
        None => {
            st.lookup(path)?;
            EntryKind::File
        }
    };
    let own = !st.foreign.contains(path);
    Ok(EntryInfo {
        kind,
        uid: if own { 1000 } else { 1001 },
        own,
    })
}

/// What opening `path` meets: a FIFO fails (`WouldBlock` for `open`, [`NotRegular`] for
/// `open_regular`), a link is refused by `open` and followed or refused by `open_regular`.
pub(super) fn on_open(st: &State, path: &Path, regular: Option<Links>) -> io::Result<OpenSpecial> {
    match (st.specials.get(path), regular) {
        (None, _) => Ok(OpenSpecial::Plain),
        (Some(Special::Fifo), None) => Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            format!(
                "{}: a FIFO (a real open would wait for a writer)",
                path.display()
            ),
        )),
        (Some(Special::Fifo), Some(_)) => Err(NotRegular {
            kind: EntryKind::Fifo,
        }
        .into_io()),
        (Some(Special::Symlink(_)), None) => Err(LinkRefused::io(path)),
        (Some(Special::Symlink(_)), Some(Links::Refuse)) => Err(NotRegular {
            kind: EntryKind::Symlink,
        }
        .into_io()),
        (Some(Special::Symlink(t)), _) => Ok(OpenSpecial::Follow(t.clone())),
    }
}

/// Removes the special entry `path`, if it is one.
pub(super) fn remove(st: &mut State, path: &Path) -> bool {
    st.specials.remove(path).is_some()
}

/// Renames the special entry `from` to `to`, if it is one.
pub(super) fn rename(st: &mut State, from: &Path, to: &Path) -> bool {
    match st.specials.remove(from) {
        Some(s) => {
            st.specials.insert(to.to_path_buf(), s);
            true
        }
        None => false,
    }
}

/// Names of the special entries in `dir`.
pub(super) fn names_in(st: &State, dir: &Path) -> Vec<String> {
    st.specials
        .keys()
        .filter(|p| p.parent() == Some(dir))
        .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned))
        .collect()
}
