//! The upstream table's rules: gone once after the last connection closed and back on
//! reconnect, forgotten after its time or by request, the per-source and per-address bounds,
//! and the names kept escaped.

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
fn a_full_table_forgets_the_upstream_idle_longest() {
    let mut u = Upstreams::new(Duration::from_secs(1 << 29), Duration::from_secs(1 << 30));
    let t = Instant::now();
    for i in 0..UPSTREAMS_MAX {
        let k = UpstreamKey {
            ip: format!("10.0.{}.{}", i / 256, i % 256).parse().unwrap(),
            agent: Some(format!("a{i}")),
            sink: None,
        };
        u.opened(&k, t);
        u.closed(&k, t + Duration::from_secs(i as u64));
    }
    let change = u.opened(&key("10.99.9.9", None), t + Duration::from_secs(1 << 20));
    assert_eq!(change.len(), 1, "{change:?}");
    assert!(
        matches!(&change[0], UpstreamChange::Forgotten(k, false) if k.agent.as_deref() == Some("a0")),
        "{change:?}"
    );
    assert_eq!(u.len(), UPSTREAMS_MAX);
}

#[test]
fn one_address_cannot_claim_more_than_its_share_nor_evict_a_gone_upstream() {
    let mut u = Upstreams::new(Duration::from_secs(10), Duration::from_secs(1 << 30));
    let t = Instant::now();
    // A real upstream on another host, and one on the attacker's host, both gone.
    let real = key("10.0.0.1", Some("edge"));
    let neighbour = key("10.6.6.6", Some("edge"));
    for k in [&real, &neighbour] {
        u.opened(k, t);
        u.closed(k, t);
    }
    assert_eq!(u.tick(t + Duration::from_secs(10)).len(), 2);
    // 10,050 made-up identities from one address.
    for i in 0..10_050 {
        let fake = UpstreamKey {
            ip: "10.6.6.6".parse().unwrap(),
            agent: Some(format!("fake{i}")),
            sink: None,
        };
        let at = t + Duration::from_secs(20 + i);
        for c in u.opened(&fake, at) {
            assert!(
                matches!(&c, UpstreamChange::Forgotten(k, false) if k.agent.as_deref() != Some("edge")),
                "{c:?}"
            );
        }
        u.closed(&fake, at);
    }
    let from_attacker = u.map.keys().filter(|k| k.ip == neighbour.ip).count();
    assert_eq!(from_attacker, UPSTREAMS_PER_IP_MAX);
    assert!(u.map.get(&real).is_some_and(|e| e.gone));
    assert!(u.map.get(&neighbour).is_some_and(|e| e.gone));
}

#[test]
fn a_table_full_of_gone_upstreams_remembers_no_new_one() {
    let mut u = Upstreams::new(Duration::from_secs(10), Duration::from_secs(1 << 30));
    let t = Instant::now();
    for i in 0..UPSTREAMS_PER_IP_MAX {
        let k = key("10.0.0.1", Some(&format!("a{i}")));
        u.opened(&k, t);
        u.closed(&k, t);
    }
    assert_eq!(
        u.tick(t + Duration::from_secs(10)).len(),
        UPSTREAMS_PER_IP_MAX
    );
    assert!(u.opened(&key("10.0.0.1", Some("new")), t).is_empty());
    assert_eq!(u.len(), UPSTREAMS_PER_IP_MAX);
}

#[test]
fn control_characters_in_names_are_kept_escaped() {
    let meta = vec![(
        "sluice.agent".to_owned(),
        b"x\n2026-01-01 ERROR forged \x1b[31m".to_vec(),
    )];
    let k = UpstreamKey::from_meta("10.0.0.1".parse().unwrap(), &meta);
    assert_eq!(
        k.agent.as_deref(),
        Some("x\\n2026-01-01 ERROR forged \\u{1b}[31m")
    );
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
