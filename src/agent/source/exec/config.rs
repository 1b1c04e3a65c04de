//! The `exec` source's keys (Flume's `ExecSource`): `command`, `shell`, `restart` (false),
//! `restartThrottle` (10000 ms), `logStdErr` (false), `batchSize` (20), `batchTimeout`
//! (3000 ms).

use std::time::Duration;

use crate::agent::config::limits::DURATION_MS_MAX;
use crate::agent::config::Ctx;

/// `exec` source settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecConfig {
    /// `command`.
    pub command: String,
    /// `shell` (e.g. `/bin/sh -c`); without it the command is split on whitespace.
    pub shell: Option<String>,
    /// `restart` (default false).
    pub restart: bool,
    /// `restartThrottle` (default 10000 ms).
    pub restart_throttle: Duration,
    /// `logStdErr` (default false).
    pub log_stderr: bool,
    /// `batchSize` (default 20).
    pub batch_size: usize,
    /// `batchTimeout` (default 3000 ms).
    pub batch_timeout: Duration,
}

/// Reads an `exec` source's keys.
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<ExecConfig> {
    let command = cx.required("command");
    let shell = cx.get("shell");
    // `command?` comes last: every key is read (and its problems reported) first.
    Some(ExecConfig {
        shell,
        restart: cx.bool("restart", false),
        restart_throttle: cx.millis("restartThrottle", 10_000, 0, DURATION_MS_MAX),
        log_stderr: cx.bool("logStdErr", false),
        batch_size: cx.batch_size("batchSize", 20),
        batch_timeout: cx.millis("batchTimeout", 3000, 1, DURATION_MS_MAX),
        command: command?,
    })
}
