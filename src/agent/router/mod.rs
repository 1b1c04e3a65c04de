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

mod error;
mod group;

pub use error::RouteError;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::agent::channel::{put_batch, AgentChannel};
use crate::agent::id_trust::IdGate;
use crate::agent::interceptor::config::InterceptorSpec;
use crate::agent::interceptor::{self, Chain, Step};
use crate::agent::java::interceptor::JavaInterceptor;
use crate::agent::java::selector::JavaSelector;
use crate::agent::selector::{ChannelSelector, Selection};
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
}

/// Routes a source's batches into its channels.
#[derive(Debug)]
pub struct ChannelProcessor {
    chain: Chain,
    selector: ChannelSelector,
    channels: BTreeMap<String, Arc<dyn AgentChannel>>,
    /// The one channel every event goes to unchanged, when there is one and it hands a
    /// refused batch back (no interceptors, one required channel, nothing optional).
    sole: Option<(String, Arc<dyn AgentChannel>)>,
    /// The one channel every event goes to (after the interceptors), when there is one and
    /// nothing optional: [`ChannelProcessor::process_blocking`] puts there directly.
    single: Option<(String, Arc<dyn AgentChannel>)>,
    /// Keeps or removes the events' ids before anything else sees them.
    ids: IdGate,
    /// The user's Java selector, when `selector.type` names one.
    java_selector: Option<JavaSelector>,
}

/// A batch the channel processor could not put.
#[derive(Debug)]
pub struct Rejected {
    /// Why.
    pub error: RouteError,
    /// The batch, unchanged, when [`ChannelProcessor::hands_back`]; else `None`.
    pub events: Option<Vec<Event>>,
}

impl ChannelProcessor {
    /// Builds the processor of a source whose configuration was validated; `channels` holds
    /// at least the source's channels.
    pub fn new(
        cfg: &impl Wiring,
        channels: &BTreeMap<String, Arc<dyn AgentChannel>>,
    ) -> Result<Self, crate::agent::component::ComponentError> {
        let mut built: Vec<(String, Step)> = Vec::new();
        for spec in cfg.interceptors() {
            let step = match spec.props.get("type") {
                Some(class) if spec.kind == interceptor::JAVA_KIND => {
                    Step::Java(JavaInterceptor::start(&spec.name, class, &spec.props))
                }
                _ => Step::Native(interceptor::build(&spec.kind, &spec.props)?),
            };
            built.push((spec.name.clone(), step));
        }
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
        let sole = single
            .clone()
            .filter(|(_, ch)| chain.is_empty() && ch.hands_back());
        Ok(ChannelProcessor {
            chain,
            selector,
            channels: mine,
            sole,
            single,
            ids: IdGate::new(cfg.trusts_event_ids()),
            java_selector: match cfg.selector() {
                ChannelSelector::Java(spec) => Some(JavaSelector::start(spec)),
                _ => None,
            },
        })
    }

    /// Counts the ids it removes into the source's `counters` (`EventIdStrippedCount`).
    pub fn with_counters(mut self, counters: Arc<crate::agent::metrics::CounterGroup>) -> Self {
        self.ids.count_into(counters);
        self
    }

    /// Whether every channel of the source drops a put it committed before
    /// ([`AgentChannel::drops_resends`]): a batch sent again after a crash is then not
    /// duplicated anywhere.
    pub(crate) fn drops_resends(&self) -> bool {
        !self.channels.is_empty() && self.channels.values().all(|c| c.drops_resends())
    }

    /// The backlogs of the source's channels that report one
    /// ([`AgentChannel::backlog`]), read now.
    pub(crate) fn backlogs(&self) -> impl Iterator<Item = sluice_core::Backlog> + '_ {
        self.channels.values().filter_map(|c| c.backlog())
    }

    /// Most events one call of [`ChannelProcessor::process`] may carry: the smallest
    /// `transactionCapacity` of the source's channels.
    pub fn put_capacity(&self) -> usize {
        self.channels
            .values()
            .map(|c| c.put_capacity())
            .min()
            .unwrap_or(usize::MAX)
    }

    /// Whether [`ChannelProcessor::offer`] hands a refused batch back, so a source that
    /// retries need not keep a copy.
    pub(crate) fn hands_back(&self) -> bool {
        self.sole.is_some()
    }

    /// Whether the source's events keep the ids their peers set (`trustEventIds`).
    pub(crate) fn trusts_event_ids(&self) -> bool {
        self.ids.trusts()
    }

    /// As [`ChannelProcessor::process`]; when [`ChannelProcessor::hands_back`] (one channel,
    /// no interceptors), the batch goes to the channel in one transaction and a refused batch
    /// comes back in [`Rejected::events`].
    ///
    /// Cancel safety: not cancel safe; a cancelled call may have committed to some channels.
    pub(crate) async fn offer(&self, mut events: Vec<Event>) -> Result<(), Rejected> {
        match &self.sole {
            Some((name, ch)) => {
                self.ids.admit(&mut events);
                tap::offer(tap::Point::Channel, name, &events);
                ch.offer(events).await.map_err(|r| Rejected {
                    error: RouteError::Channel {
                        channel: name.clone(),
                        source: r.error,
                    },
                    events: r.events,
                })
            }
            None => self.process(events).await.map_err(|error| Rejected {
                error,
                events: None,
            }),
        }
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
        let selections: Vec<Selection> = match &self.java_selector {
            Some(js) => js.select(&events).await.map_err(RouteError::Select)?,
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
    /// only they drop or shrink events). A Java interceptor that throws or whose JVM ends
    /// refuses the batch: nothing of it is put.
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
