//! The state behind [`SimFs`](super::SimFs): inodes with current, durable and pending bytes,
//! directories with current and durable entries, the operation counter that faults are keyed
//! on, and the seeded generator crash images are drawn from.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};

use super::fault::Fault;

#[derive(Clone, Debug)]
pub(super) enum Pending {
    Write { offset: u64, bytes: Vec<u8> },
    SetLen(u64),
}

#[derive(Debug, Default)]
pub(super) struct Inode {
    pub(super) current: Vec<u8>,
    pub(super) durable: Vec<u8>,
    pub(super) pending: Vec<Pending>,
    /// Pending entries made durable so far (so a sync applies only those issued before it).
    pub(super) applied: u64,
    /// The file system's clock ([`State::stamp`]) at its creation or last write or resize:
    /// its modification time.
    pub(super) modified: u64,
}

pub(super) fn apply(target: &mut Vec<u8>, p: &Pending) {
    match p {
        Pending::Write { offset, bytes } => {
            let off = *offset as usize;
            let end = off + bytes.len();
            if target.len() < end {
                target.resize(end, 0);
            }
            target[off..end].copy_from_slice(bytes);
        }
        Pending::SetLen(len) => target.resize(*len as usize, 0),
    }
}

/// An entry that is neither a file nor a directory (made only by test helpers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Special {
    /// A symbolic link to this path.
    Symlink(PathBuf),
    /// A FIFO.
    Fifo,
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) inodes: HashMap<u64, Inode>,
    pub(super) next_inode: u64,
    /// dir -> (name -> inode), what `list_dir` and `open` see.
    pub(super) dirs: BTreeMap<PathBuf, BTreeMap<String, u64>>,
    /// dir -> (name -> inode), as of the last `sync_dir` (or creation) of that dir.
    pub(super) durable_dirs: BTreeMap<PathBuf, BTreeMap<String, u64>>,
    pub(super) locks: BTreeSet<PathBuf>,
    pub(super) ops: u64,
    pub(super) faults: Vec<Fault>,
    pub(super) crashed: bool,
    pub(super) space_limit: Option<u64>,
    /// While set, every open that would create a file fails with this errno.
    pub(super) fail_creates: Option<i32>,
    /// Whether `open_direct` fails with `Unsupported`, as on tmpfs.
    pub(super) refuse_direct: bool,
    /// The alignment `O_DIRECT` I/O needs (0: [`DIRECT_ALIGN`](crate::io::DIRECT_ALIGN)).
    pub(super) direct_align: usize,
    pub(super) sync_hook: Option<super::fault::HookSlot>,
    pub(super) rng: u64,
    /// Links and FIFOs by path (test helpers make them; not kept by crash images).
    pub(super) specials: BTreeMap<PathBuf, Special>,
    /// Paths owned by another user than the process's.
    pub(super) foreign: BTreeSet<PathBuf>,
    /// What [`Fs::host_identity`](crate::io::Fs::host_identity) says (a crash image keeps it).
    pub(super) host: String,
    /// The clock of modification times: one tick per write, resize or creation (a crash
    /// image goes on from it).
    pub(super) clock: u64,
}

impl State {
    /// Bytes held by files that have a name: an unlinked file's space counts as given back
    /// (even while a handle keeps it open, a simplification).
    pub(super) fn used_bytes(&self) -> u64 {
        let linked: BTreeSet<u64> = self
            .dirs
            .values()
            .flat_map(|d| d.values().copied())
            .collect();
        linked
            .iter()
            .filter_map(|ino| self.inodes.get(ino))
            .map(|i| i.current.len() as u64)
            .sum()
    }

    pub(super) fn next_rand(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Counts one operation and returns the fault it must suffer, if any.
    /// The next tick of the modification clock.
    pub(super) fn stamp(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    pub(super) fn tick(&mut self) -> io::Result<Option<Fault>> {
        if self.crashed {
            return Err(crashed_error());
        }
        let op = self.ops;
        self.ops += 1;
        let fault = self.faults.iter().copied().find(|f| f.at() == op);
        match fault {
            Some(Fault::Crash { .. }) => {
                self.crashed = true;
                Err(crashed_error())
            }
            Some(Fault::Eio { .. }) => Err(io::Error::from_raw_os_error(libc::EIO)),
            other => Ok(other),
        }
    }

    pub(super) fn split(path: &Path) -> io::Result<(PathBuf, String)> {
        let parent = path
            .parent()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent"))?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad file name"))?;
        Ok((parent.to_path_buf(), name.to_owned()))
    }

    pub(super) fn lookup(&self, path: &Path) -> io::Result<u64> {
        let (dir, name) = Self::split(path)?;
        self.dirs
            .get(&dir)
            .and_then(|d| d.get(&name))
            .copied()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{}", path.display())))
    }
}

pub(super) fn crashed_error() -> io::Error {
    io::Error::other("simulated power loss: the file system is gone until a crash image is taken")
}
