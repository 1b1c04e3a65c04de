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

/// The logs of `procs`, each under its name (for a failed wait's message).
pub fn logs_of<'a>(procs: impl IntoIterator<Item = &'a Proc>) -> String {
    procs
        .into_iter()
        .map(|p| format!("--- {}:\n{}\n", p.name, p.log_text()))
        .collect()
}
