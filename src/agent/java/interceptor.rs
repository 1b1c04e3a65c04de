//! A Java interceptor (`interceptors.i1.type = com.example.JsonHeaders$Builder`): the
//! builder configured with the interceptor's keys, built and initialized in a JVM of its
//! own; each batch crosses to it once (`intercept(List<Event>)`) and the events it returns,
//! headers and bodies byte for byte, are what the chain goes on with. A batch larger than a
//! frame is cut into frames (each an `intercept` call of its own).

use super::call::{self, CallError, Caller};
use super::frame::{event_bytes, FromJvm, Role, ToJvm, MAX_FRAME_BYTES};
use crate::agent::component::Props;
use sluice_core::Event;

/// The most event bytes one INTERCEPT frame carries (the frame less its type byte and its
/// 4-byte count).
const FRAME_EVENT_BYTES: usize = MAX_FRAME_BYTES - 1 - 4;

/// One Java interceptor of a source's chain.
#[derive(Debug)]
pub(crate) struct JavaInterceptor {
    caller: Caller,
}

impl JavaInterceptor {
    /// Starts the JVM of interceptor `name` of class `class` with its keys (relative to
    /// `interceptors.<name>.`, `type` included as Flume passes it).
    pub(crate) fn start(name: &str, class: &str, props: &Props) -> JavaInterceptor {
        let props = props.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let spec = call::spec(
            Role::Interceptor,
            class,
            format!("interceptors.{name}"),
            props,
        );
        JavaInterceptor {
            caller: Caller::start(spec),
        }
    }

    /// The interceptor and its class, for messages.
    pub(crate) fn label(&self) -> &str {
        self.caller.label()
    }

    /// `intercept(List<Event>)` of `events`: the events to go on with, in the plugin's order.
    pub(crate) async fn intercept(&self, events: Vec<Event>) -> Result<Vec<Event>, CallError> {
        if events.is_empty() {
            return Ok(events);
        }
        let mut out = Vec::with_capacity(events.len());
        for part in frames(events, &self.caller)? {
            match self.caller.call(&ToJvm::Intercept(part)).await? {
                FromJvm::Intercepted(kept) => out.extend(kept),
                other => {
                    return Err(self
                        .caller
                        .wrong(format!("answered an INTERCEPT with {other:?}")))
                }
            }
        }
        Ok(out)
    }
}

/// `events` cut into batches that each fit a frame (one batch in the usual case).
fn frames(events: Vec<Event>, caller: &Caller) -> Result<Vec<Vec<Event>>, CallError> {
    let mut out: Vec<Vec<Event>> = Vec::with_capacity(1);
    let mut cur: Vec<Event> = Vec::new();
    let mut bytes = 0usize;
    for e in events {
        let n = event_bytes(&e);
        if n > FRAME_EVENT_BYTES {
            return Err(CallError::TooLarge {
                plugin: caller.label().to_owned(),
                bytes: n,
                max: FRAME_EVENT_BYTES,
            });
        }
        if bytes + n > FRAME_EVENT_BYTES && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        bytes += n;
        cur.push(e);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}
