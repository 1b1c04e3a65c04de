//! A bound on the event-id origins the peers of an RPC source bring (avro and thrift, whose
//! ids the file channel takes: docs/exactly-once.md). Each origin a collector's channel has
//! seen costs a row of its dedup table, in its checkpoint and in memory, and a full table
//! forgets an origin for each new one: a client naming fresh origins could push a real
//! upstream's origin out and have its resend after a crash committed twice (issue 80, item 5).
//!
//! So origins are admitted per peer *address* (an IPv6 peer by its /64), across all its
//! connections, by one [`OriginQuotas`] per source: at most [`ADDRESS_ORIGINS_MAX`] origins
//! per address, and [`SOURCE_ORIGINS_MAX`] in all. A known origin stays admitted while it is
//! in use; a new one past either bound takes the place of an origin idle for
//! [`ORIGIN_IDLE`] (the address's own first, then any), else it is refused. So one address
//! brings at most [`ADDRESS_ORIGINS_MAX`] new origins per [`ORIGIN_IDLE`], reconnecting or
//! not. A Sluice edge brings one origin per channel, a hop in the middle one per edge behind
//! it. A refused origin's events keep their place and their bodies but lose their ids: the
//! channel numbers them itself (at least once for them, never a loss), counted in
//! `EventIdStrippedCount` and said once per connection. The channel's table itself never
//! forgets a recently committed origin for a new one (`DedupLimits::recent_ms`).
//!
//! An origin the source's channel already holds ids of is admitted past every bound, and
//! takes no place: it costs the table no new origin, and refusing it would strip the ids of
//! a real upstream's resend, which then commits twice. The quotas live in memory and an origin
//! idle for [`ORIGIN_IDLE`] gives its place, while the table keeps an origin for its expiry:
//! after a collector's restart, a reload, or an upstream quiet for 10 minutes, a client that
//! filled its address's share with fresh origins first made the upstream's resend lose its
//! ids (issue 87, item 16).

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::agent::metrics::{CounterGroup, SourceCounter};
use sluice_core::dedup::{IdSpan, EVENT_ID_HEADER};
use sluice_core::Event;

/// Event-id origins one peer address may bring (a hop in front of 4,096 edges; ids of further
/// origins are removed).
pub(crate) const ADDRESS_ORIGINS_MAX: usize = 4_096;
/// Event-id origins all the peers of one source may bring.
pub(crate) const SOURCE_ORIGINS_MAX: usize = 65_536;
/// An admitted origin not seen for this long may give its place to a new one.
pub(crate) const ORIGIN_IDLE: Duration = Duration::from_secs(600);
/// A known origin's last use is written down at most this often.
const TOUCH_EVERY: Duration = Duration::from_secs(1);

/// Hex digits of an id's origin, before its `:`.
const ORIGIN_HEX: usize = 16;

/// The key origins are counted under: the address, an IPv6 one by its /64 (one host).
fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

/// The origins one address brought, and when each was last seen.
#[derive(Debug, Default)]
struct Address {
    seen: HashMap<u64, Instant>,
    /// `(last seen, origin)`: the idlest first.
    by_age: BTreeSet<(Instant, u64)>,
}

/// The origins the peers of one source brought, by address.
#[derive(Debug)]
pub(crate) struct OriginQuotas {
    per_address: usize,
    total: usize,
    idle: Duration,
    state: Mutex<Quotas>,
}

#[derive(Debug, Default)]
struct Quotas {
    addresses: HashMap<IpAddr, Address>,
    /// `(last seen, address, origin)` of every admitted origin: the idlest first.
    by_age: BTreeSet<(Instant, IpAddr, u64)>,
}

impl Default for OriginQuotas {
    fn default() -> Self {
        OriginQuotas::new(ADDRESS_ORIGINS_MAX, SOURCE_ORIGINS_MAX, ORIGIN_IDLE)
    }
}

impl OriginQuotas {
    /// Quotas of `per_address` origins per address, `total` in all, an origin idle for
    /// `idle` giving its place.
    pub(crate) fn new(per_address: usize, total: usize, idle: Duration) -> Self {
        OriginQuotas {
            per_address,
            total,
            idle,
            state: Mutex::new(Quotas::default()),
        }
    }

    /// Origins admitted now (all addresses).
    #[cfg(test)]
    fn admitted(&self) -> usize {
        self.state.lock().by_age.len()
    }

    /// Whether `origin` from `ip` is admitted at `now`, `held` saying which origins the
    /// channel holds.
    #[cfg(test)]
    fn admit_at(&self, ip: IpAddr, origin: u64, now: Instant, held: &dyn Fn(u64) -> bool) -> bool {
        self.state
            .lock()
            .admit(self, address_key(ip), origin, now, held)
    }
}

