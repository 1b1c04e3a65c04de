//! One run of a host JVM: start it (the shim jar built first if needed), CONFIGURE and
//! START it, serve its requests through a [`Serve`] (the source or sink side) and pass it the
//! agent's [`Call`]s (an interceptor's, serializer's or selector's), answered in order, until the
//! agent stops it or it ends, then STOP it within [`STOP_GRACE`] or kill it. Its stderr is logged
//! under the component's name; its frames are read by a task of their own, so waiting for
//! one is cancel safe, and a frame that begins must arrive whole within
//! [`FRAME_READ_TIMEOUT`] (else the session ends naming the bytes received and expected).

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::{mpsc, oneshot};

use super::frame::{self, FromJvm, GroupCounts, Role, Status, ToJvm, LEN_BYTES};
use super::jvm::{self, JavaError};
use super::shim;
use crate::agent::channel::BoxFuture;
use crate::agent::stop::Stop;

/// Longest wait for CONFIGURE's answer (a plugin may connect to its database there).
pub(crate) const CONFIGURE_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest wait for START's answer.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for STOP's answer before the JVM is killed (inside the runtime's 3 s grace).
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(2);
/// Longest wait for the JVM to end once its stdin is closed, before it is killed.
pub(crate) const EXIT_WAIT: Duration = Duration::from_millis(500);
/// Longest a frame to the JVM may take to write (a JVM that stopped reading).
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a frame from the JVM may take to arrive whole once its first byte has (as long as
/// a frame to the JVM may take to write): a frame left partial (bytes written to the
/// protocol pipe behind the host's back, a JVM stalled mid-frame) ends the session, and the
/// supervisor restarts the plugin. Waiting for a frame's first byte has no deadline (an idle
/// plugin sends nothing).
pub(crate) const FRAME_READ_TIMEOUT: Duration = WRITE_TIMEOUT;
/// Longest stderr line logged (longer ones are cut).
pub(crate) const LOG_LINE_MAX: usize = 16 << 10;
/// Frames read ahead of the serving loop.
const FRAMES_AHEAD: usize = 4;

/// What the agent runs in a JVM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spec {
    /// Source or sink.
    pub role: Role,
    /// The plugin's Java class.
    pub class: String,
    /// The component's name.
    pub name: String,
    /// Its keys (without `agent.sources.NAME.`), `type` and `channels`/`channel` included as
    /// Flume passes them.
    pub props: Vec<(String, String)>,
}

/// The agent's side of the requests of a running plugin.
pub(crate) trait Serve: Send {
    /// Answers one request with a whole encoded frame (`None`: it has no answer).
    fn handle(&mut self, msg: FromJvm) -> BoxFuture<'_, Option<Vec<u8>>>;
    /// The plugin's counter groups arrived.
    fn counts(&mut self, groups: Vec<GroupCounts>);
    /// The JVM is gone or stopped: end what it left open (roll back a take).
    fn abandon(&mut self) -> BoxFuture<'_, ()>;
}

/// A call the agent makes into a plugin: a whole encoded frame and where its answer goes
/// (INTERCEPTED, WRITTEN, SELECTED or THREW; dropped unanswered when the JVM ends first).
pub(crate) struct Call {
    /// The frame (prefix included).
    pub frame: Vec<u8>,
    /// Where the answer goes.
    pub reply: oneshot::Sender<FromJvm>,
}

/// Whether a frame from the JVM answers a [`Call`].
fn answers_a_call(msg: &FromJvm) -> bool {
    matches!(
        msg,
        FromJvm::Intercepted(_) | FromJvm::Written(_) | FromJvm::Selected(_) | FromJvm::Threw(_)
    )
}

/// Calls passed to the JVM and not yet answered, at most. The host answers them in order, one
/// at a time; while it works on one the next ones are already in its pipe, so the agent's
/// encoding and decoding overlap the plugin's work. At most [`FRAMES_AHEAD`], so the frame
/// reader can always take every answer in flight and a full pipe never blocks both ends.
pub(crate) const CALLS_IN_FLIGHT: usize = FRAMES_AHEAD;

/// The next call to pass on, while fewer than [`CALLS_IN_FLIGHT`] wait (`ready`); never,
/// without calls; `None` when every caller is gone.
async fn next_call(calls: &mut Option<&mut mpsc::Receiver<Call>>, ready: bool) -> Option<Call> {
    match calls {
        Some(rx) if ready => rx.recv().await,
        _ => std::future::pending().await,
    }
}

struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    frames: mpsc::Receiver<Result<FromJvm, JavaError>>,
    failed: Option<String>,
}

