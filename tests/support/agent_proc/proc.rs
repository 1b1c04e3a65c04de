//! [`Proc`]: a running `sluice agent` child: its captured log, bounded waits that fail with
//! that log, signals (SIGTERM with a bounded wait, SIGKILL), restarts that append to the same
//! log, and a `Drop` that kills and reaps it.

use super::builder::{AgentBuilder, Launch, Ready};
use crate::support::wait;
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

/// A running agent process; killed and reaped on drop.
pub struct Proc {
    pub child: Child,
    /// The agent's name (`-n`).
    pub name: String,
    /// Its configuration file (`-f`), as passed.
    pub conf: Option<PathBuf>,
    /// Its captured output (all its starts).
    pub log: PathBuf,
    /// Extra environment of every start (after `RUST_LOG`, so it may replace it).
    pub env: Vec<(String, String)>,
    /// The port waited for at every start.
    pub port: Option<u16>,
    /// The bound of every wait on it.
    pub wait: Duration,
    /// When set, log reads see only the log's last this many bytes.
    pub log_window: Option<u64>,
    pub(super) launch: Launch,
}

impl Proc {
    /// A process to configure and spawn under `dir` (see [`AgentBuilder`]).
    pub fn builder(dir: &Path) -> AgentBuilder {
        AgentBuilder::new(dir)
    }

    /// Agent `a1` on `conf_text` (written to `dir/agent.properties`), no reload, `extra`
    /// arguments, without `RUST_LOG`, stderr in `dir/agent.log`; not waited for.
    pub fn plain(dir: &Path, conf_text: &str, extra: &[&str]) -> Proc {
        Proc::builder(dir)
            .conf_text_as("agent.properties", conf_text)
            .log("agent.log")
            .arg("--no-reload-conf")
            .args(extra)
            .no_rust_log()
            .spawn()
    }

    /// Agent `name` on `conf` (written to `dir/<name>.properties`) with `args`, its log
    /// appended to `dir/<name>.log`; waits for `port` when given.
    pub fn spawn(dir: &Path, name: &str, conf: &str, args: Vec<String>, port: Option<u16>) -> Proc {
        Proc::spawn_env(dir, name, conf, args, Vec::new(), port)
    }

    /// [`Proc::spawn`] with extra environment for every start.
    pub fn spawn_env(
        dir: &Path,
        name: &str,
        conf: &str,
        args: Vec<String>,
        env: Vec<(String, String)>,
        port: Option<u16>,
    ) -> Proc {
        let mut b = Proc::builder(dir)
            .name(name)
            .conf_text(conf)
            .append_log()
            .args(args);
        for (k, v) in &env {
            b = b.env(k, v);
        }
        if let Some(port) = port {
            b = b.ready_port(port);
        }
        b.spawn()
    }

    /// Starts the process again (after it exited or was killed), its output appended to the
    /// same log, and waits until it is ready.
    pub fn restart(&mut self) {
        let _ = self.child.wait();
        self.child = self.launch.command(&self.log, &self.env);
        self.wait_ready();
    }

    /// Waits for the readiness the builder named (port, log line, check); fails early if the
    /// process exits first.
    pub fn wait_ready(&mut self) {
        if let Some(port) = self.port {
            self.wait_running(&format!("listening on {port}"), |_| {
                TcpStream::connect(("127.0.0.1", port)).is_ok()
            });
        }
        for i in 0..self.launch.ready.len() {
            let (what, line) = match &self.launch.ready[i] {
                Ready::LogLine(line) => (format!("{line:?} in the log"), Some(line.clone())),
                Ready::Check(what, _) => (what.clone(), None),
            };
            self.wait_running(&what, |p| match &line {
                Some(line) => p.log_text().contains(line.as_str()),
                None => matches!(&p.launch.ready[i], Ready::Check(_, f) if f()),
            });
        }
    }

    /// Polls `f` until it holds; fails with the log if the process exits first or after the
    /// wait.
    pub fn wait_running(&mut self, what: &str, mut f: impl FnMut(&Proc) -> bool) {
        let mut exited = None;
        let stopped = wait::poll_until(self.wait, || {
            if f(self) {
                return true;
            }
            exited = self.child.try_wait().unwrap();
            exited.is_some()
        });
        assert!(
            stopped && exited.is_none(),
            "{}: never {what} ({}); log:\n{}",
            self.name,
            exited.map_or("still running".to_owned(), |s| format!("exited: {s}")),
            self.log_text()
        );
    }

    /// What the process logged so far (all its starts; the last
    /// [`log_window`](AgentBuilder::log_window) bytes when one is set).
    pub fn log_text(&self) -> String {
        match self.log_window {
            None => std::fs::read_to_string(&self.log).unwrap_or_default(),
            Some(bytes) => self.log_tail(bytes),
        }
    }

    /// The log's last `max_bytes`.
    pub fn log_tail(&self, max_bytes: u64) -> String {
        let Ok(mut f) = std::fs::File::open(&self.log) else {
            return String::new();
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(max_bytes)));
        let mut bytes = Vec::new();
        let _ = f.take(max_bytes).read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Polls `f` until it holds, failing with `what` and the log after the wait.
    pub fn wait_until(&self, what: &str, f: impl FnMut() -> bool) {
        wait::wait_until(self.wait, f, || {
            format!("{}: never {what}; log:\n{}", self.name, self.log_text())
        });
    }

    /// Waits until the log contains `needle`.
    pub fn wait_log(&self, needle: &str) {
        self.wait_until(&format!("{needle:?} in the log"), || {
            self.log_text().contains(needle)
        });
    }

    /// Waits until `port` on 127.0.0.1 accepts a connection.
    pub fn wait_port(&self, port: u16) {
        self.wait_until(&format!("port {port} open"), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    /// Waits until `file` (e.g. the log) contains `needle` and returns its text; fails if the
    /// process exits first.
    pub fn wait_file(&mut self, file: &Path, needle: &str) -> String {
        let mut text = String::new();
        self.wait_running(&format!("{needle:?} in {}", file.display()), |_| {
            text = std::fs::read_to_string(file).unwrap_or_default();
            text.contains(needle)
        });
        text
    }

    /// Sends `sig`.
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on the pid of a child this value owns and has not reaped.
        let rc = unsafe { libc::kill(self.child.id() as i32, sig) };
        assert_eq!(rc, 0, "kill({sig}) of {}", self.name);
    }

    /// SIGTERM and wait (bounded) for the exit; returns its code. Fails if it does not exit.
    pub fn terminate(&mut self) -> Option<i32> {
        self.signal(libc::SIGTERM);
        self.wait_exit()
    }

    /// SIGTERM and wait (bounded) for the exit; SIGKILL after that.
    pub fn stop(&mut self) {
        self.signal(libc::SIGTERM);
        if !wait::poll_until(self.wait, || matches!(self.child.try_wait(), Ok(Some(_)))) {
            self.kill9();
        }
    }

    /// Waits (bounded) for the process to exit by itself; its exit code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let mut status = None;
        let exited = wait::poll_until(self.wait, || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        assert!(exited, "{}: no exit; log:\n{}", self.name, self.log_text());
        status.and_then(|s| s.code())
    }

    /// SIGKILL and reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process still runs.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