impl Quotas {
    /// Whether `origin` from `addr` is admitted at `now` (seen again, or new within the
    /// bounds, or new in the place of an idle one, or one the channel holds: `held`).
    fn admit(
        &mut self,
        q: &OriginQuotas,
        addr: IpAddr,
        origin: u64,
        now: Instant,
        held: &dyn Fn(u64) -> bool,
    ) -> bool {
        let mut idlest_own = None;
        if let Some(entry) = self.addresses.get_mut(&addr) {
            if let Some(at) = entry.seen.get_mut(&origin) {
                if now.saturating_duration_since(*at) >= TOUCH_EVERY {
                    entry.by_age.remove(&(*at, origin));
                    self.by_age.remove(&(*at, addr, origin));
                    *at = now;
                    entry.by_age.insert((now, origin));
                    self.by_age.insert((now, addr, origin));
                }
                return true;
            }
            if entry.seen.len() >= q.per_address {
                idlest_own = Some(entry.by_age.first().copied());
            }
        }
        // Past the address's bound: its idlest origin gives its place, if idle long enough.
        if let Some(idlest) = idlest_own {
            match idlest {
                Some((at, old)) if now.saturating_duration_since(at) >= q.idle => {
                    self.forget(addr, old, at);
                }
                _ => return held(origin),
            }
        }
        // Past the source's bound: the idlest origin of any address.
        if self.by_age.len() >= q.total {
            match self.by_age.first().copied() {
                Some((at, a, old)) if now.saturating_duration_since(at) >= q.idle => {
                    self.forget(a, old, at);
                }
                _ => return held(origin),
            }
        }
        let entry = self.addresses.entry(addr).or_default();
        entry.seen.insert(origin, now);
        entry.by_age.insert((now, origin));
        self.by_age.insert((now, addr, origin));
        true
    }

    fn forget(&mut self, addr: IpAddr, origin: u64, at: Instant) {
        self.by_age.remove(&(at, addr, origin));
        if let Some(a) = self.addresses.get_mut(&addr) {
            a.seen.remove(&origin);
            a.by_age.remove(&(at, origin));
            if a.seen.is_empty() {
                self.addresses.remove(&addr);
            }
        }
    }
}

/// One connection's side of its source's [`OriginQuotas`].
#[derive(Debug)]
pub(crate) struct PeerOrigins {
    source: Arc<str>,
    peer: SocketAddr,
    quotas: Arc<OriginQuotas>,
    said: AtomicBool,
    counters: Arc<CounterGroup>,
}

impl PeerOrigins {
    /// The bound of one connection from `peer` to source `source`, within `quotas`.
    pub(crate) fn new(
        source: Arc<str>,
        peer: SocketAddr,
        counters: Arc<CounterGroup>,
        quotas: Arc<OriginQuotas>,
    ) -> Self {
        PeerOrigins {
            source,
            peer,
            quotas,
            said: AtomicBool::new(false),
            counters,
        }
    }

    /// Removes the id of each event whose origin its address may not bring and the channel
    /// does not hold (`held`). Events of the origin just admitted (a batch's common case)
    /// cost no lookup.
    pub(crate) fn admit(&self, events: &mut [Event], held: &dyn Fn(u64) -> bool) {
        // The 16 hex digits of the origin last admitted: a hop's batch is one origin, so
        // most events cost a 16-byte comparison, not a parse and a lookup.
        let mut last: Option<[u8; ORIGIN_HEX]> = None;
        let mut removed = 0u64;
        let (addr, now) = (address_key(self.peer.ip()), Instant::now());
        let mut quotas = self.quotas.state.lock();
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
            if quotas.admit(&self.quotas, addr, origin, now, held) {
                last = hex.and_then(|h| h.try_into().ok());
            } else {
                e.headers.remove(EVENT_ID_HEADER);
                removed += 1;
            }
        }
        drop(quotas);
        if removed > 0 {
            self.counters.add(SourceCounter::EventIdStripped, removed);
            if !self.said.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    source = %self.source,
                    peer = %self.peer,
                    per_address = self.quotas.per_address,
                    total = self.quotas.total,
                    idle_s = self.quotas.idle.as_secs(),
                    "a peer brought events of more event-id origins than its address may ({} at most, {} for the source, an origin's place freed after {} s idle); the ids of events from further origins are removed and the channel numbers them itself (delivered at least once)",
                    self.quotas.per_address,
                    self.quotas.total,
                    self.quotas.idle.as_secs()
                );
            }
        }
    }
}

#[cfg(test)]
#[path = "peer_origins_tests.rs"]
mod tests;
