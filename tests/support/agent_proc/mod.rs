//! The real `sluice agent` as a child process for integration tests: started on a properties
//! text in a directory, its log captured to a file, waited on with a bounded loop, stopped
//! with SIGTERM (exit code returned) and killed on drop.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long any wait on the agent may take.
pub const WAIT: Duration = Duration::from_secs(60);

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

/// The `sluice` binary the tests run: the one cargo built, or `SLUICE_BIN` (a copy kept
/// for long runs while the tree is rebuilt).
pub fn sluice_bin() -> std::ffi::OsString {
    std::env::var_os("SLUICE_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_sluice").into())
}

/// A named agent process (`sluice agent -n <name> -f <dir>/<name>.properties <args>`), its
/// log appended to `<dir>/<name>.log` across restarts; restartable after a kill; killed on
/// drop. "Started" means `port` listens, when one is given.
pub struct Proc {
    pub child: Child,
    pub name: String,
    pub conf: PathBuf,
    pub log: PathBuf,
    /// The port waited for at every start.
    pub port: Option<u16>,
    /// Extra environment of every start (after `RUST_LOG=info`, so it may replace it).
    pub env: Vec<(String, String)>,
    args: Vec<String>,
}

impl Proc {
    /// Writes `conf` to `dir/<name>.properties` and starts agent `name` on it with `args`.
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
        let path = dir.join(format!("{name}.properties"));
        std::fs::write(&path, conf).unwrap();
        let mut p = Proc {
            child: Command::new("true").spawn().unwrap(),
            name: name.to_owned(),
            conf: path,
            log: dir.join(format!("{name}.log")),
            port,
            env,
            args,
        };
        p.restart();
        p
    }

    /// Starts the process again (after it exited or was killed) and waits for its port.
    pub fn restart(&mut self) {
        let _ = self.child.wait();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        self.child = Command::new(sluice_bin())
            .args(["agent", "-n", &self.name, "-f"])
            .arg(&self.conf)
            .args(&self.args)
            .env("RUST_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        if let Some(port) = self.port {
            self.wait_until(&format!("listening on {port}"), || {
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            });
        }
    }

    /// What the process logged so far (all its starts).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls `f` until it holds, failing with `what` and the log after [`WAIT`].
    pub fn wait_until(&self, what: &str, mut f: impl FnMut() -> bool) {
        let end = Instant::now() + WAIT;
        while !f() {
            assert!(
                Instant::now() < end,
                "{}: never {what}; log:\n{}",
                self.name,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `sig`.
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on the pid of a child this value owns and has not reaped.
        let rc = unsafe { libc::kill(self.child.id() as i32, sig) };
        assert_eq!(rc, 0, "kill({sig}) of {}", self.name);
    }

    /// SIGTERM and wait (at most [`WAIT`]) for the exit; SIGKILL after that.
    pub fn stop(&mut self) {
        self.signal(libc::SIGTERM);
        let end = Instant::now() + WAIT;
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill9();
    }

    /// SIGTERM and wait (bounded) for the exit; returns its code.
    pub fn terminate(&mut self) -> Option<i32> {
        self.signal(libc::SIGTERM);
        let end = Instant::now() + WAIT;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code();
            }
            assert!(
                Instant::now() < end,
                "{}: no exit; log:\n{}",
                self.name,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL and wait for the exit.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The logs of `procs`, each under its name (for a failed wait's message).
pub fn logs_of<'a>(procs: impl IntoIterator<Item = &'a Proc>) -> String {
    procs
        .into_iter()
        .map(|p| format!("--- {}:\n{}\n", p.name, p.log_text()))
        .collect()
}

/// `GET /metrics` from an agent's HTTP reporter as JSON (`Null` while it does not answer).
pub fn metrics(port: u16) -> serde_json::Value {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return serde_json::Value::Null;
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}

/// Counter `counter` of component `comp` (`SINK.k1`) from the metrics on `port`, 0 if absent.
pub fn counter(port: u16, comp: &str, counter: &str) -> u64 {
    metrics(port)[comp][counter]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// An agent process with Flume's HTTP metrics reporter on a port of its own.
pub struct HttpAgent {
    pub proc: Proc,
    /// The HTTP metrics port.
    pub http: u16,
}

impl HttpAgent {
    /// Starts agent `name` on `conf` with `args` plus the HTTP reporter on `http`, waiting
    /// for `port` to listen when one is given.
    pub fn spawn(
        dir: &Path,
        name: &str,
        conf: &str,
        args: Vec<String>,
        http: u16,
        port: Option<u16>,
    ) -> HttpAgent {
        HttpAgent::spawn_env(dir, name, conf, args, Vec::new(), http, port)
    }

    /// [`HttpAgent::spawn`] with extra environment for every start.
    pub fn spawn_env(
        dir: &Path,
        name: &str,
        conf: &str,
        mut args: Vec<String>,
        env: Vec<(String, String)>,
        http: u16,
        port: Option<u16>,
    ) -> HttpAgent {
        args.push("-Dflume.monitoring.type=http".to_owned());
        args.push(format!("-Dflume.monitoring.port={http}"));
        HttpAgent {
            proc: Proc::spawn_env(dir, name, conf, args, env, port),
            http,
        }
    }
}

impl std::ops::Deref for HttpAgent {
    type Target = Proc;
    fn deref(&self) -> &Proc {
        &self.proc
    }
}

impl std::ops::DerefMut for HttpAgent {
    fn deref_mut(&mut self) -> &mut Proc {
        &mut self.proc
    }
}
