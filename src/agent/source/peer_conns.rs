//! The open connections of one HTTP-served source (http, otlp), against `maxConnections` and
//! `maxConnectionsPerPeer`. At either limit a new connection is not turned away while an open
//! one holds its slot without using it: the **worst** one is closed for it (within the
//! peer's share for `maxConnectionsPerPeer`, among all for `maxConnections`). Worst is, first,
//! the connection whose request bodies are furthest behind their least pace
//! (body_pace.rs: [`super::body_pace::BODY_BYTES_PER_S_MIN`] after a grace), then the
//! connection unused longest: with no request in progress, or with bodies within their pace
//! that has counted longest (a body in its grace, by its age: a flood of fresh bodies
//! reopened as they are closed, faster than the grace, could otherwise keep every slot). A slow body (1,024 connections
//! trickling a byte every 5 s held every slot in issue 87), an idle gRPC connection (no stream
//! open), a keep-alive connection between requests and a slowloris sending its headers a byte
//! at a time (hyper starts a request only once its headers are whole) all hold a slot without
//! using it, so they cannot keep a new client out, even one behind the same address (a NAT, a
//! load balancer). There is no least age: among idle connections the youngest goes last, so
//! a flood of new connections closes its own older ones before a client's fresh one, which
//! is busy after its first round trip. Only when every connection at the limit has a
//! request in progress whose body is whole, well ahead of its pace or waiting for the source
//! is the new one closed at once.
//!
//! Each connection's [`Activity`] says whether it has a request in progress and since when
//! it has had none (the idle timers of `http_serve` read it too), holds its bodies' pace, and
//! is told when the table closed it. The table holds only open connections, so it is never
//! larger than `maxConnections`; choosing whom to close scans it (at most `maxConnections`
//! entries) only when a limit is reached.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::body_pace::{ConnPace, Pace, Standing};

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

/// Why a connection may be closed for a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unused {
    /// No request in progress for this long.
    Idle(Duration),
    /// Its request bodies are on their least pace, which has counted for this long (a body
    /// in its grace: its age).
    YoungBody(Duration),
    /// Its request bodies are this far behind their least pace.
    SlowBody(Duration),
}

impl Unused {
    /// The order of closing, worst greatest: slow bodies, most behind first; then idle
    /// connections and young bodies, the longest unused first (a flood's older connections
    /// before a client's fresh one).
    fn rank(self) -> (bool, Duration) {
        match self {
            Unused::SlowBody(d) => (true, d),
            Unused::Idle(d) | Unused::YoungBody(d) => (false, d),
        }
    }
}

/// A connection closed for a new one: its peer, why it could be, the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Evicted {
    pub(crate) peer: IpAddr,
    pub(crate) why: Unused,
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
            let victim = inner.worst(now, |p| p == peer);
            let e = victim.and_then(|v| inner.evict(v, Limit::PerPeer));
            evicted.push(e.ok_or(Limit::PerPeer)?);
        }
        if inner.conns.len() >= self.max {
            let victim = inner.worst(now, |_| true);
            let e = victim.and_then(|v| inner.evict(v, Limit::Connections));
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
    /// The worst connection of a peer `of` accepts that holds its slot without using it.
    fn worst(&self, now: Instant, of: impl Fn(IpAddr) -> bool) -> Option<(u64, Unused)> {
        self.conns
            .iter()
            .filter(|(_, (p, _))| of(*p))
            .filter_map(|(id, (_, a))| Some((*id, a.unused(now)?)))
            .max_by_key(|(_, why)| why.rank())
    }

    /// Takes connection `id` out and tells it to close.
    fn evict(&mut self, (id, why): (u64, Unused), limit: Limit) -> Option<Evicted> {
        let (peer, activity) = self.remove(id)?;
        activity.closed.notify_one();
        Some(Evicted { peer, why, limit })
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

/// Requests in progress on one connection, since when it has had none, the pace of its
/// bodies, and whether the table closed it.
#[derive(Debug)]
pub(crate) struct Activity {
    active: AtomicUsize,
    started: AtomicU64,
    idle_since: Mutex<Instant>,
    pace: Arc<Pace>,
    closed: Notify,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            active: AtomicUsize::new(0),
            started: AtomicU64::new(0),
            idle_since: Mutex::new(Instant::now()),
            pace: Arc::default(),
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

    /// Why the connection may be closed for a new one at `now`: idle, or its bodies slow or
    /// young; `None` while it uses its slot (its bodies whole or well on pace, or waiting for
    /// the source).
    pub(crate) fn unused(&self, now: Instant) -> Option<Unused> {
        if let Some(since) = self.idle_since() {
            return Some(Unused::Idle(now.saturating_duration_since(since)));
        }
        Some(match self.pace.standing(now)? {
            Standing::Behind(d) => Unused::SlowBody(d),
            Standing::Within(d) => Unused::YoungBody(d),
        })
    }

    /// The pace of the connection's bodies, for its requests' extensions.
    pub(crate) fn pace(&self) -> ConnPace {
        ConnPace(self.pace.clone())
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
