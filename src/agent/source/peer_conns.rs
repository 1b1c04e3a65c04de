//! The open connections of one HTTP-served source (http, otlp), against `maxConnections` and
//! `maxConnectionsPerPeer`. At either limit a new connection is not turned away while an open
//! one is **idle**: the connection with no request in progress for longest (and for at least
//! [`EVICT_IDLE_MIN`]) is closed for it; within the peer's share for `maxConnectionsPerPeer`,
//! among all for `maxConnections`. An idle gRPC connection, a keep-alive connection between
//! requests and a slowloris sending its headers a byte at a time all have no request in
//! progress (hyper starts one only once its headers are whole), so connections that hold a
//! slot without using it cannot keep a new client out, even one behind the same address (a
//! NAT, a load balancer). Only when every connection at the limit has a request in progress
//! (or is younger than [`EVICT_IDLE_MIN`]) is the new one closed at once, as before.
//!
//! Each connection's [`Activity`] says whether it has a request in progress and since when
//! it has had none (the idle timers of `http_serve` read it too), and is told when the table
//! closed it. The table holds only open connections, so it is never larger than
//! `maxConnections`; choosing whom to close scans it (at most `maxConnections` entries) only
//! when a limit is reached.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Least time a connection has had no request in progress before a new connection at the
/// limit may close it: a client's fresh connection is not closed before its first request.
pub(crate) const EVICT_IDLE_MIN: Duration = Duration::from_secs(1);

/// Which limit a new connection reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Limit {
    /// `maxConnections`.
    Connections,
    /// `maxConnectionsPerPeer`.
    PerPeer,
}

/// The open connections of one source.
#[derive(Debug)]
pub(crate) struct ConnTable {
    max: usize,
    per_peer_max: usize,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    conns: HashMap<u64, (IpAddr, Arc<Activity>)>,
    per_peer: HashMap<IpAddr, usize>,
    next: u64,
}

/// A connection closed for a new one: its peer, how long it had been idle, the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Evicted {
    pub(crate) peer: IpAddr,
    pub(crate) idle: Duration,
    pub(crate) limit: Limit,
}

/// One admitted connection (its place goes back on drop).
#[derive(Debug)]
pub(crate) struct ConnSlot {
    id: u64,
    activity: Arc<Activity>,
    inner: Arc<Mutex<Inner>>,
}

impl ConnTable {
    /// At most `max` open connections, `per_peer_max` per peer address.
    pub(crate) fn new(max: usize, per_peer_max: usize) -> Self {
        ConnTable {
            max: max.max(1),
            per_peer_max: per_peer_max.max(1),
            inner: Arc::default(),
        }
    }

    /// The limit's value.
    pub(crate) fn limit(&self, l: Limit) -> usize {
        match l {
            Limit::Connections => self.max,
            Limit::PerPeer => self.per_peer_max,
        }
    }

    /// A slot for a new connection of `peer`, with the connections closed for it; or the
    /// limit reached when no connection at it may be closed.
    pub(crate) fn admit(&self, peer: IpAddr) -> Result<(ConnSlot, Vec<Evicted>), Limit> {
        let mut inner = self.inner.lock();
        let now = Instant::now();
        let mut evicted = Vec::new();
        if inner.per_peer.get(&peer).copied().unwrap_or(0) >= self.per_peer_max {
            let victim = inner.idlest(now, |p| p == peer);
            let e = victim.and_then(|id| inner.evict(id, now, Limit::PerPeer));
            evicted.push(e.ok_or(Limit::PerPeer)?);
        }
        if inner.conns.len() >= self.max {
            let victim = inner.idlest(now, |_| true);
            let e = victim.and_then(|id| inner.evict(id, now, Limit::Connections));
            evicted.push(e.ok_or(Limit::Connections)?);
        }
        let id = inner.next;
        inner.next += 1;
        let activity = Arc::new(Activity::default());
        inner.conns.insert(id, (peer, activity.clone()));
        *inner.per_peer.entry(peer).or_insert(0) += 1;
        drop(inner);
        let slot = ConnSlot {
            id,
            activity,
            inner: self.inner.clone(),
        };
        Ok((slot, evicted))
    }
}

