//! Flume's channel processor: a source hands it a batch; the interceptor chain runs first,
//! then the selector picks channels per event; each required channel gets the batch's events
//! for it in one transaction (begin, put all, commit), and a failure there fails the batch.
//! Optional channels are written by a detached task whose failures are only logged, so they
//! never hold the source back.
//!
//! As in Flume there is no atomicity across channels: required channels committed before a
//! failing one keep their events, so a client that retries creates duplicates there.
//!
//! An RPC source's bodies are slices of the frame they arrived in ([`crate::wire::bodies`]).
//! When interceptors or the selector leave a channel less than half of a batch's body bytes,
//! the events it gets are given bodies of their own first ([`Event::detach_body`]), so a
//! channel that keeps one event of each call never holds whole frames beyond what it counts.
//!
//! The put contract a source sees (`put.rs`): `put_group`/`put` hand every refused batch back
//! ([`Rejected`]), `process` keeps nothing for a caller that never retries, and
//! [`ChannelProcessor::blocking`] hands out, once, the put on the caller's blocking thread.

mod channels;
mod error;
mod intake;
mod plugins;
mod put;

pub use channels::SourceChannels;
pub use error::RouteError;
use intake::Intake;
pub use plugins::PluginHost;
pub use put::{BlockingRouter, Outcomes, Rejected};

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::agent::channel::{put_batch, AgentChannel, BlockingPut};
use crate::agent::interceptor::config::InterceptorSpec;
use crate::agent::interceptor::Chain;
use crate::agent::selector::{AsyncSelector, ChannelSelector, Selection};
use crate::agent::tap;
use sluice_core::Event;

/// How a source is wired: what a [`ChannelProcessor`] is built from (a configured source
/// of the topology answers it).
pub trait Wiring {
    /// The interceptor chain, in order.
    fn interceptors(&self) -> &[InterceptorSpec];
    /// The channel selector.
    fn selector(&self) -> &ChannelSelector;
    /// The source's channels, in order.
    fn channels(&self) -> &[String];
    /// Whether the events' own `sluiceId` headers are kept (`trustEventIds`,
    /// [`crate::agent::id_trust`]); otherwise they are removed before the interceptors.
    fn trusts_event_ids(&self) -> bool {
        true
    }
    /// What starts the interceptors and the selector whose `type` is a class name; `None`
    /// refuses them (a source wired by hand, in a test).
    fn plugins(&self) -> Option<&'static dyn PluginHost> {
        None
    }
}

/// Routes a source's batches into its channels: the intake (`intake.rs`: ids, interceptors)
/// first, then the selector, then the [`SourceChannels`] (each required channel's part in one
/// transaction).
#[derive(Debug)]
pub struct ChannelProcessor {
    intake: Intake,
    selector: ChannelSelector,
    channels: SourceChannels,
    /// The one channel every event goes to (after the interceptors), when there is one and
    /// nothing optional: [`ChannelProcessor::put_group`] hands it whole groups.
    single: Option<(String, Arc<dyn AgentChannel>)>,
    /// That channel's blocking put, when it has one and no interceptor awaits: decided here,
    /// once ([`ChannelProcessor::blocking`]).
    blocking: Option<Arc<dyn BlockingPut>>,
    /// The selector asked once per batch, when `selector.type` names one.
    async_selector: Option<Box<dyn AsyncSelector>>,
}

impl ChannelProcessor {
    /// Builds the processor of a source whose configuration was validated; `channels` holds
    /// at least the source's channels.
    pub fn new(
        cfg: &impl Wiring,
        channels: &BTreeMap<String, Arc<dyn AgentChannel>>,
    ) -> Result<Self, crate::agent::component::ComponentError> {
        let built = plugins::steps(cfg)?;
        let mut mine = BTreeMap::new();
        for name in cfg.channels() {
            let ch = channels.get(name).ok_or_else(|| {
                crate::agent::component::ComponentError::new(
                    "channels",
                    format!("channel {name} is not running"),
                )
            })?;
            mine.insert(name.clone(), ch.clone());
        }
        let channels = SourceChannels::new(mine);
        let intake = Intake::new(Chain::of(built), cfg.trusts_event_ids());
        let selector = cfg.selector().clone();
        let single = match (&selector, channels.only()) {
            (ChannelSelector::Replicating { required, optional }, Some((name, ch)))
                if optional.is_empty() && required.as_slice() == std::slice::from_ref(name) =>
            {
                Some((name.clone(), ch.clone()))
            }
            _ => None,
        };
        let blocking = single
            .as_ref()
            .filter(|_| !intake.awaits())
            .and_then(|(_, ch)| ch.blocking_put());
        Ok(ChannelProcessor {
            intake,
            selector,
            channels,
            single,
            blocking,
            async_selector: plugins::selector(cfg)?,
        })
    }

