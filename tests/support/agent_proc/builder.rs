//! How an agent process starts: [`AgentBuilder`] collects the configuration (text or file),
//! agent name, arguments, environment, working directory, captured output, open-file limit and
//! readiness of a [`Proc`], then spawns it and waits until it is ready.

use super::{sluice_bin, Proc, WAIT};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// What "started" means: checked after every start, failing early if the process exits.
pub enum Ready {
    /// The captured output contains this text.
    LogLine(String),
    /// A check of the test's own (e.g. the metrics server answers 200), named for the failure.
    Check(String, Box<dyn Fn() -> bool>),
}

/// Where the configuration comes from.
enum Conf {
    /// No `-f` (the arguments carry it, or the test checks the error).
    None,
    /// Written to `dir/<file>` at spawn.
    Text { file: String, text: String },
    /// An existing file (or a path spelled as the test wants, relative to the working dir).
    File(OsString),
}

/// Everything needed to start (and restart) the process.
pub(super) struct Launch {
    /// Arguments after `sluice`.
    pub args: Vec<OsString>,
    /// `Some(level)`: `RUST_LOG=level`; `None`: `RUST_LOG` removed.
    pub rust_log: Option<String>,
    pub cwd: Option<PathBuf>,
    pub stdout_to_log: bool,
    pub nofile: Option<u64>,
    pub ready: Vec<Ready>,
}

/// A `sluice agent` process to start: `Proc::builder(dir)...spawn()`.
pub struct AgentBuilder {
    dir: PathBuf,
    name: String,
    conf: Conf,
    log_name: Option<String>,
    append_log: bool,
    extra: Vec<OsString>,
    env: Vec<(String, String)>,
    launch: Launch,
    port: Option<u16>,
    log_window: Option<u64>,
    wait: Duration,
}

impl AgentBuilder {
    /// Agent `a1` under `dir`, no configuration yet, `RUST_LOG=info`, stderr to
    /// `dir/<name>.log` (created afresh), bounded waits of [`WAIT`].
    pub fn new(dir: &Path) -> AgentBuilder {
        AgentBuilder {
            dir: dir.to_owned(),
            name: "a1".to_owned(),
            conf: Conf::None,
            log_name: None,
            append_log: false,
            extra: Vec::new(),
            env: Vec::new(),
            launch: Launch {
                args: Vec::new(),
                rust_log: Some("info".to_owned()),
                cwd: None,
                stdout_to_log: false,
                nofile: None,
                ready: Vec::new(),
            },
            port: None,
            log_window: None,
            wait: WAIT,
        }
    }