impl Session {
    async fn spawn(spec: &Spec) -> Result<Session, JavaError> {
        let root = shim::cache_root();
        let jar = tokio::task::spawn_blocking(move || shim::ensure_jar(&root))
            .await
            .map_err(|e| JavaError::Plugin(format!("building the shim: {e}")))??;
        let mut cmd = jvm::java_command(&jvm::env(), &jar);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| JavaError::Tool {
            tool: "java",
            message: format!(
                "cannot start {:?}: {e} (set JAVA_HOME or put java on PATH)",
                jvm::jdk_tool("java")
            ),
        })?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(JavaError::Protocol("the JVM's pipes are missing".into()));
        };
        let label = format!("{} ({})", spec.name, spec.class);
        tokio::spawn(log_stderr(stderr, spec.name.clone(), spec.class.clone()));
        let (tx, frames) = mpsc::channel(FRAMES_AHEAD);
        tokio::spawn(read_frames(stdout, tx, label));
        Ok(Session {
            child,
            stdin: Some(stdin),
            frames,
            failed: None,
        })
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), JavaError> {
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(JavaError::Protocol("the JVM's stdin is closed".into()));
        };
        match tokio::time::timeout(WRITE_TIMEOUT, stdin.write_all(bytes)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(JavaError::Protocol(format!("writing to the JVM: {e}"))),
            Err(_) => Err(JavaError::Timeout("a write", WRITE_TIMEOUT)),
        }
    }

    /// The next frame; `Counters` and `Failed` are taken care of here.
    async fn next(&mut self, serve: &mut dyn Serve) -> Result<FromJvm, JavaError> {
        loop {
            match self.frames.recv().await {
                Some(Ok(FromJvm::Counters(groups))) => serve.counts(groups),
                Some(Ok(FromJvm::Failed(m))) => self.failed = Some(m),
                Some(Ok(msg)) => return Ok(msg),
                Some(Err(e)) => return Err(e),
                None => return Err(JavaError::Exited(String::new())),
            }
        }
    }

    /// Serves requests until the ACK of `what` arrives (or `timeout` passes).
    async fn until_ack(
        &mut self,
        what: &'static str,
        timeout: Duration,
        serve: &mut dyn Serve,
    ) -> Result<(), JavaError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.next(serve))
                .await
                .map_err(|_| JavaError::Timeout(what, timeout))??;
            match msg {
                FromJvm::Ack(Status::Ok, _) => return Ok(()),
                FromJvm::Ack(_, m) => return Err(JavaError::Plugin(m)),
                other => {
                    if let Some(reply) = serve.handle(other).await {
                        self.send(&reply).await?;
                    }
                }
            }
        }
    }

    /// Closes stdin (the host halts on it), waits [`EXIT_WAIT`], kills; says how it ended.
    async fn end(mut self) -> String {
        self.stdin = None;
        let status = match tokio::time::timeout(EXIT_WAIT, self.child.wait()).await {
            Ok(Ok(s)) => s,
            _ => {
                let _ = self.child.kill().await;
                match self.child.wait().await {
                    Ok(s) => s,
                    Err(e) => return format!("cannot wait for it: {e}"),
                }
            }
        };
        let mut text = describe_exit(status);
        if let Some(f) = self.failed.take() {
            text.push_str(": ");
            text.push_str(&f);
        }
        text
    }
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(3), _) => "status 3: OutOfMemoryError".to_owned(),
        (Some(70), _) => "status 70: a fatal error in the plugin".to_owned(),
        (Some(c), _) => format!("status {c}"),
        (None, Some(9)) => "killed".to_owned(),
        (None, Some(s)) => format!("signal {s}"),
        _ => status.to_string(),
    }
}

