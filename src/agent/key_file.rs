//! Reading a small secret file named in the configuration (a keystore, a truststore, a PEM
//! file) without trusting what the path is: only a regular file is read (a FIFO, a device,
//! a socket or a directory is refused, naming what it is, before it is opened), it is opened
//! with `O_NONBLOCK` so a FIFO swapped in after the check cannot block the open, and at most
//! [`KEY_FILE_BYTES_MAX`] bytes are read (a larger file is refused, naming its size). Used
//! by `config check`, at start and at every reload, so none of them can hang or fill memory
//! on a hostile or mistaken path.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "TLS stores and secret files are read from the real disk and tested there (DESIGN.md, the agent's std::fs rule)"
)]

use std::fs::{File, Metadata, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Largest key, trust or PEM file read: a keystore with a long chain is a few KiB.
pub(crate) const KEY_FILE_BYTES_MAX: u64 = 1 << 20;

/// Why a key file was not read. The path is named by the caller's error.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Not a regular file: `what` it is instead.
    #[error("is {what}, not a regular file")]
    NotRegular {
        /// "a FIFO", "a directory", ...
        what: &'static str,
    },
    /// Larger than [`KEY_FILE_BYTES_MAX`].
    #[error("is {bytes} bytes, more than the {max} bytes a key file may have")]
    TooLarge {
        /// The file's size (at least this many bytes when it grew while read).
        bytes: u64,
        /// The cap.
        max: u64,
    },
    /// The file system said no.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What a non-regular file is, for the error.
fn not_regular(meta: &Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        None
    } else if t.is_fifo() {
        Some("a FIFO")
    } else if t.is_dir() {
        Some("a directory")
    } else if t.is_char_device() {
        Some("a character device")
    } else if t.is_block_device() {
        Some("a block device")
    } else if t.is_socket() {
        Some("a socket")
    } else {
        Some("not a file")
    }
}

fn check(meta: &Metadata, max: u64) -> Result<(), KeyFileError> {
    if let Some(what) = not_regular(meta) {
        return Err(KeyFileError::NotRegular { what });
    }
    if meta.len() > max {
        return Err(KeyFileError::TooLarge {
            bytes: meta.len(),
            max,
        });
    }
    Ok(())
}

/// Reads the regular file at `path` whole, if it has at most `max` bytes (the stores use
/// [`KEY_FILE_BYTES_MAX`]).
pub(crate) fn read_at_most(path: &Path, max: u64) -> Result<Vec<u8>, KeyFileError> {
    // Looked at before opening: opening a FIFO for reading blocks until a writer comes.
    check(&std::fs::metadata(path)?, max)?;
    let file: File = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    // And again on what was opened: the path may have been swapped in between.
    check(&file.metadata()?, max)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    let read = bytes.len() as u64;
    if read > max {
        return Err(KeyFileError::TooLarge { bytes: read, max });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> Result<Vec<u8>, KeyFileError> {
        read_at_most(path, KEY_FILE_BYTES_MAX)
    }

    #[test]
    fn a_small_regular_file_is_read_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("k.pem");
        std::fs::write(&p, b"-----BEGIN").unwrap();
        assert_eq!(read(&p).unwrap(), b"-----BEGIN");
    }

    #[test]
    fn a_fifo_a_directory_and_a_device_are_refused_without_blocking() {
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo(3) on a NUL-terminated path in a fresh directory.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read(&fifo).unwrap_err();
        assert_eq!(e.to_string(), "is a FIFO, not a regular file");
        let e = read(tmp.path()).unwrap_err();
        assert!(
            matches!(
                e,
                KeyFileError::NotRegular {
                    what: "a directory"
                }
            ),
            "{e}"
        );
        let e = read(Path::new("/dev/zero")).unwrap_err();
        assert!(matches!(e, KeyFileError::NotRegular { .. }), "{e}");
    }

    #[test]
    fn a_file_over_the_cap_is_refused_naming_its_size() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("big");
        std::fs::File::create(&p)
            .unwrap()
            .set_len(KEY_FILE_BYTES_MAX + 1)
            .unwrap();
        let e = read(&p).unwrap_err();
        assert!(
            matches!(e, KeyFileError::TooLarge { bytes, .. } if bytes == KEY_FILE_BYTES_MAX + 1),
            "{e}"
        );
        assert!(e.to_string().contains("1048577 bytes"), "{e}");
        std::fs::write(&p, [0u8; 10]).unwrap();
        assert!(read_at_most(&p, 9).is_err());
        assert_eq!(read_at_most(&p, 10).unwrap().len(), 10);
    }
}
