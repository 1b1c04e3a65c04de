//! The upstreams an RPC source remembers, for the upstream-gone alarm: every client that made
//! a call (its IP, and the agent and sink names a Sluice sink sends as call metadata), its open
//! connections and when its last one closed. Pure (the clock is passed in): [`Upstreams::tick`]
//! says which upstreams are now gone and which are forgotten; the board raises and clears.
//!
//! Bounded: at most [`UPSTREAMS_MAX`] per source and [`UPSTREAMS_PER_IP_MAX`] per client
//! address (call metadata is the client's to choose, so one address could otherwise claim
//! every slot). Past either limit, the idle upstream seen longest ago that is not gone is
//! forgotten to make room; an upstream whose alarm is raised is never forgotten for a new
//! one (only by `clientForgetAfter` or an admin call), and when nothing can make room the new
//! upstream is not remembered. The names come from the peer, so they are kept with their
//! control characters escaped ([`crate::agent::log_text`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Default `clientGoneAfter`.
pub(crate) const GONE_AFTER_DEFAULT: Duration = Duration::from_secs(180);
/// Default `clientForgetAfter`.
pub(crate) const FORGET_AFTER_DEFAULT: Duration = Duration::from_secs(7 * 86_400);
/// Most upstreams one source remembers.
pub(crate) const UPSTREAMS_MAX: usize = 10_000;
/// Most upstreams one source remembers with the same client address (agents and sinks on one
/// host).
pub(crate) const UPSTREAMS_PER_IP_MAX: usize = 64;
/// Longest agent or sink name kept from call metadata (longer ones are cut).
pub(crate) const NAME_BYTES_MAX: usize = 256;

/// Who an upstream is.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UpstreamKey {
    /// The client's IP address.
    pub ip: IpAddr,
    /// `sluice.agent` of its calls, when it sends one.
    pub agent: Option<String>,
    /// `sluice.sink` of its calls, when it sends one.
    pub sink: Option<String>,
}

impl UpstreamKey {
    /// The key of a client at `ip` whose calls carry `meta`.
    pub(crate) fn from_meta(ip: IpAddr, meta: &[(String, Vec<u8>)]) -> Self {
        let get = |k: &str| {
            meta.iter().find(|(n, _)| n == k).map(|(_, v)| {
                let v = &v[..v.len().min(NAME_BYTES_MAX)];
                crate::agent::log_text::escape(&String::from_utf8_lossy(v)).into_owned()
            })
        };
        UpstreamKey {
            ip,
            agent: get(crate::agent::rpc::meta::META_AGENT),
            sink: get(crate::agent::rpc::meta::META_SINK),
        }
    }

    /// `ip/agent/sink` (`-` for a missing name), the suffix of the alarm's id.
    pub(crate) fn label(&self) -> String {
        format!(
            "{}/{}/{}",
            self.ip,
            self.agent.as_deref().unwrap_or("-"),
            self.sink.as_deref().unwrap_or("-")
        )
    }
}

#[derive(Clone, Debug)]
struct Entry {
    open: usize,
    /// When its last connection closed (or when it was first seen).
    last_seen: Instant,
    gone: bool,
}

/// What a tick or an admin call changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum UpstreamChange {
    /// Gone for `clientGoneAfter`: raise.
    Gone(UpstreamKey),
    /// Back (connected again): clear.
    Back(UpstreamKey),
    /// Forgotten (after `clientForgetAfter`, to make room, or by an admin call); clear if it
    /// was gone.
    Forgotten(UpstreamKey, bool),
}

/// The upstreams of one source.
#[derive(Debug)]
pub(crate) struct Upstreams {
    map: HashMap<UpstreamKey, Entry>,
    gone_after: Duration,
    forget_after: Duration,
}

impl Default for Upstreams {
    fn default() -> Self {
        Upstreams::new(GONE_AFTER_DEFAULT, FORGET_AFTER_DEFAULT)
    }
}

impl Upstreams {
    /// An empty table.
    pub(crate) fn new(gone_after: Duration, forget_after: Duration) -> Self {
        Upstreams {
            map: HashMap::new(),
            gone_after,
            forget_after,
        }
    }

