//! The `external` config filter's command: run without a shell (Flume splits `command` at
//! whitespace and appends the key as the last argument), bounded in time and output, under a
//! reaper ([`super::reaper`]: a subreaper process that kills the command's whole tree, a
//! descendant that called `setsid` included, when the command ends or times out), in a
//! process group of its own that is also killed when, after the command exited, a
//! descendant still holds its output open: a load or a reload waits on the command, never
//! on what it left behind, and leaves no process, thread or descriptor behind. The first
//! line of its standard output is the value.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How long a filter command may run before it is killed.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// How many bytes of a command's output are read (stdout and stderr each).
pub(crate) const OUTPUT_BYTES_MAX: u64 = 64 * 1024;
/// How long the pipes of a command that exited may stay open (a descendant holding them)
/// before the command's process group is killed.
pub(crate) const DESCENDANT_GRACE: Duration = Duration::from_millis(500);
/// How often a running command is checked for its end.
const POLL_INTERVAL: Duration = Duration::from_millis(5);
/// How long past [`COMMAND_TIMEOUT`] the agent waits for the reaper, which kills the
/// command at its timeout, before it kills the process group itself.
const REAPER_SLACK: Duration = Duration::from_secs(2);

/// The text encodings a filter command's output may be declared in (`charset`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Charset {
    /// `UTF-8` (Flume's default).
    Utf8,
    /// `US-ASCII`.
    Ascii,
    /// `ISO-8859-1`.
    Latin1,
}

impl Charset {
    /// The charset of a Java charset name (any case), if Sluice knows it.
    pub(crate) fn parse(name: &str) -> Option<Charset> {
        match name.trim().to_ascii_uppercase().as_str() {
            "UTF-8" | "UTF8" => Some(Charset::Utf8),
            "US-ASCII" | "ASCII" => Some(Charset::Ascii),
            "ISO-8859-1" | "ISO8859-1" | "LATIN1" => Some(Charset::Latin1),
            _ => None,
        }
    }

    fn decode(self, bytes: &[u8]) -> Result<String, OutputError> {
        match self {
            Charset::Utf8 => String::from_utf8(bytes.to_vec()).map_err(|_| OutputError::NotUtf8),
            Charset::Ascii if !bytes.is_ascii() => Err(OutputError::NotAscii),
            Charset::Ascii | Charset::Latin1 => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
        }
    }
}

/// Why a filter command gave no value.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CommandError {
    /// It could not be started.
    #[error("cannot run {command:?}: {source}")]
    Spawn {
        /// The command.
        command: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// It ran longer than [`COMMAND_TIMEOUT`] and was killed.
    #[error("{command:?} did not end within {}s and was killed", COMMAND_TIMEOUT.as_secs())]
    Timeout {
        /// The command.
        command: String,
    },
    /// It exited with a failure.
    #[error("{command:?} exited with {status}: {stderr}")]
    Failed {
        /// The command.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The start of its standard error.
        stderr: String,
    },
    /// Its output was empty or not in the declared charset.
    #[error("{command:?}: {why}")]
    Output {
        /// The command.
        command: String,
        /// What is wrong with it.
        why: OutputError,
    },
}

/// What is wrong with a filter command's output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OutputError {
    /// Not UTF-8 (the declared charset).
    #[error("its output is not valid UTF-8")]
    NotUtf8,
    /// Not US-ASCII (the declared charset).
    #[error("its output is not US-ASCII")]
    NotAscii,
    /// Nothing printed for the key.
    #[error("it printed nothing for {0}")]
    Empty(String),
}

