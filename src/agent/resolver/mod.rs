//! The process's reverse-DNS resolver (ipFilter `name:` rules, `clientHostnameHeader`):
//! lookups run on [`WORKERS`] OS threads of its own, never on tokio's blocking pool (the
//! file channel commits through that pool, and a `getnameinfo` that waits on a slow DNS
//! server cannot be cancelled: a timeout only abandons the wait, not the thread).
//!
//! - A bounded queue ([`QUEUE_MAX`]): a lookup that cannot be queued is a miss at once.
//! - Concurrent lookups of one address share one job; a job nobody waits for any more (all
//!   its askers timed out) is dropped by the worker that takes it, unasked.
//! - A positive and a negative cache ([`cache::TtlCache`]), each with its time to live and
//!   its bound; a full one forgets its oldest entry.
//! - An asker waits at most [`LOOKUP_TIMEOUT`]; then (or when the queue is full) its answer
//!   is the address as text, as Java's `getHostName` gives without a name.
//!
//! Counted in `RESOLVER.dns` (registered by the agent): lookups asked, cache hits, misses by
//! timeout and by a full queue ([`ResolverCounter`]), and the cache sizes as gauges.

pub(crate) mod cache;
mod lookup;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::agent::metrics::counter::counters;
use crate::agent::metrics::CounterGroup;
use cache::TtlCache;

/// Threads that run lookups.
pub(crate) const WORKERS: usize = 4;
/// Lookups queued for the workers at most; one more is a miss.
pub(crate) const QUEUE_MAX: usize = 256;
/// Longest wait of one asker.
pub(crate) const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a name found is kept.
pub(crate) const POSITIVE_TTL: Duration = Duration::from_secs(300);
/// How long "no name" (or a failed lookup) is kept.
pub(crate) const NEGATIVE_TTL: Duration = Duration::from_secs(60);
/// Entries of each cache at most.
pub(crate) const CACHE_ENTRIES_MAX: usize = 4096;

counters! {
    /// A counter of the process's reverse-DNS resolver (`RESOLVER.dns`).
    ResolverCounter, kind "RESOLVER", list RESOLVER_COUNTERS {
        /// Host names asked for (cache hits included).
        Asked = "ReverseLookupCount",
        /// Answers from the positive or the negative cache.
        CacheHit = "ReverseLookupCacheHitCount",
        /// Askers that had no answer within the timeout (a miss).
        Timeout = "ReverseLookupTimeoutCount",
        /// Lookups that could not be queued (a miss).
        QueueFull = "ReverseLookupQueueFullCount",
    }
}

/// The blocking lookup (`getnameinfo`; a test's own in unit tests).
type LookupFn = dyn Fn(IpAddr) -> Option<String> + Send + Sync;

struct State {
    positive: TtlCache,
    negative: TtlCache,
    /// Askers of the lookups queued or running, by address.
    waiting: HashMap<IpAddr, Vec<oneshot::Sender<String>>>,
}

/// A pool of lookup threads, its queue and its caches.
pub(crate) struct Resolver {
    state: Arc<Mutex<State>>,
    queue: SyncSender<IpAddr>,
    counters: Arc<CounterGroup>,
    timeout: Duration,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The counters of the process's resolver (shown as `RESOLVER.dns`).
pub fn counters() -> Arc<CounterGroup> {
    static COUNTERS: OnceLock<Arc<CounterGroup>> = OnceLock::new();
    COUNTERS
        .get_or_init(|| CounterGroup::new("RESOLVER", RESOLVER_COUNTERS))
        .clone()
}

/// The process's resolver, its threads started by the first use.
pub(crate) fn global() -> &'static Resolver {
    static GLOBAL: OnceLock<Resolver> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        Resolver::start(
            WORKERS,
            QUEUE_MAX,
            LOOKUP_TIMEOUT,
            counters(),
            Arc::new(lookup::reverse_lookup),
        )
    })
}

