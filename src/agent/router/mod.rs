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

mod error;
mod plugins;
mod put;

pub use error::RouteError;
pub use plugins::PluginHost;
pub use put::{BlockingRouter, Outcomes, Rejected};

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::agent::channel::{put_batch, AgentChannel, BlockingPut};
use crate::agent::id_trust::IdGate;
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

/// Routes a source's batches into its channels.
#[derive(Debug)]
pub struct ChannelProcessor {
    chain: Chain,
    selector: ChannelSelector,
    channels: BTreeMap<String, Arc<dyn AgentChannel>>,
    /// The one channel every event goes to (after the interceptors), when there is one and
    /// nothing optional: [`ChannelProcessor::put_group`] hands it whole groups.
    single: Option<(String, Arc<dyn AgentChannel>)>,
    /// That channel's blocking put, when it has one and no interceptor awaits: decided here,
    /// once ([`ChannelProcessor::blocking`]).
    blocking: Option<Arc<dyn BlockingPut>>,
    /// Keeps or removes the events' ids before anything else sees them.
    ids: IdGate,
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
        let chain = Chain::of(built);
        let selector = cfg.selector().clone();
        let single = match (&selector, mine.iter().next()) {
            (ChannelSelector::Replicating { required, optional }, Some((name, ch)))
                if mine.len() == 1
                    && optional.is_empty()
                    && required.as_slice() == std::slice::from_ref(name) =>
            {
                Some((name.clone(), ch.clone()))
            }
            _ => None,
        };
        let blocking = single
            .as_ref()
            .filter(|_| !chain.awaits())
            .and_then(|(_, ch)| ch.blocking_put());
        Ok(ChannelProcessor {
            chain,
            selector,
            channels: mine,
            single,
            blocking,
            ids: IdGate::new(cfg.trusts_event_ids()),
            async_selector: plugins::selector(cfg)?,
        })
    }

    /// Counts the ids it removes into the source's `counters` (`EventIdStrippedCount`).
    pub fn with_counters(mut self, counters: Arc<crate::agent::metrics::CounterGroup>) -> Self {
        self.ids.count_into(counters);
        self
    }

    /// Whether every channel of the source drops a put it committed before
    /// ([`crate::agent::channel::PutTerms::drops_resends`]): a batch sent again after a crash is then not
    /// duplicated anywhere.
    pub(crate) fn drops_resends(&self) -> bool {
        !self.channels.is_empty() && self.channels.values().all(|c| c.put_terms().drops_resends)
    }

    /// The backlogs of the source's channels that report one
    /// ([`AgentChannel::backlog`]), read now.
    pub(crate) fn backlogs(&self) -> impl Iterator<Item = sluice_core::Backlog> + '_ {
        self.channels.values().filter_map(|c| c.backlog())
    }

    /// Whether one of the source's channels holds ids of event-id `origin`
    /// ([`AgentChannel::holds_event_origin`]).
    pub(crate) fn holds_event_origin(&self, origin: u64) -> bool {
        self.channels.values().any(|c| c.holds_event_origin(origin))
    }

    /// Most events one call of [`ChannelProcessor::process`] may carry: the smallest
    /// `transactionCapacity` of the source's channels.
    pub fn put_capacity(&self) -> usize {
        self.channels
            .values()
            .map(|c| c.put_terms().capacity)
            .min()
            .unwrap_or(usize::MAX)
    }

    /// Whether the source's events keep the ids their peers set (`trustEventIds`).
    pub(crate) fn trusts_event_ids(&self) -> bool {
        self.ids.trusts()
    }

    /// Intercepts, selects and puts a batch. Returns once every required channel committed
    /// its part (or one failed).
    ///
    /// Cancel safety: not cancel safe; a cancelled call may have committed to some channels.
    pub async fn process(&self, events: Vec<Event>) -> Result<(), RouteError> {
        if let ChannelSelector::Replicating { required, optional } = &self.selector {
            if distinct(required) && distinct(optional) {
                let events = self.intercept(events).await?;
                return self.replicate(events, required, optional).await;
            }
        }
        // Each channel's share is weighed against the whole batch as it arrived.
        let received = body_bytes(&events);
        let events = self.intercept(events).await?;
        let selections: Vec<Selection> = match &self.async_selector {
            Some(s) => s.select_batch(&events).await.map_err(RouteError::Select)?,
            None => events.iter().map(|e| self.selector.select(e)).collect(),
        };
        let mut required: BTreeMap<&str, Vec<Event>> = BTreeMap::new();
        let mut optional: BTreeMap<&str, Vec<Event>> = BTreeMap::new();
        let mut order: Vec<&str> = Vec::new();
        for (e, sel) in events.into_iter().zip(selections) {
            for c in &sel.optional {
                if let Some((k, _)) = self.channels.get_key_value(c.as_str()) {
                    optional.entry(k.as_str()).or_default().push(e.clone());
                }
            }
            let targets: Vec<&str> = sel
                .required
                .iter()
                .filter_map(|c| self.channels.get_key_value(c.as_str()))
                .map(|(k, _)| k.as_str())
                .collect();
            // The last required channel gets the event itself: no copy in the common case.
            let Some((last, rest)) = targets.split_last() else {
                continue;
            };
            for &k in rest {
                if !required.contains_key(k) {
                    order.push(k);
                }
                required.entry(k).or_default().push(e.clone());
            }
            if !required.contains_key(last) {
                order.push(last);
            }
            required.entry(last).or_default().push(e);
        }
        for batch in required.values_mut().chain(optional.values_mut()) {
            detach_if_sparse(batch, received);
        }
        for name in order {
            let Some(batch) = required.remove(name) else {
                continue;
            };
            let Some(ch) = self.channels.get(name) else {
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
        self.put_optional(optional);
        Ok(())
    }

    /// Runs the interceptor chain; the bodies of what is left get buffers of their own if it
    /// carries under half of the batch's body bytes (nothing to weigh without interceptors:
    /// only they drop or shrink events). An async interceptor that refuses (a plugin threw,
    /// its process ended) refuses the batch: nothing of it is put.
    async fn intercept(&self, mut events: Vec<Event>) -> Result<Vec<Event>, RouteError> {
        self.ids.admit(&mut events);
        if self.chain.is_empty() {
            return Ok(events);
        }
        let received = body_bytes(&events);
        let mut events = self.chain.apply(events).await?;
        detach_if_sparse(&mut events, received);
        Ok(events)
    }

    /// [`ChannelProcessor::intercept`] on the calling thread, for a chain of Sluice's own
    /// interceptors only.
    fn intercept_native(&self, mut events: Vec<Event>) -> Result<Vec<Event>, RouteError> {
        self.ids.admit(&mut events);
        if self.chain.is_empty() {
            return Ok(events);
        }
        let received = body_bytes(&events);
        let mut events = self.chain.apply_native(events)?;
        detach_if_sparse(&mut events, received);
        Ok(events)
    }

    /// [`ChannelProcessor::process`] for a replicating selector, whose choice is the same for
    /// every event: the batch is split once instead of per event (the same batches, in the
    /// same order: each optional channel a copy, each required channel but the last a copy,
    /// the last the events themselves).
    async fn replicate(
        &self,
        events: Vec<Event>,
        required: &[String],
        optional: &[String],
    ) -> Result<(), RouteError> {
        if events.is_empty() {
            return Ok(());
        }
        let mine = |names: &[String]| -> Vec<&str> {
            names
                .iter()
                .filter_map(|c| self.channels.get_key_value(c.as_str()))
                .map(|(k, _)| k.as_str())
                .collect()
        };
        let optional: BTreeMap<&str, Vec<Event>> = mine(optional)
            .into_iter()
            .map(|k| (k, events.clone()))
            .collect();
        let targets = mine(required);
        let mut last = Some(events);
        for (i, name) in targets.iter().enumerate() {
            let batch = if i + 1 == targets.len() {
                last.take().unwrap_or_default()
            } else {
                last.as_ref().map(|e| e.to_vec()).unwrap_or_default()
            };
            let Some(ch) = self.channels.get(*name) else {
                continue;
            };
            tap::offer(tap::Point::Channel, name, &batch);
            put_batch(ch.as_ref(), batch)
                .await
                .map_err(|source| RouteError::Channel {
                    channel: (*name).to_owned(),
                    source,
                })?;
        }
        self.put_optional(optional);
        Ok(())
    }

    /// Hands each optional channel its batch in a detached task (failures only logged).
    fn put_optional(&self, optional: BTreeMap<&str, Vec<Event>>) {
        for (name, batch) in optional {
            let Some(ch) = self.channels.get(name).cloned() else {
                continue;
            };
            let name = name.to_owned();
            tap::offer(tap::Point::Channel, &name, &batch);
            tokio::spawn(async move {
                if let Err(e) = put_batch(ch.as_ref(), batch).await {
                    tracing::warn!(channel = %name, error = %e, "put on optional channel failed");
                }
            });
        }
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
