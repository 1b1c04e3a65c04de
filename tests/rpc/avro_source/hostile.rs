//! The `avro` source against bad peers: random bytes, a frame announcing 2 GiB, an unknown
//! protocol, a client that stops mid-frame, 1,000 idle connections and connections beyond
//! `maxConnections` cost their own connection, and a good client is still served.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::{connect, plain, start, WAIT};
use sluice::agent::rpc::avro_client::{AvroClient, AvroClientConfig, RpcError};
use sluice::agent::rpc::transport::LinkError;
use sluice_core::Event;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_closes_only_its_connection_and_a_good_client_is_still_served() {
    let bed = start(
        "a1.sources.r1.request-timeout = 300\na1.sources.r1.max-events-per-call = 10\n",
        "",
    )
    .await;
    let port = bed.port;
    let mut good = AvroClient::connect(&bed.addr(), AvroClientConfig::default())
        .await
        .unwrap();
    let bad = tokio::task::spawn_blocking(move || {
        let mut closed = 0;
        // Random bytes (a negative buffer count).
        let mut s = connect(port);
        s.write_all(&[0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0xfa, 0xce, 1, 2, 3])
            .unwrap();
        closed += plain::closed_by_server(&mut s) as usize;
        // A frame announcing 2 GiB: refused from its header, nothing of it is awaited.
        let mut s = connect(port);
        let mut f = vec![0, 0, 0, 1, 0, 0, 0, 1];
        f.extend_from_slice(&i32::MAX.to_be_bytes());
        s.write_all(&f).unwrap();
        closed += plain::closed_by_server(&mut s) as usize;
        // A handshake with an unknown protocol gets NONE + an error, then the close.
        let mut s = connect(port);
        let mut p = vec![7u8; 16];
        p.push(2);
        plain::string(&mut p, br#"{"protocol":"Mail","messages":{}}"#);
        p.extend_from_slice(&plain::FLUME_MD5);
        p.push(0);
        p.push(0);
        plain::string(&mut p, b"append");
        s.write_all(&plain::frame(1, &p)).unwrap();
        let (serial, answer) = plain::read_frame(&mut s).unwrap();
        assert_eq!(serial, 1);
        assert_eq!(answer[0], 4, "NONE");
        assert!(String::from_utf8_lossy(&answer).contains("Mail"));
        closed += plain::closed_by_server(&mut s) as usize;
        // A client that stops in the middle of a frame.
        let mut s = connect(port);
        s.write_all(&[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 100, 1, 2, 3])
            .unwrap();
        closed += plain::closed_by_server(&mut s) as usize;
        // More events than max-events-per-call.
        let mut s = connect(port);
        let many: Vec<(&str, &str, &[u8])> = (0..11).map(|_| ("k", "v", &b"x"[..])).collect();
        s.write_all(&plain::frame(
            1,
            &plain::request(true, "appendBatch", &many),
        ))
        .unwrap();
        closed += plain::closed_by_server(&mut s) as usize;
        closed
    });
    // Meanwhile the good client keeps going.
    for i in 0..20 {
        good.append_batch(&[Event::new(format!("good{i}"))])
            .await
            .unwrap();
    }
    assert_eq!(
        bad.await.unwrap(),
        5,
        "every bad connection was closed by the source"
    );
    good.append_batch(&[Event::new("after")]).await.unwrap();
    let lines = bed.wait_lines(21).await;
    assert_eq!(lines.last().map(String::as_str), Some("after"));
    assert_eq!(bed.counter("EventReadFail"), 5);
    assert_eq!(bed.counter("EventAcceptedCount"), 21);
    bed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_connections_do_not_stop_a_good_client() {
    let bed = start("", "").await;
    let port = bed.port;
    let idle = tokio::task::spawn_blocking(move || {
        (0..1000)
            .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let end = Instant::now() + WAIT;
    while bed.counter("OpenConnectionCount") < 1000 {
        assert!(Instant::now() < end, "connections not accepted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut c = AvroClient::connect(&bed.addr(), AvroClientConfig::default())
        .await
        .unwrap();
    for i in 0..10 {
        c.append_batch(&[Event::new(format!("g{i}"))])
            .await
            .unwrap();
    }
    assert_eq!(bed.wait_lines(10).await.len(), 10);
    assert_eq!(bed.counter("OpenConnectionCount"), 1001);
    drop(idle);
    drop(c);
    let end = Instant::now() + WAIT;
    while bed.counter("OpenConnectionCount") > 0 {
        assert!(Instant::now() < end, "closed connections still counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_max_connections_are_closed_at_once() {
    let bed = start("a1.sources.r1.max-connections = 2\n", "").await;
    // The start's probe connection must be gone, or it holds one of the two places. Its
    // connect returned from the kernel's backlog, so it may not even be accepted yet: wait
    // until the source has seen its peer (UpstreamPeerCount) and counts it closed.
    let end = Instant::now() + WAIT;
    while bed.counter("OpenConnectionCount") > 0 || bed.counter("UpstreamPeerCount") < 1 {
        assert!(
            Instant::now() < end,
            "the probe connection not accepted and closed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _a = AvroClient::connect(&bed.addr(), AvroClientConfig::default())
        .await
        .unwrap();
    let _b = AvroClient::connect(&bed.addr(), AvroClientConfig::default())
        .await
        .unwrap();
    let cfg = AvroClientConfig {
        connect_timeout: Duration::from_secs(5),
        ..AvroClientConfig::default()
    };
    let e = AvroClient::connect(&bed.addr(), cfg).await.unwrap_err();
    assert!(
        matches!(
            e,
            RpcError::Closed { .. } | RpcError::Link(LinkError::Io { .. })
        ),
        "{e}"
    );
    // Counted as the line sources count theirs (the shared listener).
    let end = Instant::now() + WAIT;
    while bed.counter("ConnectionRefusedCount") < 1 {
        assert!(Instant::now() < end, "the refusal was not counted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    bed.stop().await;
}
