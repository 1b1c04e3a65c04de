//! One `statx` of an open file asking for chosen fields alone (size, link count), for
//! [`StdFs`](super::StdFs): why not `fstat` is said at [`statx_only`].

#![allow(
    clippy::disallowed_types,
    reason = "part of the seam: takes the `std::fs::File` std_fs.rs opened (crates/clippy.toml)"
)]

use std::fs::File;
use std::io;

/// One `statx` of `file` asking for `mask` alone; `None` where the kernel has no `statx`
/// (the caller then asks `fstat`).
///
/// Why not `fstat` (`File::metadata`): it asks for the change and modification times, and a
/// file system with multigrain timestamps (ext4 and xfs since Linux 6.13) then stamps the
/// file's next write with a fresh fine-grained time, which the next fdatasync writes out with
/// the inode. Asked after every group commit's fdatasync, that was one more metadata write
/// and wait per fdatasync (6,424 4 KiB `WSM` requests beside 5,940 flushes in 1.5 s of W2, on
/// Linux 6.18 and ext4); asking for the link count alone leaves the times unqueried, and
/// the file's time is written out only when it moves (about once per clock tick).
pub(super) fn statx_only(file: &File, mask: libc::c_uint) -> Option<io::Result<libc::statx>> {
    use std::os::fd::AsRawFd;
    let mut st = std::mem::MaybeUninit::<libc::statx>::zeroed();
    // SAFETY: statx(2) on a descriptor this value owns, with an empty NUL-terminated path and
    // AT_EMPTY_PATH (the descriptor itself); `st` is a valid, writable `statx` buffer.
    let r = unsafe {
        libc::statx(
            file.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_STATX_SYNC_AS_STAT,
            mask,
            st.as_mut_ptr(),
        )
    };
    if r != 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ENOSYS) => None,
            _ => Some(Err(e)),
        };
    }
    // SAFETY: statx returned 0, so it filled the buffer (which started zeroed).
    let st = unsafe { st.assume_init() };
    if st.stx_mask & mask != mask {
        // The file system could not say: ask fstat.
        return None;
    }
    Some(Ok(st))
}
