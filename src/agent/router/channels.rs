//! [`SourceChannels`]: the channels one source puts into, by name, and what is asked of them
//! as a set: the smallest put capacity, their backlogs, whether they drop resends or hold an
//! event origin, and the puts that need no interceptor (a replicating batch split once, the
//! detached optional puts).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::RouteError;
use crate::agent::channel::{put_batch, AgentChannel};
use crate::agent::tap;
use sluice_core::Event;

/// The channels of one source, by name.
#[derive(Debug, Default)]
pub struct SourceChannels {
    by_name: BTreeMap<String, Arc<dyn AgentChannel>>,
}

impl SourceChannels {
    /// The set of `by_name`.
    pub(super) fn new(by_name: BTreeMap<String, Arc<dyn AgentChannel>>) -> Self {
        SourceChannels { by_name }
    }

    /// The one channel, when there is exactly one.
    pub(super) fn only(&self) -> Option<(&String, &Arc<dyn AgentChannel>)> {
        let mut it = self.by_name.iter();
        it.next().filter(|_| self.by_name.len() == 1)
    }

    /// The channel `name`, with the name as this set spells it.
    pub(super) fn named(&self, name: &str) -> Option<(&str, &Arc<dyn AgentChannel>)> {
        self.by_name
            .get_key_value(name)
            .map(|(k, c)| (k.as_str(), c))
    }

    /// Whether every channel drops a put it committed before
    /// ([`crate::agent::channel::PutTerms::drops_resends`]): a batch sent again after a crash
    /// is then not duplicated anywhere.
    pub(crate) fn drops_resends(&self) -> bool {
        !self.by_name.is_empty() && self.by_name.values().all(|c| c.put_terms().drops_resends)
    }

    /// The backlogs of the channels that report one ([`AgentChannel::backlog`]), read now.
    pub(crate) fn backlogs(&self) -> impl Iterator<Item = sluice_core::Backlog> + '_ {
        self.by_name.values().filter_map(|c| c.backlog())
    }

    /// Whether one of the channels holds ids of event-id `origin`
    /// ([`AgentChannel::holds_event_origin`]).
    pub(crate) fn holds_event_origin(&self, origin: u64) -> bool {
        self.by_name.values().any(|c| c.holds_event_origin(origin))
    }

    /// Most events one put may carry: the smallest `transactionCapacity` of the channels.
    pub fn put_capacity(&self) -> usize {
        self.by_name
            .values()
            .map(|c| c.put_terms().capacity)
            .min()
            .unwrap_or(usize::MAX)
    }

    /// The names among `names` that are channels of this set, as it spells them.
    fn mine<'a>(&'a self, names: &[String]) -> Vec<&'a str> {
        names
            .iter()
            .filter_map(|c| self.named(c))
            .map(|(k, _)| k)
            .collect()
    }

    /// Puts an intercepted batch for a replicating selector, whose choice is the same for
    /// every event: the batch is split once instead of per event (the same batches, in the
    /// same order: each optional channel a copy, each required channel but the last a copy,
    /// the last the events themselves).
    pub(super) async fn replicate(
        &self,
        events: Vec<Event>,
        required: &[String],
        optional: &[String],
    ) -> Result<(), RouteError> {
        if events.is_empty() {
            return Ok(());
        }
        let optional: BTreeMap<&str, Vec<Event>> = self
            .mine(optional)
            .into_iter()
            .map(|k| (k, events.clone()))
            .collect();
        let targets = self.mine(required);
        let mut last = Some(events);
        for (i, name) in targets.iter().enumerate() {
            let batch = if i + 1 == targets.len() {
                last.take().unwrap_or_default()
            } else {
                last.as_ref().map(|e| e.to_vec()).unwrap_or_default()
            };
            let Some(ch) = self.by_name.get(*name) else {
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
    pub(super) fn put_optional(&self, optional: BTreeMap<&str, Vec<Event>>) {
        for (name, batch) in optional {
            let Some(ch) = self.by_name.get(name).cloned() else {
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