    /// The agent's name (`-n`); also names the default config and log files.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_owned();
        self
    }

    /// The configuration as text, written to `dir/<name>.properties`.
    pub fn conf_text(self, text: &str) -> Self {
        let file = format!("{}.properties", self.name);
        self.conf_text_as(&file, text)
    }

    /// The configuration as text, written to `dir/<file>`.
    pub fn conf_text_as(mut self, file: &str, text: &str) -> Self {
        self.conf = Conf::Text {
            file: file.to_owned(),
            text: text.to_owned(),
        };
        self
    }

    /// An existing configuration file, passed to `-f` as given.
    pub fn conf_file(mut self, path: impl Into<OsString>) -> Self {
        self.conf = Conf::File(path.into());
        self
    }

    /// The captured output's file name under `dir` (default `<name>.log`).
    pub fn log(mut self, file: &str) -> Self {
        self.log_name = Some(file.to_owned());
        self
    }

    /// Appends to the log file instead of creating it afresh (restarts always append).
    pub fn append_log(mut self) -> Self {
        self.append_log = true;
        self
    }

    /// Reads of the log (and the log in failure messages) see only its last `bytes`: a
    /// runaway log must not make the test itself slow.
    pub fn log_window(mut self, bytes: u64) -> Self {
        self.log_window = Some(bytes);
        self
    }

    /// Stdout goes to the log file too (default: discarded).
    pub fn stdout_to_log(mut self) -> Self {
        self.launch.stdout_to_log = true;
        self
    }

    /// One more argument after the name and configuration.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.extra.push(arg.into());
        self
    }

    /// More arguments after the name and configuration.
    pub fn args<A: Into<OsString>>(mut self, args: impl IntoIterator<Item = A>) -> Self {
        self.extra.extend(args.into_iter().map(Into::into));
        self
    }

    /// One more environment variable (set after `RUST_LOG`, so it may replace it).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Starts without `RUST_LOG` (the agent's default logging).
    pub fn no_rust_log(mut self) -> Self {
        self.launch.rust_log = None;
        self
    }

    /// The process's working directory (default: the test's).
    pub fn cwd(mut self, dir: &Path) -> Self {
        self.launch.cwd = Some(dir.to_owned());
        self
    }

    /// `RLIMIT_NOFILE` of the process, soft and hard (so it cannot raise it).
    pub fn nofile(mut self, limit: u64) -> Self {
        self.launch.nofile = Some(limit);
        self
    }

    /// Started means `port` (127.0.0.1) accepts connections.
    pub fn ready_port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Started means the log contains `line`.
    pub fn ready_line(mut self, line: &str) -> Self {
        self.launch.ready.push(Ready::LogLine(line.to_owned()));
        self
    }

    /// Started means `check` holds (`what` names it in a failure).
    pub fn ready_when(mut self, what: &str, check: impl Fn() -> bool + 'static) -> Self {
        self.launch
            .ready
            .push(Ready::Check(what.to_owned(), Box::new(check)));
        self
    }

    /// The bound of every wait on this process (default [`WAIT`]).
    pub fn wait(mut self, limit: Duration) -> Self {
        self.wait = limit;
        self
    }

    /// Writes the configuration, starts the process and waits until it is ready.
    pub fn spawn(mut self) -> Proc {
        let mut args: Vec<OsString> = vec!["agent".into(), "-n".into(), self.name.clone().into()];
        let conf = match self.conf {
            Conf::None => None,
            Conf::Text { file, text } => {
                let path = self.dir.join(file);
                std::fs::write(&path, text).unwrap();
                Some(path)
            }
            Conf::File(path) => Some(PathBuf::from(path)),
        };
        if let Some(path) = &conf {
            args.extend(["-f".into(), path.clone().into_os_string()]);
        }
        args.append(&mut self.extra);
        self.launch.args = args;
        let log = self.dir.join(
            self.log_name
                .unwrap_or_else(|| format!("{}.log", self.name)),
        );
        if !self.append_log {
            std::fs::File::create(&log).unwrap();
        }
        let mut p = Proc {
            child: self.launch.command(&log, &self.env),
            name: self.name,
            conf,
            log,
            env: self.env,
            port: self.port,
            log_window: self.log_window,
            wait: self.wait,
            launch: self.launch,
        };
        p.wait_ready();
        p
    }
}

impl Launch {
    /// Spawns the process with `env` (after `RUST_LOG`), its output appended to `log`.
    pub fn command(&self, log: &Path, env: &[(String, String)]) -> Child {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let mut cmd = Command::new(sluice_bin());
        cmd.args(&self.args).stdin(Stdio::null());
        match &self.rust_log {
            Some(level) => cmd.env("RUST_LOG", level),
            None => cmd.env_remove("RUST_LOG"),
        };
        cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        if self.stdout_to_log {
            cmd.stdout(out.try_clone().unwrap());
        } else {
            cmd.stdout(Stdio::null());
        }
        cmd.stderr(out);
        if let Some(n) = self.nofile {
            limit_open_files(&mut cmd, n);
        }
        cmd.spawn().unwrap()
    }
}

/// Sets `RLIMIT_NOFILE` to `n` (soft and hard) in the child before it runs.
fn limit_open_files(cmd: &mut Command, n: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child here.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: n as libc::rlim_t,
                rlim_max: n as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
