//! The agent's calls into a plugin it drives rather than one that drives it (an interceptor,
//! a serializer, a selector). A [`Caller`] owns the plugin's supervised JVM: each call is one
//! frame and its answer, answered in the order made (a few in flight at once: the host works
//! on one while the next ones wait in its pipe); a call made while the JVM restarts
//! waits for the new one; a call in flight when the JVM ends fails ([`CallError::Gone`]) and the
//! caller refuses its batch upstream. A call to a plugin that cannot start (its last start
//! failed, [`super::status`]) fails at once ([`CallError::Down`]), so its source refuses its
//! clients instead of holding them. Dropping the caller stops the plugin.

use tokio::sync::{mpsc, oneshot};

use super::frame::MAX_FRAME_BYTES;
use super::frame::{encode_to_jvm, event_bytes, FromJvm, GroupCounts, Role, Status, ToJvm};
use super::session::{Call, Serve, Spec};
use super::status::{self, Status as PluginStatus};
use super::supervise::supervise_on;
use crate::agent::future::{BoxFuture, StepError};
use crate::agent::stop::{self, StopHandle};
use sluice_core::Event;

/// A call into a plugin failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The plugin threw: its exception's class and message.
    #[error("{plugin} threw {message}")]
    Threw {
        /// The component and its class.
        plugin: String,
        /// The exception.
        message: String,
    },
    /// The JVM ended (or was stopped) before it answered; it is restarted.
    #[error("{plugin}: its JVM ended before it answered")]
    Gone {
        /// The component and its class.
        plugin: String,
    },
    /// The plugin cannot start (its last configure or start failed, a class is missing): the
    /// call is refused at once rather than held until a JVM that would fail again.
    #[error("{plugin} cannot start: {reason}")]
    Down {
        /// The component and its class.
        plugin: String,
        /// Why its last start failed.
        reason: String,
    },
    /// The answer does not fit the call (a host out of step with the agent).
    #[error("{plugin}: {message}")]
    Answer {
        /// The component and its class.
        plugin: String,
        /// What was wrong.
        message: String,
    },
    /// One event is larger than a frame can carry.
    #[error("{plugin}: an event of {bytes} bytes cannot cross to the JVM (a frame holds at most {max} bytes)")]
    TooLarge {
        /// The component and its class.
        plugin: String,
        /// The event's size in a frame.
        bytes: usize,
        /// The most a frame carries.
        max: usize,
    },
}

impl CallError {
    /// Whether sending the same batch again may succeed: a JVM that ended is restarted and a
    /// plugin may throw on one batch only; an event too large never fits.
    pub fn retryable(&self) -> bool {
        !matches!(self, CallError::TooLarge { .. })
    }
}

impl From<CallError> for StepError {
    fn from(e: CallError) -> StepError {
        let retryable = e.retryable();
        StepError::new(e, retryable)
    }
}

/// How many calls wait for the plugin beyond the one in flight (the rest wait to be queued).
const CALLS_QUEUED: usize = 16;

/// The handle of a plugin the agent calls.
#[derive(Debug)]
pub(crate) struct Caller {
    tx: mpsc::Sender<Call>,
    label: String,
    status: std::sync::Arc<PluginStatus>,
    _stop: StopHandle,
}

impl Caller {
    /// Starts `spec`'s JVM under supervision (on the current tokio runtime, which must exist).
    pub(crate) fn start(spec: Spec) -> Caller {
        let (tx, rx) = mpsc::channel(CALLS_QUEUED);
        let (handle, stop) = stop::channel();
        let label = format!("{} ({})", spec.name, spec.class);
        let entry = status::register(spec.role, &spec.name, &spec.class);
        let status = entry.status().clone();
        tokio::spawn(supervise_on(spec, entry, stop, Some(rx), || {
            Box::new(Callee)
        }));
        Caller {
            tx,
            label,
            status,
            _stop: handle,
        }
    }

    /// The component and its class, for messages.
    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    /// [`CallError::Down`] while the plugin cannot start.
    fn down(&self) -> Option<CallError> {
        self.status.failing().map(|reason| CallError::Down {
            plugin: self.label.clone(),
            reason,
        })
    }

