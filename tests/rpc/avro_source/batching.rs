//! How the `avro` source gathers and decodes calls: calls written together to an idle
//! connection are one transaction, and mid-sized calls of few or of thousands of events
//! arrive whole and in order wherever they are decoded.

use std::io::Write;

use super::{connect, plain, start};

/// Calls written together to an idle connection are one transaction: the first waits for the
/// calls whose bytes came with it instead of being put alone (before, it was put at once and
/// at most the three behind it joined each other: `CallsJoinedCount` grew by 2 a burst at most).
/// A burst whose calls are split by a scheduling delay over `GATHER_MAX` joins fewer, so the
/// test tries up to 20 bursts for one that joined all four.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_written_together_to_an_idle_connection_are_put_in_one_transaction() {
    let bed = start("", "").await;
    let (port, registry) = (bed.port, bed.registry.clone());
    let joined = move || {
        let g = registry.get("SOURCE.r1").unwrap();
        g.snapshot()
            .get("CallsJoinedCount")
            .map_or(0, |v| v.parse::<u64>().unwrap())
    };
    let (whole, bursts, sent) = tokio::task::spawn_blocking(move || {
        let mut s = connect(port);
        let first = plain::request(true, "append", &[("k", "v", b"hello")]);
        s.write_all(&plain::frame(1, &first)).unwrap();
        assert_eq!(plain::read_frame(&mut s).unwrap().0, 1);
        let (mut whole, mut bursts, mut sent) = (false, 0, 1);
        while !whole && bursts < 20 {
            let before = joined();
            let mut bytes = Vec::new();
            for c in 0..4 {
                let body = format!("b{bursts}-c{c}");
                let events: [(&str, &str, &[u8]); 1] = [("k", "v", body.as_bytes())];
                let call = plain::request(false, "appendBatch", &events);
                bytes.extend(plain::frame(10 + c, &call));
            }
            s.write_all(&bytes).unwrap();
            for c in 0..4 {
                assert_eq!(plain::read_frame(&mut s).unwrap(), (10 + c, vec![0, 0, 0]));
            }
            bursts += 1;
            sent += 4;
            whole = joined() - before == 3;
        }
        (whole, bursts, sent)
    })
    .await
    .unwrap();
    assert!(
        whole,
        "no burst of four calls was one transaction in {bursts}"
    );
    let lines = bed.wait_lines(sent).await;
    assert_eq!(lines.len(), sent);
    assert_eq!(lines[1], "b0-c0");
    bed.stop().await;
}

/// Calls between 8 and 64 KiB: alone, each is decoded and put on one blocking thread; read
/// behind others (written together), one of few events (a batch of longer lines) is decoded
/// on the connection's task and one of thousands of tiny events (over the inline cost cap)
/// off the workers. Every kind arrives whole and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mid_sized_calls_of_few_or_of_thousands_of_events_arrive_whole_and_in_order() {
    let bed = start(
        "",
        "a1.channels.c1.capacity = 100000\na1.channels.c1.transactionCapacity = 20000\n",
    )
    .await;
    let port = bed.port;
    let want = tokio::task::spawn_blocking(move || {
        // 100 lines of 250 bytes (~27 KiB: inline), 5,000 of 1-4 bytes (~40 KiB: over the cap).
        let few: Vec<String> = (0..100).map(|i| format!("{i:0>250}")).collect();
        let many: Vec<String> = (0..5000).map(|i| format!("{i}")).collect();
        let call = |lines: &[String]| {
            let events: Vec<(&str, &str, &[u8])> =
                lines.iter().map(|l| ("k", "v", l.as_bytes())).collect();
            plain::request(false, "appendBatch", &events)
        };
        let mut s = connect(port);
        let first = plain::request(true, "append", &[("k", "v", b"hello")]);
        s.write_all(&plain::frame(1, &first)).unwrap();
        assert_eq!(plain::read_frame(&mut s).unwrap().0, 1);
        let (a, b) = (call(&few), call(&many));
        assert!(a.len() > 8 << 10 && a.len() < 64 << 10, "{}", a.len());
        assert!(b.len() > 8 << 10 && b.len() < 64 << 10, "{}", b.len());
        let mut want = vec!["hello".to_owned()];
        // One at a time, then the four written together (read ahead, put as a group).
        for (serial, p) in [(2, &a), (3, &b)] {
            s.write_all(&plain::frame(serial, p)).unwrap();
            assert_eq!(plain::read_frame(&mut s).unwrap(), (serial, vec![0, 0, 0]));
        }
        let mut burst = Vec::new();
        for (serial, p) in [(4, &b), (5, &a), (6, &a), (7, &b)] {
            burst.extend(plain::frame(serial, p));
        }
        s.write_all(&burst).unwrap();
        for serial in 4..8 {
            assert_eq!(plain::read_frame(&mut s).unwrap(), (serial, vec![0, 0, 0]));
        }
        for lines in [&few, &many, &many, &few, &few, &many] {
            want.extend(lines.iter().cloned());
        }
        want
    })
    .await
    .unwrap();
    let lines = bed.wait_lines(want.len()).await;
    assert_eq!(lines.len(), want.len());
    assert!(lines == want, "the lines differ from what was sent");
    bed.stop().await;
}
