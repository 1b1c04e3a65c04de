//! [`HandshakeBudget`]: how many TLS handshakes one source runs, so a peer replaying a
//! canned ClientHello (no cryptography on its side, a full handshake on ours) cannot take the
//! agent's CPU from the other sources and peers:
//! - a cap on the handshakes in progress at once (`ssl-max-handshakes`): one more is refused
//!   at once, never queued;
//! - a token bucket per peer address (`ssl-handshake-rate-per-peer`): each new handshake takes
//!   a token, the bucket holds as many tokens as the rate and refills at the rate; a peer with
//!   none left is refused. The table of buckets is bounded ([`PEERS_TRACKED_MAX`]): a full
//!   bucket is forgotten first (a new peer starts full anyway), then the longest unused one.
//!
//! Both are checked after the peer's first bytes were seen to be TLS and before the handshake
//! computes anything; a refused connection is closed by the caller and counted.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// `ssl-max-handshakes` by default.
pub(crate) const CONCURRENT_MAX_DEFAULT: usize = 32;
/// Largest `ssl-max-handshakes`.
pub(crate) const CONCURRENT_MAX_MAX: usize = 100_000;
/// `ssl-handshake-rate-per-peer` by default (handshakes per second per peer address).
pub(crate) const PER_PEER_PER_S_DEFAULT: u32 = 20;
/// Largest `ssl-handshake-rate-per-peer`.
pub(crate) const PER_PEER_PER_S_MAX: u32 = 1_000_000;
/// Most peer addresses whose bucket is remembered.
pub(crate) const PEERS_TRACKED_MAX: usize = 4096;

/// Why a handshake was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OverBudget {
    /// `ssl-max-handshakes` are in progress.
    #[error("{0} TLS handshakes already in progress (ssl-max-handshakes)")]
    Busy(usize),
    /// The peer used its tokens.
    #[error(
        "the peer started more than {0} TLS handshakes per second (ssl-handshake-rate-per-peer)"
    )]
    Rate(u32),
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// One source's handshake budget.
#[derive(Debug)]
pub(crate) struct HandshakeBudget {
    slots: Arc<Semaphore>,
    concurrent_max: usize,
    per_s: u32,
    peers: Mutex<HashMap<IpAddr, Bucket>>,
}

impl HandshakeBudget {
    /// A budget of `concurrent_max` handshakes at once and `per_s` per peer per second.
    pub(crate) fn new(concurrent_max: usize, per_s: u32) -> Self {
        HandshakeBudget {
            slots: Arc::new(Semaphore::new(concurrent_max)),
            concurrent_max,
            per_s: per_s.max(1),
            peers: Mutex::new(HashMap::new()),
        }
    }

    /// A slot for one handshake of `peer` (held until it ends), or why there is none.
    pub(crate) fn admit(
        &self,
        peer: IpAddr,
        now: Instant,
    ) -> Result<OwnedSemaphorePermit, OverBudget> {
        self.take_token(peer, now)?;
        self.slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| OverBudget::Busy(self.concurrent_max))
    }

    /// Handshakes in progress now.
    pub(crate) fn in_progress(&self) -> usize {
        self.concurrent_max
            .saturating_sub(self.slots.available_permits())
    }

    fn take_token(&self, peer: IpAddr, now: Instant) -> Result<(), OverBudget> {
        let per_s = f64::from(self.per_s);
        let mut peers = self.peers.lock();
        if !peers.contains_key(&peer) && peers.len() >= PEERS_TRACKED_MAX {
            forget_one(&mut peers, per_s, now);
        }
        let b = peers.entry(peer).or_insert(Bucket {
            tokens: per_s,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * per_s).min(per_s);
        b.at = now;
        if b.tokens < 1.0 {
            return Err(OverBudget::Rate(self.per_s));
        }
        b.tokens -= 1.0;
        Ok(())
    }
}

/// Makes room for one peer: the full buckets go (they hold nothing a new one would not),
/// else the longest unused one.
fn forget_one(peers: &mut HashMap<IpAddr, Bucket>, per_s: f64, now: Instant) {
    let full =
        |b: &Bucket| b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_s >= per_s;
    peers.retain(|_, b| !full(b));
    if peers.len() < PEERS_TRACKED_MAX {
        return;
    }
    let oldest = peers.iter().min_by_key(|(_, b)| b.at).map(|(ip, _)| *ip);
    if let Some(ip) = oldest {
        peers.remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(std::net::Ipv4Addr::from(0x7f00_0000 + n))
    }

    #[test]
    fn a_peer_gets_its_rate_in_a_burst_then_one_token_per_interval() {
        let b = HandshakeBudget::new(1000, 4);
        let t0 = Instant::now();
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(b.admit(ip(1), t0).unwrap());
        }
        assert_eq!(b.admit(ip(1), t0).unwrap_err(), OverBudget::Rate(4));
        // Another peer has its own bucket.
        held.push(b.admit(ip(2), t0).unwrap());
        // A quarter of a second later: one token more.
        let t1 = t0 + Duration::from_millis(250);
        held.push(b.admit(ip(1), t1).unwrap());
        assert!(b.admit(ip(1), t1).is_err());
        assert_eq!(b.in_progress(), 6);
    }

    #[test]
    fn handshakes_beyond_the_cap_are_refused_until_one_ends() {
        let b = HandshakeBudget::new(2, 1000);
        let now = Instant::now();
        let first = b.admit(ip(1), now).unwrap();
        let _second = b.admit(ip(2), now).unwrap();
        assert_eq!(b.admit(ip(3), now).unwrap_err(), OverBudget::Busy(2));
        drop(first);
        assert_eq!(b.in_progress(), 1);
        assert!(b.admit(ip(3), now).is_ok());
    }

    #[test]
    fn the_table_of_peers_stays_bounded_and_remembers_the_newest() {
        let b = HandshakeBudget::new(1, 2);
        let t0 = Instant::now();
        // A busy peer empties its bucket; many others come at the same moment.
        assert!(b.take_token(ip(0), t0).is_ok());
        assert!(b.take_token(ip(0), t0).is_ok());
        for n in 1..(PEERS_TRACKED_MAX as u32 * 2) {
            assert!(b.take_token(ip(n), t0).is_ok());
            assert!(b.peers.lock().len() <= PEERS_TRACKED_MAX);
        }
        // The newest peer's bucket is remembered: one token left of two, then none.
        let last = ip(PEERS_TRACKED_MAX as u32 * 2 - 1);
        assert!(b.take_token(last, t0).is_ok());
        assert!(b.take_token(last, t0).is_err());
    }
}