    /// Counts the ids it removes into the source's `counters` (`EventIdStrippedCount`).
    pub fn with_counters(mut self, counters: Arc<crate::agent::metrics::CounterGroup>) -> Self {
        self.intake.count_into(counters);
        self
    }

    /// The source's channels, as a set: their put capacity, backlogs, resend and origin
    /// terms ([`SourceChannels`]).
    pub fn channels(&self) -> &SourceChannels {
        &self.channels
    }

    /// Whether the source's events keep the ids their peers set (`trustEventIds`).
    pub(crate) fn trusts_event_ids(&self) -> bool {
        self.intake.trusts_ids()
    }

    /// Intercepts, selects and puts a batch. Returns once every required channel committed
    /// its part (or one failed).
    ///
    /// Cancel safety: not cancel safe; a cancelled call may have committed to some channels.
    pub async fn process(&self, events: Vec<Event>) -> Result<(), RouteError> {
        if let ChannelSelector::Replicating { required, optional } = &self.selector {
            if distinct(required) && distinct(optional) {
                let events = self.intake.intercept(events).await?;
                return self.channels.replicate(events, required, optional).await;
            }
        }
        // Each channel's share is weighed against the whole batch as it arrived.
        let received = body_bytes(&events);
        let events = self.intake.intercept(events).await?;
        let selections: Vec<Selection> = match &self.async_selector {
            Some(s) => s.select_batch(&events).await.map_err(RouteError::Select)?,
            None => events.iter().map(|e| self.selector.select(e)).collect(),
        };
        let mut split = Split::default();
        for (e, sel) in events.into_iter().zip(selections) {
            split.add(&self.channels, e, &sel);
        }
        let Split {
            mut required,
            mut optional,
            order,
        } = split;
        for batch in required.values_mut().chain(optional.values_mut()) {
            detach_if_sparse(batch, received);
        }
        for name in order {
            let (Some(batch), Some((_, ch))) = (required.remove(name), self.channels.named(name))
            else {
                continue;
            };
            tap::offer(tap::Point::Channel, name, &batch);
            put_batch(ch.as_ref(), batch)
                .await
                .map_err(|source| RouteError::Channel {
                    channel: name.to_owned(),
                    source,
                })?;
        }
        assert!(
            required.is_empty(),
            "invariant: a batch is acknowledged only after every required channel took its part"
        );
        self.channels.put_optional(optional);
        Ok(())
    }
}

/// A batch split per channel by the selector's choices: each required channel's events in
/// the order the channels were first chosen, each optional channel's.
#[derive(Default)]
struct Split<'a> {
    required: BTreeMap<&'a str, Vec<Event>>,
    optional: BTreeMap<&'a str, Vec<Event>>,
    order: Vec<&'a str>,
}

impl<'a> Split<'a> {
    /// Adds `e` to the channels `sel` chose among `channels`; the last required channel gets
    /// the event itself: no copy in the common case.
    fn add(&mut self, channels: &'a SourceChannels, e: Event, sel: &Selection) {
        for c in &sel.optional {
            if let Some((k, _)) = channels.named(c) {
                self.optional.entry(k).or_default().push(e.clone());
            }
        }
        let targets: Vec<&str> = sel
            .required
            .iter()
            .filter_map(|c| channels.named(c))
            .map(|(k, _)| k)
            .collect();
        let Some((last, rest)) = targets.split_last() else {
            return;
        };
        for &k in rest {
            if !self.required.contains_key(k) {
                self.order.push(k);
            }
            self.required.entry(k).or_default().push(e.clone());
        }
        if !self.required.contains_key(last) {
            self.order.push(last);
        }
        self.required.entry(last).or_default().push(e);
    }
}

/// Bytes of the events' bodies.
fn body_bytes(events: &[Event]) -> usize {
    events.iter().map(|e| e.body.len()).sum()
}

/// Gives the bodies of `batch` buffers of their own (those that share one) when they carry
/// less than half of the `received` body bytes of the batch they came from.
fn detach_if_sparse(batch: &mut [Event], received: usize) {
    if body_bytes(batch).saturating_mul(2) < received {
        batch.iter_mut().for_each(Event::detach_body);
    }
}

/// Whether no name is listed twice (a listed-twice channel gets each event twice, interleaved:
/// the per-event path keeps that).
fn distinct(names: &[String]) -> bool {
    names
        .iter()
        .enumerate()
        .all(|(i, n)| !names.get(..i).unwrap_or_default().contains(n))
}