impl Resolver {
    fn start(
        workers: usize,
        queue_max: usize,
        timeout: Duration,
        counters: Arc<CounterGroup>,
        lookup: Arc<LookupFn>,
    ) -> Resolver {
        let state = Arc::new(Mutex::new(State {
            positive: TtlCache::new(POSITIVE_TTL, CACHE_ENTRIES_MAX),
            negative: TtlCache::new(NEGATIVE_TTL, CACHE_ENTRIES_MAX),
            waiting: HashMap::new(),
        }));
        let (queue, jobs) = sync_channel(queue_max);
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..workers {
            let (state, jobs, lookup) = (state.clone(), jobs.clone(), lookup.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("sluice-dns-{n}"))
                .spawn(move || work(&state, &jobs, &*lookup));
            if let Err(e) = spawned {
                // Fewer workers: the queue fills sooner and more lookups are misses.
                tracing::warn!(error = %e, "reverse DNS: a lookup thread could not start");
            }
        }
        let g = state.clone();
        counters.set_gauges(Box::new(move || {
            let s = g.lock();
            vec![
                ("PositiveCacheEntries", s.positive.len().to_string()),
                ("NegativeCacheEntries", s.negative.len().to_string()),
            ]
        }));
        Resolver {
            state,
            queue,
            counters,
            timeout,
        }
    }

    /// The host name of `ip`, or its text when it has none, the lookup takes longer than
    /// the timeout, or the queue is full. Cancel safe (a dropped wait leaves the job to
    /// finish or be dropped unasked).
    pub(crate) async fn host_name(&self, ip: IpAddr) -> String {
        self.counters.add(ResolverCounter::Asked, 1);
        let rx = match self.begin(ip) {
            Begin::Cached(name) => {
                self.counters.add(ResolverCounter::CacheHit, 1);
                return name;
            }
            Begin::QueueFull => {
                self.counters.add(ResolverCounter::QueueFull, 1);
                return ip.to_string();
            }
            Begin::Wait(rx) => rx,
        };
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(name)) => name,
            Ok(Err(_)) => ip.to_string(),
            Err(_) => {
                self.counters.add(ResolverCounter::Timeout, 1);
                ip.to_string()
            }
        }
    }

    fn begin(&self, ip: IpAddr) -> Begin {
        let now = Instant::now();
        let mut st = self.state.lock();
        if let Some(name) = st.positive.get(ip, now) {
            return Begin::Cached(name.to_owned());
        }
        if st.negative.get(ip, now).is_some() {
            return Begin::Cached(ip.to_string());
        }
        let (tx, rx) = oneshot::channel();
        if let Some(askers) = st.waiting.get_mut(&ip) {
            askers.retain(|a| !a.is_closed());
            askers.push(tx);
            return Begin::Wait(rx);
        }
        match self.queue.try_send(ip) {
            Ok(()) => {
                st.waiting.insert(ip, vec![tx]);
                Begin::Wait(rx)
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Begin::QueueFull,
        }
    }
}

enum Begin {
    Cached(String),
    Wait(oneshot::Receiver<String>),
    QueueFull,
}

/// One worker: takes queued addresses until the process ends.
fn work(state: &Mutex<State>, jobs: &Mutex<Receiver<IpAddr>>, lookup: &LookupFn) {
    loop {
        let next = jobs.lock().recv();
        let Ok(ip) = next else { return };
        {
            let mut st = state.lock();
            let asked = st
                .waiting
                .get(&ip)
                .is_some_and(|askers| askers.iter().any(|a| !a.is_closed()));
            if !asked {
                // Everyone who asked gave up: not worth a thread's wait.
                st.waiting.remove(&ip);
                continue;
            }
        }
        let found = lookup(ip);
        let now = Instant::now();
        let mut st = state.lock();
        let answer = match found {
            Some(name) => {
                // A name from the resolver is the network's to choose: no control characters.
                let name = crate::agent::log_text::escape(&name).into_owned();
                st.positive.insert(ip, name.clone(), now);
                name
            }
            None => {
                st.negative.insert(ip, String::new(), now);
                ip.to_string()
            }
        };
        for asker in st.waiting.remove(&ip).unwrap_or_default() {
            let _ = asker.send(answer.clone());
        }
    }
}

#[cfg(test)]
mod tests;
