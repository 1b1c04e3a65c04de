//! The real `sluice agent` as a child process for integration tests, one type for all of them:
//! [`Proc`], started through [`AgentBuilder`] (configuration text or file, name, arguments,
//! environment, working directory, output captured to a file, open-file limit, readiness),
//! waited on with bounded loops that fail with its log, stopped with SIGTERM or SIGKILL,
//! restartable, killed and reaped on drop. [`HttpAgent`] adds the metrics reporter's port.
#![allow(dead_code)]

mod builder;
mod http;
mod proc;

pub use builder::{AgentBuilder, Ready};
pub use http::{counter, metrics, HttpAgent};
pub use proc::Proc;

use std::time::Duration;

/// How long any wait on an agent may take unless its builder says otherwise.
pub const WAIT: Duration = Duration::from_secs(60);

/// The `sluice` binary the tests run: the one cargo built, or `SLUICE_BIN` (a copy kept
/// for long runs while the tree is rebuilt).
pub fn sluice_bin() -> std::ffi::OsString {
    std::env::var_os("SLUICE_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_sluice").into())
}

/// CPU seconds (user and system) of the children waited for so far: an agent's, read before
/// it starts and after it was waited for.
pub fn children_cpu_s() -> f64 {
    // SAFETY: getrusage with a valid out pointer.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

/// The logs of `procs`, each under its name (for a failed wait's message).
pub fn logs_of<'a>(procs: impl IntoIterator<Item = &'a Proc>) -> String {
    procs
        .into_iter()
        .map(|p| format!("--- {}:\n{}\n", p.name, p.log_text()))
        .collect()
}
