//! Distinct upstream peers (by IP address) seen in the last [`PEER_WINDOW`]: the gauge
//! `UpstreamPeerCount`, so an alarm can fire when an upstream tier went quiet. Bounded.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How long a peer counts after its last connection or call.
pub const PEER_WINDOW: Duration = Duration::from_secs(300);
/// Most peers remembered (the oldest are forgotten first).
const PEERS_MAX: usize = 65_536;

/// Last-seen times of upstream peers.
#[derive(Debug, Default)]
pub struct Peers {
    seen: Mutex<HashMap<IpAddr, Instant>>,
}

impl Peers {
    /// Records activity of `ip` at `now`.
    pub fn seen(&self, ip: IpAddr, now: Instant) {
        let mut m = self.seen.lock();
        if m.len() >= PEERS_MAX && !m.contains_key(&ip) {
            m.retain(|_, t| now.saturating_duration_since(*t) < PEER_WINDOW);
            if m.len() >= PEERS_MAX {
                return;
            }
        }
        m.insert(ip, now);
    }

    /// Peers seen within the window before `now` (forgetting older ones).
    pub fn recent(&self, now: Instant) -> usize {
        let mut m = self.seen.lock();
        m.retain(|_, t| now.saturating_duration_since(*t) < PEER_WINDOW);
        m.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_count_once_each_and_leave_after_the_window() {
        let p = Peers::default();
        let t = Instant::now();
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        p.seen(a, t);
        p.seen(a, t);
        p.seen(b, t + Duration::from_secs(200));
        assert_eq!(p.recent(t + Duration::from_secs(250)), 2);
        assert_eq!(p.recent(t + Duration::from_secs(400)), 1);
        assert_eq!(p.recent(t + Duration::from_secs(600)), 0);
    }
}
