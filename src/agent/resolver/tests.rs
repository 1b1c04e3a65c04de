//! The resolver's pool with a lookup the test controls: shared jobs, misses by timeout and
//! by a full queue, the caches.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex as StdMutex};

fn ip(n: u32) -> IpAddr {
    IpAddr::V4(std::net::Ipv4Addr::from(0x7f00_0000 + n))
}

/// A lookup that blocks until the test opens the gate, counting its calls.
#[derive(Default)]
struct Gate {
    open: StdMutex<bool>,
    cv: Condvar,
    calls: AtomicUsize,
}

impl Gate {
    fn lookup(self: &Arc<Self>) -> Arc<LookupFn> {
        let g = self.clone();
        Arc::new(move |ip: IpAddr| {
            g.calls.fetch_add(1, Ordering::SeqCst);
            let mut open = g.open.lock().unwrap();
            while !*open {
                open = g.cv.wait(open).unwrap();
            }
            match ip {
                IpAddr::V4(v4) if v4.octets()[3] % 2 == 0 => {
                    Some(format!("host-{}", v4.octets()[3]))
                }
                _ => None,
            }
        })
    }

    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.cv.notify_all();
    }
}

fn resolver(workers: usize, queue: usize, timeout: Duration, gate: &Arc<Gate>) -> Resolver {
    let counters = CounterGroup::new("RESOLVER", RESOLVER_COUNTERS);
    Resolver::start(workers, queue, timeout, counters, gate.lookup())
}

#[tokio::test]
async fn concurrent_askers_of_one_address_share_one_lookup_and_the_answer_is_cached() {
    let gate = Arc::new(Gate::default());
    let r = Arc::new(resolver(2, 8, Duration::from_secs(30), &gate));
    let mut asks = Vec::new();
    for _ in 0..10 {
        let r = r.clone();
        asks.push(tokio::spawn(async move { r.host_name(ip(2)).await }));
    }
    // Every asker is waiting before the lookup answers.
    while r.state.lock().waiting.get(&ip(2)).map_or(0, Vec::len) < 10 {
        tokio::task::yield_now().await;
    }
    gate.open();
    for a in asks {
        assert_eq!(a.await.unwrap(), "host-2");
    }
    assert_eq!(gate.calls.load(Ordering::SeqCst), 1);
    assert_eq!(r.host_name(ip(2)).await, "host-2");
    assert_eq!(r.host_name(ip(3)).await, "127.0.0.3");
    assert_eq!(r.host_name(ip(3)).await, "127.0.0.3");
    assert_eq!(gate.calls.load(Ordering::SeqCst), 2, "both answers cached");
    assert_eq!(r.counters.count(ResolverCounter::CacheHit), 2);
}

#[tokio::test]
async fn a_slow_lookup_is_a_miss_and_a_full_queue_is_a_miss_at_once() {
    let gate = Arc::new(Gate::default());
    let r = resolver(1, 2, Duration::from_millis(50), &gate);
    // The one worker blocks on the first; two more fill the queue; the fourth is refused.
    assert_eq!(r.host_name(ip(10)).await, "127.0.0.10");
    while gate.calls.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    assert_eq!(r.host_name(ip(12)).await, "127.0.0.12");
    assert_eq!(r.host_name(ip(14)).await, "127.0.0.14");
    assert_eq!(r.host_name(ip(16)).await, "127.0.0.16");
    assert_eq!(r.counters.count(ResolverCounter::Timeout), 3);
    assert_eq!(r.counters.count(ResolverCounter::QueueFull), 1);
    gate.open();
    // The queued jobs nobody waits for any more are dropped unasked: only 18 is looked up
    // after 10 (asked again until its answer came, then from the cache).
    let mut answered = false;
    for _ in 0..400 {
        if r.host_name(ip(18)).await == "host-18" {
            answered = true;
            break;
        }
        // The queue may still be full until the worker drops the stale jobs.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(answered);
    assert_eq!(gate.calls.load(Ordering::SeqCst), 2);
}
