//! The `external` config filter's command: run without a shell (Flume splits `command` at
//! whitespace and appends the key as the last argument), bounded in time and output; the
//! first line of its standard output is the value.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a filter command may run before it is killed.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// How many bytes of a command's output are read (stdout and stderr each).
pub(crate) const OUTPUT_BYTES_MAX: u64 = 64 * 1024;
/// How often a running command is checked for its end.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

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

/// Runs `command` (split at whitespace) with `key` appended; the first line of its output.
pub(crate) fn run(command: &str, key: &str, charset: Charset) -> Result<String, CommandError> {
    let mut words = command.split_whitespace();
    let program = words.next().unwrap_or_default();
    let mut child = Command::new(program)
        .args(words)
        .arg(key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| CommandError::Spawn {
            command: command.to_owned(),
            source,
        })?;
    let out = child.stdout.take().map(reader);
    let err = child.stderr.take().map(reader);
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL_INTERVAL),
            _ => break None,
        }
    };
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(CommandError::Timeout {
            command: command.to_owned(),
        });
    };
    let stdout = out.and_then(|h| h.join().ok()).unwrap_or_default();
    let stderr = err.and_then(|h| h.join().ok()).unwrap_or_default();
    if !status.success() {
        return Err(CommandError::Failed {
            command: command.to_owned(),
            status,
            stderr: String::from_utf8_lossy(&stderr)
                .trim()
                .chars()
                .take(200)
                .collect(),
        });
    }
    let text = charset
        .decode(&stdout)
        .map_err(|why| CommandError::Output {
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

/// Reads at most [`OUTPUT_BYTES_MAX`] bytes of a pipe on a thread (so a full pipe never
/// blocks the child), then drains the rest.
fn reader<R: Read + Send + 'static>(mut pipe: R) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut pipe).take(OUTPUT_BYTES_MAX).read_to_end(&mut buf);
        let _ = std::io::copy(&mut pipe, &mut std::io::sink());
        buf
    })
}
