//! One host JVM process: spawned (the shim jar built first if needed) with its stderr logged
//! by a thread of its own (within a budget, stderr.rs) and its frames read by a task of its
//! own, frames written to it, answers awaited, and its
//! end (stdin closed, then killed) described.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;

use super::frames::read_frames;
use super::stderr::spawn_drain;
use super::{Serve, Spec, EXIT_WAIT, FRAMES_AHEAD, WRITE_TIMEOUT};
use crate::agent::java::frame::{FromJvm, Status};
use crate::agent::java::jvm::{self, JavaError};
use crate::agent::java::shim;

pub(super) struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    frames: mpsc::Receiver<Result<FromJvm, JavaError>>,
    failed: Option<String>,
}

impl Session {
    pub(super) async fn spawn(spec: &Spec) -> Result<Session, JavaError> {
        let root = shim::cache_root();
        let jar = tokio::task::spawn_blocking(move || shim::ensure_jar(&root))
            .await
            .map_err(|e| JavaError::Plugin(format!("building the shim: {e}")))??;
        let mut cmd = jvm::java_command(&jvm::env(), &jar);
        // stderr is a pipe of the agent's own, drained by a thread (stderr.rs), not the
        // runtime.
        let (err_reader, err_writer) = output_pipe().map_err(|e| JavaError::Tool {
            tool: "java",
            message: format!("cannot make a pipe for the JVM's output: {e}"),
        })?;
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(err_writer)
            .kill_on_drop(true);
        let spawned = cmd.spawn();
        // The agent's copy of the write end closes here, so the drain sees the JVM's end.
        drop(cmd);
        let mut child = spawned.map_err(|e| JavaError::Tool {
            tool: "java",
            message: format!(
                "cannot start {:?}: {e} (set JAVA_HOME or put java on PATH)",
                jvm::jdk_tool("java")
            ),
        })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(JavaError::Protocol("the JVM's pipes are missing".into()));
        };
        let label = format!("{} ({})", spec.name, spec.class);
        spawn_drain(err_reader, spec.name.clone(), spec.class.clone());
        let (tx, frames) = mpsc::channel(FRAMES_AHEAD);
        tokio::spawn(read_frames(stdout, tx, label));
        Ok(Session {
            child,
            stdin: Some(stdin),
            frames,
            failed: None,
        })
    }

    pub(super) async fn send(&mut self, bytes: &[u8]) -> Result<(), JavaError> {
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
    pub(super) async fn next(&mut self, serve: &mut dyn Serve) -> Result<FromJvm, JavaError> {
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
    pub(super) async fn until_ack(
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
    pub(super) async fn end(mut self) -> String {
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

/// A pipe for the JVM's stderr (both ends close-on-exec; the child gets its end as fd 2):
/// the reading end, to read on a thread with blocking reads, and the writing end.
fn output_pipe() -> std::io::Result<(std::process::ChildStderr, Stdio)> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2(2) writes two descriptors into the array it is given, which has room for
    // two; on success each is new and owned by nobody else.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just made by pipe2 and are owned here alone.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((std::process::ChildStderr::from(r), Stdio::from(w)))
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