    /// Makes one call (a whole encoded frame) and waits for its answer (a THREW answer is
    /// [`CallError::Threw`]); fails at once while the plugin cannot start.
    ///
    /// Cancel safety: cancel safe; a cancelled call is still made, its answer dropped.
    pub(crate) async fn call(&self, frame: Vec<u8>) -> Result<FromJvm, CallError> {
        if let Some(down) = self.down() {
            return Err(down);
        }
        let (reply, answer) = oneshot::channel();
        let call = Call { frame, reply };
        let gone = || {
            self.down().unwrap_or_else(|| CallError::Gone {
                plugin: self.label.clone(),
            })
        };
        self.tx.send(call).await.map_err(|_| gone())?;
        match answer.await {
            Ok(FromJvm::Threw(message)) => Err(CallError::Threw {
                plugin: self.label.clone(),
                message,
            }),
            Ok(m) => Ok(m),
            Err(_) => Err(gone()),
        }
    }

    /// An error for an answer that does not fit its call.
    pub(crate) fn wrong(&self, message: impl Into<String>) -> CallError {
        CallError::Answer {
            plugin: self.label.clone(),
            message: message.into(),
        }
    }
}

/// The most event bytes one frame of events carries (the frame less its type byte, a 4-byte
/// stream number, an op byte and the 4-byte count).
const FRAME_EVENT_BYTES: usize = MAX_FRAME_BYTES - 1 - 4 - 1 - 4;

/// `events` cut into runs that each fit one frame (one run in the usual case); an event too
/// large for any frame is [`CallError::TooLarge`].
pub(crate) fn frame_runs<'a>(
    events: &'a [Event],
    caller: &Caller,
) -> Result<Vec<&'a [Event]>, CallError> {
    runs_under(events, FRAME_EVENT_BYTES).map_err(|bytes| CallError::TooLarge {
        plugin: caller.label().to_owned(),
        bytes,
        max: FRAME_EVENT_BYTES,
    })
}

/// `events` cut into runs of at most `max` frame bytes, in order; `Err` with the size of an
/// event larger than `max`.
fn runs_under(events: &[Event], max: usize) -> Result<Vec<&[Event]>, usize> {
    let mut runs = Vec::with_capacity(1);
    let (mut start, mut bytes) = (0usize, 0usize);
    for (i, e) in events.iter().enumerate() {
        let n = event_bytes(e);
        if n > max {
            return Err(n);
        }
        if bytes + n > max && i > start {
            runs.push(&events[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += n;
    }
    if start < events.len() {
        runs.push(&events[start..]);
    }
    Ok(runs)
}

/// The serving side of a called plugin: it has no channel to ask anything of.
struct Callee;

impl Serve for Callee {
    fn handle(&mut self, _msg: FromJvm) -> BoxFuture<'_, Option<Vec<u8>>> {
        let m = "an interceptor, serializer or selector has no channel".to_owned();
        Box::pin(std::future::ready(Some(encode_to_jvm(&ToJvm::TxDone(
            Status::Error,
            m,
        )))))
    }

    fn counts(&mut self, _groups: Vec<GroupCounts>) {}

    fn abandon(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(std::future::ready(()))
    }
}

/// The spec of a called plugin: `name` as it appears in logs, `props` its Context.
pub(crate) fn spec(role: Role, class: &str, name: String, props: Vec<(String, String)>) -> Spec {
    Spec {
        role,
        class: class.trim().to_owned(),
        name,
        props,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_cut_into_runs_that_each_fit_a_frame_in_order() {
        // Each event of a 10-byte body takes 18 bytes of a frame.
        let events: Vec<Event> = (0..7)
            .map(|i| Event::new(format!("event-{i:04}")))
            .collect();
        assert_eq!(event_bytes(&events[0]), 18);
        let runs = runs_under(&events, 40).unwrap();
        let sizes: Vec<usize> = runs.iter().map(|r| r.len()).collect();
        assert_eq!(sizes, [2, 2, 2, 1]);
        let again: Vec<&Event> = runs.iter().flat_map(|r| r.iter()).collect();
        assert!(again.iter().zip(&events).all(|(a, b)| *a == b));
        assert_eq!(runs_under(&events, 1 << 20).unwrap().len(), 1);
        assert!(runs_under(&[], 40).unwrap().is_empty());
        assert_eq!(runs_under(&events, 17), Err(18));
    }

    #[test]
    fn only_an_event_too_large_is_not_worth_retrying() {
        let plugin = "i1 (a.B)".to_owned();
        assert!(!CallError::TooLarge {
            plugin: plugin.clone(),
            bytes: 2,
            max: 1
        }
        .retryable());
        assert!(CallError::Gone {
            plugin: plugin.clone()
        }
        .retryable());
        assert!(CallError::Threw {
            plugin,
            message: "x".into()
        }
        .retryable());
    }
}
