//! The real `sluice agent` as a child process for integration tests: started on a properties
//! text in a directory, its log captured to a file, waited on with a bounded loop, stopped
//! with SIGTERM (exit code returned) and killed on drop.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long any wait on the agent may take.
pub const WAIT: Duration = Duration::from_secs(30);

/// A running agent.
pub struct Agent {
    child: Child,
    log: PathBuf,
}

impl Agent {
    /// Writes `conf_text` to `dir/agent.properties` and starts agent `a1` on it (no reload),
    /// with `extra` arguments.
    pub fn start(dir: &Path, conf_text: &str, extra: &[&str]) -> Agent {
        let conf = dir.join("agent.properties");
        std::fs::write(&conf, conf_text).unwrap();
        let log = dir.join("agent.log");
        let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["agent", "--name", "a1", "--conf-file"])
            .arg(&conf)
            .args(["--no-reload-conf"])
            .args(extra)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Agent { child, log }
    }

    /// What the agent logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls `f` until it holds, failing with `what` and the log after [`WAIT`].
    pub fn wait_until(&self, what: &str, mut f: impl FnMut() -> bool) {
        let end = Instant::now() + WAIT;
        while !f() {
            assert!(Instant::now() < end, "{what}; log:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends SIGTERM and waits (bounded) for the exit; returns its code.
    pub fn terminate(&mut self) -> Option<i32> {
        // SAFETY: kill(2) on the pid of a child this value owns and has not reaped.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let end = Instant::now() + WAIT;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code();
            }
            assert!(Instant::now() < end, "no exit; log:\n{}", self.log_text());
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
