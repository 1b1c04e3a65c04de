//! Writing to a closed pipe (`sluice agent ... 2>&1 | head`, `sluice channel dump | head`).
//!
//! Rust ignores SIGPIPE, so such a write fails with EPIPE, and `println!`/`eprintln!` panic on
//! it (exit 101). The agent keeps SIGPIPE ignored: its log writes drop what cannot be written
//! (`logging` turns tracing's own complaint about it off), its other stderr lines go through
//! [`eprint_line`], and it runs on and stops cleanly on SIGINT/SIGTERM; a log reader that went
//! away must not stop the data. Every other subcommand prints output someone reads: it gets
//! SIGPIPE's default back ([`end_quietly_on_closed_pipe`]), so it ends at once and without a
//! message when the reader has read enough, as `cat` and `grep` do (the shell sees 141). None
//! of them writes into a pipe of a child process, and sockets are written with MSG_NOSIGNAL.

use std::io::Write;

/// Restores SIGPIPE's default action (terminate quietly) for a one-shot subcommand.
pub fn end_quietly_on_closed_pipe() {
    // SAFETY: setting a signal disposition to SIG_DFL has no preconditions; it runs first in
    // `main`, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Writes `line` and a newline to stderr; a failed write (a closed pipe) is dropped.
pub fn eprint_line(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(line.as_bytes());
    let _ = err.write_all(b"\n");
}