/// Runs `command` (split at whitespace) with `key` appended, under its reaper and in a
/// process group of its own; the first line of its output. The command has
/// [`COMMAND_TIMEOUT`] (its reaper kills it and its tree then); once it exited, its pipes have
/// [`DESCENDANT_GRACE`] more to reach their end, after which its group is killed (a child
/// left behind holding them open) and what was read is taken: a load or reload never waits
/// on the command's descendants.
pub(crate) fn run(command: &str, key: &str, charset: Charset) -> Result<String, CommandError> {
    let mut words = command.split_whitespace();
    let program = words.next().unwrap_or_default();
    let mut cmd = Command::new(program);
    cmd.args(words)
        .arg(key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    super::reaper::install(&mut cmd, COMMAND_TIMEOUT);
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|source| CommandError::Spawn {
        command: command.to_owned(),
        source,
    })?;
    let out = child.stdout.take().map(reader);
    let err = child.stderr.take().map(reader);
    let deadline = started + COMMAND_TIMEOUT;
    let timed_out = || CommandError::Timeout {
        command: command.to_owned(),
    };
    let Some(status) = wait_until(&mut child, deadline + REAPER_SLACK) else {
        kill_group(&child);
        let _ = child.kill();
        let _ = child.wait();
        return Err(timed_out());
    };
    if status.code().is_none() && started.elapsed() >= COMMAND_TIMEOUT {
        // The reaper killed the command and its tree at its timeout.
        return Err(timed_out());
    }
    let pipes_by = deadline.min(Instant::now() + DESCENDANT_GRACE);
    let pipes = [out, err];
    if !pipes.iter().flatten().all(|p| p.ended_by(pipes_by)) {
        // A descendant holds a pipe open: its group goes, and the pipes end with it.
        kill_group(&child);
    }
    let [stdout, stderr] = pipes.map(|p| p.map(Pipe::take).unwrap_or_default());
    value(command, key, charset, status, &stdout, &stderr)
}

/// The command's exit status, or `None` if it still runs at `deadline`.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL_INTERVAL),
            _ => return None,
        }
    }
}

/// Kills the process group the command leads (its descendants that stayed in it).
fn kill_group(child: &Child) {
    let Ok(pgid) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    // SAFETY: kill(2) with a negative pid signals the process group `pgid`, which the command
    // was started as the leader of (`process_group(0)`); no memory is touched.
    let _ = unsafe { libc::kill(-pgid, libc::SIGKILL) };
}

/// The value from a command that exited with `status`: the first line of `stdout`.
fn value(
    command: &str,
    key: &str,
    charset: Charset,
    status: ExitStatus,
    stdout: &[u8],
    stderr: &[u8],
) -> Result<String, CommandError> {
    if !status.success() {
        return Err(CommandError::Failed {
            command: command.to_owned(),
            status,
            stderr: String::from_utf8_lossy(stderr)
                .trim()
                .chars()
                .take(200)
                .collect(),
        });
    }
    let text = charset.decode(stdout).map_err(|why| CommandError::Output {
        command: command.to_owned(),
        why,
    })?;
    match text.lines().next() {
        Some(line) => Ok(line.to_owned()),
        None => Err(CommandError::Output {
            command: command.to_owned(),
            why: OutputError::Empty(key.to_owned()),
        }),
    }
}

/// One of the command's pipes, read on a thread of its own.
struct Pipe {
    bytes: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
}

impl Pipe {
    /// Whether the pipe reached its end by `deadline`.
    fn ended_by(&self, deadline: Instant) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        !matches!(
            self.done.recv_timeout(left),
            Err(mpsc::RecvTimeoutError::Timeout)
        )
    }

    /// What was read so far.
    fn take(self) -> Vec<u8> {
        std::mem::take(&mut *self.bytes.lock())
    }
}

/// Reads at most [`OUTPUT_BYTES_MAX`] bytes of a pipe on a thread (so a full pipe never
/// blocks the child), then drains the rest. Nobody joins the thread: it ends with the pipe.
fn reader<R: Read + Send + 'static>(mut pipe: R) -> Pipe {
    let bytes = Arc::new(Mutex::new(Vec::new()));
    let (tx, done) = mpsc::channel();
    let kept = bytes.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut left = OUTPUT_BYTES_MAX as usize;
        while let Ok(n @ 1..) = pipe.read(&mut buf) {
            let keep = n.min(left);
            kept.lock().extend_from_slice(&buf[..keep]);
            left -= keep;
        }
        let _ = tx.send(());
    });
    Pipe { bytes, done }
}
