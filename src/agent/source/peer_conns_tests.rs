//! The connection table: who is closed for a new connection at each limit, and who is not.

use super::*;
use crate::agent::source::body_pace::BODY_BYTES_PER_S_MIN;

fn ip(n: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, n])
}

#[tokio::test(start_paused = true)]
async fn a_peer_at_its_share_has_its_idlest_connection_closed_and_never_a_busy_one() {
    let table = ConnTable::new(100, 2);
    let (a1, _) = table.admit(ip(2)).unwrap();
    let (a2, _) = table.admit(ip(2)).unwrap();
    tokio::time::advance(Duration::from_millis(10)).await;
    let _call = a1.activity().busy();
    let (a3, evicted) = table.admit(ip(2)).unwrap();
    assert_eq!(evicted.len(), 1);
    assert_eq!((evicted[0].peer, evicted[0].limit), (ip(2), Limit::PerPeer));
    tokio::time::timeout(Duration::from_secs(1), a2.activity().closed())
        .await
        .expect("the idle connection is told to close");
    // a1 has a request in progress (no body), a3 is busy too: the next one is turned away.
    let _call3 = a3.activity().busy();
    assert_eq!(table.admit(ip(2)).err(), Some(Limit::PerPeer));
    assert!(table.admit(ip(3)).is_ok(), "another peer has its own share");
    drop(a2);
    assert_eq!(table.inner.lock().per_peer.get(&ip(2)), Some(&2));
}

#[tokio::test(start_paused = true)]
async fn at_max_connections_the_connection_idle_longest_of_any_peer_is_closed() {
    let table = ConnTable::new(3, 10);
    let (old, _) = table.admit(ip(2)).unwrap();
    tokio::time::advance(Duration::from_millis(5)).await;
    let (newer, _) = table.admit(ip(3)).unwrap();
    let (newest, _) = table.admit(ip(3)).unwrap();
    tokio::time::advance(Duration::from_secs(5)).await;
    // A request each: idle again from now.
    drop((newer.activity().busy(), newest.activity().busy()));
    let (_fourth, evicted) = table.admit(ip(4)).unwrap();
    assert_eq!(evicted.len(), 1);
    assert_eq!(
        (evicted[0].peer, evicted[0].limit),
        (ip(2), Limit::Connections)
    );
    assert!(matches!(evicted[0].why, Unused::Idle(d) if d >= Duration::from_secs(5)));
    old.activity().closed().await;
    assert_eq!(table.inner.lock().conns.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_new_connection_closes_the_oldest_of_a_flood_of_fresh_ones_rather_than_being_refused() {
    let table = ConnTable::new(4, 100);
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(table.admit(ip(2)).unwrap().0);
        tokio::time::advance(Duration::from_millis(1)).await;
    }
    // All four younger than any least idle time: the oldest goes, the newcomer stays.
    let (fresh, evicted) = table.admit(ip(3)).expect("not refused");
    assert_eq!(evicted[0].why, Unused::Idle(Duration::from_millis(4)));
    held[0].activity().closed().await;
    // The newcomer is the youngest, so the flood's next connections close their own.
    for _ in 0..3 {
        tokio::time::advance(Duration::from_millis(1)).await;
        let (slot, evicted) = table.admit(ip(2)).unwrap();
        assert_eq!(evicted[0].peer, ip(2));
        held.push(slot);
    }
    assert!(table.inner.lock().conns.contains_key(&fresh.id));
}

#[tokio::test(start_paused = true)]
async fn a_trickling_body_is_closed_before_an_idle_connection_and_a_paced_body_never() {
    let table = ConnTable::new(3, 100);
    let (idle, _) = table.admit(ip(2)).unwrap();
    let (slow, _) = table.admit(ip(3)).unwrap();
    let (paced, _) = table.admit(ip(4)).unwrap();
    let (_slow_call, _paced_call) = (slow.activity().busy(), paced.activity().busy());
    let slow_body = slow.activity().pace().0.receive();
    let paced_body = paced.activity().pace().0.receive();
    for _ in 0..10 {
        tokio::time::advance(Duration::from_secs(1)).await;
        slow_body.arrived(1);
        paced_body.arrived(BODY_BYTES_PER_S_MIN as usize);
    }
    // Idle 10 s against a body 8 s behind: the body goes first.
    let (new, evicted) = table.admit(ip(5)).unwrap();
    let _new_call = new.activity().busy();
    assert_eq!(evicted[0].peer, ip(3));
    assert!(matches!(evicted[0].why, Unused::SlowBody(d) if d > Duration::from_secs(7)));
    slow.activity().closed().await;
    let (next, evicted) = table.admit(ip(6)).unwrap();
    let _next_call = next.activity().busy();
    assert_eq!(evicted[0].peer, ip(2), "then the idle one");
    idle.activity().closed().await;
    drop(paced_body);
    assert_eq!(
        table.admit(ip(7)).err(),
        Some(Limit::Connections),
        "a whole body being answered and a fresh busy one keep theirs"
    );
}

#[tokio::test(start_paused = true)]
async fn a_connection_without_a_first_request_is_idle_after_the_first_deadline() {
    let a = Arc::new(Activity::default());
    let (first, idle) = (Duration::from_secs(2), Duration::from_secs(60));
    let start = Instant::now();
    a.idle_for(first, idle).await;
    assert_eq!(start.elapsed(), first);
    let call = a.busy();
    let during = tokio::time::timeout(Duration::from_secs(100), a.idle_for(first, idle));
    assert!(during.await.is_err(), "a request in progress");
    drop(call);
    let start = Instant::now();
    a.idle_for(first, idle).await;
    assert_eq!(start.elapsed(), idle);
}

#[tokio::test(start_paused = true)]
async fn bodies_in_their_grace_are_closed_oldest_first_before_a_fresher_connection() {
    let table = ConnTable::new(3, 100);
    let mut bodies = Vec::new();
    let mut held = Vec::new();
    for _ in 0..2 {
        let (slot, _) = table.admit(ip(2)).unwrap();
        bodies.push((slot.activity().busy(), slot.activity().pace().0.receive()));
        held.push(slot);
        tokio::time::advance(Duration::from_millis(300)).await;
    }
    // A client's connection, before its first request: younger than both bodies.
    let (client, _) = table.admit(ip(3)).unwrap();
    tokio::time::advance(Duration::from_millis(10)).await;
    let (_new, evicted) = table.admit(ip(2)).expect("not refused");
    assert_eq!(
        evicted[0].why,
        Unused::YoungBody(Duration::from_millis(610))
    );
    held[0].activity().closed().await;
    assert!(table.inner.lock().conns.contains_key(&client.id));
}
