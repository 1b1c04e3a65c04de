//! [`Intake`]: what every batch of a source goes through before any channel sees it: the
//! event-id gate (`trustEventIds`), then the interceptor chain, async or on the caller's
//! blocking thread. When the interceptors leave a batch under half of the body bytes it came
//! with, its bodies get buffers of their own (module docs of `router`).

use std::sync::Arc;

use super::{body_bytes, detach_if_sparse, RouteError};
use crate::agent::id_trust::IdGate;
use crate::agent::interceptor::Chain;
use sluice_core::Event;

/// The id gate and the interceptor chain of one source.
#[derive(Debug)]
pub(crate) struct Intake {
    chain: Chain,
    ids: IdGate,
}

impl Intake {
    /// The intake of a chain, keeping the events' ids when `trusts_ids`.
    pub(super) fn new(chain: Chain, trusts_ids: bool) -> Self {
        Intake {
            chain,
            ids: IdGate::new(trusts_ids),
        }
    }

    /// Counts the ids it removes into `counters` (`EventIdStrippedCount`).
    pub(super) fn count_into(&mut self, counters: Arc<crate::agent::metrics::CounterGroup>) {
        self.ids.count_into(counters);
    }

    /// Whether the events keep the ids their peers set (`trustEventIds`).
    pub(crate) fn trusts_ids(&self) -> bool {
        self.ids.trusts()
    }

    /// Whether no interceptor runs: what the source gives is what the channels get.
    pub(super) fn passes_through(&self) -> bool {
        self.chain.is_empty()
    }

    /// Whether an interceptor awaits (a plugin's): the blocking put is then not offered.
    pub(super) fn awaits(&self) -> bool {
        self.chain.awaits()
    }

    /// Runs the gate and the chain. An async interceptor that refuses (a plugin threw, its
    /// process ended) refuses the batch: nothing of it is put.
    pub(super) async fn intercept(&self, mut events: Vec<Event>) -> Result<Vec<Event>, RouteError> {
        self.ids.admit(&mut events);
        if self.chain.is_empty() {
            return Ok(events);
        }
        let received = body_bytes(&events);
        let mut events = self.chain.apply(events).await?;
        detach_if_sparse(&mut events, received);
        Ok(events)
    }

    /// [`Intake::intercept`] on the calling thread, for a chain of Sluice's own interceptors
    /// only.
    pub(super) fn intercept_native(
        &self,
        mut events: Vec<Event>,
    ) -> Result<Vec<Event>, RouteError> {
        self.ids.admit(&mut events);
        if self.chain.is_empty() {
            return Ok(events);
        }
        let received = body_bytes(&events);
        let mut events = self.chain.apply_native(events)?;
        detach_if_sparse(&mut events, received);
        Ok(events)
    }
}
