//! Supervision of a Java component: its JVM is run again after it fails (an exit, an
//! OutOfMemoryError, a crash, a bad frame) with a doubling backoff, and each failure is
//! logged naming the component and its class; the agent and its other components go on.
//!
//! The component's [`status`] says where it is: a start that fails (configure or start threw,
//! a class is missing, the JVM ended before it started) makes it [`State::Failing`] until a
//! start succeeds, so `/health` and `/ready` show it and the calls made to it meanwhile fail
//! at once ([`super::call`]); the log says which jar to add where when a class is missing
//! ([`super::hint`]). A plugin that ran and then ended is [`State::Restarting`]: calls wait for
//! its next JVM, as they do for its first.

use std::time::Duration;

use tokio::sync::mpsc;

use super::hint::jar_hint;
use super::jvm::{self, JavaError};
use super::session::{run_once, Call, Serve, Spec};
use super::status::{self, Entry, State, Status};
use crate::agent::stop::Stop;

/// First wait before a failed JVM is started again.
pub(crate) const RESTART_FIRST: Duration = Duration::from_secs(1);
/// Longest wait between restarts.
pub(crate) const RESTART_MAX: Duration = Duration::from_secs(30);
/// A run that lasted this long resets the backoff.
pub(crate) const RESTART_RESET_AFTER: Duration = Duration::from_secs(60);

/// Runs `spec` until `stop` (or until every caller of `calls` is gone), a fresh [`Serve`]
/// from `make` for each JVM. Calls wait in `calls` while a JVM restarts.
pub(crate) async fn supervise<F>(
    spec: Spec,
    stop: Stop,
    calls: Option<mpsc::Receiver<Call>>,
    make: F,
) where
    F: FnMut() -> Box<dyn Serve>,
{
    let entry = status::register(spec.role, &spec.name, &spec.class);
    supervise_on(spec, entry, stop, calls, make).await
}

/// As [`supervise`], with the component's place on the status board made by the caller.
pub(crate) async fn supervise_on<F>(
    spec: Spec,
    entry: Entry,
    mut stop: Stop,
    mut calls: Option<mpsc::Receiver<Call>>,
    mut make: F,
) where
    F: FnMut() -> Box<dyn Serve>,
{
    let status = entry.status().clone();
    let mut wait = RESTART_FIRST;
    loop {
        let began = tokio::time::Instant::now();
        let mut serve = make();
        tracing::info!(component = %spec.name, class = %spec.class, "starting Java plugin");
        let result = run_once(&spec, serve.as_mut(), &mut stop, calls.as_mut(), &status).await;
        drop(serve);
        let err = match result {
            Ok(()) => return,
            Err(e) => e,
        };
        if stop.is_set() || calls.as_ref().is_some_and(|c| c.is_closed()) {
            return;
        }
        if began.elapsed() >= RESTART_RESET_AFTER {
            wait = RESTART_FIRST;
        }
        failed(&spec, &status, &err, wait).await;
        if backoff(&status, &mut stop, calls.as_mut(), wait).await {
            return;
        }
        wait = (wait * 2).min(RESTART_MAX);
    }
}

/// Logs a failed run and sets the component's state: [`State::Restarting`] after a run that
/// started, [`State::Failing`] (with the jar advice for a missing class) after one that did
/// not.
async fn failed(spec: &Spec, status: &Status, err: &JavaError, wait: Duration) {
    let retry_ms = wait.as_millis() as u64;
    if status.state() == State::Running || status.state() == State::Restarting {
        status.set(State::Restarting);
        tracing::error!(component = %spec.name, class = %spec.class, error = %err, retry_ms, "Java plugin failed; restarting it");
        return;
    }
    let text = err.to_string();
    status.set(State::Failing(text.clone()));
    let class = spec.class.clone();
    let hint = tokio::task::spawn_blocking(move || jar_hint(&text, &class, &jvm::env()))
        .await
        .ok()
        .flatten();
    match hint {
        Some(hint) => {
            tracing::error!(component = %spec.name, class = %spec.class, error = %err, retry_ms, "Java plugin cannot start ({hint}); its component refuses its input until it starts")
        }
        None => {
            tracing::error!(component = %spec.name, class = %spec.class, error = %err, retry_ms, "Java plugin cannot start; its component refuses its input until it starts")
        }
    }
}

/// Waits `wait` before the next start (`true`: stopped meanwhile). While the component is
/// failing, the calls made to it are answered at once (dropped: the caller sees why in the
/// status), never held until the next JVM.
async fn backoff(
    status: &Status,
    stop: &mut Stop,
    mut calls: Option<&mut mpsc::Receiver<Call>>,
    wait: Duration,
) -> bool {
    let until = tokio::time::Instant::now() + wait;
    loop {
        let refuse = status.failing().is_some();
        let next = async {
            match calls.as_deref_mut() {
                Some(rx) if refuse => rx.recv().await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.wait() => return true,
            _ = tokio::time::sleep_until(until) => return false,
            call = next => {
                if call.is_none() {
                    return true;
                }
            }
        }
    }
}
