//! Helpers for tests that run the real `sluice` binary the way a newcomer does: an agent in a
//! directory of its own, its stderr in a file, waits bounded by [`WAIT`].
#![allow(dead_code)]

use crate::support::ports;
pub use ports::free_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The longest any wait in these tests lasts.
pub const WAIT: Duration = Duration::from_secs(30);

/// `sluice ARGS` run to completion in `dir`, without `RUST_LOG`.
pub fn sluice(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(dir)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Exit code, stdout and stderr.
pub fn outcome(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A netcat → CHANNEL → SINK agent config on `port` (channel and sink lines given).
pub fn netcat_conf(port: u16, channel: &str, sink: &str) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n\
         {channel}{sink}a1.sinks.k1.channel = c1\n"
    )
}

/// A memory channel and a logger sink, for [`netcat_conf`].
pub const MEMORY_LOGGER: (&str, &str) = (
    "a1.channels.c1.type = memory\n",
    "a1.sinks.k1.type = logger\n",
);

/// A running `sluice agent`, stderr to a file; killed on drop.
pub struct Agent {
    pub child: Child,
    pub log: PathBuf,
}

impl Agent {
    /// Starts `sluice agent -n a1 -f CONF EXTRA...` in `dir` without `RUST_LOG`.
    pub fn start(dir: &Path, conf: &str, extra: &[&str], log_name: &str) -> Agent {
        let log = dir.join(log_name);
        let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .current_dir(dir)
            .args(["agent", "-n", "a1", "-f", conf])
            .args(extra)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Agent { child, log }
    }

    /// Its stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `file` (e.g. its stderr) contains `needle`; panics after [`WAIT`].
    pub fn wait_for(&mut self, file: &Path, needle: &str) -> String {
        let end = Instant::now() + WAIT;
        loop {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            if text.contains(needle) {
                return text;
            }
            if let Some(s) = self.child.try_wait().unwrap() {
                panic!(
                    "agent exited ({s}) before {needle:?}; stderr:\n{}",
                    self.stderr()
                );
            }
            assert!(
                Instant::now() < end,
                "no {needle:?} in {}; stderr:\n{}",
                file.display(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then the exit code (panics after [`WAIT`]).
    pub fn stop(mut self) -> Option<i32> {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.wait_exit()
    }

    /// Waits for the process to exit by itself; its exit code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let end = Instant::now() + WAIT;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code();
            }
            assert!(
                Instant::now() < end,
                "agent did not exit; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sluice agent -n a1 ARGS` in `dir`, stderr to `log`.
pub fn agent(dir: &Path, args: &[&str], log: &str) -> Agent {
    let log = dir.join(log);
    let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(dir)
        .args(["agent", "-n", "a1"])
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    Agent { child, log }
}

/// Waits until some file in `dir` holds the line `line`; panics if the agent exits or after
/// [`WAIT`].
pub fn wait_line_in(agent: &mut Agent, dir: &Path, line: &str) {
    let end = Instant::now() + WAIT;
    loop {
        let found = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                std::fs::read_to_string(e.path())
                    .unwrap_or_default()
                    .lines()
                    .any(|l| l == line)
            });
        if found {
            return;
        }
        assert!(
            agent.child.try_wait().unwrap().is_none(),
            "agent exited; stderr:\n{}",
            agent.stderr()
        );
        assert!(
            Instant::now() < end,
            "{line:?} never reached {}; stderr:\n{}",
            dir.display(),
            agent.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `sluice send -p PORT LINE` from `dir`, which must succeed.
pub fn send_line(dir: &Path, port: u16, line: &str) {
    let (code, out, err) = outcome(&sluice(dir, &["send", "-p", &port.to_string(), line]));
    assert_eq!(code, 0, "{out}{err}");
}
