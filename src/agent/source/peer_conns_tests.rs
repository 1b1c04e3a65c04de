//! The connection table: who is closed for a new connection at each limit, and who is not.

use super::*;

fn ip(n: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, n])
}

async fn idle_past_the_minimum() {
    tokio::time::advance(EVICT_IDLE_MIN + Duration::from_millis(1)).await;
}

#[tokio::test(start_paused = true)]
async fn a_peer_at_its_share_has_its_idlest_connection_closed_and_never_a_busy_one() {
    let table = ConnTable::new(100, 2);
    let (a1, _) = table.admit(ip(2)).unwrap();
    let (a2, _) = table.admit(ip(2)).unwrap();
    idle_past_the_minimum().await;
    let _call = a1.activity().busy();
    let (_a3, evicted) = table.admit(ip(2)).unwrap();
    assert_eq!(evicted.len(), 1);
    assert_eq!((evicted[0].peer, evicted[0].limit), (ip(2), Limit::PerPeer));
    tokio::time::timeout(Duration::from_secs(1), a2.activity().closed())
        .await
        .expect("the idle connection is told to close");
    // a1 has a request in progress and a3 is new: the next one is turned away.
    assert_eq!(table.admit(ip(2)).err(), Some(Limit::PerPeer));
    assert!(table.admit(ip(3)).is_ok(), "another peer has its own share");
    drop(a2);
    assert_eq!(table.inner.lock().per_peer.get(&ip(2)), Some(&2));
}

#[tokio::test(start_paused = true)]
async fn at_max_connections_the_connection_idle_longest_of_any_peer_is_closed() {
    let table = ConnTable::new(3, 10);
    let (old, _) = table.admit(ip(2)).unwrap();
    let (newer, _) = table.admit(ip(3)).unwrap();
    let (newest, _) = table.admit(ip(3)).unwrap();
    assert_eq!(
        table.admit(ip(4)).err(),
        Some(Limit::Connections),
        "none idle a second"
    );
    tokio::time::advance(Duration::from_secs(5)).await;
    // A request each: idle again from now.
    drop((newer.activity().busy(), newest.activity().busy()));
    idle_past_the_minimum().await;
    let (_fourth, evicted) = table.admit(ip(4)).unwrap();
    assert_eq!(evicted.len(), 1);
    assert_eq!(
        (evicted[0].peer, evicted[0].limit),
        (ip(2), Limit::Connections)
    );
    assert!(evicted[0].idle >= Duration::from_secs(6));
    old.activity().closed().await;
    assert_eq!(table.inner.lock().conns.len(), 3);
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
