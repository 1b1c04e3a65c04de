//! One host JVM process: spawned (the shim jar built first if needed) with its stderr logged
//! and its frames read by tasks of their own, frames written to it, answers awaited, and its
//! end (stdin closed, then killed) described.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;

use super::frames::read_frames;
use super::stderr::log_stderr;
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
