//! A Java channel selector (`selector.type = com.example.MySelector`): the class is given the
//! source's channels (`setChannels`, in order) and its `selector.*` keys (`configure`) in a
//! JVM of its own; each batch crosses once and comes back as each event's required and
//! optional channels. As for Sluice's selectors, a channel is named at most once per event
//! and never both required and optional (required wins).

use super::call::{self, frame_runs, CallError, Caller};
use super::frame::{encode_select, Choice, FromJvm, Role};
use crate::agent::future::{BoxFuture, StepError};
use crate::agent::selector::{AsyncSelector, AsyncSelectorSpec, Selection};
use sluice_core::Event;

/// The key of a selector's CONFIGURE that carries its channel names (the host removes it
/// before it builds the selector's Context).
pub(crate) const CHANNELS_KEY: &str = "sluice.channels";

/// A source's Java selector.
#[derive(Debug)]
pub(crate) struct JavaSelector {
    caller: Caller,
    channels: Vec<String>,
}

impl JavaSelector {
    /// Starts the JVM of the selector `spec` (on the current tokio runtime).
    pub(crate) fn start(spec: &AsyncSelectorSpec) -> JavaSelector {
        let mut props = spec.props.clone();
        props.push((CHANNELS_KEY.to_owned(), spec.channels.join(" ")));
        let spec_run = call::spec(Role::Selector, &spec.class, "selector".to_owned(), props);
        JavaSelector {
            caller: Caller::start(spec_run),
            channels: spec.channels.clone(),
        }
    }

    /// The channels of each event, in order.
    pub(crate) async fn select(&self, events: &[Event]) -> Result<Vec<Selection>, CallError> {
        let mut out = Vec::with_capacity(events.len());
        for run in frame_runs(events, &self.caller)? {
            let FromJvm::Selected(choices) = self.caller.call(encode_select(run)).await? else {
                return Err(self.caller.wrong("answered a SELECT with another kind"));
            };
            if choices.len() != run.len() {
                return Err(self.caller.wrong(format!(
                    "chose for {} events of {}",
                    choices.len(),
                    run.len()
                )));
            }
            for c in &choices {
                let s = selection(&self.channels, c)
                    .map_err(|i| self.caller.wrong(format!("chose channel number {i}")))?;
                out.push(s);
            }
        }
        Ok(out)
    }
}

impl AsyncSelector for JavaSelector {
    fn select_batch<'a>(
        &'a self,
        events: &'a [Event],
    ) -> BoxFuture<'a, Result<Vec<Selection>, StepError>> {
        Box::pin(async move { self.select(events).await.map_err(StepError::from) })
    }
}

/// A choice's channel names, each once, required ones never optional; `Err` with an index
/// past `channels`.
fn selection(channels: &[String], c: &Choice) -> Result<Selection, u32> {
    let name = |i: &u32| channels.get(*i as usize).cloned().ok_or(*i);
    let mut s = Selection::default();
    for i in &c.required {
        let n = name(i)?;
        if !s.required.contains(&n) {
            s.required.push(n);
        }
    }
    for i in &c.optional {
        let n = name(i)?;
        if !s.required.contains(&n) && !s.optional.contains(&n) {
            s.optional.push(n);
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_choice_names_each_channel_once_and_required_wins() {
        let channels: Vec<String> = ["c1", "c2", "c3"].map(String::from).to_vec();
        let c = Choice {
            required: vec![0, 0, 2],
            optional: vec![1, 0, 1, 2],
        };
        let s = selection(&channels, &c).unwrap();
        assert_eq!(s.required, ["c1", "c3"]);
        assert_eq!(s.optional, ["c2"]);
        let bad = Choice {
            required: vec![3],
            optional: Vec::new(),
        };
        assert_eq!(selection(&channels, &bad), Err(3));
    }
}