    /// Sets the times (a reload of the source).
    pub(crate) fn configure(&mut self, gone_after: Duration, forget_after: Duration) {
        self.gone_after = gone_after;
        self.forget_after = forget_after;
    }

    /// `clientGoneAfter` in force.
    pub(crate) fn gone_after(&self) -> Duration {
        self.gone_after
    }

    /// Upstreams remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether none is remembered.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// A connection of `key` opened; `Back` if it was gone, `Forgotten` for one evicted to
    /// make room.
    pub(crate) fn opened(&mut self, key: &UpstreamKey, now: Instant) -> Vec<UpstreamChange> {
        let mut out = Vec::new();
        if !self.map.contains_key(key) {
            let same_ip = self.map.keys().filter(|k| k.ip == key.ip).count();
            let room = if same_ip >= UPSTREAMS_PER_IP_MAX {
                self.evict(Some(key.ip), &mut out)
            } else if self.map.len() >= UPSTREAMS_MAX {
                self.evict(None, &mut out)
            } else {
                true
            };
            if !room {
                // Every candidate is connected or gone: this one is not remembered.
                return out;
            }
        }
        let e = self.map.entry(key.clone()).or_insert(Entry {
            open: 0,
            last_seen: now,
            gone: false,
        });
        e.open += 1;
        e.last_seen = now;
        if e.gone {
            e.gone = false;
            out.push(UpstreamChange::Back(key.clone()));
        }
        out
    }

    /// Forgets the idle upstream (of address `ip`, or any) seen longest ago that is not
    /// gone; whether one was found.
    fn evict(&mut self, ip: Option<IpAddr>, out: &mut Vec<UpstreamChange>) -> bool {
        let victim = self
            .map
            .iter()
            .filter(|(k, e)| e.open == 0 && !e.gone && ip.is_none_or(|ip| k.ip == ip))
            .min_by_key(|(_, e)| e.last_seen)
            .map(|(k, _)| k.clone());
        match victim.and_then(|v| self.map.remove(&v).map(|e| (v, e))) {
            Some((v, e)) => {
                out.push(UpstreamChange::Forgotten(v, e.gone));
                true
            }
            None => false,
        }
    }

    /// A connection of `key` closed.
    pub(crate) fn closed(&mut self, key: &UpstreamKey, now: Instant) {
        if let Some(e) = self.map.get_mut(key) {
            e.open = e.open.saturating_sub(1);
            e.last_seen = now;
        }
    }

    /// Upstreams now gone and upstreams now forgotten.
    pub(crate) fn tick(&mut self, now: Instant) -> Vec<UpstreamChange> {
        let mut out = Vec::new();
        let (gone_after, forget_after) = (self.gone_after, self.forget_after);
        self.map.retain(|k, e| {
            if e.open > 0 {
                return true;
            }
            let idle = now.saturating_duration_since(e.last_seen);
            if idle >= forget_after {
                out.push(UpstreamChange::Forgotten(k.clone(), e.gone));
                return false;
            }
            if !e.gone && !gone_after.is_zero() && idle >= gone_after {
                e.gone = true;
                out.push(UpstreamChange::Gone(k.clone()));
            }
            true
        });
        out
    }

    /// Forgets the upstreams matching the filter (`None` matches any); what was forgotten.
    pub(crate) fn forget(
        &mut self,
        ip: Option<IpAddr>,
        agent: Option<&str>,
        sink: Option<&str>,
    ) -> Vec<UpstreamChange> {
        let mut out = Vec::new();
        self.map.retain(|k, e| {
            let hit = ip.is_none_or(|ip| ip == k.ip)
                && agent.is_none_or(|a| k.agent.as_deref() == Some(a))
                && sink.is_none_or(|s| k.sink.as_deref() == Some(s));
            if hit {
                out.push(UpstreamChange::Forgotten(k.clone(), e.gone));
            }
            !hit
        });
        out
    }
}

#[cfg(test)]
#[path = "upstreams_tests.rs"]
mod tests;
