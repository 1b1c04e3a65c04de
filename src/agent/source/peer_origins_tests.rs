//! The origin quotas of an RPC source: per address across connections, per source, and an
//! idle origin's place given to a new one.

use super::*;

fn of(origin: u64, n: u64) -> Event {
    Event::new(format!("e{n}")).header(EVENT_ID_HEADER, format!("{origin:016x}:{n}"))
}

fn conn(quotas: &Arc<OriginQuotas>, peer: &str, counters: &Arc<CounterGroup>) -> PeerOrigins {
    let peer = peer.parse().unwrap();
    PeerOrigins::new(Arc::from("r1"), peer, counters.clone(), quotas.clone())
}

/// A channel that holds no origin.
fn none(_: u64) -> bool {
    false
}

fn kept(events: &[Event]) -> Vec<bool> {
    events
        .iter()
        .map(|e| e.headers.contains_key(EVENT_ID_HEADER))
        .collect()
}

#[test]
fn origins_past_the_bound_lose_their_ids_and_known_ones_keep_them() {
    let counters = CounterGroup::source();
    let quotas = Arc::new(OriginQuotas::new(2, 100, ORIGIN_IDLE));
    let b = conn(&quotas, "127.0.0.1:9", &counters);
    let mut batch = vec![
        of(1, 1),
        of(1, 2),
        of(2, 3),
        of(3, 4),
        of(1, 5),
        Event::new("plain"),
    ];
    b.admit(&mut batch, &none);
    assert_eq!(kept(&batch), vec![true, true, true, false, true, false]);
    assert_eq!(counters.count(SourceCounter::EventIdStripped), 1);
    // A later batch: origin 3 is still past the bound, 2 still known.
    let mut later = vec![of(3, 6), of(2, 7)];
    b.admit(&mut later, &none);
    assert_eq!(kept(&later), vec![false, true]);
    assert_eq!(counters.count(SourceCounter::EventIdStripped), 2);
}

#[test]
fn connections_from_one_address_share_its_quota_and_another_address_has_its_own() {
    let counters = CounterGroup::source();
    let quotas = Arc::new(OriginQuotas::new(3, 100, ORIGIN_IDLE));
    let upstream = conn(&quotas, "127.0.0.1:1000", &counters);
    let mut real = vec![of(7, 1)];
    upstream.admit(&mut real, &none);
    // A churning client reconnects for every origin: each connection is a new one.
    for origin in 100..110 {
        let mut e = vec![of(origin, 1)];
        conn(&quotas, &format!("127.0.0.1:{}", 2000 + origin), &counters).admit(&mut e, &none);
    }
    assert_eq!(
        counters.count(SourceCounter::EventIdStripped),
        8,
        "2 admitted"
    );
    // The upstream's origin is still known: its resend keeps its ids.
    let mut resend = vec![of(7, 1), of(7, 2)];
    conn(&quotas, "127.0.0.1:3000", &counters).admit(&mut resend, &none);
    assert_eq!(kept(&resend), vec![true, true]);
    // Another address (an IPv6 one by its /64) has a quota of its own.
    let mut v6 = vec![of(200, 1), of(201, 1), of(202, 1), of(203, 1)];
    conn(&quotas, "[2001:db8::1]:5", &counters).admit(&mut v6, &none);
    let mut same_host = vec![of(204, 1)];
    conn(&quotas, "[2001:db8::ffff]:6", &counters).admit(&mut same_host, &none);
    assert_eq!(kept(&v6), vec![true, true, true, false]);
    assert_eq!(kept(&same_host), vec![false], "the same /64");
    assert_eq!(quotas.admitted(), 6);
}

#[test]
fn an_idle_origin_gives_its_place_and_the_source_bound_holds_across_addresses() {
    let idle = Duration::from_secs(600);
    let quotas = OriginQuotas::new(2, 3, idle);
    let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
    let t0 = Instant::now();
    assert!(quotas.admit_at(a, 1, t0, &none));
    assert!(quotas.admit_at(a, 2, t0, &none));
    assert!(
        !quotas.admit_at(a, 3, t0 + idle / 2, &none),
        "the address is full"
    );
    // Origin 2 is used again; origin 1 idles.
    assert!(quotas.admit_at(a, 2, t0 + idle / 2, &none));
    assert!(
        quotas.admit_at(a, 3, t0 + idle, &none),
        "origin 1 was idle: 3 takes its place"
    );
    assert!(
        !quotas.admit_at(a, 4, t0 + idle, &none),
        "2 and 3 are in use"
    );
    // The source's bound: a second address gets one origin, then only an idle one's place.
    assert!(quotas.admit_at(b, 10, t0 + idle, &none));
    assert!(!quotas.admit_at(b, 11, t0 + idle, &none));
    assert!(
        quotas.admit_at(b, 11, t0 + idle / 2 * 3, &none),
        "origin 2 of a idled"
    );
    assert!(
        quotas.admit_at(a, 3, t0 + idle / 2 * 3, &none),
        "3 is still known"
    );
    assert_eq!(quotas.admitted(), 3);
}

#[test]
fn an_origin_the_channel_holds_keeps_its_ids_past_a_full_share_and_takes_no_place() {
    let idle = Duration::from_secs(600);
    let quotas = OriginQuotas::new(2, 3, idle);
    let a: IpAddr = "127.0.0.1".parse().unwrap();
    let upstream = 7u64;
    let held = |o: u64| o == upstream;
    let t0 = Instant::now();
    // The upstream commits; it then stays quiet past the quotas' idle time (or the collector
    // restarts: the quotas are in memory), and a churner fills the address's share.
    assert!(quotas.admit_at(a, upstream, t0, &held));
    for o in 100..102 {
        assert!(quotas.admit_at(a, o, t0 + idle, &held), "origin {o}");
    }
    assert!(
        !quotas.admit_at(a, 102, t0 + idle, &held),
        "the share is full"
    );
    // The upstream's resend: its origin gave its place, but the channel holds its ids.
    assert!(quotas.admit_at(a, upstream, t0 + idle, &held));
    assert!(
        !quotas.admit_at(a, upstream, t0 + idle, &none),
        "today's refusal"
    );
    // A full source too, and still no place taken.
    assert!(quotas.admit_at("10.0.0.9".parse().unwrap(), 5, t0 + idle, &held));
    assert!(quotas.admit_at("10.0.0.8".parse().unwrap(), upstream, t0 + idle, &held));
    assert_eq!(quotas.admitted(), 3);
}