/// Runs `spec` once: configure, start, serve (and pass on `calls`) until `stop` or every
/// caller is gone (then `Ok`) or until the JVM fails (`Err`, naming how it ended; a call in
/// flight is dropped unanswered). Cancel safety: dropping it kills the JVM (kill on drop) and
/// drops what `serve` holds (a take transaction rolls back on drop).
pub(crate) async fn run_once(
    spec: &Spec,
    serve: &mut dyn Serve,
    stop: &mut Stop,
    mut calls: Option<&mut mpsc::Receiver<Call>>,
) -> Result<(), JavaError> {
    let mut s = Session::spawn(spec).await?;
    let configure = frame::encode_to_jvm(&ToJvm::Configure {
        role: spec.role,
        class: spec.class.clone(),
        name: spec.name.clone(),
        props: spec.props.clone(),
    });
    let started = {
        let mut result = Box::pin(async {
            s.send(&configure).await?;
            s.until_ack("configure", CONFIGURE_TIMEOUT, serve).await?;
            s.send(&frame::encode_to_jvm(&ToJvm::Start)).await?;
            s.until_ack("start", START_TIMEOUT, serve).await
        });
        let r = tokio::select! {
            r = &mut result => Some(r),
            _ = stop.wait() => None,
        };
        drop(result);
        r
    };
    let Some(started) = started else {
        serve.abandon().await;
        let _ = s.end().await;
        return Ok(());
    };
    let outcome = match started {
        Ok(()) => serve_until_stop(&mut s, serve, stop, &mut calls).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => {
            let stopped = match s.send(&frame::encode_to_jvm(&ToJvm::Stop)).await {
                Ok(()) => s.until_ack("stop", STOP_GRACE, serve).await,
                Err(e) => Err(e),
            };
            if let Err(e) = stopped {
                tracing::warn!(component = %spec.name, class = %spec.class, error = %e, "Java plugin did not stop in time; killing its JVM");
            }
            serve.abandon().await;
            s.end().await;
            Ok(())
        }
        Err(e) => {
            serve.abandon().await;
            let how = s.end().await;
            Err(match e {
                JavaError::Exited(_) => JavaError::Exited(how),
                other => JavaError::Plugin(format!("{other}; the JVM ended with {how}")),
            })
        }
    }
}

/// The started plugin's loop: requests to `serve`, calls passed on (up to
/// [`CALLS_IN_FLIGHT`] unanswered), until stop.
async fn serve_until_stop(
    s: &mut Session,
    serve: &mut dyn Serve,
    stop: &mut Stop,
    calls: &mut Option<&mut mpsc::Receiver<Call>>,
) -> Result<(), JavaError> {
    // Calls passed on, oldest first: the host answers in order.
    let mut pending: std::collections::VecDeque<oneshot::Sender<FromJvm>> =
        std::collections::VecDeque::with_capacity(CALLS_IN_FLIGHT);
    loop {
        tokio::select! {
            _ = stop.wait() => return Ok(()),
            call = next_call(calls, pending.len() < CALLS_IN_FLIGHT) => {
                let Some(call) = call else { return Ok(()) };
                s.send(&call.frame).await?;
                pending.push_back(call.reply);
            }
            msg = s.next(serve) => {
                let m = msg?;
                if answers_a_call(&m) {
                    let Some(reply) = pending.pop_front() else {
                        return Err(JavaError::Protocol("an answer to no call".into()));
                    };
                    // A caller that gave up (its source stopped) drops the answer.
                    let _ = reply.send(m);
                } else if let Some(reply) = serve.handle(m).await {
                    s.send(&reply).await?;
                }
            }
        }
    }
}

async fn read_frames(
    stdout: ChildStdout,
    tx: mpsc::Sender<Result<FromJvm, JavaError>>,
    label: String,
) {
    let mut r = BufReader::with_capacity(64 << 10, stdout);
    loop {
        let mut prefix = [0u8; LEN_BYTES];
        // The first byte may take as long as the plugin is idle; the rest has a deadline.
        match r.read(&mut prefix[..1]).await {
            Ok(1) => {}
            _ => return, // end of stream: the receiver sees the channel closed
        }
        let deadline = tokio::time::Instant::now() + FRAME_READ_TIMEOUT;
        let partial = |part, got, want| {
            Err(JavaError::PartialFrame {
                plugin: label.clone(),
                part,
                got,
                want,
                within: FRAME_READ_TIMEOUT,
            })
        };
        let next = match read_by(&mut r, &mut prefix, 1, deadline).await {
            Fill::Eof => return,
            Fill::Late(got) => partial("length prefix", got, LEN_BYTES),
            Fill::Done => match frame::frame_len(prefix) {
                Ok(n) => {
                    let mut body = vec![0u8; n];
                    match read_by(&mut r, &mut body, 0, deadline).await {
                        Fill::Eof => return,
                        Fill::Late(got) => partial("body", got, n),
                        Fill::Done => frame::decode_from_jvm(&body)
                            .map_err(|e| JavaError::Protocol(format!("{label}: {e}"))),
                    }
                }
                Err(e) => Err(JavaError::Protocol(format!("{label}: {e}"))),
            },
        };
        let bad = next.is_err();
        if tx.send(next).await.is_err() || bad {
            return;
        }
    }
}

