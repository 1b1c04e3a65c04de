//! Whether a directory takes direct I/O (`directIo = auto`, the default): asked once per
//! writer, before its first direct segment, by writing one aligned block with `O_DIRECT` into
//! a probe file and reading it back.
//!
//! Opening with `O_DIRECT` is not proof enough: a file system can accept the flag and still
//! refuse a 4 KiB-aligned write (a device whose logical blocks are larger, some FUSE and
//! network file systems), and with `auto` that refusal would come from a commit's write and
//! poison the channel. The probe makes the refusal a decision taken before any data: the
//! directory is written buffered from then on, said once in the log. A refusal is `EINVAL`
//! (Linux's answer to unaligned or unsupported direct I/O), an open refused with
//! [`io::ErrorKind::Unsupported`], or bytes that read back differently. Any other failure (a
//! full disk, too many open files) decides nothing: that segment is written buffered and the
//! next one asks again. The probe file (`direct-probe.tmp`) is removed at once; one left by a
//! crash is truncated and removed by the next probe, and is ignored by everything else.

use std::io;
use std::path::Path;
use std::sync::atomic::Ordering;

use super::super::aligned::AlignedBuf;
use super::direct::DirectIo;
use super::DirWriter;
use crate::io::{Fs, OpenMode, DIRECT_ALIGN};

/// Name of the probe file in a data directory.
pub const PROBE_FILE_NAME: &str = "direct-probe.tmp";

/// What a probe found.
#[derive(Debug)]
pub(super) enum Probe {
    /// An aligned direct write and its read-back worked.
    Takes,
    /// The file system refuses direct I/O as the writer does it (why).
    Refuses(io::Error),
}

/// Writes one aligned block with `O_DIRECT` into the probe file of `dir`, reads it back
/// through the page cache and removes the file. `Err` is a failure that says nothing about
/// direct I/O (see the module header).
pub(super) fn probe(fs: &dyn Fs, dir: &Path) -> io::Result<Probe> {
    let path = dir.join(PROBE_FILE_NAME);
    let found = write_and_read_back(fs, &path);
    if let Err(e) = fs.remove_file(&path) {
        if e.kind() != io::ErrorKind::NotFound {
            tracing::debug!(path = %path.display(), error = %e, "cannot remove the direct I/O probe file");
        }
    }
    match found {
        Ok(()) => Ok(Probe::Takes),
        Err(e) if refuses(&e) => Ok(Probe::Refuses(e)),
        Err(e) => Err(e),
    }
}

/// Whether `e` says the file system refuses direct I/O (rather than being out of space, files
/// or luck).
fn refuses(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EINVAL)
        || matches!(
            e.kind(),
            io::ErrorKind::Unsupported | io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData
        )
}

fn write_and_read_back(fs: &dyn Fs, path: &Path) -> io::Result<()> {
    drop(fs.open(path, OpenMode::CreateTruncate)?);
    let pattern: Vec<u8> = (0..DIRECT_ALIGN).map(|i| (i % 251) as u8 ^ 0x5a).collect();
    let mut block = AlignedBuf::with_capacity(DIRECT_ALIGN);
    block.extend(&pattern);
    fs.open_direct(path)?.write_all_at(block.as_slice(), 0)?;
    let mut back = vec![0u8; DIRECT_ALIGN];
    fs.open(path, OpenMode::Read)?.read_exact_at(&mut back, 0)?;
    if back != pattern {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a block written with O_DIRECT read back differently",
        ));
    }
    Ok(())
}

impl DirWriter {
    /// Whether the next segment of this directory is written with direct I/O: never with
    /// `directIo = false`; always with `true`; with `auto`, once the probe said the directory
    /// takes it (asked at the first segment, remembered once it decides: `direct_probed` or
    /// `direct_refused`).
    pub(super) fn writes_direct(&self) -> bool {
        match self.direct_mode {
            DirectIo::Off => false,
            DirectIo::On => true,
            DirectIo::Auto => {
                if self.direct_refused.load(Ordering::Relaxed) {
                    return false;
                }
                if self.direct_probed.load(Ordering::Relaxed) {
                    return true;
                }
                match probe(self.fs.as_ref(), &self.dir) {
                    Ok(Probe::Takes) => {
                        self.direct_probed.store(true, Ordering::Relaxed);
                        true
                    }
                    Ok(Probe::Refuses(e)) => {
                        tracing::info!(dir = %self.dir.display(), error = %e, "direct I/O is not available here; writing segments through the page cache");
                        self.direct_refused.store(true, Ordering::Relaxed);
                        false
                    }
                    Err(e) => {
                        tracing::debug!(dir = %self.dir.display(), error = %e, "could not probe direct I/O; this segment is written through the page cache");
                        false
                    }
                }
            }
        }
    }

    /// Whether the active segment is most likely written with direct I/O, read without a lock
    /// or a probe: an appender that expects a buffered one encodes its records before taking
    /// the lock. A wrong guess (a segment that fell back to buffered writes for want of space
    /// to allocate) only moves the encoding under the lock.
    pub(super) fn expects_direct(&self) -> bool {
        match self.direct_mode {
            DirectIo::Off => false,
            DirectIo::On => true,
            DirectIo::Auto => !self.direct_refused.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::io::SimFs;

    #[test]
    fn a_file_system_refusing_o_direct_is_a_refusal_not_an_error() {
        let fs = Arc::new(SimFs::new(7));
        fs.create_dir_all(Path::new("/d")).expect("mkdir");
        assert!(matches!(
            probe(fs.as_ref(), Path::new("/d")),
            Ok(Probe::Takes)
        ));
        fs.refuse_direct(true);
        assert!(matches!(
            probe(fs.as_ref(), Path::new("/d")),
            Ok(Probe::Refuses(_))
        ));
        assert!(!fs.exists(Path::new("/d").join(PROBE_FILE_NAME).as_path()));
    }
}
