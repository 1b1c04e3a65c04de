//! The avro sink's connection against the fake source: every failed call (`FAILED`, no
//! answer, a connection closed mid-answer) rolls the take back and loses nothing; the sink
//! reconnects by itself when the downstream comes back, and replaces an idle connection the
//! downstream closed before it takes a batch.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failed_call_rolls_the_take_back_and_nothing_is_lost() {
    let (l, port) = listener().await;
    let fake = Fake::default();
    let script = vec![
        Answer::Failed,
        Answer::Silent,
        Answer::CloseMidResponse,
        Answer::Failed,
    ];
    fake.serve(l, script);
    let sent = events(10);
    let ch = memory_channel(sent.clone()).await;
    let counters = CounterGroup::sink();
    let (_stop_handle, stop) = crate::agent::stop::channel();
    let mut sink = AvroSink::new("k1", sink_config(port));
    sink.attach(counters.clone(), stop);
    let mut failures = 0;
    for _ in 0..200 {
        if sink.prepare().await.is_err() {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        }
        let before = ch.len();
        let mut tx = ch.begin();
        let batch = tx.take_up_to(4).await.unwrap();
        if batch.is_empty() {
            break;
        }
        match sink.deliver(&batch).await {
            Ok(()) => tx.commit().await.unwrap(),
            Err(e) => {
                failures += 1;
                assert!(!sink.connected(), "a failed call drops the connection: {e}");
                tx.rollback().await;
                assert_eq!(ch.len(), before, "the take went back to the channel");
            }
        }
    }
    assert_eq!(failures, 4);
    assert!(ch.is_empty());
    assert_eq!(*fake.accepted.lock(), sent, "every event once, in order");
    assert_eq!(counters.get("ConnectionCreatedCount"), 5);
    assert_eq!(counters.get("ConnectionClosedCount"), 4);
    assert_eq!(counters.get("ConnectionFailedCount"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sink_reconnects_by_itself_when_the_downstream_comes_back() {
    let (l, port) = listener().await;
    drop(l);
    let counters = CounterGroup::sink();
    let (_h, stop) = crate::agent::stop::channel();
    let mut cfg = sink_config(port);
    cfg.timings.reconnect_backoff_max = Duration::from_millis(400);
    let mut sink = AvroSink::new("k1", cfg);
    sink.attach(counters.clone(), stop);
    let e = sink.prepare().await.unwrap_err();
    assert!(e.to_string().contains("cannot connect"), "{e}");
    assert_eq!(e.kind(), crate::agent::sink::SinkErrorKind::Connect);
    assert!(e.retryable());
    assert_eq!(counters.get("ConnectionFailedCount"), 1);
    // Within the backoff no attempt is made, and the error says so.
    let e = sink.prepare().await.unwrap_err();
    assert!(e.to_string().contains("next attempt in"), "{e}");
    assert_eq!(e.kind(), crate::agent::sink::SinkErrorKind::Connect);
    assert_eq!(counters.get("ConnectionFailedCount"), 1);
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(!sink.down_for().is_zero());
    let snap = counters.snapshot();
    assert!(snap.contains_key("ConnectionDownMillis"), "{snap:?}");
    // The downstream comes back on the same port.
    let l = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let fake = Fake::default();
    fake.serve(l, Vec::new());
    let mut ok = false;
    for _ in 0..100 {
        if sink.prepare().await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "the sink reconnected");
    assert_eq!(sink.down_for(), Duration::ZERO);
    assert_eq!(counters.snapshot()["ConnectionDownMillis"], "0");
    sink.deliver(&events(3)).await.unwrap();
    assert_eq!(*fake.accepted.lock(), events(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_closed_by_the_downstream_is_replaced_before_the_take() {
    let (l, port) = listener().await;
    let (_h, stop) = crate::agent::stop::channel();
    let counters = CounterGroup::sink();
    let mut sink = AvroSink::new("k1", sink_config(port));
    sink.attach(counters.clone(), stop);
    // A server that accepts, answers the handshake ping, then closes.
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut conn = ServerConn::new(CallLimits::default());
        let mut known = KnownClients::default();
        let mut reader = FrameReader::new(FrameLimits::default());
        loop {
            if let Ok(Some(f)) = reader.next_frame() {
                if let Ok(Action::Reply(b)) = conn.on_request(&f.payload, &mut known) {
                    let mut out = Vec::new();
                    encode_frame(f.serial, &b, &mut out);
                    s.write_all(&out).await.unwrap();
                }
                break;
            }
            s.read_buf(reader.read_buffer(4096)).await.unwrap();
        }
        drop(s);
        l
    });
    sink.prepare().await.unwrap();
    let l = server.await.unwrap();
    let fake = Fake::default();
    fake.serve(l, Vec::new());
    let mut delivered = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        sink.prepare().await.unwrap();
        if counters.get("ConnectionCreatedCount") == 2 {
            sink.deliver(&events(2)).await.unwrap();
            delivered = true;
            break;
        }
    }
    assert!(delivered, "the closed connection was noticed and replaced");
    assert_eq!(counters.get("ConnectionClosedCount"), 1);
    assert_eq!(*fake.accepted.lock(), events(2));
}
