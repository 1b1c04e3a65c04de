//! One run of a host JVM: start it (the shim jar built first if needed), CONFIGURE and
//! START it, serve its requests through a [`Serve`] (the source or sink side) and pass it the
//! agent's [`Call`]s (an interceptor's, serializer's or selector's), answered in order, until the
//! agent stops it or it ends, then STOP it within [`STOP_GRACE`] or kill it. Its stderr is logged
//! under the component's name; its frames are read by a task of their own, so waiting for
//! one is cancel safe, and a frame that begins must arrive whole within
//! [`FRAME_READ_TIMEOUT`] (else the session ends naming the bytes received and expected).
//!
//! Here: the session's steps and its serving loop; `process.rs` the JVM process,
//! `frames.rs` the frame reader, `stderr.rs` the stderr logger.

mod frames;
mod process;
mod stderr;

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::frame::{self, FromJvm, GroupCounts, Role, ToJvm};
use super::jvm::JavaError;
use super::status::{State, Status};
use crate::agent::future::BoxFuture;
use crate::agent::stop::Stop;
use process::Session;

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

/// Runs `spec` once: configure, start (then `status` is [`State::Running`]), serve (and pass
/// on `calls`) until `stop` or every caller is gone (then `Ok`) or until the JVM fails
/// (`Err`, naming how it ended; a call in flight is dropped unanswered). Cancel safety:
/// dropping it kills the JVM (kill on drop) and drops what `serve` holds (a take transaction
/// rolls back on drop).
pub(crate) async fn run_once(
    spec: &Spec,
    serve: &mut dyn Serve,
    stop: &mut Stop,
    mut calls: Option<&mut mpsc::Receiver<Call>>,
    status: &Status,
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
        Ok(()) => {
            status.set(State::Running);
            serve_until_stop(&mut s, serve, stop, &mut calls).await
        }
        Err(e) => Err(e),
    };
    end_run(spec, s, serve, outcome).await
}

/// Runs `spec`'s `configure()` in a JVM of its own, then ends that JVM (never starting the
/// plugin): `Ok` once it configured, else why (the plugin's exception, a class that did not
/// load, the JVM's end). For `config check`; `serve` answers what the plugin asks meanwhile.
pub(crate) async fn configure_only(spec: &Spec, serve: &mut dyn Serve) -> Result<(), JavaError> {
    let mut s = Session::spawn(spec).await?;
    let configure = frame::encode_to_jvm(&ToJvm::Configure {
        role: spec.role,
        class: spec.class.clone(),
        name: spec.name.clone(),
        props: spec.props.clone(),
    });
    let configured = match s.send(&configure).await {
        Ok(()) => s.until_ack("configure", CONFIGURE_TIMEOUT, serve).await,
        Err(e) => Err(e),
    };
    let how = s.end().await;
    configured.map_err(|e| match e {
        JavaError::Exited(_) => JavaError::Exited(how),
        other => other,
    })
}

/// Ends a started run: STOP within [`STOP_GRACE`] after `Ok`, else the JVM's end described.
async fn end_run(
    spec: &Spec,
    mut s: Session,
    serve: &mut dyn Serve,
    outcome: Result<(), JavaError>,
) -> Result<(), JavaError> {
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
