//! The upstreams an RPC source remembers, for the upstream-gone alarm: every client that made
//! a call (its IP, and the agent and sink names a Sluice sink sends as call metadata), its open
//! connections and when its last one closed. Pure (the clock is passed in): [`Upstreams::tick`]
//! says which upstreams are now gone and which are forgotten; the board raises and clears.
//!
//! Bounded: at most [`UPSTREAMS_MAX`] per source; past it, the upstream gone longest is
//! forgotten to make room (its alarm cleared).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Default `clientGoneAfter`.
pub const GONE_AFTER_DEFAULT: Duration = Duration::from_secs(180);
/// Default `clientForgetAfter`.
pub const FORGET_AFTER_DEFAULT: Duration = Duration::from_secs(7 * 86_400);
/// Most upstreams one source remembers.
pub const UPSTREAMS_MAX: usize = 10_000;
/// Longest agent or sink name kept from call metadata (longer ones are cut).
pub const NAME_BYTES_MAX: usize = 256;

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
    pub fn from_meta(ip: IpAddr, meta: &[(String, Vec<u8>)]) -> Self {
        let get = |k: &str| {
            meta.iter().find(|(n, _)| n == k).map(|(_, v)| {
                let v = &v[..v.len().min(NAME_BYTES_MAX)];
                String::from_utf8_lossy(v).into_owned()
            })
        };
        UpstreamKey {
            ip,
            agent: get(crate::agent::rpc::meta::META_AGENT),
            sink: get(crate::agent::rpc::meta::META_SINK),
        }
    }

    /// `ip/agent/sink` (`-` for a missing name), the suffix of the alarm's id.
    pub fn label(&self) -> String {
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
pub enum UpstreamChange {
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
pub struct Upstreams {
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
    pub fn new(gone_after: Duration, forget_after: Duration) -> Self {
        Upstreams {
            map: HashMap::new(),
            gone_after,
            forget_after,
        }
    }

    /// Sets the times (a reload of the source).
    pub fn configure(&mut self, gone_after: Duration, forget_after: Duration) {
        self.gone_after = gone_after;
        self.forget_after = forget_after;
    }

    /// `clientGoneAfter` in force.
    pub fn gone_after(&self) -> Duration {
        self.gone_after
    }

    /// Upstreams remembered.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// A connection of `key` opened; `Back` if it was gone, `Forgotten` for one evicted to
    /// make room.
    pub fn opened(&mut self, key: &UpstreamKey, now: Instant) -> Vec<UpstreamChange> {
        let mut out = Vec::new();
        if !self.map.contains_key(key) && self.map.len() >= UPSTREAMS_MAX {
            if let Some(victim) = self
                .map
                .iter()
                .filter(|(_, e)| e.open == 0)
                .min_by_key(|(_, e)| e.last_seen)
                .map(|(k, _)| k.clone())
            {
                if let Some(e) = self.map.remove(&victim) {
                    out.push(UpstreamChange::Forgotten(victim, e.gone));
                }
            } else {
                // Every remembered upstream is connected: this one is not remembered.
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

    /// A connection of `key` closed.
    pub fn closed(&mut self, key: &UpstreamKey, now: Instant) {
        if let Some(e) = self.map.get_mut(key) {
            e.open = e.open.saturating_sub(1);
            e.last_seen = now;
        }
    }

    /// Upstreams now gone and upstreams now forgotten.
    pub fn tick(&mut self, now: Instant) -> Vec<UpstreamChange> {
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
    pub fn forget(
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
mod tests {
    use super::*;

    fn key(ip: &str, agent: Option<&str>) -> UpstreamKey {
        UpstreamKey {
            ip: ip.parse().unwrap(),
            agent: agent.map(str::to_owned),
            sink: agent.map(|_| "k1".to_owned()),
        }
    }

    #[test]
    fn an_upstream_is_gone_once_after_its_last_connection_closed_and_back_on_reconnect() {
        let mut u = Upstreams::new(Duration::from_secs(180), Duration::from_secs(3600));
        let t = Instant::now();
        let k = key("10.0.0.1", Some("edge"));
        assert!(u.opened(&k, t).is_empty());
        assert!(u.opened(&k, t).is_empty());
        u.closed(&k, t + Duration::from_secs(10));
        // One connection still open: never gone.
        assert!(u.tick(t + Duration::from_secs(1000)).is_empty());
        u.closed(&k, t + Duration::from_secs(1000));
        assert!(u.tick(t + Duration::from_secs(1179)).is_empty());
        assert_eq!(
            u.tick(t + Duration::from_secs(1180)),
            vec![UpstreamChange::Gone(k.clone())]
        );
        assert!(u.tick(t + Duration::from_secs(1300)).is_empty());
        assert_eq!(
            u.opened(&k, t + Duration::from_secs(1400)),
            vec![UpstreamChange::Back(k.clone())]
        );
        assert!(u.opened(&k, t + Duration::from_secs(1401)).is_empty());
    }

    #[test]
    fn an_upstream_is_forgotten_after_its_forget_time_or_by_request() {
        let mut u = Upstreams::new(Duration::from_secs(10), Duration::from_secs(100));
        let t = Instant::now();
        let a = key("10.0.0.1", Some("edge"));
        let b = key("10.0.0.2", None);
        u.opened(&a, t);
        u.closed(&a, t);
        u.opened(&b, t);
        u.closed(&b, t);
        assert_eq!(u.tick(t + Duration::from_secs(10)).len(), 2);
        assert_eq!(
            u.forget(Some("10.0.0.2".parse().unwrap()), None, None),
            vec![UpstreamChange::Forgotten(b, true)]
        );
        assert_eq!(
            u.tick(t + Duration::from_secs(100)),
            vec![UpstreamChange::Forgotten(a, true)]
        );
        assert!(u.is_empty());
    }

    #[test]
    fn a_zero_gone_time_turns_the_alarm_off() {
        let mut u = Upstreams::new(Duration::ZERO, Duration::from_secs(100));
        let t = Instant::now();
        let a = key("10.0.0.1", None);
        u.opened(&a, t);
        u.closed(&a, t);
        assert!(u.tick(t + Duration::from_secs(50)).is_empty());
    }

    #[test]
    fn a_full_table_forgets_the_upstream_gone_longest() {
        let mut u = Upstreams::new(Duration::from_secs(10), Duration::from_secs(1 << 30));
        let t = Instant::now();
        for i in 0..UPSTREAMS_MAX {
            let k = UpstreamKey {
                ip: "10.0.0.1".parse().unwrap(),
                agent: Some(format!("a{i}")),
                sink: None,
            };
            u.opened(&k, t);
            u.closed(&k, t + Duration::from_secs(i as u64));
        }
        let change = u.opened(&key("10.9.9.9", None), t + Duration::from_secs(1 << 20));
        assert_eq!(change.len(), 1, "{change:?}");
        assert!(
            matches!(&change[0], UpstreamChange::Forgotten(k, false) if k.agent.as_deref() == Some("a0")),
            "{change:?}"
        );
        assert_eq!(u.len(), UPSTREAMS_MAX);
    }

    #[test]
    fn the_key_reads_sluice_names_from_call_metadata() {
        let meta = vec![
            ("sluice.agent".to_owned(), b"edge".to_vec()),
            ("sluice.sink".to_owned(), b"k1".to_vec()),
        ];
        let k = UpstreamKey::from_meta("10.0.0.1".parse().unwrap(), &meta);
        assert_eq!(k.label(), "10.0.0.1/edge/k1");
        let raw = UpstreamKey::from_meta("10.0.0.1".parse().unwrap(), &[]);
        assert_eq!(raw.label(), "10.0.0.1/-/-");
    }
}
