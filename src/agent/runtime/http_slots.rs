//! The monitoring server's connection budget (issue 64, item 9): connections that hold a
//! slot without asking anything never keep a liveness probe out.
//!
//! Two budgets of slots: [`CONNECTIONS_MAX`] general ones and [`PROBE_CONNECTIONS_MAX`] kept
//! for probes. A new connection takes, in this order: a free general slot; the general slot
//! of the connection idle the longest (connected or kept alive, with no request in progress:
//! it is closed at once, as any HTTP/1.1 server may close an idle keep-alive connection); a
//! free probe slot; the probe slot of the probe connection idle the longest. Only when every
//! slot of both budgets serves a request in progress is the new connection closed.
//!
//! A connection on a probe slot answers one request, and only `GET /health` and `GET /ready`
//! (anything else: 503, the server is busy). So a probe is answered while idle or kept-alive
//! connections fill the server, and also while [`CONNECTIONS_MAX`] requests are in progress
//! (scrapes waiting for their render, a `POST /reload`, tap streams).
//!
//! A request is "in progress" from the moment its head has been read until its answer is
//! handed to hyper; a tap stream stays in progress until its connection ends.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

/// General connections served at once; scrapers and status pages need one or two each.
pub(crate) const CONNECTIONS_MAX: usize = 16;
/// Connections kept for `/health` and `/ready` when every general slot serves a request.
pub(crate) const PROBE_CONNECTIONS_MAX: usize = 4;

/// Which budget a connection's slot is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Budget {
    /// Any request.
    General,
    /// One `/health` or `/ready` request.
    Probe,
}

impl Budget {
    fn max(self) -> usize {
        match self {
            Budget::General => CONNECTIONS_MAX,
            Budget::Probe => PROBE_CONNECTIONS_MAX,
        }
    }
}

#[derive(Debug)]
struct Entry {
    budget: Budget,
    /// Requests in progress (a kept one counts until the connection ends).
    busy: usize,
    /// Since when the connection has had no request in progress.
    idle_since: Instant,
    evict: Arc<Notify>,
}

/// Every connection holding a slot.
#[derive(Debug, Default)]
pub(crate) struct Slots {
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    next: u64,
    conns: BTreeMap<u64, Entry>,
}

impl Table {
    fn count(&self, budget: Budget) -> usize {
        self.conns.values().filter(|e| e.budget == budget).count()
    }

    /// Evicts the connection of `budget` idle the longest; whether there was one.
    fn evict_idlest(&mut self, budget: Budget) -> bool {
        let idlest = self
            .conns
            .iter()
            .filter(|(_, e)| e.budget == budget && e.busy == 0)
            .min_by_key(|(_, e)| e.idle_since)
            .map(|(id, _)| *id);
        let Some(entry) = idlest.and_then(|id| self.conns.remove(&id)) else {
            return false;
        };
        entry.evict.notify_one();
        true
    }

    fn insert(&mut self, budget: Budget) -> (u64, Arc<Notify>) {
        let id = self.next;
        self.next += 1;
        let evict = Arc::new(Notify::new());
        self.conns.insert(
            id,
            Entry {
                budget,
                busy: 0,
                idle_since: Instant::now(),
                evict: evict.clone(),
            },
        );
        (id, evict)
    }
}

impl Slots {
    /// A slot for a new connection, taken as the module says; `None` when every slot of
    /// both budgets serves a request in progress.
    pub(crate) fn admit(self: &Arc<Self>) -> Option<Slot> {
        let mut t = self.table.lock();
        let budget = [Budget::General, Budget::Probe]
            .into_iter()
            .find(|&b| t.count(b) < b.max() || t.evict_idlest(b))?;
        let (id, evict) = t.insert(budget);
        Some(Slot {
            slots: self.clone(),
            id,
            budget,
            evict,
        })
    }

    fn update(&self, id: u64, f: impl FnOnce(&mut Entry)) {
        if let Some(e) = self.table.lock().conns.get_mut(&id) {
            f(e);
        }
    }
}

/// One connection's slot; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct Slot {
    slots: Arc<Slots>,
    id: u64,
    budget: Budget,
    evict: Arc<Notify>,
}

impl Slot {
    /// The budget the slot is from.
    pub(crate) fn budget(&self) -> Budget {
        self.budget
    }

    /// Resolves when a new connection took this slot: the connection should end now.
    /// Cancel safe (a wake-up is kept until it is awaited).
    pub(crate) async fn evicted(&self) {
        self.evict.notified().await;
    }

    /// Marks a request in progress until the guard is dropped (or kept, [`Busy::keep`]).
    pub(crate) fn busy(self: &Arc<Self>) -> Busy {
        self.slots.update(self.id, |e| e.busy += 1);
        Busy {
            slot: Some(self.clone()),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.table.lock().conns.remove(&self.id);
    }
}

/// A request in progress on a connection.
#[derive(Debug)]
pub(crate) struct Busy {
    slot: Option<Arc<Slot>>,
}

impl Busy {
    /// Keeps the connection busy until it ends (a tap stream is answered for that long).
    pub(crate) fn keep(mut self) {
        self.slot = None;
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            slot.slots.update(slot.id, |e| {
                e.busy = e.busy.saturating_sub(1);
                if e.busy == 0 {
                    e.idle_since = Instant::now();
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_idle_connection_gives_its_slot_to_a_new_one_and_is_told_to_close() {
        let slots = Arc::new(Slots::default());
        let held: Vec<Arc<Slot>> = (0..CONNECTIONS_MAX)
            .map(|_| Arc::new(slots.admit().unwrap()))
            .collect();
        let newer = slots.admit().expect("an idle slot is taken");
        assert_eq!(newer.budget(), Budget::General);
        // The oldest idle one was evicted.
        tokio::time::timeout(std::time::Duration::from_secs(1), held[0].evicted())
            .await
            .expect("told to close");
    }

    #[tokio::test]
    async fn busy_connections_keep_their_slots_and_probes_get_their_own() {
        let slots = Arc::new(Slots::default());
        let held: Vec<Arc<Slot>> = (0..CONNECTIONS_MAX)
            .map(|_| Arc::new(slots.admit().unwrap()))
            .collect();
        let busy: Vec<Busy> = held.iter().map(Slot::busy).collect();
        let probes: Vec<Slot> = (0..PROBE_CONNECTIONS_MAX)
            .map(|_| slots.admit().unwrap())
            .collect();
        assert!(probes.iter().all(|p| p.budget() == Budget::Probe));
        // An idle probe connection gives its slot to the next one.
        let next = slots.admit().expect("the idlest probe slot");
        assert_eq!(next.budget(), Budget::Probe);
        // Every slot busy: refused.
        let probes_busy: Vec<Busy> = [next]
            .into_iter()
            .chain(probes.into_iter().skip(1))
            .map(|p| Arc::new(p).busy())
            .collect();
        assert!(slots.admit().is_none());
        // A request that ends frees its connection for eviction.
        drop(busy);
        assert_eq!(slots.admit().map(|s| s.budget()), Some(Budget::General));
        drop(probes_busy);
    }
}
