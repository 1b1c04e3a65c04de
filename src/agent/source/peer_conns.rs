//! Connections per peer address: one address may hold at most a set number of a source's
//! connections open, so a peer opening connections it never uses (idle HTTP/2 connections, a
//! slowloris sending its headers a byte at a time) fills its own share and not the source's
//! `maxConnections`: a client on another address still connects. A connection past its
//! peer's share is closed at once by the caller, as one past `maxConnections` is.
//!
//! The table holds only addresses with a connection open (an entry goes with its last
//! connection), so it is never larger than the source's connections.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;

/// The open connections of one source, per peer address.
#[derive(Debug)]
pub(crate) struct PeerConns {
    per_peer_max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One admitted connection of a peer (its count goes down on drop).
#[derive(Debug)]
pub(crate) struct PeerSlot {
    peer: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PeerConns {
    /// At most `per_peer_max` open connections per peer address.
    pub(crate) fn new(per_peer_max: usize) -> Self {
        PeerConns {
            per_peer_max: per_peer_max.max(1),
            open: Arc::default(),
        }
    }

    /// The cap.
    pub(crate) fn per_peer_max(&self) -> usize {
        self.per_peer_max
    }

    /// A slot for one more connection of `peer`, or `None` when it holds its share.
    pub(crate) fn admit(&self, peer: IpAddr) -> Option<PeerSlot> {
        let mut open = self.open.lock();
        let n = open.entry(peer).or_insert(0);
        if *n >= self.per_peer_max {
            return None;
        }
        *n += 1;
        Some(PeerSlot {
            peer,
            open: self.open.clone(),
        })
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock();
        if let Some(n) = open.get_mut(&self.peer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.peer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_gets_its_share_and_others_theirs_and_a_closed_slot_comes_back() {
        let conns = PeerConns::new(2);
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.2".parse().unwrap(), "::1".parse().unwrap());
        let a1 = conns.admit(a).unwrap();
        let _a2 = conns.admit(a).unwrap();
        assert!(conns.admit(a).is_none(), "a third connection of one peer");
        assert!(
            conns.admit(b).is_some(),
            "another peer is not counted with it"
        );
        drop(a1);
        assert!(conns.admit(a).is_some());
        drop(conns.admit(b));
        assert_eq!(
            conns.open.lock().get(&b),
            None,
            "no entry without a connection"
        );
    }
}