impl Inner {
    /// The connection of a peer `of` accepts idle longest, for at least [`EVICT_IDLE_MIN`].
    fn idlest(&self, now: Instant, of: impl Fn(IpAddr) -> bool) -> Option<u64> {
        self.conns
            .iter()
            .filter(|(_, (p, _))| of(*p))
            .filter_map(|(id, (_, a))| Some((*id, a.idle_since()?)))
            .filter(|(_, since)| now.saturating_duration_since(*since) >= EVICT_IDLE_MIN)
            .min_by_key(|(_, since)| *since)
            .map(|(id, _)| id)
    }

    /// Takes connection `id` out and tells it to close.
    fn evict(&mut self, id: u64, now: Instant, limit: Limit) -> Option<Evicted> {
        let (peer, activity) = self.remove(id)?;
        activity.closed.notify_one();
        let idle = activity
            .idle_since()
            .map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
        Some(Evicted { peer, idle, limit })
    }

    fn remove(&mut self, id: u64) -> Option<(IpAddr, Arc<Activity>)> {
        let (peer, activity) = self.conns.remove(&id)?;
        if let Some(n) = self.per_peer.get_mut(&peer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_peer.remove(&peer);
            }
        }
        Some((peer, activity))
    }
}

impl ConnSlot {
    /// The connection's activity.
    pub(crate) fn activity(&self) -> &Arc<Activity> {
        &self.activity
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        self.inner.lock().remove(self.id);
    }
}

/// Requests in progress on one connection, since when it has had none, and whether the
/// table closed it.
#[derive(Debug)]
pub(crate) struct Activity {
    active: AtomicUsize,
    started: AtomicU64,
    idle_since: Mutex<Instant>,
    closed: Notify,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            active: AtomicUsize::new(0),
            started: AtomicU64::new(0),
            idle_since: Mutex::new(Instant::now()),
            closed: Notify::new(),
        }
    }
}

/// One request in progress (the connection is idle again from its drop, if it was the last).
#[derive(Debug)]
pub(crate) struct Busy(Arc<Activity>);

impl Activity {
    /// A request starts.
    pub(crate) fn busy(self: &Arc<Self>) -> Busy {
        let _since = self.idle_since.lock();
        self.active.fetch_add(1, Ordering::SeqCst);
        self.started.fetch_add(1, Ordering::SeqCst);
        Busy(self.clone())
    }

    /// Since when the connection has had no request in progress; `None` while it has one.
    pub(crate) fn idle_since(&self) -> Option<Instant> {
        let since = self.idle_since.lock();
        (self.active.load(Ordering::SeqCst) == 0).then_some(*since)
    }

    /// Whether a request ever started on the connection.
    pub(crate) fn ever_busy(&self) -> bool {
        self.started.load(Ordering::SeqCst) > 0
    }

    /// Resolves once the connection has had no request in progress for `idle` (`first`
    /// while none ever started: the deadline of its first request). Cancel safe.
    pub(crate) async fn idle_for(&self, first: Duration, idle: Duration) {
        loop {
            let wait = if self.ever_busy() { idle } else { first };
            match self.idle_since() {
                None => tokio::time::sleep(wait).await,
                Some(since) if Instant::now() >= since + wait => return,
                Some(since) => tokio::time::sleep_until(since + wait).await,
            }
        }
    }

    /// Resolves once the table closed the connection for a new one. Cancel safe.
    pub(crate) async fn closed(&self) {
        self.closed.notified().await;
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut since = self.0.idle_since.lock();
        if self.0.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            *since = Instant::now();
        }
    }
}

#[cfg(test)]
#[path = "peer_conns_tests.rs"]
mod tests;
