//! A Java interceptor (`interceptors.i1.type = com.example.JsonHeaders$Builder`): the
//! builder configured with the interceptor's keys, built and initialized in a JVM of its
//! own; each batch crosses to it once (`intercept(List<Event>)`) and the events it returns,
//! headers and bodies byte for byte, are what the chain goes on with. A batch larger than a
//! frame is cut into frames (each an `intercept` call of its own).

use super::call::{self, frame_runs, CallError, Caller};
use super::frame::{encode_intercept, FromJvm, Role};
use crate::agent::component::Props;
use crate::agent::future::{BoxFuture, StepError};
use crate::agent::interceptor::AsyncInterceptor;
use sluice_core::Event;

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

    /// `intercept(List<Event>)` of `events`: the events to go on with, in the plugin's order.
    pub(crate) async fn intercept(&self, events: Vec<Event>) -> Result<Vec<Event>, CallError> {
        if events.is_empty() {
            return Ok(events);
        }
        let mut out = Vec::with_capacity(events.len());
        for run in frame_runs(&events, &self.caller)? {
            match self.caller.call(encode_intercept(run)).await? {
                FromJvm::Intercepted(kept) => out.extend(kept),
                _ => return Err(self.caller.wrong("answered an INTERCEPT with another kind")),
            }
        }
        Ok(out)
    }
}

impl AsyncInterceptor for JavaInterceptor {
    fn label(&self) -> &str {
        self.caller.label()
    }

    fn intercept_batch(&self, v: Vec<Event>) -> BoxFuture<'_, Result<Vec<Event>, StepError>> {
        Box::pin(async move { self.intercept(v).await.map_err(StepError::from) })
    }
}