/// How a [`read_by`] ended.
enum Fill {
    /// The buffer is full.
    Done,
    /// The stream ended or failed.
    Eof,
    /// The deadline passed with this many bytes of the buffer filled.
    Late(usize),
}

/// Fills `buf` from byte `from` on, by `deadline`.
async fn read_by<R: tokio::io::AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut [u8],
    from: usize,
    deadline: tokio::time::Instant,
) -> Fill {
    let mut got = from;
    while let Some(rest) = buf.get_mut(got..).filter(|b| !b.is_empty()) {
        match tokio::time::timeout_at(deadline, r.read(rest)).await {
            Err(_) => return Fill::Late(got),
            Ok(Ok(0)) | Ok(Err(_)) => return Fill::Eof,
            Ok(Ok(n)) => got += n,
        }
    }
    Fill::Done
}

/// Logs the JVM's stderr: `LEVEL logger message` lines (the shim's slf4j) at their level,
/// stack-trace lines at the level before them, anything else at INFO.
async fn log_stderr(stderr: tokio::process::ChildStderr, name: String, class: String) {
    let mut r = BufReader::with_capacity(16 << 10, stderr);
    let mut level = tracing::Level::INFO;
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        match read_line_capped(&mut r, &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        let (lvl, msg) = parse_log_line(text, level);
        level = lvl;
        match lvl {
            tracing::Level::ERROR => {
                tracing::error!(component = %name, class = %class, "{msg}")
            }
            tracing::Level::WARN => tracing::warn!(component = %name, class = %class, "{msg}"),
            tracing::Level::INFO => tracing::info!(component = %name, class = %class, "{msg}"),
            tracing::Level::DEBUG => {
                tracing::debug!(component = %name, class = %class, "{msg}")
            }
            tracing::Level::TRACE => {
                tracing::trace!(component = %name, class = %class, "{msg}")
            }
        }
    }
}

/// One stderr line's level and text; `before` is the level of the line before it.
pub(crate) fn parse_log_line(text: &str, before: tracing::Level) -> (tracing::Level, &str) {
    for (word, lvl) in [
        ("ERROR ", tracing::Level::ERROR),
        ("WARN ", tracing::Level::WARN),
        ("INFO ", tracing::Level::INFO),
        ("DEBUG ", tracing::Level::DEBUG),
        ("TRACE ", tracing::Level::TRACE),
    ] {
        if let Some(rest) = text.strip_prefix(word) {
            return (lvl, rest);
        }
    }
    let t = text.trim_start();
    if text.starts_with(char::is_whitespace) || t.starts_with("Caused by") || t.starts_with("...") {
        return (before, text);
    }
    (tracing::Level::INFO, text)
}

/// Reads one line into `buf`, keeping at most [`LOG_LINE_MAX`] bytes of it.
async fn read_line_capped<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let chunk = r.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(total);
        }
        let (used, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = LOG_LINE_MAX.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..used.min(room)]);
        r.consume(used);
        total += used;
        if done {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn log_lines_keep_their_level_and_stack_traces_follow_the_line_before() {
        assert_eq!(
            parse_log_line("WARN a.B hello", Level::INFO),
            (Level::WARN, "a.B hello")
        );
        assert_eq!(
            parse_log_line("\tat a.B.c(B.java:1)", Level::ERROR).0,
            Level::ERROR
        );
        assert_eq!(parse_log_line("Caused by: x", Level::WARN).0, Level::WARN);
        assert_eq!(parse_log_line("plain", Level::ERROR).0, Level::INFO);
    }
}
