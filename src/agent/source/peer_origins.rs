//! A bound on the event-id origins one RPC connection brings (avro and thrift, whose ids the
//! file channel takes: docs/exactly-once.md). Each origin a collector's channel has seen costs
//! a row of its dedup table, in its checkpoint and in memory, and the table's eviction is work
//! every committer shares; one connection that names a new origin per event would make every
//! other source of the agent pay for it. A Sluice edge brings one origin per channel, a hop in
//! the middle one per edge behind it: [`CONNECTION_ORIGINS_MAX`] origins per connection. Beyond
//! them an event keeps its place and its body but loses its id: the channel numbers it itself
//! (at least once for that event, never a loss), counted in `EventIdStrippedCount` and said once
//! per connection. A client that reconnects gets a fresh share; the channel's `dedupOrigins`
//! bounds the whole table.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::agent::metrics::{CounterGroup, SourceCounter};
use sluice_core::dedup::{IdSpan, EVENT_ID_HEADER};
use sluice_core::Event;

/// Event-id origins one connection may bring (a hop in front of 4,096 edges; ids of further
/// origins are removed).
pub(crate) const CONNECTION_ORIGINS_MAX: usize = 4_096;

/// Hex digits of an id's origin, before its `:`.
const ORIGIN_HEX: usize = 16;

/// The origins one connection brought.
#[derive(Debug)]
pub(crate) struct PeerOrigins {
    source: Arc<str>,
    peer: SocketAddr,
    max: usize,
    seen: Mutex<HashSet<u64>>,
    said: AtomicBool,
    counters: Arc<CounterGroup>,
}

impl PeerOrigins {
    /// The bound of one connection from `peer` to source `source`.
    pub(crate) fn new(
        source: Arc<str>,
        peer: SocketAddr,
        counters: Arc<CounterGroup>,
        max: usize,
    ) -> Self {
        PeerOrigins {
            source,
            peer,
            max,
            seen: Mutex::new(HashSet::new()),
            said: AtomicBool::new(false),
            counters,
        }
    }

    /// Removes the id of each event whose origin would pass the bound. Events of the origin
    /// just admitted (a batch's common case) cost no lookup.
    pub(crate) fn admit(&self, events: &mut [Event]) {
        // The 16 hex digits of the origin last admitted: a hop's batch is one origin, so
        // most events cost a 16-byte comparison, not a parse and a lookup.
        let mut last: Option<[u8; ORIGIN_HEX]> = None;
        let mut removed = 0u64;
        let mut seen = self.seen.lock();
        for e in events.iter_mut() {
            let Some(text) = e.headers.get(EVENT_ID_HEADER) else {
                continue;
            };
            let hex = text.as_bytes().get(..ORIGIN_HEX);
            if let (Some(h), Some(l)) = (hex, &last) {
                if h == l {
                    continue;
                }
            }
            let Some(origin) = IdSpan::parse(text).map(|s| s.origin) else {
                continue;
            };
            if seen.contains(&origin) || (seen.len() < self.max && seen.insert(origin)) {
                last = hex.and_then(|h| h.try_into().ok());
            } else {
                e.headers.remove(EVENT_ID_HEADER);
                removed += 1;
            }
        }
        drop(seen);
        if removed > 0 {
            self.counters.add(SourceCounter::EventIdStripped, removed);
            if !self.said.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    source = %self.source,
                    peer = %self.peer,
                    origins = self.max,
                    "a connection brought events of more event-id origins than one connection may ({} at most); the ids of events from further origins are removed and the channel numbers them itself (delivered at least once)",
                    self.max
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(origin: u64, n: u64) -> Event {
        Event::new(format!("e{n}")).header(EVENT_ID_HEADER, format!("{origin:016x}:{n}"))
    }

    #[test]
    fn origins_past_the_bound_lose_their_ids_and_known_ones_keep_them() {
        let counters = CounterGroup::source();
        let b = PeerOrigins::new(
            Arc::from("r1"),
            "127.0.0.1:9".parse().unwrap(),
            counters.clone(),
            2,
        );
        let mut batch = vec![
            of(1, 1),
            of(1, 2),
            of(2, 3),
            of(3, 4),
            of(1, 5),
            Event::new("plain"),
        ];
        b.admit(&mut batch);
        let kept: Vec<bool> = batch
            .iter()
            .map(|e| e.headers.contains_key(EVENT_ID_HEADER))
            .collect();
        assert_eq!(kept, vec![true, true, true, false, true, false]);
        assert_eq!(counters.count(SourceCounter::EventIdStripped), 1);
        // A later batch: origin 3 is still past the bound, 2 still known.
        let mut later = vec![of(3, 6), of(2, 7)];
        b.admit(&mut later);
        assert!(!later[0].headers.contains_key(EVENT_ID_HEADER));
        assert!(later[1].headers.contains_key(EVENT_ID_HEADER));
        assert_eq!(counters.count(SourceCounter::EventIdStripped), 2);
    }
}
