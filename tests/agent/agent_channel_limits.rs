//! The memory channel's byte limit (Flume's `byteCapacity` less
//! `byteCapacityBufferPercentage`, by default a share of physical memory) and its waits: a
//! commit waiting for room gives up when the channel closes, and a cancelled commit gives
//! its taken events back. The file channel's capacity gate never overflows a deadline and
//! gives up when the channel closes.

use std::time::Duration;

use sluice::agent::channel::memory::MemoryConfig;
use sluice::agent::channel::memory::{byte_limit, MemoryChannel, DEFAULT_RAM_DIVISOR};
use sluice::agent::channel::{put_batch, AgentChannel, AgentChannelError};
use sluice_core::Event;

fn cfg(capacity: u64, keep_alive: Duration, bytes: Option<u64>, pct: u64) -> MemoryConfig {
    MemoryConfig {
        capacity,
        transaction_capacity: 100,
        keep_alive,
        byte_capacity: bytes,
        byte_capacity_buffer_percentage: pct,
        drain_timeout: Duration::ZERO,
    }
}

fn body(n: usize) -> Event {
    Event::new(vec![b'x'; n])
}

#[tokio::test]
async fn puts_past_byte_capacity_less_the_buffer_percentage_are_refused() {
    // 1,000 bytes with 20% kept for headers: 800 body bytes fit.
    let ch = MemoryChannel::new("m", cfg(1000, Duration::ZERO, Some(1000), 20));
    put_batch(&ch, (0..8).map(|_| body(100)).collect())
        .await
        .unwrap();
    let err = put_batch(&ch, vec![body(1)]).await.unwrap_err();
    assert!(matches!(err, AgentChannelError::Full { .. }), "{err}");
    assert_eq!(ch.len(), 8);
    // Taking one frees its bytes.
    let mut tx = ch.begin();
    assert_eq!(tx.take_up_to(1).await.unwrap().len(), 1);
    tx.commit().await.unwrap();
    put_batch(&ch, vec![body(100)]).await.unwrap();
    assert_eq!(ch.len(), 8);
}

#[test]
fn without_byte_capacity_the_limit_is_a_share_of_physical_memory() {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    let ram = kib * 1024;
    let limit = byte_limit(&cfg(100, Duration::ZERO, None, 20));
    let expected = ram / DEFAULT_RAM_DIVISOR * 80 / 100;
    // sysconf and /proc/meminfo may differ by a few pages.
    assert!(
        limit.abs_diff(expected) < expected / 100,
        "{limit} vs {expected}"
    );
    // byteCapacity = 0 in the file means the same default.
    let text =
        "a1.sources = r\na1.channels = c\na1.sources.r.type = seq\na1.sources.r.channels = c\n\
                a1.channels.c.type = memory\na1.channels.c.byteCapacity = 0\n";
    let loaded = sluice::agent::topology::load(text, "a1", &[]);
    let c = loaded.config.unwrap();
    match &c.channels["c"].kind {
        sluice::agent::registry::ChannelKind::Memory(m) => assert_eq!(m.byte_capacity, None),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_commit_waiting_for_room_gives_up_when_the_channel_closes() {
    let ch = MemoryChannel::new("m", cfg(1, Duration::from_secs(86_400), None, 20));
    put_batch(&ch, vec![body(1)]).await.unwrap();
    let ch2 = ch.clone();
    let waiting = tokio::spawn(async move { put_batch(&ch2, vec![body(1)]).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    ch.close().await.unwrap();
    let r = tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("the waiting commit did not give up on close")
        .unwrap();
    assert!(matches!(r, Err(AgentChannelError::Closed(_))), "{r:?}");
}

#[tokio::test]
async fn a_cancelled_commit_gives_its_taken_events_back() {
    let ch = MemoryChannel::new("m", cfg(2, Duration::from_secs(86_400), None, 20));
    put_batch(&ch, vec![body(1), body(2)]).await.unwrap();
    let mut tx = ch.begin();
    assert_eq!(tx.take_up_to(1).await.unwrap().len(), 1);
    // One taken, two put: 3 > capacity 2, so the commit waits; cancel it.
    tx.put_all(vec![body(3), body(4)]).await.unwrap();
    let r = tokio::time::timeout(Duration::from_millis(100), tx.commit()).await;
    assert!(r.is_err(), "the commit should have waited");
    assert_eq!(ch.len(), 2, "the taken event is back, the puts are not");
    let mut tx = ch.begin();
    let got = tx.take_up_to(2).await.unwrap();
    assert_eq!(got.iter().map(|e| e.body.len()).collect::<Vec<_>>(), [1, 2]);
    tx.commit().await.unwrap();
    // All room is free again.
    put_batch(&ch, vec![body(1), body(1)]).await.unwrap();
}

#[test]
fn a_file_channel_put_with_an_enormous_keep_alive_waits_and_gives_up_on_close() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = sluice_core::FileChannelConfig::with_dirs(
        tmp.path().join("ck"),
        vec![tmp.path().join("d")],
    );
    c.capacity = 1;
    c.transaction_capacity = 1;
    c.minimum_required_space_bytes = 1 << 20;
    // Past any range `config check` allows: the gate must neither overflow nor wait forever.
    c.keep_alive = Duration::MAX;
    let ch = sluice_core::FileChannel::open(c).unwrap();
    let mut tx = ch.transaction();
    tx.put(body(1)).unwrap();
    tx.commit().unwrap();
    let ch2 = ch.clone();
    let waiting = std::thread::spawn(move || {
        let mut tx = ch2.transaction();
        let r = tx.put(body(1));
        tx.rollback();
        r
    });
    std::thread::sleep(Duration::from_millis(50));
    ch.close().unwrap();
    let end = std::time::Instant::now() + Duration::from_secs(30);
    while !waiting.is_finished() {
        assert!(
            std::time::Instant::now() < end,
            "the put did not give up on close"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let r = waiting.join().unwrap();
    assert!(r.is_err(), "a put into a closed, full channel succeeded");
}
